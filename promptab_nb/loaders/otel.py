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

from collections.abc import Mapping
from typing import Any

from ..errors import DataError, InvalidArgumentError, MissingColumnError
from . import _files
from ._context import Con, Input, LoadContext
from ._load import load_all, loader_call, prepare_paths
from ._otel_evals import (
    EVAL_CHECKS,
    EVAL_FIELDS,
    EVAL_FIRST_CHECKS,
    EVAL_SELECT,
    EVT_TABLE,
    LOG_TABLE,
    eval_source_sql,
    events_sql,
    log_attrs_sql,
    logs_sql,
)
from ._otel_spans import (
    GEN_CHECKS,
    GEN_FIELDS,
    GEN_FIRST_CHECKS,
    GEN_SELECT,
    IS_EVAL,
    SHAPES,
    attrs_sql,
    pivot_sql,
    spans_sql,
)
from ._read import count, pre_from_rec, read_docs, read_lines
from ._report import LoadReport
from ._stage import Staged, typed_stage

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
        for sql, table in ((spans_sql(ctx, n == 0), "rec"), (logs_sql(ctx, n == 0), LOG_TABLE)):
            base = count(con, ctx.t(table)) if n else 0
            con.execute(sql, {"lo": lo, "hi": hi, "base": base})
    n_docs = count(con, ctx.t("docs"))
    con.execute(f"DROP TABLE {ctx.t('docs')}")
    good = count(con, ctx.t("rec"), "bad_col IS NULL")
    total = count(con, ctx.t("rec"))
    logs = count(con, ctx.t(LOG_TABLE))
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
    con.execute(attrs_sql(ctx))
    con.execute(events_sql(ctx), {"base": total})
    events = count(con, ctx.t(EVT_TABLE))
    rows_read = unread + total + events + logs
    params: dict[str, Any] = {f"m_{f}": amap.get(f) for f in MAPPABLE}
    stage = ctx.stage("generations")
    sql = typed_stage(stage, f"(SELECT * FROM {pivot_sql(ctx)} WHERE NOT ({IS_EVAL}))", GEN_FIELDS,
                      GEN_SELECT, GEN_CHECKS, first_checks=GEN_FIRST_CHECKS,
                      keep=("n_genai", "attrs", *(c for c, _ in SHAPES)))  # fmt: skip
    con.execute(sql, params)
    stages = {"generations": stage}
    evaluated = count(con, ctx.t("attr"), "lvl = 0 AND starts_with(key, 'gen_ai.evaluation.')")
    if events or evaluated or logs:
        if logs:
            con.execute(log_attrs_sql(ctx))
            params["log_base"] = total + events
        stages["evaluations"] = ctx.stage("evaluations")
        sql = typed_stage(stages["evaluations"], eval_source_sql(ctx, bool(logs)), EVAL_FIELDS,
                          EVAL_SELECT, EVAL_CHECKS, first_checks=EVAL_FIRST_CHECKS,
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
