"""Experiment + options → SQL on an engine → per-arm sufficient statistics → stats → result.

Layers, one way: :mod:`._scope` writes the exposure and per-unit SQL; :mod:`.estimators` own
each metric kind's per-arm sums, statistics and test; :mod:`._build` turns the per-arm statistics
into an :class:`~promptab_nb.results.ExperimentResult`. The queries run on an
:class:`~promptab_nb.engines.base.Engine`: the workspace's DuckDB (default) or Spark.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._checks import as_utc, one_of
from ..errors import InvalidArgumentError
from ..metrics import Metric, resolve
from ..options import AnalysisOptions
from ..results import HealthFlag
from . import _build, _coverage, _missing, _scope, _source_checks
from .estimators import Scope, estimator_for

if TYPE_CHECKING:
    import pandas as pd

    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..options import Alternative, Correction, CostSource, Unit
    from ..results import ExperimentResult, Health, MannWhitneyResult, OverTimeResult
    from ..stats.pairs import AllPairs

MULTIPLE = _scope.MULTIPLE


def _engine(exp: Experiment, engine: Engine | None) -> Engine:
    return engine if engine is not None else exp.ws.engine


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
    eng = _engine(exp, engine)
    options = options.resolved(exp)
    metrics = options.metric_objects()
    _source_checks.check_source(eng, exp)
    design = _design(eng, exp, options.unit, options.cost)
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
        source=_source_text(exp, design),
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


def _design(
    eng: Engine, exp: Experiment, unit: str | None, cost: CostSource = "source"
) -> _scope.Design:
    """How ``exp`` is read per ``unit``; with ``cost="recompute"`` each generation's cost is
    priced from its tokens (a price table on ``eng``), as every analysis of that cost must."""
    per_request = _scope.design_of(exp, unit).per_request
    design = _scope.design_of(
        exp, unit, identity_map=not per_request and _scope.needs_identity_map(eng)
    )
    if cost == "recompute":
        from ..pricing import price_table

        design = dataclasses.replace(design, prices=price_table(eng))
    return design


def _cost(cost: Any) -> CostSource:
    """``cost`` checked as :meth:`Experiment.analyze` checks it (by :class:`AnalysisOptions`:
    the same values and messages)."""
    return AnalysisOptions(cost=cost).cost


def _source_text(exp: Experiment, design: _scope.Design) -> str:
    text = exp.source_text
    if design.prices is not None:
        from ..pricing import prices_version

        text += f"; cost recomputed from provider, model and tokens with {prices_version()}"
    if design.per_request:
        text += "; each generation is its own unit"
    if design.identity_map:
        text += "; units resolved through the distinct_id → person_id pairs of the export"
    return text


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
    eng = _engine(exp, engine)
    _source_checks.check_source(eng, exp)
    design = _design(eng, exp, None)
    window = (as_utc(start, "start"), as_utc(end, "end"))
    rows = eng.fetch(
        _scope.assignment_counts_sql(exp, design), _scope.params(exp, *window, multiple)
    )
    counts = {r[0]: int(r[1]) for r in rows}
    health = _build.health(exp, counts, sum(int(r[2]) for r in rows), multiple, window)
    return dataclasses.replace(health, source=_source_text(exp, design))


def assigned_units(
    exp: Experiment, *, multiple: Literal["exclude", "first_seen"] = "exclude"
) -> pd.DataFrame:
    """One row per exposed unit: ``unit, variant, first_exposure, variants_seen``."""
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    design = _design(exp.ws.engine, exp, None)
    return exp.ws.sql(
        _scope.assigned_units_sql(exp, design), _scope.params(exp, None, None, multiple)
    )


def _no_quantile(m: Metric) -> None:
    if m.kind == "quantile":
        raise InvalidArgumentError(
            f"metric {m.name!r} is a quantile over events; it has no per-unit or cumulative "
            f"value here. Use the mean metric of the same column (e.g. 'latency')."
        )


def unit_values(
    exp: Experiment,
    metric: str | Metric,
    *,
    multiple: Literal["exclude", "first_seen"] = "exclude",
    start: Any = None,
    end: Any = None,
    cost: CostSource = "source",
) -> pd.DataFrame:
    """Per-unit values of one metric: ``unit, variant, value, num, den`` (a unit's sum or
    count is ``num`` with ``den`` 1; a mean or rate is ``num / den``).

    The units are those the metric's test counts (its ``n``). Sum and count metrics keep every
    exposed unit, 0 without events; a sum's unit whose every event lacks a value (every
    generation unpriced) has ``value`` and ``num`` NaN: its cost is unknown, not 0 (the test
    reads its sum as 0, and the health check counts those events, withholding the verdict
    above 5 % of an arm's). Rate metrics (a ratio of sums over units) keep every
    exposed unit too: one without a denominator (no generation for ``error_rate``, no
    applicable evaluation for ``pass_rate``) has ``num = den = 0`` and ``value`` NaN (no rate,
    not 0). Mean metrics leave such units out, as their test does (their mean is undefined).
    Per request (each generation a unit), a generation without a value (an unpriced one) is
    left out, as the test leaves it out. ``$multiple`` units are excluded. ``cost`` as in
    :meth:`Experiment.analyze <promptab_nb.experiments.Experiment.analyze>`.
    """
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    cost = _cost(cost)
    (m,) = resolve([metric])
    _no_quantile(m)
    params = _scope.params(exp, as_utc(start, "start"), as_utc(end, "end"), multiple)
    design = _design(exp.ws.engine, exp, None, cost)
    inner = _scope.per_unit_sql(exp, [m], design)
    # (a rate's test counts the units without a denominator: they add 0 to both sums)
    value = "CASE WHEN d0 > 0 THEN n0 / d0 END" if m.agg in ("mean", "rate") else "n0"
    num = "n0"
    kept = "" if m.agg == "rate" else " AND d0 > 0"
    if design.per_request and m.agg == "sum":
        # each generation is a unit: one without a value (unpriced) has none, not a sum of 0;
        # analyze() leaves it out too
        kept += " AND x0 = 0"
    elif m.agg == "sum":
        # a unit whose every event lacks a value (every generation unpriced) has no sum, not
        # a sum of 0; its test still counts it (the health check counts the missing values)
        num = value = "CASE WHEN t0 > 0 AND x0 = t0 THEN NULL ELSE n0 END"
    return exp.ws.sql(
        f"""SELECT unit, variant, {value} AS value, {num} AS num, d0 AS den
            FROM ({inner}) WHERE variant <> '{MULTIPLE}'{kept} ORDER BY variant, unit""",
        params,
    )


def compare_all(
    exp: Experiment,
    metric: str | Metric,
    *,
    correction: Correction = "holm",
    alpha: float = 0.05,
    cuped: bool | float | None = None,
    engine: Engine | None = None,
) -> AllPairs:
    """Every pair of arms on ``metric``: Welch t tests on each arm's mean and the per-unit
    variance its test uses, two-sided, p-values adjusted across pairs by ``correction``
    (arms under the minimum sample left out); see
    :meth:`Experiment.compare_all <promptab_nb.experiments.Experiment.compare_all>`."""
    from .estimators import metric_arms

    opts = AnalysisOptions(metrics=(metric,), cuped=cuped, alpha=alpha)
    ((est, arms),) = metric_arms(exp, opts, _engine(exp, engine))
    return _build.all_pairs_of(est, arms, list(exp.variants), correction=correction)


def mann_whitney(
    exp: Experiment,
    metric: str | Metric,
    *,
    alternative: Alternative = "two-sided",
    multiple: Literal["exclude", "first_seen"] = "exclude",
    start: Any = None,
    end: Any = None,
    cost: CostSource = "source",
    engine: Engine | None = None,
) -> MannWhitneyResult:
    """Mann–Whitney U of each treatment against the control on the per-unit values of
    ``metric`` (those of :func:`unit_values` with a value: a user priced nowhere has no
    cost, so it is left out and counted in the note, not ranked as 0), from rank sums the
    engine computes: per arm pair only the units, the treatment's rank sum and the tie term
    come back.

    Returns
    -------
    MannWhitneyResult
        One :class:`~promptab_nb.stats.MannWhitney` per treatment (U, probability of
        superiority, z, p-value of ``alternative``), equal to
        ``scipy.stats.mannwhitneyu(treatment, control, method="asymptotic")``.

    Raises
    ------
    InvalidArgumentError
        A quantile metric (it has no per-unit value), an unknown ``alternative`` or ``cost``.
    """
    from .. import stats as st
    from ..results import MannWhitneyResult
    from ._estimator_base import missing_rows
    from .estimators import rank_sums, units_without_values

    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    cost = _cost(cost)
    (m,) = resolve([metric])
    _no_quantile(m)
    eng = _engine(exp, engine)
    _source_checks.check_source(eng, exp)
    design = _design(eng, exp, None, cost)
    params = _scope.params(exp, as_utc(start, "start"), as_utc(end, "end"), multiple)
    with eng.unit_rows(_scope.per_unit_sql(exp, [m], design), params) as table:
        scope = Scope(eng, exp, params, table, 0, design)
        arms = rank_sums(scope, m, exp.control)
        events = {v: (int(n or 0), int(x or 0)) for v, n, x in missing_rows(scope, m)}
        blank = units_without_values(scope, m)
    tests: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for t in exp.treatments:
        arm = arms.get(t)
        pair = (exp.control, t)
        counts = [events.get(k, (0, 0)) for k in pair]
        too_many = _missing.too_many(
            m, counts, cost=cost, consequence="not compared, the sums would read them as 0"
        )
        # (per user a sum reads a missing value as 0; per request it is left out, not ranked)
        summed = m.agg == "sum" and not design.per_request
        worst = max((x / n for n, x in counts if n), default=0.0) if summed else 0.0
        if m.agg == "sum" and arm is not None and not any(n for n, _ in counts):
            # as analyze(): sums over no event in either arm (all 0, "p = 1") measure nothing
            notes[t] = _missing.NOTHING_MEASURED
            tests[t] = None
        elif too_many:
            # as analyze(): the per-unit sums read a missing value as 0, so no test on them
            notes[t] = too_many
            tests[t] = None
        elif arm is None or arm.stats is None:
            held = (
                f"{exp.control} {arm.n_control}, {t} {arm.n_treatment}"
                if arm is not None
                else f"{t} 0"
            )
            notes[t] = f"not enough units with a value to compare (fewer than 2: {held})"
            tests[t] = None
        else:
            tests[t] = st.mann_whitney_ranks(arm.stats, alternative=alternative)
            if worst:  # (the share analyze() notes under the limit, then how it was ranked)
                notes[t] = _rank_missing_note(m, worst, [(k, blank.get(k, (0, 0))) for k in pair])
    return MannWhitneyResult(
        experiment=exp.name,
        metric=m.name,
        control=exp.control,
        unit="request" if design.per_request else "user",
        alternative=alternative,
        tests=tests,
        notes=notes,
        cost=cost,
    )


def _rank_missing_note(m: Metric, worst: float, units: list[tuple[str, tuple[int, int]]]) -> str:
    """The rank test's note on a share of events without a value under the limit: analyze()'s
    words, then the units left out per arm (valued nowhere) and how a partly valued one ranks."""
    cost = m.column == "cost_usd"
    what = "unpriced (no cost)" if cost else f"without {m.column}"
    parts = [f"{worst:.1%} of an arm's generations are {what}"]
    if any(nowhere for _, (nowhere, _) in units):
        held = ", ".join(f"{k} {nowhere:,}" for k, (nowhere, _) in units)
        who = "users priced nowhere" if cost else f"users without any {m.column}"
        unknown = "cost" if cost else "sum"
        parts.append(f"{who} ({held}) are left out, not ranked as 0 (their {unknown} is unknown)")
    if any(partly for _, (_, partly) in units):
        parts.append(
            "a partly priced user ranks by the sum of its priced generations"
            if cost
            else f"a user missing some {m.column} ranks by the sum of those it has"
        )
    return parts[0] + ": " + "; ".join(parts[1:]) if len(parts) > 1 else parts[0]


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
    _no_quantile(m)
    checked = AnalysisOptions(
        metrics=(m,), unit=unit, alpha=alpha, relative=relative, multiple=multiple, cost=cost,
        start=start, end=end,
    ).resolved(exp)  # fmt: skip
    eng = _engine(exp, engine)
    _source_checks.check_source(eng, exp)
    params = _scope.params(exp, checked.start, checked.end, multiple)
    params.update(freq=freq, now=_over_time.now_bound())
    design = _design(eng, exp, unit, checked.cost)
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
