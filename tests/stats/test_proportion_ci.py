"""Wilson and Clopper–Pearson intervals of one pass rate equal statsmodels' proportion_confint."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import proportion_ci


@pytest.mark.parametrize(("x", "n"), [(0, 1), (0, 7), (3, 7), (10, 10), (45, 120), (1, 300)])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_equals_statsmodels(x: int, n: int, alpha: float) -> None:
    w = proportion_confint(x, n, alpha=alpha, method="wilson")
    cp = proportion_confint(x, n, alpha=alpha, method="beta")
    assert proportion_ci(x, n, alpha=alpha) == pytest.approx(w, abs=1e-12)
    assert proportion_ci(x, n, alpha=alpha, method="clopper-pearson") == pytest.approx(
        cp, abs=1e-12
    )


def test_inputs_named() -> None:
    with pytest.raises(InvalidArgumentError, match="successes"):
        proportion_ci(5, 4)
    with pytest.raises(InvalidArgumentError, match="method"):
        proportion_ci(1, 4, method="wald")  # type: ignore[arg-type]
