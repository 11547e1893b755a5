"""Simulation studies: A/A false-positive rate, power curves, and the cost of peeking.

Thousands of experiments run at once: per batch of simulated experiments numpy draws each arm's
sufficient statistics (counts, sums, sums of squares), and the tests run vectorized over the
simulation axis through the same engine as :mod:`promptab_nb.stats` (``welch``,
``ztest_proportions``, ``sequential``), so a simulated p-value equals the scalar one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import check, one_of
from .._format import num
from .._html import STYLE, el, table
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


# ---------------------------------------------------------------------------------------------
# data sources


@dataclass(frozen=True)
class _Source:
    """Where per-user values come from, and how a treatment effect changes them."""

    label: str
    kind: Literal["lognormal", "normal", "bernoulli", "values"]
    mean: float
    shape: float = math.nan
    values: np.ndarray | None = None

    @property
    def binary(self) -> bool:
        return self.kind == "bernoulli"

    def true_diff(self, effect: float) -> float:
        """Treatment − control in the metric's unit for ``effect`` (see :func:`power`)."""
        return effect if self.binary else self.mean * effect

    def draw(
        self, rng: np.random.Generator, sims: int, bounds: np.ndarray, effect: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (sum, sum of squares) at each look: arrays of shape (sims, looks).

        ``bounds`` are the cumulative unit counts at the looks (last = units per arm).
        """
        sizes = np.diff(np.r_[0, bounds])
        if self.kind == "bernoulli":
            p = self.mean + effect
            x = rng.binomial(sizes, p, size=(sims, len(sizes))).astype(float)
            return np.cumsum(x, axis=1), np.cumsum(x, axis=1)
        if self.kind == "normal":
            # Exact sufficient statistics of normal samples: no need to draw every value.
            mu, sd = self.mean * (1 + effect), self.shape
            s = rng.normal(mu * sizes, sd * np.sqrt(sizes), size=(sims, len(sizes)))
            ssd = sd**2 * rng.chisquare(np.maximum(sizes - 1, 1), size=(sims, len(sizes)))
            ssd = np.where(sizes > 1, ssd, 0.0)
            return np.cumsum(s, axis=1), np.cumsum(ssd + s * s / sizes, axis=1)
        n = int(bounds[-1])
        if self.kind == "lognormal":
            mu = math.log(self.mean) - self.shape**2 / 2
            x = rng.lognormal(mu, self.shape, size=(sims, n))
        else:
            assert self.values is not None
            x = self.values[rng.integers(0, len(self.values), size=(sims, n))]
        if effect:
            x *= 1 + effect
        starts = np.r_[0, bounds[:-1]]
        s = np.add.reduceat(x, starts, axis=1)
        ss = np.add.reduceat(x * x, starts, axis=1)
        return np.cumsum(s, axis=1), np.cumsum(ss, axis=1)

    def batch(self, n: int) -> int:
        if self.kind in ("bernoulli", "normal"):
            return 100_000
        return max(1, _CELLS // n)


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
        values = frame.loc[frame["variant"] == control, "value"].to_numpy(dtype=float)
        if len(values) == 0:
            raise InvalidArgumentError(
                f"from_experiment has no {metric!r} values for the control {control!r}; "
                "load its events first"
            )
    if values is not None:
        arr = np.asarray(values, dtype=float).ravel()
        if arr.size < 2 or not np.all(np.isfinite(arr)):
            raise InvalidArgumentError(
                f"values has {arr.size} entries ({int((~np.isfinite(arr)).sum())} not finite); "
                "need at least 2 finite per-user values"
            )
        return _Source(metric, "values", float(arr.mean()), float(arr.std()), arr)
    one_of(metric, "metric", PARAMETRIC)
    mean, shape = _DEFAULTS[metric]
    if metric in _BERNOULLI:
        if sigma is not None:
            raise InvalidArgumentError(f"sigma is not used for {metric!r} (a Bernoulli metric)")
        rate = check(mean if baseline is None else baseline, "baseline", gt=0, lt=1)
        return _Source(metric, "bernoulli", float(rate))
    mean = check(mean if baseline is None else baseline, "baseline", gt=0)
    shape = check(shape if sigma is None else sigma, "sigma", gt=0)
    kind: Literal["lognormal", "normal"] = "normal" if metric == "normal" else "lognormal"
    return _Source(metric, kind, float(mean), float(shape))


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
    binary: bool,
    n: np.ndarray,
    sc: np.ndarray,
    ssc: np.ndarray,
    st: np.ndarray,
    sst: np.ndarray,
    *,
    alpha: float,
    relative: bool,
) -> Any:
    """Vectorized test of treatment vs control from cumulative sums (any array shape)."""
    from ..stats.means import _compare_core
    from ..stats.proportions import _ztest_core

    if test == "ztest":
        return _ztest_core(sc, n, st, n, alpha=alpha, relative=relative)
    mc, vc, mt, vt = _variances(binary, n, sc, ssc, st, sst)
    return _compare_core(mc, vc, n, mt, vt, n, alpha=alpha, relative=relative)


def _variances(
    binary: bool, n: np.ndarray, sc: np.ndarray, ssc: np.ndarray, st: np.ndarray, sst: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-arm means and per-unit variances (PropStats semantics p (1 − p) when binary)."""
    mc, mt = sc / n, st / n
    if binary:
        return mc, mc * (1 - mc), mt, mt * (1 - mt)
    vc = np.maximum(ssc - n * mc * mc, 0) / (n - 1)
    vt = np.maximum(sst - n * mt * mt, 0) / (n - 1)
    return mc, vc, mt, vt


def _rng(seed: int | np.random.Generator | None) -> tuple[np.random.Generator, int | None]:
    if isinstance(seed, np.random.Generator):
        return seed, None
    if seed is not None:
        check(seed, "seed", ge=0, integer=True)
        seed = int(seed)
    return np.random.default_rng(seed), seed


def _se(rate: float, n: int) -> float:
    return math.sqrt(rate * (1 - rate) / n)


def _bar(total: int, progress: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress, desc=desc, unit="sim")


def _check_common(n_sims: int, alpha: float) -> None:
    check(n_sims, "n_sims", ge=10, integer=True)
    check(alpha, "alpha", gt=0, lt=1)


# ---------------------------------------------------------------------------------------------
# A/A


@dataclass(frozen=True, eq=False)
class AAResult:
    """False-positive rate and CI coverage of a test over simulated A/A experiments.

    ``false_positive_rate`` should be close to ``alpha`` and ``coverage`` to ``1 − alpha``;
    ``*_se`` are their Monte-Carlo standard errors (binomial, over ``n_sims`` experiments).
    """

    metric: str
    test: str
    n_per_arm: int
    n_sims: int
    alpha: float
    relative: bool
    seed: int | None
    false_positive_rate: float
    fpr_se: float
    coverage: float
    coverage_se: float
    p_values: np.ndarray

    @property
    def z(self) -> float:
        """(false-positive rate − alpha) in Monte-Carlo standard errors."""
        return (self.false_positive_rate - self.alpha) / _se(self.alpha, self.n_sims)

    def _rows(self) -> list[tuple[str, str, str]]:
        fpr, cov = self.false_positive_rate, self.coverage
        return [
            ("false-positive rate", num(fpr, "%"), f"± {num(self.fpr_se, '%')} (target {num(self.alpha, '%')})"),
            ("CI coverage", num(cov, "%"), f"± {num(self.coverage_se, '%')} (target {num(1 - self.alpha, '%')})"),
        ]  # fmt: skip

    def to_pandas(self) -> Any:
        """One row per quantity: value, Monte-Carlo SE and target."""
        import pandas as pd

        return pd.DataFrame(
            {
                "quantity": ["false_positive_rate", "coverage"],
                "value": [self.false_positive_rate, self.coverage],
                "mc_se": [self.fpr_se, self.coverage_se],
                "target": [self.alpha, 1 - self.alpha],
            }
        )

    def __repr__(self) -> str:
        head = (
            f"A/A study: {self.metric}, {self.test}, {self.n_per_arm:,} per arm, "
            f"{self.n_sims:,} experiments, seed {self.seed}"
        )
        return "\n".join([head, *(f"  {a}: {b} {c}" for a, b, c in self._rows())])

    def _repr_html_(self) -> str:
        caption = (
            f"A/A study — {self.metric}, {self.test}, {self.n_per_arm:,} per arm, "
            f"{self.n_sims:,} experiments (seed {self.seed})"
        )
        return el(
            "div",
            el("style", STYLE),
            table(["", "rate", "Monte-Carlo SE"], self._rows(), caption=caption),
            class_="pab",
        )

    def plot(self, *, figsize: tuple[float, float] = (6, 3.5)) -> Any:
        """Histogram of the A/A p-values (uniform when the test is calibrated)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        ax = fig.subplots()
        bins = 20
        ax.hist(self.p_values, bins=bins, range=(0, 1), color="#0072B2", edgecolor="white")
        ax.axhline(self.n_sims / bins, color="#D55E00", linestyle="--", label="uniform")
        ax.set_xlabel("p-value")
        ax.set_ylabel("experiments")
        ax.set_title(
            f"A/A {self.metric}: false-positive rate {num(self.false_positive_rate, '%')} "
            f"at α = {self.alpha:g}"
        )
        ax.legend()
        return fig


def aa(
    metric: str = "latency",
    n_per_arm: int = 1000,
    *,
    n_sims: int = 10_000,
    test: Test | None = None,
    alpha: float = 0.05,
    relative: bool = False,
    baseline: float | None = None,
    sigma: float | None = None,
    values: Sequence[float] | np.ndarray | None = None,
    from_experiment: Any = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = True,
) -> AAResult:
    """Simulate A/A experiments and measure the false-positive rate and CI coverage.

    Both arms draw ``n_per_arm`` per-user values from the same distribution; the two-sided test
    (H1: the means differ) should reject in a share ``alpha`` of experiments, and its
    ``1 − alpha`` CI should cover the true difference 0 in a share ``1 − alpha``.

    Parameters
    ----------
    metric
        ``"latency"`` (lognormal per-user mean latency, seconds; mean ``baseline`` 1.8 s,
        log-sd ``sigma`` 0.6), ``"cost"`` (lognormal USD per user; 0.0065, 1.0), ``"normal"``
        (mean 1, sd 1), or ``"error_rate"`` / ``"pass_rate"`` (Bernoulli per user with rate
        ``baseline``, 0.02 / 0.80). With ``values`` or ``from_experiment`` it is a label / the
        metric to read.
    n_per_arm
        Users per arm.
    n_sims
        Simulated experiments.
    test
        ``"welch"`` (default for continuous metrics) or ``"ztest"`` (two proportions; default
        for Bernoulli metrics).
    alpha
        Significance level.
    relative
        Test and CI of the relative lift (delta method) instead of the difference.
    baseline, sigma
        Distribution parameters (see ``metric``).
    values
        Per-user values to replay: each arm resamples them with replacement.
    from_experiment
        An experiment whose control arm's per-user values (``exp.unit_values(metric)``) are
        replayed.
    seed
        Seed or generator (``np.random.default_rng(seed)`` is called once).
    progress
        Show a progress bar.

    Returns
    -------
    AAResult
        False-positive rate and coverage with Monte-Carlo SEs, and all p-values.

    Examples
    --------
    >>> aa("latency", 1000, n_sims=2000, seed=1, progress=False).false_positive_rate  # doctest: +SKIP
    0.049
    """
    src = _source(
        metric, baseline=baseline, sigma=sigma, values=values, from_experiment=from_experiment
    )
    test_name = _test_name(test, src)
    check(n_per_arm, "n_per_arm", ge=2, integer=True)
    _check_common(n_sims, alpha)
    rng, seed_value = _rng(seed)
    n = int(n_per_arm)
    bounds = np.array([n])
    ps, covered = [], 0
    batch = src.batch(n)
    with _bar(int(n_sims), progress, "A/A study") as bar:
        for start in range(0, int(n_sims), batch):
            b = min(batch, int(n_sims) - start)
            sc, ssc = src.draw(rng, b, bounds, 0.0)
            st, sst = src.draw(rng, b, bounds, 0.0)
            core = _compare(
                test_name, src.binary, np.float64(n), sc[:, -1], ssc[:, -1], st[:, -1],
                sst[:, -1], alpha=alpha, relative=relative,
            )  # fmt: skip
            ps.append(np.minimum(np.asarray(core.p_value, dtype=float), 1.0))
            covered += int(np.sum((core.ci_low <= 0) & (core.ci_high >= 0)))
            bar.update(b)
    p = np.concatenate(ps)
    fpr = float(np.mean(p < alpha))
    cov = covered / len(p)
    return AAResult(
        metric=src.label,
        test=test_name,
        n_per_arm=n,
        n_sims=int(n_sims),
        alpha=float(alpha),
        relative=bool(relative),
        seed=seed_value,
        false_positive_rate=fpr,
        fpr_se=_se(fpr, len(p)),
        coverage=cov,
        coverage_se=_se(cov, len(p)),
        p_values=p,
    )


# ---------------------------------------------------------------------------------------------
# power


@dataclass(frozen=True, eq=False)
class PowerResult:
    """Simulated power over sample sizes, with Monte-Carlo standard errors."""

    metric: str
    test: str
    effect: float
    effect_unit: str
    alpha: float
    n_sims: int
    seed: int | None
    n_per_arm: np.ndarray
    power: np.ndarray
    power_se: np.ndarray

    def to_pandas(self) -> Any:
        """Columns ``n_per_arm, power, mc_se``."""
        import pandas as pd

        return pd.DataFrame(
            {"n_per_arm": self.n_per_arm, "power": self.power, "mc_se": self.power_se}
        )

    def _effect_text(self) -> str:
        if self.effect_unit == "pp":
            return num(self.effect, "pp", signed=True)
        return num(self.effect, "%", signed=True) + " relative"

    def __repr__(self) -> str:
        head = (
            f"Power study: {self.metric}, {self.test}, effect {self._effect_text()}, "
            f"α = {self.alpha:g}, {self.n_sims:,} experiments per size, seed {self.seed}"
        )
        rows = [
            f"  n = {n:>9,} per arm: power {num(p, '%')} ± {num(se, '%')}"
            for n, p, se in zip(self.n_per_arm, self.power, self.power_se, strict=True)
        ]
        return "\n".join([head, *rows])

    def _repr_html_(self) -> str:
        rows = [
            (f"{n:,}", num(p, "%"), num(se, "%"))
            for n, p, se in zip(self.n_per_arm, self.power, self.power_se, strict=True)
        ]
        caption = (
            f"Power — {self.metric}, {self.test}, effect {self._effect_text()}, "
            f"α = {self.alpha:g} ({self.n_sims:,} experiments per size, seed {self.seed})"
        )
        return el(
            "div",
            el("style", STYLE),
            table(["users per arm", "power", "Monte-Carlo SE"], rows, caption=caption),
            class_="pab",
        )

    def plot(self, *, figsize: tuple[float, float] = (6, 3.5)) -> Any:
        """Power curve with ±2 Monte-Carlo SE error bars."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        ax = fig.subplots()
        ax.errorbar(
            self.n_per_arm, self.power, yerr=2 * self.power_se, fmt="o-", color="#0072B2",
            label="simulated power (±2 MC SE)",
        )  # fmt: skip
        ax.axhline(0.8, color="#999999", linestyle=":", label="80 %")
        ax.set_xlabel("users per arm")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.set_title(f"Power: {self.metric}, effect {self._effect_text()}")
        ax.legend()
        return fig


def power(
    metric: str,
    effect: float,
    n_per_arm: int | Sequence[int],
    *,
    n_sims: int = 2_000,
    test: Test | None = None,
    alpha: float = 0.05,
    relative: bool = False,
    baseline: float | None = None,
    sigma: float | None = None,
    values: Sequence[float] | np.ndarray | None = None,
    from_experiment: Any = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = True,
) -> PowerResult:
    """Simulate experiments with a true effect and measure power at each sample size.

    Power is the share of experiments where the two-sided test (H1: the means differ) rejects
    at level ``alpha``.

    Parameters
    ----------
    metric
        As in :func:`aa`.
    effect
        The true effect of the treatment: for continuous metrics and replayed values a relative
        change of the mean (0.05 = +5 %; lognormal and replayed values are scaled, normal values
        shifted); for ``"error_rate"`` / ``"pass_rate"`` an absolute change of the rate
        (0.01 = +1 percentage point).
    n_per_arm
        Users per arm, one size or a sequence (a power curve).
    n_sims
        Simulated experiments per size.
    test, alpha, relative, baseline, sigma, values, from_experiment, seed, progress
        As in :func:`aa`.

    Returns
    -------
    PowerResult
        Power and its Monte-Carlo SE per size.
    """
    src = _source(
        metric, baseline=baseline, sigma=sigma, values=values, from_experiment=from_experiment
    )
    test_name = _test_name(test, src)
    check(effect, "effect", gt=-1)
    if src.binary:
        check(src.mean + effect, "baseline + effect", gt=0, lt=1)
    sizes = [n_per_arm] if np.ndim(n_per_arm) == 0 else list(n_per_arm)  # type: ignore[arg-type]
    if not sizes:
        raise InvalidArgumentError("n_per_arm is empty; pass a size or a list of sizes")
    for i, n in enumerate(sizes):
        check(n, f"n_per_arm[{i}]" if np.ndim(n_per_arm) else "n_per_arm", ge=2, integer=True)
    _check_common(n_sims, alpha)
    rng, seed_value = _rng(seed)
    powers = []
    with _bar(len(sizes) * int(n_sims), progress, "power study") as bar:
        for n in (int(x) for x in sizes):
            bounds = np.array([n])
            rejected = 0
            batch = src.batch(n)
            for start in range(0, int(n_sims), batch):
                b = min(batch, int(n_sims) - start)
                sc, ssc = src.draw(rng, b, bounds, 0.0)
                st, sst = src.draw(rng, b, bounds, effect)
                core = _compare(
                    test_name, src.binary, np.float64(n), sc[:, -1], ssc[:, -1], st[:, -1],
                    sst[:, -1], alpha=alpha, relative=relative,
                )  # fmt: skip
                rejected += int(np.sum(np.asarray(core.p_value) < alpha))
                bar.update(b)
            powers.append(rejected / int(n_sims))
    pw = np.asarray(powers)
    return PowerResult(
        metric=src.label,
        test=test_name,
        effect=float(effect),
        effect_unit="pp" if src.binary else "%",
        alpha=float(alpha),
        n_sims=int(n_sims),
        seed=seed_value,
        n_per_arm=np.asarray(sizes, dtype=np.int64),
        power=pw,
        power_se=np.sqrt(pw * (1 - pw) / int(n_sims)),
    )


# ---------------------------------------------------------------------------------------------
# peeking


@dataclass(frozen=True, eq=False)
class PeekingResult:
    """What daily peeking does to the false-positive rate, fixed-horizon vs sequential test.

    ``fixed_horizon`` rejects only at the final look (the plan); ``peeking`` rejects when the
    fixed-horizon test is significant at any look; ``sequential`` when the always-valid mSPRT
    is (``promptab_nb.stats.sequential``). ``*_by_look`` are cumulative rejection rates.
    """

    metric: str
    test: str
    n_per_arm: int
    looks: int
    effect: float
    alpha: float
    n_sims: int
    seed: int | None
    fixed_horizon: float
    peeking: float
    sequential: float
    peeking_by_look: np.ndarray
    sequential_by_look: np.ndarray

    def _rows(self) -> list[tuple[str, str, str]]:
        return [
            (name, num(rate, "%"), num(_se(rate, self.n_sims), "%"))
            for name, rate in (
                ("fixed horizon, final look only", self.fixed_horizon),
                (f"fixed-horizon test at any of {self.looks} looks", self.peeking),
                (f"sequential (mSPRT) at any of {self.looks} looks", self.sequential),
            )
        ]

    def to_pandas(self) -> Any:
        """Rejection rate and Monte-Carlo SE per procedure."""
        import pandas as pd

        rates = [self.fixed_horizon, self.peeking, self.sequential]
        return pd.DataFrame(
            {
                "procedure": ["fixed_horizon", "peeking", "sequential"],
                "rejection_rate": rates,
                "mc_se": [_se(r, self.n_sims) for r in rates],
            }
        )

    def __repr__(self) -> str:
        what = "false-positive rate" if self.effect == 0 else "rejection rate (power)"
        head = (
            f"Peeking study: {self.metric}, {self.test}, {self.n_per_arm:,} per arm, "
            f"{self.looks} looks, {what} at α = {self.alpha:g}, {self.n_sims:,} experiments, "
            f"seed {self.seed}"
        )
        return "\n".join([head, *(f"  {a}: {b} ± {c}" for a, b, c in self._rows())])

    def _repr_html_(self) -> str:
        caption = (
            f"Peeking — {self.metric}, {self.n_per_arm:,} per arm, {self.looks} looks, "
            f"α = {self.alpha:g} ({self.n_sims:,} experiments, seed {self.seed})"
        )
        return el(
            "div",
            el("style", STYLE),
            table(["procedure", "rejection rate", "Monte-Carlo SE"], self._rows(), caption=caption),
            class_="pab",
        )

    def plot(self, *, figsize: tuple[float, float] = (6, 3.5)) -> Any:
        """Cumulative rejection rate by look, peeking vs sequential, with α for reference."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        ax = fig.subplots()
        x = np.arange(1, self.looks + 1)
        ax.plot(x, self.peeking_by_look, "o-", color="#D55E00", label="fixed-horizon test, peeking")
        ax.plot(x, self.sequential_by_look, "s-", color="#0072B2", label="sequential (mSPRT)")
        ax.axhline(self.alpha, color="#999999", linestyle="--", label=f"α = {self.alpha:g}")
        ax.set_xlabel("look")
        ax.set_ylabel("cumulative rejection rate")
        ax.set_title(f"Peeking: {self.metric}, {self.n_per_arm:,} users per arm")
        ax.legend()
        return fig


def peeking(
    metric: str = "latency",
    n_per_arm: int = 1000,
    *,
    looks: int = 14,
    effect: float = 0.0,
    n_sims: int = 10_000,
    test: Test | None = None,
    alpha: float = 0.05,
    tune_n: int | None = None,
    baseline: float | None = None,
    sigma: float | None = None,
    values: Sequence[float] | np.ndarray | None = None,
    from_experiment: Any = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = True,
) -> PeekingResult:
    """Simulate checking an experiment ``looks`` times (e.g. daily) as users accrue.

    Users arrive evenly: look ``k`` sees ``k/looks`` of ``n_per_arm`` per arm. With ``effect``
    0 (A/A) the rates are false-positive rates: the fixed-horizon test checked at every look
    rejects far more often than ``alpha``; the sequential test stays at or below ``alpha``.

    Parameters
    ----------
    metric, n_per_arm, n_sims, test, alpha, baseline, sigma, values, from_experiment, seed, progress
        As in :func:`aa`; ``n_per_arm`` is the final (planned) size.
    looks
        Number of looks, evenly spaced (14 = daily over two weeks).
    effect
        True effect, as in :func:`power` (0 = A/A).
    tune_n
        Units per arm where the sequential test's confidence sequence is tightest; default
        ``n_per_arm``.

    Returns
    -------
    PeekingResult
        Rejection rates of the three procedures with Monte-Carlo SEs, and by look.
    """
    from ..stats.sequential import _best_ratio, _msprt_core

    src = _source(
        metric, baseline=baseline, sigma=sigma, values=values, from_experiment=from_experiment
    )
    test_name = _test_name(test, src)
    check(n_per_arm, "n_per_arm", ge=2, integer=True)
    check(looks, "looks", ge=1, integer=True)
    check(effect, "effect", gt=-1)
    _check_common(n_sims, alpha)
    n = int(n_per_arm)
    if int(looks) * 2 > n:
        raise InvalidArgumentError(f"looks == {looks} needs n_per_arm >= {2 * int(looks)}, got {n}")
    tune = n if tune_n is None else int(check(tune_n, "tune_n", ge=1, integer=True))
    rng, seed_value = _rng(seed)
    bounds = np.floor(np.arange(1, int(looks) + 1) * n / int(looks)).astype(np.int64)
    counts = bounds.astype(float)
    ratio = _best_ratio(alpha)
    fixed = 0
    peek_first = np.zeros(int(looks), dtype=np.int64)
    seq_first = np.zeros(int(looks), dtype=np.int64)
    batch = src.batch(n)
    with _bar(int(n_sims), progress, "peeking study") as bar:
        for start in range(0, int(n_sims), batch):
            b = min(batch, int(n_sims) - start)
            sc, ssc = src.draw(rng, b, bounds, 0.0)
            st, sst = src.draw(rng, b, bounds, effect)
            core = _compare(
                test_name, src.binary, counts, sc, ssc, st, sst, alpha=alpha, relative=False
            )
            sig = np.asarray(core.p_value) < alpha
            fixed += int(sig[:, -1].sum())
            mc, vc, mt, vt = _variances(src.binary, counts, sc, ssc, st, sst)
            unit_var = vc + vt
            tau2 = np.where(unit_var > 0, ratio * unit_var / tune, 1.0)
            p_seq, _, _ = _msprt_core(mt - mc, vc / counts + vt / counts, tau2, alpha)
            seq = p_seq < alpha
            for first, hits in ((peek_first, sig), (seq_first, seq)):
                any_hit = hits.any(axis=1)
                first += np.bincount(hits.argmax(axis=1)[any_hit], minlength=int(looks))
            bar.update(b)
    total = int(n_sims)
    return PeekingResult(
        metric=src.label,
        test=test_name,
        n_per_arm=n,
        looks=int(looks),
        effect=float(effect),
        alpha=float(alpha),
        n_sims=total,
        seed=seed_value,
        fixed_horizon=fixed / total,
        peeking=float(peek_first.sum() / total),
        sequential=float(seq_first.sum() / total),
        peeking_by_look=np.cumsum(peek_first) / total,
        sequential_by_look=np.cumsum(seq_first) / total,
    )
