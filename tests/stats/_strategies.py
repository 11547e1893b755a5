"""Hypothesis strategies for arm statistics, shared by the stats test modules."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

from promptab_nb.stats import MeanStats, PropStats

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
