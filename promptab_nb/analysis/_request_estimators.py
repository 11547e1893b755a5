"""Per-request estimators: each event is a unit (Welch over events, Fisher's exact test for a
rate)."""

from __future__ import annotations

from typing import Any

from .. import stats as st
from ..stats import arms as arm_ci
from . import _scope
from ._arm_sums import prop_stats, winsorized_sql
from ._estimator_base import (
    Estimator,
    Scope,
    first_sum,
)
from ._estimator_base import make_arm as _arm
from ._estimator_base import with_missing as _with_missing
from ._user_estimators import UserMean


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
            v = winsorized_sql(scope, self.options, v, v, "v IS NOT NULL", f"({sql})", scope.params)
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
        arms = {r[0]: _arm(r[1], prop_stats, r[2], mean=first_sum) for r in rows}
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
