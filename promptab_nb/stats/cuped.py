"""CUPED: variance reduction with a pre-period covariate and a θ pooled over both arms."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import one_of
from ..errors import InvalidArgumentError
from . import _dist
from ._types import Alternative, Comparison, CovStats
from .means import _check_common, _compare_core, _Core, _finish, _interval, _pvalue


@dataclass(frozen=True, repr=False)
class CupedComparison(Comparison):
    """A :class:`Comparison` that also reports the CUPED coefficient ``theta``."""

    theta: float = math.nan


def _theta(
    nc: Any, xc: Any, xxc: Any, xyc: Any, yc: Any, nt: Any, xt: Any, xxt: Any, xyt: Any, yt: Any
) -> Any:
    """θ = Cov(y, x) / Var(x) over the units of both arms pooled (GrowthBook/PostHog)."""
    n, x, y = nc + nt, xc + xt, yc + yt
    var_x = (xxc + xxt - x * x / n) / (n - 1)
    cov = (xyc + xyt - x * y / n) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var_x > 0, cov / var_x, 0.0)


def _cuped_core(
    c: tuple[Any, ...],
    t: tuple[Any, ...],
    *,
    alpha: float,
    relative: bool,
    alternative: Alternative = "two-sided",
) -> tuple[_Core, Any]:
    """Vectorized CUPED. ``c``/``t`` are ``(n, y, yy, x, xx, xy)`` sums (arrays welcome)."""
    nc, yc, yyc, xc, xxc, xyc = (np.asarray(a, dtype=float) for a in c)
    nt, yt, yyt, xt, xxt, xyt = (np.asarray(a, dtype=float) for a in t)
    theta = _theta(nc, xc, xxc, xyc, yc, nt, xt, xxt, xyt, yt)

    def moments(n: Any, y: Any, yy: Any, x: Any, xx: Any, xy: Any) -> tuple[Any, ...]:
        my, mx = y / n, x / n
        vy = np.maximum((yy - y * my) / (n - 1), 0.0)
        vx = np.maximum((xx - x * mx) / (n - 1), 0.0)
        cov = (xy - x * my) / (n - 1)
        return my, mx, vy, vx, cov

    myc, mxc, vyc, vxc, covc = moments(nc, yc, yyc, xc, xxc, xyc)
    myt, mxt, vyt, vxt, covt = moments(nt, yt, yyt, xt, xxt, xyt)
    adj_vc = np.maximum(vyc + theta**2 * vxc - 2 * theta * covc, 0.0)
    adj_vt = np.maximum(vyt + theta**2 * vxt - 2 * theta * covt, 0.0)
    adj_c, adj_t = myc - theta * mxc, myt - theta * mxt
    core = _compare_core(
        adj_c, adj_vc, nc, adj_t, adj_vt, nt, alpha=alpha, relative=False, alternative=alternative
    )
    if not relative:
        return core, theta
    # GrowthBook's relative CUPED: divide by the unadjusted control mean; delta-method variance.
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (adj_t - adj_c) / np.abs(myc)
        r = myt / myc
        var = adj_vt / (nt * myc**2) + (vyc * r**2 - 2 * theta * covc * r + theta**2 * vxc) / (
            nc * myc**2
        )
        rse = np.sqrt(np.maximum(var, 0.0))
        stat = np.where(rse > 0, est / rse, np.sign(est) * np.inf)
        stat = np.where((rse == 0) & (est == 0), 0.0, stat)
    p = _pvalue(stat, core.df, alternative, "welch")
    prob = 1 - alpha / 2 if alternative == "two-sided" else 1 - alpha
    q = _dist.t_ppf(prob, core.df)
    lo, hi = _interval(est, q * rse, q * rse, alternative)
    return _Core(est, lo, hi, p, stat, core.df, rse), theta


def cuped(
    control: CovStats,
    treatment: CovStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    rel_method: Literal["delta"] = "delta",
    alternative: Alternative = "two-sided",
) -> CupedComparison:
    """CUPED-adjusted Welch t test of mean(treatment) − mean(control), two-sided by default.

    θ = Cov(y, x) / Var(x) is estimated on both arms pooled (Deng et al. 2013; GrowthBook and
    PostHog), each arm's mean becomes ``mean(y) − θ mean(x)`` with variance
    ``Var y + θ² Var x − 2 θ Cov(x, y)`` per unit, and the adjusted difference is tested with
    Welch's t. With ``relative`` the lift is the adjusted difference over the *unadjusted*
    control mean, with GrowthBook's delta-method variance.

    Parameters
    ----------
    control, treatment
        Per-arm sums of the outcome ``y`` (metric unit) and the pre-experiment covariate ``x``.
    alpha, relative, alternative
        As in :func:`welch`. Only ``rel_method="delta"`` is available.

    Returns
    -------
    CupedComparison
        The :class:`Comparison` fields plus ``theta``.
    """
    _check_common(alpha, alternative)
    one_of(rel_method, "rel_method", ("delta",))
    arms = []
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, CovStats):
            raise InvalidArgumentError(f"{name} is a {type(arm).__name__}, must be CovStats")
        arms.append((arm.n, arm.y_total, arm.y_total_sq, arm.x_total, arm.x_total_sq, arm.xy_total))
    core, theta = _cuped_core(
        arms[0], arms[1], alpha=alpha, relative=relative, alternative=alternative
    )
    note = None
    if relative and control.y_mean == 0:
        note = "control mean is 0: the relative effect is undefined; use relative=False"
    elif float(core.se) == 0:
        note = "zero adjusted variance in both arms: the difference is exact (CI of width 0)"
    base = "cuped welch t" + (", relative (delta method)" if relative else "")
    res = _finish(
        core, method=base, relative=relative, alpha=alpha, alternative=alternative, note=note
    )
    return CupedComparison(**res.to_dict(), theta=float(theta))
