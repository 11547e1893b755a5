"""PostHog's guards: no p-value under 50 units per arm or for a zero baseline."""

from __future__ import annotations

import pytest

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import Guard, guard
from promptab_nb.stats.guards import MIN_UNITS_PER_ARM


def test_guard_follows_posthog() -> None:
    assert guard(100, 100, 0.2).ok
    g = guard(49, 100, 0.2)
    assert not g.ok and "control has 49" in (g.reason or "")
    g = guard(100, 100, 0.0)
    assert not g and "baseline is 0" in (g.reason or "")


def test_guard_boundary_and_truthiness() -> None:
    assert MIN_UNITS_PER_ARM == 50
    assert guard(50, 50).ok and not guard(50, 49).ok
    assert guard(10, 10, min_units=10)
    assert repr(guard(1, 100)).startswith("Guard(no p-value")
    assert repr(Guard(True)) == "Guard(ok)"


def test_guard_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="control_n"):
        guard(-1, 10)
    with pytest.raises(InvalidArgumentError, match="min_units"):
        guard(10, 10, min_units=0)


def test_a_nan_baseline_is_not_a_measured_one() -> None:
    # guard(100, 100, nan) was Guard(ok): a control mean that is missing (a ratio with no
    # denominator events) makes a relative lift as undefined as a zero one.
    g = guard(100, 100, float("nan"))
    assert not g.ok and g.reason is not None and "baseline is NaN" in g.reason
