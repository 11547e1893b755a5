"""Mann–Whitney U against scipy.stats.mannwhitneyu."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats.mannwhitney import mann_whitney

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
