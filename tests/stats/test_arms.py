"""One-arm intervals against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from promptab_nb.stats import MeanStats, PropStats, RatioStats
from promptab_nb.stats.arms import mean_ci, prop_ci, ratio_ci

from ._strategies import SETTINGS, moments, props


@SETTINGS
@given(moments(), st.sampled_from([0.01, 0.05, 0.2]))
def test_mean_ci_is_scipy_t_interval(arm: MeanStats, alpha: float) -> None:
    ref = scipy.stats.t.interval(
        1 - alpha, arm.n - 1, loc=arm.mean, scale=arm.sd / math.sqrt(arm.n)
    )
    assert mean_ci(arm, alpha=alpha) == pytest.approx(ref, rel=1e-9, abs=1e-9)


@SETTINGS
@given(props(), st.sampled_from([0.01, 0.05, 0.2]))
def test_prop_ci_is_statsmodels_wilson(arm: PropStats, alpha: float) -> None:
    ref = proportion_confint(arm.successes, arm.n, alpha=alpha, method="wilson")
    assert prop_ci(arm, alpha=alpha) == pytest.approx(ref, abs=1e-12)


def test_ratio_ci_is_normal_interval_on_linearised_units() -> None:
    # Delta method: the ratio behaves like the mean of (num - R den) / mean(den) per unit.
    rng = np.random.default_rng(2)
    den = 1 + rng.poisson(2.0, size=400)
    num = rng.binomial(den, 0.25)
    arm = RatioStats(
        400, num.sum(), (num * num).sum(), den.sum(), (den * den).sum(), (num * den).sum()
    )
    r = num.sum() / den.sum()
    z = (num - r * den) / den.mean()
    ref = scipy.stats.norm.interval(0.95, loc=r, scale=z.std(ddof=1) / math.sqrt(400))
    assert ratio_ci(arm) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("alpha", [1.5, 0.0, 1.0, -0.1, math.nan])
def test_one_arm_intervals_check_alpha(alpha: float) -> None:
    # alpha=1.5 gave an inverted mean interval (0.17, 0.03) and alpha=0 a Wilson (0, 1) with
    # RuntimeWarnings, silently
    from promptab_nb.errors import InvalidArgumentError

    for f, arm in ((mean_ci, MeanStats(10, 1.0, 1.0)), (prop_ci, PropStats(10, 3)),
                   (ratio_ci, RatioStats(10, 5.0, 10.0, 3.0, 12.0, 5.0))):  # fmt: skip
        with pytest.raises(InvalidArgumentError, match="alpha"):
            f(arm, alpha=alpha)  # type: ignore[operator]


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_one_arm_intervals_stay_finite_at_tiny_alpha(alpha: float) -> None:
    # The critical value came from ppf(1 - alpha / 2): inf below alpha ~ 1e-16 (mean and ratio
    # CIs (-inf, inf), the Wilson interval [0, 1]), and ~6 digits of alpha lost at 1e-10.
    arm = MeanStats.from_values(np.arange(20.0))
    t = scipy.stats.t.isf(alpha / 2, arm.n - 1)
    half = t * arm.sd / math.sqrt(arm.n)
    assert mean_ci(arm, alpha=alpha) == pytest.approx((arm.mean - half, arm.mean + half), rel=1e-12)
    z = scipy.stats.norm.isf(alpha / 2)
    p = PropStats(1000, 100)
    lo, hi = prop_ci(p, alpha=alpha)
    centre, denom = (0.1 + z * z / 2000) / (1 + z * z / 1000), 1 + z * z / 1000
    w = z * math.sqrt(0.1 * 0.9 / 1000 + z * z / 4e6) / denom
    assert (lo, hi) == pytest.approx((centre - w, centre + w), rel=1e-12)
    assert 0 < lo < hi < 1
    r = RatioStats(100, 50, 60, 200, 500, 120)
    assert all(math.isfinite(x) for x in ratio_ci(r, alpha=alpha))
    rhalf = z * math.sqrt(r.var / r.n)
    assert ratio_ci(r, alpha=alpha) == pytest.approx((r.mean - rhalf, r.mean + rhalf), rel=1e-12)


def test_mean_ci_below_the_rounding_of_the_sums_is_not_a_point() -> None:
    # 1e12 + [0.1 .. 0.5]: total_sq − total²/n rounds to 0 and the CI was [1e12 + 0.3] (width
    # 0). It now covers the values' t interval, using the largest variance the sums allow.
    x = 1e12 + np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    # (raw sums: from_values now keeps the centred sum of squares and resolves it)
    lo, hi = mean_ci(MeanStats(5, x.sum(), (x * x).sum()))
    ref = scipy.stats.t.interval(0.95, 4, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(5))
    assert lo <= ref[0] and hi >= ref[1]
    assert mean_ci(MeanStats.from_values([2.0] * 5)) == (2.0, 2.0)


@pytest.mark.parametrize("rate", [0.002, 0.01])
def test_ratio_ci_of_a_flat_arm_covers_a_rare_rate_at_the_nominal_level(rate: float) -> None:
    # 60 users with 1–5 requests each, per-user error probabilities Beta-distributed around
    # `rate`: many arms have no error at all. Their delta-method interval is [0, 0] and never
    # covers the rate; Wilson's on the pooled events, which ratio_ci gives them, covers it in
    # at least 95 % of them (and at least 95 % of all arms, flat or not).
    from promptab_nb.stats.arms import is_flat_share

    rng = np.random.default_rng(11)
    sims, covered, flat, flat_covered = 3000, 0, 0, 0
    for _ in range(sims):
        den = rng.integers(1, 6, 60)
        num = rng.binomial(den, rng.beta(0.5, 0.5 * (1 - rate) / rate, 60))
        arm = RatioStats.from_values(num.astype(float), den.astype(float))
        lo, hi = ratio_ci(arm)
        ok = lo <= rate <= hi
        covered += ok
        if is_flat_share(arm):
            flat, flat_covered = flat + 1, flat_covered + ok
            assert arm.var == 0 and hi > lo
    assert flat > 0.1 * sims, flat
    assert flat_covered / flat >= 0.95, (flat, flat_covered / flat)
    assert covered / sims >= 0.95, covered / sims
