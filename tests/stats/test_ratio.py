"""Ratio metrics by the delta method: reduces to Welch for unit denominators; calibration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import RatioStats, ratio_test
from promptab_nb.stats.means import _compare_core
from promptab_nb.stats.ratio import _ratio_var

from ._calibration import ALPHA, assert_calibrated


def _arm(num: np.ndarray, den: np.ndarray) -> RatioStats:
    return RatioStats(
        num.size, num.sum(), (num * num).sum(), den.sum(), (den * den).sum(), (num * den).sum()
    )


def test_unit_denominators_give_welch_on_the_numerator() -> None:
    rng = np.random.default_rng(15)
    yc, yt = rng.lognormal(size=300), rng.lognormal(size=350) * 1.2
    got = ratio_test(_arm(yc, np.ones(300)), _arm(yt, np.ones(350)))
    ref = scipy.stats.ttest_ind(yt, yc, equal_var=False)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-9)


def test_ratio_variance_is_linearised_unit_variance() -> None:
    rng = np.random.default_rng(16)
    den = 1 + rng.poisson(2.0, size=500)
    num = rng.binomial(den, 0.2)
    r = num.sum() / den.sum()
    z = (num - r * den) / den.mean()
    assert _arm(num, den).var == pytest.approx(z.var(ddof=1), rel=1e-9)


def test_ratio_inputs_and_degenerate() -> None:
    ok = RatioStats(5, 5, 5, 5, 5, 5)
    with pytest.raises(InvalidArgumentError, match="den_total == 0"):
        ratio_test(RatioStats(5, 0, 0, 0, 0, 0), ok)
    r = ratio_test(ok, ok)
    assert r.p_value == 1.0 and r.note


@pytest.mark.parametrize(("n", "rate", "sims"), [(200, 0.3, 4000), (5000, 0.02, 1000)])
def test_ratio_delta_method(n: int, rate: float, sims: int) -> None:
    # Requests per user ~ 1 + Poisson(2); errors per request ~ Bernoulli(rate): clustered by user.
    rng = np.random.default_rng(3 + n)

    def arm(r: float) -> tuple[np.ndarray, np.ndarray]:
        d = 1 + rng.poisson(2.0, size=(sims, n))
        m = rng.binomial(d, r)
        var = _ratio_var(n, m.sum(1), (m * m).sum(1), d.sum(1), (d * d).sum(1), (m * d).sum(1))
        return m.sum(1) / d.sum(1), var

    (mc, vc), (mt, vt), (mt2, vt2) = arm(rate), arm(rate), arm(rate * 1.2)
    aa = _compare_core(mc, vc, n, mt, vt, n, alpha=ALPHA, relative=False)
    eff = _compare_core(mc, vc, n, mt2, vt2, n, alpha=ALPHA, relative=False)
    true = rate * 0.2
    cover = np.mean((eff.ci_low <= true) & (true <= eff.ci_high))
    assert_calibrated(
        f"ratio n={n} rate={rate}", float(np.mean(aa.p_value < ALPHA)), float(cover), sims
    )


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_ratio_ci_at_tiny_alpha_is_finite(alpha: float) -> None:
    # The critical value was inf below alpha ~ 1e-16: CI (-inf, inf).
    c, t = RatioStats(100, 50, 60, 200, 500, 120), RatioStats(100, 60, 70, 200, 500, 140)
    r = ratio_test(c, t, alpha=alpha)
    half = scipy.stats.t.isf(alpha / 2, r.df) * r.se
    assert r.ci == pytest.approx((r.estimate - half, r.estimate + half), rel=1e-12)
