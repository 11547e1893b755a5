"""Multiple-testing adjustment against statsmodels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import adjust_pvalues
from promptab_nb.stats.multiple import METHODS, STATSMODELS

from ._strategies import SETTINGS


@SETTINGS
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.sampled_from(METHODS))
def test_adjust_pvalues_matches_statsmodels(p: list[float], method: str) -> None:
    ref = multipletests(p, method=STATSMODELS[method])[1]
    assert adjust_pvalues(p, method) == pytest.approx(list(ref), rel=1e-12, abs=1e-15)


def test_adjust_pvalues_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="method"):
        adjust_pvalues([0.1], "bonf")  # type: ignore[arg-type]
    assert adjust_pvalues([0.01, 0.04], "holm") == pytest.approx([0.02, 0.04])


@pytest.mark.parametrize("method", METHODS)
def test_every_correction_matches_statsmodels_on_ties_and_extremes(method: str) -> None:
    p = [0.0, 1e-12, 0.01, 0.01, 0.04, 0.2, 0.5, 0.99, 1.0]
    ref = multipletests(p, method=STATSMODELS[method])[1]
    assert adjust_pvalues(p, method) == pytest.approx(list(ref), rel=1e-12, abs=1e-15)


def test_non_numeric_p_values_are_named() -> None:
    # numpy's ValueError ("could not convert string to float: 'a'") escaped.
    with pytest.raises(InvalidArgumentError, match="p-value"):
        adjust_pvalues(["a"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="p-value"):
        adjust_pvalues([0.1, [0.2, 0.3]])  # type: ignore[list-item]
