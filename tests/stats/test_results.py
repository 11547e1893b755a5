"""Result objects render; quantiles, Bayes priors, paired bootstrap and plans behave."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from promptab_nb.stats import (
    GaussianPrior,
    MeanStats,
    PropStats,
    bayes,
    paired_bootstrap,
    plan,
    quantile_ci,
    quantile_diff,
    srm,
    welch,
)


def test_comparison_repr_and_html_escape() -> None:
    r = welch(MeanStats(100, 120.0, 300.0), MeanStats(100, 130.0, 320.0))
    assert repr(r).startswith("welch t: +0.100 [")
    assert "p = " in repr(r)
    html = r._repr_html_()
    assert html.startswith('<div class="pab"><table>') and "<script" not in html
    assert r.to_pandas().loc[0, "method"] == "welch t"


def test_plan_repr_and_html() -> None:
    p = plan(0.12, mde=0.10, daily_units=2000)
    assert p.days == -(-p.n_total // 2000)
    assert "units" in repr(p) and "13 days" in repr(p)
    assert "<table>" in p._repr_html_() and "Experiment plan" in p._repr_html_()
    three = plan(5.0, sd=2.0, mde=0.05, daily_units=1000, arms=3)
    assert three.n_total == three.n_control + 2 * three.n_treatment


def test_quantile_ci_is_exact_order_statistic() -> None:
    rng = np.random.default_rng(3)
    x = rng.exponential(size=500)
    r = quantile_ci(x, 0.5)
    assert r.coverage >= 0.95 and r.ci_low <= np.median(x) <= r.ci_high
    # Coverage by simulation of the exponential p95 (−log 0.05): at least nominal.
    sims, true = 1000, -np.log(0.05)
    hits = 0
    for _ in range(sims):
        ci = quantile_ci(rng.exponential(size=200), 0.95)
        hits += ci.ci_low <= true <= ci.ci_high
    assert hits / sims >= 0.95 - 3 * np.sqrt(0.05 * 0.95 / sims)


def test_quantile_diff_seeded_and_reasonable() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(size=400), rng.lognormal(size=400) * 1.5
    r1 = quantile_diff(a, b, 0.95, seed=42, n_boot=500)
    r2 = quantile_diff(a, b, 0.95, seed=42, n_boot=500)
    assert r1 == r2
    assert r1.ci_low < r1.estimate < r1.ci_high
    assert r1.estimate == pytest.approx(np.quantile(b, 0.95) - np.quantile(a, 0.95))


def test_paired_bootstrap_close_to_paired_t() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y = x + rng.normal(0.2, 1.0, size=300)
    r = paired_bootstrap(x, y, n_boot=2000, seed=0)
    ref = scipy.stats.ttest_rel(y, x).confidence_interval()
    assert r.ci_low == pytest.approx(ref.low, abs=0.03) and r.ci_high == pytest.approx(
        ref.high, abs=0.03
    )


def test_bayes_prior_shrinks_and_loss() -> None:
    a, b = PropStats(1000, 100), PropStats(1000, 120)
    flat = bayes(a, b)
    tight = bayes(a, b, prior=GaussianPrior(0.0, 0.01**2))
    assert abs(tight.estimate) < abs(flat.estimate) and tight.posterior_sd < flat.posterior_sd
    assert flat.chance_to_win == pytest.approx(
        scipy.stats.norm.sf(0, flat.estimate, flat.posterior_sd)
    )
    # E[max(0, X)] − E[max(0, −X)] = E[X]
    assert flat.expected_loss_control - flat.expected_loss_treatment == pytest.approx(flat.estimate)
    assert "chance to win" in repr(flat)


def test_srm_mapping_and_flag() -> None:
    r = srm({"control": 5000, "test": 5400}, {"control": 50, "test": 50})
    assert r.mismatch and r.p_value < 0.001 and "MISMATCH" in repr(r)
    assert not srm([5000, 5010]).mismatch
