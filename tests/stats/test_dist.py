"""The scipy.special-based distribution functions equal scipy.stats (they call the same code)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from promptab_nb.stats import _dist

X = np.array([-40.0, -6.5, -1.96, -0.3, 0.0, 0.4, 1.0, 2.5, 8.0, 39.0, np.inf, -np.inf, np.nan])
Q = np.array([0.0, 1e-12, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999, 1.0])
DF = [0.5, 1.0, 2.0, 3.7, 29.0, 1e3, 1e7]


def same(a, b) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0, equal_nan=True)


def test_normal_functions_equal_scipy() -> None:
    same(_dist.norm_ppf(Q), scipy.stats.norm.ppf(Q))
    same(_dist.norm_cdf(X), scipy.stats.norm.cdf(X))
    same(_dist.norm_sf(X), scipy.stats.norm.sf(X))
    same(_dist.norm_pdf(X), scipy.stats.norm.pdf(X))
    same(_dist.norm_sf(0.3, loc=1.2, scale=0.7), scipy.stats.norm.sf(0.3, loc=1.2, scale=0.7))
    same(_dist.norm_ppf(0.9, loc=-2, scale=3), scipy.stats.norm.ppf(0.9, loc=-2, scale=3))


@pytest.mark.parametrize("df", DF)
def test_student_t_functions_equal_scipy(df: float) -> None:
    same(_dist.t_ppf(Q, df), scipy.stats.t.ppf(Q, df))
    same(_dist.t_cdf(X, df), scipy.stats.t.cdf(X, df))
    same(_dist.t_sf(X, df), scipy.stats.t.sf(X, df))


@pytest.mark.parametrize("df", [1, 2, 5, 30, 400])
def test_chi_square_sf_equals_scipy(df: int) -> None:
    x = np.array([0.0, 0.01, 1.0, 3.84, 50.0, 1e4])
    same(_dist.chi2_sf(x, df), scipy.stats.chi2.sf(x, df))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 1, 0.5), (1, 1, 0.5), (3, 10, 0.5), (5, 10, 0.5), (480, 1000, 0.5), (7, 40, 0.3),
     (69, 81, 0.9045), (9, 398, 0.864), (182_466, 732_833, 0.2506), (365_555, 730_011, 0.5),
     (2_463_369, 7_406_169, 1 / 3), (10, 10, 1.0), (0, 10, 0.0)],
)  # fmt: skip
def test_exact_binomial_p_equals_binomtest(k: int, n: int, p: float) -> None:
    # The binomial tails come from the incomplete beta (as scipy.stats.binom): equal to 1e-11
    # even at n ~ 1e7, where special.bdtr would be off by ~1e-9.
    ref = scipy.stats.binomtest(k, n, p).pvalue
    assert _dist.binom_test_p(k, n, p) == pytest.approx(ref, rel=1e-11, abs=1e-300)


@pytest.mark.parametrize("n", [10**11, 10**12, 10**13])
def test_exact_binomial_p_with_a_trillion_trials(n: int) -> None:
    # gammaln(n) ~ 3e13 carries absolute errors ~0.01, so the pmf that finds the other tail was
    # off by ~1 %: at 1e12 units per arm and a 3-sigma imbalance p was 0.03399 for 0.03390,
    # at 1e13 0.03447 (1.7 % high).
    k = n + int(3 * math.sqrt(n))
    ref = scipy.stats.binomtest(k, 2 * n + int(3 * math.sqrt(n)), 0.5).pvalue
    got = _dist.binom_test_p(k, 2 * n + int(3 * math.sqrt(n)), 0.5)
    assert got == pytest.approx(ref, rel=1e-9)


# Upper-tail probabilities from 0.5 down to the smallest subnormal: critical values at any alpha.
TAIL = np.array([0.5, 0.3, 0.025, 1e-3, 1e-10, 1e-16, 1e-17, 1e-30, 1e-100, 1e-300, 5e-324])


def test_norm_isf_equals_scipy_far_into_the_tail() -> None:
    # norm_ppf(1 - alpha / 2) is inf below alpha ~ 1e-16 (1 - 1e-17 == 1.0) and keeps ~6 digits
    # of alpha at 1e-10; the upper-tail form keeps them all.
    same(_dist.norm_isf(TAIL), scipy.stats.norm.isf(TAIL))
    same(_dist.norm_isf(np.array([0.0, 0.9, 1.0])), scipy.stats.norm.isf([0.0, 0.9, 1.0]))
    assert np.all(np.isfinite(_dist.norm_isf(TAIL)))
    assert math.copysign(1.0, float(_dist.norm_isf(0.5))) == 1.0
    # The tail probability of the critical value is q again down to 1e-300 (to z² ulps: the
    # relative slope of the tail at z = 37 is ~1400).
    np.testing.assert_allclose(_dist.norm_sf(_dist.norm_isf(TAIL[:-1])), TAIL[:-1], rtol=1e-12)
    assert not np.isfinite(_dist.norm_ppf(1 - 1e-17 / 2))  # the trap this replaces


@pytest.mark.parametrize("df", [1.0, 2.5, 5.0, 11.0, 29.0, 1e6])
def test_t_isf_equals_scipy_and_stays_exact_far_into_the_tail(df: float) -> None:
    finite = TAIL[:6]
    same(_dist.t_isf(finite, df), scipy.stats.t.isf(finite, df))
    got = _dist.t_isf(TAIL, df)
    # scipy.stats.t.isf(1e-300, 11) is -inf, not 5.1e27 (stdtrit overflows with the wrong
    # sign): a CI half-width of -inf would turn the interval inside out.
    assert got[0] == 0 and np.all(got[1:] > 0)
    # The tail probability of each critical value is q again (stdtr underflows to 0 past
    # t ~ 1e150 at df = 1, 2, so round trips stop there).
    ok = np.isfinite(got[:-1]) & (got[:-1] < 1e150)
    np.testing.assert_allclose(_dist.t_sf(got[:-1][ok], df), TAIL[:-1][ok], rtol=1e-12)
    assert ok[:9].all() and (df < 3 or ok.all())
    assert _dist.t_isf(0.0, df) == np.inf and _dist.t_isf(1.0, df) == -np.inf
