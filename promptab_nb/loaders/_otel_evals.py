"""SQL of the OTel load's evaluation side: ``gen_ai.evaluation.result`` span events, log records
of a logs export (``resourceLogs``) and evaluation spans, as one source for
:func:`._stage.typed_stage`, with its fields and checks. Used by :mod:`.otel`."""

from __future__ import annotations

from ._context import LoadContext
from ._otel_spans import (
    IS_EVAL,
    KV_LIST,
    first_attr,
    first_id_attr,
    first_mapped_id,
    into_table,
    json_array,
    nanos_time,
    otlp_items,
    pivot_sql,
    unroll_sql,
)
from ._stage import Field, no_id

# The temp table of the evaluation events (a name of the shared list the OTel load leaves unused).
EVT_TABLE = "res"


def events_sql(ctx: LoadContext) -> str:
    """SQL of ``res``: one row per ``gen_ai.evaluation.result`` event of a good span (numbered
    after the spans, from ``$base``), with the event's attributes pivoted."""
    rec = ctx.t("rec")
    events = json_array("rec", "events", when="bad_col IS NULL")
    return f"""
CREATE OR REPLACE TEMP TABLE {ctx.t(EVT_TABLE)} AS
WITH e AS (
    {unroll_sql(rec, "source_row AS span_row", events, "n", "event")}
),
v AS (
    SELECT $base + row_number() OVER (ORDER BY span_row, n) AS source_row, span_row,
           CAST(event AS VARCHAR) AS raw, json_extract_string(event, '$.timeUnixNano') AS nanos,
           {json_array("event", "attributes", of=KV_LIST)} AS kvs
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
LOG_TABLE, _LOG_ATTR = "off", "st"


def logs_sql(ctx: LoadContext, create: bool) -> str:
    """SQL of ``off``: one row per log record of the documents ``$lo`` to ``$hi`` of ``docs``,
    numbered from ``$base`` + 1 (as :func:`spans_sql`; the evaluation source puts them after the
    spans and events, ``$log_base``)."""
    return f"""
{into_table(ctx.t(LOG_TABLE), create)}
WITH d AS (
    -- (`when`: the JSON functions never see the lines that are not JSON)
    SELECT source_row AS doc_row, {json_array("doc", "resourceLogs", when="bad_col IS NULL")} AS rl
    FROM {ctx.t("docs")} WHERE source_row BETWEEN $lo AND $hi
),
{otlp_items("rl", ("scopeLogs",), "logRecords", "rec")}
SELECT $base + row_number() OVER (ORDER BY doc_row, i, j, k) AS source_row,
       CAST(rec AS VARCHAR) AS raw,
       res_attrs
FROM p
"""


def log_attrs_sql(ctx: LoadContext) -> str:
    """SQL of ``st``: one row per (log record, attribute), the record's before the resource's."""
    log = ctx.t(LOG_TABLE)
    return f"""
CREATE OR REPLACE TEMP TABLE {ctx.t(_LOG_ATTR)} AS
WITH a AS (
    SELECT source_row, 0 AS lvl, unnest(from_json(json_extract(raw, '$.attributes'), {KV_LIST})) AS kv
    FROM {log} WHERE json_type(raw, '$.attributes') = 'ARRAY'
    UNION ALL
    SELECT source_row, 1, unnest(from_json(res_attrs, {KV_LIST}))
    FROM {log} WHERE json_type(res_attrs) = 'ARRAY'
)
SELECT source_row, lvl, kv.key AS key,
       coalesce(kv.value ->> '$.stringValue', kv.value ->> '$.intValue',
                kv.value ->> '$.doubleValue', kv.value ->> '$.boolValue') AS val
FROM a WHERE kv.key IS NOT NULL
"""


def eval_source_sql(ctx: LoadContext, logs: bool) -> str:
    """Evaluation spans (their target: the parent span), evaluation events (their target: the
    span they are on), with the span's user, and, with ``logs``, log records (an evaluation
    event's target: the span of its traceId / spanId)."""
    pivot = pivot_sql(ctx)
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
          FROM {ctx.t(LOG_TABLE)}) l
    LEFT JOIN (
        SELECT source_row AS a_row, {first_attr("event.name")} AS event_name,
               {first_attr("gen_ai.evaluation.name")} AS eval_name,
               {first_attr("gen_ai.evaluation.score.value")} AS eval_value,
               {first_attr("gen_ai.evaluation.score.label")} AS eval_label,
               coalesce({first_mapped_id("distinct_id")}, {first_id_attr("user.id")},
                        {first_id_attr("enduser.id")}) AS user_id,
               {first_mapped_id("person_id")} AS m_person_id
        FROM {ctx.t(_LOG_ATTR)} GROUP BY source_row
    ) a ON a.a_row = l.source_row"""
    return f"""(
    SELECT source_row, raw, p['traceId'] AS trace_t, p['spanId'] AS span_t,
           p['parentSpanId'] AS target_t, p['startTimeUnixNano'] AS nanos, true AS is_span,
           false AS is_log, true AS is_event, user_id, m_person_id, eval_name, eval_value,
           eval_label
    FROM {pivot} s WHERE {IS_EVAL}
    UNION ALL
    SELECT v.source_row, v.raw, s.p['traceId'], coalesce({no_id("s.p['spanId']")}, md5(s.raw)),
           coalesce({no_id("s.p['spanId']")}, md5(s.raw)),
           -- (an event without its time: the span's start)
           coalesce(nullif(trim(v.nanos), ''), s.p['startTimeUnixNano']), false, false, true,
           s.user_id, s.m_person_id, v.eval_name, v.eval_value, v.eval_label
    FROM {ctx.t(EVT_TABLE)} v JOIN {pivot} s ON s.source_row = v.span_row{log_rows}
)"""


EVAL_FIELDS = [
    Field("trace_id", "trace_t", "id", "traceId", required=True),
    Field("span_id", "span_t", "id", "spanId"),
    Field("target", "target_t", "id", "parentSpanId"),
    # (the name first: an event without attributes is said to lack it, not its time)
    Field("name", "eval_name", "text", "gen_ai.evaluation.name", required=True),
    Field("ts", nanos_time("nanos"), "ts", "startTimeUnixNano", required=True),
    Field("score", "eval_value", "double", "gen_ai.evaluation.score.value", nonneg=False),
    Field("label", "lower(trim(eval_label))", "text", "gen_ai.evaluation.score.label"),
    Field("user_id", "user_id", "id", "user.id"),
    Field("person_id", "m_person_id", "id", "attribute_map['person_id']"),
]

EVAL_SELECT = [
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

EVAL_FIRST_CHECKS = [
    ("NOT is_event", "eventName", "log record is not a gen_ai.evaluation.result event"),
]

EVAL_CHECKS = [
    ("target IS NULL AND is_log", "spanId",
     "evaluation log record has no spanId (the span it evaluates)"),
    ("target IS NULL", "parentSpanId",
     "evaluation span has no parentSpanId (the span it evaluates)"),
    ("score IS NULL AND label IS NULL", "gen_ai.evaluation.score.value",
     "gen_ai.evaluation.score.value and gen_ai.evaluation.score.label are missing"),
]  # fmt: skip
