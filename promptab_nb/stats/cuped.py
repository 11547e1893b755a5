"""CUPED: variance reduction with a pre-period covariate and a θ pooled over both arms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._checks import one_of
from ..errors import InvalidArgumentError
from . import _dist
from ._types import (
    Alternative,
    Comparison,
    CovStats,
    _centred_values,
    centred_cross,
    centred_sums,
)
from .means import _check_common, _compare_core, _Core, _finish, _interval, _pvalue


@dataclass(frozen=True, repr=False)
class CupedComparison(Comparison):
    """A :class:`Comparison` that also reports the CUPED coefficient ``theta``."""

    theta: float = math.nan


def _cuped_core(
    c: tuple[Any, ...],
    t: tuple[Any, ...],
    *,
    alpha: float,
    relative: bool,
    alternative: Alternative = "two-sided",
) -> tuple[_Core, Any]:
    """Vectorized CUPED. ``c``/``t`` are ``(n, y, yy, x, xx, xy)`` sums (arrays welcome)."""

    def moments(n: Any, y: Any, yy: Any, x: Any, xx: Any, xy: Any) -> tuple[Any, ...]:
        my, mx = y / n, x / n
        vy = np.maximum((yy - y * my) / (n - 1), 0.0)
        vx = np.maximum((xx - x * mx) / (n - 1), 0.0)
        cov = (xy - x * my) / (n - 1)
        return n, my, mx, vy, vx, cov

    c_m = moments(*(np.asarray(a, dtype=float) for a in c))
    t_m = moments(*(np.asarray(a, dtype=float) for a in t))
    return _cuped_moments_core(c_m, t_m, alpha=alpha, relative=relative, alternative=alternative)


def _pooled_theta(c: tuple[Any, ...], t: tuple[Any, ...]) -> Any:
    """θ = Cov(y, x) / Var(x) over both arms' units pooled, from each arm's
    ``(n, mean y, mean x, Var y, Var x, Cov)`` (the between-arm terms added exactly as in
    Chan et al.'s pooled moments: no raw sums of squares to cancel)."""
    nc, myc, mxc, _, vxc, covc = c
    nt, myt, mxt, _, vxt, covt = t
    n = nc + nt
    w = nc * nt / n
    sxx = (nc - 1) * vxc + (nt - 1) * vxt + w * (mxt - mxc) ** 2
    sxy = (nc - 1) * covc + (nt - 1) * covt + w * (mxt - mxc) * (myt - myc)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sxx > 0, sxy / sxx, 0.0)


def _cuped_moments_core(
    c: tuple[Any, ...],
    t: tuple[Any, ...],
    *,
    alpha: float,
    relative: bool,
    alternative: Alternative = "two-sided",
) -> tuple[_Core, Any]:
    """:func:`_cuped_core` from each arm's ``(n, mean y, mean x, Var y, Var x, Cov(x, y))``."""
    nc, myc, mxc, vyc, vxc, covc = (np.asarray(a, dtype=float) for a in c)
    nt, myt, mxt, vyt, vxt, covt = (np.asarray(a, dtype=float) for a in t)
    theta = _pooled_theta((nc, myc, mxc, vyc, vxc, covc), (nt, myt, mxt, vyt, vxt, covt))
    adj_vc = np.maximum(vyc + theta**2 * vxc - 2 * theta * covc, 0.0)
    adj_vt = np.maximum(vyt + theta**2 * vxt - 2 * theta * covt, 0.0)
    # Centred on the pooled covariate mean (the difference is the same; the arms' values keep
    # their digits when the covariate's mean is large).
    mx = (nc * mxc + nt * mxt) / (nc + nt)
    adj_c, adj_t = myc - theta * (mxc - mx), myt - theta * (mxt - mx)
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
    q = _dist.t_isf(alpha / 2 if alternative == "two-sided" else alpha, core.df)
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
        # (means from the totals: a subclass may keep a pooled ``x_mean`` of its own)
        means = (arm.y_total / arm.n, arm.x_total / arm.n)
        arms.append((arm.n, *means, arm.y_var, arm.x_var, arm.xy_cov))
    core, theta = _cuped_moments_core(
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


# -- ratio metrics ----------------------------------------------------------------------------
#: Order of the per-unit variables of :class:`RatioCovStats`: outcome numerator and denominator,
#: their pre-exposure covariates.
_VARS = ("num", "den", "num_pre", "den_pre")
_PAIRS = tuple((i, j) for i in range(4) for j in range(i, 4))


@dataclass(frozen=True)
class RatioCovStats:
    """One arm of a ratio metric with pre-exposure covariates, as sums over ``n`` units.

    ``sums`` holds the totals of the per-unit numerator, denominator and their pre-exposure
    counterparts (in that order); ``cross`` the totals of the 10 pairwise products
    (``num·num, num·den, num·num_pre, num·den_pre, den·den, …, den_pre·den_pre``).
    """

    n: int
    sums: tuple[float, float, float, float]
    cross: tuple[float, ...]
    #: The 10 cross products about the means (``Σ(a − ā)(b − b̄)``, order of ``cross``) when
    #: known: the covariance matrix is then read from them, free of cancellation.
    centred: tuple[float, ...] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if int(self.n) < 2:
            raise InvalidArgumentError(f"n == {self.n!r}, must be >= 2")
        if len(self.sums) != 4 or len(self.cross) != len(_PAIRS):
            raise InvalidArgumentError(
                f"sums has {len(self.sums)} and cross {len(self.cross)} values; need 4 and 10"
            )
        vals = (*self.sums, *self.cross)
        if not all(math.isfinite(float(v)) for v in vals):
            raise InvalidArgumentError("RatioCovStats sums must be finite")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "sums", tuple(float(v) for v in self.sums))
        object.__setattr__(self, "cross", tuple(float(v) for v in self.cross))
        if self.centred is not None:
            c = tuple(float(v) for v in self.centred)
            if len(c) != len(_PAIRS) or not all(math.isfinite(v) for v in c):
                raise InvalidArgumentError(
                    f"centred has {len(c)} values; need 10 finite centred cross products"
                )
            if any(c[k] < 0 for k, (i, j) in enumerate(_PAIRS) if i == j):
                raise InvalidArgumentError("centred sums of squared deviations must be >= 0")
            object.__setattr__(self, "centred", c)

    @classmethod
    def from_values(cls, num: Any, den: Any, num_pre: Any, den_pre: Any) -> RatioCovStats:
        """Sums of per-unit numerators, denominators and their pre-exposure values."""
        cols = [np.asarray(v, dtype=float).ravel() for v in (num, den, num_pre, den_pre)]
        if len({c.size for c in cols}) != 1:
            raise InvalidArgumentError("num, den, num_pre and den_pre must have one value per unit")
        sums = tuple(float(c.sum()) for c in cols)
        cross = tuple(float((cols[i] * cols[j]).sum()) for i, j in _PAIRS)
        d = _centred_values(*cols)
        ds = [float(c.sum()) for c in d]
        centred = [
            centred_sums(d[0].size, ds[i], float((d[i] * d[i]).sum()))
            if i == j
            else centred_cross(d[0].size, ds[i], ds[j], float((d[i] * d[j]).sum()))
            for i, j in _PAIRS
        ]
        ok = None not in centred
        return cls(cols[0].size, sums, cross, centred=tuple(centred) if ok else None)  # type: ignore[arg-type]

    def __add__(self, other: RatioCovStats) -> RatioCovStats:
        centred = None
        if self.centred is not None and other.centred is not None:
            # Chan et al.: the arms' centred products plus the between-arm term.
            w = self.n * other.n / (self.n + other.n)
            da = [b / other.n - a / self.n for a, b in zip(self.sums, other.sums, strict=True)]
            centred = tuple(
                a + b + w * da[i] * da[j]
                for (i, j), a, b in zip(_PAIRS, self.centred, other.centred, strict=True)
            )
        return RatioCovStats(
            self.n + other.n,
            tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),  # type: ignore[arg-type]
            tuple(a + b for a, b in zip(self.cross, other.cross, strict=True)),
            centred=centred,
        )

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-unit means (4) and the sample (n − 1) covariance matrix (4 × 4)."""
        n = self.n
        s = np.asarray(self.sums)
        m = s / n
        cov = np.empty((4, 4))
        for k, (i, j) in enumerate(_PAIRS):
            c = self.centred[k] if self.centred is not None else self.cross[k] - s[i] * s[j] / n
            cov[i, j] = cov[j, i] = c / (n - 1)
        return m, cov

    @property
    def den_total(self) -> float:
        return self.sums[1]


def _ratio_cov(
    m: np.ndarray, cov: np.ndarray, left: tuple[int, int], right: tuple[int, int]
) -> float:
    """Delta-method covariance of the ratios of means ``left`` and ``right`` (per unit)."""
    (a, b), (c, d) = left, right
    with np.errstate(divide="ignore", invalid="ignore"):  # no denominator: NaN, said by the caller
        rl, rr = m[a] / m[b], m[c] / m[d]
        return float(
            (cov[a, c] - cov[a, d] * rr - cov[b, c] * rl + cov[b, d] * rl * rr) / (m[b] * m[d])
        )


def ratio_cuped_theta(total: RatioCovStats) -> float:
    """θ = Cov(R, R_pre) / Var(R_pre) of the ratio and its pre-exposure ratio (delta method),
    over the units of all arms pooled; 0 when the pre-exposure ratio has no variance."""
    m, cov = total.moments()
    var_x = _ratio_cov(m, cov, (2, 3), (2, 3))
    return _ratio_cov(m, cov, (0, 1), (2, 3)) / var_x if var_x > 0 else 0.0


def ratio_cuped_arm(arm: RatioCovStats, theta: float, x_mean: float) -> tuple[float, float]:
    """(adjusted ratio, per-unit variance) of one arm: ``R − θ (R_pre − x_mean)`` and
    ``Var R + θ² Var R_pre − 2 θ Cov(R, R_pre)`` (delta method, sample moments)."""
    m, cov = arm.moments()
    if theta == 0:
        with np.errstate(divide="ignore", invalid="ignore"):  # (as in _ratio_cov)
            return float(m[0] / m[1]), max(_ratio_cov(m, cov, (0, 1), (0, 1)), 0.0)
    value = m[0] / m[1] - theta * (m[2] / m[3] - x_mean)
    var = (
        _ratio_cov(m, cov, (0, 1), (0, 1))
        + theta * theta * _ratio_cov(m, cov, (2, 3), (2, 3))
        - 2 * theta * _ratio_cov(m, cov, (0, 1), (2, 3))
    )
    return float(value), max(float(var), 0.0)


def ratio_cuped(
    control: RatioCovStats,
    treatment: RatioCovStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    rel_method: Literal["delta", "log"] = "log",
    alternative: Alternative = "two-sided",
) -> CupedComparison:
    """CUPED for a ratio metric ``sum(num)/sum(den)``: Welch t test of the adjusted ratios,
    treatment − control (``alternative`` two-sided by default).

    The covariate is the same ratio over each unit's pre-exposure window. θ = Cov(R, R_pre) /
    Var(R_pre) (delta method over units) is estimated on both arms pooled; each arm's ratio
    becomes ``R − θ (R_pre − R̄_pre)`` (``R̄_pre`` pooled) with the per-unit variance
    ``Var R + θ² Var R_pre − 2 θ Cov(R, R_pre)``. This is tea-tasting's ``RatioOfMeans`` with
    ``numer_covariate`` and ``denom_covariate`` (equal to 1e-9); ``rel_method="log"`` gives its
    relative CI (log scale), ``"delta"`` the delta-method lift of :func:`welch`.

    Parameters
    ----------
    control, treatment
        :class:`RatioCovStats` of each arm.
    alpha, relative, alternative
        As in :func:`welch`; the estimate is in the metric's unit (numerator per denominator) or,
        with ``relative``, a fraction.

    Returns
    -------
    CupedComparison
        The :class:`Comparison` fields plus ``theta``.
    """
    _check_common(alpha, alternative)
    one_of(rel_method, "rel_method", ("delta", "log"))
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, RatioCovStats):
            raise InvalidArgumentError(f"{name} is a {type(arm).__name__}, must be RatioCovStats")
        if arm.sums[1] == 0:
            raise InvalidArgumentError(
                f"{name} has no denominator events: the ratio is undefined (den_total == 0)"
            )
    total = control + treatment
    no_pre = control.sums[3] == 0 or treatment.sums[3] == 0
    # Without pre-exposure events in an arm its covariate ratio is undefined: no adjustment.
    theta = 0.0 if no_pre else ratio_cuped_theta(total)
    x_mean = total.sums[2] / total.sums[3] if total.sums[3] else 0.0
    mc, vc = ratio_cuped_arm(control, theta, x_mean)
    mt, vt = ratio_cuped_arm(treatment, theta, x_mean)
    core = _compare_core(
        mc, vc, control.n, mt, vt, treatment.n, alpha=alpha, relative=relative,
        rel_method=rel_method, alternative=alternative,
    )  # fmt: skip
    note = (
        "an arm has no pre-exposure events: the ratio is not adjusted (θ = 0)" if no_pre else None
    )
    if relative and mc == 0:
        note = "control ratio is 0: the relative effect is undefined; use relative=False"
    elif float(core.se) == 0:
        note = "zero adjusted variance in both arms: the difference is exact (CI of width 0)"
    method = "ratio cuped (delta method), welch t" + (
        f", relative ({'log scale' if rel_method == 'log' else 'delta method'})" if relative else ""
    )
    res = _finish(
        core, method=method, relative=relative, alpha=alpha, alternative=alternative, note=note
    )
    return CupedComparison(**res.to_dict(), theta=float(theta))
