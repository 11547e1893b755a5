"""A/A and power studies: false-positive rate, CI coverage and power with Monte-Carlo error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check
from .._format import num
from .._render import Rendered, Table
from ..errors import InvalidArgumentError
from ._sources import (
    Test,
    _bar,
    _check_common,
    _check_effect,
    _compare,
    _rng,
    _se,
    _source,
    _test_name,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _defined(control_sums: np.ndarray, relative: bool) -> np.ndarray:
    """Which simulated experiments have a result: with ``relative``, those whose control mean
    is not 0 (as the public tests: no relative lift, nor its p-value or CI, when it is 0)."""
    if relative:
        return np.asarray(control_sums != 0)
    return np.ones(len(control_sums), dtype=bool)


def _of_lift(relative: bool) -> str:
    """Caption words naming a test of the relative lift (delta method)."""
    return " of the relative lift" if relative else ""


@dataclass(frozen=True, eq=False, repr=False)
class AAResult(Rendered):
    """False-positive rate and CI coverage of a test over simulated A/A experiments.

    ``false_positive_rate`` should be close to ``alpha`` and ``coverage`` to ``1 − alpha``;
    ``*_se`` are their Monte-Carlo standard errors (binomial, over the experiments counted).
    With ``relative``, ``n_undefined`` experiments whose control mean is 0 have no relative
    lift (the public tests withhold their p-value and CI, as ``analyze`` shows them): they are
    left out of both rates and of ``p_values``.
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
    n_undefined: int = 0

    @property
    def z(self) -> float:
        """(false-positive rate − alpha) in Monte-Carlo standard errors; NaN when no
        experiment was counted (all ``n_undefined``)."""
        counted = self.n_sims - self.n_undefined
        if not counted:
            return float("nan")
        return (self.false_positive_rate - self.alpha) / _se(self.alpha, counted)

    def _rows(self) -> list[tuple[str, str, str]]:
        fpr, cov = self.false_positive_rate, self.coverage
        return [
            ("false-positive rate", num(fpr, "%"), f"± {num(self.fpr_se, '%')} (target {num(self.alpha, '%')})"),
            ("CI coverage", num(cov, "%"), f"± {num(self.coverage_se, '%')} (target {num(1 - self.alpha, '%')})"),
        ] + self._undefined_rows()  # fmt: skip

    def _undefined_rows(self) -> list[tuple[str, str, str]]:
        if not self.n_undefined:
            return []
        return [(
            "excluded: control mean 0", f"{self.n_undefined:,} of {self.n_sims:,}",
            "relative lift undefined; counted in neither rate",
        )]  # fmt: skip

    def _records(self) -> list[dict[str, Any]]:
        """One row per quantity: value, Monte-Carlo SE and target."""
        return [
            {"quantity": "false_positive_rate", "value": self.false_positive_rate,
             "mc_se": self.fpr_se, "target": self.alpha},
            {"quantity": "coverage", "value": self.coverage, "mc_se": self.coverage_se,
             "target": 1 - self.alpha},
            {"quantity": "n_undefined", "value": float(self.n_undefined), "mc_se": float("nan"),
             "target": 0.0},
        ]  # fmt: skip

    def _table(self) -> Table:
        caption = (
            f"A/A study — {self.metric}, {self.test}{_of_lift(self.relative)}, "
            f"{self.n_per_arm:,} per arm, "
            f"{self.n_sims:,} experiments (seed {self.seed})"
        )
        if self.n_undefined:
            caption += (
                f"; {self.n_undefined:,} with control mean 0 (relative lift undefined) excluded"
            )
        return Table(["", "rate", "Monte-Carlo SE"], self._rows(), caption=caption, left=1)

    def plot(self, *, figsize: tuple[float, float] = (6, 3.5)) -> Figure:
        """Histogram of the A/A p-values (:func:`promptab_nb.plots.aa_study`)."""
        from ..plots import aa_study

        return aa_study(self, figsize=figsize)


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
        replayed, over the units with a value (a unit whose every call is unpriced has no
        cost); for a rate (``error_rate``, ``pass_rate``) each unit's (numerator, denominator)
        pair, tested as the ratio of sums ``analyze`` tests (delta method), over the units with
        a denominator.
    seed
        Seed or generator (``np.random.default_rng(seed)`` is called once). ``None`` draws
        fresh entropy and records it in the result's ``seed`` (a generator is recorded as
        ``None``: its state is no seed).
    progress
        Show a progress bar.

    Returns
    -------
    AAResult
        False-positive rate and coverage with Monte-Carlo SEs, and the p-values. With
        ``relative``, experiments whose control mean is 0 (relative lift undefined, so no
        p-value or CI) are counted in ``n_undefined`` and left out of both rates.

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
    ps, covered, undefined = [], 0, 0
    batch = src.batch(n)
    with _bar(int(n_sims), progress, "A/A study") as bar:
        for start in range(0, int(n_sims), batch):
            b = min(batch, int(n_sims) - start)
            sc, ssc = src.draw(rng, b, bounds, 0.0)
            st, sst = src.draw(rng, b, bounds, 0.0)
            core = _compare(
                test_name, src, np.float64(n), sc[:, -1], ssc[:, -1], st[:, -1],
                sst[:, -1], alpha=alpha, relative=relative,
            )  # fmt: skip
            ok = _defined(sc[:, -1], relative)
            undefined += int(b - ok.sum())
            p_b = np.broadcast_to(np.minimum(np.asarray(core.p_value, dtype=float), 1.0), (b,))
            ps.append(p_b[ok])
            hit = (np.asarray(core.ci_low) <= 0) & (np.asarray(core.ci_high) >= 0)
            covered += int(np.sum(np.broadcast_to(hit, (b,))[ok]))
            bar.update(b)
    p = np.concatenate(ps)
    counted = len(p)
    fpr = float(np.mean(p < alpha)) if counted else float("nan")
    cov = covered / counted if counted else float("nan")
    return AAResult(
        metric=src.label,
        test=test_name,
        n_per_arm=n,
        n_sims=int(n_sims),
        alpha=float(alpha),
        relative=bool(relative),
        seed=seed_value,
        false_positive_rate=fpr,
        fpr_se=_se(fpr, counted) if counted else float("nan"),
        coverage=cov,
        coverage_se=_se(cov, counted) if counted else float("nan"),
        p_values=p,
        n_undefined=undefined,
    )


@dataclass(frozen=True, eq=False, repr=False)
class PowerResult(Rendered):
    """Simulated power over sample sizes, with Monte-Carlo standard errors.

    With ``relative``, ``n_undefined[i]`` of the ``n_sims`` experiments at size
    ``n_per_arm[i]`` have a control mean of 0 (relative lift undefined: the public tests
    withhold their p-value): they count neither as rejections nor as non-rejections, and
    ``power[i]`` and ``power_se[i]`` are over the others (NaN when there are none).
    ``relative``: the test was of the relative lift (delta method), not of the difference.
    """

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
    n_undefined: np.ndarray
    relative: bool = False

    def _records(self) -> pd.DataFrame:
        """Columns ``n_per_arm, power, mc_se, n_undefined``."""
        import pandas as pd

        return pd.DataFrame(
            {
                "n_per_arm": self.n_per_arm,
                "power": self.power,
                "mc_se": self.power_se,
                "n_undefined": self.n_undefined,
            }
        )

    def _effect_text(self) -> str:
        if self.effect_unit == "pp":
            return num(self.effect, "pp", signed=True)
        return num(self.effect, "%", signed=True) + " relative"

    def _table(self) -> Table:
        header = ["users per arm", "power", "Monte-Carlo SE"]
        rows: list[tuple[str, ...]] = [
            (f"{n:,}", num(p, "%"), num(se, "%"))
            for n, p, se in zip(self.n_per_arm, self.power, self.power_se, strict=True)
        ]
        caption = (
            f"Power — {self.metric}, {self.test}{_of_lift(self.relative)}, effect "
            f"{self._effect_text()}, "
            f"α = {self.alpha:g} ({self.n_sims:,} experiments per size, seed {self.seed})"
        )
        if np.any(self.n_undefined):
            header.append("excluded: control mean 0")
            rows = [
                (*r, f"{k:,} of {self.n_sims:,}")
                for r, k in zip(rows, self.n_undefined, strict=True)
            ]
            caption += "; experiments with control mean 0 (relative lift undefined) excluded"
        return Table(header, rows, caption=caption, left=0)

    def plot(self, *, figsize: tuple[float, float] = (6, 3.5)) -> Figure:
        """Power curve with ±2 Monte-Carlo SE error bars (:func:`promptab_nb.plots.power_study`)."""
        from ..plots import power_study

        return power_study(self, figsize=figsize)


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
    at level ``alpha``. With ``relative``, experiments whose control mean is 0 have no relative
    lift (nor p-value): they are counted apart, in ``n_undefined``, and power is the share of
    the others.

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
        Power and its Monte-Carlo SE per size, and per size how many experiments were left out
        because their control mean is 0 (``n_undefined``, only with ``relative``).
    """
    src = _source(
        metric, baseline=baseline, sigma=sigma, values=values, from_experiment=from_experiment
    )
    test_name = _test_name(test, src)
    _check_effect(effect, src)
    given = np.atleast_1d(np.asarray(n_per_arm, dtype=object)).tolist()
    if not given:
        raise InvalidArgumentError("n_per_arm is empty; pass a size or a list of sizes")
    for i, n in enumerate(given):
        check(n, f"n_per_arm[{i}]" if np.ndim(n_per_arm) else "n_per_arm", ge=2, integer=True)
    sizes = [int(n) for n in given]
    _check_common(n_sims, alpha)
    rng, seed_value = _rng(seed)
    powers, undefined = [], []
    with _bar(len(sizes) * int(n_sims), progress, "power study") as bar:
        for n in sizes:
            bounds = np.array([n])
            rejected, left_out = 0, 0
            batch = src.batch(n)
            for start in range(0, int(n_sims), batch):
                b = min(batch, int(n_sims) - start)
                sc, ssc = src.draw(rng, b, bounds, 0.0)
                st, sst = src.draw(rng, b, bounds, effect)
                core = _compare(
                    test_name, src, np.float64(n), sc[:, -1], ssc[:, -1], st[:, -1],
                    sst[:, -1], alpha=alpha, relative=relative, effect=effect,
                )  # fmt: skip
                # Control mean 0 under relative: no p-value, so neither a rejection nor not
                # one. Counted by the z test's absolute p-value, or as rejections by Welch (its
                # relative statistic is infinite), they made a power of 4 % read 21-54 %.
                ok = _defined(sc[:, -1], relative)
                p_b = np.broadcast_to(np.asarray(core.p_value, dtype=float), (b,))
                rejected += int(np.sum((p_b < alpha) & ok))
                left_out += int(b - ok.sum())
                bar.update(b)
            counted = int(n_sims) - left_out
            powers.append(rejected / counted if counted else float("nan"))
            undefined.append(left_out)
    pw = np.asarray(powers)
    counts = int(n_sims) - np.asarray(undefined, dtype=np.int64)
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
        power_se=np.sqrt(pw * (1 - pw) / np.maximum(counts, 1)),
        n_undefined=np.asarray(undefined, dtype=np.int64),
        relative=bool(relative),
    )
