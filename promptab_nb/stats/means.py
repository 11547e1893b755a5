"""Two-sample t tests on means (Welch, Student) and the relative-effect helpers every test shares.

The engine, :func:`_compare_core`, works on numpy arrays so that simulation studies can run
thousands of experiments at once through exactly the code the scalar functions use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from .._checks import check, one_of
from ..errors import InvalidArgumentError
from . import _dist
from ._types import (
    Alternative,
    Comparison,
    MeanStats,
    PropStats,
    RelMethod,
    _test_variance,
    _variance_note,
)

Dist = Literal["welch", "student", "normal"]
_ALTERNATIVES = ("two-sided", "greater", "less")
_REL_METHODS = ("delta", "log", "divide")


class _Core(NamedTuple):
    estimate: Any
    ci_low: Any
    ci_high: Any
    p_value: Any
    statistic: Any
    df: Any
    se: Any


def _check_common(alpha: float, alternative: str, rel_method: str = "delta") -> None:
    check(alpha, "alpha", gt=0, lt=1)
    one_of(alternative, "alternative", _ALTERNATIVES)
    one_of(rel_method, "rel_method", _REL_METHODS)


def _quantile(tail: float, df: Any, dist: Dist) -> Any:
    """Critical value with upper-tail probability ``tail`` (from the tail: ``1 − tail`` would
    round to 1 and give inf below alpha ~ 1e-16)."""
    if dist == "normal":
        return _dist.norm_isf(tail) * np.ones_like(np.asarray(df, dtype=float))
    return _dist.t_isf(tail, df)


def _pvalue(stat: Any, df: Any, alternative: str, dist: Dist) -> Any:
    sf: Callable[[Any], Any]
    cdf: Callable[[Any], Any]
    if dist == "normal":
        sf, cdf = _dist.norm_sf, _dist.norm_cdf
    else:
        sf, cdf = (lambda x: _dist.t_sf(x, df)), (lambda x: _dist.t_cdf(x, df))
    if alternative == "two-sided":
        return 2 * sf(np.abs(stat))
    if alternative == "greater":
        return sf(stat)
    return cdf(stat)


def _scale_df(va: Any, na: Any, vb: Any, nb: Any, dist: Dist) -> tuple[Any, Any]:
    """Squared standard error and degrees of freedom of mean(b) − mean(a) from per-unit variances."""
    if dist == "student":
        pooled = ((na - 1) * va + (nb - 1) * vb) / (na + nb - 2)
        return pooled / na + pooled / nb, na + nb - 2.0
    sa, sb = va / na, vb / nb
    s2 = sa + sb
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Welch–Satterthwaite from the arms' shares of s2: squaring sa and sb themselves
        # overflows (values ~1e150) or underflows (~1e-150) to inf/inf or 0/0.
        wa, wb = sa / s2, sb / s2
        df = 1 / (wa * wa / (na - 1) + wb * wb / (nb - 1))
    # Both variances 0: Welch df is 0/0; the pooled df keeps the result defined.
    df = np.where(np.isfinite(df), df, na + nb - 2.0)
    return s2, df


def _interval(est: Any, half_lo: Any, half_hi: Any, alternative: str) -> tuple[Any, Any]:
    lo = est - half_lo if alternative != "less" else -np.inf * np.ones_like(est)
    hi = est + half_hi if alternative != "greater" else np.inf * np.ones_like(est)
    return lo, hi


def _compare_core(
    mc: Any,
    vc: Any,
    nc: Any,
    mt: Any,
    vt: Any,
    nt: Any,
    *,
    alpha: float,
    relative: bool,
    rel_method: RelMethod = "delta",
    alternative: Alternative = "two-sided",
    dist: Dist = "welch",
) -> _Core:
    """Compare two arms given per-arm means, per-unit variances and unit counts (arrays welcome).

    Absolute: ``mt − mc`` with the ``dist`` standard error and df. Relative ``delta``: lift
    ``(mt − mc)/|mc|`` with the delta-method variance ``vt/(nt mc²) + vc mt²/(nc mc⁴)`` and the
    df of the absolute test (GrowthBook/PostHog). Relative ``log``: CI of ``mt/mc`` on the log
    scale, p-value of the absolute test (tea-tasting). Relative ``divide``: absolute estimate and
    CI divided by ``|mc|``, treating the control mean as known (Spotify confidence).
    """
    mc, vc, nc, mt, vt, nt = (np.asarray(a, dtype=float) for a in (mc, vc, nc, mt, vt, nt))
    tail = alpha / 2 if alternative == "two-sided" else alpha
    s2, df = _scale_df(vc, nc, vt, nt, dist)
    se = np.sqrt(s2)
    diff = mt - mc
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, diff / se, np.sign(diff) * np.inf)
        stat = np.where((se == 0) & (diff == 0), 0.0, stat)
        p = _pvalue(stat, df, alternative, dist)
        q = _quantile(tail, df, dist)
        if not relative:
            lo, hi = _interval(diff, q * se, q * se, alternative)
            return _Core(diff, lo, hi, p, stat, df, se)
        if rel_method == "delta":
            if dist == "student":
                vc = vt = ((nc - 1) * vc + (nt - 1) * vt) / (nc + nt - 2)
            est = diff / np.abs(mc)
            rse = np.sqrt(vt / (nt * mc**2) + vc * mt**2 / (nc * mc**4))
            rstat = np.where(rse > 0, est / rse, np.sign(est) * np.inf)
            rstat = np.where((rse == 0) & (est == 0), 0.0, rstat)
            rp = _pvalue(rstat, df, alternative, dist)
            lo, hi = _interval(est, q * rse, q * rse, alternative)
            return _Core(est, lo, hi, rp, rstat, df, rse)
        if rel_method == "divide":
            scale = np.abs(mc)
            lo, hi = _interval(diff / scale, q * se / scale, q * se / scale, alternative)
            return _Core(diff / scale, lo, hi, p, stat, df, se / scale)
        # log scale: variances of log means are v / m²; their own df (pooled when Student).
        ratio = mt / mc
        ls2, ldf = _scale_df(vc / mc**2, nc, vt / mt**2, nt, dist)
        lse = np.sqrt(ls2)
        lq = _quantile(tail, ldf, dist)
        lo = (
            ratio * np.exp(-lq * lse) - 1
            if alternative != "less"
            else -np.inf * np.ones_like(ratio)
        )
        hi = (
            ratio * np.exp(lq * lse) - 1
            if alternative != "greater"
            else np.inf * np.ones_like(ratio)
        )
        bad = ~(ratio > 0)
        lo, hi = np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
        return _Core(ratio - 1, lo, hi, p, stat, ldf, lse)


def _degenerate_note(
    vc: float, vt: float, mc: float, relative: bool, rel_method: str
) -> str | None:
    if relative and mc == 0:
        return "control mean is 0: the relative effect is undefined; use relative=False"
    if vc == 0 and vt == 0:
        return "zero variance in both arms: the difference is exact (CI of width 0)"
    return None


def _finish(
    core: _Core,
    *,
    method: str,
    relative: bool,
    alpha: float,
    alternative: str,
    note: str | None,
    df_is_none: bool = False,
) -> Comparison:
    vals = {k: float(np.asarray(v)) for k, v in core._asdict().items()}
    if note and "relative effect is undefined" in note:
        vals.update(estimate=math.nan, ci_low=math.nan, ci_high=math.nan, p_value=math.nan)
        vals.update(statistic=math.nan, se=math.nan)
    return Comparison(
        estimate=vals["estimate"],
        ci_low=vals["ci_low"],
        ci_high=vals["ci_high"],
        p_value=vals["p_value"] if math.isnan(vals["p_value"]) else min(1.0, vals["p_value"]),
        statistic=vals["statistic"],
        df=None if df_is_none else vals["df"],
        method=method,
        relative=relative,
        alpha=alpha,
        se=vals["se"],
        alternative=alternative,
        note=note,
    )


def _method_name(base: str, relative: bool, rel_method: str) -> str:
    if not relative:
        return base
    label = {"delta": "delta method", "log": "log scale", "divide": "divided by control mean"}
    return f"{base}, relative ({label[rel_method]})"


def _arm_moments(arm: object, name: str) -> tuple[float, float, int]:
    if not isinstance(arm, MeanStats | PropStats):
        raise InvalidArgumentError(
            f"{name} is a {type(arm).__name__}, must be MeanStats or PropStats "
            "(use ratio_test for RatioStats, cuped for CovStats)"
        )
    return arm.mean, arm.var, arm.n


def _t_test(
    control: MeanStats | PropStats,
    treatment: MeanStats | PropStats,
    *,
    alpha: float,
    relative: bool,
    rel_method: RelMethod,
    alternative: Alternative,
    dist: Dist,
    base: str,
) -> Comparison:
    _check_common(alpha, alternative, rel_method)
    mc, vc, nc = _arm_moments(control, "control")
    mt, vt, nt = _arm_moments(treatment, "treatment")
    (vc, bc), (vt, bt) = _test_variance(control), _test_variance(treatment)
    names = [n for n, b in (("control", bc), ("treatment", bt)) if b is not None]
    bounds = [b for b in (bc, bt) if b is not None]
    note = _degenerate_note(vc, vt, mc, relative, rel_method)
    if names and not (note and "undefined" in note):
        note = _variance_note(names, bounds)
    core = _compare_core(
        mc, vc, nc, mt, vt, nt, alpha=alpha, relative=relative, rel_method=rel_method,
        alternative=alternative, dist=dist,
    )  # fmt: skip
    if relative and rel_method == "log" and not (mc != 0 and mt / mc > 0):
        note = note or "means of opposite sign or zero: no log-scale CI; use rel_method='delta'"
    return _finish(
        core, method=_method_name(base, relative, rel_method), relative=relative, alpha=alpha,
        alternative=alternative, note=note, df_is_none=dist == "normal",
    )  # fmt: skip


def welch(
    control: MeanStats | PropStats,
    treatment: MeanStats | PropStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    rel_method: RelMethod = "delta",
    alternative: Alternative = "two-sided",
) -> Comparison:
    """Welch t test of mean(treatment) − mean(control), two-sided by default.

    Parameters
    ----------
    control, treatment
        Per-arm sufficient statistics (:class:`MeanStats`, or :class:`PropStats` with per-unit
        variance ``p (1 - p)`` as PostHog does).
    alpha
        Significance level; the CI has level ``1 − alpha``.
    relative
        Report the relative lift ``treatment / control − 1`` (a fraction) instead of the
        difference in the metric's unit.
    rel_method
        ``"delta"`` (PostHog/GrowthBook: symmetric CI by the delta method, df of the absolute
        test), ``"log"`` (CI of the ratio on the log scale, asymmetric; tea-tasting) or
        ``"divide"`` (absolute CI divided by the control mean; Spotify confidence).
    alternative
        H1: ``"two-sided"`` (means differ), ``"greater"`` (treatment > control) or ``"less"``.

    Returns
    -------
    Comparison
        Estimate, CI, p-value from Student's t distribution with Welch–Satterthwaite df
        (exact ``scipy.stats.t``, never a normal approximation), statistic, df and SE.

    Raises
    ------
    InvalidArgumentError
        ``alpha`` outside (0, 1), an unknown option, or arms of an unsupported type.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a = MeanStats.from_values(rng.lognormal(size=200))
    >>> b = MeanStats.from_values(rng.lognormal(size=200) * 1.2)
    >>> welch(a, b)
    welch t: +0.261 [−0.161, +0.683] (95% CI), p = 0.224
    >>> round(welch(a, b).p_value, 3)
    0.224
    """
    return _t_test(
        control, treatment, alpha=alpha, relative=relative, rel_method=rel_method,
        alternative=alternative, dist="welch", base="welch t",
    )  # fmt: skip


def student(
    control: MeanStats | PropStats,
    treatment: MeanStats | PropStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    rel_method: RelMethod = "delta",
    alternative: Alternative = "two-sided",
) -> Comparison:
    """Student t test (pooled variance, df = n_c + n_t − 2) of mean(treatment) − mean(control).

    Same parameters and result as :func:`welch`; prefer Welch unless the variances are known to
    be equal. Two-sided by default; the estimate is in the metric's unit (or a fraction when
    ``relative``).
    """
    return _t_test(
        control, treatment, alpha=alpha, relative=relative, rel_method=rel_method,
        alternative=alternative, dist="student", base="student t",
    )  # fmt: skip
