"""OpenTelemetry GenAI spans and evaluation events (OTLP JSON) → generations and evaluations.

Reads ``ExportTraceServiceRequest`` documents (one ``.json`` file, or JSON lines as written by the
collector's file exporter): ``resourceSpans[].scopeSpans[].spans[]`` with attributes as
``{key, value: {stringValue | intValue | doubleValue | boolValue}}`` lists (an ``arrayValue`` or
``kvlistValue`` reads as its OTLP JSON text, a ``bytesValue`` as its base64 text; a user or
person id that is a list, map or boolean, or a traceId / spanId that is not a string or number,
rejects the span). Latency is ``endTimeUnixNano − startTimeUnixNano`` in seconds. The GenAI conventions have no cost or prompt
version attribute, so those come from ``attribute_map`` (e.g. ``{"cost_usd": "spanlens.cost_usd",
"prompt_version": "app.prompt.version"}``). Spans without any ``gen_ai.*`` attribute of their own
(one on the resource tags every span of the service, HTTP and DB spans too; it only fills in what
an LLM span lacks, e.g. its provider), and embeddings / tool / agent operations, are rejected as
"not an LLM call".

Evaluations (``gen_ai.evaluation.name``, ``.score.value``, ``.score.label``) go to
``evaluations``: a ``gen_ai.evaluation.result`` span event evaluates the span it is on; a span
carrying them without a model call (no chat operation, no tokens) evaluates its parent span
(without a ``parentSpanId`` it is rejected); in an OTLP logs export (``resourceLogs``, alone or
beside the spans), a log record whose event name (``eventName``, else the ``event.name``
attribute) is ``gen_ai.evaluation.result`` evaluates the span of its ``traceId`` / ``spanId``,
and other log records are rejected. ``passed`` comes from the label (pass / fail,
correct / incorrect, true / false; other labels and a bare score leave it null); a label
"n/a" is not applicable. The SDK's ConsoleSpanExporter output is an error naming the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DataError, InvalidArgumentError, MissingColumnError
from . import _files
from ._context import Con, Input, LoadContext, sql_str
from ._load import load_all, loader_call, prepare_paths
from ._read import count, pre_from_rec, read_docs, read_lines
from ._report import LoadReport
from ._shape import not_scalar, path
from ._stage import Field, Staged, is_no_id, no_id, typed_stage, whole_number_text

# Canonical fields a user may map to an attribute of their own.
MAPPABLE = (
    "cost_usd",
    "prompt_name",
    "prompt_version",
    "variant",
    "distinct_id",
    "person_id",
    "ttft_s",
)

_NANOS = "TRY_CAST({} AS HUGEINT)"
_LIST = sql_str('["JSON"]')


def _array(obj: str, *keys: str, of: str = _LIST, when: str = "") -> str:
    """SQL of the JSON array at the first of ``keys`` (constant names) of JSON ``obj`` that holds
    one, as a DuckDB list of ``of`` (SQL of a structure), or NULL when none does. ``when`` (SQL
    of a condition) is tested first: rows that are not JSON never reach the JSON functions."""
    guard = f"{when} AND " if when else ""
    arms = " ".join(
        f"WHEN {guard}json_type({obj}, {sql_str('$.' + k)}) = 'ARRAY' "
        f"THEN from_json(json_extract({obj}, {sql_str('$.' + k)}), {of})"
        for k in keys
    )
    return f"CASE {arms} END"


def _unroll(src: str, keep: str, items: str, idx: str, alias: str) -> str:
    """SQL of a query: one row per element ``alias`` (numbered from 1 in ``idx``) of the list
    ``items`` (SQL over a row of ``src``), with the columns ``keep``; rows without one are
    left out."""
    return f"""SELECT {keep}, generate_subscripts(_l, 1) AS {idx}, unnest(_l) AS {alias}
    FROM (SELECT *, {items} AS _l FROM {src}) WHERE _l IS NOT NULL"""


def _otlp_items(top: str, scopes: tuple[str, ...], leaf: str, alias: str) -> str:
    """CTEs ``r``, ``s``, ``p`` of an OTLP export: one row of ``p`` per element ``alias`` of
    ``top[i].<scope>[j].<leaf>[k]`` (``top``: a list column of ``d``, beside ``doc_row``;
    ``scopes``: the scope list's names, the first present wins), with its resource's attributes
    ``res_attrs`` (JSON text).

    Only the attributes go down, and ``r`` and ``s`` are materialized: carried into ``p`` (or
    read from it, as the optimizer placed the extraction past the unnest), the whole resource,
    all its spans, was copied into every span's row: two lines of 1,000 spans ran out of 512 MiB.
    """
    attrs = "CAST(json_extract(res, '$.resource.attributes') AS VARCHAR) AS res_attrs"
    return f"""r AS MATERIALIZED ({_unroll("d", "doc_row", top, "i", "res")}),
s AS MATERIALIZED ({_unroll("r", f"doc_row, i, {attrs}", _array("res", *scopes), "j", "scope")}),
p AS ({_unroll("s", "doc_row, i, j, res_attrs", _array("scope", leaf), "k", alias)})"""


def _into(table: str, create: bool) -> str:
    """SQL creating temp table ``table`` (SQL of a quoted name) from a query, or adding to it."""
    return f"CREATE OR REPLACE TEMP TABLE {table} AS" if create else f"INSERT INTO {table}"


def _spans(ctx: LoadContext, create: bool) -> str:
    """SQL of ``rec``: one row per span of the documents ``$lo`` to ``$hi`` of ``docs``,
    numbered from ``$base`` + 1 (``create``: the first batch, else added to ``rec``)."""
    # (instrumentationLibrarySpans: the name of scopeSpans before OTLP 0.15)
    items = _otlp_items("rs", ("scopeSpans", "instrumentationLibrarySpans"), "spans", "span")
    return f"""
{_into(ctx.t("rec"), create)}
WITH d AS (
    SELECT source_row AS doc_row, bad_col, bad_reason, raw,
           {_array("doc", "resourceSpans", when="bad_col IS NULL")} AS rs,
           -- (a logs document: its records are read by _LOGS)
           CASE WHEN bad_col IS NULL AND json_type(doc, '$.resourceLogs') = 'ARRAY' THEN true
                ELSE false END AS has_logs
    FROM {ctx.t("docs")} WHERE source_row BETWEEN $lo AND $hi
),
{items},
u AS (
    SELECT doc_row, i, j, k, CAST(span AS VARCHAR) AS rec, res_attrs, NULL::VARCHAR AS bad_col,
           NULL::VARCHAR AS bad_reason, NULL::VARCHAR AS raw
    FROM p
    UNION ALL
    SELECT doc_row, 0, 0, 0, NULL, NULL, coalesce(bad_col, '(line)'),
           coalesce(bad_reason, 'not an OTLP trace export (no resourceSpans list)'), raw
    FROM d WHERE rs IS NULL AND NOT coalesce(has_logs, false)
)
SELECT $base + row_number() OVER (ORDER BY doc_row, i, j, k) AS source_row, rec, res_attrs,
       CASE WHEN bad_col IS NOT NULL THEN bad_col
            WHEN json_type(rec) <> 'OBJECT' THEN '(span)' END AS bad_col,
       CASE WHEN bad_col IS NOT NULL THEN bad_reason
            WHEN json_type(rec) <> 'OBJECT' THEN 'span is not a JSON object' END AS bad_reason,
       coalesce(raw, rec) AS raw
FROM u
"""


_KV = sql_str('[{"key": "VARCHAR", "value": "JSON"}]')


def _attrs(ctx: LoadContext) -> str:
    """SQL of ``attr``: one row per (span, attribute); span attributes come before the
    resource's (first one wins)."""
    rec = ctx.t("rec")
    return f"""
CREATE OR REPLACE TEMP TABLE {ctx.t("attr")} AS
WITH a AS (
    SELECT source_row, 0 AS lvl, unnest(from_json(json_extract(rec, '$.attributes'), {_KV})) AS kv
    FROM {rec} WHERE bad_col IS NULL AND json_type(rec, '$.attributes') = 'ARRAY'
    UNION ALL
    SELECT source_row, 1, unnest(from_json(res_attrs, {_KV}))
    FROM {rec} WHERE bad_col IS NULL AND json_type(res_attrs) = 'ARRAY'
)
SELECT source_row, lvl, kv.key AS key,
       coalesce(kv.value ->> '$.stringValue', kv.value ->> '$.intValue',
                kv.value ->> '$.doubleValue', kv.value ->> '$.boolValue',
                CAST(kv.value -> '$.arrayValue' AS VARCHAR),
                CAST(kv.value -> '$.kvlistValue' AS VARCHAR), kv.value ->> '$.bytesValue') AS val,
       -- (what val was: an id or a label must not be a list or map read as its JSON text)
       CASE WHEN coalesce(kv.value ->> '$.stringValue', kv.value ->> '$.intValue',
                          kv.value ->> '$.doubleValue') IS NOT NULL THEN ''
            WHEN (kv.value ->> '$.boolValue') IS NOT NULL THEN 'bool'
            WHEN coalesce(kv.value -> '$.arrayValue', kv.value -> '$.kvlistValue') IS NOT NULL
            THEN 'list' ELSE '' END AS shape
FROM a WHERE kv.key IS NOT NULL
"""


def _first(cond: str, of: str) -> str:
    """Pivot expression: ``val`` (``of="val"``) or ``shape`` of the first attribute (the span's
    before the resource's) with a value meeting ``cond``."""
    if of == "val":
        return f"arg_min(val, lvl) FILTER (WHERE {cond})"
    return f"arg_min(shape, lvl) FILTER (WHERE {cond} AND val IS NOT NULL)"


def _attr(name: str, of: str = "val") -> str:
    """Pivot expression: the first value of a standard attribute (a constant name)."""
    return _first(f"key = {sql_str(name)}", of)


def _mapped(field: str, of: str = "val") -> str:
    """Pivot expression for a user-mapped attribute: its name is a parameter, never SQL text."""
    return _first(f"key = ${'m_' + field}", of)


def _shape(*candidates: tuple[str, str]) -> str:
    """Pivot expression: the shape of the first of ``candidates`` (pivot expressions of a value
    and of its shape) with a value, as ``coalesce`` of the values picks it."""
    arms = " ".join(f"WHEN {v} IS NOT NULL THEN {sh}" for v, sh in candidates)
    return f"CASE {arms} END"


# An id attribute reading "null"/"undefined"/"" is skipped, so the next one (the resource's, then
# the next attribute, then the trace) is the unit.
_REAL_ID = f"NOT {is_no_id('val')}"


def _id_attr(name: str, of: str = "val") -> str:
    """Pivot expression: the first real id of a standard attribute (a constant name)."""
    return _first(f"key = {sql_str(name)} AND {_REAL_ID}", of)


def _mapped_id(field: str, of: str = "val") -> str:
    """Pivot expression: the first real id of a user-mapped attribute (a parameter)."""
    return _first(f"key = ${'m_' + field} AND {_REAL_ID}", of)


def _both(expr: Callable[[str, str], str], name: str) -> tuple[str, str]:
    """The value and shape pivot expressions of ``expr`` (``_attr``, ``_mapped_id``, ...)."""
    return expr(name, "val"), expr(name, "shape")


_USER = (
    _both(_mapped_id, "distinct_id"),
    _both(_id_attr, "user.id"),
    _both(_id_attr, "enduser.id"),
)
# The pivot's shape columns: (column, pivot expression).
_SHAPES = (("user_shape", _shape(*_USER)), ("person_shape", _mapped_id("person_id", "shape")))


def _pivot(ctx: LoadContext) -> str:
    """The good spans with their attributes pivoted into columns."""
    return f"""(
    SELECT r.source_row, r.raw, r.p, a.*
    FROM (SELECT source_row, raw, from_json(rec, '{{"traceId": "VARCHAR", "spanId": "VARCHAR",
                 "parentSpanId": "VARCHAR", "name": "VARCHAR", "startTimeUnixNano": "VARCHAR",
                 "endTimeUnixNano": "VARCHAR",
                 "status": {{"code": "VARCHAR", "message": "VARCHAR"}}}}') AS p
          FROM {ctx.t("rec")} WHERE bad_col IS NULL) r
    LEFT JOIN (
        SELECT source_row AS a_row,
               -- on the span itself: a resource's gen_ai.* tags every span of the service
               count(*) FILTER (WHERE lvl = 0 AND key LIKE 'gen\\_ai.%' ESCAPE '\\') AS n_genai,
               count(*) FILTER (WHERE lvl = 0 AND key LIKE 'gen\\_ai.evaluation.%' ESCAPE '\\')
                   AS n_eval,
               {_attr("gen_ai.evaluation.name")} AS eval_name,
               {_attr("gen_ai.evaluation.score.value")} AS eval_value,
               {_attr("gen_ai.evaluation.score.label")} AS eval_label,
               {_attr("gen_ai.operation.name")} AS op,
               coalesce({_attr("gen_ai.response.model")}, {_attr("gen_ai.request.model")}) AS model,
               coalesce({_attr("gen_ai.provider.name")}, {_attr("gen_ai.system")}) AS provider,
               coalesce({_attr("gen_ai.usage.input_tokens")},
                        {_attr("gen_ai.usage.prompt_tokens")}) AS in_tok,
               coalesce({_attr("gen_ai.usage.output_tokens")},
                        {_attr("gen_ai.usage.completion_tokens")}) AS out_tok,
               {_attr("gen_ai.usage.cache_read.input_tokens")} AS cr_tok,
               {_attr("gen_ai.usage.cache_creation.input_tokens")} AS cw_tok,
               {_attr("error.type")} AS error_type,
               {_attr("http.response.status_code")} AS http_status,
               coalesce({_mapped_id("distinct_id")}, {_id_attr("user.id")},
                        {_id_attr("enduser.id")}) AS user_id,
               {_mapped_id("person_id")} AS m_person_id,
               {_mapped("cost_usd")} AS m_cost_usd,
               {_mapped("prompt_name")} AS m_prompt_name,
               {_mapped("prompt_version")} AS m_prompt_version,
               {_mapped("variant")} AS m_variant,
               {_mapped("ttft_s")} AS m_ttft_s,
               {", ".join(f"{e} AS {c}" for c, e in _SHAPES)},
               '{{' || coalesce(string_agg(to_json(key) || ':' || to_json(val), ',')
                              FILTER (WHERE lvl = 0), '') || '}}' AS attrs
        FROM {ctx.t("attr")} GROUP BY source_row
    ) a ON a.a_row = r.source_row
)"""


def _ts(text: str) -> str:
    """SQL text of the time of nanoseconds since the epoch ``text`` (SQL of text)."""
    nanos = _NANOS.format(text)
    return (
        f"CASE WHEN {nanos} BETWEEN 0 AND 253402300799000000000 "
        f"THEN CAST(make_timestamp(CAST({nanos} // 1000 AS BIGINT)) AS VARCHAR) "
        # present but not a time (negative, overlong, text): rejected as such, not as missing
        f"WHEN trim({text}) <> '' THEN 'not a time' END"
    )


_START = _NANOS.format("p['startTimeUnixNano']")
_END = _NANOS.format("p['endTimeUnixNano']")
_FIELDS = [
    Field("trace_id", "p['traceId']", "id", "traceId", required=True),
    Field("span_id", "p['spanId']", "id", "spanId"),
    Field("ts", _ts("p['startTimeUnixNano']"), "ts", "startTimeUnixNano", required=True),
    # (checked only: an end past any time gave a latency of centuries)
    Field("end", _ts("p['endTimeUnixNano']"), "ts", "endTimeUnixNano"),
    Field("latency_s", f"CAST(({_END} - {_START}) / 1e9 AS VARCHAR)", "double",
          "endTimeUnixNano - startTimeUnixNano", required=True),
    Field("model", "model", "text", "gen_ai.request.model"),
    Field("provider", "provider", "text", "gen_ai.provider.name"),
    Field("input_tokens", "in_tok", "bigint", "gen_ai.usage.input_tokens"),
    Field("output_tokens", "out_tok", "bigint", "gen_ai.usage.output_tokens"),
    Field("cache_read_tokens", "cr_tok", "bigint", "gen_ai.usage.cache_read.input_tokens"),
    Field("cache_write_tokens", "cw_tok", "bigint", "gen_ai.usage.cache_creation.input_tokens"),
    Field("http_status", "http_status", "int", "http.response.status_code"),
    Field("cost_usd", "m_cost_usd", "double", "attribute_map['cost_usd']"),
    Field("ttft_s", "m_ttft_s", "double", "attribute_map['ttft_s']"),
    Field("user_id", "user_id", "id", "user.id"),
    Field("person_id", "m_person_id", "id", "attribute_map['person_id']"),
    Field("prompt_name", "m_prompt_name", "text", "attribute_map['prompt_name']"),
    # An integer version (or arm, below) written as a double (3.0) is "3", as from an intValue.
    Field("prompt_version", whole_number_text("m_prompt_version"), "text",
          "attribute_map['prompt_version']"),
    Field("variant", whole_number_text("m_variant"), "text", "attribute_map['variant']"),
    Field("status_code", "upper(p['status']['code'])", "text", "status.code"),
    Field("error_type", "error_type", "text", "error.type"),
    Field("op", "op", "text", "gen_ai.operation.name"),
]  # fmt: skip

_SELECT = [
    "trace_id || '-' || coalesce(span_id, md5(raw)) AS uuid", "ts",
    "coalesce(user_id, trace_id) AS distinct_id", "person_id", "trace_id", "prompt_name",
    "prompt_version", "model", "provider", "latency_s", "ttft_s", "input_tokens",
    "output_tokens", "cost_usd",
    # OTLP JSON omits a zero status (UNSET): no status is no error, not an unknown one.
    "(error_type IS NOT NULL OR coalesce(status_code IN ('2', 'STATUS_CODE_ERROR'), false) "
    "OR coalesce(http_status >= 400, false)) AS is_error",
    "http_status", "variant", "CAST(attrs AS JSON) AS properties",
    # The conventions count cached tokens in gen_ai.usage.input_tokens.
    "cache_read_tokens", "cache_write_tokens",
    "CASE WHEN cache_read_tokens IS NOT NULL OR cache_write_tokens IS NOT NULL THEN true END"
    " AS cache_in_input",
]  # fmt: skip

# A JSON object or list read as text loaded as a trace of its own (see _shape), an OTLP list or
# map (read as its JSON text, as for other attributes) or a boolean as a user of its own.
_LIST = "is an OTLP list or map (arrayValue, kvlistValue), not an id"
_CHECKS = [
    *[c for f, k in (("trace_id", "traceId"), ("span_id", "spanId"))
      for c in not_scalar(f, k, path(k), kind="id")],
    *[c for col, label in (("user_shape", "user.id"), ("person_shape", "attribute_map['person_id']"))
      for c in ((f"{col} = 'list'", label, f"{label} {_LIST}"),
                (f"{col} = 'bool'", label, f"{label} is true/false, not an id"))],
]  # fmt: skip

_FIRST = [
    (
        "coalesce(n_genai, 0) = 0", "attributes",
        "span is not an LLM call (no gen_ai.* attributes on the span)",
    ),
    (
        "op IN ('embeddings', 'execute_tool', 'create_agent', 'invoke_agent')",
        "gen_ai.operation.name", "gen_ai.operation.name is not an LLM call (chat, completion)",
    ),
]  # fmt: skip


# A span that only carries an evaluation's result (gen_ai.evaluation.* on the span, no model
# call: no chat operation, no tokens) is an evaluation, not an LLM call.
_IS_EVAL = (
    "coalesce(n_eval, 0) > 0 AND in_tok IS NULL AND out_tok IS NULL "
    "AND coalesce(op, '') NOT IN ('chat', 'text_completion', 'generate_content')"
)


# The temp table of the evaluation events (a name of the shared list the OTel load leaves unused).
_EVT = "res"


def _events(ctx: LoadContext) -> str:
    """SQL of ``res``: one row per ``gen_ai.evaluation.result`` event of a good span (numbered
    after the spans, from ``$base``), with the event's attributes pivoted."""
    rec = ctx.t("rec")
    events = _array("rec", "events", when="bad_col IS NULL")
    return f"""
CREATE OR REPLACE TEMP TABLE {ctx.t(_EVT)} AS
WITH e AS (
    {_unroll(rec, "source_row AS span_row", events, "n", "event")}
),
v AS (
    SELECT $base + row_number() OVER (ORDER BY span_row, n) AS source_row, span_row,
           CAST(event AS VARCHAR) AS raw, json_extract_string(event, '$.timeUnixNano') AS nanos,
           {_array("event", "attributes", of=_KV)} AS kvs
    FROM e WHERE json_extract_string(event, '$.name') = 'gen_ai.evaluation.result'
),
a AS (
    SELECT source_row, unnest(kvs) AS kv FROM v
),
w AS (
    SELECT source_row, kv.key AS key,
           coalesce(kv.value ->> '$.stringValue', kv.value ->> '$.intValue',
                    kv.value ->> '$.doubleValue', kv.value ->> '$.boolValue') AS val
    FROM a
)
SELECT v.source_row, v.span_row, v.raw, v.nanos,
       (SELECT min(val) FILTER (WHERE key = 'gen_ai.evaluation.name') FROM w
        WHERE w.source_row = v.source_row) AS eval_name,
       (SELECT min(val) FILTER (WHERE key = 'gen_ai.evaluation.score.value') FROM w
        WHERE w.source_row = v.source_row) AS eval_value,
       (SELECT min(val) FILTER (WHERE key = 'gen_ai.evaluation.score.label') FROM w
        WHERE w.source_row = v.source_row) AS eval_label
FROM v
"""


# The temp tables of the log records of a logs export (resourceLogs) and of their attributes
# (names of the shared list the OTel load leaves unused).
_LOG, _LOG_ATTR = "off", "st"


def _logs(ctx: LoadContext, create: bool) -> str:
    """SQL of ``off``: one row per log record of the documents ``$lo`` to ``$hi`` of ``docs``,
    numbered from ``$base`` + 1 (as :func:`_spans`; the evaluation source puts them after the
    spans and events, ``$log_base``)."""
    return f"""
{_into(ctx.t(_LOG), create)}
WITH d AS (
    -- (`when`: the JSON functions never see the lines that are not JSON)
    SELECT source_row AS doc_row, {_array("doc", "resourceLogs", when="bad_col IS NULL")} AS rl
    FROM {ctx.t("docs")} WHERE source_row BETWEEN $lo AND $hi
),
{_otlp_items("rl", ("scopeLogs",), "logRecords", "rec")}
SELECT $base + row_number() OVER (ORDER BY doc_row, i, j, k) AS source_row,
       CAST(rec AS VARCHAR) AS raw,
       res_attrs
FROM p
"""


def _log_attrs(ctx: LoadContext) -> str:
    """SQL of ``st``: one row per (log record, attribute), the record's before the resource's."""
    log = ctx.t(_LOG)
    return f"""
CREATE OR REPLACE TEMP TABLE {ctx.t(_LOG_ATTR)} AS
WITH a AS (
    SELECT source_row, 0 AS lvl, unnest(from_json(json_extract(raw, '$.attributes'), {_KV})) AS kv
    FROM {log} WHERE json_type(raw, '$.attributes') = 'ARRAY'
    UNION ALL
    SELECT source_row, 1, unnest(from_json(res_attrs, {_KV}))
    FROM {log} WHERE json_type(res_attrs) = 'ARRAY'
)
SELECT source_row, lvl, kv.key AS key,
       coalesce(kv.value ->> '$.stringValue', kv.value ->> '$.intValue',
                kv.value ->> '$.doubleValue', kv.value ->> '$.boolValue') AS val
FROM a WHERE kv.key IS NOT NULL
"""


def _eval_source(ctx: LoadContext, logs: bool) -> str:
    """Evaluation spans (their target: the parent span), evaluation events (their target: the
    span they are on), with the span's user, and, with ``logs``, log records (an evaluation
    event's target: the span of its traceId / spanId)."""
    pivot = _pivot(ctx)
    log_rows = ""
    if logs:
        log_rows = f"""
    UNION ALL
    SELECT l.source_row + $log_base, l.raw, l.p['traceId'], l.p['spanId'], l.p['spanId'],
           -- (0 is OTLP's "unknown": then the time the collector saw it)
           coalesce(nullif(nullif(trim(l.p['timeUnixNano']), ''), '0'),
                    l.p['observedTimeUnixNano']),
           false, true,
           coalesce(nullif(trim(l.p['eventName']), ''), a.event_name)
               IS NOT DISTINCT FROM 'gen_ai.evaluation.result',
           a.user_id, a.m_person_id, a.eval_name, a.eval_value, a.eval_label
    FROM (SELECT source_row, raw, from_json(raw, '{{"traceId": "VARCHAR", "spanId": "VARCHAR",
                 "timeUnixNano": "VARCHAR", "observedTimeUnixNano": "VARCHAR",
                 "eventName": "VARCHAR"}}') AS p
          FROM {ctx.t(_LOG)}) l
    LEFT JOIN (
        SELECT source_row AS a_row, {_attr("event.name")} AS event_name,
               {_attr("gen_ai.evaluation.name")} AS eval_name,
               {_attr("gen_ai.evaluation.score.value")} AS eval_value,
               {_attr("gen_ai.evaluation.score.label")} AS eval_label,
               coalesce({_mapped_id("distinct_id")}, {_id_attr("user.id")},
                        {_id_attr("enduser.id")}) AS user_id,
               {_mapped_id("person_id")} AS m_person_id
        FROM {ctx.t(_LOG_ATTR)} GROUP BY source_row
    ) a ON a.a_row = l.source_row"""
    return f"""(
    SELECT source_row, raw, p['traceId'] AS trace_t, p['spanId'] AS span_t,
           p['parentSpanId'] AS target_t, p['startTimeUnixNano'] AS nanos, true AS is_span,
           false AS is_log, true AS is_event, user_id, m_person_id, eval_name, eval_value,
           eval_label
    FROM {pivot} s WHERE {_IS_EVAL}
    UNION ALL
    SELECT v.source_row, v.raw, s.p['traceId'], coalesce({no_id("s.p['spanId']")}, md5(s.raw)),
           coalesce({no_id("s.p['spanId']")}, md5(s.raw)),
           -- (an event without its time: the span's start)
           coalesce(nullif(trim(v.nanos), ''), s.p['startTimeUnixNano']), false, false, true,
           s.user_id, s.m_person_id, v.eval_name, v.eval_value, v.eval_label
    FROM {ctx.t(_EVT)} v JOIN {pivot} s ON s.source_row = v.span_row{log_rows}
)"""


_EVAL_FIELDS = [
    Field("trace_id", "trace_t", "id", "traceId", required=True),
    Field("span_id", "span_t", "id", "spanId"),
    Field("target", "target_t", "id", "parentSpanId"),
    # (the name first: an event without attributes is said to lack it, not its time)
    Field("name", "eval_name", "text", "gen_ai.evaluation.name", required=True),
    Field("ts", _ts("nanos"), "ts", "startTimeUnixNano", required=True),
    Field("score", "eval_value", "double", "gen_ai.evaluation.score.value", nonneg=False),
    Field("label", "lower(trim(eval_label))", "text", "gen_ai.evaluation.score.label"),
    Field("user_id", "user_id", "id", "user.id"),
    Field("person_id", "m_person_id", "id", "attribute_map['person_id']"),
]

_EVAL_SELECT = [
    "trace_id || '-' || coalesce(span_id, md5(raw)) "
    "|| CASE WHEN is_span THEN '' ELSE '-' || md5(raw) END AS uuid",
    "ts", "coalesce(user_id, trace_id) AS distinct_id", "person_id",
    "trace_id || '-' || target AS target_uuid", "trace_id", "name",
    # The label is the evaluator's verdict (the conventions' examples: pass / fail, correct /
    # incorrect); a score alone has no pass mark, so it passes nothing (null, as a NUMERIC
    # Langfuse score without pass_threshold).
    "CASE WHEN label IN ('pass', 'passed', 'true', 'correct', 'yes') THEN true "
    "WHEN label IN ('fail', 'failed', 'false', 'incorrect', 'no') THEN false END AS passed",
    "coalesce(label NOT IN ('n/a', 'na', 'not_applicable', 'not applicable'), true) AS applicable",
    "score",
]  # fmt: skip

_EVAL_FIRST = [
    ("NOT is_event", "eventName", "log record is not a gen_ai.evaluation.result event"),
]

_EVAL_CHECKS = [
    ("target IS NULL AND is_log", "spanId",
     "evaluation log record has no spanId (the span it evaluates)"),
    ("target IS NULL", "parentSpanId",
     "evaluation span has no parentSpanId (the span it evaluates)"),
    ("score IS NULL AND label IS NULL", "gen_ai.evaluation.score.value",
     "gen_ai.evaluation.score.value and gen_ai.evaluation.score.label are missing"),
]  # fmt: skip


# The SDK's ConsoleSpanExporter prints each span as its own (indented) JSON object with a
# "context": {"trace_id": "0x…"} and ISO "start_time": no resourceSpans.
_CONSOLE = """
SELECT coalesce(bool_or(regexp_matches(line, '"trace_id"\\s*:\\s*"0x[0-9a-fA-F]+"'))
                AND NOT bool_or(contains(line, 'resourceSpans')), false)
FROM (SELECT line FROM {lines} ORDER BY source_row LIMIT 50)
"""


def _refuse_console_spans(con: Con, ctx: LoadContext, item: Input) -> None:
    """The console exporter's output is an error naming it and the fix: read as OTLP it was
    "invalid JSON ... may be truncated" (several objects in a .json) or "has no spans"."""
    if con.execute(_CONSOLE.format(lines=ctx.t("lines"))).fetchall()[0][0]:
        raise DataError(
            f"{item.name}: this is the output of the OpenTelemetry SDK's ConsoleSpanExporter "
            '(one JSON object per span, with "context" and "start_time"), not an OTLP JSON '
            "export, which load_otel reads. Export the spans as OTLP JSON: send them to an "
            "OpenTelemetry Collector (OTLPSpanExporter) whose file exporter writes "
            "resourceSpans JSON lines (exporters: file: path: traces.jsonl), and load that file."
        )


def _fail_unread(con: Con, ctx: LoadContext, item: Input) -> None:
    """A ``DataError`` naming the first line, for JSON lines of which no line could be read (it
    was "holds no spans"); a one-document .json fails in :func:`._read.read_docs` already."""
    rows = con.execute(
        f"SELECT source_row, bad_reason, count(*) OVER () FROM {ctx.t('pre')} ORDER BY 1 LIMIT 1"
    ).fetchall()
    if not rows:
        return
    row, reason, n = rows[0]
    raise DataError(
        f"{item.name}: line {row} cannot be read ({reason}); none of its {n} lines could be "
        "read, so nothing was loaded. Export it again."
    )


# JSON documents are unrolled in batches of about this many bytes: DuckDB parses a whole vector
# of documents at once, and 60 lines of 1,000 spans (36 MB) in one statement ran out of 512 MiB.
_BATCH_BYTES = 4 * 2**20


def _batches(con: Con, ctx: LoadContext) -> list[tuple[int, int]]:
    """The first and last document of each batch of ``docs`` (in order; one empty batch when
    there is no document, so the tables are created)."""
    rows = con.execute(
        f"""SELECT min(source_row), max(source_row)
            FROM (SELECT source_row, (sum(coalesce(strlen(doc), 0)) OVER (ORDER BY source_row)
                                      - 1) // $size AS b FROM {ctx.t("docs")})
            GROUP BY b ORDER BY 1""",
        {"size": _BATCH_BYTES},
    ).fetchall()
    return [(lo, hi) for lo, hi in rows] or [(0, -1)]


def _stage(con: Con, ctx: LoadContext, item: Input, amap: Mapping[str, str]) -> Staged:
    assert item.path is not None
    read_lines(con, ctx, item.path, item.compression)
    _refuse_console_spans(con, ctx, item)
    read_docs(con, ctx, item.path, item.fmt, item.compression, lines_read=True)
    for n, (lo, hi) in enumerate(_batches(con, ctx)):
        for sql, table in ((_spans(ctx, n == 0), "rec"), (_logs(ctx, n == 0), _LOG)):
            base = count(con, ctx.t(table)) if n else 0
            con.execute(sql, {"lo": lo, "hi": hi, "base": base})
    n_docs = count(con, ctx.t("docs"))
    con.execute(f"DROP TABLE {ctx.t('docs')}")
    good = count(con, ctx.t("rec"), "bad_col IS NULL")
    total = count(con, ctx.t("rec"))
    logs = count(con, ctx.t(_LOG))
    if not n_docs:
        _fail_unread(con, ctx, item)
    if not total and not logs:
        # (resourceSpans lists without a span: it loaded as "0 rows read", where an empty file is
        # an error)
        raise DataError(
            f"{item.name}: holds no spans (its resourceSpans[].scopeSpans[].spans[] lists are "
            "empty or missing). Export the traces again, or leave this file out."
        )
    if not good and not logs:
        broken = count(con, ctx.t("rec"), "bad_reason = 'line is not valid JSON'")
        if broken == total:
            # every document is cut short or not JSON: not a question of the export's format
            what = "its line is not" if total == 1 else f"none of its {total} lines is"
            raise DataError(
                f"{item.name}: {what} valid JSON. The file may be truncated; export it again."
            )
        raise MissingColumnError(
            f"{item.name} has no spans: no document holds resourceSpans[].scopeSpans[].spans[]."
            " Export traces as OTLP JSON (collector file exporter or /v1/traces body)."
        )
    unread = pre_from_rec(con, ctx)  # undecodable lines, then the flagged spans
    con.execute(_attrs(ctx))
    con.execute(_events(ctx), {"base": total})
    events = count(con, ctx.t(_EVT))
    rows_read = unread + total + events + logs
    params: dict[str, Any] = {f"m_{f}": amap.get(f) for f in MAPPABLE}
    stage = ctx.stage("generations")
    sql = typed_stage(stage, f"(SELECT * FROM {_pivot(ctx)} WHERE NOT ({_IS_EVAL}))", _FIELDS,
                      _SELECT, _CHECKS, first_checks=_FIRST,
                      keep=("n_genai", "attrs", *(c for c, _ in _SHAPES)))  # fmt: skip
    con.execute(sql, params)
    stages = {"generations": stage}
    evaluated = count(con, ctx.t("attr"), "lvl = 0 AND starts_with(key, 'gen_ai.evaluation.')")
    if events or evaluated or logs:
        if logs:
            con.execute(_log_attrs(ctx))
            params["log_base"] = total + events
        stages["evaluations"] = ctx.stage("evaluations")
        sql = typed_stage(stages["evaluations"], _eval_source(ctx, bool(logs)), _EVAL_FIELDS,
                          _EVAL_SELECT, _EVAL_CHECKS, first_checks=_EVAL_FIRST,
                          keep=("is_span", "is_log", "is_event"))  # fmt: skip
        con.execute(sql, params)
    return Staged(rows_read=rows_read, stages=stages)


def load_otel(
    ws: Any,
    path: _files.Paths,
    *,
    attribute_map: Mapping[str, str] | None = None,
    progress: bool = True,
) -> LoadReport:
    """Load OTLP JSON trace exports with GenAI spans into ``generations`` and ``evaluations``.

    Parameters
    ----------
    ws
        The workspace.
    path
        ``.json`` (one ``ExportTraceServiceRequest``, or ``ExportLogsServiceRequest`` of
        evaluation events) or ``.jsonl`` (one per line), optionally
        ``.gz``/``.zst``; a list, directory or glob.
    attribute_map
        Canonical field → span (or resource) attribute name, for what the conventions do not
        define: ``cost_usd`` (USD), ``prompt_name``, ``prompt_version``, ``variant``,
        ``distinct_id`` (default ``user.id``/``enduser.id``, else the trace id), ``person_id``,
        ``ttft_s`` (seconds).
    progress
        Show a progress bar when loading several files.

    Returns
    -------
    LoadReport
        ``latency_s`` = end − start in seconds; ``is_error`` from ``error.type``, an ERROR span
        status or an HTTP status >= 400 (a span without a status is not an error). Id attributes
        reading "null"/"undefined"/"" are missing: the unit falls back to the next one.
        Evaluation spans, ``gen_ai.evaluation.result`` span events and log records
        (``resourceLogs``) are loaded into ``evaluations`` (see the module docstring); each
        event and log record counts as a row read.

    Raises
    ------
    InvalidArgumentError
        ``attribute_map`` has a key outside the mappable fields, or a value that is not a name.
    MissingColumnError
        No document of a file holds spans.
    DataError
        A file is empty, not UTF-8, truncated or unreadable, or is the ConsoleSpanExporter's
        output (nothing is loaded).

    Examples
    --------
    >>> ws.load_otel("traces.json", attribute_map={"cost_usd": "spanlens.cost_usd"})  # doctest: +SKIP
    """
    amap = dict(attribute_map or {})
    for k, v in amap.items():
        if k not in MAPPABLE:
            raise InvalidArgumentError(
                f"attribute_map has key {k!r}; mappable fields: {', '.join(MAPPABLE)}."
            )
        if not isinstance(v, str) or not v:
            raise InvalidArgumentError(
                f"attribute_map[{k!r}] == {v!r}, must be an attribute name such as 'app.cost_usd'."
            )
    rows = prepare_paths(path, source="otel", formats=("json", "jsonl"))

    def stage(con: Con, ctx: LoadContext, item: Input) -> Staged:
        return _stage(con, ctx, item, amap)

    call = loader_call("load_otel", path, attribute_map=amap)
    return load_all(ws, rows, source="otel", stage=stage, progress=progress, call=call)
