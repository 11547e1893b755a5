"""Who is in which arm, and which of their events count: the analysis SQL (DuckDB dialect).

The SQL applies PostHog's exposure rules: a unit's variant comes from the flag's exposures; a
unit seen with two variants is ``$multiple`` (excluded, or its first variant with
``multiple="first_seen"``); only events at or after the unit's first exposure count; exposed units
without events count 0 for sum metrics. The unit is ``person_id`` when present, else
``distinct_id``. An experiment without a flag assigns by prompt version instead.

The same SQL runs on every :class:`~promptab_nb.engines.base.Engine` (Spark translates it with
SQLGlot): keep it portable (no ``$param[...]`` subscripts, no DuckDB-only interval functions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._sql import ident
from ..errors import NotFoundError

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..metrics import Metric

MULTIPLE = "$multiple"

# -- SQL building blocks ------------------------------------------------------------------------
# Parameters: $flag, $keys (variant keys), $versions (prompt versions, same order), $prompt,
# $start, $end, $first_seen.
# The same SQL also runs on Spark, transpiled by SQLGlot (engines/spark.py): keep it portable
# (no `$param[...]` subscripts, no DuckDB-only interval functions) and test both engines.
_EXPOSED_BY_FLAG = """
    SELECT coalesce(person_id, distinct_id) AS unit, variant, ts
    FROM exposures
    WHERE flag_key = $flag AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
"""
# Without a flag, the arm of a generation is the variant whose prompt version it used.
_EXPOSED_BY_VERSION = """
    SELECT coalesce(person_id, distinct_id) AS unit,
           list_extract($keys, list_position($versions, prompt_version)) AS variant, ts
    FROM generations
    WHERE list_position($versions, prompt_version) IS NOT NULL
      AND ($prompt IS NULL OR prompt_name IS NULL OR prompt_name = $prompt)
      AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
"""
ASSIGNED = """
    SELECT unit, min(ts) AS first_ts,
           CASE WHEN $first_seen THEN arg_min(variant, ts)
                WHEN count(DISTINCT variant) > 1 THEN '$multiple'
                ELSE min(variant) END AS variant,
           count(DISTINCT variant) > 1 AS multi
    FROM exposed GROUP BY unit
"""


def exposed_sql(exp: Experiment) -> str:
    """Exposure rows (unit, variant, ts) of the experiment's assignment source."""
    return _EXPOSED_BY_FLAG if exp.flag_key else _EXPOSED_BY_VERSION


# Generations of assigned units in scope (after first exposure, this prompt, the window).
_GEN_SCOPE = """
    SELECT a.unit, a.variant, {gen_cols}
    FROM assigned a JOIN generations g ON coalesce(g.person_id, g.distinct_id) = a.unit
    WHERE g.ts >= a.first_ts AND ($end IS NULL OR g.ts < $end)
      AND ($prompt IS NULL OR g.prompt_name IS NULL OR g.prompt_name = $prompt)
      AND a.variant <> '$multiple'
"""
# Applicable evaluations, attributed to the evaluated generation's unit and time when linked.
_EVAL_SCOPE = """
    SELECT a.unit, a.variant, {eval_cols}
    FROM evaluations e
    LEFT JOIN generations g ON g.uuid = e.target_uuid
    JOIN assigned a ON coalesce(g.person_id, g.distinct_id, e.person_id, e.distinct_id) = a.unit
    WHERE e.applicable AND coalesce(g.ts, e.ts) >= a.first_ts
      AND ($end IS NULL OR coalesce(g.ts, e.ts) < $end)
      AND ($prompt IS NULL OR g.prompt_name IS NULL OR g.prompt_name = $prompt)
      AND a.variant <> '$multiple'
"""


def ctes(exp: Experiment, metrics: Sequence[Metric] = ()) -> str:
    """The exposure CTEs plus the in-scope events, projecting only the columns ``metrics`` read
    (the generations table also holds the raw properties JSON, which is never needed here)."""
    cols = {"generations": {"uuid", "ts"}, "evaluations": {"uuid", "ts"}}
    for m in metrics:
        cols[m.source].add(m.column)
    gen_cols = ", ".join(f"g.{ident(c)}" for c in sorted(cols["generations"]))
    eval_cols = ", ".join(f"e.{ident(c)}" for c in sorted(cols["evaluations"]))
    return (
        f"WITH exposed AS ({exposed_sql(exp)}), assigned AS ({ASSIGNED}), "
        f"gen AS ({_GEN_SCOPE.format(gen_cols=gen_cols)}), "
        f"ev AS ({_EVAL_SCOPE.format(eval_cols=eval_cols)})"
    )


def params(exp: Experiment, start: Any, end: Any, multiple: str) -> dict[str, Any]:
    """The parameters every query of this module takes."""
    return {
        "flag": exp.flag_key,
        "keys": list(exp.variants),
        "versions": list(exp.variants.values()),
        "prompt": exp.prompt_name,
        "start": start,
        "end": end,
        "first_seen": multiple == "first_seen",
    }


def per_unit_columns(metric: Metric, table: str) -> tuple[str, str]:
    """(numerator, denominator) aggregates of one metric over a unit's events in ``table``."""
    col = f"{table}.{ident(metric.column)}"
    if metric.agg == "sum":
        return f"coalesce(sum({col}), 0)", "1"
    if metric.agg == "count":
        return f"count({col})", "1"
    if metric.agg == "mean":
        return f"sum({col})", f"count({col})"
    return f"coalesce(sum(CAST({col} AS INTEGER)), 0)", f"count({col})"


def per_unit_sql(exp: Experiment, metrics: Sequence[Metric]) -> str:
    """One row per assigned unit (``$multiple`` included) with n{i}/d{i} per metric."""
    selects, joins = [], []
    for source, alias in (("generations", "gen"), ("evaluations", "ev")):
        ms = [(i, m) for i, m in enumerate(metrics) if m.source == source and m.kind != "quantile"]
        if not ms:
            continue
        cols = []
        for i, m in ms:
            num, den = per_unit_columns(m, alias)
            cols.append(f"{num} AS n{i}, {den} AS d{i}")
        joins.append(
            f"LEFT JOIN (SELECT unit, {', '.join(cols)} FROM {alias} GROUP BY unit) {alias}_u "
            f"USING (unit)"
        )
        for i, m in ms:
            zero = "1" if m.agg in ("sum", "count") else "0"
            selects.append(
                f"coalesce({alias}_u.n{i}, 0) AS n{i}, coalesce({alias}_u.d{i}, {zero}) AS d{i}"
            )
    return (
        f"{ctes(exp, metrics)} SELECT a.unit, a.variant, a.first_ts, a.multi, {', '.join(selects)} "
        f"FROM assigned a {' '.join(joins)}"
    )


def per_request_sql(exp: Experiment, metric: Metric) -> str:
    """One row per event (generation or applicable evaluation) of assigned units."""
    alias = "gen" if metric.source == "generations" else "ev"
    col = f"{alias}.{ident(metric.column)}"
    value = f"CAST({col} AS INTEGER)" if metric.agg == "rate" else f"CAST({col} AS DOUBLE)"
    return (
        f"{ctes(exp, [metric])} SELECT variant, {value} AS v FROM {alias} WHERE {col} IS NOT NULL"
    )


def check_flag(engine: Engine, exp: Experiment) -> None:
    """Raise :class:`NotFoundError` naming the flags the engine holds when the experiment's
    flag has no exposures."""
    if not exp.flag_key:
        return
    if engine.fetch("SELECT 1 FROM exposures WHERE flag_key = ? LIMIT 1", [exp.flag_key]):
        return
    flags = [
        r[0]
        for r in engine.fetch(
            "SELECT flag_key FROM exposures GROUP BY flag_key ORDER BY count(*) DESC LIMIT 10"
        )
    ]
    raise NotFoundError(
        f"no exposures for flag {exp.flag_key!r} of experiment {exp.name!r}; "
        + (
            f"flags in the workspace: {', '.join(flags)}"
            if flags
            else "the workspace has no $feature_flag_called events: load an export first"
        )
    )


def assignment_counts_sql(exp: Experiment) -> str:
    """Per variant: assigned units and how many of them saw several variants."""
    return (
        f"WITH exposed AS ({exposed_sql(exp)}), assigned AS ({ASSIGNED}) "
        "SELECT variant, count(*), count(*) FILTER (WHERE multi) FROM assigned GROUP BY variant"
    )


def assigned_units_sql(exp: Experiment) -> str:
    """One row per exposed unit: unit, variant, first_exposure, variants_seen."""
    return f"""WITH exposed AS ({exposed_sql(exp)}), assigned AS ({ASSIGNED})
        SELECT a.unit, a.variant, a.first_ts AS first_exposure,
               (SELECT count(DISTINCT variant) FROM exposed x WHERE x.unit = a.unit) AS variants_seen
        FROM assigned a ORDER BY a.first_ts, a.unit"""
