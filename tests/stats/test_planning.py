"""Welch-t power, sample size and MDE from a per-unit variance (stats.planning)."""

from __future__ import annotations

import math

import pytest
import scipy.stats

from promptab_nb.stats.planning import t_mde, t_power, t_sample_size


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(("n_total", "effect"), [(100, 5.0), (100, -5.0), (20, 0.7), (4, 30.0)])
def test_power_equals_the_noncentral_t(alternative: str, n_total: int, effect: float) -> None:
    # scipy's nct.cdf of an underflowing far tail is NaN: t_power(1, 100, 5) was NaN.
    got = t_power(1.0, n_total, effect, alternative=alternative)  # type: ignore[arg-type]
    n = n_total / 2
    scale = math.sqrt(2 / n)
    df = 2 * n - 2  # Welch's df with equal arms and variances
    t, nct = scipy.stats.t, scipy.stats.nct
    a = 0.05 / 2 if alternative == "two-sided" else 0.05
    up = nct.sf(t.isf(a, df), df, effect / scale)
    down = nct.sf(t.isf(a, df), df, -effect / scale)
    ref = {"two-sided": up + down, "greater": up, "less": down}[alternative]
    assert math.isfinite(got)
    assert got == pytest.approx(ref, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("effect", "power"), [(2.0, 0.99), (8.0, 0.8), (10.0, 0.9), (20.0, 0.8)])
def test_sample_size_for_a_large_effect(effect: float, power: float) -> None:
    # brentq stopped on a NaN power: "The function value at x=98.9 is NaN".
    n = t_sample_size(1.0, effect, power=power)
    assert math.isfinite(n) and n > 3
    assert t_power(1.0, n, effect) >= power - 1e-6


@pytest.mark.parametrize(("n_total", "power"), [(4, 0.8), (4, 0.99), (6, 0.99), (100, 0.999999)])
def test_mde_with_few_units_or_high_power(n_total: int, power: float) -> None:
    # t_mde(1, 4) raised scipy's ValueError (NaN power), as did plan(from_data=...,
    # n=100, power=0.999999).
    effect = t_mde(1.0, n_total, power=power)
    assert t_power(1.0, n_total, effect) == pytest.approx(power, abs=1e-6)
