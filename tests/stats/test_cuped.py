"""CUPED: the adjusted Welch test equals scipy on adjusted per-unit values; calibration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import CovStats, CupedComparison, cuped
from promptab_nb.stats.cuped import _cuped_core

from ._calibration import ALPHA, assert_calibrated


def test_cuped_is_welch_on_adjusted_values() -> None:
    rng = np.random.default_rng(9)
    xc, xt = rng.lognormal(0, 0.8, 400), rng.lognormal(0, 0.8, 500)
    yc = 0.8 * xc + rng.normal(0, 0.5, 400)
    yt = 0.8 * xt + rng.normal(0, 0.5, 500) + 0.1
    theta = np.cov(np.r_[xc, xt], np.r_[yc, yt], ddof=1)
    theta = theta[0, 1] / theta[0, 0]  # pooled over both arms
    got = cuped(CovStats.from_values(yc, xc), CovStats.from_values(yt, xt))
    assert isinstance(got, CupedComparison)
    assert got.theta == pytest.approx(theta, rel=1e-9)
    ref = scipy.stats.ttest_ind(yt - theta * xt, yc - theta * xc, equal_var=False)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-7)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert got.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_cuped_inputs() -> None:
    c = CovStats(5, 10, 30, 5, 7, 12)
    with pytest.raises(InvalidArgumentError, match="CovStats"):
        cuped(c, object())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="rel_method"):
        cuped(c, c, rel_method="log")  # type: ignore[arg-type]


def test_cuped_degenerate() -> None:
    c = cuped(CovStats(5, 10, 20, 5, 5, 10), CovStats(5, 10, 20, 5, 5, 10))
    assert c.p_value == 1.0 and c.note


@pytest.mark.parametrize(("n", "sims"), [(100, 4000), (5000, 1000)])
def test_cuped(n: int, sims: int) -> None:
    rng = np.random.default_rng(5 + n)

    def arm(lift: float) -> tuple[np.ndarray, ...]:
        x = rng.lognormal(0.0, 0.8, size=(sims, n))
        y = 0.8 * x + rng.lognormal(0.0, 0.5, size=(sims, n)) + lift
        return (
            np.full(sims, n),
            y.sum(1),
            (y * y).sum(1),
            x.sum(1),
            (x * x).sum(1),
            (x * y).sum(1),
        )

    c = arm(0.0)
    aa, _ = _cuped_core(c, arm(0.0), alpha=ALPHA, relative=False)
    eff, theta = _cuped_core(c, arm(0.1), alpha=ALPHA, relative=False)
    assert np.median(theta) == pytest.approx(0.8, abs=0.1)
    cover = np.mean((eff.ci_low <= 0.1) & (eff.ci_high >= 0.1))
    assert_calibrated(f"cuped n={n}", float(np.mean(aa.p_value < ALPHA)), float(cover), sims)
