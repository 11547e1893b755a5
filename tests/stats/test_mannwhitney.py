"""Mann–Whitney U against scipy.stats.mannwhitneyu."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats.mannwhitney import RankSums, mann_whitney, mann_whitney_ranks

from ._strategies import SETTINGS

_values = st.lists(st.integers(0, 6).map(float), min_size=2, max_size=40)


@SETTINGS
@given(_values, _values, st.sampled_from(["two-sided", "greater", "less"]))
def test_mann_whitney_equals_scipy_with_ties(c: list[float], t: list[float], alt: str) -> None:
    got = mann_whitney(c, t, alternative=alt)  # type: ignore[arg-type]
    ref = scipy.stats.mannwhitneyu(t, c, alternative=alt)
    assert got.u == pytest.approx(ref.statistic, rel=1e-12)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("n", [5, 8, 300])
@pytest.mark.parametrize("alt", ["two-sided", "greater", "less"])
def test_mann_whitney_equals_scipy_continuous(n: int, alt: str) -> None:
    rng = np.random.default_rng(n)
    c, t = rng.lognormal(0, 1, size=n), rng.lognormal(0.2, 1, size=n + 3)
    got = mann_whitney(c, t, alternative=alt)  # type: ignore[arg-type]
    ref = scipy.stats.mannwhitneyu(t, c, alternative=alt)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.prob_superiority == pytest.approx(ref.statistic / (c.size * t.size))
    assert "Mann–Whitney" in repr(got)


def test_mann_whitney_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="alternative"):
        mann_whitney([1, 2], [3, 4], alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        mann_whitney([1], [3, 4])


def _rank_sums_by_hand(c: np.ndarray, t: np.ndarray) -> RankSums:
    """Rank sum and tie term computed as the engine does: min rank + (ties − 1) / 2 per row."""
    pooled = np.concatenate([t, c])
    lo = np.array([(pooled < x).sum() + 1 for x in pooled])
    ties = np.array([(pooled == x).sum() for x in pooled])
    avg = lo + (ties - 1) / 2
    return RankSums(c.size, t.size, float(avg[: t.size].sum()), float((ties**2 - 1).sum()))


_wide = st.lists(st.integers(0, 6).map(float), min_size=2, max_size=60)


@SETTINGS
@given(_wide, _wide, st.sampled_from(["two-sided", "greater", "less"]), st.booleans())
def test_rank_sums_equal_scipy_asymptotic(
    c: list[float], t: list[float], alt: str, continuity: bool
) -> None:
    xc, xt = np.array(c), np.array(t)
    ranks = RankSums.from_values(xc, xt)
    assert ranks == _rank_sums_by_hand(xc, xt)
    got = mann_whitney_ranks(ranks, alternative=alt, use_continuity=continuity)  # type: ignore[arg-type]
    ref = scipy.stats.mannwhitneyu(
        xt, xc, alternative=alt, method="asymptotic", use_continuity=continuity
    )
    assert got.u == pytest.approx(ref.statistic, rel=1e-12, abs=1e-12)
    # Every value tied without continuity correction: scipy divides 0 by 0; no evidence is p = 1.
    want = 1.0 if np.isnan(ref.pvalue) else ref.pvalue
    assert got.p_value == pytest.approx(want, rel=1e-9, abs=1e-15)
    assert (got.n_control, got.n_treatment) == (xc.size, xt.size)


@pytest.mark.parametrize("alt", ["two-sided", "greater", "less"])
def test_rank_sums_equal_scipy_on_heavy_tailed_values_with_zeros(alt: str) -> None:
    # Per-user cost: many users without generations (0 USD, one large tie), a long tail.
    rng = np.random.default_rng(11)
    c = np.where(rng.random(900) < 0.4, 0.0, rng.lognormal(-4, 1.2, 900).round(4))
    t = np.where(rng.random(1100) < 0.4, 0.0, rng.lognormal(-4.1, 1.2, 1100).round(4))
    got = mann_whitney_ranks(RankSums.from_values(c, t), alternative=alt)  # type: ignore[arg-type]
    ref = scipy.stats.mannwhitneyu(t, c, alternative=alt, method="asymptotic")
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.prob_superiority == pytest.approx(ref.statistic / (c.size * t.size), rel=1e-12)
    assert "tie-corrected" in got.method
    # z carries the direction of the shift whatever the alternative
    assert np.sign(got.statistic) == np.sign(got.prob_superiority - 0.5)


def test_rank_sums_all_tied_and_inputs() -> None:
    res = mann_whitney_ranks(RankSums.from_values([2.0, 2.0, 2.0], [2.0, 2.0]))
    ref = scipy.stats.mannwhitneyu([2.0, 2.0], [2.0, 2.0, 2.0], method="asymptotic")
    assert res.p_value == ref.pvalue == 1.0 and res.prob_superiority == 0.5
    with pytest.raises(InvalidArgumentError, match="n_control"):
        RankSums(1, 5, 15.0)
    with pytest.raises(InvalidArgumentError, match="rank_sum"):
        RankSums(3, 2, 2.0)  # below 1 + 2, the smallest rank sum of two units
    with pytest.raises(InvalidArgumentError, match="tie_term"):
        RankSums(3, 2, 5.0, -1.0)
    with pytest.raises(InvalidArgumentError, match="alternative"):
        mann_whitney_ranks(RankSums(3, 2, 5.0), alternative="bigger")  # type: ignore[arg-type]


def test_non_numeric_values_name_the_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="control_values must be numbers"):
        mann_whitney(["a", "b"], [1.0, 2.0, 3.0])
