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
from ..errors import InvalidArgumentError
from .power import _finite, _nct_sf

Alternative = Literal["two-sided", "greater", "less"]


def _df_scale(var: float, n_total: float, ratio: float) -> tuple[float, float]:
    """Welch's degrees of freedom and the standard error of the difference (metric unit)."""
    n_c, n_t = n_total / (1 + ratio), n_total * ratio / (1 + ratio)
    # From the arms' shares of the variance: squaring var / n overflowed at var 1e200.
    ic, it = 1 / n_c, 1 / n_t
    wc, wt = ic / (ic + it), it / (ic + it)
    df = 1 / (wc * wc / (n_c - 1) + wt * wt / (n_t - 1))
    return df, math.sqrt(var) * math.sqrt(ic + it)


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
    _finite(var, "var", ": the per-unit variance")
    check(n_total, "n_total", gt=3)
    _finite(n_total, "n_total", ": the units over both arms")
    check(effect, "effect")
    _finite(effect, "effect", ": the effect to detect")
    check(alpha, "alpha", gt=0, lt=1)
    check(ratio, "ratio", gt=0)
    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    _finite(ratio, "ratio", ": treatment units per control unit")
    n_c, n_t = n_total / (1 + ratio), n_total * ratio / (1 + ratio)
    if min(n_c, n_t) <= 1:
        raise InvalidArgumentError(
            f"n_total == {n_total!r} with ratio == {ratio!r} gives {n_c:.3g} control and "
            f"{n_t:.3g} treatment units; Welch's t needs more than 1 unit in each arm"
        )
    import scipy.stats

    df, scale = _df_scale(var, n_total, ratio)
    nc = effect / scale

    # Every tail as an upper tail, P(T' < −c | nc) = P(T' > c | −nc): scipy's noncentral t
    # CDF returns NaN for a far lower tail that underflows (nc = 5 at 50 units per arm), which
    # made the power NaN and the sample-size and MDE solvers fail; its survival function does not.
    def beyond(crit: float, nc: float) -> float:
        # A critical value past the largest double (alpha 1e-300 at a few units) is never
        # reached, but scipy's noncentral t gives sf(inf) == 1, which made the power 2.0.
        return _nct_sf(crit, df, nc) if math.isfinite(crit) else 0.0

    if alternative == "greater":
        return beyond(scipy.stats.t.isf(alpha, df), nc)
    if alternative == "less":
        return beyond(scipy.stats.t.isf(alpha, df), -nc)
    crit = scipy.stats.t.isf(alpha / 2, df)
    return beyond(crit, nc) + beyond(crit, -nc)


def _min_total(ratio: float) -> float:
    """The smallest total with 1.5 units in the smaller arm (3 units at ``ratio`` 1)."""
    return 1.5 * (1 + ratio) * max(1.0, 1.0 / ratio)


def _bracket(fn: object, init: float, what: str) -> float:
    b = init
    for _ in range(100):
        if fn(b) <= 0:  # type: ignore[operator]
            return b
        b *= 10
    raise InvalidArgumentError(f"the power equation has no solution: {what}")


def _sign_conflict(effect: float, alternative: str) -> bool:
    return (alternative == "greater" and effect < 0) or (alternative == "less" and effect > 0)


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
    ``effect`` (metric unit); round up for a plan. When even the smallest sample (1.5 units in
    the smaller arm: just over 3 units at ``ratio`` 1) reaches ``power``, that smallest sample
    is returned.

    Raises
    ------
    InvalidArgumentError
        ``effect`` of the sign a one-sided ``alternative`` cannot detect (e.g. a negative
        effect with ``"greater"``), or too small for any realistic sample.
    """
    import scipy.optimize

    check(power, "power", gt=0, lt=1)
    check(effect, "effect")
    _finite(effect, "effect", ": the effect to detect")
    if effect == 0:
        return math.inf
    if _sign_conflict(effect, alternative):
        raise InvalidArgumentError(
            f"effect == {effect!r} but alternative == {alternative!r} tests for "
            f"{'an increase' if alternative == 'greater' else 'a decrease'}; flip the sign "
            "of the effect or the alternative"
        )

    def fn(n: float) -> float:
        return power - t_power(var, n, effect, alpha=alpha, ratio=ratio, alternative=alternative)

    lo = _min_total(ratio) * (1 + 1e-9)
    if fn(lo) <= 0:
        return lo
    hi = _bracket(fn, 10.0 * lo / 3, f"effect == {effect!r} is too small to detect with any sample")
    return float(scipy.optimize.brentq(fn, lo, hi, xtol=1e-12))


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
    check(alpha, "alpha", gt=0, lt=1)
    if power <= alpha:
        # The test rejects a zero effect with probability alpha: no effect solves the equation.
        raise InvalidArgumentError(
            f"power == {power!r} is not above alpha == {alpha!r}, the power of a zero effect; "
            "ask for power > alpha (0.8 is usual)"
        )
    sign = -1.0 if alternative == "less" else 1.0

    def fn(x: float) -> float:
        return power - t_power(
            var, n_total, sign * x, alpha=alpha, ratio=ratio, alternative=alternative
        )

    hi = _bracket(
        fn,
        10 * math.sqrt(var / n_total),
        f"no effect reaches power == {power!r} with n_total == {n_total!r} at alpha == "
        f"{alpha!r}; ask for a larger alpha or plan more units",
    )
    # (xtol relative to the bracket: an absolute 1e-14 lost digits at an SD of 1e-6)
    return sign * float(scipy.optimize.brentq(fn, 0.0, hi, xtol=1e-14 * hi, rtol=1e-12))


__all__ = ["t_mde", "t_power", "t_sample_size"]
