"""Two-proportion tests against scipy and statsmodels; inputs, degenerate tables, calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import MeanStats, PropStats, chi_square, fisher_exact, ztest_proportions
from promptab_nb.stats.proportions import _ztest_core

from ._calibration import ALPHA, assert_calibrated
from ._strategies import SETTINGS, props


@SETTINGS
@given(props(), props())
def test_ztest_matches_statsmodels(a: PropStats, b: PropStats) -> None:
    assume(0 < a.successes + b.successes < a.n + b.n)
    stat, p = proportions_ztest([b.successes, a.successes], [b.n, a.n])
    got = ztest_proportions(a, b)
    assert got.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert got.statistic == pytest.approx(stat, rel=1e-9, abs=1e-12)
    lo, hi = confint_proportions_2indep(b.successes, b.n, a.successes, a.n, method="wald")
    assert got.ci_low == pytest.approx(max(lo, -1), abs=1e-12)
    assert got.ci_high == pytest.approx(min(hi, 1), abs=1e-12)


@SETTINGS
@given(props(), props(), st.sampled_from(["two-sided", "greater", "less"]))
def test_fisher_matches_scipy(a: PropStats, b: PropStats, alt: str) -> None:
    table = [[b.successes, a.successes], [b.n - b.successes, a.n - a.successes]]
    ref = scipy.stats.fisher_exact(table, alternative=alt).pvalue
    assert fisher_exact(a, b, alternative=alt).p_value == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize(
    ("c", "t"),
    [((10**12, 10**11), (10**12, 10**11 + 10**6)), ((10**10, 10**9), (10**10, 10**9 - 10**5))],
)
def test_fisher_with_counts_beyond_int64_products(c: tuple[int, int], t: tuple[int, int]) -> None:
    # scipy.stats.fisher_exact multiplies counts in int64: past ~9.2e18 the odds ratio came
    # out as 0.433 for a true 1.0000111 and the two-sided p equalled the one-sided (0.0092
    # for 0.0184: twice the false-positive rate).
    a, b = PropStats(*c), PropStats(*t)
    two = fisher_exact(a, b)
    up = fisher_exact(a, b, alternative="greater").p_value
    down = fisher_exact(a, b, alternative="less").p_value
    table = [[t[1], t[0] - t[1]], [c[1], c[0] - c[1]]]
    yates = scipy.stats.chi2_contingency(table, correction=True).pvalue
    assert two.p_value == pytest.approx(2 * min(up, down), rel=1e-3)
    assert two.p_value == pytest.approx(yates, rel=1e-3)
    odds = (t[1] * (c[0] - c[1])) / ((t[0] - t[1]) * c[1])
    assert two.statistic == pytest.approx(odds, rel=1e-12)


@SETTINGS
@given(props(), props())
def test_fisher_ci_is_newcombe(a: PropStats, b: PropStats) -> None:
    lo, hi = confint_proportions_2indep(b.successes, b.n, a.successes, a.n, method="newcomb")
    got = fisher_exact(a, b)
    assert (got.ci_low, got.ci_high) == pytest.approx((lo, hi), abs=1e-9)


@SETTINGS
@given(props(), props(), st.booleans())
def test_chi_square_matches_scipy(a: PropStats, b: PropStats, correction: bool) -> None:
    table = np.array([[b.successes, b.n - b.successes], [a.successes, a.n - a.successes]])
    assume((table.sum(0) > 0).all())
    ref = scipy.stats.chi2_contingency(table, correction=correction)
    got = chi_square(a, b, correction=correction)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-9, abs=1e-12)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert got.estimate == pytest.approx(b.mean - a.mean, abs=1e-15)


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, math.nan])
def test_alpha_outside_unit_interval(alpha: float) -> None:
    pa, pb = PropStats(100, 10), PropStats(100, 12)
    for fn in (ztest_proportions, fisher_exact, chi_square):
        with pytest.raises(InvalidArgumentError, match="alpha"):
            fn(pa, pb, alpha=alpha)


def test_wrong_arm_type() -> None:
    with pytest.raises(InvalidArgumentError, match="PropStats"):
        ztest_proportions(MeanStats(10, 10, 20), MeanStats(10, 12, 25))  # type: ignore[arg-type]


def test_degenerate_proportions() -> None:
    z = ztest_proportions(PropStats(100, 0), PropStats(100, 0))
    assert z.p_value == 1.0 and z.ci_low == z.ci_high == 0.0 and z.note
    f = fisher_exact(PropStats(100, 0), PropStats(100, 0))
    assert f.p_value == 1.0 and f.note
    rel = ztest_proportions(PropStats(100, 0), PropStats(100, 3), relative=True)
    assert math.isnan(rel.estimate) and "undefined" in (rel.note or "")


@pytest.mark.parametrize("n", [1000, 10000])
def test_ztest_rare_events(n: int) -> None:
    rng, sims, rate = np.random.default_rng(7 + n), 4000, 0.02
    xc, xt = rng.binomial(n, rate, sims), rng.binomial(n, rate, sims)
    aa = _ztest_core(xc, n, xt, n, alpha=ALPHA)
    xt2 = rng.binomial(n, rate * 1.2, sims)
    eff = _ztest_core(xc, n, xt2, n, alpha=ALPHA)
    true = rate * 0.2
    cover = np.mean((eff.ci_low <= true) & (true <= eff.ci_high))
    assert_calibrated(
        f"ztest rate 2% n={n}", float(np.mean(aa.p_value < ALPHA)), float(cover), sims
    )


@pytest.mark.parametrize(("n", "rate"), [(30, 0.3), (1000, 0.02)])
def test_fisher_is_conservative(n: int, rate: float) -> None:
    # Fisher conditions on both margins: its FPR is at most alpha (often well below).
    rng, sims = np.random.default_rng(11 + n), 3000
    xc, xt = rng.binomial(n, rate, sims), rng.binomial(n, rate, sims)
    cache: dict[tuple[int, int], tuple[float, float, float]] = {}
    hits, covered = 0, 0
    for a, b in zip(xc.tolist(), xt.tolist(), strict=True):
        if (a, b) not in cache:
            r = fisher_exact(PropStats(n, a), PropStats(n, b))
            cache[(a, b)] = (r.p_value, r.ci_low, r.ci_high)
        p, lo, hi = cache[(a, b)]
        hits += p < ALPHA
        covered += lo <= 0 <= hi
    assert_calibrated(
        f"fisher n={n} rate={rate}", hits / sims, covered / sims, sims, conservative=True
    )


def _r_prop_test_ci(a: PropStats, b: PropStats, alpha: float = 0.05) -> tuple[float, float]:
    """R's prop.test(c(x_t, x_c), c(n_t, n_c), correct=TRUE)$conf.int, from its source:
    YATES <- min(0.5, abs(DELTA) / sum(1/n)); WIDTH <- z * sqrt(sum(p(1-p)/n)) + YATES * sum(1/n)."""
    pc, pt = a.successes / a.n, b.successes / b.n
    delta, inv = pt - pc, 1 / a.n + 1 / b.n
    yates = min(0.5, abs(delta) / inv)
    width = (
        scipy.stats.norm.ppf(1 - alpha / 2) * math.sqrt(pc * (1 - pc) / a.n + pt * (1 - pt) / b.n)
        + yates * inv
    )
    return max(delta - width, -1), min(delta + width, 1)


@pytest.mark.parametrize(
    ("c", "t"), [((30, 10), (31, 10)), ((40, 10), (45, 10)), ((50, 10), (50, 10)),
                 ((200, 30), (180, 45))],
)  # fmt: skip
def test_continuity_corrected_ci_is_r_prop_test(c: tuple[int, int], t: tuple[int, int]) -> None:
    # R caps the correction at |diff|: 10/30 vs 10/31 (diff -0.0108 < 0.5(1/30 + 1/31) = 0.0328)
    # gave [-0.279, +0.258] for R's [-0.257, +0.236]; 10/50 vs 10/50 was widened by 0.02 for none.
    a, b = PropStats(*c), PropStats(*t)
    got = ztest_proportions(a, b, correction=True)
    assert (got.ci_low, got.ci_high) == pytest.approx(_r_prop_test_ci(a, b), abs=1e-12)


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_proportion_cis_at_tiny_alpha_use_the_exact_tail_quantile(alpha: float) -> None:
    # norm_ppf(1 - alpha / 2) was inf below alpha ~ 1e-16: the z CI became [-1, 1] (clipped),
    # the relative CIs (-inf, inf) and Fisher's Newcombe CI NaN.
    c, t = PropStats(1000, 100), PropStats(1000, 130)
    z = scipy.stats.norm.isf(alpha / 2)
    r = ztest_proportions(c, t, alpha=alpha)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.03 - z * r.se, 0.03 + z * r.se), rel=1e-12)
    for rel_method in ("delta", "log", "divide"):
        rr = ztest_proportions(c, t, alpha=alpha, relative=True, rel_method=rel_method)
        assert math.isfinite(rr.ci_low) and math.isfinite(rr.ci_high), rel_method
    f = fisher_exact(c, t, alpha=alpha)
    assert -1 < f.ci_low < 0.03 < f.ci_high < 1
    fr = fisher_exact(c, t, alpha=alpha, relative=True)
    assert fr.ci_low > -1 and math.isfinite(fr.ci_high)
    g = fisher_exact(c, t, alpha=alpha, alternative="greater")
    assert -1 < g.ci_low < 0.03 and g.ci_high == math.inf
    ch = chi_square(c, t, alpha=alpha)
    assert (ch.ci_low, ch.ci_high) == pytest.approx((r.ci_low, r.ci_high), rel=1e-12)


@pytest.mark.parametrize("alpha", [0.05, 1e-17, 1e-300])
@pytest.mark.parametrize(("c", "t"), [((10, 0), (12, 0)), ((10, 10), (12, 12)), ((2, 1), (2, 1))])
def test_no_difference_at_tiny_alpha_is_a_ci_of_width_0_not_nan(
    alpha: float, c: tuple[int, int], t: tuple[int, int]
) -> None:
    # With no variation the SE is 0 and z was inf below alpha ~ 1e-16: 0 · inf gave a NaN CI.
    r = _ztest_core(c[1], c[0], t[1], t[0], alpha=alpha)
    if c[1] in (0, c[0]):
        assert (float(r.ci_low), float(r.ci_high)) == (0.0, 0.0)
    assert math.isfinite(float(r.ci_low)) and math.isfinite(float(r.ci_high))
    for fn in (ztest_proportions, chi_square):
        got = fn(PropStats(*c), PropStats(*t), alpha=alpha)
        assert got.p_value == 1.0 and got.ci_low <= 0.0 <= got.ci_high


def test_fisher_relative_with_control_rate_0_withholds_like_the_z_test() -> None:
    # fisher_exact(relative=True) with no control success gave estimate NaN, CI NaN but
    # p = 1.1e-5 and significant=True: a verdict on a lift it calls undefined. The z test,
    # chi-square and welch withhold the p-value there; Fisher now does too (the absolute
    # comparison keeps its p).
    c, t = PropStats(10, 0), PropStats(10, 10)
    r = fisher_exact(c, t, relative=True)
    z = ztest_proportions(c, t, relative=True)
    assert math.isnan(r.p_value) and not r.significant and math.isnan(z.p_value)
    assert r.note == z.note
    assert fisher_exact(c, t).p_value == pytest.approx(1.082508822446903e-05, rel=1e-12)
