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

from ._references import newcombe_paired
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


def test_paired_bootstrap_agrees_with_scipy_bootstrap_at_large_n() -> None:
    # At 300 pairs the studentized CI, scipy's BCa and the t interval agree to Monte-Carlo error.
    rng = np.random.default_rng(12)
    x = rng.normal(size=300)
    y = x + rng.normal(0.2, 1.0, size=300)
    got = paired_bootstrap(x, y, n_boot=4000, seed=1)
    ref = scipy.stats.bootstrap(
        (y - x,), np.mean, n_resamples=4000, method="BCa", random_state=np.random.default_rng(1)
    )
    assert got.estimate == pytest.approx(float(np.mean(y - x)), rel=1e-12)
    assert got.method == "paired bootstrap (studentized CI)"
    assert got.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert got.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.02)
    t_ci = scipy.stats.ttest_rel(y, x).confidence_interval(0.95)
    assert got.ci == pytest.approx((t_ci.low, t_ci.high), abs=0.02)
    assert got.se == pytest.approx(ref.standard_error, rel=0.1)
    assert got.p_value < 0.05


@pytest.mark.parametrize("n", [10, 30])
@pytest.mark.parametrize("dist", ["normal", "exponential"])
def test_paired_bootstrap_ci_coverage(n: int, dist: str) -> None:
    # The percentile CI covered 0.911 / 0.864 at 10 normal / exponential pairs (0.937 / 0.927
    # at 30; 1000 seeded runs); the studentized one 0.955 / 0.938 (0.950 / 0.957). Asserted:
    # nominal within 3 binomial SEs.
    rng = np.random.default_rng(n)
    sims, hits = 600, 0
    for _ in range(sims):
        d = rng.normal(0.3, 1.0, n) if dist == "normal" else rng.exponential(1.0, n) - 1.0
        r = paired_bootstrap(np.zeros(n), d, n_boot=999, seed=rng)
        hits += r.ci_low <= (0.3 if dist == "normal" else 0.0) <= r.ci_high
    assert hits / sims >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / sims), hits / sims


def test_paired_bootstrap_ci_agrees_with_its_p_value() -> None:
    rng = np.random.default_rng(3)
    for n in (8, 15, 40):
        for shift in (0.0, 0.4, 0.8):
            r = paired_bootstrap(np.zeros(n), rng.normal(shift, 1, n), n_boot=999, seed=rng)
            assert (r.ci_low > 0 or r.ci_high < 0) == (r.p_value < 0.05), r


def test_paired_bootstrap_few_distinct_differences() -> None:
    # 5 pairs with two distinct differences: 8 % of the resamples have no spread (t* = ±inf).
    # Interpolating between −inf and +inf gave a NaN bound; it is infinite, with a note.
    r = paired_bootstrap([0] * 5, [-1, 0, -1, 0, 0], seed=1)
    assert r.ci_low == -np.inf and np.isfinite(r.ci_high) and r.ci_high > r.estimate
    assert r.note is not None and "infinite" in r.note
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        paired_bootstrap([0.0], [1.0])


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


@pytest.mark.parametrize(
    "table", [(0, 0, 10, 0), (0, 0, 3, 7), (20, 4, 11, 5), (46, 0, 4, 50), (5, 9, 0, 6)]
)
@pytest.mark.parametrize("alpha", [0.05, 0.2, 1e-4])
def test_mcnemar_ci_is_newcombes_not_wald(table: tuple[int, int, int, int], alpha: float) -> None:
    # It was a Wald interval: 10 of 10 items improved gave [+100 pp, +100 pp] (width 0, from 10
    # items) and 3 improved of 10, none regressed, [+1.6 pp, +58.4 pp] beside p = 0.25.
    both, b, c, neither = table
    n = sum(table)
    r = mcnemar(b, c, n=n, both=both, alpha=alpha)
    assert r.estimate == pytest.approx((c - b) / n, abs=1e-15)
    assert r.ci == pytest.approx(newcombe_paired(*table, alpha=alpha), abs=1e-12)
    assert -1 <= r.ci_low <= r.estimate <= r.ci_high <= 1
    assert r.p_value == pytest.approx(sm_mcnemar([[both, b], [c, neither]]).pvalue, rel=1e-12)
    if table == (0, 0, 10, 0) and alpha == 0.05:
        assert r.ci_low < 0.7
    if table == (0, 0, 3, 7) and alpha == 0.05:
        assert r.ci_low < 0 < r.ci_high


def test_mcnemar_ci_without_the_concordant_split_spans_every_split() -> None:
    # With b, c and n only, the interval is the union of Newcombe's over the splits of the
    # n − b − c concordant items into both-pass / both-fail (it depends on the split), with a
    # note; it covers each of them and is never the zero-width Wald interval.
    r = mcnemar(3, 12, n=50)
    refs = [newcombe_paired(k, 3, 12, 35 - k) for k in range(36)]
    assert r.ci_low == pytest.approx(min(lo for lo, _ in refs), abs=1e-12)
    assert r.ci_high == pytest.approx(max(hi for _, hi in refs), abs=1e-12)
    assert r.note is not None and "both=" in r.note
    assert mcnemar(0, 10, n=10).ci == pytest.approx(newcombe_paired(0, 0, 10, 0), abs=1e-12)


def test_mcnemar_checks_the_concordant_cells() -> None:
    with pytest.raises(InvalidArgumentError, match="both"):
        mcnemar(3, 4, n=10, both=4)
    with pytest.raises(InvalidArgumentError, match="both .* needs n"):
        mcnemar(3, 4, both=2)


@pytest.mark.parametrize(
    ("probs", "n"),
    [((0.5, 0.1, 0.2, 0.2), 30), ((0.7, 0.05, 0.15, 0.1), 30), ((0.3, 0.2, 0.2, 0.3), 15),
     ((0.85, 0.0, 0.1, 0.05), 20)],
)  # fmt: skip
def test_mcnemar_ci_covers_the_change_in_pass_rate(probs: tuple[float, ...], n: int) -> None:
    # Coverage by simulation: n paired items drawn from (both pass, regressed, improved,
    # neither) probabilities; the 95 % CI, with the concordant split or without it, must cover
    # p(candidate) − p(baseline) at the nominal level up to 3 binomial SEs. Measured with the
    # split: 0.966, 0.971, 0.950, 0.997; the Wald CI it replaces: 0.938, 0.903, 0.936, 0.870.
    rng = np.random.default_rng(5)
    true, sims, hits, hits_union = probs[2] - probs[1], 1000, 0, 0
    for cells in rng.multinomial(n, probs, size=sims):
        b, c = int(cells[1]), int(cells[2])
        r = mcnemar(b, c, n=n, both=int(cells[0]))
        hits += r.ci_low <= true <= r.ci_high
        u = mcnemar(b, c, n=n)
        hits_union += u.ci_low <= true <= u.ci_high
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / sims)
    assert hits / sims >= floor and hits_union / sims >= floor, (hits, hits_union)


def test_tiny_alpha_gives_finite_critical_values() -> None:
    # 1 − alpha/2 rounds to 1.0 below alpha ~ 1e-16, so ppf(1 − alpha/2) was inf: McNemar's CI
    # came out NaN, the paired t's [−inf, +inf], and the Wilcoxon CI over > 50 pairs raised
    # OverflowError (floor of −inf). Critical values now come from the tail probability.
    rng = np.random.default_rng(0)
    x, y = np.zeros(60), rng.normal(0.2, 1.0, 60)
    r = mcnemar(3, 12, n=50, both=20, alpha=1e-20)
    assert r.ci == pytest.approx(newcombe_paired(20, 3, 12, 15, alpha=1e-20), abs=1e-12)
    assert -1 <= r.ci_low < r.ci_high <= 1
    t = paired_t(x, y, alpha=1e-20)
    half = scipy.stats.t.isf(5e-21, 59) * scipy.stats.sem(y)
    assert t.ci == pytest.approx((y.mean() - half, y.mean() + half), rel=1e-9)
    w = wilcoxon(x, y, alpha=1e-20)
    assert w.ci_low == -np.inf and w.ci_high == np.inf and w.note is not None
    assert np.isfinite(wilcoxon(x, y, alpha=1e-6).ci).all()


@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1e150, 1e300])
def test_paired_tests_are_scale_free(scale: float) -> None:
    # The SD of differences ~1e-300 underflowed to 0 (squares below 1e-308): "every pair has
    # the same difference", p < 0.001, for differences [5e-301, 0, 1e-300] whose t test gives
    # p = 0.23; differences ~1e300 overflowed the SD to inf (CI [−inf, +inf]).
    x = np.array([1.0, 2.0, 3.0, 1.5, 0.2])
    y = np.array([1.5, 2.0, 4.0, 1.0, 1.0])
    ref_t, ref_b = paired_t(x, y), paired_bootstrap(x, y, n_boot=999, seed=2)
    t, b = (
        paired_t(x * scale, y * scale),
        paired_bootstrap(x * scale, y * scale, n_boot=999, seed=2),
    )
    assert t.p_value == pytest.approx(ref_t.p_value, rel=1e-9) and t.note is None
    assert t.ci == pytest.approx((ref_t.ci_low * scale, ref_t.ci_high * scale), rel=1e-9)
    assert b.p_value == ref_b.p_value and b.note is None
    assert b.ci == pytest.approx((ref_b.ci_low * scale, ref_b.ci_high * scale), rel=1e-9)
