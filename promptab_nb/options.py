"""One home for every analysis option: :class:`AnalysisOptions`, its defaults and its checks.

Every surface that analyses an experiment (``exp.analyze``, the Spark engine, the dashboard, the
report, the CLI) builds one of these objects, so a default is written once (here) and the code
that reproduces a result is the same wherever the choice was made::

    opts = AnalysisOptions(method="bayesian", cuped=True)
    opts.non_defaults()      # {'method': 'bayesian', 'cuped': 14.0}
    opts.to_code()           # "exp.analyze(method='bayesian', cuped=14)"

Later options (goal, guardrails, segments, assignment source) are added as fields here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, cast

from ._checks import as_utc, check, one_of
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .experiments import Experiment
    from .metrics import Metric
    from .stats.bayes import GaussianPrior

Unit = Literal["user", "request"]
Method = Literal["frequentist", "bayesian"]
Correction = Literal["holm", "bh", "bonferroni", "sidak", "hochberg", "by"]
Alternative = Literal["two-sided", "greater", "less"]
#: Per-metric alternatives as stored: ``((metric, alternative), ...)``.
AltPairs = tuple[tuple[str, Alternative], ...]
Multiple = Literal["exclude", "first_seen"]
CostSource = Literal["source", "recompute"]
COST_SOURCES: tuple[CostSource, ...] = ("source", "recompute")

#: Days before a unit's first exposure used as the CUPED covariate when ``cuped=True``.
CUPED_DAYS = 14.0

UNITS: tuple[Unit, ...] = ("user", "request")
METHODS: tuple[Method, ...] = ("frequentist", "bayesian")
CORRECTIONS: tuple[Correction, ...] = ("holm", "bh", "bonferroni", "sidak", "hochberg", "by")
ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "greater", "less")
MULTIPLE: tuple[Multiple, ...] = ("exclude", "first_seen")
CORRECTION_NAMES = {
    "holm": "Holm",
    "bh": "Benjamini–Hochberg",
    "bonferroni": "Bonferroni",
    "sidak": "Šidák",
    "hochberg": "Hochberg",
    "by": "Benjamini–Yekutieli",
}


@dataclass(frozen=True)
class AnalysisOptions:
    """Every option of an experiment analysis, validated, with the defaults defined once.

    Parameters
    ----------
    metrics
        Built-in metric names or :class:`~promptab_nb.metrics.Metric` objects; ``None`` means
        the experiment's metrics, else cost, latency, error_rate and pass_rate.
    unit
        ``"user"`` or ``"request"``; ``None`` means the experiment's unit.
    method
        ``"frequentist"`` or ``"bayesian"`` (adds chance to win and expected loss).
    alpha
        Two-sided significance level; intervals are ``1 − alpha``.
    relative
        Also report relative effects (treatment / control − 1, delta method).
    cuped
        Days before exposure used as the CUPED covariate; ``True`` means
        :data:`CUPED_DAYS` (14), ``False``/``None`` no CUPED. Stored as a float or ``None``.
    winsorize
        ``(lower_pct, upper_pct)`` percentiles pooled over arms, applied to per-unit values.
    correction
        Across all metric × treatment comparisons: family-wise ``"holm"``, ``"bonferroni"``,
        ``"sidak"``, ``"hochberg"``; false discovery rate ``"bh"`` (Benjamini–Hochberg) or
        ``"by"`` (Benjamini–Yekutieli, any dependence).
    sequential
        Always-valid p-values and confidence sequences (safe to peek).
    multiple
        ``"exclude"`` units exposed to several variants, or keep their ``"first_seen"`` one.
    start, end
        Only exposures and events in ``[start, end)``, UTC (datetimes, dates or ISO strings).
    cost
        ``"source"``: the cost the export carries (a generation without one is unpriced, never
        free); ``"recompute"``: each generation's cost from its provider, model and token counts
        with the ``genai-prices`` price data (``pip install 'promptab_nb[prices]'``), its
        version stated in the result.
    prior
        A :class:`~promptab_nb.stats.GaussianPrior` on the effect for the Bayesian method;
        ``None`` is flat.
    by
        Segment the comparison by a generations or exposures column (``"model"``) or a kept
        PostHog property (``"properties.$geoip_country_code"``): ``res.segments`` holds the
        per-segment rows, BH-adjusted p-values and Cochran's Q.
    alternative
        The alternative hypothesis of the fixed-horizon tests: ``"less"`` (H1: treatment −
        control < 0), ``"greater"`` or ``"two-sided"`` for every metric, or per metric, e.g.
        ``{"cost": "less"}`` (others two-sided). A one-sided test has a one-sided interval.
        Sequential p-values stay two-sided. Stored as ``((metric, alternative), ...)``.

    Raises
    ------
    InvalidArgumentError
        An option out of range, naming the option and the value.

    Examples
    --------
    >>> AnalysisOptions(method="bayesian", cuped=True).non_defaults()
    {'method': 'bayesian', 'cuped': 14.0}
    >>> AnalysisOptions(metrics=["cost"], alpha=0.1).to_code()
    "exp.analyze(['cost'], alpha=0.1)"
    """

    metrics: tuple[str | Metric, ...] | None = None
    unit: Unit | None = None
    method: Method = "frequentist"
    alpha: float = 0.05
    relative: bool = True
    cuped: float | None = None
    winsorize: tuple[float, float] | None = None
    correction: Correction | None = None
    sequential: bool = False
    multiple: Multiple = "exclude"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    prior: GaussianPrior | None = None
    by: str | None = None
    cost: CostSource = "source"
    alternative: Alternative | AltPairs | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.metrics is not None:
            from .metrics import Metric, resolve

            value: object = self.metrics
            given: list[str | Metric]
            if isinstance(value, str | Metric):
                given = [value]
            elif isinstance(value, Sequence):
                given = list(value)
            else:
                raise InvalidArgumentError(
                    f"metrics == {self.metrics!r}, must be a metric name, a pab.Metric or a "
                    "list of them"
                )
            resolve(given)  # unknown names, duplicates and an empty list fail here
            set_(self, "metrics", tuple(given))
        if self.unit is not None:
            one_of(self.unit, "unit", UNITS)
        one_of(self.method, "method", METHODS)
        check(self.alpha, "alpha", gt=0, lt=1)
        set_(self, "alpha", float(self.alpha))
        _flag(self.relative, "relative")
        _flag(self.sequential, "sequential")
        set_(self, "cuped", _cuped_days(self.cuped))
        set_(self, "winsorize", _winsor(self.winsorize))
        if self.correction is not None:
            one_of(self.correction, "correction", CORRECTIONS)
        one_of(self.multiple, "multiple", MULTIPLE)
        one_of(self.cost, "cost", COST_SOURCES)
        set_(self, "alternative", _alternatives(self.alternative))
        set_(self, "start", as_utc(self.start, "start"))
        set_(self, "end", as_utc(self.end, "end"))
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidArgumentError(
                f"end == {self.end.isoformat()} is not after start == {self.start.isoformat()}; "
                "the window is [start, end)"
            )
        if self.prior is not None and type(self.prior).__name__ != "GaussianPrior":
            raise InvalidArgumentError(
                f"prior == {self.prior!r}, must be pab.stats.GaussianPrior(mean, variance) or None"
            )
        if self.by is not None:
            if not isinstance(self.by, str):
                raise InvalidArgumentError(f"by == {self.by!r}, must be a column name or None")
            from .analysis._segments import check_by

            check_by(self.by)
        if self.cuped is not None and self.unit == "request":
            raise InvalidArgumentError("cuped needs unit='user' (a pre-exposure value per user)")

    # -- derived --------------------------------------------------------------------------
    @property
    def level(self) -> float:
        """Confidence (or credible) level of every interval, ``1 − alpha``."""
        return 1 - self.alpha

    @property
    def bayesian(self) -> bool:
        return self.method == "bayesian"

    def alternative_for(self, metric: str) -> Alternative:
        """The alternative hypothesis of ``metric``'s test (``"two-sided"`` by default)."""
        alt = self.alternative
        if alt is None:
            return "two-sided"
        if isinstance(alt, str):
            return alt
        return dict(alt).get(metric, "two-sided")

    def replace(self, **changes: Any) -> AnalysisOptions:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def resolved(self, exp: Experiment) -> AnalysisOptions:
        """The options with the experiment's defaults filled in (unit and metrics).

        Raises
        ------
        InvalidArgumentError
            An option that the experiment's unit does not allow (CUPED or a count metric per
            request).
        """
        from .metrics import DEFAULT, resolve

        unit = self.unit or exp.unit
        metrics = resolve(self.metrics or exp.metrics or DEFAULT)
        if unit == "request":
            bad = [m.name for m in metrics if m.agg == "count"]
            if bad:
                raise InvalidArgumentError(
                    f"metric {bad[0]!r} counts events per user; it has no per-request value. "
                    "Use unit='user' or drop it."
                )
        from .metrics import BUILTIN

        if isinstance(self.alternative, tuple):
            unknown = [k for k, _ in self.alternative if k not in {m.name for m in metrics}]
            if unknown:
                raise InvalidArgumentError(
                    f"alternative names metric {unknown[0]!r}, which is not analysed "
                    f"(metrics: {', '.join(m.name for m in metrics)})"
                )
        names = tuple(m.name if BUILTIN.get(m.name) == m else m for m in metrics)
        return self.replace(unit=unit, metrics=names)

    def metric_objects(self) -> list[Metric]:
        """The metrics as :class:`Metric` objects (the defaults when ``metrics`` is None)."""
        from .metrics import resolve

        return resolve(list(self.metrics) if self.metrics is not None else None)

    # -- reproducing ----------------------------------------------------------------------
    def non_defaults(self) -> dict[str, Any]:
        """The options that differ from their defaults, in field order (``metrics`` included)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = value
        return out

    def to_code(self, call: str = "exp.analyze", *, exp: Experiment | None = None) -> str:
        """The Python call that analyses with these options, e.g.
        ``exp.analyze(['cost'], method='bayesian')``.

        With ``exp``, a unit equal to the experiment's own is left out, as a user would type it.
        """
        opts = self.non_defaults()
        args = []
        metrics = opts.pop("metrics", None)
        if exp is not None and opts.get("unit") == exp.unit:
            opts.pop("unit")
        if metrics is not None:
            args.append("[" + ", ".join(_metric_code(m) for m in metrics) + "]")
        if isinstance(opts.get("alternative"), tuple):
            opts["alternative"] = dict(opts["alternative"])
        args += [f"{k}={_value_code(v)}" for k, v in opts.items()]
        return call_code(call, args)


def _metric_code(m: str | Metric) -> str:
    return repr(m) if isinstance(m, str) else "pab." + repr(m)


def _value_code(value: Any) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_value_code(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dt.datetime):
        return repr(value.isoformat())
    if isinstance(value, float) and math.isfinite(value):
        return repr(int(value)) if value.is_integer() else repr(float(f"{value:.12g}"))
    if type(value).__name__ == "GaussianPrior":
        return f"pab.stats.GaussianPrior(mean={value.mean!r}, variance={value.variance!r})"
    return repr(value)


def call_code(head: str, args: list[str]) -> str:
    """``head(arg, ...)`` on one line, or one argument per line past 88 characters."""
    one = f"{head}({', '.join(args)})"
    if len(one) <= 88:
        return one
    return head + "(\n" + "".join(f"    {a},\n" for a in args) + ")"


def _flag(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} == {value!r}, must be True or False")


def _cuped_days(value: Any) -> float | None:
    if value is None or value is False:
        return None
    if value is True:
        return CUPED_DAYS
    # (at most 100 years: the window is turned into microseconds, and inf has none)
    check(value, "cuped (days before exposure)", gt=0, le=36_525)
    return float(value)


def _alternatives(value: Any) -> Alternative | AltPairs | None:
    if value is None or isinstance(value, str):
        if value is not None:
            one_of(value, "alternative", ALTERNATIVES)
        return None if value in (None, "two-sided") else cast(Alternative, value)
    try:
        pairs = list(value.items()) if isinstance(value, Mapping) else [tuple(p) for p in value]
        out = tuple((str(k), v) for k, v in pairs)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"alternative == {value!r}, must be 'less', 'greater', 'two-sided' or a mapping "
            "such as {'cost': 'less'}"
        ) from err
    for k, v in out:
        one_of(v, f"alternative[{k!r}]", ALTERNATIVES)
    return out or None


def _winsor(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"winsorize == {value!r}, must be (lower_pct, upper_pct), e.g. (0, 99)"
        ) from err
    check(lo, "winsorize[0]", ge=0, lt=100)
    check(hi, "winsorize[1]", gt=lo, le=100)
    return (lo, hi)


def options_of(options: AnalysisOptions | None, **kwargs: Any) -> AnalysisOptions:
    """``options`` with the keyword arguments that differ from the defaults applied on top."""
    base = options if options is not None else AnalysisOptions()
    defaults = {f.name: f.default for f in fields(AnalysisOptions)}
    changes = {k: v for k, v in kwargs.items() if not _same(v, defaults[k])}
    return base.replace(**changes) if changes else base


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


__all__ = ["CUPED_DAYS", "AnalysisOptions"]
