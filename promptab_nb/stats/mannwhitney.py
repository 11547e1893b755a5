"""Mann–Whitney U test (Wilcoxon rank-sum) on per-unit values, with the probability of
superiority as its effect size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._checks import one_of
from .._format import pval
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
    approximation with the tie-corrected variance and (``use_continuity``) a ½ continuity
    correction — as ``scipy.stats.mannwhitneyu(treatment, control, method="auto")``, which it
    equals. Robust to the heavy tails of cost and latency; it tests a shift in distribution,
    not a difference of means.

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
    import scipy.stats

    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    xc = _values(control_values, "control_values")
    xt = _values(treatment_values, "treatment_values")
    nc, nt = xc.size, xt.size
    pooled = np.concatenate([xt, xc])
    ranks = scipy.stats.rankdata(pooled)
    u = float(ranks[:nt].sum() - nt * (nt + 1) / 2)
    n = nc + nt
    _, counts = np.unique(pooled, return_counts=True)
    ties = bool((counts > 1).any())
    if min(nc, nt) <= 8 and not ties:
        ref = scipy.stats.mannwhitneyu(xt, xc, alternative=alternative, method="exact")
        return MannWhitney(
            u, u / (nc * nt), float(ref.pvalue), math.nan, nc, nt, alternative, "exact"
        )
    mu = nc * nt / 2
    tie_term = float((counts**3 - counts).sum()) / (n * (n - 1))
    sd = math.sqrt(nc * nt / 12 * ((n + 1) - tie_term))
    cc = 0.5 if use_continuity else 0.0
    if alternative == "two-sided":
        z = (abs(u - mu) - cc) / sd if sd > 0 else math.nan
        p = 2 * float(scipy.stats.norm.sf(z)) if sd > 0 else 1.0
    elif alternative == "greater":
        z = (u - mu - cc) / sd if sd > 0 else math.nan
        p = float(scipy.stats.norm.sf(z)) if sd > 0 else 1.0
    else:
        z = (u - mu + cc) / sd if sd > 0 else math.nan
        p = float(scipy.stats.norm.cdf(z)) if sd > 0 else 1.0
    return MannWhitney(
        u, u / (nc * nt), min(1.0, p), z, nc, nt, alternative, "normal approximation, tie-corrected"
    )


__all__ = ["MannWhitney", "mann_whitney"]
