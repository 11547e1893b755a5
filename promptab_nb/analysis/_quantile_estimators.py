"""Quantile estimators: a quantile over events, per request (independent events) or per user
(variance clustered by user). Routed to by :func:`~promptab_nb.analysis.estimators.estimator_for`."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

from .. import stats as st
from .._sql import ident
from ..stats.quantiles import quantile_test_min_n
from . import _scope
from ._estimator_base import Arm, Estimator, QuantileSample, Scope, linear


class Quantile(Estimator):
    """Difference of a quantile over independent events with order-statistic CIs
    (Price–Bonett); the Bayesian form takes each arm's quantile and its standard error.

    Two-sided and one-sided alike, an arm under :func:`~promptab_nb.stats.quantiles.quantile_test_min_n`
    values (p95: 72 at alpha 0.05) has no p-value, CI, chance to win, expected loss or
    credible interval, only the estimate and a note."""

    test_name = "quantile order statistics"
    sequential_note = "quantile metrics have no sequential version; fixed-horizon test"
    #: Why the pair last given to :meth:`test` has no Bayesian result (``None``: it has one).
    _bayes_withheld: str | None = None

    @property
    def bayes_note(self) -> str | None:  # type: ignore[override]
        """Why the comparison :meth:`test` last made has no Bayesian result: an arm under
        :func:`~promptab_nb.stats.quantiles.quantile_test_min_n` values, whose clipped order-statistic
        CI understates the standard error the Gaussian posterior would take from
        :meth:`plain` (the test's p-value is withheld, with the reason, for the same arms)."""
        return self._bayes_withheld

    @property
    def q(self) -> float:
        return float(self.metric.q or 0.5)

    def arms(self, scope: Scope) -> dict[str, Any]:
        sql = _scope.per_request_sql(scope.exp, self.metric, scope.design)
        rows = scope.engine.fetch(
            f"SELECT variant, list(v) FILTER (WHERE v IS NOT NULL) FROM ({sql}) GROUP BY variant",
            scope.params,
        )
        out = {}
        for variant, values in rows:
            sample = QuantileSample(np.asarray(values or (), dtype=float), self.q)
            out[variant] = _arm(sample.n, sample)
        return out

    def summary(self, arm: Any) -> tuple[float, float, float]:
        ci = st.quantile_ci(arm.values, arm.q, self.options.alpha)
        return ci.estimate, ci.ci_low, ci.ci_high

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        """The test of treatment − control; it also decides :attr:`bayes_note` for this pair
        (read by the Bayesian comparison that follows), so that no chance to win stands
        where the p-value is withheld."""
        need = quantile_test_min_n(c.q, self.options.alpha)
        self._bayes_withheld = (
            "no Bayesian chance to win, expected loss or credible interval either (same "
            "too-small standard error)"
            if min(c.n, t.n) < need
            else None
        )
        # One-sided too: the same test and minimum sample as two-sided (p95: 72 values per arm),
        # so the one-sided p-value is half the two-sided one. An A/A test rejected 0.2-2.8 % at
        # alpha 0.05 one-sided for p95 with 72 to 200 values per arm; the user-clustered test
        # it used to take refused under 200 and, above, rejected 10 % with 200 values against
        # 2,000 ("greater").
        return st.quantile_test(
            c.values, t.values, c.q, alpha=self.options.alpha, relative=relative,
            alternative=self.alternative,
        )  # fmt: skip

    def plain(self, arm: Any) -> st.MeanStats:
        """The arm's quantile with its standard error, as a linearized mean (for Bayes)."""
        ci = st.quantile_ci(arm.values, arm.q, self.options.alpha)
        z = NormalDist().inv_cdf(1 - self.options.alpha / 2)
        se = (ci.ci_high - ci.ci_low) / (2 * z)
        return linear(arm.n, ci.estimate, se * se * arm.n)

    def _methods(self) -> str:
        return (
            f"difference of the {_q_name(self.q)} over events with order-statistic CIs "
            "(Price–Bonett; events independent)"
        )


class ClusteredQuantile(Quantile):
    """A quantile over events whose variance respects that requests cluster by user (the
    user-clustered delta method of Deng et al. 2018, as GrowthBook's quantile test)."""

    test_name = "quantile clustered by user"

    def arms(self, scope: Scope) -> dict[str, Any]:
        m = self.metric
        alias = "gen" if m.source == "generations" else "ev"
        col = f"{alias}.{ident(m.column)}"
        sql = (
            f"{_scope.ctes(scope.exp, [m], scope.design)} "
            f"SELECT variant, unit, CAST({col} AS DOUBLE) AS v FROM {alias}"
        )
        rows = scope.engine.fetch(
            f"SELECT variant, unit, list(v) FROM ({sql}) WHERE v IS NOT NULL "
            "GROUP BY variant, unit",
            scope.params,
        )
        per: dict[str, list[Any]] = {}
        for variant, _unit, values in rows:
            per.setdefault(variant, []).append(values or ())
        out = {}
        for variant, units in per.items():
            sizes = [len(v) for v in units]
            values = np.fromiter((x for v in units for x in v), dtype=float, count=sum(sizes))
            clusters = np.repeat(np.arange(len(units)), sizes)
            sample = QuantileSample(values, self.q, clusters)
            # the arm's size is its users, the units the minimum-sample guard counts (the
            # sample holds the events): 20 users with 40 requests each are not 800 units
            out[variant] = _arm(len(units), sample)
        return out

    def _ci(self, arm: Any) -> Any:
        return st.clustered_quantile_ci(arm.values, arm.clusters, arm.q, self.options.alpha)

    def summary(self, arm: Any) -> tuple[float, float, float]:
        ci = self._ci(arm)
        return ci.estimate, ci.ci_low, ci.ci_high

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        return st.clustered_quantile_test(
            c.values, c.clusters, t.values, t.clusters, c.q,
            alpha=self.options.alpha, relative=relative, alternative=self.alternative,
        )  # fmt: skip

    def plain(self, arm: Any) -> st.MeanStats:
        ci = self._ci(arm)
        return linear(arm.n, ci.estimate, ci.se * ci.se * arm.n)

    def _methods(self) -> str:
        need = st.quantile_min_events(self.q)
        return (
            f"difference of the {_q_name(self.q)} over events, variance clustered by user "
            "(delta method, Deng et al. 2018, as GrowthBook); no test under "
            f"{need:,} events per arm"
        )


def _arm(n: int, sample: QuantileSample) -> Arm:
    """The arm of ``n`` units: its sample from two values on; one value is its own quantile
    (the arm's mean column shows it, without a CI)."""
    if sample.n >= 2:
        return Arm(n, sample)
    return Arm(n, None, mean=float(sample.values[0]) if sample.n == 1 else float("nan"))


def _q_name(q: float) -> str:
    return f"p{q * 100:g}"


__all__ = ["ClusteredQuantile", "Quantile"]
