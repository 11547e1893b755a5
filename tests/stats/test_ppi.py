"""PPI++ mean: equals ppi-python (point estimate and CI) to 1e-6; coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from ppi_py import classical_mean_ci, ppi_mean_ci, ppi_mean_pointestimate

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import ppi_mean

from ._calibration import mc_se


def _data(rng: np.random.Generator, n: int, big_n: int, agree: float, p: float = 0.7):
    y = (rng.random(n + big_n) < p).astype(float)
    yhat = np.where(rng.random(n + big_n) < agree, y, 1 - y)
    return y[:n], yhat[:n], yhat[n:], y


@pytest.mark.parametrize(
    ("seed", "agree", "alpha"), [(0, 0.9, 0.05), (1, 0.6, 0.1), (2, 0.75, 0.05)]
)
def test_equals_ppi_python(seed: int, agree: float, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    y, yh, yu, _ = _data(rng, 80, 900, agree)
    r = ppi_mean(y, yh, yu, alpha=alpha)
    lo, hi = ppi_mean_ci(y, yh, yu, alpha=alpha)
    assert r.estimate == pytest.approx(float(ppi_mean_pointestimate(y, yh, yu)[0]), abs=1e-6)
    assert r.ci == pytest.approx((float(lo[0]), float(hi[0])), abs=1e-6)
    for lam in (0.0, 0.5, 1.0):
        fixed = ppi_mean(y, yh, yu, alpha=alpha, lam=lam)
        lo, hi = ppi_mean_ci(y, yh, yu, alpha=alpha, lam=lam)
        assert fixed.ci == pytest.approx((float(lo[0]), float(hi[0])), abs=1e-6)
    # λ = 0 is the classical (human-only) normal interval
    clo, chi = classical_mean_ci(y, alpha=alpha)
    assert r.classical == pytest.approx(y.mean())
    assert r.classical_ci[1] - r.classical_ci[0] == pytest.approx(float(chi - clo), rel=0.02)


def test_strong_judge_beats_human_only() -> None:
    rng = np.random.default_rng(7)
    y, yh, yu, _ = _data(rng, 100, 3000, 0.95)
    r = ppi_mean(y, yh, yu)
    assert r.lam > 0.7 and r.se < r.classical_se and r.effective_n > 2 * r.n_labeled
    assert r.correlation > 0.8


def test_inputs_named() -> None:
    with pytest.raises(InvalidArgumentError, match="pair them"):
        ppi_mean([1, 0, 1], [1, 0], [1])
    with pytest.raises(InvalidArgumentError, match="lam"):
        ppi_mean([1, 0, 1], [1, 0, 0], [1], lam=2)


def test_ppi_ci_coverage() -> None:
    """3,000 samples of 150 human + 1,500 judge-only labels (judge agrees 85 %): the PPI++
    95 % CI covers the true pass rate 94–96 % of the time."""
    rng = np.random.default_rng(11)
    sims, n, big_n, p = 3000, 150, 1500, 0.7
    truth_y = rng.random((sims, n + big_n)) < p
    flip = rng.random((sims, n + big_n)) >= 0.85
    yhat = np.where(flip, ~truth_y, truth_y).astype(float)
    y = truth_y.astype(float)
    covered = 0
    for s in range(sims):
        r = ppi_mean(y[s, :n], yhat[s, :n], yhat[s, n:])
        covered += r.ci[0] <= p <= r.ci[1]
    cov = covered / sims
    print(f"PPI++ CI coverage {cov:.4f} ± {mc_se(cov, sims):.4f}")
    assert 0.94 <= cov <= 0.96


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_tiny_alpha_gives_a_finite_ci(alpha: float) -> None:
    # norm.ppf(1 - alpha / 2) was inf below alpha ~ 1e-16: both CIs (-inf, inf).
    import scipy.stats

    rng = np.random.default_rng(5)
    y, yh, yu, _ = _data(rng, 100, 1000, 0.9)
    r = ppi_mean(y, yh, yu, alpha=alpha)
    z = scipy.stats.norm.isf(alpha / 2)
    assert r.ci == pytest.approx((r.estimate - z * r.se, r.estimate + z * r.se), rel=1e-12)
    ref = (r.classical - z * r.classical_se, r.classical + z * r.classical_se)
    assert r.classical_ci == pytest.approx(ref, rel=1e-12)


def test_text_labels_are_a_named_error() -> None:
    # numpy's ValueError ("could not convert string to float: 'a'") escaped.
    with pytest.raises(InvalidArgumentError, match="y must be numbers"):
        ppi_mean(["a", "b"], [1, 0], [1])
