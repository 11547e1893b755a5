"""Cohen's κ equals statsmodels (κ and SE); Krippendorff's α equals the krippendorff package."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
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


def test_kappa_and_its_se_by_hand() -> None:
    # 2×2 table [[20, 5], [10, 15]] over 50 items: p_o = 0.7, p_e = (25·30 + 25·20)/50² = 0.5,
    # κ = 0.4; Fleiss, Cohen & Everitt's (1969) SE written out term by term.
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    k = cohens_kappa(a, b)
    assert (k.observed, k.expected, k.kappa) == pytest.approx((0.7, 0.5, 0.4), abs=1e-15)
    p = np.array([[20, 5], [10, 15]]) / 50
    r, c = p.sum(1), p.sum(0)
    term_a = sum(p[i, i] * (1 - (r[i] + c[i]) * 0.6) ** 2 for i in range(2))
    term_b = 0.6**2 * (p[0, 1] * (c[0] + r[1]) ** 2 + p[1, 0] * (c[1] + r[0]) ** 2)
    term_c = (0.4 - 0.5 * 0.6) ** 2
    assert k.se == pytest.approx(((term_a + term_b - term_c) / 0.25 / 50) ** 0.5, rel=1e-12)
    assert k.note is None


def test_kappa_ci_stays_within_its_range() -> None:
    # The normal CI ran past 1: [0.10, 1.10] for 3 of 4 labels agreeing over three categories,
    # [−0.01, 1.24] for a binary 4 of 5.
    k = cohens_kappa(["a", "b", "c", "a"], ["a", "b", "b", "a"])
    assert k.kappa == pytest.approx(0.6) and k.ci[1] == 1.0
    assert k.ci[0] == pytest.approx(0.6 - (1.1019957157561553 - 0.6))
    k = cohens_kappa([1, 0, 1, 0, 1], [1, 0, 0, 0, 1])
    assert k.ci[1] == 1.0 and -1 <= k.ci[0] < k.kappa
    k = cohens_kappa([1, 0, 0, 1, 0, 1], [0, 1, 0, 1, 1, 0])
    assert -1 <= k.ci[0] < k.kappa < k.ci[1] <= 1


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ([1] * 8, [1, 1, 1, 0, 1, 0, 1, 1], "a gives one category only"),
        ([1, 1, 1, 1, 0], [1] * 5, "b gives one category only"),
        ([1, 1, 0, 0, 1], [1, 1, 0, 0, 1], "every item agrees"),
        (["x", "y", "x", "y"], ["y", "x", "y", "x"], "no item agrees"),
    ],
)
def test_kappa_ci_of_width_zero_is_withheld(a: list[object], b: list[object], why: str) -> None:
    # The CI had width 0 ([0, 0], [1, 1], [−1, −1]) from 3–8 items: the asymptotic SE is 0 when a
    # rater gives one category (κ is then 0 whatever the other rater says) or when the table
    # is all on (or all off) the diagonal. κ stays; its SE and CI are withheld with a note.
    k = cohens_kappa(a, b)
    assert k.kappa == pytest.approx(sm_kappa(confusion(a, b)[1]).kappa, abs=1e-12)
    assert np.isnan(k.se) and np.isnan(k.ci[0]) and np.isnan(k.ci[1])
    assert k.note is not None and why in k.note and "no CI" in k.note


def test_kappa_alpha_is_checked_and_tiny_alpha_works() -> None:
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    with pytest.raises(InvalidArgumentError, match="alpha"):
        cohens_kappa(a, b, alpha=1.5)
    # 1 − alpha/2 rounds to 1 below alpha ~ 1e-16: NormalDist().inv_cdf(1.0) raised
    # StatisticsError; the critical value comes from the tail probability instead.
    k = cohens_kappa(a, b, alpha=1e-300)
    assert k.ci == (-1.0, 1.0)
    assert cohens_kappa(a, b, alpha=1e-20).ci[0] == pytest.approx(0.4 - 9.336044849234 * k.se)
    assert cohens_kappa(a, b, alpha=1e-9).ci[0] == pytest.approx(0.4 - 6.109410204869 * k.se)


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


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA])
def test_missing_labels_are_an_error_not_a_category(missing: object) -> None:
    # None and NaN were categories of their own: [1, 2, None] vs [1, 2, 2] gave κ = 0.5 from a
    # "None" rating, and a NaN in both raters agreed with itself. Missing is not a label.
    with pytest.raises(InvalidArgumentError, match=r"a has no label at position 2"):
        cohens_kappa([1, 2, missing, 1], [1, 2, 2, 1])
    with pytest.raises(InvalidArgumentError, match=r"b has no label at position 0"):
        confusion([1, 2], [missing, 2])
