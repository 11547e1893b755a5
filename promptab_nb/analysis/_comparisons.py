"""Comparisons beside :func:`analyze` on one metric: its per-unit values (:func:`unit_values`),
every pair of arms (:func:`compare_all`) and the Mann–Whitney U test on those per-unit values
(:func:`mann_whitney`); re-exported by :mod:`promptab_nb.analysis`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .._checks import as_utc, one_of
from ..metrics import Metric, resolve
from ..options import AnalysisOptions
from . import _build, _missing, _scope, _source_checks
from ._scope import MULTIPLE
from ._setup import cost_source, design_for, engine_for, no_quantile
from .estimators import Scope

if TYPE_CHECKING:
    import pandas as pd

    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..options import Alternative, Correction, CostSource
    from ..results import MannWhitneyResult
    from ..stats.pairs import AllPairs


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
    cost = cost_source(cost)
    (m,) = resolve([metric])
    no_quantile(m)
    params = _scope.params(exp, as_utc(start, "start"), as_utc(end, "end"), multiple)
    design = design_for(exp.ws.engine, exp, None, cost)
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
    ((est, arms),) = metric_arms(exp, opts, engine_for(exp, engine))
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
    cost = cost_source(cost)
    (m,) = resolve([metric])
    no_quantile(m)
    eng = engine_for(exp, engine)
    _source_checks.check_source(eng, exp)
    design = design_for(eng, exp, None, cost)
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
    parts = [_missing.share_words(m, worst)]
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
