"""Power, sample size, MDE and plans against statsmodels and the classic formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from hypothesis import assume, given
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import mde, plan, power, sample_size

from ._strategies import SETTINGS


@SETTINGS
@given(st.floats(0.05, 1.0), st.integers(20, 20000), st.floats(0.01, 0.2))
def test_power_of_means_matches_ttestindpower(
    effect_sd: float, n_per_arm: int, alpha: float
) -> None:
    ref = TTestIndPower().power(effect_sd, n_per_arm, alpha, ratio=1.0)
    assume(math.isfinite(ref))  # statsmodels gives NaN when the far tail underflows
    got = power(10.0, mde=effect_sd * 2.0, sd=2.0, n_total=2 * n_per_arm, alpha=alpha)
    assert got == pytest.approx(ref, rel=1e-7, abs=1e-12)


def test_sample_size_of_means_matches_ttestindpower() -> None:
    ref = TTestIndPower().solve_power(0.1, alpha=0.05, power=0.8, ratio=1.0)
    got = sample_size(mde=0.1, sd=1.0)
    assert got.n_control == math.ceil(ref)
    # Large samples: the normal approximation agrees to a fraction of a percent.
    approx = NormalIndPower().solve_power(0.1, alpha=0.05, power=0.8, ratio=1.0)
    assert got.n_total_real / 2 == pytest.approx(approx, rel=2e-3)


@pytest.mark.parametrize("n_per_arm", [50, 400, 5000])
def test_mde_of_means_matches_ttestindpower(n_per_arm: int) -> None:
    got = mde(10.0, n_total=2 * n_per_arm, sd=2.0)
    # statsmodels' power at our MDE is exactly the target ...
    assert TTestIndPower().power(got / 2.0, n_per_arm, 0.05, ratio=1.0) == pytest.approx(
        0.8, rel=1e-9
    )
    # ... and its own root finder stops within ~1e-5 of it (ours is the tighter solution)
    ref = TTestIndPower().solve_power(None, nobs1=n_per_arm, alpha=0.05, power=0.8, ratio=1.0)
    assert got == pytest.approx(ref * 2.0, rel=1e-4)
    assert power(10.0, mde=got, sd=2.0, n_total=2 * n_per_arm) == pytest.approx(0.8, rel=1e-9)


@SETTINGS
@given(st.floats(0.01, 0.9), st.floats(0.02, 0.5), st.floats(0.5, 0.95), st.floats(0.2, 0.8))
def test_proportion_power_classic_formula(
    p1: float, rel: float, target: float, split: float
) -> None:
    p2 = p1 * (1 + rel)
    assume(p2 < 0.99)
    size = sample_size(p1, mde=rel, relative=True, power=target, split=split)
    n_c, n_t = size.n_total_real * (1 - split), size.n_total_real * split
    pbar = (n_c * p1 + n_t * p2) / (n_c + n_t)
    z = scipy.stats.norm.ppf(0.975)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
    se1 = math.sqrt(p1 * (1 - p1) / n_c + p2 * (1 - p2) / n_t)
    assert scipy.stats.norm.cdf((p2 - p1 - z * se0) / se1) == pytest.approx(target, abs=1e-8)


def test_k_arms_bonferroni() -> None:
    two = sample_size(0.1, mde=0.1, relative=True)
    three = sample_size(0.1, mde=0.1, relative=True, arms=3)
    bonf = sample_size(0.1, mde=0.1, relative=True, alpha=0.025)
    assert three.n_control == bonf.n_control and three.n_total == 3 * bonf.n_control
    assert three.n_control > two.n_control


def test_plan_is_sample_size_over_daily_units() -> None:
    p = plan(0.12, mde=0.10, daily_units=2000)
    size = sample_size(0.12, mde=0.10, relative=True)
    assert p.days == math.ceil(size.n_total / 2000) == 13


def test_plan_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="daily_units"):
        plan(0.1, mde=0.1, daily_units=0)
    with pytest.raises(InvalidArgumentError, match="sd is required|baseline"):
        plan(None, mde=0.1, daily_units=10)
    with pytest.raises(InvalidArgumentError, match="split"):
        plan(0.1, mde=0.1, daily_units=10, arms=3, split=0.6)


# -- the sign of a proportion's effect (issue 18) -------------------------------------------------
def _pooled_n(p1: float, p2: float, alpha: float, power: float) -> float:
    """Units per arm by the pooled normal formula (Fleiss, no continuity correction), by hand."""
    za, zb = scipy.stats.norm.ppf(1 - alpha / 2), scipy.stats.norm.ppf(power)
    pbar = (p1 + p2) / 2
    top = za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return float(top**2 / (p2 - p1) ** 2)


@pytest.mark.parametrize(
    ("p1", "effect"), [(0.34, -0.051), (0.2, -0.03), (0.05, -0.01), (0.2, 0.03)]
)
def test_sample_size_of_a_drop_uses_the_lower_rate(p1: float, effect: float) -> None:
    size = sample_size(p1, mde=effect, alpha=0.1, power=0.8)
    assert size.n_control == math.ceil(_pooled_n(p1, p1 + effect, 0.1, 0.8) - 1e-9)


def test_power_of_a_drop_from_the_issue() -> None:
    # baseline 0.2, −0.03, 1,574 per arm: 0.582 (the rise's variance gave 0.535)
    assert power(0.2, mde=-0.03, n_total=2 * 1574) == pytest.approx(0.5822, abs=5e-4)
    assert power(0.2, mde=-0.15, relative=True, n_total=2 * 1574) == pytest.approx(
        power(0.2, mde=-0.03, n_total=2 * 1574), rel=1e-12
    )
    assert sample_size(0.34, mde=-0.051, alpha=0.1).n_control == 1024


@pytest.mark.parametrize(
    ("call", "found"),
    [
        (lambda: power(0.1, mde=0.95, n_total=100), r"0\.1 \+ 0\.95 = 1\.05 \(absolute"),
        (lambda: power(0.1, mde=-0.2, n_total=100), r"0\.1 − 0\.2 = -0\.1 \(absolute"),
        (lambda: sample_size(0.5, mde=0.5), r"= 1 \(absolute"),
        (lambda: sample_size(0.1, mde=20, relative=True), r"0\.1 × \(1 \+ 20\) = 2\.1 \(relative"),
        (lambda: plan(0.1, mde=10, daily_units=100), r"\(relative mde"),
    ],
)
def test_impossible_rate_is_an_error(call: object, found: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"must be inside \(0, 1\)") as err:
        call()  # type: ignore[operator]
    assert err.match(found)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: sample_size(mde=math.inf, sd=1), "mde == inf"),
        (lambda: power(mde=math.inf, sd=1, n_total=100), "mde == inf"),
        (lambda: power(mde=0.1, sd=1, n_total=math.inf), "n_total == inf"),
        (lambda: mde(n_total=math.inf, sd=1), "n_total == inf"),
        (lambda: sample_size(mde=0.1, sd=math.inf), "sd == inf"),
        (lambda: plan(1.9, sd=0.9, mde=0.1, daily_units=math.inf), "daily_units == inf"),
        (lambda: plan(math.inf, sd=0.9, mde=0.1, daily_units=10), "baseline == inf"),
    ],
)
def test_infinite_inputs_are_named(call: object, name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        call()  # type: ignore[operator]


def test_sample_size_notes_when_the_minimum_already_has_the_power() -> None:
    got = sample_size(mde=1e-3, sd=1e-9)
    assert got.n_total == 6 and got.note and "minimum" in got.note
    assert sample_size(mde=0.1, sd=1.0).note is None


def test_plan_passes_the_alternative() -> None:
    one = plan(1.9, sd=0.9, mde=0.10, daily_units=80, alternative="greater")
    ref = sample_size(1.9, sd=0.9, mde=0.1, relative=True, alternative="greater")
    assert (one.n_total, one.alternative) == (ref.n_total, "greater")
    two = plan(1.9, sd=0.9, mde=0.10, daily_units=80)
    assert one.n_total < two.n_total
    effect = 0.19 / 0.9
    n = TTestIndPower().solve_power(effect, alpha=0.05, power=0.8, alternative="larger")
    assert one.n_control == math.ceil(n)
    assert "greater" in repr(one) and "alpha (greater)" in one._repr_html_()


def test_a_tiny_alpha_keeps_its_critical_value() -> None:
    # 1 − alpha/2 rounds to 1.0 below alpha ~ 1e-16: the critical value was inf, the power 0,
    # sample_size said "too small to detect with any realistic sample" and mde never returned.
    # statsmodels' noncentral t is NaN out there; integrate the power over the chi-square.
    def t_power(n: int) -> float:
        df, nc = 2 * n - 2, 0.5 / math.sqrt(2 / n)
        crit = scipy.stats.t.isf(0.5e-20, df)

        def density(v: float) -> float:
            return scipy.stats.chi2.pdf(v, df) * scipy.stats.norm.cdf(nc - crit * math.sqrt(v / df))

        return scipy.integrate.quad(density, 0, 5 * df, points=[df], limit=200)[0]

    got = sample_size(mde=1.0, sd=2.0, alpha=1e-20)
    assert got.n_control == 851
    assert t_power(850) < 0.8 < t_power(851)
    assert mde(n_total=got.n_total, sd=2.0, alpha=1e-20) == pytest.approx(1.0, rel=2e-3)
    assert power(mde=1.0, sd=2.0, n_total=got.n_total, alpha=1e-20) > 0.8
    # Rates: the normal critical value z = isf(alpha / 2), 9.3 at alpha = 1e-20.
    z = scipy.stats.norm.isf(0.5e-20)
    p1, p2 = 0.1, 0.2
    n_rate = sample_size(p1, mde=0.1, alpha=1e-20).n_total_real / 2
    se0 = math.sqrt(0.15 * 0.85 * 2 / n_rate)
    se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n_rate)
    assert scipy.stats.norm.cdf((p2 - p1 - z * se0) / se1) == pytest.approx(0.8, abs=1e-8)


@pytest.mark.parametrize(
    "kwargs",
    [dict(baseline=10.0, sd=5.0), dict(baseline=10.0, sd=5.0, arms=3), dict(baseline=0.1)],
)
def test_mde_of_a_power_not_above_alpha_is_refused(kwargs: dict) -> None:
    # scipy's root finder raised "f(a) and f(b) must have different signs" (a ValueError).
    with pytest.raises(InvalidArgumentError, match=r"power == 0\.01.*zero effect"):
        mde(n_total=100, power=0.01, **kwargs)


@pytest.mark.parametrize("sd", [1e-160, 1e100, 1e160])
def test_power_is_scale_free(sd: float) -> None:
    # sd ** 2 and the squared per-arm variances of the mean raised a raw OverflowError at
    # sd 1e100 (1e400) and 1e160; an effect of one SD has the same power at any scale.
    got = power(mde=sd, sd=sd, n_total=100)
    assert got == pytest.approx(power(mde=1.0, sd=1.0, n_total=100), rel=1e-12)
    assert sample_size(mde=0.3 * sd, sd=sd).n_total == sample_size(mde=0.3, sd=1.0).n_total


@pytest.mark.parametrize("sd", [1e-6, 1e-10, 1e-20])
def test_huge_noncentrality_and_tiny_sd(sd: float) -> None:
    # scipy's noncentral t gives NaN past nc ~ 1e6: power(mde=1, sd=1e-10) was NaN, and mde()
    # started its search at an effect of 1 (nc 7e10) and died in brentq ("function value at
    # x=1.0 is NaN"). The MDE is found on the scale of the SD, to the same relative precision.
    assert power(mde=1.0, sd=sd, n_total=200) == 1.0
    assert mde(n_total=200, sd=sd) / sd == pytest.approx(mde(n_total=200, sd=1.0), rel=1e-9)
    rel = mde(5.0, n_total=200, sd=sd, relative=True)
    assert rel * 5.0 / sd == pytest.approx(mde(n_total=200, sd=1.0), rel=1e-9)
