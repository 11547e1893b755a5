"""Tests of two proportions: z test, Fisher's exact test and Pearson's chi-square."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .._checks import check, one_of
from ..errors import InvalidArgumentError
from . import _dist
from ._types import Alternative, Comparison, PropStats, RelMethod
from .means import _check_common, _Core, _finish, _interval, _method_name, _pvalue

Pooled = Literal["test", "both", "none"]


def _props(control: object, treatment: object) -> tuple[int, int, int, int]:
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, PropStats):
            raise InvalidArgumentError(
                f"{name} is a {type(arm).__name__}, must be PropStats(n, successes)"
            )
    return control.successes, control.n, treatment.successes, treatment.n  # type: ignore[attr-defined]


def _ztest_core(
    xc: Any,
    nc: Any,
    xt: Any,
    nt: Any,
    *,
    alpha: float,
    relative: bool = False,
    rel_method: RelMethod = "delta",
    alternative: Alternative = "two-sided",
    pooled: Pooled = "test",
    correction: bool = False,
) -> _Core:
    """Vectorized two-proportion z test; see :func:`ztest_proportions`."""
    xc, nc, xt, nt = (np.asarray(a, dtype=float) for a in (xc, nc, xt, nt))
    pc, pt = xc / nc, xt / nt
    diff = pt - pc
    pp = (xc + xt) / (nc + nt)
    se_pool = np.sqrt(pp * (1 - pp) * (1 / nc + 1 / nt))
    se_wald = np.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    se_test = se_wald if pooled == "none" else se_pool
    se_ci = se_pool if pooled == "both" else se_wald
    # Capped at |diff| as R's prop.test does (YATES <- min(0.5, |DELTA| / Σ 1/n)): the
    # correction shrinks the difference to 0 at most, and widens the CI by no more.
    cc = np.minimum(0.5 * (1 / nc + 1 / nt), np.abs(diff)) if correction else np.zeros_like(diff)
    shrunk = np.sign(diff) * np.maximum(np.abs(diff) - cc, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se_test > 0, shrunk / se_test, np.sign(shrunk) * np.inf)
        stat = np.where(shrunk == 0, 0.0, stat)
        p = _pvalue(stat, None, alternative, "normal")
        z = _dist.norm_isf(alpha / 2 if alternative == "two-sided" else alpha)
        if not relative:
            lo, hi = _interval(diff, z * se_ci + cc, z * se_ci + cc, alternative)
            return _Core(diff, np.clip(lo, -1, 1), np.clip(hi, -1, 1), p, stat, np.inf, se_ci)
        if rel_method == "delta":
            est = diff / pc
            rse = np.sqrt(pt * (1 - pt) / (nt * pc**2) + pc * (1 - pc) * pt**2 / (nc * pc**4))
            lo, hi = _interval(est, z * rse, z * rse, alternative)
            return _Core(est, lo, hi, p, stat, np.inf, rse)
        if rel_method == "divide":
            lo, hi = _interval(diff / pc, (z * se_ci + cc) / pc, (z * se_ci + cc) / pc, alternative)
            return _Core(diff / pc, lo, hi, p, stat, np.inf, se_ci / pc)
        ratio = pt / pc
        if pooled == "both":
            lse = se_pool / pp
        else:
            lse = np.sqrt((1 - pc) / (nc * pc) + (1 - pt) / (nt * pt))
        half = z * lse + cc / pc
        lo = ratio * np.exp(-half) - 1 if alternative != "less" else -np.inf * np.ones_like(ratio)
        hi = ratio * np.exp(half) - 1 if alternative != "greater" else np.inf * np.ones_like(ratio)
        return _Core(ratio - 1, lo, hi, p, stat, np.inf, lse)


def _prop_note(xc: int, nc: int, xt: int, nt: int, relative: bool) -> str | None:
    if relative and xc == 0:
        return "control rate is 0: the relative effect is undefined; use relative=False"
    if xc + xt == 0 or (xc == nc and xt == nt):
        return "no variation in either arm (all 0 or all 1): p = 1, CI of width 0"
    return None


def ztest_proportions(
    control: PropStats,
    treatment: PropStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    rel_method: RelMethod = "delta",
    alternative: Alternative = "two-sided",
    pooled: Pooled = "test",
    correction: bool = False,
) -> Comparison:
    """Two-proportion z test of rate(treatment) − rate(control), two-sided by default.

    Parameters
    ----------
    control, treatment
        Units and successes per arm.
    alpha
        Significance level; CI level ``1 − alpha``.
    relative, rel_method
        Relative lift ``rate_t / rate_c − 1`` (fraction) with a ``"delta"`` (default),
        ``"log"`` or ``"divide"`` CI, as in :func:`welch`. The p-value is always the absolute test's.
    alternative
        H1: ``"two-sided"``, ``"greater"`` (treatment rate higher) or ``"less"``.
    pooled
        ``"test"`` (default): pooled SE for the p-value (equal to the uncorrected 2×2 chi-square),
        unpooled Wald SE for the CI. ``"both"`` / ``"none"``: pooled / unpooled for both
        (tea-tasting's ``equal_var=True`` / ``False``).
    correction
        Continuity correction ``min(0.5 (1/n_c + 1/n_t), |diff|)`` on the statistic and the
        CI, as R's ``prop.test(correct=TRUE)``.

    Returns
    -------
    Comparison
        Difference in proportions (a fraction; ×100 for percentage points), CI clipped to
        [−1, 1], normal p-value, z statistic, ``df=None``.
    """
    _check_common(alpha, alternative, rel_method)
    one_of(pooled, "pooled", ("test", "both", "none"))
    xc, nc, xt, nt = _props(control, treatment)
    core = _ztest_core(
        xc, nc, xt, nt, alpha=alpha, relative=relative, rel_method=rel_method,
        alternative=alternative, pooled=pooled, correction=correction,
    )  # fmt: skip
    base = "z test (pooled)" if pooled == "both" else "z test"
    if pooled == "test":
        base = "z test (pooled test, Wald CI)"
    if correction:
        base += ", continuity corrected"
    return _finish(
        core, method=_method_name(base, relative, rel_method), relative=relative, alpha=alpha,
        alternative=alternative, note=_prop_note(xc, nc, xt, nt, relative), df_is_none=True,
    )  # fmt: skip


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def _newcombe(xc: int, nc: int, xt: int, nt: int, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval for rate_t − rate_c (his method 10)."""
    pc, pt = xc / nc, xt / nt
    lc, uc = _wilson(xc, nc, z)
    lt, ut = _wilson(xt, nt, z)
    d = pt - pc
    return d - math.sqrt((pt - lt) ** 2 + (uc - pc) ** 2), d + math.sqrt(
        (ut - pt) ** 2 + (pc - lc) ** 2
    )


# scipy.stats.fisher_exact multiplies counts in int64; products past this overflow (silently:
# the two-sided p came out equal to the one-sided, or near 1) and so does its odds ratio.
_INT64_SAFE = 2**62


def _fisher(table: list[list[int]], alternative: str) -> tuple[float, float]:
    """Sample odds ratio and p-value of Fisher's exact test on a 2×2 table of counts: scipy's
    ``fisher_exact`` (and ``odds_ratio(kind="sample")``), redone in Python integers and
    ``hypergeom`` when scipy's int64 products would overflow (counts in the billions)."""
    import scipy.stats

    (a, b), (c, d) = table
    if (a + b + 1) * (a + c + 1) < _INT64_SAFE and max(a * d, b * c) < _INT64_SAFE:
        p = float(scipy.stats.fisher_exact(table, alternative=alternative).pvalue)
        odds = scipy.stats.contingency.odds_ratio(table, kind="sample").statistic
        return float(odds), p
    # Python integers do not overflow; no success (or no failure) at all gives NaN and p = 1.
    odds = a * d / (b * c) if b * c else (math.inf if a * d else math.nan)
    rows, col, total = a + b, a + c, a + b + c + d
    h = scipy.stats.hypergeom(total, rows, col)
    if alternative == "less":
        return odds, float(h.cdf(a))
    if alternative == "greater":
        return odds, float(h.sf(a - 1))
    # As scipy: add the tail on the other side of the mode of tables no more probable.
    mode = (col + 1) * (rows + 1) // (total + 2)
    pexact, pmode = float(h.pmf(a)), float(h.pmf(mode))
    gamma = 1 + 1e-14
    if abs(pexact - pmode) / max(pexact, pmode) <= 1e-14:
        return odds, 1.0
    if a < mode:
        p = float(h.cdf(a))
        if float(h.pmf(col)) <= pexact * gamma:
            guess = _dist._search(lambda x: -float(h.pmf(x)), -pexact * gamma, mode, col)
            p += float(h.sf(guess))
    else:
        p = float(h.sf(a - 1))
        if float(h.pmf(0)) <= pexact * gamma:
            p += float(h.cdf(_dist._search(lambda x: float(h.pmf(x)), pexact * gamma, 0, mode)))
    return odds, min(p, 1.0)


def fisher_exact(
    control: PropStats,
    treatment: PropStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    alternative: Alternative = "two-sided",
) -> Comparison:
    """Fisher's exact test of equal proportions, with a CI for their difference.

    The p-value is ``scipy.stats.fisher_exact`` on ``[[x_t, x_c], [n_t − x_t, n_c − x_c]]``
    (two-sided: sum of tables no more probable than the observed one; ``"greater"``: treatment
    rate higher). Being exact and conditional on both margins, it is conservative: its false
    positive rate is at most ``alpha`` and often well below.

    The estimate is ``rate_t − rate_c`` (fraction) with Newcombe's hybrid score CI, which
    keeps its coverage with zero counts; with ``relative`` it is ``rate_t / rate_c − 1`` with the
    Katz log CI of the risk ratio (undefined when a count is 0).
    """
    _check_common(alpha, alternative)
    xc, nc, xt, nt = _props(control, treatment)
    table = [[xt, xc], [nt - xt, nc - xc]]
    odds, p = _fisher(table, alternative)
    z = float(_dist.norm_isf(alpha / 2 if alternative == "two-sided" else alpha))
    note = _prop_note(xc, nc, xt, nt, relative)
    pc, pt = xc / nc, xt / nt
    if relative:
        if xc == 0 or xt == 0:
            note = note or "a zero count: the log CI of the risk ratio is undefined"
            est, lo, hi, se = (pt / pc - 1 if pc else math.nan), math.nan, math.nan, math.nan
            if xc == 0:  # no lift to judge: withhold p, as the z test and welch do
                p = math.nan
        else:
            se = math.sqrt(1 / xt - 1 / nt + 1 / xc - 1 / nc)
            est = pt / pc - 1
            lo, hi = (pt / pc) * math.exp(-z * se) - 1, (pt / pc) * math.exp(z * se) - 1
    else:
        est = pt - pc
        lo, hi = _newcombe(xc, nc, xt, nt, z)
        se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    if alternative == "greater":
        hi = math.inf
    elif alternative == "less":
        lo = -math.inf
    method = "fisher exact" + (", relative (Katz log CI)" if relative else ", Newcombe CI")
    return Comparison(
        est,
        lo,
        hi,
        p if math.isnan(p) else min(1.0, p),
        float(odds),
        None,
        method,
        relative,
        alpha,
        se,
        alternative,
        note,
    )


def chi_square(
    control: PropStats,
    treatment: PropStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    correction: bool = True,
) -> Comparison:
    """Pearson chi-square test of independence on the 2×2 table (two-sided).

    ``correction`` applies Yates' continuity correction (the ``scipy.stats.chi2_contingency``
    default). The estimate is ``rate_t − rate_c`` with the Wald CI (or the delta-method relative
    lift when ``relative``); ``statistic`` is χ² with ``df = 1``.
    """
    check(alpha, "alpha", gt=0, lt=1)
    xc, nc, xt, nt = _props(control, treatment)
    table = np.array([[xt, nt - xt], [xc, nc - xc]])
    note = _prop_note(xc, nc, xt, nt, relative)
    core = _ztest_core(xc, nc, xt, nt, alpha=alpha, relative=relative, pooled="test")
    if (table.sum(axis=0) == 0).any():
        chi2, p = 0.0, 1.0
    else:
        import scipy.stats

        res = scipy.stats.chi2_contingency(table, correction=correction)
        chi2, p = float(res.statistic), float(res.pvalue)
    core = core._replace(p_value=p, statistic=chi2, df=1.0)
    base = "chi-square" + (" (Yates)" if correction else "") + ", Wald CI"
    return _finish(
        core, method=_method_name(base, relative, "delta"), relative=relative, alpha=alpha,
        alternative="two-sided", note=note,
    )  # fmt: skip


def proportion_ci(
    successes: int,
    n: int,
    *,
    alpha: float = 0.05,
    method: Literal["wilson", "clopper-pearson"] = "wilson",
) -> tuple[float, float]:
    """Confidence interval of one pass rate ``successes / n`` (a fraction).

    ``"wilson"`` (score interval, the default: close to nominal coverage even for small ``n``)
    or ``"clopper-pearson"`` (exact, conservative: coverage at least ``1 − alpha``). Equal to
    ``statsmodels.stats.proportion.proportion_confint(..., method="wilson" | "beta")``.

    Raises
    ------
    InvalidArgumentError
        ``n < 1``, ``successes`` outside ``[0, n]``, or an unknown method.

    Examples
    --------
    >>> [round(x, 4) for x in proportion_ci(8, 10)]
    [0.4902, 0.9433]
    """
    import scipy.stats

    check(n, "n", ge=1, integer=True)
    check(successes, "successes", ge=0, le=n, integer=True)
    check(alpha, "alpha", gt=0, lt=1)
    one_of(method, "method", ("wilson", "clopper-pearson"))
    x, m = int(successes), int(n)
    if method == "wilson":
        lo, hi = _wilson(x, m, float(_dist.norm_isf(alpha / 2)))
        return max(lo, 0.0), min(hi, 1.0)
    lo = 0.0 if x == 0 else float(scipy.stats.beta.ppf(alpha / 2, x, m - x + 1))
    hi = 1.0 if x == m else float(scipy.stats.beta.isf(alpha / 2, x + 1, m - x))
    return lo, hi
