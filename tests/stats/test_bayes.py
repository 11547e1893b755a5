"""Gaussian Bayesian comparison: flat prior equals the normal interval, conjugate prior, calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import GaussianPrior, MeanStats, bayes, welch

from ._calibration import ALPHA, mc_se


def _arms() -> tuple[MeanStats, MeanStats]:
    rng = np.random.default_rng(8)
    return (
        MeanStats.from_values(rng.lognormal(size=800)),
        MeanStats.from_values(rng.lognormal(size=800) * 1.1),
    )


def test_flat_prior_posterior_is_the_normal_likelihood() -> None:
    a, b = _arms()
    r = bayes(a, b, relative=False)
    w = welch(a, b)
    assert r.estimate == pytest.approx(w.estimate, rel=1e-12)
    assert r.posterior_sd == pytest.approx(w.se, rel=1e-12)
    post = scipy.stats.norm(r.estimate, r.posterior_sd)
    assert r.ci == pytest.approx(post.interval(0.95), rel=1e-9)
    assert r.chance_to_win == pytest.approx(post.sf(0.0), rel=1e-9)
    # expected losses E[max(0, -X)] and E[max(0, X)] by numerical integration
    assert r.expected_loss_treatment == pytest.approx(
        post.expect(lambda x: max(0.0, -x)), rel=1e-6, abs=1e-12
    )
    assert r.expected_loss_control == pytest.approx(
        post.expect(lambda x: max(0.0, x)), rel=1e-6, abs=1e-12
    )


def test_gaussian_prior_combines_by_precision() -> None:
    a, b = _arms()
    flat = bayes(a, b)
    prior = GaussianPrior(mean=0.0, variance=0.01)
    r = bayes(a, b, prior=prior)
    precision = 1 / prior.variance + 1 / flat.posterior_sd**2
    assert r.posterior_sd == pytest.approx(math.sqrt(1 / precision), rel=1e-12)
    assert r.estimate == pytest.approx(flat.estimate / flat.posterior_sd**2 / precision, rel=1e-12)
    assert abs(r.estimate) < abs(flat.estimate)  # shrunk towards the prior mean 0


def test_bayes_inputs() -> None:
    a, b = _arms()
    with pytest.raises(InvalidArgumentError, match="ci_level"):
        bayes(a, b, ci_level=1.5)
    with pytest.raises(InvalidArgumentError, match="prior.variance"):
        GaussianPrior(variance=0)


def test_bayes_degenerate() -> None:
    b = bayes(MeanStats(5, 10.0, 20.0), MeanStats(5, 10.0, 20.0))
    assert b.note and b.chance_to_win == 0.5


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize("arm", ["control", "treatment"])
def test_bayes_ratio_without_denominator_is_refused(relative: bool, arm: str) -> None:
    # An arm whose denominator sums to 0 has no ratio: bayes returned NaN for every number
    # (chance to win "nan%") with no note, where ratio_test and sequential say why.
    from promptab_nb.stats import RatioStats

    empty = RatioStats(3, 2.0, 2.0, 0.0, 2.0, 0.0)  # den values 1, -1, 0
    full = RatioStats(3, 3.0, 5.0, 6.0, 14.0, 8.0)
    pair = (empty, full) if arm == "control" else (full, empty)
    with pytest.raises(InvalidArgumentError, match=f"{arm}.den_total == 0"):
        bayes(*pair, relative=relative)


def test_bayes_credible_interval_covers_under_flat_prior() -> None:
    rng, sims, n = np.random.default_rng(21), 1500, 1000
    covered_rel, covered_abs = 0, 0
    true_rel = 0.1
    true_abs = 0.1 * math.exp(0.5)
    for _ in range(sims):
        a = MeanStats.from_values(rng.lognormal(0.0, 1.0, size=n))
        b = MeanStats.from_values(rng.lognormal(0.0, 1.0, size=n) * 1.1)
        r = bayes(a, b)
        covered_rel += r.ci_low <= true_rel <= r.ci_high
        r = bayes(a, b, relative=False)
        covered_abs += r.ci_low <= true_abs <= r.ci_high
    tol = 3 * mc_se(ALPHA, sims)
    print(
        f"bayes coverage: relative {covered_rel / sims:.4f}, absolute {covered_abs / sims:.4f} ({sims} sims)"
    )
    assert abs(covered_rel / sims - 0.95) <= tol
    assert abs(covered_abs / sims - 0.95) <= tol


def test_variance_below_the_rounding_of_the_sums_is_not_known_exactly() -> None:
    # 1e12 + [0.1 .. 0.5] vs 1e12 + [0.2 .. 0.6]: the sums of squares (5e24) round away the
    # squared deviations (0.1), total_sq − total²/n is 0, and bayes said "zero variance in both
    # arms: the effect is known exactly", chance to win 100 %. Now the posterior uses the upper
    # bound of the variance the sums leave possible, and says so.
    # (Raw sums, as a caller or an old query passes them: from_values now keeps the centred
    # sum of squares, and resolves these variances.)
    c, t = (
        MeanStats(5, x.sum(), (x * x).sum())
        for x in (
            1e12 + np.array([0.1, 0.2, 0.3, 0.4, 0.5]),
            1e12 + np.array([0.2, 0.3, 0.4, 0.5, 0.6]),
        )
    )
    r = bayes(c, t, relative=False)
    assert 0.4 < r.chance_to_win < 0.6 and r.ci_low < 0 < r.ci_high
    assert r.note is not None and "rounding" in r.note and "known exactly" not in r.note
    assert (
        bayes(MeanStats.from_values([2.0] * 5), MeanStats.from_values([3.0] * 5)).chance_to_win
        == 1.0
    )


def test_an_infinite_prior_mean_is_named() -> None:
    # GaussianPrior(mean=inf) gave a posterior of +inf [+inf, +inf], chance to win 100 %.
    with pytest.raises(InvalidArgumentError, match="prior.mean == inf, must be finite"):
        GaussianPrior(float("inf"), 1.0)
    with pytest.raises(InvalidArgumentError, match="prior.variance"):
        GaussianPrior(0.0, float("inf"))


@pytest.mark.parametrize("ci_level", [0.95, 1 - 1e-10, 1 - 1e-15])
def test_credible_interval_near_level_1_is_symmetric_and_exact(ci_level: float) -> None:
    # The upper bound came from norm.ppf((1 + ci_level) / 2), which rounds: at ci_level
    # 1 − 1e-12 the interval was off-centre by 9e-6 (2e-6 of its half-width).
    c, t = MeanStats.from_moments(400, 10.0, 4.0), MeanStats.from_moments(400, 10.5, 4.0)
    r = bayes(c, t, relative=False, ci_level=ci_level)
    half = scipy.stats.norm.isf((1 - ci_level) / 2) * r.posterior_sd
    assert (r.ci_low, r.ci_high) == pytest.approx((r.estimate - half, r.estimate + half), rel=1e-13)
