"""Cumulative analysis per period: one query of cumulative per-(period, arm) sums → tests."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from .. import stats as st
from .._sql import ident
from ..errors import PromptabError
from ..options import AnalysisOptions, CostSource, Unit
from ..results import OverTimeResult
from ..stats.guards import guard
from . import _missing, _scope
from ._estimator_base import Arm
from ._relative import agree_relative_interval
from .estimators import Estimator, RequestProportion, UserMean, UserRatio, estimator_for

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..metrics import Metric

NAN = math.nan


# The periods of the data (shared by the per-user and per-request queries): each exposure's and
# event's period, the last never after $now (a day after the analysis): an event dated
# 9999-12-31 joins the last real period instead of adding millennia of empty ones. Only periods
# that hold an exposure or an event: bounded by the data, not by its span.
_PERIODS = """
    times AS (
        SELECT first_ts AS t FROM assigned WHERE isfinite(first_ts)
        UNION ALL SELECT ts FROM {alias} WHERE isfinite(ts)
    ),
    cap AS (SELECT date_trunc($freq, least(max(t), CAST($now AS TIMESTAMPTZ))) AS last_p
            FROM times),
    periods AS (SELECT DISTINCT least(date_trunc($freq, t), last_p) AS p FROM times, cap)
"""


def sql(exp: Experiment, m: Metric, design: _scope.Design | None = None, unit: str = "user") -> str:
    """Per (period end, variant): units, sums of the per-unit values (or numerator and
    denominator sums for ratios) over events seen by the end of the period, then the same sums
    of the values (numerators) and denominators minus their arm's mean in that period and those
    two means (which keep the variances' digits: :func:`_stats_of`). ``unit="request"``: each
    event is a unit, as ``analyze(unit="request")`` reads it (:func:`_request_sql`)."""
    alias = "gen" if m.source == "generations" else "ev"
    if unit == "request":
        return _request_sql(exp, m, alias, design)
    num, den = _scope.per_unit_columns(m, "e")
    value = f"e.{ident(m.column)}"
    # Same populations as analyze(): per-unit means need an event; sums and ratios count every
    # exposed unit (their zeros add nothing to the sums).
    if m.agg == "mean":
        units, v = "d > 0", "CASE WHEN d > 0 THEN n / d END"
        moments = "sum(n / d) FILTER (WHERE d > 0), sum((n / d) ^ 2) FILTER (WHERE d > 0)"
    else:
        units, v, moments = "true", "n", "sum(n), sum(n * n)"
    return f"""
    {_scope.ctes(exp, [m], design)},
    {_PERIODS.format(alias=alias)},
    ev_p AS (SELECT unit, least(date_trunc($freq, ts), last_p) AS p, {num} AS n, {den} AS d,
                    count(*) AS t, count(*) - count({value}) AS x
             FROM {alias} e, cap WHERE isfinite(e.ts) GROUP BY ALL),
    grid AS (
        SELECT a.unit, a.variant, pr.p FROM assigned a JOIN periods pr
          ON date_trunc($freq, a.first_ts) <= pr.p
        WHERE a.variant <> '{_scope.MULTIPLE}' AND isfinite(a.first_ts)
    ),
    cum AS (
        SELECT g.unit, g.variant, g.p,
               sum(coalesce(ev_p.n, 0)) OVER w AS n,
               sum(coalesce(ev_p.d, 0)) OVER w AS d,
               sum(coalesce(ev_p.t, 0)) OVER w AS t, sum(coalesce(ev_p.x, 0)) OVER w AS x
        FROM grid g LEFT JOIN ev_p USING (unit, p)
        WINDOW w AS (PARTITION BY g.unit ORDER BY g.p)
    ),
    val AS (SELECT cum.*, {v} AS v FROM cum),
    cen AS (
        SELECT val.*, avg(v) OVER arm_p AS cv, avg(d) OVER arm_p AS cd, avg(n) OVER arm_p AS cn
        FROM val WINDOW arm_p AS (PARTITION BY variant, p)
    )
    SELECT p + CAST('1 ' || $freq AS INTERVAL) AS period_end, variant,
           count(*) FILTER (WHERE {units}) AS units, {moments},
           sum(d), sum(d * d), sum(n * d), count(*) AS exposed, sum(t), sum(x),
           sum(v - cv), sum((v - cv) * (v - cv)), sum(d - cd), sum((d - cd) * (d - cd)),
           sum((n - cn) * (d - cd)), min(cv), min(cd)
    FROM cen GROUP BY ALL ORDER BY period_end, variant
    """


def _request_sql(exp: Experiment, m: Metric, alias: str, design: _scope.Design | None) -> str:
    """:func:`sql` per request, in the same columns: per (period end, variant) the events with a
    value (``units``), the sum and sum of squares of their values, then the events and those
    without a value, over the events seen by the end of the period, then the sums of the values
    minus their arm's mean over all periods and that mean (the ratio sums are NULL)."""
    col = f"e.{ident(m.column)}"
    value = f"CAST({col} AS INTEGER)" if m.agg == "rate" else f"CAST({col} AS DOUBLE)"
    return f"""
    {_scope.ctes(exp, [m], design)},
    {_PERIODS.format(alias=alias)},
    ev_p AS (SELECT variant, least(date_trunc($freq, ts), last_p) AS p, count(v) AS k,
                    sum(v) AS s, sum(v * v) AS ss, count(*) AS t, count(*) - count(v) AS x,
                    sum(v - c) AS ds, sum((v - c) * (v - c)) AS dss, min(c) AS c
             FROM (SELECT e.variant, e.ts, {value} AS v,
                          avg({value}) OVER (PARTITION BY e.variant) AS c
                   FROM {alias} e WHERE isfinite(e.ts)) AS r, cap
             GROUP BY ALL),
    arms AS (SELECT DISTINCT variant FROM assigned WHERE variant <> '{_scope.MULTIPLE}'),
    cum AS (
        SELECT a.variant, pr.p,
               sum(coalesce(ev_p.k, 0)) OVER w AS k, sum(ev_p.s) OVER w AS s,
               sum(ev_p.ss) OVER w AS ss, sum(coalesce(ev_p.t, 0)) OVER w AS t,
               sum(coalesce(ev_p.x, 0)) OVER w AS x, sum(ev_p.ds) OVER w AS ds,
               sum(ev_p.dss) OVER w AS dss, max(ev_p.c) OVER w AS c
        FROM arms a CROSS JOIN periods pr
        LEFT JOIN ev_p ON ev_p.variant = a.variant AND ev_p.p = pr.p
        WINDOW w AS (PARTITION BY a.variant ORDER BY pr.p)
    )
    SELECT p + CAST('1 ' || $freq AS INTERVAL) AS period_end, variant, k AS units, s, ss,
           NULL, NULL, NULL, t AS exposed, t, x, ds, dss, NULL, NULL, NULL, c, NULL
    FROM cum ORDER BY period_end, variant
    """


def _withheld(
    m: Metric, c: tuple[Any, ...] | None, t: tuple[Any, ...] | None, cost: CostSource
) -> str | None:
    """Why a period's p-values are withheld, as analyze() withholds them: under
    :data:`MIN_UNITS_PER_ARM` exposed units in an arm, or a sum metric with more than
    :data:`._missing.MAX_MISSING_SHARE` of an arm's events without a value (read as 0)."""
    n_c, n_t = (int(r[2]) if r is not None else 0 for r in (c, t))
    g = guard(n_c, n_t)
    if not g:
        return g.reason
    counts = ((int(r[9] or 0), int(r[10] or 0)) for r in (c, t) if r)
    return _missing.too_many(m, counts, cost=cost, consequence="the sums would read them as 0")


def _missing_share(est: Estimator, pair: dict[str, Arm]) -> float:
    """The larger share of the two arms' events without a value (0 without any), as analyze()
    notes it; NaN where analyze() does not count them (a rate per user)."""
    if est.options.unit == "user" and est.metric.agg not in ("sum", "mean"):
        return NAN
    return max((_missing.share(a) for a in pair.values()), default=0.0)


def now_bound() -> dt.datetime:
    """The latest period start :func:`sql` shows (``$now``): a day after now, UTC."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def result(
    exp: Experiment,
    m: Metric,
    rows: list[Any],
    *,
    alpha: float,
    relative: bool,
    freq: str,
    unit: Unit = "user",
    cost: CostSource = "source",
) -> OverTimeResult:
    """Cumulative comparison per period from the rows of :func:`sql` (of the same ``unit``),
    each period tested as ``analyze`` tests the metric per ``unit`` (without CUPED or
    winsorizing)."""
    est: Estimator = estimator_for(
        m, AnalysisOptions(alpha=alpha, relative=relative, unit=unit, cost=cost)
    )

    def stats_of(r: tuple[Any, ...]) -> Any:
        _, _, units, s, ss, d, dd, nd, _exposed, _events, _missing = r[:11]
        sv, svv, sd, sdd, snd, cv, cd = r[11:18]
        if int(units or 0) < 2:
            return None
        if isinstance(est, RequestProportion):
            return st.PropStats(int(units), int(round(s or 0)))
        if isinstance(est, UserRatio):
            # (a ratio's per-unit value is its numerator: sv, svv and cv are the numerator's)
            return est.from_sums(int(units), s, ss, d, dd, nd, sv, svv, sd, sdd, snd, cv, cd)
        return UserMean.from_sums(int(units), s, ss, sv, svv, cv)

    by_period: dict[Any, dict[str, tuple[Any, ...]]] = {}
    for r in rows:
        by_period.setdefault(r[0], {})[r[1]] = r
    out = []
    control = exp.control
    for period, arms in sorted(by_period.items()):
        c = stats_of(arms[control]) if control in arms else None
        for key in exp.treatments:
            t = stats_of(arms[key]) if key in arms else None
            pair = {
                k: Arm(int(r[2] or 0), None, int(r[9] or 0), int(r[10] or 0))
                for k, r in ((control, arms.get(control)), (key, arms.get(key))) if r
            }  # fmt: skip
            share = _missing_share(est, pair)
            rec: dict[str, Any] = dict(
                period_end=period,
                variant=key,
                n_control=int(arms[control][2]) if control in arms else 0,
                n_treatment=int(arms[key][2]) if key in arms else 0,
                estimate=NAN,
                ci_low=NAN,
                ci_high=NAN,
                p_value=NAN,
                note=_withheld(m, arms.get(control), arms.get(key), cost),
                # (analyze() says a share under the limit beside the p-value; `note` withholds)
                missing_share=share,
                missing_note=(_missing.share_words(est.metric, share) if share > 0 else None),
            )
            if c is not None and t is not None:
                try:
                    ab = est.test(c, t, relative=False)
                    shown = est.test(c, t, relative=True) if relative else ab
                    rec.update(
                        estimate=shown.estimate,
                        ci_low=shown.ci_low,
                        ci_high=shown.ci_high,
                        p_value=ab.p_value,
                    )
                    if relative:
                        # as analyze(): a delta-method CI that disagrees with the p-value is
                        # replaced by the lifts the test does not reject (Fieller)
                        ends = {"rel_ci_low": shown.ci_low, "rel_ci_high": shown.ci_high}
                        agree_relative_interval(est, c, t, ab, ends)
                        rec.update(ci_low=ends["rel_ci_low"], ci_high=ends["rel_ci_high"])
                    if est.sequential_note is None:
                        sq = st.sequential(c, t, alpha=alpha)
                        rec.update(
                            diff=ab.estimate,
                            seq_ci_low=sq.ci_low,
                            seq_ci_high=sq.ci_high,
                            seq_p_value=sq.p_value,
                        )
                except PromptabError:
                    pass
            empty = _missing.unmeasured_note(est, pair)
            if not empty and _missing.nothing_measured(est, pair.get(control), pair.get(key)):
                empty = _missing.NOTHING_MEASURED  # (no event by then: sums of 0, p = 1)
            if empty:  # as analyze(): an arm's sums over unpriced generations measure nothing
                rec.update(estimate=NAN, ci_low=NAN, ci_high=NAN, note=empty)
                rec.update({k: NAN for k in ("diff", "seq_ci_low", "seq_ci_high") if k in rec})
            if rec["note"]:  # as analyze(): no p-value under the minimum sample or on bad sums
                rec.update(p_value=NAN, seq_p_value=NAN)
            out.append(rec)
    return OverTimeResult(
        experiment=exp.name,
        metric=m,
        relative=relative,
        alpha=alpha,
        freq=freq,
        records=tuple(out),
        unit=unit,
        cost=cost,
    )
