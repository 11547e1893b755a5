"""Estimators: one class per metric kind × unit × variance reduction.

Each estimator owns the four things that used to be spread over the analysis:

1. the SQL of its per-arm sufficient statistics (run by any :class:`~promptab_nb.engines.base.Engine`
   on the per-unit table or the in-scope events);
2. the typed statistics object each arm becomes (:class:`~promptab_nb.stats.MeanStats`,
   :class:`~promptab_nb.stats.RatioStats`, :class:`~promptab_nb.stats.PropStats`,
   :class:`~promptab_nb.stats.CovStats` or a :class:`QuantileSample`);
3. its test (absolute and relative), and which sequential / Bayesian form applies;
4. the sentence the methods section prints.

:func:`estimator_for` picks the class for a metric and the options, and :func:`metric_arms`
runs them on an experiment. The classes live by unit: per user in ``_user_estimators.py``,
per request in ``_request_estimators.py``, quantiles in ``_quantile_estimators.py``; their
shared base is ``_estimator_base.py``, the sums and statistics objects they share
``_arm_sums.py``, and the rank sums of the Mann–Whitney test ``_rank_sums.py``. All are
importable from here. Adding a metric kind is one class (and its tests in
``tests/analysis/test_estimators.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..errors import PromptabError
from . import _scope
from ._estimator_base import (
    OVERFLOW_NOTE,
    Arm,
    Estimator,
    QuantileSample,
    Scope,
    linear,
)
from ._quantile_estimators import ClusteredQuantile, Quantile
from ._rank_sums import RankArm, rank_sums, unit_value, units_without_values
from ._request_estimators import RequestMean, RequestProportion
from ._user_estimators import UserCuped, UserMean, UserRatio, UserRatioCuped

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..options import AnalysisOptions


def estimator_for(metric: Metric, options: AnalysisOptions) -> Estimator:
    """The estimator of ``metric`` under ``options`` (whose unit must be resolved)."""
    if metric.kind == "quantile":
        return (ClusteredQuantile if options.unit == "user" else Quantile)(metric, options)
    if options.unit == "request":
        cls: type[Estimator] = RequestProportion if metric.agg == "rate" else RequestMean
        return cls(metric, options)
    if metric.kind == "ratio":
        return (UserRatio if options.cuped is None else UserRatioCuped)(metric, options)
    if options.cuped is not None:
        return UserCuped(metric, options)
    return UserMean(metric, options)


__all__ = [
    "OVERFLOW_NOTE",
    "Arm",
    "ClusteredQuantile",
    "Estimator",
    "Quantile",
    "QuantileSample",
    "RankArm",
    "RequestMean",
    "RequestProportion",
    "Scope",
    "UserCuped",
    "UserMean",
    "UserRatio",
    "UserRatioCuped",
    "arm_mean",
    "arm_moments",
    "estimator_for",
    "metric_arms",
    "rank_sums",
    "unit_value",
    "units_without_values",
]


def metric_arms(
    exp: Any, options: AnalysisOptions, engine: Any = None
) -> list[tuple[Estimator, dict[str, Arm]]]:
    """Each metric's estimator and its arms under ``options`` (resolved for ``exp``), from one
    per-unit table on ``engine`` (default: the experiment's workspace)."""
    eng = engine or exp.ws.engine
    options = options.resolved(exp)
    metrics = options.metric_objects()
    per_request = _scope.design_of(exp, options.unit).per_request
    design = _scope.design_of(
        exp, options.unit, identity_map=not per_request and _scope.needs_identity_map(eng)
    )
    params = _scope.params(exp, options.start, options.end, options.multiple)
    out = []
    with eng.unit_rows(_scope.per_unit_sql(exp, metrics, design), params) as table:
        for i, m in enumerate(metrics):
            est = estimator_for(m, options)
            out.append((est, est.arms(Scope(eng, exp, params, table, i, design))))
    return out


def arm_moments(
    exp: Any, options: AnalysisOptions, engine: Any = None
) -> dict[str, dict[str, st.MeanStats]]:
    """Metric → variant → the arm as a linearized mean (n, mean, per-unit variance), the
    variance being the one its test uses (delta method for ratios, CUPED-adjusted, clustered
    for quantiles). For planning from an experiment's data (:func:`promptab_nb.plan`)."""
    out: dict[str, dict[str, st.MeanStats]] = {}
    for est, arms in metric_arms(exp, options, engine):
        out[est.metric.name] = {}
        for k, a in arms.items():
            try:
                if a.stats:
                    out[est.metric.name][k] = arm_mean(est, a.stats)
            except PromptabError:  # no mean (a ratio without denominators): nothing to plan from
                continue
    return out


def arm_mean(est: Estimator, arm: Any) -> st.MeanStats:
    """One arm's statistics as a linearized mean: its mean (metric unit) and the per-unit
    variance its test uses (:meth:`Estimator.plain`)."""
    p = est.plain(arm)
    if isinstance(p, st.MeanStats):
        return p
    return linear(p.n, float(p.mean), float(p.var))
