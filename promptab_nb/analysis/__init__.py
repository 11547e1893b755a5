"""Experiment + options → SQL on an engine → per-arm sufficient statistics → stats → result.

Layers, one way: :mod:`._scope` writes the exposure and per-unit SQL; :mod:`.estimators` own
each metric kind's per-arm sums, statistics and test; :mod:`._build` turns the per-arm statistics
into an :class:`~promptab_nb.results.ExperimentResult`. The queries run on an
:class:`~promptab_nb.engines.base.Engine`: the workspace's DuckDB (default) or Spark.

Here: the entry points of one analysis (:func:`run`, :func:`analyze`, :func:`health`,
:func:`assigned_units`, :func:`analyze_over_time`); the comparisons beside it (:func:`unit_values`,
:func:`compare_all`, :func:`mann_whitney`) are in :mod:`._comparisons`, and what they share
(engine, design, cost source) in :mod:`._setup`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._checks import as_utc, one_of
from ..metrics import Metric, resolve
from ..options import AnalysisOptions
from ..results import HealthFlag
from . import _build, _coverage, _missing, _scope, _source_checks
from ._comparisons import compare_all, mann_whitney, unit_values
from ._setup import design_for, engine_for, no_quantile, source_text_of
from .estimators import Scope, estimator_for

if TYPE_CHECKING:
    import pandas as pd

    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..options import CostSource, Unit
    from ..results import ExperimentResult, Health, OverTimeResult

MULTIPLE = _scope.MULTIPLE


def run(
    exp: Experiment, options: AnalysisOptions, engine: Engine | None = None
) -> ExperimentResult:
    """Analyse ``exp`` with ``options`` on ``engine`` (default: the experiment's workspace).

    This is what :meth:`Experiment.analyze <promptab_nb.experiments.Experiment.analyze>`, the
    Spark engine, the dashboard, the report and the CLI all call.

    Raises
    ------
    NotFoundError
        The experiment's flag has no exposures on the engine.
    InvalidArgumentError
        An option the experiment does not allow (e.g. CUPED per request).
    """
    eng = engine_for(exp, engine)
    options = options.resolved(exp)
    metrics = options.metric_objects()
    _source_checks.check_source(eng, exp)
    design = design_for(eng, exp, options.unit, options.cost)
    params = _scope.params(exp, options.start, options.end, options.multiple)
    per_unit = _scope.per_unit_sql(exp, metrics, design)
    estimators = [estimator_for(m, options) for m in metrics]
    with eng.unit_rows(per_unit, params) as table:
        counts = dict(eng.fetch(f"SELECT variant, count(*) FROM {table} GROUP BY variant"))
        multi = eng.fetch(f"SELECT count(*) FROM {table} WHERE multi")[0][0]
        daily = eng.fetch(_build.DAILY_SQL.format(table=table))
        per_metric = [
            (est, est.arms(Scope(eng, exp, params, table, i, design)))
            for i, est in enumerate(estimators)
        ]
        if exp.assigned_by == "flag":
            _source_checks.check_arm_versions(eng, table, exp)
        extra = _coverage.flags(eng, table, exp) if not design.per_request else []
    health = _build.health(exp, counts, multi, options.multiple, (options.start, options.end))
    health = dataclasses.replace(
        health,
        flags=health.flags
        + tuple(extra)
        + tuple(_missing.flags(per_metric, list(exp.variants)))
        + _unit_flags(exp, options),
        source=source_text_of(exp, design),
    )
    res = _build.build_result(exp, per_metric, health, options, eng.provenance(), daily)
    if options.by is not None:
        from . import _segments

        segments = _segments.run(eng, exp, options, estimators, per_unit, params, design)
        res = dataclasses.replace(res, segments=segments)
    return dataclasses.replace(res, methods=(f"assignment: {health.source}", *res.methods))


def _unit_flags(exp: Experiment, options: AnalysisOptions) -> tuple[HealthFlag, ...]:
    """A warning when arms assigned per user (a flag, or an experiment declared per user) are
    analysed per request: each test then reads a user's requests as independent."""
    if options.unit != "request" or (exp.assigned_by != "flag" and exp.unit == "request"):
        return ()
    how = "by flag exposures" if exp.assigned_by == "flag" else "with unit='user'"
    return (
        HealthFlag(
            "request_unit",
            "warning",
            f"arms are assigned per user ({how}) but analysed per request: each test reads a "
            "user's requests as independent, so with several requests per user its p-values "
            "are too small and its CIs too narrow; analyse with unit='user' (rates become "
            "ratio metrics)",
        ),
    )


def analyze(
    exp: Experiment,
    metrics: Sequence[str | Metric] | str | Metric | None = None,
    *,
    options: AnalysisOptions | None = None,
    engine: Engine | None = None,
    **kwargs: Any,
) -> ExperimentResult:
    """Compare every treatment with the control on each metric.

    ``kwargs`` are the fields of :class:`~promptab_nb.options.AnalysisOptions` (unit, method,
    alpha, relative, cuped, winsorize, correction, sequential, multiple, start, end, prior);
    given with ``options`` they override it. See
    :meth:`Experiment.analyze <promptab_nb.experiments.Experiment.analyze>`.
    """
    opts = options if options is not None else AnalysisOptions()
    changes = dict(kwargs)
    if metrics is not None:
        changes["metrics"] = metrics
    return run(exp, opts.replace(**changes) if changes else opts, engine)


def health(
    exp: Experiment,
    *,
    multiple: Literal["exclude", "first_seen"] = "exclude",
    start: Any = None,
    end: Any = None,
    engine: Engine | None = None,
) -> Health:
    """Exposure counts per variant, ``$multiple`` units and the SRM check, without metrics."""
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    eng = engine_for(exp, engine)
    _source_checks.check_source(eng, exp)
    design = design_for(eng, exp, None)
    window = (as_utc(start, "start"), as_utc(end, "end"))
    rows = eng.fetch(
        _scope.assignment_counts_sql(exp, design), _scope.params(exp, *window, multiple)
    )
    counts = {r[0]: int(r[1]) for r in rows}
    health = _build.health(exp, counts, sum(int(r[2]) for r in rows), multiple, window)
    return dataclasses.replace(health, source=source_text_of(exp, design))


def assigned_units(
    exp: Experiment, *, multiple: Literal["exclude", "first_seen"] = "exclude"
) -> pd.DataFrame:
    """One row per exposed unit: ``unit, variant, first_exposure, variants_seen``."""
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    design = design_for(exp.ws.engine, exp, None)
    return exp.ws.sql(
        _scope.assigned_units_sql(exp, design), _scope.params(exp, None, None, multiple)
    )


def analyze_over_time(
    exp: Experiment,
    metric: str | Metric,
    *,
    freq: Literal["day", "hour", "week"] = "day",
    alpha: float = 0.05,
    relative: bool = True,
    multiple: Literal["exclude", "first_seen"] = "exclude",
    cost: CostSource = "source",
    start: Any = None,
    end: Any = None,
    unit: Unit | None = None,
    engine: Engine | None = None,
) -> OverTimeResult:
    """Cumulative estimate, CI and p-value at the end of each period, from cumulative
    sufficient statistics computed in one query (units exposed and events seen by then).
    ``cost``, ``start`` and ``end`` as in
    :meth:`Experiment.analyze <promptab_nb.experiments.Experiment.analyze>`: the curve of the
    cost an analysis with the same option judged, over the same window. ``unit``: ``"user"``
    or ``"request"`` (each event a unit, tested as ``analyze(unit="request")`` tests it: Welch
    over events, Fisher's exact test for rates); ``None`` (default): the experiment's unit, as
    :meth:`~promptab_nb.experiments.Experiment.analyze` takes it.

    Each record's ``note`` says why its p-value is withheld; ``missing_share`` (the larger
    share of the two arms' events without a value, e.g. unpriced generations; NaN where
    analyze() does not count them) and ``missing_note`` (analyze()'s words for it, ``None``
    at 0) say a share that does not withhold it, as analyze()'s note does."""
    from . import _over_time

    one_of(freq, "freq", ("day", "hour", "week"))
    # alpha, relative, multiple, cost, the window and the unit checked as analyze() checks
    # them (same messages; a count metric has no per-request value)
    unit = one_of(unit or exp.unit, "unit", ("user", "request"))
    (m,) = resolve([metric])
    no_quantile(m)
    checked = AnalysisOptions(
        metrics=(m,), unit=unit, alpha=alpha, relative=relative, multiple=multiple, cost=cost,
        start=start, end=end,
    ).resolved(exp)  # fmt: skip
    eng = engine_for(exp, engine)
    _source_checks.check_source(eng, exp)
    params = _scope.params(exp, checked.start, checked.end, multiple)
    params.update(freq=freq, now=_over_time.now_bound())
    design = design_for(eng, exp, unit, checked.cost)
    rows = eng.fetch(_over_time.sql(exp, m, design, unit), params)
    return _over_time.result(
        exp, m, rows, alpha=checked.alpha, relative=relative, freq=freq, unit=unit, cost=cost
    )


__all__ = [
    "analyze",
    "analyze_over_time",
    "assigned_units",
    "compare_all",
    "health",
    "mann_whitney",
    "run",
    "unit_values",
]
