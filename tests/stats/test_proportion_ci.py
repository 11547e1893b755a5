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


@pytest.mark.parametrize("alpha", [1e-10, 1e-17, 1e-300])
def test_tiny_alpha_gives_the_exact_tail_interval(alpha: float) -> None:
    # The Wilson interval was (nan, nan) below alpha ~ 1e-16 (z = inf) and Clopper-Pearson's
    # upper bound 1.0 (beta.ppf(1.0)). Both come from the tail probability alpha / 2 now.
    import math

    import scipy.stats

    z = scipy.stats.norm.isf(alpha / 2)
    p, n = 0.1, 100
    denom = 1 + z * z / n
    centre, half = (
        (p + z * z / (2 * n)) / denom,
        z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom,
    )
    assert proportion_ci(10, 100, alpha=alpha) == pytest.approx(
        (centre - half, centre + half), rel=1e-12
    )
    lo, hi = proportion_ci(10, 100, alpha=alpha, method="clopper-pearson")
    assert lo == pytest.approx(scipy.stats.beta.ppf(alpha / 2, 10, 91), rel=1e-9)
    assert hi == pytest.approx(scipy.stats.beta.isf(alpha / 2, 11, 90), rel=1e-9)
    assert 0 < lo < 0.1 < hi < 1
