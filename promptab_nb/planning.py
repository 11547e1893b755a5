"""Plan an experiment from data: sample size, power and minimum detectable effect from the
per-unit variance a metric's test will use (ratio, CUPED and clustered quantiles included).

:func:`plan` without ``from_experiment``/``from_data`` is the textbook planner of
:func:`promptab_nb.stats.power.plan` (a baseline and, for means, a standard deviation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _html
from . import stats as st
from ._checks import check
from ._format import num
from .errors import InvalidArgumentError
from .stats import planning as sp
from .stats.power import _finite

if TYPE_CHECKING:
    from .experiments import Experiment
    from .metrics import Metric
    from .stats.power import Plan


@dataclass(frozen=True)
class DataPlan:
    """A plan from observed data for one metric (Welch's t test, two arms).

    ``mean`` and ``sd`` are per unit in the metric's ``unit`` (``sd`` is the one the test
    uses: delta method for ratios, CUPED-adjusted, clustered for quantiles). ``n_total`` are
    the units over both arms to detect ``mde`` (absolute, metric unit; ``mde_rel`` as a
    fraction of ``mean``, NaN for a zero mean) with ``power``; ``days`` from ``daily_units``
    when given. ``n_per_arm`` is ``n_total / 2``; ``arms`` (arm → units) when the plan is of
    unequal arms as an experiment holds them (:meth:`Experiment.mde`), else None.
    """

    metric: str
    unit: str
    mean: float
    sd: float
    mde: float
    mde_rel: float
    n_total: int
    n_per_arm: float
    power: float
    alpha: float
    alternative: str
    source: str
    days: int | None = None
    note: str | None = None
    arms: dict[str, int] | None = None

    def _per_arm(self) -> str:
        if self.arms is None:
            return f"{self.n_per_arm:,.0f} per arm"
        return ", ".join(f"{n:,} {k}" for k, n in self.arms.items())

    def __repr__(self) -> str:
        days = f", {self.days} days" if self.days is not None else ""
        # No relative MDE of a zero mean (mde_rel is NaN): the absolute one alone.
        rel = f" ({self.mde_rel:+.1%})" if math.isfinite(self.mde_rel) else ""
        side = "" if self.alternative == "two-sided" else f" ({self.alternative}, one-sided)"
        return (
            f"{self.metric}: {self.n_total:,} units ({self._per_arm()}{days}) detect "
            f"{num(self.mde, self.unit, signed=True)}{rel} with "
            f"{self.power:.0%} power at alpha = {self.alpha:g}{side}; sd {num(self.sd, self.unit)} "
            f"per unit from {self.source}" + (f"; {self.note}" if self.note else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        head = ["metric", "units (both arms)", "per arm", "MDE", "MDE %", "power", "sd / unit"]
        row = [
            self.metric,
            f"{self.n_total:,}",
            self._per_arm().removesuffix(" per arm"),
            num(self.mde, self.unit, signed=True),
            f"{self.mde_rel:+.1%}" if math.isfinite(self.mde_rel) else "–",
            f"{self.power:.0%}",
            num(self.sd, self.unit),
        ]
        return str(_html.el("div", _html.table(head, [row], caption=repr(self)), class_="pab"))


def _unit(metric: Metric | None) -> str:
    return metric.unit if metric is not None and metric.unit != "%" else ""


def _solve(
    name: str,
    unit: str,
    mean: float,
    var: float,
    *,
    source: str,
    mde: float | None = None,
    n: int | None = None,
    relative: bool = True,
    power: float = 0.8,
    alpha: float = 0.05,
    alternative: sp.Alternative = "two-sided",
    daily_units: float | None = None,
    arms: dict[str, int] | None = None,
) -> DataPlan:
    """``arms``: the units of two unequal arms to get the MDE of (``n`` is their sum)."""
    if var <= 0 or not math.isfinite(var):
        raise InvalidArgumentError(f"{name}: the per-unit variance is {var!r}; nothing to plan")
    if daily_units is not None:
        check(daily_units, "daily_units", gt=0)
        _finite(daily_units, "daily_units", ": the units entering the experiment per day")
    check(alpha, "alpha", gt=0, lt=1)
    check(power, "power", gt=0, lt=1)
    note = None
    if mde is not None and n is not None:
        raise InvalidArgumentError(
            f"mde == {mde!r} and n == {n!r}: give mde= (the units to detect it) or n= (the MDE "
            "of n units), not both"
        )
    if mde is not None:
        check(mde, "mde")
        _finite(mde, "mde", ": the effect to detect")
        if relative and mean == 0:
            raise InvalidArgumentError(
                f"relative mde == {mde!r}, but the mean of {name} is 0: a relative effect is "
                f"undefined; pass relative=False with mde in the metric's unit"
            )
        effect = mde * mean if relative else mde
        if effect == 0:
            raise InvalidArgumentError(f"mde == {mde!r}: the effect to detect is 0")
        if sp._sign_conflict(effect, alternative):
            what = f"{'relative ' if relative else ''}mde == {mde!r}"
            if relative and (mde > 0) != (effect > 0):
                what += f" of a negative mean ({mean:g})"
            raise InvalidArgumentError(
                f"{what} is {'a decrease' if effect < 0 else 'an increase'} but alternative == "
                f"{alternative!r} tests for {'an increase' if alternative == 'greater' else 'a decrease'}; "
                f"pass mde={-mde!r} or alternative="
                f"{'less' if alternative == 'greater' else 'greater'!r} (or 'two-sided')"
            )
        n_real = sp.t_sample_size(var, effect, power=power, alpha=alpha, alternative=alternative)
        n_total = math.ceil(n_real)
        if n_real < 3.5:
            note = (
                f"even the smallest sample ({n_total} units, 2 per arm) reaches {power:.0%} power "
                f"for this mde; the plan is that minimum"
            )
        reached = power
    elif n is not None:
        check(n, "n (units over both arms)", gt=3)
        _finite(n, "n", ": the units over both arms")
        if n != int(n):
            raise InvalidArgumentError(f"n == {n!r}: give a whole number of units over both arms")
        n_total = int(n)
        ratio = 1.0
        if arms is not None:
            first, second = arms.values()
            ratio = second / first
        effect = sp.t_mde(
            var, n_total, power=power, alpha=alpha, ratio=ratio, alternative=alternative
        )
        reached = power
    else:
        raise InvalidArgumentError("give mde= (to size the experiment) or n= (to get the MDE)")
    days = math.ceil(n_total / daily_units) if daily_units else None
    rel = effect / mean if mean else math.nan
    return DataPlan(
        name, unit, mean, math.sqrt(var), effect, rel, n_total, n_total / 2, reached, alpha,
        alternative, source, days, note, arms if arms is not None and len(set(arms.values())) > 1
        else None,
    )  # fmt: skip


def _frame_moments(
    frame: Any, metric: str | tuple[str, str], covariate: str | tuple[str, str] | None
) -> tuple[str, float, float, int]:
    import pandas as pd

    df = frame.to_pandas() if hasattr(frame, "to_pandas") else frame
    if isinstance(df, Mapping):
        df = pd.DataFrame(df)
    if not isinstance(df, pd.DataFrame):
        raise InvalidArgumentError(
            f"from_data is a {type(frame).__name__}: pass a DataFrame (pandas or polars) or a "
            "dict of columns, one row per unit"
        )

    def col(c: str) -> np.ndarray:
        if c not in df.columns:
            raise InvalidArgumentError(
                f"from_data has no column {c!r} (found: {', '.join(map(str, df.columns))})"
            )
        try:
            values = np.asarray(df[c], dtype=float)
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"from_data column {c!r} is not numeric ({err}); plan a column of per-unit numbers"
            ) from None
        bad = int(np.sum(~np.isfinite(values)))
        if bad:
            raise InvalidArgumentError(
                f"from_data column {c!r} has {bad:,} NaN or infinite rows of {values.size:,}; "
                f"drop them (frame.dropna(subset=[{c!r}])) or impute them first"
            )
        if values.size < 2:
            raise InvalidArgumentError(
                f"from_data has {values.size} row(s): a per-unit variance needs at least 2 "
                "units (one row per unit)"
            )
        return values

    if isinstance(metric, str):
        y = col(metric)
        n = y.size
        if covariate is None:
            return metric, float(y.mean()), float(y.var(ddof=1)), n
        x = col(str(covariate))
        c = st.CovStats.from_values(y, x)
        cv = np.cov(y, x, ddof=1)
        theta = cv[0, 1] / cv[1, 1] if cv[1, 1] > 0 else 0.0
        var = cv[0, 0] + theta * theta * cv[1, 1] - 2 * theta * cv[0, 1]
        _explained(metric, covariate, cv[0, 0], var)
        return metric, c.y_mean, float(var), n
    if len(metric) != 2:
        raise InvalidArgumentError(
            f"metric == {metric!r}: a ratio metric is a (num, den) pair of columns"
        )
    num_c, den_c = metric
    if covariate is None:
        nu, de = col(num_c), col(den_c)
        if de.sum() == 0:
            raise InvalidArgumentError(
                f"from_data column {den_c!r} sums to 0: the ratio {num_c}/{den_c} is undefined"
            )
        r = st.RatioStats.from_values(nu, de)  # centred: raw sums of squares lose digits
        return f"{num_c}/{den_c}", float(r.mean), float(r.var), nu.size
    if isinstance(covariate, str):
        raise InvalidArgumentError(
            f"covariate == {covariate!r}: a ratio metric takes a (num_pre, den_pre) pair"
        )
    if len(covariate) != 2:
        raise InvalidArgumentError(
            f"covariate == {covariate!r}: a ratio metric takes a (num_pre, den_pre) pair"
        )
    a, b = covariate
    s = st.RatioCovStats.from_values(col(num_c), col(den_c), col(a), col(b))
    theta = st.ratio_cuped_theta(s)
    value, var = st.ratio_cuped_arm(s, theta, s.sums[2] / s.sums[3])
    nu, de = col(num_c), col(den_c)
    raw = st.RatioStats.from_values(nu, de).var
    _explained(f"{num_c}/{den_c}", covariate, raw, var)
    return f"{num_c}/{den_c}", value, var, s.n


def _explained(name: str, covariate: object, raw: float, adjusted: float) -> None:
    """Refuse a covariate that leaves no variance although the metric has some (the metric
    itself, or an exact function of it): a plan of 0 variance would mean no units at all."""
    if adjusted <= raw * 1e-12 and raw > 0:
        raise InvalidArgumentError(
            f"covariate {covariate!r} predicts {name} exactly (CUPED leaves no variance): is it "
            "the metric itself? Give the metric's value before the experiment (a pre-period)"
        )


def plan(
    baseline: float | None = None,
    *,
    mde: float | None = None,
    daily_units: float | None = None,
    from_experiment: Experiment | None = None,
    from_data: Any = None,
    metric: str | Metric | tuple[str, str] | None = None,
    covariate: str | tuple[str, str] | None = None,
    n: int | None = None,
    cuped: bool | float | None = None,
    arm: str | None = None,
    relative: bool = True,
    alternative: sp.Alternative = "two-sided",
    sd: float | None = None,
    kind: Any = None,
    split: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
) -> DataPlan | Plan:
    """Plan an experiment: units (and days) to detect ``mde``, or the MDE of ``n`` units.

    From data, the per-unit variance is the one the metric's test uses, so ratio metrics,
    CUPED and user-clustered quantiles plan correctly (tea-tasting's ``solve_power``; equal to
    1e-6):

    - ``from_experiment=exp, metric="error_rate"``: the arm ``arm`` (default the control) of a
      running or past experiment, analysed with ``cuped`` as :meth:`Experiment.analyze` would.
    - ``from_data=frame, metric="cost"`` (a per-unit column), or ``metric=("errors",
      "requests")`` for a ratio; ``covariate`` a pre-period column (or pair) for CUPED.

    Without either it is :func:`promptab_nb.stats.power.plan` (``baseline`` and, for a mean,
    ``sd``; ``daily_units`` required).

    Parameters
    ----------
    mde
        Effect to detect: a fraction of the mean with ``relative`` (0.05 = +5 %), else in the
        metric's unit.
    n
        Units over both arms (instead of ``mde``): the plan reports the MDE they detect.
    daily_units
        Units entering per day (both arms): adds ``days``.
    alternative
        H1 of the planned test: ``"two-sided"`` (default), ``"greater"`` or ``"less"``.
    alpha, power
        Significance level and power.

    Returns
    -------
    DataPlan
        From data; a :class:`~promptab_nb.stats.power.Plan` otherwise.

    Raises
    ------
    InvalidArgumentError
        Both sources, a missing column or metric, neither ``mde`` nor ``n``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"cost": np.random.default_rng(1).gamma(2, 0.01, 2000)})
    >>> plan(from_data=frame, metric="cost", mde=0.05).n_total
    6305
    """
    if from_experiment is None and from_data is None:
        from .stats.power import plan as textbook

        # Arguments only a plan from data uses: refuse them rather than ignore them.
        data_only = {"n": n, "metric": metric, "covariate": covariate, "cuped": cuped, "arm": arm}
        given = [k for k, v in data_only.items() if v is not None and v is not False]
        if given:
            fix = (
                "; for the MDE of n units use pab.stats.mde(baseline, n_total=n, ...)"
                if "n" in given
                else ""
            )
            raise InvalidArgumentError(
                f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} from_data= or "
                f"from_experiment=; the textbook plan(baseline, mde=..., daily_units=...) has no "
                f"data to use {'it' if len(given) == 1 else 'them'}{fix}"
            )
        if daily_units is None or mde is None:
            raise InvalidArgumentError(
                "plan(baseline, mde=..., daily_units=...) needs mde and daily_units; or plan "
                "from data with from_experiment= or from_data="
            )
        if (
            kind is None
            and sd is None
            and isinstance(baseline, int | float)
            and not isinstance(baseline, bool)
            and not 0 < baseline < 1
        ):
            # (without sd= the baseline is read as a rate: "baseline == 2.0, must be < 1")
            raise InvalidArgumentError(
                f"baseline == {baseline!r} is not a rate in (0, 1): without sd= the baseline is "
                "a proportion's control rate. For a mean, pass its per-unit standard deviation, "
                f"e.g. pab.plan({baseline!r}, sd=..., mde=..., daily_units=...)"
            )
        return textbook(baseline, mde=mde, daily_units=daily_units, sd=sd, kind=kind,
                        relative=relative, split=split, alpha=alpha, power=power, arms=arms,
                        alternative=alternative)  # fmt: skip
    if from_experiment is not None and from_data is not None:
        raise InvalidArgumentError("give from_experiment= or from_data=, not both")
    if from_experiment is not None:
        from .experiments import Experiment

        if not isinstance(from_experiment, Experiment):
            raise InvalidArgumentError(
                f"from_experiment == {from_experiment!r}: pass the experiment itself, e.g. "
                "from_experiment=ws.experiment('name')"
            )
    # A plan from data takes the variance from the data and plans two equal arms.
    textbook_only = {"baseline": baseline, "sd": sd, "kind": kind, "split": split}
    given = [k for k, v in textbook_only.items() if v is not None]
    if arms != 2:
        given.append("arms")
    if given:
        raise InvalidArgumentError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} not used when planning from "
            "data: the mean and variance come from the data and the plan is two equal arms. Drop "
            f"{'it' if len(given) == 1 else 'them'}, or plan by hand with pab.stats.sample_size("
            "baseline, mde=..., sd=..., split=..., arms=...)"
        )
    if metric is None:
        raise InvalidArgumentError("metric= is required when planning from data")
    common = dict(mde=mde, n=n, relative=relative, power=power, alpha=alpha,
                  alternative=alternative, daily_units=daily_units)  # fmt: skip
    if from_data is not None:
        if not isinstance(metric, str | tuple):
            raise InvalidArgumentError("from_data: metric= is a column or a (num, den) pair")
        name, mean, var, rows = _frame_moments(from_data, metric, covariate)
        src = f"data ({rows:,} units{', CUPED' if covariate is not None else ''})"
        return _solve(name, "", mean, var, source=src, **common)  # type: ignore[arg-type]
    if isinstance(metric, tuple):
        raise InvalidArgumentError("from_experiment: metric= is a metric name or pab.Metric")
    return experiment_plans(from_experiment, [metric], cuped=cuped, arm=arm, **common)[0]  # type: ignore[arg-type]


def _arm_moments(exp: Experiment, opts: Any) -> dict[str, dict[str, st.MeanStats]]:
    """Metric → arm → its linearized mean (:func:`~promptab_nb.analysis.estimators.arm_moments`)
    counted in the arm's units. A quantile per user holds its requests as the sample, so its
    linearized mean counted requests as units with a per-request variance: 1,172 "units" of
    an arm of 448 users, and days planned 2.6 times too long. The SE is kept (se² = var / n),
    so the per-user variance is var × requests / users."""
    from .analysis import estimators
    from .metrics import BUILTIN

    out = estimators.arm_moments(exp, opts)
    # (the metrics read: those given, else the experiment's own, by name in `out`)
    kinds = {m.name: m.kind for m in opts.metric_objects()}
    if not any(kinds.get(name, getattr(BUILTIN.get(name), "kind", None)) == "quantile"
               for name in out):  # fmt: skip
        return out
    for est, arms in estimators.metric_arms(exp, opts):
        if est.metric.kind != "quantile" or est.metric.name not in out:
            continue
        for key, arm in arms.items():
            m = out[est.metric.name].get(key)
            if m is None or m.n == arm.n:
                continue
            if arm.n < 2:  # one user: no per-user variance to plan from
                del out[est.metric.name][key]
                continue
            var = m.var * arm.n / m.n
            out[est.metric.name][key] = st.MeanStats.from_moments(arm.n, m.mean, var)
    return out


def experiment_plans(
    exp: Experiment,
    metrics: Any,
    *,
    cuped: bool | float | None = None,
    arm: str | None = None,
    **kwargs: Any,
) -> list[DataPlan]:
    """One :class:`DataPlan` per metric from an experiment's arm ``arm`` (default: control);
    ``n=None`` and ``mde=None`` mean the MDE of the units one comparison holds now: ``arm``
    and control, or control and its smallest treatment when ``arm`` is the control."""
    from .metrics import resolve
    from .options import AnalysisOptions

    if arm is not None and arm not in exp.variants:
        from ._checks import did_you_mean

        raise InvalidArgumentError(
            f"arm == {arm!r} is not a variant of {exp.name!r} (its variants: "
            f"{', '.join(map(repr, exp.variants))}){did_you_mean(arm, exp.variants)}"
        )
    opts = AnalysisOptions(metrics=metrics, cuped=cuped, alpha=kwargs.get("alpha", 0.05))
    moments = _arm_moments(exp, opts)
    key = arm or exp.control
    out = []
    # One name is one metric (resolve() wraps it; list() split it into letters), and None means
    # the experiment's own metrics, as arm_moments reads them.
    wanted = metrics if metrics is not None else getattr(exp, "metrics", None) or None
    for m in resolve(wanted):
        arms_ = moments.get(m.name, {})
        if key not in arms_:
            others = [x for x in moments if x != m.name and key in moments[x]]
            raise InvalidArgumentError(
                f"{m.name}: arm {key!r} has fewer than 2 units with a value (for a rate: no "
                "events to divide by, e.g. no evaluations); nothing to plan from"
                + (f". Plan the others: metrics={others!r}" if others else "")
            )
        a = arms_[key]
        args = dict(kwargs)
        if args.get("mde") is None and args.get("n") is None:
            # The units of one comparison as they are: the arm and control, or for control its
            # smallest treatment (the largest MDE); not every arm's units, nor two equal halves.
            if key == exp.control:
                partners = {k: s.n for k, s in arms_.items() if k != key}
            else:
                partners = {exp.control: arms_[exp.control].n} if exp.control in arms_ else {}
            if not partners:
                raise InvalidArgumentError(
                    f"{m.name}: {'no treatment arm has' if key == exp.control else 'the control has no'}"
                    f" units with a value yet, only {key!r} ({a.n:,}): there is no comparison to "
                    "get the MDE of. For the MDE of a planned size use pab.plan(from_experiment="
                    "exp, metric=..., n=...)"
                )
            other = min(partners, key=lambda k: partners[k])
            args["arms"] = {key: a.n, other: partners[other]}
            args["n"] = a.n + partners[other]
        src = f"{exp.name!r} arm {key} ({a.n:,} units{', CUPED' if cuped else ''})"
        out.append(_solve(m.name, _unit(m), a.mean, a.var, source=src, **args))
    return out


__all__ = ["DataPlan", "experiment_plans", "plan"]
