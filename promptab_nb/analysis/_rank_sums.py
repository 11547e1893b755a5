"""Rank sums for the Mann–Whitney U test, computed by the engine on the per-unit table, and the
per-unit values they rank (:func:`unit_value`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import stats as st
from ._estimator_base import (
    MULTIPLE,
    Scope,
)

if TYPE_CHECKING:
    from ..metrics import Metric


# -- rank sums (Mann–Whitney U) ---------------------------------------------------------------------
def unit_value(metric: Metric, i: int) -> tuple[str, str]:
    """(value, filter) of one unit's value of ``metric`` (column index ``i``) in the per-unit
    table: ``n / d`` for mean and rate metrics, ``n`` for sums and counts; units of
    ``$multiple`` and units without a value (``d = 0``) are left out — the values of
    ``exp.unit_values(metric)``."""
    n, d = f"n{i}", f"d{i}"
    value = f"({n} / {d})" if metric.agg in ("mean", "rate") else n
    return value, f"variant <> '{MULTIPLE}' AND {d} > 0"


# Per treatment arm: the control's and the treatment's units, the treatment's rank sum (times 2,
# so it stays an integer: average rank = rank() + (ties − 1) / 2) and Σ(t² − 1) over rows, which
# is Σ(t³ − t) over groups of t equal values, ranks pooled over the control and that arm only.
# The control's rows are repeated once per treatment arm (a cross join with the arm list).
_RANK_SUMS = """
    WITH v AS (SELECT variant, CAST({value} AS DOUBLE) AS x FROM {units} WHERE {where}),
    arms AS (SELECT DISTINCT variant AS arm FROM v WHERE variant <> $control),
    pooled AS (
        SELECT variant AS arm, TRUE AS treated, x FROM v WHERE variant <> $control
        UNION ALL
        SELECT arms.arm, FALSE AS treated, c.x
        FROM (SELECT x FROM v WHERE variant = $control) c CROSS JOIN arms
    ),
    ranked AS (
        SELECT arm, treated,
               rank() OVER (PARTITION BY arm ORDER BY x) AS lo,
               count(*) OVER (PARTITION BY arm, x) AS ties
        FROM pooled
    )
    SELECT arm,
           sum(CASE WHEN treated THEN 0 ELSE 1 END),
           sum(CASE WHEN treated THEN 1 ELSE 0 END),
           sum(CASE WHEN treated THEN 2 * lo + ties - 1 ELSE 0 END),
           sum(CAST(ties AS DOUBLE) * ties - 1)
    FROM ranked GROUP BY arm
"""


@dataclass(frozen=True)
class RankArm:
    """One treatment arm against the control for a rank test: both arms' units and, with at
    least 2 in each, the :class:`~promptab_nb.stats.RankSums`."""

    n_control: int
    n_treatment: int
    stats: st.RankSums | None


def rank_sums(scope: Scope, metric: Metric, control: str) -> dict[str, RankArm]:
    """Treatment variant → its rank sums against ``control`` on the per-unit values of
    ``metric`` (:func:`unit_value`), computed by the engine (window functions and a
    ``GROUP BY`` over the per-unit table): only a few numbers per arm come back."""
    value, where = unit_value(metric, scope.i)
    if scope.design.per_request and metric.agg == "sum":
        # each generation a unit: one without a value (unpriced) is left out, not ranked as a
        # sum of 0 (as analyze() and unit_values leave it out)
        where += f" AND x{scope.i} = 0"
    elif metric.agg == "sum":
        # a user whose every event lacks a value (priced nowhere) has no sum (unit_values:
        # NaN), not the lowest rank of all; a partly priced one ranks by its priced events
        where += f" AND NOT {_VALUED_NOWHERE.format(i=scope.i)}"
    rows = scope.engine.fetch(
        _RANK_SUMS.format(value=value, units=scope.units, where=where), {"control": control}
    )
    out = {}
    for arm, nc, nt, twice, ties in rows:
        nc, nt = int(nc or 0), int(nt or 0)
        ok = nc >= 2 and nt >= 2
        stats = st.RankSums(nc, nt, int(twice) / 2, float(ties or 0.0)) if ok else None
        out[str(arm)] = RankArm(nc, nt, stats)
    return out


# A unit with events, none of which has a value (per-unit table columns t{i}, x{i}).
_VALUED_NOWHERE = "(t{i} > 0 AND x{i} = t{i})"


def units_without_values(scope: Scope, metric: Metric) -> dict[str, tuple[int, int]]:
    """Variant → (units whose every event lacks a value, units with some events lacking one)
    of a per-user sum (e.g. users priced nowhere, users partly priced); empty otherwise. The
    first are left out of :func:`rank_sums`; the second rank by their events with a value."""
    if metric.agg != "sum" or scope.design.per_request:
        return {}
    t, x = f"t{scope.i}", f"x{scope.i}"
    rows = scope.engine.fetch(
        f"SELECT variant, count(CASE WHEN {_VALUED_NOWHERE.format(i=scope.i)} THEN 1 END), "
        f"count(CASE WHEN {x} > 0 AND {x} < {t} THEN 1 END) "
        f"FROM {scope.units} WHERE variant <> '{MULTIPLE}' GROUP BY variant"
    )
    return {str(v): (int(a or 0), int(b or 0)) for v, a, b in rows}
