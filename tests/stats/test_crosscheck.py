"""Property tests: our functions against scipy and statsmodels on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from promptab_nb.stats import (
    MeanStats,
    PropStats,
    adjust_pvalues,
    fisher_exact,
    mcnemar,
    paired_t,
    power,
    sample_size,
    srm,
    student,
    welch,
    wilcoxon,
    ztest_proportions,
)

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def moments(draw: st.DrawFn) -> MeanStats:
    n = draw(st.integers(2, 5000))
    mean = draw(st.floats(-100, 100, allow_nan=False))
    sd = draw(st.floats(0.01, 50))
    return MeanStats.from_moments(n, mean, sd * sd)


@st.composite
def props(draw: st.DrawFn) -> PropStats:
    n = draw(st.integers(2, 5000))
    return PropStats(n, draw(st.integers(0, n)))


@SETTINGS
@given(moments(), moments(), st.sampled_from(["two-sided", "greater", "less"]))
def test_welch_and_student_match_scipy(a: MeanStats, b: MeanStats, alt: str) -> None:
    for fn, equal in ((welch, False), (student, True)):
        ref = scipy.stats.ttest_ind_from_stats(
            b.mean, b.sd, b.n, a.mean, a.sd, a.n, equal_var=equal, alternative=alt
        )
        got = fn(a, b, alternative=alt)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-9)
        if alt == "two-sided":
            # scipy's from-stats result has no CI: rebuild it from statsmodels' interval.
            from statsmodels.stats.weightstats import _tconfint_generic

            va, vb = a.var / a.n, b.var / b.n
            if equal:
                pooled = ((a.n - 1) * a.var + (b.n - 1) * b.var) / (a.n + b.n - 2)
                se, df = math.sqrt(pooled / a.n + pooled / b.n), a.n + b.n - 2
            else:
                se, df = (
                    math.sqrt(va + vb),
                    (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1)),
                )
            lo, hi = _tconfint_generic(b.mean - a.mean, se, df, 0.05, "two-sided")
            assert got.ci_low == pytest.approx(lo, rel=1e-9, abs=1e-12)
            assert got.ci_high == pytest.approx(hi, rel=1e-9, abs=1e-12)
            assert got.df == pytest.approx(df, rel=1e-9)


def test_welch_small_df_is_exact_t_not_normal() -> None:
    a, b = MeanStats.from_values([1.0, 2.0, 4.0]), MeanStats.from_values([3.0, 5.0, 9.0])
    ref = scipy.stats.ttest_ind([3.0, 5.0, 9.0], [1.0, 2.0, 4.0], equal_var=False)
    got = welch(a, b)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert got.p_value > 2 * scipy.stats.norm.sf(abs(got.statistic))  # a z test would be too small


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


@SETTINGS
@given(props(), props())
def test_fisher_ci_is_newcombe(a: PropStats, b: PropStats) -> None:
    lo, hi = confint_proportions_2indep(b.successes, b.n, a.successes, a.n, method="newcomb")
    got = fisher_exact(a, b)
    assert (got.ci_low, got.ci_high) == pytest.approx((lo, hi), abs=1e-9)


@SETTINGS
@given(st.integers(0, 300), st.integers(0, 300))
def test_mcnemar_matches_statsmodels(b: int, c: int) -> None:
    ref = sm_mcnemar([[10, b], [c, 10]], exact=True)
    got = mcnemar(b, c)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.statistic == ref.statistic


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(3, 60))
def test_paired_t_and_wilcoxon_match_scipy(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = x + rng.normal(0.3, 1.0, size=n)
    ref = scipy.stats.ttest_rel(y, x)
    got = paired_t(x, y)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (got.ci_low, got.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    wref = scipy.stats.wilcoxon(y, x)
    w = wilcoxon(x, y)
    assert w.p_value == pytest.approx(wref.pvalue, rel=1e-9)
    assert w.statistic == wref.statistic


@SETTINGS
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.sampled_from(["holm", "bh"]))
def test_adjust_pvalues_matches_statsmodels(p: list[float], method: str) -> None:
    ref = multipletests(p, method={"holm": "holm", "bh": "fdr_bh"}[method])[1]
    assert adjust_pvalues(p, method) == pytest.approx(list(ref), rel=1e-12, abs=1e-15)


@SETTINGS
@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=8), st.data())
def test_srm_matches_chisquare(obs: list[int], data: st.DataObject) -> None:
    shares = data.draw(st.lists(st.floats(0.05, 1), min_size=len(obs), max_size=len(obs)))
    exp = np.array(shares) / sum(shares) * sum(obs)
    ref = scipy.stats.chisquare(obs, exp)
    got = srm(obs, shares)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert got.df == len(obs) - 1
    assert got.mismatch == (ref.pvalue < 0.001)


@SETTINGS
@given(st.floats(0.05, 1.0), st.integers(20, 20000), st.floats(0.01, 0.2))
def test_power_of_means_matches_ttestindpower(
    effect_sd: float, n_per_arm: int, alpha: float
) -> None:
    ref = TTestIndPower().power(effect_sd, n_per_arm, alpha, ratio=1.0)
    assume(math.isfinite(ref))  # statsmodels gives NaN when the far tail underflows
    got = power(10.0, mde=effect_sd * 2.0, sd=2.0, n_total=2 * n_per_arm, alpha=alpha)
    assert got == pytest.approx(ref, rel=1e-7, abs=1e-12)


def test_sample_size_of_means_matches_ttestindpower() -> None:
    ref = TTestIndPower().solve_power(0.1, alpha=0.05, power=0.8, ratio=1.0)
    got = sample_size(mde=0.1, sd=1.0)
    assert got.n_control == math.ceil(ref)
    # Large samples: the normal approximation agrees to a fraction of a percent.
    approx = NormalIndPower().solve_power(0.1, alpha=0.05, power=0.8, ratio=1.0)
    assert got.n_total_real / 2 == pytest.approx(approx, rel=2e-3)


@SETTINGS
@given(st.floats(0.01, 0.9), st.floats(0.02, 0.5), st.floats(0.5, 0.95), st.floats(0.2, 0.8))
def test_proportion_power_classic_formula(
    p1: float, rel: float, target: float, split: float
) -> None:
    p2 = p1 * (1 + rel)
    assume(p2 < 0.99)
    size = sample_size(p1, mde=rel, relative=True, power=target, split=split)
    n_c, n_t = size.n_total_real * (1 - split), size.n_total_real * split
    pbar = (n_c * p1 + n_t * p2) / (n_c + n_t)
    z = scipy.stats.norm.ppf(0.975)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
    se1 = math.sqrt(p1 * (1 - p1) / n_c + p2 * (1 - p2) / n_t)
    assert scipy.stats.norm.cdf((p2 - p1 - z * se0) / se1) == pytest.approx(target, abs=1e-8)


def test_k_arms_bonferroni() -> None:
    two = sample_size(0.1, mde=0.1, relative=True)
    three = sample_size(0.1, mde=0.1, relative=True, arms=3)
    bonf = sample_size(0.1, mde=0.1, relative=True, alpha=0.025)
    assert three.n_control == bonf.n_control and three.n_total == 3 * bonf.n_control
    assert three.n_control > two.n_control
