"""Power, sample size and minimum detectable effect from an observed per-unit variance.

The test planned for is Welch's t test of two arms (``ratio`` = treatment units per control
unit) with the same per-unit variance in both, the variance being whatever the metric's test
uses: the sample variance of a mean, the delta-method variance of a ratio, the CUPED-adjusted
variance, or a quantile's clustered variance. Power uses the noncentral t distribution with
Welch's degrees of freedom, as tea-tasting's ``solve_power`` (equal to 1e-6).
"""

from __future__ import annotations

import math
from typing import Literal

from .._checks import check, one_of

Alternative = Literal["two-sided", "greater", "less"]


def _dists(var: float, n_total: float, ratio: float, effect: float) -> tuple[object, object]:
    import scipy.stats

    n_c, n_t = n_total / (1 + ratio), n_total * ratio / (1 + ratio)
    vc, vt = var / n_c, var / n_t
    scale = math.sqrt(vc + vt)
    df = (vc + vt) ** 2 / (vc**2 / (n_c - 1) + vt**2 / (n_t - 1))
    null = scipy.stats.t(df=df, scale=scale)
    alt = scipy.stats.nct(df=df, nc=effect / scale, scale=scale)
    return null, alt


def t_power(
    var: float,
    n_total: float,
    effect: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Power of Welch's t test to detect ``effect`` (metric unit, treatment − control) with
    ``n_total`` units over both arms and a per-unit variance ``var`` (metric unit²).

    H1 as ``alternative``: two-sided by default; ``"greater"``/``"less"`` one-sided.
    """
    check(var, "var", gt=0)
    check(n_total, "n_total", gt=3)
    check(alpha, "alpha", gt=0, lt=1)
    check(ratio, "ratio", gt=0)
    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    null, alt = _dists(var, n_total, ratio, effect)
    if alternative == "greater":
        return float(alt.sf(null.isf(alpha)))  # type: ignore[attr-defined]
    if alternative == "less":
        return float(alt.cdf(null.ppf(alpha)))  # type: ignore[attr-defined]
    crit = null.isf(alpha / 2)  # type: ignore[attr-defined]
    return float(alt.cdf(-crit) + alt.sf(crit))  # type: ignore[attr-defined]


def _bracket(fn: object, init: float) -> float:
    b = init
    for _ in range(100):
        if fn(b) <= 0:  # type: ignore[operator]
            return b
        b *= 10
    raise RuntimeError("no bracket found for the power equation")  # pragma: no cover


def t_sample_size(
    var: float,
    effect: float,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Total units (both arms, not rounded) for Welch's t test to reach ``power`` at
    ``effect`` (metric unit); round up for a plan."""
    import scipy.optimize

    check(power, "power", gt=0, lt=1)
    if effect == 0:
        return math.inf

    def fn(n: float) -> float:
        return power - t_power(var, n, effect, alpha=alpha, ratio=ratio, alternative=alternative)

    return float(scipy.optimize.brentq(fn, 3.0 + 1e-9, _bracket(fn, 10.0), xtol=1e-12))


def t_mde(
    var: float,
    n_total: float,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Smallest effect (metric unit, > 0; < 0 for ``alternative="less"``) Welch's t test
    detects with ``power`` from ``n_total`` units over both arms."""
    import scipy.optimize

    check(power, "power", gt=0, lt=1)
    sign = -1.0 if alternative == "less" else 1.0

    def fn(x: float) -> float:
        return power - t_power(
            var, n_total, sign * x, alpha=alpha, ratio=ratio, alternative=alternative
        )

    hi = _bracket(fn, 10 * math.sqrt(var / n_total))
    return sign * float(scipy.optimize.brentq(fn, 0.0, hi, xtol=1e-14, rtol=1e-12))


__all__ = ["t_mde", "t_power", "t_sample_size"]
