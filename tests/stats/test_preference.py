"""Bradley–Terry with ties: strengths equal choix (ILSR) and a statsmodels logit to 1e-6."""

from __future__ import annotations

import choix
import numpy as np
import pytest
import statsmodels.api as sm

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import bradley_terry
from promptab_nb.stats.preference import bradley_terry_batch


def _counts(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wins = rng.integers(1, 25, (k, k)).astype(float)
    np.fill_diagonal(wins, 0)
    ties = np.triu(rng.integers(0, 6, (k, k)), 1).astype(float)
    return wins, ties


@pytest.mark.parametrize(("seed", "k"), [(0, 3), (1, 4), (2, 6)])
def test_strengths_equal_choix(seed: int, k: int) -> None:
    wins, ties = _counts(seed, k)
    fit = bradley_terry(wins + 0.5 * (ties + ties.T))
    # A tie is half a win each: list decisive outcomes twice, a tie once each way.
    data: list[tuple[int, int]] = []
    for i in range(k):
        for j in range(k):
            data += [(i, j)] * int(2 * wins[i, j]) + [(i, j), (j, i)] * int(ties[i, j])
    ref = choix.ilsr_pairwise(k, data, tol=1e-14, max_iter=10_000)
    assert fit.converged
    np.testing.assert_allclose(fit.strengths, ref - ref.mean(), atol=1e-6)


def test_strengths_equal_statsmodels_logit() -> None:
    wins, ties = _counts(5, 4)
    w = wins + 0.5 * (ties + ties.T)
    rows, y, weight = [], [], []
    for i in range(4):
        for j in range(i + 1, 4):
            x = np.zeros(4)
            x[i], x[j] = 1, -1
            rows += [x[1:], x[1:]]  # item 0 is the reference
            y += [1, 0]
            weight += [w[i, j], w[j, i]]
    glm = sm.GLM(np.array(y), np.array(rows), family=sm.families.Binomial(),
                 freq_weights=np.array(weight)).fit(tol=1e-14)  # fmt: skip
    ref = np.concatenate([[0.0], glm.params])
    np.testing.assert_allclose(bradley_terry(w).strengths, ref - ref.mean(), atol=1e-6)


def test_batch_equals_single_and_ridge_keeps_separation_finite() -> None:
    wins, ties = _counts(3, 3)
    batch = np.stack([wins, wins.T, wins + ties])
    theta, done, _ = bradley_terry_batch(batch)
    assert done.all()
    for b in range(3):
        np.testing.assert_allclose(theta[b], bradley_terry(batch[b]).strengths, atol=1e-10)
    separated = np.array([[0, 5.0], [0.0, 0]])
    assert not bradley_terry(separated).converged
    ridge = bradley_terry(separated, reg=0.1)
    assert ridge.converged and np.isfinite(ridge.strengths).all() and ridge.prob(0, 1) > 0.9
    # the second item winning every comparison is the same fit mirrored (it raised "the
    # comparisons do not connect every item": the information rounded to 0, a singular solve)
    mirrored = bradley_terry(separated.T)
    assert not mirrored.converged and mirrored.prob(1, 0) > 1 - 1e-9
    assert bradley_terry(separated.T, reg=0.1).prob(1, 0) == pytest.approx(ridge.prob(0, 1))


def test_disconnected_is_named() -> None:
    with pytest.raises(InvalidArgumentError, match="never compared"):
        bradley_terry(np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]]))


@pytest.mark.parametrize("reg", [0.1, 1.0])
def test_ridge_equals_choix(reg: float) -> None:
    # Item 0 loses every comparison (no finite unpenalised fit): the ridge reg/2·‖θ‖² identifies
    # it, as choix's penalty alpha·‖θ‖² with alpha = reg/2.
    rng = np.random.default_rng(0)
    wins = rng.integers(0, 6, (4, 4)).astype(float)
    np.fill_diagonal(wins, 0)
    wins[0] = 0
    data = [(i, j) for i in range(4) for j in range(4) for _ in range(int(wins[i, j]))]
    ref = choix.opt_pairwise(4, data, alpha=reg / 2, method="Newton-CG", tol=1e-12)
    fit = bradley_terry(wins, reg=reg)
    assert fit.converged
    np.testing.assert_allclose(fit.strengths, ref, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_wins_are_an_error(bad: float) -> None:
    # NaN counts were reported as "the comparisons do not connect every item"; inf gave NaN
    # strengths without a word.
    with pytest.raises(InvalidArgumentError, match="NaN or infinite"):
        bradley_terry(np.array([[0.0, bad], [1.0, 0.0]]))
