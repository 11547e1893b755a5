"""Always-valid inference for peeking: mSPRT with a normal mixture (Johari et al. 2017/2022).

At every look the arm sufficient statistics give the difference ``d`` with variance
``V = v_c/n_c + v_t/n_t``. Mixing the likelihood ratio of ``N(θ, V)`` over ``θ ~ N(0, τ²)`` gives

    Λ = sqrt(V / (V + τ²)) · exp(d² τ² / (2 V (V + τ²)))

which is a nonnegative martingale under H0 (asymptotically, with plug-in variances), so by
Ville's inequality ``p = min(1, 1/Λ)`` is an always-valid p-value and

    d ± sqrt(2 V (V + τ²) / τ² · (log(1/α) + ½ log((V + τ²)/V)))

is a (1 − α) confidence sequence: both stay valid however often you look and whenever you stop.
This is the same boundary as the asymptotic confidence sequences of Waudby-Smith et al. (2023).

Tuning: ``τ²`` sets where the sequence is tightest. By default ``τ² = r* (v_c + v_t) / tune_n``
where ``r*`` minimises the width for the given ``alpha`` (about 8 at alpha = 0.05), so the
sequence is narrowest when each arm holds about ``tune_n`` units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .._checks import check
from ..errors import InvalidArgumentError
from ._types import (
    Comparison,
    MeanStats,
    PropStats,
    RatioStats,
    _test_variance,
    _variance_note,
)
from .ratio import _flat_arms_note


@dataclass(frozen=True, repr=False)
class SequentialComparison(Comparison):
    """A :class:`Comparison` from :func:`sequential`, with the mixture variance ``tau2`` used."""

    tau2: float = math.nan


@lru_cache(maxsize=64)
def _best_ratio(alpha: float) -> float:
    """r = τ²/V minimising the half-width factor (1 + r)/r · (log(1/α) + ½ log(1 + r))."""
    import scipy.optimize

    def width(log_r: float) -> float:
        r = math.exp(log_r)
        return (1 + r) / r * (math.log(1 / alpha) + 0.5 * math.log1p(r))

    res = scipy.optimize.minimize_scalar(width, bounds=(-5.0, 10.0), method="bounded")
    return math.exp(res.x)


def _msprt_core(diff: Any, var: Any, tau2: Any, alpha: float) -> tuple[Any, Any, Any]:
    """Vectorized always-valid p-value and confidence-sequence half-width."""
    diff, var, tau2 = (np.asarray(a, dtype=float) for a in (diff, var, tau2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # In units of V: V (V + τ²) under- or overflowed at values ~1e-100 or ~1e100 (p NaN).
        r = tau2 / var
        z2 = (diff / np.sqrt(var)) ** 2
        log_lr = -0.5 * np.log1p(r) + z2 * r / (2 * (1 + r))
        p = np.minimum(1.0, np.exp(-log_lr))
        half = np.sqrt(var) * np.sqrt(2 * (1 + r) / r * (math.log(1 / alpha) + 0.5 * np.log1p(r)))
    zero = var == 0
    p = np.where(zero, np.where(diff == 0, 1.0, 0.0), p)
    half = np.where(zero, 0.0, half)
    return p, half, log_lr


def sequence_bounds(estimate: float, var: float, tau2: float, alpha: float) -> tuple[float, float]:
    """The (1 − ``alpha``) confidence sequence of an asymptotically normal ``estimate`` with
    variance ``var`` under the normal mixture ``tau2`` (the bounds :func:`sequential` gives the
    difference of means; used for the delta-method relative lift, with ``tau2`` in its scale)."""
    _, half, _ = _msprt_core(estimate, var, tau2, alpha)
    return estimate - float(half), estimate + float(half)


def sequential(
    control: MeanStats | PropStats | RatioStats,
    treatment: MeanStats | PropStats | RatioStats,
    *,
    alpha: float = 0.05,
    tune_n: int = 1000,
    tau: float | None = None,
) -> SequentialComparison:
    """Always-valid test of mean(treatment) − mean(control) for continuous monitoring.

    Two-sided mSPRT with a normal mixture (see the module docstring). Call it at every look
    with the cumulative sufficient statistics; stop as soon as ``p_value < alpha``. The false
    positive rate stays at most ``alpha`` for any number of looks (asymptotically in ``n``).

    Parameters
    ----------
    control, treatment
        Cumulative :class:`MeanStats`, :class:`PropStats` or :class:`RatioStats` at this look.
        A ratio ``sum(num)/sum(den)`` enters with its per-unit delta-method variance (its
        linearization ``(num − R den)/mean(den)`` is a mean over units, so the mixture
        martingale applies asymptotically, as in gbstats' sequential ratio test).
    alpha
        Error rate over the whole monitoring period; the CI is a (1 − alpha) confidence sequence.
    tune_n
        Units per arm at which the confidence sequence is tightest (sets τ² by default).
    tau
        Mixture standard deviation of the effect, in the metric's unit; overrides ``tune_n``.

    Returns
    -------
    SequentialComparison
        Difference in the metric's unit, confidence-sequence bounds, always-valid p-value,
        ``statistic`` = log mixture likelihood ratio, ``df=None``, ``tau2``.
    """
    check(alpha, "alpha", gt=0, lt=1)
    check(tune_n, "tune_n", ge=1, integer=True)
    if tau is not None:
        check(tau, "tau", gt=0)
        if math.isinf(tau * tau) or tau * tau == 0:
            # (tau² overflowing or underflowing gave NaN, or an infinite sequence with p = 1)
            raise InvalidArgumentError(
                f"tau == {tau!r}, must be finite and its square above 0: the mixture standard "
                "deviation of the effect, in the metric's unit (or leave it out and set tune_n)"
            )
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, MeanStats | PropStats | RatioStats):
            raise InvalidArgumentError(
                f"{name} is a {type(arm).__name__}, must be MeanStats, PropStats or RatioStats"
            )
        if isinstance(arm, RatioStats) and arm.den_total == 0:
            raise InvalidArgumentError(f"{name}.den_total == 0: the ratio is undefined")
    diff = treatment.mean - control.mean
    (vc, bc), (vt, bt) = _test_variance(control), _test_variance(treatment)
    var = vc / control.n + vt / treatment.n
    if tau is not None:
        tau2 = tau * tau
    else:
        unit_var = vc + vt
        tau2 = _best_ratio(alpha) * unit_var / tune_n if unit_var > 0 else 1.0
    p, half, log_lr = _msprt_core(diff, var, tau2, alpha)
    note = (
        "zero variance in both arms: the difference is exact (CI of width 0)" if var == 0 else None
    )
    unresolved = [(n, b) for n, b in (("control", bc), ("treatment", bt)) if b is not None]
    if unresolved:
        note = _variance_note([n for n, _ in unresolved], [b for _, b in unresolved])
    note = note or _flat_arms_note({"control": control, "treatment": treatment})
    half_f = float(half)
    return SequentialComparison(
        estimate=diff,
        ci_low=diff - half_f,
        ci_high=diff + half_f,
        p_value=float(p),
        statistic=float(log_lr) if var > 0 else math.nan,
        df=None,
        method="mSPRT normal mixture (always valid)",
        relative=False,
        alpha=alpha,
        se=math.sqrt(var),
        note=note,
        tau2=float(tau2),
    )
