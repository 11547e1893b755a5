"""Minimum detectable effects of the offline comparison: the paired t test's and the
cluster-robust t test's (noncentral t)."""

from __future__ import annotations

import math

import numpy as np

from .. import stats
from ..stats._dist import t_isf
from ._values import no_spread


def paired_mde(d: np.ndarray, alpha: float, power: float) -> float | None:
    """Smallest mean of the paired differences ``d`` that the two-sided paired t test at
    ``alpha`` detects with ``power`` over ``d.size`` pairs (in ``d``'s unit; None with fewer than
    3 pairs or no spread): the noncentral t on ``n − 1`` df with noncentrality ``δ√n / SD``."""
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    if d.size < 3 or no_spread(sd, d):
        return None
    return _detectable(sd / math.sqrt(d.size), d.size - 1, alpha, power)


def _detectable(se: float, df: int, alpha: float, power: float) -> float | None:
    """Smallest mean difference a two-sided t test of standard error ``se`` (> 0) on ``df``
    degrees of freedom detects with ``power`` at ``alpha``: ``se`` times the noncentrality that
    reaches ``power``. (Solved in SEs and rescaled: the noncentral t is unreliable at tiny SDs,
    USD per call.) None where scipy's noncentral t cannot say (NaN far in the tail: a critical
    value of 1e10 at alpha = 1e-20 and 2 df), and None when ``power <= alpha``: a zero effect
    already has power ``alpha``, so no smallest effect exists (:func:`compare` says so)."""
    if power <= alpha:
        return None
    import scipy.optimize

    crit = float(t_isf(alpha / 2, df))

    def short(ncp: float) -> float:
        # The wrong-sign tail is below alpha / 2 and shrinks; scipy returns NaN for it once
        # it is tiny (n = 100 at one SD), so it counts as 0 then.
        wrong = float(scipy.stats.nct.cdf(-crit, df, ncp))
        return power - float(scipy.stats.nct.sf(crit, df, ncp)) - (wrong if wrong >= 0 else 0.0)

    hi = 1.0
    while (gap := short(hi)) > 0 and hi < 2.0**60:  # power rises with the noncentrality
        hi *= 2
    if not gap <= 0:  # NaN, or no noncentrality reaches the power
        return None
    try:
        return se * float(scipy.optimize.brentq(short, 0.0, hi, xtol=1e-12))
    except (ValueError, RuntimeError):  # a NaN inside the bracket
        return None


def clustered_mde(c: stats.ClusteredMean, alpha: float, power: float) -> float | None:
    """Smallest mean difference the cluster-robust t test (``c.se``, ``G − 1`` df) detects with
    ``power`` at ``alpha`` (None with fewer than 3 clusters or an SE of 0): the independent-items
    MDE would claim the precision of items that move together."""
    if c.n_clusters < 3 or not c.se > 0:
        return None
    return _detectable(c.se, c.n_clusters - 1, alpha, power)
