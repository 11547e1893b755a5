"""The total impact of a treatment on a per-user sum: the per-user difference times the users
the change would reach (no SQL here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..results import Health, TotalImpact
from . import _missing

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..metrics import Metric
    from ..options import AnalysisOptions
    from .estimators import Arm, Estimator


def impact_applies(metric: Metric, options: AnalysisOptions) -> bool:
    """Whether a total impact means something: a per-user sum or count (cost, tokens,
    requests), whose effect per user times users is the total change."""
    return options.unit == "user" and metric.kind == "mean" and metric.agg in ("sum", "count")


def total_impact_of(
    est: Estimator,
    arms: dict[str, Arm],
    rows: Sequence[dict[str, Any]],
    health_: Health,
    exp: Experiment,
    options: AnalysisOptions,
) -> TotalImpact | None:
    """The total impact of each treatment on a sum-like per-user ``metric``
    (:func:`impact_applies`, else ``None``): the difference against the control per user and
    its CI (the rows' ``diff`` and ``diff_ci_*``) times the users the change would reach over
    the period — every exposed unit (all arms; ``$multiple`` units included once) divided by
    the experiment's share of traffic (``exp.rollout`` percent). A treatment whose arm or
    control misses too many values (:func:`._missing.withheld`) gets no total: the sums would
    read the missing values as 0."""
    metric = est.metric
    if not impact_applies(metric, options):
        return None
    # With multiple="first_seen" the $multiple units are already counted in their first arm.
    extra = health_.multiple if options.multiple == "exclude" else 0
    exposed = sum(health_.exposed.values()) + extra
    share = float(getattr(exp, "rollout", 100.0) or 100.0)
    units = exposed / (share / 100)
    impacts: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for r in rows:
        if r["metric"] != metric.name or r["is_control"]:
            continue
        d, lo, hi = r["diff"], r["diff_ci_low"], r["diff_ci_high"]
        if _missing.withheld(est, arms.get(exp.control)) or _missing.withheld(
            est, arms.get(r["variant"])
        ):
            impacts[r["variant"]] = None
            notes[r["variant"]] = (
                f"over {_missing.MAX_MISSING_SHARE:.0%} of an arm's events have no value; the "
                "sums would read them as 0"
            )
            continue
        if any(math.isnan(x) for x in (d, lo, hi)):
            impacts[r["variant"]] = None
            notes[r["variant"]] = r["note"] or "no difference to scale"
            continue
        impacts[r["variant"]] = st.total_impact(d, lo, hi, units=units, unit=metric.unit)
    return TotalImpact(
        metric=metric.name,
        unit=metric.unit,
        per="user",
        level=options.level,
        units=units,
        exposed=exposed,
        traffic_share=share,
        impacts=impacts,
        notes=notes,
        interval="confidence sequence" if options.sequential else "CI",
    )
