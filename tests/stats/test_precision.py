"""Tests on values whose mean is large against their spread (1e6 ± 1, 1e8 ± 1): the raw sums
of squares lose ~(mean / sd)² of the variance's digits, so the statistics carry centred second
moments. Each result equals scipy / statsmodels / numpy on the raw values to 1e-9."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import statsmodels.api as sm

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import (
    CovStats,
    MeanStats,
    RatioStats,
    cuped,
    ratio_test,
    sequential,
    welch,
)
from promptab_nb.stats.arms import mean_ci, ratio_ci
from promptab_nb.stats.cuped import RatioCovStats, ratio_cuped


def _welch_ref(c: np.ndarray, t: np.ndarray) -> tuple[float, float, float, float]:
    r = scipy.stats.ttest_ind(t, c, equal_var=False)
    ci = r.confidence_interval(0.95)
    return r.pvalue, ci.low, ci.high, r.df


def _close(got: float, want: float, scale: float) -> None:
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9 * scale)


@pytest.mark.parametrize("centre", [1e6, 1e8])
def test_welch_from_values_equals_scipy_far_from_zero(centre: float) -> None:
    # Before: at 1e6 ± 1 p was off by ~1e-4 relative; at 1e8 ± 1 the raw sums could not
    # resolve the variance at all and the test took a conservative bound.
    rng = np.random.default_rng(1)
    c, t = centre + rng.normal(0, 1, 500), centre + 0.15 + rng.normal(0, 1.2, 400)
    got = welch(MeanStats.from_values(c), MeanStats.from_values(t))
    p, lo, hi, df = _welch_ref(c, t)
    assert got.note is None
    assert got.p_value == pytest.approx(p, rel=1e-9)
    assert got.df == pytest.approx(df, rel=1e-9)
    _close(got.ci_low, lo, 1.0)
    _close(got.ci_high, hi, 1.0)
    ci = mean_ci(MeanStats.from_values(c))
    ref = scipy.stats.t.interval(0.95, c.size - 1, loc=c.mean(), scale=scipy.stats.sem(c))
    assert ci[1] - ci[0] == pytest.approx(ref[1] - ref[0], rel=1e-9)


def test_from_moments_keeps_the_variance_exactly() -> None:
    # from_moments stored var (n − 1) + n mean²: at mean 1e8 its variance read back 0.
    s = MeanStats.from_moments(1000, 1e8, 1.0)
    assert s.var == pytest.approx(1.0, rel=1e-12)
    got = welch(s, MeanStats.from_moments(1000, 1e8 + 0.1, 1.0))
    ref = scipy.stats.ttest_ind_from_stats(1e8 + 0.1, 1.0, 1000, 1e8, 1.0, 1000, equal_var=False)
    assert got.note is None
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def _ratio_ref(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Ratio and per-unit delta-method variance from moments of the centred values (numpy)."""
    m, d = num.mean(), den.mean()
    r = m / d
    cov = np.cov(num - m, den - d, ddof=1)
    return r, float((cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / d**2)


def test_ratio_test_from_values_equals_welch_on_numerators_of_1e8() -> None:
    # Before: at numerators of 1e8 ± 1 per unit (one denominator event each) the raw sums left
    # the numerator's variance to rounding; ratio_test is Welch on the numerators there.
    rng = np.random.default_rng(5)
    num_c, num_t = 1e8 + rng.normal(0, 1, 800), 1e8 + 0.12 + rng.normal(0, 1, 800)
    ones = np.ones(800)
    c, t = RatioStats.from_values(num_c, ones), RatioStats.from_values(num_t, ones)
    got, ref = ratio_test(c, t), scipy.stats.ttest_ind(num_t, num_c, equal_var=False)
    assert ref.pvalue < 0.05
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.estimate == pytest.approx(num_t.mean() - num_c.mean(), rel=1e-9)


def test_ratio_test_from_values_equals_a_centred_reference_far_from_zero() -> None:
    rng = np.random.default_rng(6)
    den_c, den_t = rng.integers(1, 4, 800).astype(float), rng.integers(1, 4, 800).astype(float)
    num_c = 1e8 + 3 * den_c + rng.normal(0, 1, 800)
    num_t = 1e8 + 3.2 * den_t + rng.normal(0, 1, 800)
    c, t = RatioStats.from_values(num_c, den_c), RatioStats.from_values(num_t, den_t)
    (rc, vc), (rt, vt) = _ratio_ref(num_c, den_c), _ratio_ref(num_t, den_t)
    assert c.var == pytest.approx(vc, rel=1e-9)
    ref = scipy.stats.ttest_ind_from_stats(
        rt, math.sqrt(vt), 800, rc, math.sqrt(vc), 800, equal_var=False
    )
    got = ratio_test(c, t)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.estimate == pytest.approx(rt - rc, rel=1e-9)
    lo, hi = ratio_ci(c)
    half = scipy.stats.norm.ppf(0.975) * math.sqrt(vc / 800)
    assert hi - lo == pytest.approx(2 * half, rel=1e-9)


def test_cuped_from_values_equals_statsmodels_far_from_zero() -> None:
    # Before: at 1e7 ± 1e3 CUPED gave p = 0.0126 where OLS on the values gives 0.0115.
    rng = np.random.default_rng(2)
    n = 600
    x = 1e7 + rng.normal(0, 1e3, 2 * n)
    arm = np.repeat([0.0, 1.0], n)
    y = 1e7 + 0.8 * (x - 1e7) + 150 * arm + rng.normal(0, 8e2, 2 * n)
    c = CovStats.from_values(y[:n], x[:n])
    t = CovStats.from_values(y[n:], x[n:])
    got = cuped(c, t)
    theta = np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1)
    assert got.theta == pytest.approx(theta, rel=1e-9)
    adj = y - theta * (x - x.mean())
    ref = scipy.stats.ttest_ind(adj[n:], adj[:n], equal_var=False)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # θ is the slope of the pooled OLS of y on the (centred) covariate (statsmodels)
    ols = sm.OLS(y, sm.add_constant(x - x.mean())).fit()
    assert got.theta == pytest.approx(ols.params[1], rel=1e-9)
    assert got.estimate == pytest.approx(adj[n:].mean() - adj[:n].mean(), rel=1e-9)


def test_ratio_cuped_from_values_far_from_zero() -> None:
    rng = np.random.default_rng(4)
    n = 500
    # One event per unit (a ratio of means of 1e7 ± 1e3): before, θ was off by 1.5e-8 and the
    # SE by 9e-9 relative; at larger means the raw sums lose every digit.
    den = den_pre = np.ones(2 * n)
    num_pre = 1e7 + rng.normal(0, 1e3, 2 * n)
    num = 1e7 + 0.5 * (num_pre - 1e7) + rng.normal(0, 1e3, 2 * n)
    parts = [RatioCovStats.from_values(num[s], den[s], num_pre[s], den_pre[s])
             for s in (slice(0, n), slice(n, None))]  # fmt: skip
    got = ratio_cuped(*parts)

    def lin(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ((a - a.mean()) - a.mean() / b.mean() * (b - b.mean())) / b.mean()

    r, rp = lin(num, den), lin(num_pre, den_pre)
    theta = (r @ rp) / (rp @ rp)
    assert got.theta == pytest.approx(theta, rel=1e-9)
    out = []
    for s in (slice(0, n), slice(n, None)):
        a, ap = lin(num[s], den[s]), lin(num_pre[s], den_pre[s])
        out.append(np.var(a - theta * ap, ddof=1) / n)
    se = math.sqrt(sum(out))
    assert got.se == pytest.approx(se, rel=1e-9)


def test_sequential_from_values_far_from_zero_equals_the_centred_values() -> None:
    rng = np.random.default_rng(6)
    c, t = 1e8 + rng.normal(0, 1, 400), 1e8 + 0.3 + rng.normal(0, 1, 400)
    got = sequential(MeanStats.from_values(c), MeanStats.from_values(t))
    ref = sequential(
        MeanStats.from_moments(400, c.mean(), c.var(ddof=1)),
        MeanStats.from_moments(400, t.mean(), t.var(ddof=1)),
    )
    assert got.note is None
    assert got.p_value == pytest.approx(ref.p_value, rel=1e-9)
    assert got.ci_high - got.ci_low == pytest.approx(ref.ci_high - ref.ci_low, rel=1e-9)


def test_centred_moments_that_disagree_with_the_sums_are_named() -> None:
    x = np.array([1.0, 2.0, 4.0])
    with pytest.raises(InvalidArgumentError, match="centred"):
        MeanStats(3, x.sum(), (x * x).sum(), centred=10.0)
    with pytest.raises(InvalidArgumentError, match="centred"):
        MeanStats(3, x.sum(), (x * x).sum(), centred=-1.0)
    ok = MeanStats(3, x.sum(), (x * x).sum(), centred=float(((x - x.mean()) ** 2).sum()))
    assert ok.var == pytest.approx(np.var(x, ddof=1), rel=1e-12)
    assert MeanStats.from_values(x).total == x.sum()  # the raw sums keep their meaning


def test_shifted_totals_keep_exact_integer_sums() -> None:
    # n·c + Σ(v − c) with c = 1/3 gave 9.999999999999998 for a count of 10 events: a rate's
    # numerator must stay an integer (Wilson / Agresti–Caffo read it as a count).
    from promptab_nb.stats._sums import shifted_total

    assert shifted_total(30, 10, -2e-15, 1 / 3) == 10.0
    assert shifted_total(30, 1e6 + 0.5, 1e-9, (1e6 + 0.5) / 30) == 30 * ((1e6 + 0.5) / 30) + 1e-9
