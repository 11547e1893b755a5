"""ratio_test when an arm's rate does not vary across units (e.g. no errors at all): the delta
method's variance of that arm is 0, as if its rate were known exactly. A share of events gets
the binomial variance of its pooled events with one event counted and one not added
(Agresti–Caffo), and a note that it ignores clustering."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from promptab_nb.stats import RatioStats, ratio_test


def _flat(errors: int, units: int = 80, each: int = 3) -> RatioStats:
    den = np.full(units, float(each))
    return RatioStats.from_values(den * errors / (units * each), den)


def test_no_errors_in_either_arm_is_not_an_exact_difference() -> None:
    # 0 of 240 vs 0 of 240: the difference was "exact", CI [0, 0].
    r = ratio_test(_flat(0), _flat(0))
    p = 1 / 242  # (0 + 1) / (240 + 2)
    se = math.sqrt(2 * p * (1 - p) / 240)
    assert r.se == pytest.approx(se, rel=1e-12)
    half = scipy.stats.t.ppf(0.975, 158) * se
    assert (r.ci_low, r.ci_high) == pytest.approx((-half, half), rel=1e-9)
    assert r.p_value == 1.0
    assert r.note is not None and "Agresti" in r.note and "clustering" in r.note
    assert "exact" not in r.note


def test_an_arm_with_variation_keeps_its_delta_method_variance() -> None:
    rng = np.random.default_rng(3)
    den = rng.integers(1, 6, 80).astype(float)
    t = RatioStats.from_values(rng.binomial(den.astype(int), 0.05).astype(float), den)
    r = ratio_test(_flat(0), t)
    p = 1 / 242
    assert r.se == pytest.approx(math.sqrt(p * (1 - p) / 240 + t.var / t.n), rel=1e-12)
    assert "control" in (r.note or "") and "treatment" not in (r.note or "")
    plain = ratio_test(t, t)
    assert plain.note is None


def test_coverage_with_rare_events() -> None:
    # 80 users per arm with 1–5 requests each, Beta-distributed per-user rates of 0.3 % and
    # 1 %: an arm without errors in ~half the experiments. The CI of the difference covered it
    # in 90.7 % of them (82.5 % of those with such an arm); now ≥ 95 %.
    rng = np.random.default_rng(1)

    def arm(rate: float) -> RatioStats:
        den = rng.integers(1, 6, 80)
        num = rng.binomial(den, rng.beta(0.5, 0.5 * (1 - rate) / rate, 80))
        return RatioStats.from_values(num.astype(float), den.astype(float))

    sims, covered, flat, flat_covered = 1000, 0, 0, 0
    for _ in range(sims):
        c, t = arm(0.003), arm(0.01)
        r = ratio_test(c, t)
        ok = r.ci_low <= 0.007 <= r.ci_high
        covered += ok
        if c.var == 0 or t.var == 0:
            flat, flat_covered = flat + 1, flat_covered + ok
    assert flat > 0.3 * sims
    assert covered / sims >= 0.95, covered / sims
    assert flat_covered / flat >= 0.95, flat_covered / flat


def test_sequential_and_bayes_take_the_same_variance_for_a_flat_rate() -> None:
    # Both read the arms' variances through _test_variance: 0 errors vs 0 errors was "exact"
    # (a sequence of width 0, a chance to win of 50 % with a point posterior).
    from promptab_nb.stats import bayes, sequential

    c, t = _flat(0), _flat(0, each=4)
    vc, vt = (p * (1 - p) * 80 / d for p, d in ((1 / 242, 240), (1 / 322, 320)))
    sq = sequential(c, t)
    assert sq.se == pytest.approx(math.sqrt(vc / 80 + vt / 80), rel=1e-12)
    assert sq.ci_low < 0 < sq.ci_high and "exact" not in (sq.note or "")
    b = bayes(c, t, relative=False)
    assert b.ci_low < 0 < b.ci_high
    # and say so, as ratio_test does (they took the variance without a word)
    for res in (sq, b):
        assert res.note is not None and "Agresti" in res.note and "clustering" in res.note


def test_ratio_ci_of_a_share_that_does_not_vary_is_wilsons_on_its_events() -> None:
    # stats.ratio_ci gave 0 errors in 240 requests the interval [0, 0]; the analysis already
    # shows Wilson's on the pooled events (0 to 1.58 %), and now so does the stats function.
    from statsmodels.stats.proportion import proportion_confint

    from promptab_nb.stats.arms import ratio_ci

    lo, hi = ratio_ci(_flat(0))
    want = proportion_confint(0, 240, alpha=0.05, method="wilson")
    assert (lo, hi) == pytest.approx(want, abs=1e-12) and hi == pytest.approx(0.0158, abs=1e-4)
    rng = np.random.default_rng(5)
    den = rng.integers(1, 6, 80).astype(float)
    varied = RatioStats.from_values(rng.binomial(den.astype(int), 0.1).astype(float), den)
    half = scipy.stats.norm.ppf(0.975) * math.sqrt(varied.var / varied.n)
    assert ratio_ci(varied) == pytest.approx((varied.mean - half, varied.mean + half), rel=1e-12)
