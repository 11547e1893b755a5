"""Arm sufficient statistics and the Comparison result: validation, moments, conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import Comparison, CovStats, MeanStats, PropStats, RatioStats, welch


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


def test_mean_stats_from_values_match_numpy() -> None:
    x = np.random.default_rng(3).lognormal(size=500)
    s = MeanStats.from_values(x)
    assert s.n == 500
    assert s.mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.var == pytest.approx(x.var(ddof=1), rel=1e-9)
    assert s.sd == pytest.approx(x.std(ddof=1), rel=1e-9)
    assert MeanStats.from_moments(500, s.mean, s.var).var == pytest.approx(s.var, rel=1e-9)


def test_prop_stats_mean_and_bernoulli_variance() -> None:
    s = PropStats(200, 30)
    values = np.r_[np.ones(30), np.zeros(170)]
    assert s.mean == pytest.approx(0.15)
    # p (1 - p): the population variance, as the proportion tests use it
    assert s.var == pytest.approx(values.var(ddof=0), rel=1e-12)


def test_ratio_stats_mean_is_ratio_of_sums() -> None:
    rng = np.random.default_rng(4)
    den = 1 + rng.poisson(2.0, size=100)
    num = rng.binomial(den, 0.3)
    s = RatioStats(
        100, num.sum(), (num * num).sum(), den.sum(), (den * den).sum(), (num * den).sum()
    )
    assert s.mean == pytest.approx(num.sum() / den.sum(), rel=1e-12)
    assert (s.num_mean, s.den_mean) == pytest.approx((num.mean(), den.mean()), rel=1e-12)
    assert math.isnan(RatioStats(5, 0, 0, 0, 0, 0).mean)


def test_cov_stats_from_values_match_numpy() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    y = 2 * x + rng.normal(size=300)
    s = CovStats.from_values(y, x)
    cov = np.cov(x, y, ddof=1)
    assert (s.y_mean, s.x_mean) == pytest.approx((y.mean(), x.mean()), rel=1e-12)
    assert (s.x_var, s.y_var, s.xy_cov) == pytest.approx(
        (cov[0, 0], cov[1, 1], cov[0, 1]), rel=1e-9
    )
    with pytest.raises(InvalidArgumentError, match="pair them"):
        CovStats.from_values([1.0, 2.0], [1.0])


def test_comparison_converts_and_reports() -> None:
    r = welch(MeanStats(100, 1000.0, 11000.0), MeanStats(100, 1100.0, 13000.0))
    assert isinstance(r, Comparison)
    assert r.ci == (r.ci_low, r.ci_high)
    assert r.significant == (r.p_value < r.alpha)
    d = r.to_dict()
    assert d["estimate"] == r.estimate and d["p_value"] == r.p_value
    frame = r.to_pandas()
    assert frame["estimate"].iloc[0] == r.estimate
    assert "welch" in repr(r) and "<" in r._repr_html_()


@pytest.mark.parametrize(("alpha", "label"), [(0.001, "99.9% CI"), (0.025, "97.5% CI"),
                                              (0.05, "95% CI")])  # fmt: skip
def test_interval_labels_do_not_round_the_level(alpha: float, label: str) -> None:
    # f"{level:.0%}" printed alpha=0.001 as "100% CI" and alpha=0.025 as "98% CI"
    from promptab_nb.stats import bayes, quantile_ci

    r = welch(MeanStats(50, 50.0, 80.0), MeanStats(50, 60.0, 100.0), alpha=alpha)
    assert f"({label})" in repr(r) and label in r._repr_html_()
    assert f"({label}," in repr(quantile_ci(np.arange(500.0), 0.5, alpha))
    b = bayes(MeanStats(50, 50.0, 80.0), MeanStats(50, 60.0, 100.0), ci_level=1 - alpha)
    assert label.replace("CI", "credible") in repr(b)


def test_from_values_of_text_is_a_named_error() -> None:
    # numpy's ValueError ("could not convert string to float: 'a'") escaped.
    from promptab_nb.errors import InvalidArgumentError
    from promptab_nb.stats import CovStats, MeanStats

    with pytest.raises(InvalidArgumentError, match="values must be numbers"):
        MeanStats.from_values(["a", "b"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="y must be numbers"):
        CovStats.from_values(["a", "b"], [1.0, 2.0])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="x must be numbers"):
        CovStats.from_values([1.0, 2.0], [None, "b"])  # type: ignore[list-item]
