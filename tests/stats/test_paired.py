"""Paired tests (McNemar, paired t, Wilcoxon, bootstrap) against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import mcnemar, paired_bootstrap, paired_t, wilcoxon
from promptab_nb.stats.paired import _walsh_ci

from ._strategies import SETTINGS


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


def test_paired_bootstrap_agrees_with_scipy_bootstrap() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=300)
    y = x + rng.normal(0.2, 1.0, size=300)
    got = paired_bootstrap(x, y, n_boot=4000, seed=1)
    ref = scipy.stats.bootstrap(
        (y - x,),
        np.mean,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(1),
    )
    assert got.estimate == pytest.approx(float(np.mean(y - x)), rel=1e-12)
    # different resamples: the percentile bounds agree to Monte-Carlo error
    assert got.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert got.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.02)
    assert got.se == pytest.approx(ref.standard_error, rel=0.1)
    assert got.p_value < 0.05


def test_paired_bootstrap_is_seeded() -> None:
    x, y = np.arange(20.0), np.arange(20.0) + np.linspace(-1, 2, 20)
    assert paired_bootstrap(x, y, n_boot=500, seed=3) == paired_bootstrap(x, y, n_boot=500, seed=3)
    with pytest.raises(InvalidArgumentError, match="n_boot"):
        paired_bootstrap(x, y, n_boot=10)


def test_paired_degenerate() -> None:
    x = [1.0, 2.0, 3.0]
    for fn in (paired_t, wilcoxon):
        r = fn(x, x)
        assert r.p_value == 1.0 and r.note
    assert paired_bootstrap(x, x, n_boot=200, seed=1).p_value == 1.0
    assert mcnemar(0, 0).p_value == 1.0
    with pytest.raises(InvalidArgumentError, match="pair them"):
        paired_t([1.0, 2.0], [1.0, 2.0, 3.0])


def test_wilcoxon_ci_too_few_pairs_is_infinite() -> None:
    # 4 pairs: the smallest exact two-sided p is 0.125, so no finite 95% CI exists
    r = wilcoxon([0, 0, 0, 0], [1, 2, 3, 4])
    assert r.p_value == pytest.approx(0.125)
    assert (r.ci_low, r.ci_high) == (-np.inf, np.inf)
    assert r.note is not None and "too few" in r.note
    # at alpha 0.2 the exact CI exists: the 1st..10th Walsh averages minus none
    r = wilcoxon([0, 0, 0, 0], [1, 2, 3, 4], alpha=0.2)
    assert (r.ci_low, r.ci_high) == (1.0, 4.0) and r.note is None


def test_wilcoxon_one_sided_ci_is_one_sided() -> None:
    x = np.zeros(8)
    y = np.array([0.5, 0.2, 0.3, 0.1, 0.4, 0.6, -0.05, 0.25])
    less = wilcoxon(x, y, alternative="less")
    assert less.ci_low == -np.inf and less.ci_high > 0 and less.p_value > 0.9
    greater = wilcoxon(x, y, alternative="greater")
    assert greater.ci_high == np.inf and greater.ci_low > 0 and greater.p_value < 0.05


def _walsh(d: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(d.size)
    return np.sort((d[i] + d[j]) / 2)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("n", [5, 7, 12, 20, 60])
def test_wilcoxon_ci_inverts_the_test(n: int, alternative: str) -> None:
    # The CI is {theta: the signed-rank test of d − theta does not reject} (brute force over
    # the gaps between Walsh averages), and it excludes 0 iff p < alpha.
    rng = np.random.default_rng(n)
    for _ in range(5):
        d = rng.standard_t(3, size=n) + 0.4
        r = wilcoxon(np.zeros(n), d, alternative=alternative)  # type: ignore[arg-type]
        w = np.unique(_walsh(d))
        mids = np.concatenate([[w[0] - 1], (w[1:] + w[:-1]) / 2, [w[-1] + 1]])
        # the gaps next to each bound, and 0, decide the interval
        near = [k for b in (r.ci_low, r.ci_high) for k in range(-3, 4) + np.searchsorted(w, b)]
        for m in [0.0, *mids[np.clip(near, 0, mids.size - 1)]]:
            p = scipy.stats.wilcoxon(d - m, alternative=alternative).pvalue
            assert (r.ci_low < m < r.ci_high) == (p > 0.05), (m, p, r)
        assert (r.ci_low > 0 or r.ci_high < 0) == (r.p_value < 0.05)


def test_wilcoxon_ci_coverage_at_least_nominal() -> None:
    # the CI alone (wilcoxon's CI is _walsh_ci's), to keep the simulation fast
    rng = np.random.default_rng(7)
    sims, shift = 1000, 0.3
    for n in (6, 10, 25):
        for alternative in ("two-sided", "greater"):
            hits = 0
            for _ in range(sims):
                d = rng.standard_t(3, size=n) + shift
                _, lo, hi, _ = _walsh_ci(d, 0.05, alternative, exact=True)
                hits += lo <= shift <= hi
            se = np.sqrt(0.95 * 0.05 / sims)
            assert hits / sims >= 0.95 - 3 * se, (n, alternative, hits / sims)


def test_non_numeric_pairs_name_the_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="y must be numbers"):
        paired_t([1.0, 2.0, 3.0], ["a", "b", "c"])
