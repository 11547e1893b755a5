"""Mann–Whitney U test (Wilcoxon rank-sum) on per-unit values, with the probability of
superiority as its effect size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._checks import check, one_of
from .._format import pval
from ..errors import InvalidArgumentError
from . import _dist
from ._types import Alternative
from .quantiles import _values


@dataclass(frozen=True)
class MannWhitney:
    """Result of :func:`mann_whitney`.

    ``u`` is the treatment's U statistic (pairs where the treatment value is larger, ties
    counting ½); ``prob_superiority = u / (n_c n_t)`` is P(T > C) + ½ P(T = C) (0.5: no
    difference), ``statistic`` the z score of the normal approximation (NaN when exact).
    """

    u: float
    prob_superiority: float
    p_value: float
    statistic: float
    n_control: int
    n_treatment: int
    alternative: str
    method: str

    def __repr__(self) -> str:
        return (
            f"Mann–Whitney U = {self.u:g}, P(T > C) = {self.prob_superiority:.3f}, "
            f"{pval(self.p_value)} ({self.alternative}, {self.method})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RankSums:
    """Sufficient statistics of a Mann–Whitney U test of one treatment against the control.

    ``rank_sum`` is the sum of the treatment's ranks among both arms pooled (average ranks for
    ties, so it may end in .5); ``tie_term`` is Σ (t³ − t) over the groups of ``t`` equal values
    of the pooled sample (0 without ties). A database computes them with a window function and
    a ``GROUP BY`` over the per-unit rows, so no unit's value leaves it.
    """

    n_control: int
    n_treatment: int
    rank_sum: float
    tie_term: float = 0.0

    def __post_init__(self) -> None:
        for name in ("n_control", "n_treatment"):
            n = getattr(self, name)
            check(n, name, integer=True)
            if n < 2:
                raise InvalidArgumentError(f"{name} == {n!r}, must be >= 2 units")
        nc, nt = self.n_control, self.n_treatment
        low = nt * (nt + 1) / 2
        check(self.rank_sum, "rank_sum", ge=low, le=low + nc * nt)
        n = nc + nt
        check(self.tie_term, "tie_term", ge=0, le=float(n) ** 3 - n)

    @classmethod
    def from_values(
        cls,
        control_values: Sequence[float] | np.ndarray,
        treatment_values: Sequence[float] | np.ndarray,
    ) -> RankSums:
        """The rank sums of two arms' per-unit values (at least 2 finite values per arm)."""
        from scipy.stats import rankdata

        xc = _values(control_values, "control_values")
        xt = _values(treatment_values, "treatment_values")
        pooled = np.concatenate([xt, xc])
        _, counts = np.unique(pooled, return_counts=True)
        ties = float((counts.astype(float) ** 3 - counts).sum())
        return cls(xc.size, xt.size, float(rankdata(pooled)[: xt.size].sum()), ties)

    @property
    def u(self) -> float:
        """The treatment's U: pairs (treatment, control) where the treatment is larger, ties ½."""
        return self.rank_sum - self.n_treatment * (self.n_treatment + 1) / 2


def mann_whitney_ranks(
    ranks: RankSums,
    *,
    alternative: Alternative = "two-sided",
    use_continuity: bool = True,
) -> MannWhitney:
    """Mann–Whitney U test from rank sums: the normal approximation with the tie-corrected
    variance ``n_c n_t / 12 · ((n + 1) − Σ(t³ − t) / (n (n − 1)))`` and (``use_continuity``) a ½
    continuity correction.

    H0: a random treatment unit's value is as likely to exceed a random control unit's as the
    reverse; H1 (``alternative``): ``"two-sided"``, ``"greater"`` (treatment values tend to be
    larger) or ``"less"``. Equals ``scipy.stats.mannwhitneyu(treatment, control,
    method="asymptotic", use_continuity=use_continuity)`` on the values the sums came from.

    Parameters
    ----------
    ranks
        :class:`RankSums` of the two arms (e.g. from per-user cost in USD).
    alternative, use_continuity
        As above.

    Returns
    -------
    MannWhitney
        U of the treatment (a count of pairs), probability of superiority (a fraction),
        p-value, z statistic (signed by the direction of the shift; NaN when every value is
        tied: p = 1).
    """
    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    nc, nt = ranks.n_control, ranks.n_treatment
    n = nc + nt
    u = ranks.u
    mu = nc * nt / 2
    var = nc * nt / 12 * ((n + 1) - ranks.tie_term / (n * (n - 1)))
    # Every value tied: U equals its mean exactly; the tie term may overshoot by rounding.
    sd = math.sqrt(var) if var > 1e-12 * nc * nt * (n + 1) else 0.0
    cc = 0.5 if use_continuity else 0.0
    if sd == 0:
        z, p = math.nan, 1.0
    elif alternative == "two-sided":
        z_abs = (abs(u - mu) - cc) / sd
        p = 2 * float(_dist.norm_sf(z_abs))
        # z keeps the direction of the shift (negative: the treatment's values are lower).
        z = math.copysign(max(z_abs, 0.0), u - mu)
    elif alternative == "greater":
        z = (u - mu - cc) / sd
        p = float(_dist.norm_sf(z))
    else:
        z = (u - mu + cc) / sd
        p = float(_dist.norm_cdf(z))
    method = "normal approximation, tie-corrected" + (
        ", continuity-corrected" if use_continuity else ""
    )
    return MannWhitney(u, u / (nc * nt), min(1.0, p), z, nc, nt, alternative, method)


def mann_whitney(
    control_values: Sequence[float] | np.ndarray,
    treatment_values: Sequence[float] | np.ndarray,
    *,
    alternative: Alternative = "two-sided",
    use_continuity: bool = True,
) -> MannWhitney:
    """Mann–Whitney U test of treatment against control on per-unit values.

    H0: a random treatment unit's value is as likely to exceed a random control unit's as the
    reverse; H1 (``alternative``): ``"two-sided"``, ``"greater"`` (treatment values tend to be
    larger) or ``"less"``. Ranks are pooled over both arms (average ranks for ties). The
    p-value is exact when an arm holds at most 8 values and there are no ties, else the normal
    approximation of :func:`mann_whitney_ranks` — as
    ``scipy.stats.mannwhitneyu(treatment, control, method="auto")``, which it equals. Robust to
    the heavy tails of cost and latency; it tests a shift in distribution, not a difference of
    means.

    Parameters
    ----------
    control_values, treatment_values
        Per-unit values (e.g. per-user cost in USD), at least 2 per arm, finite.
    alternative, use_continuity
        As above.

    Returns
    -------
    MannWhitney
        U of the treatment, probability of superiority, p-value, z statistic.
    """
    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    ranks = RankSums.from_values(control_values, treatment_values)
    nc, nt = ranks.n_control, ranks.n_treatment
    if min(nc, nt) <= 8 and ranks.tie_term == 0:
        import scipy.stats

        xc = _values(control_values, "control_values")
        xt = _values(treatment_values, "treatment_values")
        ref = scipy.stats.mannwhitneyu(xt, xc, alternative=alternative, method="exact")
        u = ranks.u
        return MannWhitney(
            u, u / (nc * nt), float(ref.pvalue), math.nan, nc, nt, alternative, "exact"
        )
    return mann_whitney_ranks(ranks, alternative=alternative, use_continuity=use_continuity)


__all__ = ["MannWhitney", "RankSums", "mann_whitney", "mann_whitney_ranks"]
