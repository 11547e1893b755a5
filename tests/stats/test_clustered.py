"""Cluster-robust paired differences, variance components and Miller's design: statsmodels
OLS cluster SE to 1e-9, and coverage of the clustered CI by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import (
    VarianceComponents,
    _dist,
    cluster_mean,
    design_items,
    design_power,
    variance_components,
)

from ._calibration import mc_se


@pytest.mark.parametrize("seed", range(5))
def test_cluster_se_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    g = rng.integers(0, int(rng.integers(3, 15)), n)
    d = rng.normal(0.1, 1, n) + rng.normal(0, 0.7, 20)[g]
    r = cluster_mean(d, g.astype(str))
    ref = sm.OLS(d, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    assert r.se == pytest.approx(ref.bse[0], abs=1e-9)
    assert r.estimate == pytest.approx(ref.params[0], abs=1e-12)
    assert r.ci == pytest.approx(tuple(ref.conf_int()[0]), abs=1e-9)
    assert r.p_value == pytest.approx(ref.pvalues[0], abs=1e-9)
    iid = sm.OLS(d, np.ones(n)).fit()
    assert r.design_effect == pytest.approx((ref.bse[0] / iid.bse[0]) ** 2, rel=1e-9)
    assert r.n_clusters == len(np.unique(g)) and r.df == r.n_clusters - 1


def test_cluster_inputs_named() -> None:
    with pytest.raises(InvalidArgumentError, match="one cluster"):
        cluster_mean([1.0, 2.0, 3.0], ["a", "a", "a"])
    with pytest.raises(InvalidArgumentError, match="clusters has 2"):
        cluster_mean([1.0, 2.0, 3.0], ["a", "b"])


def test_clustered_ci_coverage() -> None:
    """4,000 datasets of 40 passages × 5 questions with a strong passage effect: the clustered
    95 % CI covers the true mean 94–96 % of the time (the iid CI does not)."""
    rng = np.random.default_rng(20240601)
    sims, groups, per = 4000, 40, 5
    g = np.repeat(np.arange(groups), per)
    d = 0.05 + rng.normal(0, 0.3, (sims, groups))[:, g] + rng.normal(0, 0.3, (sims, groups * per))
    covered = iid_covered = 0
    for row in d:
        r = cluster_mean(row, g)
        covered += r.ci[0] <= 0.05 <= r.ci[1]
        half = 1.96 * r.se_iid
        iid_covered += abs(r.estimate - 0.05) <= half
    cov, cov_iid = covered / sims, iid_covered / sims
    print(f"clustered CI coverage {cov:.4f} ± {mc_se(cov, sims):.4f}; iid CI {cov_iid:.4f}")
    assert 0.94 <= cov <= 0.96
    assert cov_iid < 0.85  # ignoring the clusters overstates the evidence


def test_variance_components_recover_truth() -> None:
    rng = np.random.default_rng(3)
    items, k = 4000, 4
    m = rng.normal(0, 0.5, (items, 1)) + rng.normal(0, 1.0, (items, k))
    vc = variance_components(m)
    assert vc.between == pytest.approx(0.25, abs=0.03)
    assert vc.within == pytest.approx(1.0, abs=0.03)
    assert vc.var_of_item_mean(k) == pytest.approx(m.mean(axis=1).var(ddof=1), rel=1e-9)
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        variance_components(m[:, :1])


def test_miller_formula_and_power_inverse() -> None:
    vc = VarianceComponents(between=0.04, within=0.16, n_items=100, repeats=3)
    n = design_items(vc, 4, 0.05, alpha=0.05, power=0.8)
    # (1.959964 + 0.841621)² · (0.04 + 0.04) / 0.05² = 251.2 → 252
    assert n == 252
    assert design_power(vc, n, 4, 0.05) >= 0.8 > design_power(vc, n - 2, 4, 0.05)


def test_design_power_and_components_check_their_arguments() -> None:
    vc = VarianceComponents(1.0, 1.0, 10, 2)
    # n_items=0 raised ZeroDivisionError; a text matrix numpy's ValueError
    for bad in ({"n_items": 0}, {"repeats": 0}, {"alpha": 1.5}, {"mde": float("nan")}):
        kw = {"n_items": 10, "repeats": 2, "mde": 0.1} | bad
        alpha = kw.pop("alpha", 0.05)
        with pytest.raises(InvalidArgumentError, match=next(iter(bad))):
            design_power(vc, alpha=alpha, **kw)
    with pytest.raises(InvalidArgumentError, match="matrix must be numbers"):
        variance_components([["a", "b"], ["c", "d"]])


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_tiny_alpha_uses_the_exact_tail_quantile(alpha: float) -> None:
    # t.ppf(1 - alpha / 2) was inf below alpha ~ 1e-16 (CI (-inf, inf)), and design_items /
    # design_power raised statistics.StatisticsError from NormalDist().inv_cdf(1.0).
    import scipy.stats

    rng = np.random.default_rng(4)
    d, g = rng.normal(0.2, 1, 60), np.arange(60) % 12
    r = cluster_mean(d, g, alpha=alpha)
    t = scipy.stats.t.isf(alpha / 2, r.df)
    if alpha < 1e-200:  # scipy's is -inf there (stdtrit overflows); t_sf inverts _dist's
        t = _dist.t_isf(alpha / 2, r.df)
        assert scipy.stats.t.sf(t, r.df) == pytest.approx(alpha / 2, rel=1e-12)
    half = t * r.se
    assert r.ci == pytest.approx((r.estimate - half, r.estimate + half), rel=1e-12)
    vc = VarianceComponents(between=0.04, within=0.16, n_items=100, repeats=3)
    z = scipy.stats.norm.isf(alpha / 2) + scipy.stats.norm.ppf(0.8)
    assert design_items(vc, 4, 0.05, alpha=alpha) == math.ceil(z**2 * 0.08 / 0.05**2 - 1e-9)
    p = design_power(vc, 300, 4, 0.05, alpha=alpha)
    shift = 0.05 / math.sqrt(0.08 / 300)
    za = scipy.stats.norm.isf(alpha / 2)
    ref = scipy.stats.norm.cdf(shift - za) + scipy.stats.norm.cdf(-shift - za)
    assert p == pytest.approx(ref, rel=1e-9) and p > 0


@pytest.mark.parametrize(
    ("values", "clusters"),
    [
        ([0.0, 2.0, 0.0, 2.0], "aabb"),  # cluster sums of residuals exactly 0
        ([0.1, 0.3, 0.2, 0.2], "aabb"),  # ... 0 up to rounding: SE 9.8e-18, p was 3e-17
        ([0.1, 0.3, 0.15, 0.25, 0.2, 0.2], "aabbcc"),  # SE 1.4e-17, p was 5e-33
        ([1e12, 1e12 + 2, 1e12 + 1, 1e12 + 1], "aabb"),
    ],
)
def test_zero_cluster_se_with_varying_items_withholds_the_p_value(
    values: list[float], clusters: str
) -> None:
    # Clusters whose mean differences coincide give a cluster-robust SE of 0 although the items
    # vary: the estimator measured no variation, so p = 0 and a CI of width 0 were a verdict
    # from nothing (statsmodels agrees on SE 0 and p 0; it does not judge).
    r = cluster_mean(values, list(clusters))
    assert r.se_iid > 0
    assert math.isnan(r.p_value) and all(math.isnan(x) for x in r.ci)
    assert r.note is not None and "cluster-robust SE is 0" in r.note and "add clusters" in r.note
    assert r.estimate == pytest.approx(np.mean(values), rel=1e-15)


def test_identical_differences_are_exact_as_in_the_paired_t_test() -> None:
    # Every item has the same difference: no spread to measure, the difference is exact (as
    # paired_t and welch report it), with a note; all zeros give p = 1.
    r = cluster_mean([0.5] * 6, list("aabbcc"))
    assert r.p_value == 0.0 and r.ci == (0.5, 0.5) and r.note and "same difference" in r.note
    r = cluster_mean([0.3, 0.1 + 0.2, 0.3, 0.3], list("aabb"))  # SD 3e-17: rounding
    assert r.p_value == 0.0 and r.note and "same difference" in r.note
    r = cluster_mean([0.0] * 4, list("abab"))
    assert r.p_value == 1.0 and r.ci == (0.0, 0.0)
    assert cluster_mean([0.1, 0.3, -0.1, 0.2], list("aabb")).note is None


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan])
def test_a_missing_cluster_id_is_named_not_a_cluster(missing: object) -> None:
    # None or NaN ids became one more cluster ("None" / "nan"): the items without a cluster
    # were pooled as if they shared one.
    with pytest.raises(InvalidArgumentError, match=r"clusters has 2 missing ids \(items 2, 3\)"):
        cluster_mean(np.arange(6.0), ["a", "a", missing, missing, "b", "b"])


def test_text_values_and_bad_effects_are_named() -> None:
    # cluster_mean(["a", "b"], ...) raised numpy's ValueError; design_items(mde="x") a
    # TypeError, and mde=inf said "must be non-zero".
    with pytest.raises(InvalidArgumentError, match="values must be numbers"):
        cluster_mean(["a", "b"], [1, 2])
    vc = VarianceComponents(1.0, 1.0, 10, 2)
    with pytest.raises(InvalidArgumentError, match="mde"):
        design_items(vc, 2, "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="mde == inf, must be finite"):
        design_items(vc, 2, math.inf)


def test_design_power_without_variance() -> None:
    # With ω² = σ² = 0 design_power returned 1.0 whatever the effect: at mde 0 it is the
    # false-positive rate, alpha (as the docstring says, and as the limit var -> 0 gives).
    vc = VarianceComponents(0.0, 0.0, 10, 2)
    assert design_power(vc, 10, 2, 0.0, alpha=0.05) == 0.05
    assert design_power(vc, 10, 2, 0.1) == 1.0
