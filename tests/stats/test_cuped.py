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


# -- ratio CUPED ----------------------------------------------------------------------------
def _ratio_users(rng: np.random.Generator, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Per-user (num, den, num_pre, den_pre): a user effect drives both windows."""
    u = rng.gamma(2.0, 1.0, size=shape)
    p = np.clip(0.05 + 0.04 * u, 0, 0.9)
    den, den_pre = 1 + rng.poisson(2 * u), rng.poisson(2 * u)
    return [rng.binomial(den, p), den, rng.binomial(den_pre, p), den_pre]


def test_ratio_cuped_equals_tea_tasting() -> None:
    tt = pytest.importorskip("tea_tasting")
    import pandas as pd

    from promptab_nb.stats import RatioCovStats, ratio_cuped

    rng = np.random.default_rng(3)
    cols = _ratio_users(rng, (1200,))
    df = pd.DataFrame(dict(zip(["num", "den", "num_pre", "den_pre"], cols, strict=True)))
    df["variant"] = np.repeat([0, 1], 600)
    df.loc[df.variant == 1, "num"] += rng.binomial(1, 0.05, size=600)
    ref = tt.Experiment(m=tt.RatioOfMeans("num", "den", "num_pre", "den_pre")).analyze(df)["m"]
    c, t = (RatioCovStats.from_values(*(df.loc[df.variant == v, k] for k in cols_)) for v in (0, 1)
            for cols_ in [["num", "den", "num_pre", "den_pre"]])  # fmt: skip
    ab, rel = ratio_cuped(c, t), ratio_cuped(c, t, relative=True)
    assert ab.estimate == pytest.approx(ref.effect_size, rel=1e-9)
    assert ab.ci_low == pytest.approx(ref.effect_size_ci_lower, rel=1e-9)
    assert ab.ci_high == pytest.approx(ref.effect_size_ci_upper, rel=1e-9)
    assert ab.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ab.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert rel.estimate == pytest.approx(ref.rel_effect_size, rel=1e-9)
    assert rel.ci_low == pytest.approx(ref.rel_effect_size_ci_lower, rel=1e-9)
    assert rel.ci_high == pytest.approx(ref.rel_effect_size_ci_upper, rel=1e-9)
    assert ab.theta > 0  # the pre-period ratio predicts the outcome
    # The adjustment narrows the interval against the plain ratio test.
    from promptab_nb.stats import RatioStats, ratio_test

    def plain(s: RatioCovStats) -> RatioStats:
        return RatioStats(s.n, s.sums[0], s.cross[0], s.sums[1], s.cross[4], s.cross[1])

    raw = ratio_test(plain(c), plain(t))
    assert ab.ci_high - ab.ci_low < raw.ci_high - raw.ci_low


def test_ratio_cuped_without_pre_events_is_the_ratio_test() -> None:
    from promptab_nb.stats import RatioCovStats, RatioStats, ratio_cuped, ratio_test

    rng = np.random.default_rng(4)
    num, den, _, _ = _ratio_users(rng, (2, 300))
    zero = np.zeros(300)
    c, t = (RatioCovStats.from_values(num[i], den[i], zero, zero) for i in (0, 1))
    res = ratio_cuped(c, t)
    ref = ratio_test(*(RatioStats(300, num[i].sum(), (num[i] ** 2).sum(), den[i].sum(),
                                  (den[i] ** 2).sum(), (num[i] * den[i]).sum()) for i in (0, 1)))  # fmt: skip
    assert res.p_value == pytest.approx(ref.p_value, rel=1e-12)
    assert res.theta == 0 and res.note and "not adjusted" in res.note
    with pytest.raises(InvalidArgumentError, match="den_total"):
        ratio_cuped(RatioCovStats.from_values(zero, zero, zero, zero), t)


def test_ratio_cuped_calibration() -> None:
    from promptab_nb.stats import RatioCovStats, ratio_cuped
    from promptab_nb.stats.cuped import _PAIRS

    rng, sims, n = np.random.default_rng(20), 2000, 400
    cols = _ratio_users(rng, (sims, 2, n))
    x = np.stack(cols, axis=-1).astype(float)  # sims × arm × unit × 4
    sums = x.sum(axis=2)
    cross = np.stack([(x[..., i] * x[..., j]).sum(axis=2) for i, j in _PAIRS], axis=-1)
    rejected = covered = 0
    for k in range(sims):
        c, t = (RatioCovStats(n, tuple(sums[k, a]), tuple(cross[k, a])) for a in (0, 1))  # type: ignore[arg-type]
        res = ratio_cuped(c, t)
        rejected += res.p_value < ALPHA
        covered += res.ci_low <= 0 <= res.ci_high
    assert_calibrated("ratio cuped", rejected / sims, covered / sims, sims)


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_cuped_ci_at_tiny_alpha_is_finite(alpha: float) -> None:
    # t_ppf(1 - alpha / 2) was inf below alpha ~ 1e-16: CI (-inf, inf), relative too.
    rng = np.random.default_rng(3)
    xc, xt = rng.normal(size=100), rng.normal(size=120)
    c = CovStats.from_values(xc + rng.normal(size=100), xc)
    t = CovStats.from_values(xt + rng.normal(size=120) + 0.3, xt)
    for relative in (False, True):
        r = cuped(c, t, alpha=alpha, relative=relative)
        half = scipy.stats.t.isf(alpha / 2, r.df) * r.se
        assert r.ci == pytest.approx((r.estimate - half, r.estimate + half), rel=1e-12)
