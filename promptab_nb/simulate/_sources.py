"""Per-user value sources for the simulation studies, and the vectorized tests they feed.

Per batch of simulated experiments numpy draws each arm's sufficient statistics (counts, sums,
sums of squares), and the tests run vectorized over the simulation axis through the same engine
as :mod:`promptab_nb.stats` (``welch``, ``ztest_proportions``, ``sequential``), so a simulated
p-value equals the scalar one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import check, one_of
from ..errors import InvalidArgumentError

Test = Literal["welch", "ztest"]
PARAMETRIC: tuple[str, ...] = ("latency", "cost", "normal", "error_rate", "pass_rate")
_BERNOULLI = ("error_rate", "pass_rate")
# metric -> (mean, shape): lognormal per-user values have sd of log = shape; normal sd = shape
_DEFAULTS: dict[str, tuple[float, float]] = {
    "latency": (1.8, 0.6),  # seconds, per-user mean latency
    "cost": (0.0065, 1.0),  # USD per user
    "normal": (1.0, 1.0),
    "error_rate": (0.02, math.nan),
    "pass_rate": (0.80, math.nan),
}
_UNITS = {"latency": "s", "cost": "USD", "error_rate": "pp", "pass_rate": "pp"}
_CELLS = 4_000_000  # values drawn per arm per batch: bounds memory (~32 MB per array)


@dataclass(frozen=True)
class _Source:
    """Where per-user values come from, and how a treatment effect changes them."""

    label: str
    kind: Literal["lognormal", "normal", "bernoulli", "values", "ratio"]
    mean: float
    shape: float = math.nan
    values: np.ndarray | None = None  # per-unit values; a rate's numerators
    den: np.ndarray | None = None  # a rate's per-unit denominators (kind "ratio")

    @property
    def binary(self) -> bool:
        return self.kind == "bernoulli"

    def true_diff(self, effect: float) -> float:
        """Treatment − control in the metric's unit for ``effect`` (see :func:`power`)."""
        return effect if self.binary else self.mean * effect

    def center(self, effect: float) -> float:
        """The arm's true mean in draw units: the point :meth:`draw` sums squares about.

        Lognormal values are drawn at mean 1 and replayed values scaled by a power of 2 (every
        test here is scale-invariant), so neither a huge baseline nor huge values overflow.
        """
        if self.kind == "bernoulli":
            return 0.0
        if self.kind == "lognormal":
            return 1.0 + effect
        if self.kind == "ratio":
            return float(self._pair()[0].mean()) * (1 + effect)
        if self.kind == "values":
            assert self.values is not None
            return float(_scaled(self.values).mean()) * (1 + effect)
        return self.mean * (1 + effect)

    def draw(
        self, rng: np.random.Generator, sims: int, bounds: np.ndarray, effect: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (sum, sum of squares about :meth:`center`) at each look: arrays of shape
        (sims, looks).

        ``bounds`` are the cumulative unit counts at the looks (last = units per arm). Squares
        are taken about the arm's true mean, not 0: values of a large mean and a small spread
        (1e8 ± 1) lost their variance to cancellation in ``ss − n·mean²`` (an A/A study
        rejected in 27 % of experiments at alpha 5 %).
        """
        sizes = np.diff(np.r_[0, bounds])
        if self.kind == "bernoulli":
            p = self.mean + effect
            x = rng.binomial(sizes, p, size=(sims, len(sizes))).astype(float)
            return np.cumsum(x, axis=1), np.cumsum(x, axis=1)
        c = self.center(effect)
        if self.kind == "normal":
            # Exact sufficient statistics of normal samples: no need to draw every value.
            mu, sd = self.mean * (1 + effect), self.shape
            dev = rng.normal(0.0, sd * np.sqrt(sizes), size=(sims, len(sizes)))
            ssd = sd**2 * rng.chisquare(np.maximum(sizes - 1, 1), size=(sims, len(sizes)))
            ssd = np.where(sizes > 1, ssd, 0.0)
            return np.cumsum(mu * sizes + dev, axis=1), np.cumsum(ssd + dev * dev / sizes, axis=1)
        n = int(bounds[-1])
        if self.kind == "ratio":
            return self._draw_ratio(rng, sims, bounds, effect)
        if self.kind == "lognormal":
            x = rng.lognormal(-(self.shape**2) / 2, self.shape, size=(sims, n))
        else:
            assert self.values is not None
            pool = _scaled(self.values)
            x = pool[rng.integers(0, len(pool), size=(sims, n))]
        if effect:
            x *= 1 + effect
        starts = np.r_[0, bounds[:-1]]
        s = np.add.reduceat(x, starts, axis=1)
        x -= c
        ss = np.add.reduceat(x * x, starts, axis=1)
        return np.cumsum(s, axis=1), np.cumsum(ss, axis=1)

    def _draw_ratio(
        self, rng: np.random.Generator, sims: int, bounds: np.ndarray, effect: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """A rate's units resampled as (numerator, denominator) pairs: cumulative sums of the
        numerators, and per look (sims, looks, 4) the denominators' sum and the sums of
        squares and products of both about their true means (see :func:`_moments`)."""
        num, den = self._pair()
        idx = rng.integers(0, len(num), size=(sims, int(bounds[-1])))
        a, b = num[idx], den[idx]
        if effect:
            a *= 1 + effect
        starts = np.r_[0, bounds[:-1]]
        sa, sb = np.add.reduceat(a, starts, axis=1), np.add.reduceat(b, starts, axis=1)
        a -= self.center(effect)
        b -= float(den.mean())
        second = [sb] + [
            np.add.reduceat(x * y, starts, axis=1) for x, y in ((a, a), (b, b), (a, b))
        ]
        return np.cumsum(sa, axis=1), np.cumsum(np.stack(second, axis=-1), axis=1)

    def _pair(self) -> tuple[np.ndarray, np.ndarray]:
        """A rate's numerators and denominators, scaled by one power of 2 (the rate is kept)."""
        assert self.values is not None and self.den is not None
        both = np.concatenate([self.values, self.den])
        top = float(np.max(np.abs(both)))
        shift = -math.frexp(top)[1] if top > 0 else 0
        return np.ldexp(self.values, shift), np.ldexp(self.den, shift)

    def moments(
        self, n: np.ndarray | float, s: np.ndarray, ss: np.ndarray, effect: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """An arm's mean and the per-unit variance its test uses, from :meth:`draw`'s sums:
        p (1 − p) for a proportion (as PropStats), the delta-method variance of the ratio of
        sums for a rate (as RatioStats, the test ``analyze`` runs), else the sample variance."""
        m = s / n
        if self.kind == "bernoulli":
            return m, m * (1 - m)
        c = self.center(effect)
        if self.kind != "ratio":
            d = m - c
            return m, np.maximum(ss - n * d * d, 0) / (n - 1)
        cb = float(self._pair()[1].mean())
        sb, saa, sbb, sab = (ss[..., j] for j in range(4))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = s / sb
            # Σ(a − r b)² from sums about the centres (ca, cb): a − r b = a' − r b' + k
            k = c - r * cb
            q = (
                saa
                - 2 * r * sab
                + r * r * sbb
                + 2 * k * (s - n * c - r * (sb - n * cb))
                + n * k * k
            )
            var = np.maximum(q, 0) / (n - 1) / (sb / n) ** 2
        return r, var

    def batch(self, n: int) -> int:
        if self.kind in ("bernoulli", "normal"):
            return 100_000
        return max(1, _CELLS // (n * (3 if self.kind == "ratio" else 1)))


def _scaled(x: np.ndarray) -> np.ndarray:
    """``x`` times a power of 2 that brings its largest magnitude into [0.5, 1): exact, and
    no square overflows (the tests are scale-invariant)."""
    top = float(np.max(np.abs(x)))
    return np.ldexp(x, -math.frexp(top)[1]) if top > 0 else x


def _source(
    metric: str,
    *,
    baseline: float | None,
    sigma: float | None,
    values: Sequence[float] | np.ndarray | None,
    from_experiment: Any,
) -> _Source:
    if not isinstance(metric, str) or not metric:
        raise InvalidArgumentError(f"metric == {metric!r}, must be a metric name")
    if from_experiment is not None:
        if values is not None:
            raise InvalidArgumentError("pass either values= or from_experiment=, not both")
        frame = from_experiment.unit_values(metric)
        control = next(iter(from_experiment.variants))
        rows = frame.loc[frame["variant"] == control]
        own = rows["value"].to_numpy(dtype=float)
        if not _is_rate(metric):  # a unit without a value (no priced call) has nothing to replay
            own = own[~np.isnan(own)]
        values = own
        if len(own) == 0:
            raise InvalidArgumentError(
                f"from_experiment has no {metric!r} values for the control {control!r}; "
                "load its events first"
            )
        if _is_rate(metric) and {"num", "den"} <= set(frame.columns):
            # A rate is tested as a ratio of sums: replay each unit's (numerator, denominator)
            # pair. The mean of per-unit rates (value) is another, noisier estimator: its power
            # for error_rate read 33 % where analyze()'s ratio test has 47 %.
            num, den = (rows[c].to_numpy(dtype=float) for c in ("num", "den"))
            ok = np.isfinite(num) & np.isfinite(den)
            if ok.sum() < 2 or not den[ok].sum() > 0:
                raise InvalidArgumentError(
                    f"from_experiment's control {control!r} has {int(ok.sum())} unit(s) with a "
                    f"{metric!r} denominator; need at least 2 (and a positive total)"
                )
            num, den = num[ok], den[ok]
            return _Source(metric, "ratio", float(num.sum() / den.sum()), values=num, den=den)
    if values is not None:
        try:
            arr = np.asarray(values, dtype=float).ravel()
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"values must be per-user numbers (a list, numpy array or Series of floats); "
                f"{type(values).__name__} could not be read as numbers ({err})"
            ) from None
        if arr.size < 2 or not np.all(np.isfinite(arr)):
            raise InvalidArgumentError(
                f"values has {arr.size} entries ({int((~np.isfinite(arr)).sum())} not finite); "
                "need at least 2 finite per-user values"
            )
        return _Source(metric, "values", float(arr.mean()), values=arr)
    one_of(metric, "metric", PARAMETRIC)
    mean, shape = _DEFAULTS[metric]
    if metric in _BERNOULLI:
        if sigma is not None:
            raise InvalidArgumentError(f"sigma is not used for {metric!r} (a Bernoulli metric)")
        rate = check(mean if baseline is None else baseline, "baseline", gt=0, lt=1)
        return _Source(metric, "bernoulli", float(rate))
    mean = check(mean if baseline is None else baseline, "baseline", gt=0, lt=math.inf)
    shape = check(shape if sigma is None else sigma, "sigma", gt=0, lt=math.inf)
    kind: Literal["lognormal", "normal"] = "normal" if metric == "normal" else "lognormal"
    return _Source(metric, kind, float(mean), float(shape))


def _is_rate(metric: str) -> bool:
    """Whether ``metric`` names a rate (its test is the delta-method ratio of sums)."""
    from ..metrics import BUILTIN

    return metric in BUILTIN and BUILTIN[metric].kind == "ratio"


def _test_name(test: str | None, src: _Source) -> str:
    if test is None:
        return "ztest" if src.binary else "welch"
    one_of(test, "test", ("welch", "ztest"))
    if test == "ztest" and not src.binary:
        raise InvalidArgumentError(
            f"test == 'ztest' needs a proportion metric (error_rate, pass_rate); "
            f"{src.label!r} is continuous, use test='welch'"
        )
    return test


def _compare(
    test: str,
    src: _Source,
    n: np.ndarray | float,
    sc: np.ndarray,
    ssc: np.ndarray,
    st: np.ndarray,
    sst: np.ndarray,
    *,
    alpha: float,
    relative: bool,
    effect: float = 0.0,
) -> Any:
    """Vectorized test of treatment (true ``effect``) vs control from :meth:`_Source.draw`'s
    cumulative sums (any array shape)."""
    from ..stats.means import _compare_core
    from ..stats.proportions import _ztest_core

    if test == "ztest":
        return _ztest_core(sc, n, st, n, alpha=alpha, relative=relative)
    mc, vc, mt, vt = _moments(src, n, sc, ssc, st, sst, effect)
    return _compare_core(mc, vc, n, mt, vt, n, alpha=alpha, relative=relative)


def _moments(
    src: _Source,
    n: np.ndarray | float,
    sc: np.ndarray,
    ssc: np.ndarray,
    st: np.ndarray,
    sst: np.ndarray,
    effect: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-arm means and per-unit variances (:meth:`_Source.moments`), control then treatment."""
    mc, vc = src.moments(n, sc, ssc, 0.0)
    mt, vt = src.moments(n, st, sst, effect)
    return mc, vc, mt, vt


def _rng(seed: int | np.random.Generator | None) -> tuple[np.random.Generator, int | None]:
    """The generator of a study and the seed to record (a Generator's state is no seed:
    None). Without a seed, fresh entropy is drawn and recorded, so the study can be re-run."""
    if isinstance(seed, np.random.Generator):
        return seed, None
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
    check(seed, "seed", ge=0, integer=True)
    seed = int(seed)
    return np.random.default_rng(seed), seed


def _se(rate: float, n: int) -> float:
    return math.sqrt(rate * (1 - rate) / n)


def _bar(total: int, progress: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress, desc=desc, unit="sim")


def _check_effect(effect: float, src: _Source) -> None:
    """``effect`` as :func:`power` reads it: > −100 %, and a rate that stays inside (0, 1)."""
    check(effect, "effect", gt=-1, lt=math.inf)
    if src.binary:
        check(src.mean + effect, "baseline + effect", gt=0, lt=1)


def _check_common(n_sims: int, alpha: float) -> None:
    check(n_sims, "n_sims", ge=10, integer=True)
    check(alpha, "alpha", gt=0, lt=1)
