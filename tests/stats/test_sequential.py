"""mSPRT always-valid inference: the scalar equals the array engine; peeking calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import MeanStats, sequential
from promptab_nb.stats.means import _compare_core
from promptab_nb.stats.sequential import _best_ratio, _msprt_core

from ._calibration import ALPHA


def test_sequential_scalar_matches_core() -> None:
    rng = np.random.default_rng(0)
    a, b = (
        MeanStats.from_values(rng.normal(size=500)),
        MeanStats.from_values(rng.normal(0.2, 1, size=500)),
    )
    r = sequential(a, b)
    tau2 = _best_ratio(ALPHA) * (a.var + b.var) / 1000
    p, half, _ = _msprt_core(b.mean - a.mean, a.var / 500 + b.var / 500, tau2, ALPHA)
    assert r.p_value == pytest.approx(float(p)) and r.ci_high - r.estimate == pytest.approx(
        float(half)
    )


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, math.nan])
def test_alpha_outside_unit_interval(alpha: float) -> None:
    with pytest.raises(InvalidArgumentError, match="alpha"):
        sequential(MeanStats(10, 10, 20), MeanStats(10, 12, 25), alpha=alpha)


def test_zero_variance_both_arms_equal_means() -> None:
    r = sequential(MeanStats(5, 10.0, 20.0), MeanStats(8, 16.0, 32.0))  # all values 2
    assert r.p_value == 1.0 and r.estimate == 0.0
    assert r.ci_low == r.ci_high == 0.0
    assert r.note and "zero variance" in r.note


def test_confidence_sequence_is_wider_than_fixed_interval() -> None:
    from promptab_nb.stats import welch

    rng = np.random.default_rng(17)
    a = MeanStats.from_values(rng.normal(size=1000))
    b = MeanStats.from_values(rng.normal(0.1, 1, size=1000))
    seq, fixed = sequential(a, b), welch(a, b)
    assert seq.estimate == pytest.approx(fixed.estimate, rel=1e-12)
    assert seq.ci_high - seq.ci_low > fixed.ci_high - fixed.ci_low
    assert seq.p_value >= fixed.p_value


@pytest.mark.parametrize("kind", ["lognormal", "proportion"])
def test_sequential_14_looks(kind: str) -> None:
    # 14 daily looks at cumulative data; reject at the first look with p < alpha.
    rng, sims, per_day, looks = np.random.default_rng(14), 2000, 200, 14
    if kind == "lognormal":
        draw = lambda: rng.lognormal(0.0, 1.0, size=(sims, looks, per_day))  # noqa: E731
    else:
        draw = lambda: rng.binomial(1, 0.1, size=(sims, looks, per_day)).astype(float)  # noqa: E731
    c, t = draw(), draw()
    n = per_day * np.arange(1, looks + 1)
    sc, st = c.sum(2).cumsum(1), t.sum(2).cumsum(1)
    ssc, sst = (c * c).sum(2).cumsum(1), (t * t).sum(2).cumsum(1)
    mc, vc = sc / n, (ssc - sc * sc / n) / (n - 1)
    mt, vt = st / n, (sst - st * st / n) / (n - 1)
    tau2 = _best_ratio(ALPHA) * (vc + vt) / 1000
    p, half, _ = _msprt_core(mt - mc, vc / n + vt / n, tau2, ALPHA)
    fpr = float(np.mean((p < ALPHA).any(axis=1)))
    covered = float(np.mean(((mt - mc - half <= 0) & (mt - mc + half >= 0)).all(axis=1)))
    naive = _compare_core(mc, vc, n, mt, vt, n, alpha=ALPHA, relative=False)
    naive_fpr = float(np.mean((naive.p_value < ALPHA).any(axis=1)))
    print(f"sequential {kind}: FPR {fpr:.4f} over 14 looks (naive Welch peeking: {naive_fpr:.4f}), "
          f"sequence coverage {covered:.4f}")  # fmt: skip
    assert fpr <= ALPHA
    assert covered >= 1 - ALPHA
    assert naive_fpr > 2 * ALPHA  # the problem it solves


def test_sequential_ratio_14_looks() -> None:
    # A ratio metric (errors / requests per user) monitored daily: always valid over 14 looks.
    from promptab_nb.stats import RatioStats
    from promptab_nb.stats.ratio import _ratio_var

    rng, sims, per_day, looks = np.random.default_rng(15), 2000, 150, 14
    shape = (2, sims, looks, per_day)
    u = rng.gamma(2.0, 1.0, size=shape)
    den = 1 + rng.poisson(2 * u)
    num = rng.binomial(den, np.clip(0.05 + 0.04 * u, 0, 0.9)).astype(float)
    den = den.astype(float)
    n = per_day * np.arange(1, looks + 1)
    s = [(a.sum(3).cumsum(2)) for a in (num, num * num, den, den * den, num * den)]
    mean = s[0] / s[2]
    var = _ratio_var(n, *s)
    tau2 = _best_ratio(ALPHA) * (var[0] + var[1]) / 1000
    p, half, _ = _msprt_core(mean[1] - mean[0], (var[0] + var[1]) / n, tau2, ALPHA)
    fpr = float(np.mean((p < ALPHA).any(axis=1)))
    covered = float(
        np.mean(((mean[1] - mean[0] - half <= 0) & (mean[1] - mean[0] + half >= 0)).all(axis=1))
    )
    print(f"sequential ratio: FPR {fpr:.4f} over 14 looks, sequence coverage {covered:.4f}")
    assert fpr <= ALPHA
    assert covered >= 1 - ALPHA
    # The scalar function takes RatioStats and agrees with the core at the last look.
    c, t = (RatioStats(int(n[-1]), *(x[a, 0, -1] for x in s)) for a in (0, 1))
    one = sequential(c, t, alpha=ALPHA)
    assert one.p_value == pytest.approx(float(p[0, -1]), rel=1e-9)


def test_an_infinite_tau_is_named() -> None:
    # tau=inf made tau2 inf: the p-value and the confidence sequence were NaN, silently.
    a, b = MeanStats.from_values([1.0, 2.0, 3.0]), MeanStats.from_values([2.0, 3.0, 5.0])
    with pytest.raises(InvalidArgumentError, match="tau == inf"):
        sequential(a, b, tau=math.inf)
    # tau² underflowing to 0 gave a sequence of -inf to +inf and p = 1 without a word;
    # overflowing, NaN
    for tau in (1e-300, 1e200):
        with pytest.raises(InvalidArgumentError, match="its square above 0"):
            sequential(a, b, tau=tau)


def test_variance_below_the_rounding_of_the_sums_is_not_zero_variance() -> None:
    # As in welch: 1e12 ± 0.1 gave total_sq − total²/n = 0, p = 0 and "the difference is exact".
    # (Raw sums: from_values now keeps the centred sum of squares and resolves them.)
    c, t = (
        MeanStats(5, x.sum(), (x * x).sum())
        for x in (
            1e12 + np.array([0.1, 0.2, 0.3, 0.4, 0.5]),
            1e12 + np.array([0.2, 0.3, 0.4, 0.5, 0.6]),
        )
    )
    r = sequential(c, t)
    assert r.p_value == 1.0 and r.ci_low < 0 < r.ci_high
    assert r.note is not None and "rounding" in r.note and "exact" not in r.note
    r = sequential(MeanStats.from_values([2.0] * 5), MeanStats.from_values([3.0] * 5))
    assert r.p_value == 0.0 and r.ci_low == r.ci_high == 1.0


@pytest.mark.parametrize("scale", [1e-100, 1e100])
def test_sequential_is_scale_free(scale: float) -> None:
    # V (V + tau²) under- or overflowed: values ~1e-100 gave p NaN and a CI of width 0, ~1e100
    # p NaN and (-inf, inf). The mixture ratio only depends on tau² / V and d / sqrt(V).
    rng = np.random.default_rng(0)
    x, y = rng.normal(10, 2, 300), rng.normal(10.6, 2, 300)
    ref = sequential(MeanStats.from_values(x), MeanStats.from_values(y))
    got = sequential(MeanStats.from_values(x * scale), MeanStats.from_values(y * scale))
    assert got.p_value == pytest.approx(ref.p_value, rel=1e-9)
    assert got.ci_low / scale == pytest.approx(ref.ci_low, rel=1e-9)
    assert got.ci_high / scale == pytest.approx(ref.ci_high, rel=1e-9)
