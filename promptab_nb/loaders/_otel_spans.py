"""SQL of the OTel load's span side: OTLP documents unrolled into spans (``rec``), their
attributes (``attr``) pivoted into columns, and the generation fields, checks and columns that
:func:`._stage.typed_stage` makes of them. Used by :mod:`.otel` (and :mod:`._otel_evals`)."""

from __future__ import annotations

from collections.abc import Callable

from ._context import LoadContext, sql_str
from ._shape import not_scalar, path
from ._stage import Field, is_no_id, whole_number_text

_NANOS = "TRY_CAST({} AS HUGEINT)"
_JSON_LIST = sql_str('["JSON"]')


def json_array(obj: str, *keys: str, of: str = _JSON_LIST, when: str = "") -> str:
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


def unroll_sql(src: str, keep: str, items: str, idx: str, alias: str) -> str:
    """SQL of a query: one row per element ``alias`` (numbered from 1 in ``idx``) of the list
    ``items`` (SQL over a row of ``src``), with the columns ``keep``; rows without one are
    left out."""
    return f"""SELECT {keep}, generate_subscripts(_l, 1) AS {idx}, unnest(_l) AS {alias}
    FROM (SELECT *, {items} AS _l FROM {src}) WHERE _l IS NOT NULL"""


def otlp_items(top: str, scopes: tuple[str, ...], leaf: str, alias: str) -> str:
    """CTEs ``r``, ``s``, ``p`` of an OTLP export: one row of ``p`` per element ``alias`` of
    ``top[i].<scope>[j].<leaf>[k]`` (``top``: a list column of ``d``, beside ``doc_row``;
    ``scopes``: the scope list's names, the first present wins), with its resource's attributes
    ``res_attrs`` (JSON text).

    Only the attributes go down, and ``r`` and ``s`` are materialized: carried into ``p`` (or
    read from it, as the optimizer placed the extraction past the unnest), the whole resource,
    all its spans, was copied into every span's row: two lines of 1,000 spans ran out of 512 MiB.
    """
    attrs = "CAST(json_extract(res, '$.resource.attributes') AS VARCHAR) AS res_attrs"
    return f"""r AS MATERIALIZED ({unroll_sql("d", "doc_row", top, "i", "res")}),
s AS MATERIALIZED ({unroll_sql("r", f"doc_row, i, {attrs}", json_array("res", *scopes), "j", "scope")}),
p AS ({unroll_sql("s", "doc_row, i, j, res_attrs", json_array("scope", leaf), "k", alias)})"""


def into_table(table: str, create: bool) -> str:
    """SQL creating temp table ``table`` (SQL of a quoted name) from a query, or adding to it."""
    return f"CREATE OR REPLACE TEMP TABLE {table} AS" if create else f"INSERT INTO {table}"


def spans_sql(ctx: LoadContext, create: bool) -> str:
    """SQL of ``rec``: one row per span of the documents ``$lo`` to ``$hi`` of ``docs``,
    numbered from ``$base`` + 1 (``create``: the first batch, else added to ``rec``)."""
    # (instrumentationLibrarySpans: the name of scopeSpans before OTLP 0.15)
    items = otlp_items("rs", ("scopeSpans", "instrumentationLibrarySpans"), "spans", "span")
    return f"""
{into_table(ctx.t("rec"), create)}
WITH d AS (
    SELECT source_row AS doc_row, bad_col, bad_reason, raw,
           {json_array("doc", "resourceSpans", when="bad_col IS NULL")} AS rs,
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


KV_LIST = sql_str('[{"key": "VARCHAR", "value": "JSON"}]')


def attrs_sql(ctx: LoadContext) -> str:
    """SQL of ``attr``: one row per (span, attribute); span attributes come before the
    resource's (first one wins)."""
    rec = ctx.t("rec")
    return f"""
CREATE OR REPLACE TEMP TABLE {ctx.t("attr")} AS
WITH a AS (
    SELECT source_row, 0 AS lvl, unnest(from_json(json_extract(rec, '$.attributes'), {KV_LIST})) AS kv
    FROM {rec} WHERE bad_col IS NULL AND json_type(rec, '$.attributes') = 'ARRAY'
    UNION ALL
    SELECT source_row, 1, unnest(from_json(res_attrs, {KV_LIST}))
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


def first_attr(name: str, of: str = "val") -> str:
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


def first_id_attr(name: str, of: str = "val") -> str:
    """Pivot expression: the first real id of a standard attribute (a constant name)."""
    return _first(f"key = {sql_str(name)} AND {_REAL_ID}", of)


def first_mapped_id(field: str, of: str = "val") -> str:
    """Pivot expression: the first real id of a user-mapped attribute (a parameter)."""
    return _first(f"key = ${'m_' + field} AND {_REAL_ID}", of)


def _both(expr: Callable[[str, str], str], name: str) -> tuple[str, str]:
    """The value and shape pivot expressions of ``expr`` (``first_attr``, ``first_mapped_id``, ...)."""
    return expr(name, "val"), expr(name, "shape")


_USER = (
    _both(first_mapped_id, "distinct_id"),
    _both(first_id_attr, "user.id"),
    _both(first_id_attr, "enduser.id"),
)
# The pivot's shape columns: (column, pivot expression).
SHAPES = (("user_shape", _shape(*_USER)), ("person_shape", first_mapped_id("person_id", "shape")))


def pivot_sql(ctx: LoadContext) -> str:
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
               {first_attr("gen_ai.evaluation.name")} AS eval_name,
               {first_attr("gen_ai.evaluation.score.value")} AS eval_value,
               {first_attr("gen_ai.evaluation.score.label")} AS eval_label,
               {first_attr("gen_ai.operation.name")} AS op,
               coalesce({first_attr("gen_ai.response.model")}, {first_attr("gen_ai.request.model")}) AS model,
               coalesce({first_attr("gen_ai.provider.name")}, {first_attr("gen_ai.system")}) AS provider,
               coalesce({first_attr("gen_ai.usage.input_tokens")},
                        {first_attr("gen_ai.usage.prompt_tokens")}) AS in_tok,
               coalesce({first_attr("gen_ai.usage.output_tokens")},
                        {first_attr("gen_ai.usage.completion_tokens")}) AS out_tok,
               {first_attr("gen_ai.usage.cache_read.input_tokens")} AS cr_tok,
               {first_attr("gen_ai.usage.cache_creation.input_tokens")} AS cw_tok,
               {first_attr("error.type")} AS error_type,
               {first_attr("http.response.status_code")} AS http_status,
               coalesce({first_mapped_id("distinct_id")}, {first_id_attr("user.id")},
                        {first_id_attr("enduser.id")}) AS user_id,
               {first_mapped_id("person_id")} AS m_person_id,
               {_mapped("cost_usd")} AS m_cost_usd,
               {_mapped("prompt_name")} AS m_prompt_name,
               {_mapped("prompt_version")} AS m_prompt_version,
               {_mapped("variant")} AS m_variant,
               {_mapped("ttft_s")} AS m_ttft_s,
               {", ".join(f"{e} AS {c}" for c, e in SHAPES)},
               '{{' || coalesce(string_agg(to_json(key) || ':' || to_json(val), ',')
                              FILTER (WHERE lvl = 0), '') || '}}' AS attrs
        FROM {ctx.t("attr")} GROUP BY source_row
    ) a ON a.a_row = r.source_row
)"""


def nanos_time(text: str) -> str:
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
GEN_FIELDS = [
    Field("trace_id", "p['traceId']", "id", "traceId", required=True),
    Field("span_id", "p['spanId']", "id", "spanId"),
    Field("ts", nanos_time("p['startTimeUnixNano']"), "ts", "startTimeUnixNano", required=True),
    # (checked only: an end past any time gave a latency of centuries)
    Field("end", nanos_time("p['endTimeUnixNano']"), "ts", "endTimeUnixNano"),
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

GEN_SELECT = [
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
_NOT_ID = "is an OTLP list or map (arrayValue, kvlistValue), not an id"
GEN_CHECKS = [
    *[c for f, k in (("trace_id", "traceId"), ("span_id", "spanId"))
      for c in not_scalar(f, k, path(k), kind="id")],
    *[c for col, label in (("user_shape", "user.id"), ("person_shape", "attribute_map['person_id']"))
      for c in ((f"{col} = 'list'", label, f"{label} {_NOT_ID}"),
                (f"{col} = 'bool'", label, f"{label} is true/false, not an id"))],
]  # fmt: skip

GEN_FIRST_CHECKS = [
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
IS_EVAL = (
    "coalesce(n_eval, 0) > 0 AND in_tok IS NULL AND out_tok IS NULL "
    "AND coalesce(op, '') NOT IN ('chat', 'text_completion', 'generate_content')"
)
