"""Cohen's κ equals statsmodels (κ and SE); Krippendorff's α equals the krippendorff package."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import cohens_kappa, krippendorff_alpha
from promptab_nb.stats.agreement import confusion


@pytest.mark.parametrize(("seed", "cats"), [(0, 2), (1, 3), (2, 4)])
def test_kappa_equals_statsmodels(seed: int, cats: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, cats, 150)
    b = np.where(rng.random(150) < 0.65, a, rng.integers(0, cats, 150))
    k = cohens_kappa(a, b)
    _, table = confusion(a, b)
    ref = sm_kappa(table)
    assert k.kappa == pytest.approx(ref.kappa, abs=1e-12)
    assert k.se == pytest.approx(ref.std_kappa, abs=1e-12)
    assert k.ci == pytest.approx((ref.kappa_low, ref.kappa_upp), abs=1e-9)


def test_kappa_one_category_is_undefined() -> None:
    with pytest.raises(InvalidArgumentError, match="undefined"):
        cohens_kappa([1, 1, 1], [1, 1, 1])


@pytest.mark.parametrize("seed", range(4))
def test_alpha_equals_krippendorff(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 60)
    r = np.where(rng.random((4, 60)) < 0.7, truth, rng.integers(0, 3, (4, 60))).astype(float)
    r[rng.random(r.shape) < 0.25] = np.nan
    ref = krippendorff.alpha(reliability_data=r, level_of_measurement="nominal")
    assert krippendorff_alpha(r) == pytest.approx(ref, abs=1e-12)


def test_alpha_two_raters_binary() -> None:
    a = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 1], float)
    b = np.array([1, 0, 1, 0, 0, 1, 0, 1, 1, 1], float)
    ref = krippendorff.alpha(reliability_data=[a, b], level_of_measurement="nominal")
    assert krippendorff_alpha([a, b]) == pytest.approx(ref, abs=1e-12)
