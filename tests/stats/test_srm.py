"""Sample ratio mismatch against scipy's chi-square and binomial tests."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import srm

from ._strategies import SETTINGS


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


@pytest.mark.parametrize(("a", "b"), [(480, 520), (400, 600), (5000, 5100)])
def test_binomial_method_matches_binomtest(a: int, b: int) -> None:
    got = srm([a, b], method="binomial")
    assert got.p_value == pytest.approx(scipy.stats.binomtest(a, a + b, 0.5).pvalue, rel=1e-9)


def test_srm_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="threshold"):
        srm([10, 10], [0.5, 0.5], threshold=2)


def test_an_infinite_share_or_mismatched_keys_are_named() -> None:
    # expected_shares=[inf, 1] gave expected counts [nan, 0.0] and "no sample ratio mismatch",
    # p = 1: a verdict from nothing. A mapping of shares for a list of counts raised numpy's
    # TypeError ("float() argument must be ... not 'dict'").
    with pytest.raises(InvalidArgumentError, match=r"expected_shares\[0\] == inf, must be finite"):
        srm([50, 60], [float("inf"), 1])
    with pytest.raises(InvalidArgumentError, match="expected_shares is keyed by arm"):
        srm([50, 50], {"a": 1, "b": 1})
    with pytest.raises(InvalidArgumentError, match="must be finite"):
        srm([50, 60], [1e308, 1e308])  # their sum overflows to inf
    with pytest.raises(InvalidArgumentError, match="expected_shares == "):
        srm([50, 60], ["half", "half"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="observed_counts == "):
        srm(["50", [60]])  # type: ignore[list-item]
