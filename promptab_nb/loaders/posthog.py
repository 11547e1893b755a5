"""PostHog exports → exposures, generations, evaluations.

Accepts the batch-export Parquet (``properties`` as JSON text; ``*.parquet.zst`` is plain Parquet),
JSON lines (``properties`` nested; ``.gz``/``.zst`` too), a split export's ``manifest.json``, and UI
CSV with a ``properties`` JSON column or flattened ``properties.$x`` / ``*.properties.$x`` columns.
Each file is staged into a temporary table of raw text columns, checked row by row in SQL (bad rows
→ ``rejects`` with the column and reason), each row's properties are parsed once with ``from_json``
into a typed struct, and the shared pipeline (:mod:`._load`) inserts the result in one
transaction, skipping events already loaded (by ``uuid``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace

from .._sql import ident, used_params
from ..errors import DataError
from . import _files
from ._context import Con, Input, LoadContext, sql_str
from ._load import load_paths, loader_call
from ._posthog_read import OPTIONAL, REQUIRED, Source, source
from ._read import count
from ._report import LoadReport
from ._shape import is_container
from ._stage import TS_RANGE, Direct, Staged, is_no_id, no_id, ts_out_of_range

__all__ = ["EVENTS", "OPTIONAL", "REQUIRED", "load_posthog"]

EVENTS = {
    "$feature_flag_called": "exposures",
    "$ai_generation": "generations",
    "$ai_evaluation": "evaluations",
}
_USED_EVENTS = ", ".join(sql_str(e) for e in EVENTS)  # SQL list of the event types loaded


# -- validation and typing ------------------------------------------------------------------
# One pass over the source: per row, hash a uuid where there is none, parse the properties once
# (``from_json`` into a struct of the keys of the row's event type), type and check them; the
# first problem found is the row's reject reason. The result is one stage table, ``st``,
# seen per canonical table through a view; ``_other_rejects`` takes rows of no promptab_nb type.
def _raw(src: Source) -> str:
    """SQL of a rejected row's ``raw``: the row as read where the source keeps it, else rebuilt
    from its columns, with the timestamp as written where it was text (a bad one is why many rows
    are rejected; ``_base`` carries that text as ``ts_raw`` only for such sources)."""
    ts = "ts_raw" if src.ts_is_text else "ts"
    return (
        "coalesce(raw, to_json(struct_pack(uuid := uuid, event := event, distinct_id := "
        f'distinct_id, person_id := person_id, "timestamp" := {ts}, properties := props))::VARCHAR)'
    )


@dataclass(frozen=True)
class _Type:
    """How one event type becomes rows of its canonical table.

    ``typed``, ``columns`` and ``checks`` are SQL over ``{p}``, the struct its properties are
    parsed into; ``typed`` are helper columns that ``columns`` and the checks may use;
    ``checks`` are ``(condition, column, reason)``, the first true one rejecting the row.
    """

    event: str
    table: str
    p: str
    spec: dict[str, str]
    typed: tuple[str, ...]
    columns: dict[str, str]
    checks: tuple[tuple[str, str, str], ...]


def _base(src: Source, where: str) -> str:
    """The source's rows matching ``where`` with the canonical envelope columns."""
    hashed = f"md5(concat_ws('|', {src.event}, {src.distinct_id}, {src.ts_raw}, {src.props}))"
    text = f" {src.ts_raw} AS ts_raw," if src.ts_is_text else ""
    return f"""
        SELECT {src.source_row} AS source_row,
               CASE WHEN {src.uuid} IS NULL OR {is_no_id(src.uuid)} THEN {hashed} ELSE {src.uuid}
                   END AS uuid,
               {src.event} AS event, {no_id(src.distinct_id)} AS distinct_id,
               {no_id(src.person_id)} AS person_id, {src.ts} AS ts,{text} {src.props} AS props,
               {src.raw} AS raw
        FROM {src.frm} WHERE {where}"""


def _spec(keys: dict[str, str]) -> str:
    return sql_str(json.dumps(keys))


# Why a row of any type is rejected before its own checks: (condition, column, reason).
_ROW_CHECKS = (
    ("distinct_id IS NULL", "distinct_id", 'distinct_id is empty (or "null"/"undefined")'),
    (is_container("distinct_id"), "distinct_id", "distinct_id is a JSON object or list, not an id"),
    (is_container("person_id"), "person_id", "person_id is a JSON object or list, not an id"),
    ("ts IS NULL", "timestamp", "timestamp is missing or not a date-time"),
    (ts_out_of_range("ts"), "timestamp", "timestamp is not a date-time " + TS_RANGE),
    ("props IS NULL", "properties", "properties is empty"),
)


def _stage_sql(src: Source, types: tuple[_Type, ...]) -> str:
    """SQL of every source row of the event ``types``, typed and checked (one parse per row).

    Each row gets ``_bad``, the number of the first check it fails (NULL when it passes), from
    one CASE; ``bad_col`` and ``bad_reason`` look the number up. (Writing the checks out twice,
    once per output, and wrapping one type's columns in CASEs on its event, cost a fifth of the
    generations insert.)
    """
    single = len(types) == 1

    def of(t: _Type, x: str) -> str:  # x for the rows of type t
        return x if single else f"CASE WHEN event = {sql_str(t.event)} THEN {x} END"

    parse = ", ".join(f"{of(t, f'TRY(from_json(props, {_spec(t.spec)}))')} AS {t.p}" for t in types)
    unparsed = " AND ".join(f"{t.p} IS NULL" for t in types)
    # (ltrim copies the text: only for the rare rows that do not start with '{')
    not_object = "NOT starts_with(props, '{') AND NOT starts_with(ltrim(props), '{')"
    checks = [
        *_ROW_CHECKS,
        (f"{not_object} AND NOT json_valid(props)", "properties", "properties is not valid JSON"),
        (not_object, "properties", "properties is not a JSON object"),
        (f"{unparsed} AND NOT json_valid(props)", "properties", "properties is not valid JSON"),
        (_DUPLICATE_KEY, "properties",
         "properties has a duplicated key (readers disagree on its value)"),
    ]  # fmt: skip
    whens = [f"WHEN {c} THEN {i}" for i, (c, _, _) in enumerate(checks)]
    for t in types:
        own = [(c.format(p=t.p), col, why) for c, col, why in t.checks]
        first = len(checks)
        checks += own
        inner = " ".join(f"WHEN {c} THEN {first + i}" for i, (c, _, _) in enumerate(own))
        whens.append(inner if single else f"WHEN event = {sql_str(t.event)} THEN CASE {inner} END")
    typed = "".join(", " + x.format(p=t.p) for t in types for x in t.typed)
    # A column several tables share (trace_id, variant) takes the value of the row's type.
    cols: dict[str, list[tuple[_Type, str]]] = {}
    for t in types:
        for name, expr in t.columns.items():
            cols.setdefault(name, []).append((t, expr.format(p=t.p)))
    outs = []
    for name, exprs in cols.items():
        if single:
            outs.append(f"{exprs[0][1]} AS {ident(name)}")
        else:
            w = " ".join(f"WHEN event = {sql_str(t.event)} THEN {x}" for t, x in exprs)
            outs.append(f"CASE {w} END AS {ident(name)}")

    def lookup(k: int) -> str:
        # a list indexed once: `CASE _bad WHEN 0 ...` would copy _bad's CASE into every WHEN
        return "[" + ", ".join(sql_str(c[k]) for c in checks) + "][_bad + 1]"

    events = ", ".join(sql_str(t.event) for t in types)
    return f"""
    WITH b AS ({_base(src, f"{src.event} IN ({events})")}),
    s AS (SELECT *, {parse} FROM b),
    t AS (SELECT *{typed} FROM s),
    c AS (SELECT *, CASE {" ".join(whens)} END AS _bad FROM t)
    SELECT source_row, uuid, event, ts, distinct_id, person_id, {", ".join(outs)},
           {lookup(1)} AS bad_col, {lookup(2)} AS bad_reason,
           CASE WHEN _bad IS NOT NULL THEN {_raw(src)} ELSE raw END AS raw
    FROM c
    """


# A key twice in one object: DuckDB reads the first value, Python's json and most readers the
# last, so the row has no single meaning.
# Finding a repeat in every row's key list cost more than parsing the properties (1.3 s of a
# 2 M-generation insert), but an export repeats a few key lists over and over: `$keys_ok` holds
# the hashes of the duplicate-free lists seen most in the file's first rows (:func:`_key_lists`),
# and only a row whose list hashes to none of them is searched for a repeat (listing its keys
# again; a CASE evaluates a branch only for the rows that reach it, and keeping the list in a
# column through unnest() cost more than that). A row with a repeated key passes only if its
# list shares a 64-bit hash with one of those lists. (No TRY around json_keys, which cost a
# fifth of the check: the rows that reach it passed the JSON checks before it in the CASE.)
_KEYS = "json_keys(props)"
_DUPLICATE_KEY = (
    f"NOT list_contains($keys_ok::UBIGINT[], hash({_KEYS})) "
    f"AND len({_KEYS}) <> list_unique({_KEYS})"
)
_SAMPLE_ROWS = 20_000
_SAMPLE_LISTS = 32


def _key_lists(con: Con, src: Source) -> list[int]:
    """Hashes of the duplicate-free key lists most common in the first rows of ``src``."""
    sql = f"""
        SELECT hash(k), k FROM (
            SELECT TRY(json_keys({src.props})) AS k FROM {src.frm}
            WHERE {src.event} IN ({_USED_EVENTS}) LIMIT {_SAMPLE_ROWS})
        WHERE k IS NOT NULL GROUP BY k ORDER BY count(*) DESC LIMIT {_SAMPLE_LISTS}"""
    rows = con.execute(sql, used_params(sql, src.params) or None).fetchall()
    return [h for h, keys in rows if len(set(keys)) == len(keys)]


# Numbers that must be finite and >= 0 when present: (property, canonical column, type, parse).
# Properties every generation carries are parsed as numbers (a third faster than as text);
# from_json gives NULL for a value that is not a number and 1/0 for a boolean, so those rows
# (rare) look at the value's JSON type. Usually absent ones are parsed as text, which costs
# nothing when absent, where that check would search every row.
_GEN_NUMBERS = (
    ("$ai_latency", "latency_s", "DOUBLE", "number"),
    ("$ai_time_to_first_token", "ttft_s", "DOUBLE", "text"),
    ("$ai_input_tokens", "input_tokens", "BIGINT", "number"),
    ("$ai_output_tokens", "output_tokens", "BIGINT", "number"),
    ("$ai_total_cost_usd", "cost_usd", "DOUBLE", "number"),
    ("$ai_input_cost_usd", "_in_cost", "DOUBLE", "text"),
    ("$ai_output_cost_usd", "_out_cost", "DOUBLE", "text"),
    ("$ai_cache_read_input_tokens", "cache_read_tokens", "BIGINT", "text"),
    ("$ai_cache_creation_input_tokens", "cache_write_tokens", "BIGINT", "text"),
)
_GEN_TEXT = {
    "trace_id": "$ai_trace_id",
    "prompt_name": "$ai_prompt_name",
    "prompt_version": "$ai_prompt_version",
    "model": "$ai_model",
    "provider": "$ai_provider",
}


def _generations(keep_properties: bool = False) -> _Type:
    typed: list[str] = []
    checks: list[tuple[str, str, str]] = []
    for prop, col, typ, parse in _GEN_NUMBERS:
        v, c = f"{{p}}[{sql_str(prop)}]", ident(col)
        # Integers may arrive as 12.0 in some exports: accept integral doubles for BIGINT.
        if parse == "number":
            whole = f"CASE WHEN {v} = floor({v}) THEN TRY_CAST({v} AS BIGINT) END"
            typed.append(f"{v if typ == 'DOUBLE' else whole} AS {c}")
            quoted = '"' + prop + '"'
            json_type = f"TRY(json_type(props, {sql_str('$.' + quoted)}))"
            bad = f"""(CASE WHEN {v} IS NULL THEN contains(props, {sql_str(quoted)})
                                               AND coalesce({json_type} <> 'NULL', false)
                            WHEN {v} IN (0, 1) THEN {json_type} = 'BOOLEAN'
                            ELSE {c} IS NULL OR isnan({v}) OR isinf({v}) OR {v} < 0 END)"""
        else:
            cast = f"TRY_CAST({v} AS DOUBLE)"
            whole = f"CASE WHEN {cast} = floor({cast}) THEN TRY_CAST({cast} AS BIGINT) END"
            typed.append(f"{cast if typ == 'DOUBLE' else whole} AS {c}")
            bad = (
                f"({v} IS NOT NULL AND ({c} IS NULL OR isnan({c}::DOUBLE) "
                f"OR isinf({c}::DOUBLE) OR {c} < 0))"
            )
        what = "a number >= 0" if typ == "DOUBLE" else "a whole number >= 0"
        checks.append((bad, "properties." + prop, f"properties.{prop} is not {what}"))
    typed += [
        "{p}['$ai_http_status'] AS _status",
        "lower({p}['$ai_is_error']) AS _err",
        "lower({p}['$ai_cache_reporting_exclusive']) AS _excl",
    ]
    checks += [
        ("_status IS NOT NULL AND (_status <> floor(_status) OR _status NOT BETWEEN 0 AND 999)",
         "properties.$ai_http_status", "properties.$ai_http_status is not a whole number 0..999"),
        ("_err IS NOT NULL AND _err NOT IN ('true', 'false', '1', '0')",
         "properties.$ai_is_error", "properties.$ai_is_error is not true/false"),
        ("_excl IS NOT NULL AND _excl NOT IN ('true', 'false')",
         "properties.$ai_cache_reporting_exclusive",
         "properties.$ai_cache_reporting_exclusive is not true/false"),
    ]  # fmt: skip
    columns = {name: f"{{p}}[{sql_str(prop)}]" for name, prop in _GEN_TEXT.items()}
    columns.update(
        latency_s="latency_s",
        ttft_s="ttft_s",
        input_tokens="input_tokens",
        output_tokens="output_tokens",
        cost_usd=COST_FROM_PARTS.format(total="cost_usd"),
        # $ai_is_error is only sent on error; HTTP status 0 is an SDK error, >= 400 an API error
        is_error="""coalesce(_err IN ('true', '1'), false)
                    OR coalesce(_status = 0 OR _status >= 400, false)""",
        http_status="TRY_CAST(_status AS INTEGER)",
        variant="NULL::VARCHAR",
        properties="props" if keep_properties else "NULL::VARCHAR",
        cache_read_tokens="cache_read_tokens",
        cache_write_tokens="cache_write_tokens",
        cache_in_input=_CACHE_IN_INPUT,
    )
    return _Type(
        "$ai_generation",
        "generations",
        "_pg",
        {prop: "DOUBLE" if prop in _GEN_DOUBLES else "VARCHAR" for prop in _GEN_SPEC_KEYS},
        tuple(typed),
        columns,
        tuple(checks),
    )


# Without $ai_total_cost_usd, the cost is the input plus the output cost; a part not given is 0
# only where its tokens are 0 (an input cost alone, beside output tokens, is not the whole cost
# of the call: it stays unpriced, as missing is not zero). The Spark views use the same rule.
COST_FROM_PARTS = """coalesce({total}, CASE
    WHEN (_in_cost IS NOT NULL OR _out_cost IS NOT NULL)
         AND (_in_cost IS NOT NULL OR input_tokens = 0)
         AND (_out_cost IS NOT NULL OR output_tokens = 0)
    THEN coalesce(_in_cost, 0) + coalesce(_out_cost, 0) END)"""

# Whether $ai_input_tokens counts the cached input tokens, as PostHog's cost ingestion decides
# (resolveCacheReportingExclusive): an explicit $ai_cache_reporting_exclusive wins; Anthropic
# (the provider, "anthropic" in the model name, or a model named claude*, e.g. Claude on Vertex)
# reports them apart, except through the Vercel AI Gateway, whose counts include them unless the
# input is smaller than the cache tokens; every other provider counts them.
# NULL when the row has no cache tokens (nothing to decide).
_CACHE_IN_INPUT = """CASE WHEN cache_read_tokens IS NOT NULL OR cache_write_tokens IS NOT NULL
    THEN NOT coalesce(_excl = 'true', CASE
        WHEN NOT (coalesce(lower({p}['$ai_provider']) = 'anthropic', false)
                  OR coalesce(contains(lower({p}['$ai_model']), 'anthropic'), false)
                  OR coalesce(starts_with(lower({p}['$ai_model']), 'claude'), false)) THEN false
        WHEN NOT (coalesce(lower({p}['$ai_provider']) = 'gateway', false)
                  AND coalesce(lower({p}['$ai_framework']) = 'vercel', false)) THEN true
        ELSE coalesce(input_tokens, 0)
             < coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0) END) END"""

_GEN_DOUBLES = {p for p, _, _, parse in _GEN_NUMBERS if parse == "number"} | {"$ai_http_status"}
_GEN_SPEC_KEYS = (
    *_GEN_TEXT.values(),
    *(prop for prop, *_ in _GEN_NUMBERS),
    "$ai_is_error",
    "$ai_http_status",
    "$ai_cache_reporting_exclusive",
    "$ai_framework",
)


def _evaluations() -> _Type:
    res = "lower(trim({p}['$ai_evaluation_result']))"
    score = "TRY_CAST({p}['$ai_score'] AS DOUBLE)"
    app = "lower(trim({p}['$ai_evaluation_applicable']))"
    passed = f"""CASE WHEN {res} IN ('true', 'pass', 'passed', '1', 'yes') THEN true
                     WHEN {res} IN ('false', 'fail', 'failed', '0', 'no') THEN false
                     WHEN {res} IS NULL AND {score} IS NOT NULL THEN {score} >= 0.5 END"""
    keys = ("$ai_target_event_id", "$ai_trace_id", "$ai_evaluation_name", "$ai_metric_name",
            "$ai_evaluation_result", "$ai_evaluation_applicable", "$ai_score")  # fmt: skip
    missing = "_applicable AND _passed IS NULL"
    col = "properties.$ai_evaluation_result"
    return _Type(
        "$ai_evaluation",
        "evaluations",
        "_pe",
        dict.fromkeys(keys, "VARCHAR"),
        (
            f"{res} AS _res",
            f"{passed} AS _passed",
            f"CASE WHEN {app} IN ('false', '0', 'no') THEN false ELSE true END AS _applicable",
        ),
        {
            "target_uuid": "{p}['$ai_target_event_id']",
            "trace_id": "{p}['$ai_trace_id']",
            "name": "coalesce({p}['$ai_evaluation_name'], {p}['$ai_metric_name'])",
            "passed": "CASE WHEN _applicable THEN _passed END",
            "applicable": "_applicable",
            "score": score,
        },
        (
            (f"{missing} AND _res IS NULL", col, f"{col} is missing"),
            (missing, col, f"{col} is not true/false/pass/fail"),
        ),
    )


# Why a flag response is not a variant key (first match wins). Read as text, a boolean is
# 'true'/'false' and an object or list its JSON text; only a text starting with '{' or '[' is
# looked up again for its JSON type (a second parse of every exposure cost a fifth of the stage).
_RESPONSE_TYPE = """TRY(json_type(props, '$."$feature_flag_response"'))"""
_VARIANT_BAD = (
    ("{r} IS NULL", "is missing"),
    ("lower({r}) IN ('true', 'false')",
     "is true/false: a boolean flag has no variants (use a multivariate flag)"),
    # (ascii 91 and 123 are '[' and '{', which the templates cannot spell)
    (f"ascii({{r}}) IN (91, 123) AND {_RESPONSE_TYPE} IN ('OBJECT', 'ARRAY')",
     "is a JSON object or list, not a variant key"),
    ("trim({r}) = ''", "is empty"),
    ("{r} = '$multiple'", "is '$multiple', the name reserved for units seen in several variants"),
    ("{r} <> trim({r})", "has spaces around the variant key"),
)  # fmt: skip


def _exposures() -> _Type:
    flag, resp = "{p}['$feature_flag']", "{p}['$feature_flag_response']"
    col = "properties.$feature_flag_response"
    checks = [(f"{flag} IS NULL OR {flag} = ''", "properties.$feature_flag",
               "properties.$feature_flag is missing")]  # fmt: skip
    checks += [(c.format(r=resp), col, f"{col} {why}") for c, why in _VARIANT_BAD]
    return _Type(
        "$feature_flag_called",
        "exposures",
        "_px",
        {"$feature_flag": "VARCHAR", "$feature_flag_response": "VARCHAR"},
        (),
        {"flag_key": flag, "variant": resp},
        tuple(checks),
    )


def _other_rejects(ctx: LoadContext, src: Source) -> str:
    """Rows of no promptab_nb event type → ``pre``; an unused type keeps no raw copy."""
    where = f"{src.event} IS NULL OR {src.event} NOT IN ({_USED_EVENTS})"
    return f"""
    INSERT INTO {ctx.t("pre")}
    WITH b AS ({_base(src, where)}),
    c AS (
        SELECT *, CASE WHEN event IS NULL OR event = '' THEN 'event'
                       WHEN distinct_id IS NULL OR distinct_id = '' THEN 'distinct_id'
                       WHEN ts IS NULL THEN 'timestamp' ELSE 'event' END AS bad_col,
                  CASE WHEN event IS NULL OR event = '' THEN 'event is empty'
                       WHEN distinct_id IS NULL OR distinct_id = '' THEN 'distinct_id is empty'
                       WHEN ts IS NULL THEN 'timestamp is missing or not a date-time'
                       ELSE 'event type not used by promptab_nb' END AS bad_reason
        FROM b
    )
    SELECT source_row, bad_col, bad_reason,
           CASE WHEN bad_reason = 'event type not used by promptab_nb' THEN NULL
                ELSE {_raw(src)} END
    FROM c
    """


def _stage_file(
    con: Con, ctx: LoadContext, item: Input, *, keep_properties: bool = False
) -> Staged:
    """Stage one PostHog file: exposures and evaluations into ``st`` (seen through the views
    ``exp`` and ``eval``), rows of other types into ``pre``; generations, most of an export, go
    straight from the file into their table (:class:`._stage.Direct`)."""
    src = source(con, ctx, item)
    src = replace(src, params={**src.params, "keys_ok": _key_lists(con, src)})

    def run(sql: str) -> list:
        return con.execute(sql, used_params(sql, src.params) or None).fetchall()

    unread = count(con, ctx.t("pre"))
    gen = _generations(keep_properties)
    n, n_gen = run(
        f"SELECT count(*), count(*) FILTER ({src.event} = {sql_str(gen.event)}) FROM {src.frm}"
    )[0]
    if n + unread == 0:  # (a 0-byte file fails earlier, in _files.check_text)
        raise DataError(
            f"{item.name}: the file holds no event (a header, or an empty list, and nothing "
            "else): an export with no event is most likely the wrong one. Export it again, or "
            "leave this file out."
        )
    small = (_evaluations(), _exposures())
    run(f"CREATE OR REPLACE TEMP TABLE {ctx.t('st')} AS {_stage_sql(src, small)}")
    stages = {}
    for t in small:
        stage = ctx.stage(t.table)
        cols_sql = ", ".join(ident(c) for c in t.columns)
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW {ident(stage)} AS
                SELECT source_row, uuid, ts, distinct_id, person_id, {cols_sql}, bad_col,
                       bad_reason, raw
                FROM {ctx.t("st")} WHERE event = {sql_str(t.event)}"""
        )
        stages[t.table] = stage
    run(_other_rejects(ctx, src))
    direct = Direct(_stage_sql(src, (gen,)), n_gen, src.params)
    return Staged(rows_read=unread + n, stages=stages, direct={"generations": direct})


def load_posthog(
    ws: object, path: _files.Paths, *, keep_properties: bool = False, progress: bool = True
) -> LoadReport:
    """Load PostHog export files atomically: a file, a list, a directory, a glob or a manifest.

    ``$feature_flag_called`` → ``exposures``, ``$ai_generation`` → ``generations``,
    ``$ai_evaluation`` → ``evaluations``; other events are counted as rejected ("event type not
    used"). Events already loaded (by ``uuid``, or a content hash without one) are duplicates.

    Parameters
    ----------
    ws
        The workspace.
    path
        Parquet, JSON lines (``.gz``/``.zst``), CSV, a ``manifest.json`` of a split batch export,
        a directory (its manifest if any, else every export file in it), a glob or a list.
    keep_properties
        Also store each generation's whole properties JSON in ``generations.properties`` (for
        custom properties no column holds). Off by default: every property promptab_nb uses has
        its own column, and the JSON text is most of an export (storing it made a 13 M-event
        load about 5× slower).
    progress
        Show a progress bar when loading several files.

    Returns
    -------
    LoadReport
        Per file: sha256, rows read, rows loaded per table, rows rejected (with reasons) and rows
        skipped because they were already loaded. ``rows_read == loaded + rejected + duplicate``.

    Raises
    ------
    DataError
        A file is missing, empty, not UTF-8, unreadable or truncated (nothing is loaded).
    MissingColumnError
        A required column (event, distinct_id, timestamp, properties) is absent.
    UnknownFormatError
        A file's extension is not Parquet, JSON lines or CSV.
    """
    stage = functools.partial(_stage_file, keep_properties=bool(keep_properties))
    call = loader_call("load_posthog", path, keep_properties=bool(keep_properties))
    return load_paths(ws, path, source="posthog", stage=stage, progress=progress, call=call)
