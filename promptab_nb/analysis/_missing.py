"""Missing is not zero: events without a value (an unpriced generation has no cost) are counted
per arm, stated in the health check and, past a share, withhold the metric's verdict."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..results import HealthFlag

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..options import CostSource
    from .estimators import Arm, Estimator

#: Above this share of an arm's events without a value, the metric's p-value and every verdict
#: built on it are withheld: the per-unit sums would read the missing values as zeros.
MAX_MISSING_SHARE = 0.05

#: What a withheld row loses: every p-value and chance, and the standard errors the decision's
#: margin tests and the segments' heterogeneity test are built from (its estimate and CI stay
#: on show, with the note saying why there is no verdict).
VERDICT_COLUMNS = ("p_value", "p_raw", "chance_to_win", "expected_loss", "cred_low", "cred_high",
                   "se", "rel_se")  # fmt: skip
#: What a comparison that measured nothing loses besides: its estimate and interval (a
#: difference of 0 between two sums over no events would be read, not measured).
ESTIMATE_COLUMNS = ("diff", "diff_ci_low", "diff_ci_high", "rel_diff", "rel_ci_low", "rel_ci_high")


def share_words(metric: Metric, share: float) -> str:
    """analyze()'s words for ``share`` (a fraction) of an arm's events without a value of
    ``metric``: ``"3.3% of an arm's generations are unpriced (no cost)"`` (the forest plot
    reads them back, ``plots.experiment._MISSING_NOTE``)."""
    return f"{share:.1%} of an arm's generations are {metric.missing_words}"


def _cost_fix(cost: CostSource) -> str:
    """Where a generation's missing cost comes from under ``cost``, and what to do about it."""
    if cost == "recompute":
        return (
            "; their model is not in the price table, their tokens are missing, or the cache "
            "tokens counted in their input exceed it: see exp.cost_audit()"
        )
    return "; analyse with cost='recompute' to price them"


def share(arm: Arm | None) -> float:
    """The share of the arm's events without a value (0 when it has none)."""
    if arm is None or not arm.events:
        return 0.0
    return arm.missing / arm.events


def too_many(
    metric: Metric,
    counts: Iterable[tuple[int, int]],
    *,
    cost: CostSource = "source",
    consequence: str | None = None,
) -> str | None:
    """Why a comparison of arms with these ``(events, events without a value)`` counts is
    withheld, as :func:`withheld` decides it for one arm; ``None`` when it stands. For the
    analyses that read the per-arm counts themselves (Mann–Whitney, the analysis over time).

    The text is the worst arm's share, then ``: consequence`` when given: ``"12.1% of an
    arm's events have no output_tokens (> 5%): not compared"``. A missing cost is named as
    analyze() names it under ``cost``: ``"... generations are unpriced in the export (> 5%)"``
    (priced by ``cost="recompute"``) or ``"... generations have no recomputed cost (> 5%)"``
    (see ``exp.cost_audit()``), with that fix last."""
    worst = max((x / n for n, x in counts if n), default=0.0)
    if metric.agg != "sum" or worst <= MAX_MISSING_SHARE:
        return None
    limit = f"(> {MAX_MISSING_SHARE:.0%})"
    then = f": {consequence}" if consequence else ""
    if metric.column != "cost_usd":
        return f"{worst:.1%} of an arm's events have no {metric.column} {limit}{then}"
    what = "have no recomputed cost" if cost == "recompute" else "are unpriced in the export"
    return f"{worst:.1%} of an arm's generations {what} {limit}{then}{_cost_fix(cost)}"


def withheld(est: Estimator, arm: Arm | None) -> bool:
    """Whether anything built on this arm's sums must be withheld (its p-values, pairs, total
    impact): a per-unit sum with more than :data:`MAX_MISSING_SHARE` of the arm's events
    without a value. A sum reads a missing value as 0; a mean simply leaves it out."""
    return est.metric.agg == "sum" and share(arm) > MAX_MISSING_SHARE


def nothing_measured(est: Estimator, *arms: Arm | None) -> bool:
    """Whether a per-unit sum has no event in scope in any of ``arms`` (a control and a
    treatment, or every arm of the metric): every unit's sum is then 0, so a mean of 0, "no
    difference" (and a total impact of 0) would be read, not measured. An arm whose units
    made no call beside one whose units did is measured: its units spent 0."""
    return est.metric.agg == "sum" and all(a is not None and a.events == 0 for a in arms)


#: The note of a comparison :func:`nothing_measured`.
NOTHING_MEASURED = "no event of this metric in scope in either arm: nothing measured"


def unmeasured(est: Estimator, arm: Arm | None) -> bool:
    """Whether a per-unit sum's arm has events in scope but none with a value (every generation
    unpriced): each unit's sum is then a 0 read off missing values, so the arm's mean, and any
    difference with it, is not measured."""
    return est.metric.agg == "sum" and arm is not None and 0 < arm.events == arm.missing


def unmeasured_note(est: Estimator, arms: Mapping[str, Arm | None]) -> str | None:
    """Why the arms among ``arms`` that are :func:`unmeasured` have no estimate (``"all
    generations of control (200) are unpriced in the export: nothing measured; ..."``, worded
    as :func:`too_many` words it, with the fix for a cost); ``None`` when every arm measured
    something."""
    empty = [f"{key} ({a.events:,})" for key, a in arms.items() if unmeasured(est, a) and a]
    if not empty:
        return None
    names = " and ".join(empty)
    if est.metric.column != "cost_usd":
        return f"all events of {names} are {est.metric.missing_words}: nothing measured"
    cost = est.options.cost
    what = "have no recomputed cost" if cost == "recompute" else "are unpriced in the export"
    return f"all generations of {names} {what}: nothing measured{_cost_fix(cost)}"


def guard_row(row: dict[str, Any], est: Estimator, arms: dict[str, Arm], control: str) -> None:
    """Withhold the verdict of a treatment row when its arm or the control has more than
    :data:`MAX_MISSING_SHARE` of its events without a value; note any smaller share."""
    pair = (arms.get(control), arms.get(row["variant"]))
    empty = unmeasured_note(est, dict(zip((control, row["variant"]), pair, strict=True)))
    if nothing_measured(est, *pair) or empty:
        for col in (*VERDICT_COLUMNS, *ESTIMATE_COLUMNS):
            row[col] = math.nan
        # (the reason, replacing its consequences: zero variance, a zero baseline)
        row["note"] = empty or NOTHING_MEASURED
        return
    worst = max(share(arms.get(control)), share(arms.get(row["variant"])))
    if worst == 0:
        return
    text = share_words(est.metric, worst)
    if withheld(est, arms.get(control)) or withheld(est, arms.get(row["variant"])):
        for col in VERDICT_COLUMNS:
            row[col] = math.nan
        fix = _cost_fix(est.options.cost) if est.metric.column == "cost_usd" else ""
        text += (
            f" (> {MAX_MISSING_SHARE:.0%}): verdict withheld, the sums would read them as 0{fix}"
        )
    row["note"] = "; ".join(x for x in (row.get("note"), text) if x)


def flags(per_metric: list[tuple[Estimator, dict[str, Arm]]], order: list[str]) -> list[HealthFlag]:
    """One health flag per metric with missing values, naming the arms (in ``order``, the
    experiment's variants) and their shares."""
    out = []
    for est, arms in per_metric:
        parts = [
            f"{key} {arms[key].missing:,} of {arms[key].events:,} ({share(arms[key]):.1%})"
            for key in order
            if key in arms and arms[key].missing
        ]
        if not parts:
            continue
        withheld = too_many(est.metric, ((a.events, a.missing) for a in arms.values()))
        out.append(
            HealthFlag(
                "missing_values",
                "error" if withheld else "warning",
                f"{est.metric.name}: generations {est.metric.missing_words} — {', '.join(parts)}; "
                + (
                    "each unit's sum leaves them out, as if 0"
                    if est.metric.agg == "sum"
                    else "they are left out of the metric, not counted as 0"
                )
                + (f"; above {MAX_MISSING_SHARE:.0%} the verdict is withheld" if withheld else ""),
            )
        )
    return out
