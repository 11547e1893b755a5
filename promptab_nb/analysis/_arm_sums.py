"""What the estimators share beyond the base: the SQL of an arm's sums (:data:`SUMS`,
:data:`RATIO_SUMS`), winsorizing (:func:`winsorized_sql`), and the statistics objects the sums
become (CUPED arms with θ pooled over all arms: :func:`pooled_arms`)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..stats._sums import centred_cross, centred_sums, shifted_total
from ._estimator_base import (
    Arm,
    Scope,
)

if TYPE_CHECKING:
    from ..options import AnalysisOptions


def winsorized_sql(
    scope: Scope,
    options: AnalysisOptions,
    value: str,
    pooled: str,
    where: str,
    source: str | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    """``value`` clamped to the ``options.winsorize`` percentiles of ``pooled`` (the same value,
    unaliased) over the rows of ``source`` (default: the per-unit table ``scope.units``; a query
    taking ``params`` otherwise) that pass ``where``, every arm pooled; ``value`` unchanged
    without winsorizing or without such rows."""
    pct = options.winsorize
    if pct is None:
        return value
    lo, hi = scope.engine.fetch(
        f"SELECT quantile_cont({pooled}, $w_lo), quantile_cont({pooled}, $w_hi) "
        f"FROM {source or scope.units} WHERE {where}",
        {**(params or {}), "w_lo": pct[0] / 100, "w_hi": pct[1] / 100},
    )[0]
    if lo is None:
        return value
    # DOUBLE bounds: a decimal literal would round them to the scale of an integer sum.
    return f"least(greatest({value}, CAST({float(lo)!r} AS DOUBLE)), CAST({float(hi)!r} AS DOUBLE))"


def ratio_of(num: float, num_sq: float, den: float, *_: float) -> float:
    """The rate of one unit: its numerator over its denominator (sums of a ratio arm)."""
    return num / den


def ratio_cov_of(num: float, den: float, *_: float) -> float:
    """The rate of one unit from the sums of a ratio-CUPED arm (numerator, denominator, …)."""
    return num / den


def cov_stats(n: int, *sums: Any) -> st.CovStats:
    """The CUPED arm from the :data:`RATIO_SUMS` of ``y`` (as ``n``) and ``x`` (as ``d``) and
    the references (arm means) of ``y`` and ``x``."""
    vals, centred = pair_sums(n, sums[:5], sums[5:])
    return st.CovStats(n, *vals, centred=centred)


def pair_sums(
    n: Any, raw: Sequence[Any], shifted: Sequence[Any]
) -> tuple[list[float], tuple[float, float, float] | None]:
    """An arm of two values ``a``, ``b`` from the :data:`RATIO_SUMS` row: ``raw`` (Σa, Σa²,
    Σb, Σb², Σab) and, when given, ``shifted`` (the same five sums of each value minus its arm
    mean, then the two means). Returns the five sums (the totals rebuilt from the means, which
    keeps their digits: :func:`shifted_total`) and the centred moments (Σ(a − ā)², Σ(b − b̄)²,
    the cross products), ``None`` where the sums do not resolve them."""
    vals = [float(x or 0.0) for x in raw]
    if len(shifted) != 7:
        return vals, None
    sa, saa, sb, sbb, sab, ca, cb = shifted
    vals[0], vals[2] = shifted_total(n, raw[0], sa, ca), shifted_total(n, raw[2], sb, cb)
    a, b, ab = centred_sums(n, sa, saa), centred_sums(n, sb, sbb), centred_cross(n, sa, sb, sab)
    return vals, (a, b, ab) if a is not None and b is not None and ab is not None else None


# Per arm (columns n, d and their arm means cn, cd): the raw sums of a ratio (or CUPED) arm,
# then the same sums of the values minus their arm's mean, which keep the variances' digits
# when the mean is large against the spread (``avg`` over a window: DuckDB and Spark SQL).
RATIO_SUMS = (
    "sum(n), sum(n * n), sum(d), sum(d * d), sum(n * d), "
    "sum(n - cn), sum((n - cn) * (n - cn)), sum(d - cd), sum((d - cd) * (d - cd)), "
    "sum((n - cn) * (d - cd))"
)
# The sums of one value ``{v}`` and its squares, raw then minus its arm's mean ``{c}``.
SUMS = "sum({v}), sum({v} * {v}), sum({v} - {c}), sum(({v} - {c}) * ({v} - {c}))"


RATIO_PAIRS = tuple((a, b) for a in range(4) for b in range(a, 4))


@dataclass(frozen=True)
class PooledCov(st.CovStats):
    """A CUPED arm with θ and the covariate mean pooled over all arms (for :meth:`plain`)."""

    theta: float = 0.0
    x_mean: float = 0.0


@dataclass(frozen=True)
class PooledRatioCov(st.RatioCovStats):
    """A ratio-CUPED arm with θ and the covariate ratio pooled over all arms."""

    theta: float = 0.0
    x_mean: float = 0.0


def pooled_theta_mean(total: Any) -> tuple[float, float]:
    vx = total.x_var
    return (total.xy_cov / vx if vx > 0 else 0.0), total.x_total / total.n


def ratio_theta_mean(total: Any) -> tuple[float, float]:
    if total.sums[1] == 0 or total.sums[3] == 0:
        return 0.0, 0.0
    return st.ratio_cuped_theta(total), total.sums[2] / total.sums[3]


def pooled_total(arms: dict[str, Arm]) -> Any:
    """The statistics of every arm that has them, added into one (:func:`add_cov`); ``None``
    without any."""
    stats = [a.stats for a in arms.values() if a.stats is not None]
    return functools.reduce(add_cov, stats) if stats else None


def pooled_arms(arms: dict[str, Arm], theta_mean: Any, cls: Any) -> dict[str, Arm]:
    """``arms`` whose statistics carry θ and the covariate mean pooled over all of them."""
    total = pooled_total(arms)
    if total is None:
        return arms
    theta, x_mean = theta_mean(total)
    out = {}
    for k, a in arms.items():
        s = a.stats
        if s is not None:
            kept = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
            s = cls(**kept, theta=theta, x_mean=x_mean)
        out[k] = dataclasses.replace(a, stats=s)
    return out


def add_cov(a: Any, b: Any) -> Any:
    if isinstance(a, st.RatioCovStats):
        return a + b
    fields = ("y_total", "y_total_sq", "x_total", "x_total_sq", "xy_total")
    centred = None
    if a.centred is not None and b.centred is not None:
        # Chan et al.: both arms' centred moments plus the between-arm term
        w = a.n * b.n / (a.n + b.n)
        dy, dx = b.y_total / b.n - a.y_total / a.n, b.x_total / b.n - a.x_total / a.n
        between = (w * dy * dy, w * dx * dx, w * dx * dy)
        centred = tuple(p + q + r for p, q, r in zip(a.centred, b.centred, between, strict=True))
    return st.CovStats(a.n + b.n, *(getattr(a, f) + getattr(b, f) for f in fields), centred=centred)


def unadjusted_ratio(arm: Any) -> st.RatioStats:
    s, c, cc = arm.sums, arm.cross, arm.centred
    # cross order: num·num, num·den, …, den·den at indices 0, 1, 4.
    centred = (cc[0], cc[4], cc[1]) if cc is not None else None
    return st.RatioStats(arm.n, s[0], c[0], s[1], c[4], c[1], centred=centred)


def ratio_cov_stats(n: int, *sums: Any) -> st.RatioCovStats:
    """The ratio-CUPED arm from its 4 sums and 10 cross products, raw then of the values
    minus their arm's mean (which give the centred cross products), then those 4 means."""
    vals = [float(x or 0.0) for x in sums[:14]]
    centred: tuple[float | None, ...] | None = None
    if len(sums) == 32:
        ds, dc, refs = sums[14:18], sums[18:28], sums[28:]
        vals[:4] = [shifted_total(n, vals[k], ds[k], refs[k]) for k in range(4)]
        centred = tuple(
            centred_sums(n, ds[a], dc[k]) if a == b else centred_cross(n, ds[a], ds[b], dc[k])
            for k, (a, b) in enumerate(RATIO_PAIRS)
        )
        centred = centred if None not in centred else None
    return st.RatioCovStats(n, tuple(vals[:4]), tuple(vals[4:]), centred=centred)  # type: ignore[arg-type]


def prop_stats(n: int, successes: Any) -> st.PropStats:
    return st.PropStats(n, int(round(successes or 0)))
