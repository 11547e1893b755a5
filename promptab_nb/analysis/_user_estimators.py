"""Per-user estimators: a Welch t test on per-user values (:class:`UserMean`), a ratio of sums
with the delta method (:class:`UserRatio`), and their CUPED forms (:class:`UserCuped`,
:class:`UserRatioCuped`) with the pre-exposure covariate's SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..stats import arms as arm_ci
from ..stats._sums import centred_sums, shifted_total
from . import _scope
from ._arm_sums import (
    RATIO_PAIRS,
    RATIO_SUMS,
    SUMS,
    PooledCov,
    PooledRatioCov,
    cov_stats,
    pair_sums,
    pooled_arms,
    pooled_theta_mean,
    pooled_total,
    ratio_cov_of,
    ratio_cov_stats,
    ratio_of,
    ratio_theta_mean,
    unadjusted_ratio,
    winsorized_sql,
)
from ._estimator_base import (
    MULTIPLE,
    NAN,
    Arm,
    Estimator,
    Scope,
    first_sum,
    linear,
    missing_rows,
)
from ._estimator_base import make_arm as _arm
from ._estimator_base import with_missing as _with_missing
from ._rank_sums import unit_value

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..options import AnalysisOptions


class UserMean(Estimator):
    """Welch t test on per-user values (sums, counts or per-user means), optionally winsorized."""

    test_name = "welch"
    winsorizes = True

    def _value(self, scope: Scope) -> tuple[str, str]:
        return unit_value(self.metric, scope.i)

    def arms(self, scope: Scope) -> dict[str, Any]:
        value, where = self._value(scope)
        value = winsorized_sql(scope, self.options, value, value, where)
        rows = scope.engine.fetch(
            f"SELECT variant, count(*), {SUMS.format(v='v', c='c')}, min(c) FROM ("
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


class UserRatio(Estimator):
    """Ratio of sums per arm (e.g. errors / generations), delta-method variance over users."""

    test_name = "ratio delta method"

    def arms(self, scope: Scope) -> dict[str, Any]:
        n, d = f"n{scope.i}", f"d{scope.i}"
        rows = scope.engine.fetch(
            f"""SELECT variant, count(*), {RATIO_SUMS}, min(cn), min(cd)
                FROM (SELECT variant, {n} AS n, {d} AS d,
                             avg({n}) OVER (PARTITION BY variant) AS cn,
                             avg({d}) OVER (PARTITION BY variant) AS cd
                      FROM {scope.units} WHERE variant <> '{MULTIPLE}') AS w
                GROUP BY variant"""
        )
        return {r[0]: _arm(r[1], self.from_sums, *r[2:], mean=ratio_of) for r in rows}

    @staticmethod
    def from_sums(
        n: int, s: Any, ss: Any, d: Any, dd: Any, nd: Any, *shifted: Any
    ) -> st.RatioStats:
        """The arm from the raw sums of numerators and denominators and, when given, the same
        five sums of each minus a reference near its mean, then those two references (the
        centred moments, and totals that keep the means' digits)."""
        vals, centred = pair_sums(n, (s, ss, d, dd, nd), shifted)
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
        y = winsorized_sql(scope, self.options, y, *unit_value(m, i))
        rows = scope.engine.fetch(
            f"""
            WITH {_pre_cte(scope, m, f"{pre_value} AS x")},
            w AS (
                SELECT u.variant, {y} AS n, coalesce(pre.x, 0) AS d
                FROM {scope.units} u LEFT JOIN pre USING (unit)
                WHERE u.variant <> '{MULTIPLE}' AND u.d{i} > 0
            )
            SELECT variant, count(*), {RATIO_SUMS}, min(cn), min(cd)
            FROM (SELECT w.*, avg(n) OVER (PARTITION BY variant) AS cn,
                         avg(d) OVER (PARTITION BY variant) AS cd FROM w) AS c
            GROUP BY variant
            """,
            _pre_params(scope, self.options),
        )
        arms = {r[0]: _arm(r[1], cov_stats, *r[2:], mean=first_sum) for r in rows}
        arms = pooled_arms(arms, pooled_theta_mean, PooledCov)
        return _with_missing(arms, missing_rows(scope, m))

    def covariate_note(self, arms: dict[str, Arm]) -> str | None:
        total = pooled_total(arms)
        if total is None:
            return None
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
            for a, b in (RATIO_PAIRS if pair else [(k, k) for k in range(4)])
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
        arms = {r[0]: _arm(r[1], ratio_cov_stats, *r[2:], mean=ratio_cov_of) for r in rows}
        return pooled_arms(arms, ratio_theta_mean, PooledRatioCov)

    def summary(self, arm: Any) -> tuple[float, float, float]:
        return super().summary(unadjusted_ratio(arm))

    @staticmethod
    def _rate(arm: Arm) -> Any:
        return unadjusted_ratio(arm.stats)

    def covariate_note(self, arms: dict[str, Arm]) -> str | None:
        flat = super().covariate_note(arms)
        stats = [a.stats for a in arms.values() if a.stats is not None]
        # (θ is 0 without pre-exposure denominators: ratio_theta_mean)
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
