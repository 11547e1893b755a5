"""Paired tests (McNemar, paired t, Wilcoxon, bootstrap) against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import mcnemar, paired_bootstrap, paired_t, wilcoxon

from ._strategies import SETTINGS


@SETTINGS
@given(st.integers(0, 300), st.integers(0, 300))
def test_mcnemar_matches_statsmodels(b: int, c: int) -> None:
    ref = sm_mcnemar([[10, b], [c, 10]], exact=True)
    got = mcnemar(b, c)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.statistic == ref.statistic


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(3, 60))
def test_paired_t_and_wilcoxon_match_scipy(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = x + rng.normal(0.3, 1.0, size=n)
    ref = scipy.stats.ttest_rel(y, x)
    got = paired_t(x, y)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (got.ci_low, got.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    wref = scipy.stats.wilcoxon(y, x)
    w = wilcoxon(x, y)
    assert w.p_value == pytest.approx(wref.pvalue, rel=1e-9)
    assert w.statistic == wref.statistic


def test_paired_bootstrap_agrees_with_scipy_bootstrap() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=300)
    y = x + rng.normal(0.2, 1.0, size=300)
    got = paired_bootstrap(x, y, n_boot=4000, seed=1)
    ref = scipy.stats.bootstrap(
        (y - x,),
        np.mean,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(1),
    )
    assert got.estimate == pytest.approx(float(np.mean(y - x)), rel=1e-12)
    # different resamples: the percentile bounds agree to Monte-Carlo error
    assert got.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert got.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.02)
    assert got.se == pytest.approx(ref.standard_error, rel=0.1)
    assert got.p_value < 0.05


def test_paired_bootstrap_is_seeded() -> None:
    x, y = np.arange(20.0), np.arange(20.0) + np.linspace(-1, 2, 20)
    assert paired_bootstrap(x, y, n_boot=500, seed=3) == paired_bootstrap(x, y, n_boot=500, seed=3)
    with pytest.raises(InvalidArgumentError, match="n_boot"):
        paired_bootstrap(x, y, n_boot=10)


def test_paired_degenerate() -> None:
    x = [1.0, 2.0, 3.0]
    for fn in (paired_t, wilcoxon):
        r = fn(x, x)
        assert r.p_value == 1.0 and r.note
    assert paired_bootstrap(x, x, n_boot=200, seed=1).p_value == 1.0
    assert mcnemar(0, 0).p_value == 1.0
    with pytest.raises(InvalidArgumentError, match="pair them"):
        paired_t([1.0, 2.0], [1.0, 2.0, 3.0])
