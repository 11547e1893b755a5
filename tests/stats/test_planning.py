"""Welch-t power, sample size and MDE from a per-unit variance (stats.planning)."""

from __future__ import annotations

import math

import pytest
import scipy.stats

from promptab_nb.errors import InvalidArgumentError
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


@pytest.mark.parametrize(("n_total", "ratio"), [(10, 9.0), (5, 9.0), (4, 100.0), (10, 1 / 9)])
def test_power_with_an_arm_of_one_unit_or_less_is_refused(n_total: float, ratio: float) -> None:
    # 10 units at ratio 9 leave 1 control unit: Welch's df divided by n - 1 = 0
    # (ZeroDivisionError); 5 units leave 0.5 and the power came out NaN.
    with pytest.raises(InvalidArgumentError, match="more than 1 unit in each arm"):
        t_power(1.0, n_total, 1.0, ratio=ratio)
    with pytest.raises(InvalidArgumentError, match="more than 1 unit in each arm"):
        t_mde(1.0, n_total, ratio=ratio)


@pytest.mark.parametrize("ratio", [9.0, 100.0, 0.25])
def test_sample_size_with_an_unequal_split(ratio: float) -> None:
    # The search started at 3 units whatever the split (ZeroDivisionError at ratio 9,
    # "function value is NaN" at ratio 100): it starts at 1.5 units in the smaller arm.
    for effect in (0.5, 5.0):
        n = t_sample_size(1.0, effect, ratio=ratio)
        assert math.isfinite(n)
        assert min(n / (1 + ratio), n * ratio / (1 + ratio)) > 1
        assert t_power(1.0, n, effect, ratio=ratio) >= 0.8 - 1e-6


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("power", [0.01, 0.05])
def test_mde_of_a_power_not_above_alpha_is_refused(alternative: str, power: float) -> None:
    # A zero effect is already "detected" with probability alpha: no effect solves power <=
    # alpha; this was scipy's "f(a) and f(b) must have different signs".
    with pytest.raises(InvalidArgumentError, match=r"power == 0\.0[15].*alpha == 0\.05"):
        t_mde(1.0, 100, power=power, alternative=alternative)  # type: ignore[arg-type]
    assert t_mde(1.0, 100, power=0.06, alternative=alternative) != 0  # type: ignore[arg-type]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_an_alpha_past_the_largest_critical_value_has_no_power(alternative: str) -> None:
    # At alpha 1e-300 and a few units the critical t is beyond the largest double; scipy's
    # noncentral t says sf(inf) == 1, so the power read 2.0 (two-sided) and t_sample_size
    # raised scipy's "function value ... is NaN".
    for n_total in (4.5, 10.0, 30.0):
        power = t_power(1.0, n_total, 1.0, alpha=1e-300, alternative=alternative)  # type: ignore[arg-type]
        assert 0.0 <= power < 1e-200
    sign = -1.0 if alternative == "less" else 1.0
    n = t_sample_size(1.0, sign * 0.1, alpha=1e-300, alternative=alternative)  # type: ignore[arg-type]
    assert math.isfinite(n)
    got = t_power(1.0, n, sign * 0.1, alpha=1e-300, alternative=alternative)  # type: ignore[arg-type]
    assert got == pytest.approx(0.8, abs=1e-6)
    with pytest.raises(InvalidArgumentError, match=r"alpha == 1e-300; ask for a larger alpha"):
        t_mde(1.0, 10, alpha=1e-300, alternative=alternative)  # type: ignore[arg-type]


@pytest.mark.parametrize("var", [1e-300, 1e200, 1e300])
def test_t_power_is_scale_free(var: float) -> None:
    # (vc + vt) ** 2 raised a raw OverflowError at var 1e200 (the df squares var / n).
    sd = math.sqrt(var)
    got = t_power(var, 100, 0.5 * sd)
    assert got == pytest.approx(t_power(1.0, 100, 0.5), rel=1e-12)


@pytest.mark.parametrize("sd", [1e-6, 1e-10, 1e-20])
def test_tiny_variance_keeps_full_precision(sd: float) -> None:
    # t_power with nc ~ 1e10 was NaN (scipy's noncentral t), and t_mde solved to an absolute
    # 1e-14, 6e-9 off at sd 1e-6 and NaN-bound below.
    assert t_power(sd * sd, 200, 1.0) == 1.0
    assert t_mde(sd * sd, 200) / sd == pytest.approx(t_mde(1.0, 200), rel=1e-10)
