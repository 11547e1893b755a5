"""Who is in which arm, and which of their events count: the analysis SQL (DuckDB dialect).

The SQL applies PostHog's exposure rules: a unit's variant comes from the flag's exposures; a
unit seen with two variants is ``$multiple`` (excluded, or its first variant with
``multiple="first_seen"``); only events at or after the unit's first exposure count; exposed units
without events count 0 for sum metrics. The unit is ``person_id`` when present, else
``distinct_id``. An experiment without a flag assigns by prompt version instead.

The same SQL runs on every :class:`~promptab_nb.engines.base.Engine` (Spark translates it with
SQLGlot): keep it portable (no ``$param[...]`` subscripts, no DuckDB-only interval functions).

The checks that the experiment's source matches the data (:func:`check_source`,
:func:`check_arm_versions`) are in :mod:`._source_checks`, importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._sql import ident
from ._source_checks import check_arm_versions as check_arm_versions
from ._source_checks import check_source as check_source

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..metrics import Metric

MULTIPLE = "$multiple"


@dataclass(frozen=True)
class Design:
    """How units and arms are read for one analysis.

    ``source``: where a unit's arm comes from (``flag``, ``version``, ``arm``). ``per_request``:
    each generation is its own unit (request-level assignment by version or arm; with a flag the
    unit stays the user and each event is an observation). ``identity_map``: resolve a row's
    unit through the distinct_id → person_id pairs seen in any table, for exports where
    exposures carry ``person_id`` and events only ``distinct_id`` (or the reverse), as PostHog's
    person merging does.
    """

    source: str = "flag"
    per_request: bool = False
    identity_map: bool = False
    #: A price table (``cost="recompute"``): each generation's cost from its tokens.
    prices: str | None = None


def design_of(exp: Experiment, unit: str | None = None, identity_map: bool = False) -> Design:
    """The design of ``exp`` analysed per ``unit`` (default: the experiment's unit)."""
    per_request = (unit or exp.unit) == "request" and exp.assigned_by != "flag"
    return Design(exp.assigned_by, per_request, identity_map)


# -- SQL building blocks ------------------------------------------------------------------------
# Parameters: $flag, $keys (variant keys), $versions (prompt versions or arm labels, same order),
# $prompt, $start, $end, $first_seen.
# The same SQL also runs on Spark, transpiled by SQLGlot (engines/spark.py): keep it portable
# (no `$param[...]` subscripts, no DuckDB-only interval functions) and test both engines.
_IDS = """
    SELECT distinct_id, min(person_id) AS pid FROM (
        SELECT distinct_id, person_id FROM exposures WHERE person_id IS NOT NULL
        UNION ALL SELECT distinct_id, person_id FROM generations WHERE person_id IS NOT NULL
        UNION ALL SELECT distinct_id, person_id FROM evaluations WHERE person_id IS NOT NULL
    ) GROUP BY distinct_id
"""
# True when some row's unit would differ once ids are resolved through the pairs above.
_NEEDS_IDS = """
    WITH known AS (
        SELECT distinct_id FROM exposures WHERE person_id IS NOT NULL
        UNION SELECT distinct_id FROM generations WHERE person_id IS NOT NULL
    )
    SELECT EXISTS (SELECT 1 FROM generations WHERE person_id IS NULL
                   AND distinct_id IN (SELECT distinct_id FROM known))
        OR EXISTS (SELECT 1 FROM exposures WHERE person_id IS NULL
                   AND distinct_id IN (SELECT distinct_id FROM known))
"""
_WINDOW = "($start IS NULL OR {t}.ts >= $start) AND ($end IS NULL OR {t}.ts < $end)"
_PROMPT = "($prompt IS NULL OR {t}.prompt_name IS NULL OR {t}.prompt_name = $prompt)"
ASSIGNED = """
    SELECT unit, min(ts) AS first_ts,
           CASE WHEN $first_seen THEN arg_min(variant, ts)
                WHEN count(DISTINCT variant) > 1 THEN '$multiple'
                ELSE min(variant) END AS variant,
           count(DISTINCT variant) > 1 AS multi
    FROM exposed GROUP BY unit
"""


def needs_identity_map(engine: Engine) -> bool:
    """Whether units must be resolved through distinct_id → person_id pairs (see Design)."""
    return bool(engine.fetch_facts(_NEEDS_IDS)[0][0])


def _unit(t: str, d: Design) -> tuple[str, str]:
    """(unit expression, join) of a row of generations/exposures aliased ``t``."""
    if d.identity_map:
        return (
            f"coalesce({t}.person_id, {t}_id.pid, {t}.distinct_id)",
            f"LEFT JOIN ids {t}_id ON {t}_id.distinct_id = {t}.distinct_id",
        )
    return f"coalesce({t}.person_id, {t}.distinct_id)", ""


# The generations column naming a row's arm when the experiment assigns by version or arm.
_ARM_COLUMN = {"version": "prompt_version", "arm": "variant"}


def _in_arms(d: Design, t: str) -> str | None:
    """SQL condition: the generation ``t`` is of one of the experiment's versions or arms
    (``None`` with a flag). Assigned by version or arm, a unit's generations of other versions
    are not the experiment's (another test, or the prompt before it): counted, they gave an arm
    26x its cost with p = 1e-16."""
    col = _ARM_COLUMN.get(d.source)
    return f"list_position($versions, {t}.{col}) IS NOT NULL" if col else None


def _gen_unit(d: Design) -> tuple[str, str]:
    """(unit expression, join) of a generation ``g``: itself per request, else its user's."""
    return ("g.uuid", "") if d.per_request else _unit("g", d)


def exposed_sql(exp: Experiment, d: Design | None = None) -> str:
    """Exposure rows (unit, variant, ts) of the experiment's assignment source."""
    d = d or design_of(exp)
    if d.source == "flag":
        unit, join = _unit("x", d)
        return (
            f"SELECT {unit} AS unit, x.variant, x.ts FROM exposures x {join} "
            f"WHERE x.flag_key = $flag AND {_WINDOW.format(t='x')}"
        )
    column = f"g.{_ARM_COLUMN[d.source]}"
    unit, join = _gen_unit(d)
    return (
        f"SELECT {unit} AS unit, list_extract($keys, list_position($versions, {column})) "
        f"AS variant, g.ts FROM generations g {join} "
        f"WHERE {_in_arms(d, 'g')} "
        f"AND {_PROMPT.format(t='g')} AND {_WINDOW.format(t='g')}"
    )


def _gen_scope(d: Design, cols: str, priced: bool = False) -> str:
    """Generations of assigned units in scope (after first exposure, this prompt, the window;
    assigned by version or arm: of the experiment's versions or arms only). ``priced``: ``cols``
    read the recomputed cost, so the design's price table is joined (only then: the join
    prices every generation in scope)."""
    unit, join = _gen_unit(d)
    in_arms = _in_arms(d, "g")
    if priced and d.prices is not None:
        join += " " + _price_join(d.prices)
    return f"""
    SELECT a.unit, a.variant, {cols}
    FROM generations g {join} JOIN assigned a ON {unit} = a.unit
    WHERE g.ts >= a.first_ts AND ($end IS NULL OR g.ts < $end) AND {_PROMPT.format(t="g")}
      AND a.variant <> '$multiple'{f" AND {in_arms}" if in_arms else ""}
    """


def _targets(d: Design) -> str:
    """The generations that applicable evaluations target (see _eval_scope), with the arm
    column when the experiment assigns by version or arm."""
    extra = f", {_ARM_COLUMN[d.source]}" if d.source in _ARM_COLUMN else ""
    return (
        f"(SELECT uuid, person_id, distinct_id, ts, prompt_name{extra} FROM generations "
        "WHERE hash(uuid) IN (SELECT hash(target_uuid) FROM evaluations WHERE applicable))"
    )


def _eval_unit(d: Design) -> tuple[str, str]:
    """(unit expression, join) of an evaluation ``e`` left-joined to its target generation
    ``g``: the generation's unit when linked, else the evaluation's own ids."""
    if d.per_request:
        return "g.uuid", ""
    if d.identity_map:
        unit = (
            "coalesce(CASE WHEN g.uuid IS NULL THEN e.person_id ELSE g.person_id END, "
            "e_id.pid, coalesce(g.distinct_id, e.distinct_id))"
        )
        return (
            unit,
            "LEFT JOIN ids e_id ON e_id.distinct_id = coalesce(g.distinct_id, e.distinct_id)",
        )
    return "coalesce(g.person_id, g.distinct_id, e.person_id, e.distinct_id)", ""


def _eval_scope(d: Design, cols: str) -> str:
    """Applicable evaluations, attributed to the evaluated generation's unit and time when
    linked (per request: only evaluations of a generation)."""
    unit, join = _eval_unit(d)
    # The evaluated generations are picked first with a semi-join (a hash of the evaluations'
    # targets, probed by one scan of generations): joining evaluations to all of generations
    # built a hash table of every generation's uuid, which spilled at 10 M generations and was
    # most of the analysis. The semi-join matches 64-bit hashes of the uuids, not the texts:
    # its table is then a few MB instead of 1.4 M strings competing for the memory limit (1 M
    # users, in-memory workspace: per-unit query 9.8-11.2 s -> 6.3-9.2 s; 200 k unchanged). A
    # hash shared by two uuids only lets an extra generation through: the join on the uuid
    # text below still decides.
    # (an evaluation of a generation of another version is not the experiment's either)
    in_arms = _in_arms(d, "g")
    arms = f" AND (g.uuid IS NULL OR {in_arms})" if in_arms else ""
    return f"""
    SELECT a.unit, a.variant, {cols}
    FROM evaluations e
    LEFT JOIN {_targets(d)} g ON g.uuid = e.target_uuid {join}
    JOIN assigned a ON {unit} = a.unit
    WHERE e.applicable AND coalesce(g.ts, e.ts) >= a.first_ts
      AND ($end IS NULL OR coalesce(g.ts, e.ts) < $end) AND {_PROMPT.format(t="g")}
      AND a.variant <> '$multiple'{arms}
    """


def ids_cte(d: Design) -> str:
    """``ids AS (…), `` (the distinct_id → person_id pairs) when the design resolves units
    through them, else nothing: the CTE :func:`attributed_sql` needs under an identity map."""
    return f"ids AS ({_IDS}), " if d.identity_map else ""


def attributed_sql(d: Design, source: str, column: str) -> str:
    """Every row of ``source`` as ``unit, ts, v`` (``v`` the value of ``column``), the unit and
    time resolved as in the analysis scope, of the experiment's prompt (``$prompt``, the filter
    of the scope) but with no exposure or window filter: the pre-exposure covariate of CUPED
    reads it. Generations count under their unit, their cost recomputed from tokens as in the
    scope when the design prices it; applicable evaluations under the evaluated generation's
    unit and time when linked (a judge's verdict logged after exposure on a generation made
    before it is a pre-exposure event), else under their own ids and time. Under an identity
    map the query needs :func:`ids_cte`.

    Without the prompt filter a unit's other prompts' generations entered the covariate, and
    without the recomputed cost the covariate was the export's cost while the outcome was the
    recomputed one: a covariate of something the outcome does not measure."""
    prompt = _PROMPT.format(t="g")
    if source == "generations":
        unit, join = _gen_unit(d)
        if column == "cost_usd" and d.prices is not None:
            join += " " + _price_join(d.prices)
        return (
            f"SELECT {unit} AS unit, g.ts, {_gen_value(column, d)} AS v FROM generations g "
            f"{join} WHERE {prompt}"
        )
    unit, join = _eval_unit(d)
    return f"""
    SELECT {unit} AS unit, coalesce(g.ts, e.ts) AS ts, e.{ident(column)} AS v
    FROM evaluations e
    LEFT JOIN {_targets(d)} g ON g.uuid = e.target_uuid {join}
    WHERE e.applicable AND {prompt}
    """


def _price_join(prices: str) -> str:
    """The join that prices each generation ``g`` (see :func:`_gen_value`)."""
    from ..pricing import recomputed_cost

    return recomputed_cost("g", prices)[1]


def _gen_value(column: str, d: Design) -> str:
    """The value of a generations column ``g.column``: the cost is recomputed from tokens when
    the design prices it (the query then needs :func:`_price_join`)."""
    if column == "cost_usd" and d.prices is not None:
        from ..pricing import recomputed_cost

        return recomputed_cost("g", d.prices)[0]
    return f"g.{ident(column)}"


def _gen_col(column: str, d: Design) -> str:
    """A generations column in the scope; the cost is recomputed when the design prices it."""
    if column == "cost_usd" and d.prices is not None:
        return f"{_gen_value(column, d)} AS cost_usd"
    return f"g.{ident(column)}"


def head_ctes(exp: Experiment, d: Design | None = None) -> str:
    """``WITH [ids,] exposed, assigned`` (no trailing comma)."""
    d = d or design_of(exp)
    ids = f"ids AS ({_IDS}), " if d.identity_map else ""
    return f"WITH {ids}exposed AS ({exposed_sql(exp, d)}), assigned AS ({ASSIGNED})"


def ctes(exp: Experiment, metrics: Sequence[Metric] = (), d: Design | None = None) -> str:
    """The exposure CTEs plus the in-scope events, projecting only the columns ``metrics`` read
    (the generations table also holds the raw properties JSON, which is never needed here)."""
    d = d or design_of(exp)
    cols = {"generations": {"uuid", "ts", "prompt_version"}, "evaluations": {"uuid", "ts"}}
    for m in metrics:
        cols[m.source].add(m.column)
    gen_cols = ", ".join(_gen_col(c, d) for c in sorted(cols["generations"]))
    # An evaluation's time is the evaluated generation's when linked, as the scope attributes it
    # (over time, a judge's clock two days behind dropped every verdict from its period).
    eval_cols = ", ".join(
        "coalesce(g.ts, e.ts) AS ts" if c == "ts" else f"e.{ident(c)}"
        for c in sorted(cols["evaluations"])
    )
    gen = _gen_scope(d, gen_cols, priced="cost_usd" in cols["generations"])
    return f"{head_ctes(exp, d)}, gen AS ({gen}), ev AS ({_eval_scope(d, eval_cols)})"


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


def per_unit_sql(exp: Experiment, metrics: Sequence[Metric], d: Design | None = None) -> str:
    """One row per assigned unit (``$multiple`` included): ``gens`` (in-scope generations) and per
    metric ``n{i}``/``d{i}``; for sum and mean metrics also ``t{i}`` (events) and ``x{i}``
    (events whose value is missing, e.g. unpriced generations)."""
    d = d or design_of(exp)
    selects = ["coalesce(gen_u.gens, 0) AS gens", "gen_u.vmin", "gen_u.vmax"]
    joins = []
    for source, alias in (("generations", "gen"), ("evaluations", "ev")):
        ms = [(i, m) for i, m in enumerate(metrics) if m.source == source and m.kind != "quantile"]
        if not ms and source == "evaluations":
            continue
        # One aggregate per source: `gen` read by two would be materialised whole (10 M rows
        # at 1 M users, spilled under the memory limit: the per-unit query took 2× as long).
        cols = (
            ["count(*) AS gens, min(prompt_version) AS vmin, max(prompt_version) AS vmax"]
            if source == "generations"
            else []
        )
        for i, m in ms:
            num, den = per_unit_columns(m, alias)
            cols.append(f"{num} AS n{i}, {den} AS d{i}")
            if m.agg in ("sum", "mean"):
                col = f"{alias}.{ident(m.column)}"
                cols.append(f"count(*) AS t{i}, count(*) - count({col}) AS x{i}")
        joins.append(
            f"LEFT JOIN (SELECT unit, {', '.join(cols)} FROM {alias} GROUP BY unit) {alias}_u "
            f"USING (unit)"
        )
        for i, m in ms:
            zero = "1" if m.agg in ("sum", "count") else "0"
            selects.append(
                f"coalesce({alias}_u.n{i}, 0) AS n{i}, coalesce({alias}_u.d{i}, {zero}) AS d{i}"
            )
            if m.agg in ("sum", "mean"):
                selects.append(
                    f"coalesce({alias}_u.t{i}, 0) AS t{i}, coalesce({alias}_u.x{i}, 0) AS x{i}"
                )
    return (
        f"{ctes(exp, metrics, d)} SELECT a.unit, a.variant, a.first_ts, a.multi, "
        f"{', '.join(selects)} FROM assigned a {' '.join(joins)}"
    )


def per_request_sql(exp: Experiment, metric: Metric, d: Design | None = None) -> str:
    """One row per event (generation or applicable evaluation) of assigned units; ``v`` is NULL
    where the event has no value (counted as missing, never as zero)."""
    alias = "gen" if metric.source == "generations" else "ev"
    col = f"{alias}.{ident(metric.column)}"
    value = f"CAST({col} AS INTEGER)" if metric.agg == "rate" else f"CAST({col} AS DOUBLE)"
    return f"{ctes(exp, [metric], d)} SELECT variant, {value} AS v FROM {alias}"


def assignment_counts_sql(exp: Experiment, d: Design | None = None) -> str:
    """Per variant: assigned units and how many of them saw several variants."""
    return (
        f"{head_ctes(exp, d)} "
        "SELECT variant, count(*), count(*) FILTER (WHERE multi) FROM assigned GROUP BY variant"
    )


def assigned_units_sql(exp: Experiment, d: Design | None = None) -> str:
    """One row per exposed unit: unit, variant, first_exposure, variants_seen."""
    return f"""{head_ctes(exp, d)}
        SELECT a.unit, a.variant, a.first_ts AS first_exposure,
               (SELECT count(DISTINCT variant) FROM exposed x WHERE x.unit = a.unit) AS variants_seen
        FROM assigned a ORDER BY a.first_ts, a.unit"""
