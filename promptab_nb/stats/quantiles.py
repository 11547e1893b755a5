"""Quantiles (p50, p95) of per-unit or per-request values: one-arm exact CI, two-arm bootstrap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._checks import check
from .._format import num
from ..errors import InvalidArgumentError
from . import _dist
from ._types import Comparison

# Rows of bootstrap indices drawn at once; bounds memory at about 8 MB per 1,000 units.
_CHUNK_CELLS = 2_000_000


def _values(values: Sequence[float] | np.ndarray, name: str, min_n: int = 2) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if x.size < min_n:
        raise InvalidArgumentError(f"{name} has {x.size} values, need at least {min_n}")
    if not np.isfinite(x).all():
        raise InvalidArgumentError(
            f"{name} contains NaN or infinite values; drop or impute them first"
        )
    return x


@dataclass(frozen=True)
class QuantileCI:
    """Sample quantile of one arm with an exact distribution-free CI."""

    q: float
    estimate: float
    ci_low: float
    ci_high: float
    alpha: float
    n: int
    coverage: float
    method: str = "order statistics (binomial)"
    note: str | None = None

    def __repr__(self) -> str:
        return (
            f"p{self.q * 100:g} = {num(self.estimate)} [{num(self.ci_low)}, {num(self.ci_high)}] "
            f"({1 - self.alpha:.0%} CI, {self.method}, n = {self.n})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantile_ci(values: Sequence[float] | np.ndarray, q: float, alpha: float = 0.05) -> QuantileCI:
    """Exact CI of the ``q`` quantile from order statistics (no distributional assumption).

    The number of values below the true quantile is Binomial(n, q); the bounds are the order
    statistics ``x_(l)``, ``x_(u)`` with ``l = F⁻¹(alpha/2)``, ``u = F⁻¹(1 − alpha/2) + 1``, so the
    coverage (reported) is at least ``1 − alpha`` unless n is too small (then a note says so).
    Values and bounds are in the metric's unit (e.g. seconds of latency).
    """
    check(q, "q", gt=0, lt=1)
    check(alpha, "alpha", gt=0, lt=1)
    x = np.sort(_values(values, "values", 1))
    n = x.size
    import scipy.stats

    binom = scipy.stats.binom(n, q)
    lo = int(binom.ppf(alpha / 2))
    hi = int(binom.ppf(1 - alpha / 2)) + 1
    note = None
    if lo < 1 or hi > n:
        note = f"only {n} values: the CI is clipped to the sample range and covers less than {1 - alpha:.0%}"
    lo, hi = max(lo, 1), min(hi, n)
    coverage = float(binom.cdf(hi - 1) - binom.cdf(lo - 1))
    est = float(np.quantile(x, q))
    return QuantileCI(q, est, float(x[lo - 1]), float(x[hi - 1]), alpha, n, coverage, note=note)


def _boot_quantiles(x: np.ndarray, q: float, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(n_boot)
    rows = max(1, _CHUNK_CELLS // x.size)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        out[start:stop] = np.quantile(x[idx], q, axis=1)
    return out


def quantile_diff(
    control_values: Sequence[float] | np.ndarray,
    treatment_values: Sequence[float] | np.ndarray,
    q: float = 0.5,
    *,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
) -> Comparison:
    """Difference of the ``q`` quantiles, treatment − control, with a bootstrap percentile CI.

    Each arm is resampled independently ``n_boot`` times (vectorized, ``rng =
    np.random.default_rng(seed)``). The two-sided p-value is the bootstrap share of centred
    replicates at least as far from the estimate as the estimate is from 0 (H1: quantiles
    differ); it is approximate, and so is the CI for extreme quantiles of small samples.
    Estimate and CI are in the metric's unit (e.g. seconds for p95 latency).
    """
    check(q, "q", gt=0, lt=1)
    check(alpha, "alpha", gt=0, lt=1)
    check(n_boot, "n_boot", ge=100, integer=True)
    xc = _values(control_values, "control_values")
    xt = _values(treatment_values, "treatment_values")
    rng = np.random.default_rng(seed)
    est = float(np.quantile(xt, q) - np.quantile(xc, q))
    boot = _boot_quantiles(xt, q, n_boot, rng) - _boot_quantiles(xc, q, n_boot, rng)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    se = float(boot.std(ddof=1))
    p = (
        float(np.mean(np.abs(boot - boot.mean()) >= abs(est) - 1e-12))
        if se > 0
        else float(est == 0)
    )
    note = "no variation in the bootstrap: CI of width 0" if se == 0 else None
    return Comparison(
        est, float(lo), float(hi), min(1.0, max(p, 1.0 / n_boot) if se > 0 else p),
        est / se if se > 0 else math.nan, None, f"p{q * 100:g} difference, bootstrap percentile CI",
        False, alpha, se, "two-sided", note,
    )  # fmt: skip


def quantile_test(
    control_values: Sequence[float] | np.ndarray,
    treatment_values: Sequence[float] | np.ndarray,
    q: float = 0.5,
    *,
    alpha: float = 0.05,
    relative: bool = False,
) -> Comparison:
    """Difference of ``q`` quantiles, treatment − control, two-sided (order-statistic method).

    Each arm's exact order-statistic CI (:func:`quantile_ci`) gives its standard error,
    ``(upper − lower) / (2 z)`` (Price & Bonett, 2002); the difference has the normal CI
    ``diff ± z √(se_c² + se_t²)`` and a z-test p-value. With ``relative=True`` the estimate is
    ``q_t / q_c − 1`` with a CI from the log ratio (delta method). Units are the metric's (e.g.
    seconds of p95 latency) or a fraction for relative effects. No resampling, so it scales to
    millions of values; the per-arm intervals are conservative, so the test is slightly so too.
    """
    check(alpha, "alpha", gt=0, lt=1)
    z = float(_dist.norm_ppf(1 - alpha / 2))
    c, t = quantile_ci(control_values, q, alpha), quantile_ci(treatment_values, q, alpha)
    se_c, se_t = (c.ci_high - c.ci_low) / (2 * z), (t.ci_high - t.ci_low) / (2 * z)
    note = "; ".join(n for n in (c.note, t.note) if n) or None
    diff = t.estimate - c.estimate
    se = math.hypot(se_c, se_t)
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
        stat = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    else:
        stat = diff / se
        p = float(2 * _dist.norm_sf(abs(stat)))
    method = f"quantile difference (p{q * 100:g}, order statistics)"
    if not relative:
        return Comparison(
            diff,
            diff - z * se,
            diff + z * se,
            p,
            stat,
            None,
            method,
            False,
            alpha,
            se=se,
            note=note,
        )
    if c.estimate <= 0 or t.estimate <= 0:
        raise InvalidArgumentError(
            f"relative quantile difference needs positive quantiles (control {c.estimate}, "
            f"treatment {t.estimate}); use relative=False"
        )
    log_ratio = math.log(t.estimate / c.estimate)
    se_log = math.hypot(se_c / c.estimate, se_t / t.estimate)
    return Comparison(
        math.exp(log_ratio) - 1,
        math.exp(log_ratio - z * se_log) - 1,
        math.exp(log_ratio + z * se_log) - 1,
        p,
        stat,
        None,
        method + ", log-ratio CI",
        True,
        alpha,
        se=se_log,
        note=note,
    )
