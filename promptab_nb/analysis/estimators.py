"""Estimators: one class per metric kind × unit × variance reduction.

Each estimator owns the four things that used to be spread over the analysis:

1. the SQL of its per-arm sufficient statistics (run by any :class:`~promptab_nb.engines.base.Engine`
   on the per-unit table or the in-scope events);
2. the typed statistics object each arm becomes (:class:`~promptab_nb.stats.MeanStats`,
   :class:`~promptab_nb.stats.RatioStats`, :class:`~promptab_nb.stats.PropStats`,
   :class:`~promptab_nb.stats.CovStats` or a :class:`QuantileSample`);
3. its test (absolute and relative), and which sequential / Bayesian form applies;
4. the sentence the methods section prints.

:func:`estimator_for` picks the class for a metric and the options. Adding a metric kind is one
class here (and its tests in ``tests/analysis/test_estimators.py``); the shared base is in
``_estimator_base.py`` and the quantile kinds in ``_quantile_estimators.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..errors import PromptabError
from ..stats import arms as arm_ci
from ..stats._sums import centred_cross, centred_sums, shifted_total
from . import _scope
from ._estimator_base import (
    MULTIPLE,
    NAN,
    OVERFLOW_NOTE,
    Arm,
    Estimator,
    QuantileSample,
    Scope,
    first_sum,
    linear,
    missing_rows,
)
from ._estimator_base import make_arm as _arm
from ._estimator_base import with_missing as _with_missing
from ._quantile_estimators import ClusteredQuantile, Quantile

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..options import AnalysisOptions


# -- per user -------------------------------------------------------------------------------------
class UserMean(Estimator):
    """Welch t test on per-user values (sums, counts or per-user means), optionally winsorized."""

    test_name = "welch"
    winsorizes = True

    def _value(self, scope: Scope) -> tuple[str, str]:
        return unit_value(self.metric, scope.i)

    def arms(self, scope: Scope) -> dict[str, Any]:
        value, where = self._value(scope)
        value = _winsorized(scope, self.options, value, value, where)
        rows = scope.engine.fetch(
            f"SELECT variant, count(*), {_SUMS.format(v='v', c='c')}, min(c) FROM ("
            f"SELECT variant, {value} AS v, avg({value}) OVER (PARTITION BY variant) AS c "
            f"FROM {scope.units} WHERE {where}) AS w GROUP BY variant"
        )
        arms = {r[0]: _arm(r[1], self.from_sums, *r[2:7], mean=first_sum) for r in rows}
        return _with_missing(arms, missing_rows(scope, self.metric))

    @staticmethod
    def from_sums(
        n: int, s: Any, ss: Any, ds: Any = None, dss: Any = None, c: Any = None
    ) -> st.MeanStats:
        """The arm of ``n`` units with sum ``s`` and sum of squares ``ss`` of the values and,
        when given, the sums ``ds``, ``dss`` of the values minus ``c`` (a reference near their
        mean), which keep the mean's and the variance's digits
        (:func:`~promptab_nb.stats._sums.centred_sums`)."""
        centred = centred_sums(n, ds, dss)
        total = shifted_total(n, s, ds, c)
        return st.MeanStats(int(n), total, float(ss or 0.0), centred=centred)

    def _methods(self) -> str:
        return "Welch t test on per-user values"


def _winsorized(
    scope: Scope,
    options: AnalysisOptions,
    value: str,
    pooled: str,
    where: str,
    source: str | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    """``value`` clamped to the ``options.winsorize`` percentiles of ``pooled`` (the same value,
    unaliased) over the rows of ``source`` (default: the per-unit table ``scope.units``; a query
    taking ``params`` otherwise) that pass ``where``, every arm pooled; ``value`` unchanged
    without winsorizing or without such rows."""
    pct = options.winsorize
    if pct is None:
        return value
    lo, hi = scope.engine.fetch(
        f"SELECT quantile_cont({pooled}, $w_lo), quantile_cont({pooled}, $w_hi) "
        f"FROM {source or scope.units} WHERE {where}",
        {**(params or {}), "w_lo": pct[0] / 100, "w_hi": pct[1] / 100},
    )[0]
    if lo is None:
        return value
    # DOUBLE bounds: a decimal literal would round them to the scale of an integer sum.
    return f"least(greatest({value}, CAST({float(lo)!r} AS DOUBLE)), CAST({float(hi)!r} AS DOUBLE))"


class UserRatio(Estimator):
    """Ratio of sums per arm (e.g. errors / generations), delta-method variance over users."""

    test_name = "ratio delta method"

    def arms(self, scope: Scope) -> dict[str, Any]:
        n, d = f"n{scope.i}", f"d{scope.i}"
        rows = scope.engine.fetch(
            f"""SELECT variant, count(*), {_RATIO_SUMS}, min(cn), min(cd)
                FROM (SELECT variant, {n} AS n, {d} AS d,
                             avg({n}) OVER (PARTITION BY variant) AS cn,
                             avg({d}) OVER (PARTITION BY variant) AS cd
                      FROM {scope.units} WHERE variant <> '{MULTIPLE}') AS w
                GROUP BY variant"""
        )
        return {r[0]: _arm(r[1], self.from_sums, *r[2:], mean=_ratio_of) for r in rows}

    @staticmethod
    def from_sums(
        n: int, s: Any, ss: Any, d: Any, dd: Any, nd: Any, *shifted: Any
    ) -> st.RatioStats:
        """The arm from the raw sums of numerators and denominators and, when given, the same
        five sums of each minus a reference near its mean, then those two references (the
        centred moments, and totals that keep the means' digits)."""
        vals, centred = _pair_sums(n, (s, ss, d, dd, nd), shifted)
        return st.RatioStats(int(n), *vals, centred=centred)

    def summary(self, arm: Any) -> tuple[float, float, float]:
        """(rate, CI): :func:`~promptab_nb.stats.arms.ratio_ci`, the delta method's over users
        or, for a share of events that does not vary across users (e.g. no errors: width 0),
        Wilson's on the arm's pooled events."""
        if arm.den_total == 0:
            return NAN, NAN, NAN
        lo, hi = arm_ci.ratio_ci(arm, alpha=self.options.alpha)
        return float(arm.mean), float(lo), float(hi)

    def covariate_note(self, arms: dict[str, Arm]) -> str | None:
        """The methods note when an arm's CI is Wilson's (:meth:`summary`), else ``None``."""
        flat = [
            k
            for k, a in arms.items()
            if a.stats is not None and arm_ci.is_flat_share(self._rate(a))
        ]
        if not flat:
            return None
        return (
            f"the rate of {', '.join(flat)} does not vary across users (e.g. no events "
            "counted): its CI is Wilson's on the pooled events, which ignores clustering by user"
        )

    @staticmethod
    def _rate(arm: Arm) -> Any:
        """The arm's unadjusted :class:`RatioStats`."""
        return arm.stats

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        return st.ratio_test(
            c, t, alpha=self.options.alpha, relative=relative, alternative=self.alternative
        )

    def _methods(self) -> str:
        return "ratio of sums per arm, delta-method variance over users"


class UserCuped(Estimator):
    """CUPED: the per-user value (winsorized with ``options.winsorize``) adjusted by the same
    metric in the days before exposure (pooled θ), then Welch. Sequential and Bayesian forms
    take the CUPED-adjusted arms (θ pooled over all arms, as GrowthBook adjusts its Bayesian
    results)."""

    test_name = "cuped welch"
    winsorizes = True

    def arms(self, scope: Scope) -> dict[str, Any]:
        m, i = self.metric, scope.i
        pre_value = {
            "sum": "coalesce(sum(p.v), 0)",
            "count": "count(p.v)",
            "mean": "coalesce(avg(p.v), 0)",
        }[m.agg]
        y = f"(u.n{i} / u.d{i})" if m.agg == "mean" else f"u.n{i}"
        # the outcome winsorized as UserMean winsorizes it (the covariate is not)
        y = _winsorized(scope, self.options, y, *unit_value(m, i))
        rows = scope.engine.fetch(
            f"""
            WITH {_pre_cte(scope, m, f"{pre_value} AS x")},
            w AS (
                SELECT u.variant, {y} AS n, coalesce(pre.x, 0) AS d
                FROM {scope.units} u LEFT JOIN pre USING (unit)
                WHERE u.variant <> '{MULTIPLE}' AND u.d{i} > 0
            )
            SELECT variant, count(*), {_RATIO_SUMS}, min(cn), min(cd)
            FROM (SELECT w.*, avg(n) OVER (PARTITION BY variant) AS cn,
                         avg(d) OVER (PARTITION BY variant) AS cd FROM w) AS c
            GROUP BY variant
            """,
            _pre_params(scope, self.options),
        )
        arms = {r[0]: _arm(r[1], _cov_stats, *r[2:], mean=first_sum) for r in rows}
        arms = _pooled(arms, _theta_mean, PooledCov)
        return _with_missing(arms, missing_rows(scope, m))

    def covariate_note(self, arms: dict[str, Arm]) -> str | None:
        stats = [a.stats for a in arms.values() if a.stats is not None]
        if not stats:
            return None
        total = stats[0]
        for s in stats[1:]:
            total = _add(total, s)
        return _nothing_adjusted(self.options) if total.x_var <= 0 else None

    def plain(self, arm: Any) -> st.MeanStats:
        """The CUPED-adjusted arm ``y − θ (x − x̄)`` (θ and x̄ pooled over all arms)."""
        s = arm
        # (means from the totals: PooledCov's own x_mean is the pooled one)
        n, my, mx = s.n, s.y_total / s.n, s.x_total / s.n
        th = getattr(s, "theta", 0.0)
        var = s.y_var + th * th * s.x_var - 2 * th * s.xy_cov
        return linear(n, my - th * (mx - getattr(s, "x_mean", mx)), var)

    def summary(self, arm: Any) -> tuple[float, float, float]:
        centred = arm.centred[0] if arm.centred is not None else None
        return super().summary(st.MeanStats(arm.n, arm.y_total, arm.y_total_sq, centred=centred))

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        return st.cuped(
            c, t, alpha=self.options.alpha, relative=relative, alternative=self.alternative
        )

    def _methods(self) -> str:
        return f"CUPED (pooled θ, {self.options.cuped:g} days before exposure) + Welch"


class UserRatioCuped(UserRatio):
    """CUPED for a ratio metric: numerator and denominator covariates from each user's
    pre-exposure window (tea-tasting's ``RatioOfMeans`` with covariates), then Welch.
    Sequential and Bayesian forms take the adjusted arms."""

    test_name = "ratio cuped welch"

    def arms(self, scope: Scope) -> dict[str, Any]:
        m, i = self.metric, scope.i
        v = [f"u.n{i}", f"u.d{i}", "coalesce(pre.a, 0)", "coalesce(pre.b, 0)"]
        pre = "coalesce(sum(CAST(p.v AS INTEGER)), 0) AS a, count(p.v) AS b"
        # the 4 sums and 10 cross products of the values, then of the values minus each
        # arm's mean of them (the centred moments)
        names = [f"v{k}" for k in range(4)]
        shifted = [f"(v{k} - c{k})" for k in range(4)]
        sums = [
            f"sum({x[a]} * {x[b]})" if pair else f"sum({x[a]})"
            for x in (names, shifted)
            for pair in (False, True)
            for a, b in (_RATIO_PAIRS if pair else [(k, k) for k in range(4)])
        ]
        avgs = ", ".join(f"avg(v{k}) OVER (PARTITION BY variant) AS c{k}" for k in range(4))
        rows = scope.engine.fetch(
            f"""
            WITH {_pre_cte(scope, m, pre)},
            w AS (
                SELECT u.variant, {", ".join(f"{x} AS v{k}" for k, x in enumerate(v))}
                FROM {scope.units} u LEFT JOIN pre USING (unit)
                WHERE u.variant <> '{MULTIPLE}'
            )
            SELECT variant, count(*), {", ".join(sums)}, {", ".join(f"min(c{k})" for k in range(4))}
            FROM (SELECT w.*, {avgs} FROM w) AS c
            GROUP BY variant
            """,
            _pre_params(scope, self.options),
        )
        arms = {r[0]: _arm(r[1], _ratio_cov_stats, *r[2:], mean=_ratio_cov_of) for r in rows}
        return _pooled(arms, _ratio_theta_mean, PooledRatioCov)

    def summary(self, arm: Any) -> tuple[float, float, float]:
        return super().summary(_unadjusted_ratio(arm))

    @staticmethod
    def _rate(arm: Arm) -> Any:
        return _unadjusted_ratio(arm.stats)

    def covariate_note(self, arms: dict[str, Arm]) -> str | None:
        flat = super().covariate_note(arms)
        stats = [a.stats for a in arms.values() if a.stats is not None]
        # (θ is 0 without pre-exposure denominators: _ratio_theta_mean)
        if not stats or any(s.sums[3] for s in stats):
            return flat
        return "; ".join(x for x in (_nothing_adjusted(self.options), flat) if x)

    def plain(self, arm: Any) -> st.MeanStats:
        theta = getattr(arm, "theta", 0.0) if arm.sums[3] else 0.0
        value, var = st.ratio_cuped_arm(arm, theta, getattr(arm, "x_mean", 0.0))
        return linear(arm.n, value, var)

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        return st.ratio_cuped(
            c,
            t,
            alpha=self.options.alpha,
            relative=relative,
            rel_method="delta",
            alternative=self.alternative,
        )

    def _methods(self) -> str:
        return (
            "ratio CUPED (numerator and denominator over the "
            f"{self.options.cuped:g} days before exposure, pooled θ, delta method) + Welch"
        )


def _nothing_adjusted(options: AnalysisOptions) -> str:
    """The methods note of a CUPED whose covariate is the same for every unit (θ = 0)."""
    return (
        f"its covariate (the metric in the {options.cuped:g} days before exposure) is the "
        "same for every unit (no earlier events?), so CUPED adjusted nothing (θ = 0): the "
        "numbers are those of the unadjusted test"
    )


def _pre_cte(scope: Scope, metric: Metric, values: str) -> str:
    """``[ids AS (…),] pre AS (…)``: per assigned unit, the aggregates ``values`` over the
    metric's events ``p`` (value ``p.v``) in the ``$us`` microseconds before its first exposure
    (parameters: :func:`_pre_params`).

    Events are attributed as the analysis scope attributes them (:func:`_scope.attributed_sql`):
    through the distinct_id → person_id pairs under an identity map, and evaluations through
    the evaluated generation's unit and time. The covariate then finds the units the outcome
    finds: matched on the raw ids, a judge's verdicts or an exposure's person_id left it 0 and
    CUPED silently equal to the unadjusted test. It measures what the outcome measures: only
    the experiment's prompt (``$prompt``), and the recomputed cost under ``cost="recompute"``."""
    rows = _scope.attributed_sql(scope.design, metric.source, metric.column)
    return f"""{_scope.ids_cte(scope.design)}pre AS (
                SELECT u.unit, {values}
                FROM {scope.units} u JOIN ({rows}) p ON p.unit = u.unit
                WHERE p.ts < u.first_ts AND date_diff('microsecond', p.ts, u.first_ts) <= $us
                GROUP BY u.unit
            )"""


def _pre_params(scope: Scope, options: AnalysisOptions) -> dict[str, Any]:
    """The parameters of :func:`_pre_cte`: the window (``$us``) and the scope's ``$prompt``."""
    days = float(options.cuped or 0.0)
    return {"us": int(days * 86400 * 1e6), "prompt": scope.params.get("prompt")}


# -- rank sums (Mann–Whitney U) ---------------------------------------------------------------------
def unit_value(metric: Metric, i: int) -> tuple[str, str]:
    """(value, filter) of one unit's value of ``metric`` (column index ``i``) in the per-unit
    table: ``n / d`` for mean and rate metrics, ``n`` for sums and counts; units of
    ``$multiple`` and units without a value (``d = 0``) are left out — the values of
    ``exp.unit_values(metric)``."""
    n, d = f"n{i}", f"d{i}"
    value = f"({n} / {d})" if metric.agg in ("mean", "rate") else n
    return value, f"variant <> '{MULTIPLE}' AND {d} > 0"


# Per treatment arm: the control's and the treatment's units, the treatment's rank sum (times 2,
# so it stays an integer: average rank = rank() + (ties − 1) / 2) and Σ(t² − 1) over rows, which
# is Σ(t³ − t) over groups of t equal values, ranks pooled over the control and that arm only.
# The control's rows are repeated once per treatment arm (a cross join with the arm list).
_RANK_SUMS = """
    WITH v AS (SELECT variant, CAST({value} AS DOUBLE) AS x FROM {units} WHERE {where}),
    arms AS (SELECT DISTINCT variant AS arm FROM v WHERE variant <> $control),
    pooled AS (
        SELECT variant AS arm, TRUE AS treated, x FROM v WHERE variant <> $control
        UNION ALL
        SELECT arms.arm, FALSE AS treated, c.x
        FROM (SELECT x FROM v WHERE variant = $control) c CROSS JOIN arms
    ),
    ranked AS (
        SELECT arm, treated,
               rank() OVER (PARTITION BY arm ORDER BY x) AS lo,
               count(*) OVER (PARTITION BY arm, x) AS ties
        FROM pooled
    )
    SELECT arm,
           sum(CASE WHEN treated THEN 0 ELSE 1 END),
           sum(CASE WHEN treated THEN 1 ELSE 0 END),
           sum(CASE WHEN treated THEN 2 * lo + ties - 1 ELSE 0 END),
           sum(CAST(ties AS DOUBLE) * ties - 1)
    FROM ranked GROUP BY arm
"""


@dataclass(frozen=True)
class RankArm:
    """One treatment arm against the control for a rank test: both arms' units and, with at
    least 2 in each, the :class:`~promptab_nb.stats.RankSums`."""

    n_control: int
    n_treatment: int
    stats: st.RankSums | None


def rank_sums(scope: Scope, metric: Metric, control: str) -> dict[str, RankArm]:
    """Treatment variant → its rank sums against ``control`` on the per-unit values of
    ``metric`` (:func:`unit_value`), computed by the engine (window functions and a
    ``GROUP BY`` over the per-unit table): only a few numbers per arm come back."""
    value, where = unit_value(metric, scope.i)
    if scope.design.per_request and metric.agg == "sum":
        # each generation a unit: one without a value (unpriced) is left out, not ranked as a
        # sum of 0 (as analyze() and unit_values leave it out)
        where += f" AND x{scope.i} = 0"
    elif metric.agg == "sum":
        # a user whose every event lacks a value (priced nowhere) has no sum (unit_values:
        # NaN), not the lowest rank of all; a partly priced one ranks by its priced events
        where += f" AND NOT {_VALUED_NOWHERE.format(i=scope.i)}"
    rows = scope.engine.fetch(
        _RANK_SUMS.format(value=value, units=scope.units, where=where), {"control": control}
    )
    out = {}
    for arm, nc, nt, twice, ties in rows:
        nc, nt = int(nc or 0), int(nt or 0)
        ok = nc >= 2 and nt >= 2
        stats = st.RankSums(nc, nt, int(twice) / 2, float(ties or 0.0)) if ok else None
        out[str(arm)] = RankArm(nc, nt, stats)
    return out


# A unit with events, none of which has a value (per-unit table columns t{i}, x{i}).
_VALUED_NOWHERE = "(t{i} > 0 AND x{i} = t{i})"


def units_without_values(scope: Scope, metric: Metric) -> dict[str, tuple[int, int]]:
    """Variant → (units whose every event lacks a value, units with some events lacking one)
    of a per-user sum (e.g. users priced nowhere, users partly priced); empty otherwise. The
    first are left out of :func:`rank_sums`; the second rank by their events with a value."""
    if metric.agg != "sum" or scope.design.per_request:
        return {}
    t, x = f"t{scope.i}", f"x{scope.i}"
    rows = scope.engine.fetch(
        f"SELECT variant, count(CASE WHEN {_VALUED_NOWHERE.format(i=scope.i)} THEN 1 END), "
        f"count(CASE WHEN {x} > 0 AND {x} < {t} THEN 1 END) "
        f"FROM {scope.units} WHERE variant <> '{MULTIPLE}' GROUP BY variant"
    )
    return {str(v): (int(a or 0), int(b or 0)) for v, a, b in rows}


# -- per request -----------------------------------------------------------------------------------
class RequestMean(Estimator):
    """Each event is a unit: Welch t test over events (clustering by user ignored), optionally
    winsorized at percentiles of the events pooled over arms."""

    test_name = "welch"
    winsorizes = True

    def _sums(self, scope: Scope) -> list[tuple[Any, ...]]:
        """Per variant: events with a value, sum and sum of squares of the values (winsorized
        at the pooled percentiles with ``options.winsorize``, except for rates), events, events
        without a value."""
        sql = _scope.per_request_sql(scope.exp, self.metric, scope.design)
        v = "v"
        if self.winsorizes and self.metric.agg != "rate":
            v = _winsorized(scope, self.options, v, v, "v IS NOT NULL", f"({sql})", scope.params)
            # (least/greatest skip NULLs in DuckDB and Spark: an event without a value would
            # be clamped to the lower percentile)
            v = f"CASE WHEN v IS NOT NULL THEN {v} END" if v != "v" else v
        # then the sums of the values minus their arm's mean (the centred moments)
        return scope.engine.fetch(
            f"SELECT variant, count(v), sum(v), sum(v * v), count(*), count(*) - count(v), "
            "sum(v - c), sum((v - c) * (v - c)), min(c) "
            f"FROM (SELECT variant, {v} AS v, avg({v}) OVER (PARTITION BY variant) AS c "
            f"FROM ({sql}) AS e) AS w GROUP BY variant",
            scope.params,
        )

    def arms(self, scope: Scope) -> dict[str, Any]:
        rows = self._sums(scope)
        arms = {
            r[0]: _arm(r[1], UserMean.from_sums, r[2], r[3], *r[6:9], mean=first_sum) for r in rows
        }
        return _with_missing(arms, [(r[0], r[4], r[5]) for r in rows])

    def _methods(self) -> str:
        return "Welch t test over events (ignores clustering by user)"


class RequestProportion(RequestMean):
    """Each event is a unit: Fisher's exact test on the 2×2 table of events."""

    test_name = "fisher exact"
    winsorizes = False

    def arms(self, scope: Scope) -> dict[str, Any]:
        rows = self._sums(scope)
        arms = {r[0]: _arm(r[1], _prop_stats, r[2], mean=first_sum) for r in rows}
        return _with_missing(arms, [(r[0], r[4], r[5]) for r in rows])

    def summary(self, arm: Any) -> tuple[float, float, float]:
        lo, hi = arm_ci.prop_ci(arm, alpha=self.options.alpha)
        return float(arm.mean), float(lo), float(hi)

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        return st.fisher_exact(
            c, t, alpha=self.options.alpha, relative=relative, alternative=self.alternative
        )

    def _methods(self) -> str:
        return "Fisher's exact test on the 2×2 table of events"


def _ratio_of(num: float, num_sq: float, den: float, *_: float) -> float:
    """The rate of one unit: its numerator over its denominator (sums of a ratio arm)."""
    return num / den


def _ratio_cov_of(num: float, den: float, *_: float) -> float:
    """The rate of one unit from the sums of a ratio-CUPED arm (numerator, denominator, …)."""
    return num / den


def _cov_stats(n: int, *sums: Any) -> st.CovStats:
    """The CUPED arm from the :data:`_RATIO_SUMS` of ``y`` (as ``n``) and ``x`` (as ``d``) and
    the references (arm means) of ``y`` and ``x``."""
    vals, centred = _pair_sums(n, sums[:5], sums[5:])
    return st.CovStats(n, *vals, centred=centred)


def _pair_sums(
    n: Any, raw: Sequence[Any], shifted: Sequence[Any]
) -> tuple[list[float], tuple[float, float, float] | None]:
    """An arm of two values ``a``, ``b`` from the :data:`_RATIO_SUMS` row: ``raw`` (Σa, Σa²,
    Σb, Σb², Σab) and, when given, ``shifted`` (the same five sums of each value minus its arm
    mean, then the two means). Returns the five sums (the totals rebuilt from the means, which
    keeps their digits: :func:`shifted_total`) and the centred moments (Σ(a − ā)², Σ(b − b̄)²,
    the cross products), ``None`` where the sums do not resolve them."""
    vals = [float(x or 0.0) for x in raw]
    if len(shifted) != 7:
        return vals, None
    sa, saa, sb, sbb, sab, ca, cb = shifted
    vals[0], vals[2] = shifted_total(n, raw[0], sa, ca), shifted_total(n, raw[2], sb, cb)
    a, b, ab = centred_sums(n, sa, saa), centred_sums(n, sb, sbb), centred_cross(n, sa, sb, sab)
    return vals, (a, b, ab) if a is not None and b is not None and ab is not None else None


# Per arm (columns n, d and their arm means cn, cd): the raw sums of a ratio (or CUPED) arm,
# then the same sums of the values minus their arm's mean, which keep the variances' digits
# when the mean is large against the spread (``avg`` over a window: DuckDB and Spark SQL).
_RATIO_SUMS = (
    "sum(n), sum(n * n), sum(d), sum(d * d), sum(n * d), "
    "sum(n - cn), sum((n - cn) * (n - cn)), sum(d - cd), sum((d - cd) * (d - cd)), "
    "sum((n - cn) * (d - cd))"
)
# The sums of one value ``{v}`` and its squares, raw then minus its arm's mean ``{c}``.
_SUMS = "sum({v}), sum({v} * {v}), sum({v} - {c}), sum(({v} - {c}) * ({v} - {c}))"


_RATIO_PAIRS = tuple((a, b) for a in range(4) for b in range(a, 4))


@dataclass(frozen=True)
class PooledCov(st.CovStats):
    """A CUPED arm with θ and the covariate mean pooled over all arms (for :meth:`plain`)."""

    theta: float = 0.0
    x_mean: float = 0.0


@dataclass(frozen=True)
class PooledRatioCov(st.RatioCovStats):
    """A ratio-CUPED arm with θ and the covariate ratio pooled over all arms."""

    theta: float = 0.0
    x_mean: float = 0.0


def _theta_mean(total: Any) -> tuple[float, float]:
    vx = total.x_var
    return (total.xy_cov / vx if vx > 0 else 0.0), total.x_total / total.n


def _ratio_theta_mean(total: Any) -> tuple[float, float]:
    if total.sums[1] == 0 or total.sums[3] == 0:
        return 0.0, 0.0
    return st.ratio_cuped_theta(total), total.sums[2] / total.sums[3]


def _pooled(arms: dict[str, Arm], theta_mean: Any, cls: Any) -> dict[str, Arm]:
    """``arms`` whose statistics carry θ and the covariate mean pooled over all of them."""
    stats = [a.stats for a in arms.values() if a.stats is not None]
    if not stats:
        return arms
    total = stats[0]
    for s in stats[1:]:
        total = _add(total, s)
    theta, x_mean = theta_mean(total)
    out = {}
    for k, a in arms.items():
        s = a.stats
        if s is not None:
            kept = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
            s = cls(**kept, theta=theta, x_mean=x_mean)
        out[k] = dataclasses.replace(a, stats=s)
    return out


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, st.RatioCovStats):
        return a + b
    fields = ("y_total", "y_total_sq", "x_total", "x_total_sq", "xy_total")
    centred = None
    if a.centred is not None and b.centred is not None:
        # Chan et al.: both arms' centred moments plus the between-arm term
        w = a.n * b.n / (a.n + b.n)
        dy, dx = b.y_total / b.n - a.y_total / a.n, b.x_total / b.n - a.x_total / a.n
        between = (w * dy * dy, w * dx * dx, w * dx * dy)
        centred = tuple(p + q + r for p, q, r in zip(a.centred, b.centred, between, strict=True))
    return st.CovStats(a.n + b.n, *(getattr(a, f) + getattr(b, f) for f in fields), centred=centred)


def _unadjusted_ratio(arm: Any) -> st.RatioStats:
    s, c, cc = arm.sums, arm.cross, arm.centred
    # cross order: num·num, num·den, …, den·den at indices 0, 1, 4.
    centred = (cc[0], cc[4], cc[1]) if cc is not None else None
    return st.RatioStats(arm.n, s[0], c[0], s[1], c[4], c[1], centred=centred)


def _ratio_cov_stats(n: int, *sums: Any) -> st.RatioCovStats:
    """The ratio-CUPED arm from its 4 sums and 10 cross products, raw then of the values
    minus their arm's mean (which give the centred cross products), then those 4 means."""
    vals = [float(x or 0.0) for x in sums[:14]]
    centred: tuple[float | None, ...] | None = None
    if len(sums) == 32:
        ds, dc, refs = sums[14:18], sums[18:28], sums[28:]
        vals[:4] = [shifted_total(n, vals[k], ds[k], refs[k]) for k in range(4)]
        centred = tuple(
            centred_sums(n, ds[a], dc[k]) if a == b else centred_cross(n, ds[a], ds[b], dc[k])
            for k, (a, b) in enumerate(_RATIO_PAIRS)
        )
        centred = centred if None not in centred else None
    return st.RatioCovStats(n, tuple(vals[:4]), tuple(vals[4:]), centred=centred)  # type: ignore[arg-type]


def _prop_stats(n: int, successes: Any) -> st.PropStats:
    return st.PropStats(n, int(round(successes or 0)))


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
