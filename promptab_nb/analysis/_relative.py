"""Relative intervals that agree with their test: Fieller's interval when the delta-method CI
disagrees with a fixed-horizon test, and the lift's confidence sequence beside the sequential
test (no SQL here)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import PromptabError
from ..stats._types import _test_variance

if TYPE_CHECKING:
    from .estimators import Estimator

NAN = math.nan


#: The row notes when the fixed-horizon relative interval is not the delta method's (both name
#: :data:`FIELLER_MARK`, which :func:`._build.build_result` looks for to say so in the methods).
FIELLER_MARK = "the test of the difference (Fieller)"
FIELLER_NOTE = f"relative CI from {FIELLER_MARK}: the delta-method CI disagreed with the p-value"
FIELLER_UNBOUNDED_NOTE = (
    f"no relative CI: the delta-method CI disagreed with the p-value and {FIELLER_MARK} "
    "cannot tell the control mean from 0 (the absolute interval holds)"
)


def agree_relative_interval(
    est: Estimator, c: Any, t: Any, ab: Any, out: dict[str, Any]
) -> list[str]:
    """Make the fixed-horizon relative interval in ``out`` agree with the test ``ab``.

    The delta-method interval (PostHog's) is kept when it excludes 0 exactly when the test of
    the difference rejects (``p < alpha``, before any correction). When they disagree — the
    sample's error_rate read +74.1 % (−23.5 % to +171.6 %) beside p = 0.043 — and the test is a
    z or t test (its p-value is that of ``estimate / se`` at its df), the interval becomes the
    set of lifts that same test does not reject (:func:`_relative_fieller`), which excludes 0
    exactly when ``p < alpha``. Returns the row notes to add (none when nothing changed).
    """
    o = est.options
    lo, hi, p = out["rel_ci_low"], out["rel_ci_high"], ab.p_value
    if not (lo == lo and hi == hi and p == p) or (not lo <= 0 <= hi) == (p < o.alpha):
        return []
    crit = _critical_value(ab, o.alpha)
    if crit is None:
        return []
    from .estimators import arm_mean

    try:
        ac, at = arm_mean(est, c), arm_mean(est, t)
    except PromptabError:
        return []
    # the per-arm variances of the difference, scaled to the test's own SE (they are the
    # same for every z/t estimator; the scale only guards a pooled θ or the like)
    # (the variance the test used: the upper bound where the sums do not resolve it)
    a, b = _test_variance(at)[0] / at.n, _test_variance(ac)[0] / ac.n
    se2 = float(ab.se) ** 2
    if not (a + b > 0 and math.isfinite(a + b)):
        return []
    scale = se2 / (a + b)
    ends = _relative_fieller(
        float(ac.mean), float(at.mean), a * scale, b * scale, crit, ab.alternative
    )
    out["rel_ci_low"], out["rel_ci_high"] = ends
    return [FIELLER_UNBOUNDED_NOTE if ends[0] != ends[0] else FIELLER_NOTE]


def _critical_value(ab: Any, alpha: float) -> float | None:
    """The critical value of the z (``df`` None) or Welch t test ``ab`` at ``alpha`` (one-sided
    quantile for a one-sided test); ``None`` when ``ab``'s p-value is not that of
    ``estimate / se`` at its df (Fisher's exact test, order statistics, …)."""
    from ..stats import _dist

    se, est, p, df = (
        float_or_nan(getattr(ab, k, None)) for k in ("se", "estimate", "p_value", "df")
    )
    if not (se > 0 and math.isfinite(se) and est == est and p == p):
        return None
    normal = df != df
    if not normal and not df > 0:
        return None
    z = est / se
    sf = _dist.norm_sf if normal else (lambda x: _dist.t_sf(x, df))
    side = getattr(ab, "alternative", "two-sided")
    expect = {"two-sided": 2 * sf(abs(z)), "greater": sf(z), "less": sf(-z)}.get(side)
    if expect is None or not math.isclose(min(1.0, float(expect)), p, rel_tol=1e-6, abs_tol=1e-12):
        return None
    prob = 1 - alpha / 2 if side == "two-sided" else 1 - alpha
    return float(_dist.norm_ppf(prob) if normal else _dist.t_ppf(prob, df))


def _relative_fieller(
    mc: float, mt: float, a: float, b: float, crit: float, alternative: str
) -> tuple[float, float]:
    """The lifts ``L = (mt − mc)/|mc|`` (a fraction) that the z/t test of ``mt − ρ·mc``
    (``ρ = 1 + L·sign(mc)``, squared SE ``a + ρ² b``: ``a`` the treatment's, ``b`` the
    control's squared SE) does not reject at critical value ``crit`` — Fieller's interval.
    At ``L = 0`` that is the test of the difference, so it excludes 0 exactly when that test
    rejects. One-sided: the same side is infinite as for the test (``greater``: upper).
    ``(NaN, NaN)`` when the set is not one interval (the control mean is not told apart from
    0 at this level) or ``mc`` is 0.
    """
    if not all(math.isfinite(x) for x in (mc, mt, a, b, crit)) or mc == 0:
        return NAN, NAN
    sign, base = math.copysign(1.0, mc), abs(mc)
    diff, q2 = mt - mc, crit * crit

    def stat(lift: float) -> float:
        rho = 1 + sign * lift
        num, se = diff - base * lift, math.sqrt(a + rho * rho * b)
        if se == 0:  # (a treatment without variance, at ratio 0: the lift is exact there)
            return 0.0 if num == 0 else math.copysign(math.inf, num)
        return num / se

    def accepted(lift: float) -> bool:
        z = stat(lift)
        if alternative == "greater":
            return z <= crit
        if alternative == "less":
            return z >= -crit
        return abs(z) <= crit

    # (diff − base·L)² = q² (a + (1 + sign·L)² b), a quadratic in L
    qa = base * base - q2 * b
    qb = -2 * (diff * base + q2 * b * sign)
    qc = diff * diff - q2 * (a + b)
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return NAN, NAN  # unbounded both ways (or everything): |mc| within crit SEs of 0
    root = math.sqrt(disc)
    # (the numerically stable pair of roots)
    q = -0.5 * (qb + math.copysign(root, qb))
    # (q = 0 only when qb = qc = 0: a double root at 0, e.g. no variance and no difference)
    r1, r2 = sorted((q / qa, qc / q)) if q != 0 else (0.0, 0.0)
    lo = r1 if not accepted(r1 - 1 - abs(r1)) else -math.inf
    hi = r2 if not accepted(r2 + 1 + abs(r2)) else math.inf
    if lo == -math.inf and hi == math.inf:
        return NAN, NAN
    return lo, hi


def relative_sequence(c: Any, t: Any, tau2: float, alpha: float) -> tuple[float, float]:
    """The (1 − ``alpha``) confidence sequence of the relative lift ``(mt − mc)/|mc|`` (a
    fraction) that :func:`promptab_nb.stats.sequential` inverts, Fieller's way.

    A ratio ``ρ = mt/mc`` is inside when the mSPRT of ``mt − ρ·mc`` (variance
    ``vt/nt + ρ² vc/nc``, mixture ``tau2`` scaled like the per-unit variance ``vt + ρ² vc``)
    does not reject at ``alpha``. At ``ρ = 1`` that is the test of the difference itself, so
    the interval excludes 0 exactly when the always-valid ``p < alpha``; for the true ``ρ`` it
    is a mixture martingale, so the set is a confidence sequence like the absolute one.
    ``(NaN, NaN)`` when the control mean is 0 or the set is unbounded (the control mean is
    not told apart from 0 at this look).
    """
    # the variances the sequential test used (the upper bound where the sums do not resolve one)
    vc, vt = _test_variance(c)[0], _test_variance(t)[0]
    mc, mt, vc, vt = (float(x) for x in (c.mean, t.mean, vc, vt))
    nc, nt = float(c.n), float(t.n)
    if not all(math.isfinite(x) for x in (mc, mt, vc, vt, tau2)) or mc == 0 or tau2 <= 0:
        return NAN, NAN
    sign, unit = math.copysign(1.0, mc), vc + vt
    if unit == 0:  # no variance: the lift is exact
        lift = (mt - mc) / abs(mc)
        return lift, lift
    bound = math.log(1 / alpha)

    def excess(rho: float) -> float:
        """log mixture likelihood ratio − log(1/alpha) of ``ρ``: > 0 outside the sequence."""
        var = vt / nt + rho * rho * vc / nc
        if var == 0:
            return math.inf if mt != rho * mc else -bound
        t2 = tau2 * (vt + rho * rho * vc) / unit
        d = mt - rho * mc
        return 0.5 * math.log(var / (var + t2)) + d * d * t2 / (2 * var * (var + t2)) - bound

    import scipy.optimize

    centre = mt / mc
    step = max(abs(centre), math.sqrt(vt / nt + vc / nc) / abs(mc), 1e-12)
    ends = []
    for way in (-1.0, 1.0):
        inner, outer = centre, centre + way * step
        for _ in range(60):
            if excess(outer) > 0:
                break
            inner, outer = outer, centre + 2 * (outer - centre)
        else:
            return NAN, NAN  # unbounded on this side
        ends.append(scipy.optimize.brentq(excess, inner, outer, xtol=1e-14, rtol=1e-12))
    lo, hi = sorted(sign * (rho - 1) for rho in ends)
    return lo, hi


def float_or_nan(x: Any) -> float:
    return NAN if x is None else float(x)
