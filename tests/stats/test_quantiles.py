"""Quantile CIs and differences: scipy's exact order-statistic CI, bootstrap, calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import quantile_ci, quantile_diff, quantile_test


@pytest.mark.parametrize(("q", "n"), [(0.5, 50), (0.9, 200), (0.95, 1000), (0.99, 5000)])
def test_quantile_ci_is_scipy_exact_interval(q: float, n: int) -> None:
    x = np.random.default_rng(n).lognormal(size=n)
    got = quantile_ci(x, q)
    ref = scipy.stats.quantile_test(x, q=np.quantile(x, q), p=q).confidence_interval(0.95)
    assert (got.ci_low, got.ci_high) == (ref.low, ref.high)
    assert got.estimate == np.quantile(x, q)
    assert got.coverage >= 0.95 and got.note is None


def test_quantile_diff_estimate_and_seed() -> None:
    rng = np.random.default_rng(13)
    a, b = rng.lognormal(size=400), rng.lognormal(size=400) + 0.5
    r = quantile_diff(a, b, 0.9, seed=1)
    assert r.estimate == pytest.approx(np.quantile(b, 0.9) - np.quantile(a, 0.9), rel=1e-12)
    assert r.ci_low < r.estimate < r.ci_high
    assert r == quantile_diff(a, b, 0.9, seed=1)


def test_quantile_test_relative_uses_log_ratio() -> None:
    rng = np.random.default_rng(14)
    a, b = rng.lognormal(size=2000), rng.lognormal(size=2000) * 1.2
    r = quantile_test(a, b, 0.5, relative=True)
    assert r.estimate == pytest.approx(np.quantile(b, 0.5) / np.quantile(a, 0.5) - 1, rel=1e-12)
    assert r.ci_low < r.estimate < r.ci_high
    with pytest.raises(InvalidArgumentError, match="positive quantiles"):
        quantile_test(-a, b, 0.5, relative=True)


def test_quantiles_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="q == 1.5"):
        quantile_ci([1.0, 2.0], 1.5)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        quantile_diff([1.0, math.nan], [1.0, 2.0])
    small = quantile_ci([1.0, 2.0, 3.0], 0.95)
    assert small.note and small.coverage < 0.95


def test_quantile_test_is_calibrated_on_lognormal_data() -> None:
    """A/A: the order-statistic p95 test keeps its false-positive rate at or under 5 %, and its
    CI of the difference covers a known shift at ≥ 95 % (conservative by construction)."""
    from promptab_nb.stats import quantile_test

    rng = np.random.default_rng(11)
    sims, n = 600, 800
    false_pos = covered = 0
    shift = 0.3
    true_diff = shift  # adding a constant moves every quantile by it
    for _ in range(sims):
        a, b = rng.lognormal(0, 0.6, n), rng.lognormal(0, 0.6, n)
        false_pos += quantile_test(a, b, 0.95).p_value < 0.05
        r = quantile_test(a, b + shift, 0.95)
        covered += r.ci_low <= true_diff <= r.ci_high
    se = math.sqrt(0.05 * 0.95 / sims)
    assert false_pos / sims <= 0.05 + 3 * se
    assert covered / sims >= 0.95 - 3 * se
