"""Bad input raises InvalidArgumentError naming the argument; degenerate input gives a defined result."""

from __future__ import annotations

import math

import pytest

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import (
    CovStats,
    MeanStats,
    PropStats,
    RatioStats,
    bayes,
    cuped,
    fisher_exact,
    guard,
    mcnemar,
    paired_bootstrap,
    paired_t,
    plan,
    quantile_ci,
    quantile_diff,
    ratio_test,
    sequential,
    srm,
    student,
    welch,
    wilcoxon,
    ztest_proportions,
)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MeanStats(1, 1.0, 1.0), "n == 1"),
        (lambda: MeanStats(0, 0.0, 0.0), "n == 0"),
        (lambda: MeanStats(10, 10.0, 1.0), "total_sq"),
        (lambda: MeanStats(10, 1.0, -1.0), "total_sq"),
        (lambda: MeanStats(2.5, 1.0, 1.0), "n == 2.5"),
        (lambda: MeanStats(10, math.nan, 1.0), "total is NaN"),
        (lambda: PropStats(10, 11), "successes == 11"),
        (lambda: PropStats(10, -1), "successes == -1"),
        (lambda: PropStats(-5, 0), "n == -5"),
        (lambda: RatioStats(1, 1, 1, 1, 1, 1), "n == 1"),
        (lambda: RatioStats(10, 10, 1, 10, 20, 10), "num_total_sq"),
        (lambda: CovStats(10, 10, 20, 10, 1, 5), "x_total_sq"),
    ],
)
def test_bad_inputs_raise(make: object, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        make()  # type: ignore[operator]


def test_rounding_noise_in_variance_is_clamped() -> None:
    # 3 units of exactly 0.1: sum of squares computed in floats is a hair off sum**2/n.
    s = MeanStats(3, 0.1 + 0.1 + 0.1, 0.01 * 3 - 1e-18)
    assert s.var == 0.0


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, math.nan])
def test_alpha_outside_unit_interval(alpha: float) -> None:
    a, b = MeanStats(10, 10, 20), MeanStats(10, 12, 25)
    for fn in (welch, student, sequential):
        with pytest.raises(InvalidArgumentError, match="alpha"):
            fn(a, b, alpha=alpha)
    pa, pb = PropStats(100, 10), PropStats(100, 12)
    for fn in (ztest_proportions, fisher_exact):
        with pytest.raises(InvalidArgumentError, match="alpha"):
            fn(pa, pb, alpha=alpha)


def test_unknown_option_and_wrong_type() -> None:
    a, b = MeanStats(10, 10, 20), MeanStats(10, 12, 25)
    with pytest.raises(InvalidArgumentError, match="alternative"):
        welch(a, b, alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="rel_method"):
        welch(a, b, relative=True, rel_method="exp")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="RatioStats"):
        welch(a, RatioStats(10, 1, 1, 10, 10, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="PropStats"):
        ztest_proportions(a, b)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="threshold"):
        srm([10, 10], [0.5, 0.5], threshold=2)


def test_zero_variance_both_arms_equal_means() -> None:
    a, b = MeanStats(5, 10.0, 20.0), MeanStats(8, 16.0, 32.0)  # all values 2
    for fn in (welch, student, sequential):
        r = fn(a, b)
        assert r.p_value == 1.0 and r.estimate == 0.0
        assert r.ci_low == r.ci_high == 0.0
        assert r.note and "zero variance" in r.note
    r = welch(a, b, relative=True)
    assert r.p_value == 1.0 and r.ci_low == r.ci_high == 0.0


def test_zero_variance_both_arms_different_means() -> None:
    a, b = MeanStats(5, 10.0, 20.0), MeanStats(5, 15.0, 45.0)
    r = welch(a, b)
    assert r.estimate == 1.0 and r.p_value == 0.0 and r.ci_low == r.ci_high == 1.0
    assert not math.isnan(r.df)


def test_degenerate_proportions_and_ratio_and_cuped() -> None:
    z = ztest_proportions(PropStats(100, 0), PropStats(100, 0))
    assert z.p_value == 1.0 and z.ci_low == z.ci_high == 0.0 and z.note
    f = fisher_exact(PropStats(100, 0), PropStats(100, 0))
    assert f.p_value == 1.0 and f.note
    rel = ztest_proportions(PropStats(100, 0), PropStats(100, 3), relative=True)
    assert math.isnan(rel.estimate) and "undefined" in (rel.note or "")
    r = ratio_test(RatioStats(5, 5, 5, 5, 5, 5), RatioStats(5, 5, 5, 5, 5, 5))
    assert r.p_value == 1.0 and r.note
    c = cuped(CovStats(5, 10, 20, 5, 5, 10), CovStats(5, 10, 20, 5, 5, 10))
    assert c.p_value == 1.0 and c.note
    b = bayes(MeanStats(5, 10.0, 20.0), MeanStats(5, 10.0, 20.0))
    assert b.note and b.chance_to_win == 0.5
    zero_base = welch(MeanStats(5, 0.0, 10.0), MeanStats(5, 1.0, 10.0), relative=True)
    assert math.isnan(zero_base.p_value) and "undefined" in (zero_base.note or "")


def test_paired_degenerate() -> None:
    x = [1.0, 2.0, 3.0]
    for fn in (paired_t, wilcoxon):
        r = fn(x, x)
        assert r.p_value == 1.0 and r.note
    assert paired_bootstrap(x, x, n_boot=200, seed=1).p_value == 1.0
    assert mcnemar(0, 0).p_value == 1.0
    with pytest.raises(InvalidArgumentError, match="pair them"):
        paired_t([1.0, 2.0], [1.0, 2.0, 3.0])


def test_guard_follows_posthog() -> None:
    assert guard(100, 100, 0.2).ok
    g = guard(49, 100, 0.2)
    assert not g.ok and "control has 49" in (g.reason or "")
    g = guard(100, 100, 0.0)
    assert not g and "baseline is 0" in (g.reason or "")


def test_quantiles_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="q == 1.5"):
        quantile_ci([1.0, 2.0], 1.5)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        quantile_diff([1.0, math.nan], [1.0, 2.0])
    small = quantile_ci([1.0, 2.0, 3.0], 0.95)
    assert small.note and small.coverage < 0.95


def test_plan_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="daily_units"):
        plan(0.1, mde=0.1, daily_units=0)
    with pytest.raises(InvalidArgumentError, match="sd is required|baseline"):
        plan(None, mde=0.1, daily_units=10)
    with pytest.raises(InvalidArgumentError, match="split"):
        plan(0.1, mde=0.1, daily_units=10, arms=3, split=0.6)
