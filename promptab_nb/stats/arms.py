"""Confidence intervals for one arm's mean, proportion or ratio (two-sided, level 1 − alpha)."""

from __future__ import annotations

import math

from .._checks import check
from . import _dist
from ._types import MeanStats, PropStats, RatioStats, _test_variance


def mean_ci(arm: MeanStats, *, alpha: float = 0.05) -> tuple[float, float]:
    """Student t interval for the mean, in the metric's unit: mean ± t(n−1) · sd / √n."""
    check(alpha, "alpha", gt=0, lt=1)
    # (the upper bound of the variance where the sums of squares do not resolve it)
    half = _dist.t_isf(alpha / 2, arm.n - 1) * math.sqrt(_test_variance(arm)[0] / arm.n)
    return arm.mean - half, arm.mean + half


def prop_ci(arm: PropStats, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion (a fraction in [0, 1])."""
    check(alpha, "alpha", gt=0, lt=1)
    z = _dist.norm_isf(alpha / 2)
    n, p = arm.n, arm.successes / arm.n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def is_flat_share(arm: RatioStats) -> bool:
    """Whether ``arm`` is a share of events — integer totals with ``0 <= num <= den`` and at
    least 2 events, e.g. errors / requests — that does not vary across units (e.g. no errors
    at all), so its delta-method interval has width 0 and :func:`ratio_ci` gives Wilson's.
    The one rule for that choice; a metric's kind plays no part (a ratio of other sums, or
    with ``num > den``, is not a share and keeps the delta method)."""
    from .ratio import _flat_share_variance

    return arm.den_total >= 2 and _flat_share_variance(arm) is not None


def ratio_ci(arm: RatioStats, *, alpha: float = 0.05) -> tuple[float, float]:
    """Normal interval for sum(num)/sum(den) with the delta-method variance over units; for a
    share of events that does not vary across units (:func:`is_flat_share`, e.g. no errors at
    all: the delta method gives width 0), Wilson's interval on the pooled events, which
    ignores clustering."""
    check(alpha, "alpha", gt=0, lt=1)
    if is_flat_share(arm):
        return prop_ci(PropStats(int(arm.den_total), int(arm.num_total)), alpha=alpha)
    z = _dist.norm_isf(alpha / 2)
    half = z * math.sqrt(max(arm.var, 0.0) / arm.n)
    return arm.mean - half, arm.mean + half
