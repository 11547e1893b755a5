"""PostHog exports → exposures, generations, evaluations.

Accepts the batch-export Parquet (``properties`` as JSON text; ``*.parquet.zst`` is plain Parquet),
JSON lines (``properties`` nested; ``.gz``/``.zst`` too), a split export's ``manifest.json``, and UI
CSV with a ``properties`` JSON column or flattened ``properties.$x`` / ``*.properties.$x`` columns.
Each file is staged into a temporary table of raw text columns, checked row by row in SQL (bad rows
→ ``rejects`` with the column and reason), each row's properties are parsed once with ``from_json``
into a typed struct, and the shared pipeline (:mod:`._common`) inserts the result in one
transaction, skipping events already loaded (by ``uuid``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .._sql import ident, used_params
from ..errors import MissingColumnError
from . import _common, _files
from ._common import Input, Staged, sql_str
from ._report import LoadReport

REQUIRED = ("event", "distinct_id", "timestamp", "properties")
OPTIONAL = ("uuid", "person_id")
EVENTS = {
    "$feature_flag_called": "exposures",
    "$ai_generation": "generations",
    "$ai_evaluation": "evaluations",
}


# -- sources: every format becomes a relation with the columns of `Source` -------------------
# The typed stages below read it once per event type (a filter on `event`, which Parquet skips
# cheaply), so a Parquet file is never copied into a text table first.
@dataclass(frozen=True)
class Source:
    """SQL expressions over ``frm`` giving one raw event per row (``ts`` already typed)."""

    frm: str
    source_row: str
    uuid: str
    event: str
    distinct_id: str
    person_id: str
    ts: str
    ts_raw: str  # text of the timestamp, only used to hash events without a uuid
    props: str
    raw: str = "NULL::VARCHAR"
    params: dict[str, object] = field(default_factory=dict)


def _parquet_source(path: Path, cols: dict[str, str]) -> Source:
    def text(c: str) -> str:
        return f"CAST({ident(c)} AS VARCHAR)" if c in cols else "NULL::VARCHAR"

    props = "properties" if cols["properties"] in ("VARCHAR", "JSON") else "to_json(properties)"
    # Native timestamps are used as they are (a naive one is UTC, the session time zone); only
    # other types go through their text, as every text timestamp does.
    ts_type = cols["timestamp"]
    ts_raw = 'CAST("timestamp" AS VARCHAR)'
    ts = (
        'CAST("timestamp" AS TIMESTAMPTZ)'
        if ts_type in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")
        else f"TRY_CAST({ts_raw} AS TIMESTAMPTZ)"
    )
    return Source(
        frm="read_parquet($path, file_row_number = true)",
        source_row="file_row_number + 1",
        uuid=text("uuid"),
        event=text("event"),
        distinct_id=text("distinct_id"),
        person_id=text("person_id"),
        ts=ts,
        ts_raw=ts_raw,
        props=f"CAST({props} AS VARCHAR)",
        params={"path": str(path)},
    )


def _json_source(con: duckdb.DuckDBPyConnection, item: Input) -> Source:
    # Read whole lines as text (via the shared reader) so that a line that is not JSON is kept
    # and rejected rather than silently skipped by the JSON reader.
    if item.fmt == "jsonl":
        assert item.path is not None
        _common.read_lines(con, item.path, item.compression)
        if _common.one_object_per_line(con):
            return _jsonl_source(con, item)
    _common.read_records(con, item, lines_read=item.fmt == "jsonl")
    _require_keys(con, item, "SELECT rec AS doc FROM _pab_rec WHERE bad_col IS NULL")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_raw AS
        WITH j AS (
            SELECT source_row, rec, json_extract(rec, '$.properties') AS p
            FROM _pab_rec WHERE bad_col IS NULL
        )
        SELECT source_row, rec ->> '$.uuid' AS uuid, rec ->> '$.event' AS event,
               rec ->> '$.distinct_id' AS distinct_id, rec ->> '$.person_id' AS person_id,
               rec ->> '$.timestamp' AS ts_raw,
               CASE WHEN json_type(p) = 'VARCHAR' THEN p ->> '$' WHEN json_type(p) = 'NULL' THEN NULL
                    ELSE CAST(p AS VARCHAR) END AS props,
               rec AS raw
        FROM j
        """
    )
    con.execute("DROP TABLE _pab_rec")
    return Source(
        frm="_pab_raw",
        source_row="source_row",
        uuid="uuid",
        event="event",
        distinct_id="distinct_id",
        person_id="person_id",
        ts="TRY_CAST(ts_raw AS TIMESTAMPTZ)",
        ts_raw="ts_raw",
        props="props",
        raw="raw",
    )


# The envelope of an event line; properties stay JSON text (or a string holding JSON).
_ENVELOPE = _common.sql_str(
    '{"uuid": "VARCHAR", "event": "VARCHAR", "distinct_id": "VARCHAR", "person_id": "VARCHAR", '
    '"timestamp": "VARCHAR", "properties": "JSON"}'
)


def _jsonl_source(con: duckdb.DuckDBPyConnection, item: Input) -> Source:
    """JSON lines of one event object each (the usual export): each line parsed once into its
    envelope, with no unrolling, re-serialising or renumbering of records (which made a 100 k-user
    export load 3× slower). Lines that are not valid JSON go to ``_pab_pre``."""
    _require_keys(con, item, "SELECT line AS doc FROM _pab_lines WHERE json_valid(line)")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _pab_raw AS
        SELECT source_row, line, unnest([TRY(from_json(line, {_ENVELOPE}))]) AS r FROM _pab_lines
        """
    )
    con.execute("DROP TABLE _pab_lines")
    con.execute(
        """
        INSERT INTO _pab_pre
        SELECT source_row, '(line)',
               CASE WHEN json_valid(line) THEN 'row is not a JSON object'
                    ELSE 'line is not valid JSON' END, line
        FROM _pab_raw WHERE r IS NULL
        """
    )
    props = "CAST(r.properties AS VARCHAR)"
    return Source(
        frm="(SELECT * FROM _pab_raw WHERE r IS NOT NULL)",
        source_row="source_row",
        uuid="r.uuid",
        event="r.event",
        distinct_id="r.distinct_id",
        person_id="r.person_id",
        ts='TRY_CAST(r."timestamp" AS TIMESTAMPTZ)',
        ts_raw='r."timestamp"',
        props=f"CASE WHEN starts_with({props}, '\"') THEN {props} ->> '$' ELSE {props} END",
        raw="line",
    )


def _csv_source(con: duckdb.DuckDBPyConnection, path: Path, compression: str | None) -> Source:
    header = _common.read_csv_rows(con, path, compression)
    # The UI export names columns after the query: `uuid` or `*.uuid`, and properties either as
    # one JSON column or flattened into `properties.$x` / `*.properties.$x` columns.
    by_name: dict[str, str] = {}
    flat: dict[str, str] = {}
    for col in header:
        name = col[2:] if col.startswith("*.") else col
        if name.startswith("properties.") and len(name) > len("properties."):
            flat.setdefault(name[len("properties.") :], col)
        else:
            by_name.setdefault(name, col)
    present = set(by_name) | ({"properties"} if flat else set())
    _require(path, present)
    params: dict[str, object] = {}
    if "properties" in by_name:
        props = ident(by_name["properties"], header)
    else:
        # Property names are data: they travel as parameters, the columns through ident().
        pairs = []
        for i, (prop, col) in enumerate(flat.items()):
            params[f"k{i}"] = prop
            pairs.append(f"$k{i}, {ident(col, header)}")
        props = f"CAST(json_object({', '.join(pairs)}) AS VARCHAR)"

    def col(name: str) -> str:
        return ident(by_name[name], header) if name in by_name else "NULL::VARCHAR"

    return Source(
        frm="_pab_csv",
        source_row="_pab_row",
        uuid=col("uuid"),
        event=col("event"),
        distinct_id=col("distinct_id"),
        person_id=col("person_id"),
        ts=f"TRY_CAST({col('timestamp')} AS TIMESTAMPTZ)",
        ts_raw=col("timestamp"),
        props=props,
        params=params,
    )


def _require_keys(con: duckdb.DuckDBPyConnection, item: Input, docs: str) -> None:
    """Check the top-level keys of the first 1000 JSON documents of ``docs`` (a query of a
    ``doc`` column) for the required columns; a file without good documents is not checked."""
    present = {
        k
        for (k,) in con.execute(
            f"SELECT DISTINCT unnest(json_keys(doc)) FROM ({docs} LIMIT 1000)"
        ).fetchall()
    }
    if present:
        _require(Path(item.name), present)


def _require(path: Path, present: set[str]) -> None:
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise MissingColumnError(
            f"{path.name} has no column {missing[0]!r} (found: {', '.join(sorted(present))}). "
            "Export the events with uuid, event, distinct_id, person_id, timestamp and properties "
            "(PostHog batch export or 'Export all columns')."
        )


# -- validation and typing ------------------------------------------------------------------
# One pass over the source: per row, hash a uuid where there is none, parse the properties once
# (``from_json`` into a struct of the keys of the row's event type), type and check them; the
# first problem found is the row's reject reason. The result is one stage table, ``_pab_st``,
# seen per canonical table through a view; ``_other_rejects`` takes rows of no promptab_nb type.
_RAW = (
    'to_json(struct_pack(uuid := uuid, event := event, distinct_id := distinct_id, "timestamp" := ts,'
    " properties := props))::VARCHAR"
)


@dataclass(frozen=True)
class _Type:
    """How one event type becomes rows of its canonical table.

    ``typed`` and ``columns`` are SQL over ``{p}``, the struct its properties are parsed into;
    ``typed`` are helper columns that ``columns`` and the checks may use.
    """

    event: str
    table: str
    p: str
    spec: dict[str, str]
    typed: tuple[str, ...]
    columns: dict[str, str]
    bad_col: str
    bad_reason: str


def _base(src: Source, where: str) -> str:
    """The source's rows matching ``where`` with the canonical envelope columns."""
    hashed = f"md5(concat_ws('|', {src.event}, {src.distinct_id}, {src.ts_raw}, {src.props}))"
    return f"""
        SELECT {src.source_row} AS source_row,
               CASE WHEN {src.uuid} IS NULL OR {src.uuid} = '' THEN {hashed} ELSE {src.uuid} END
                   AS uuid,
               {src.event} AS event, {src.distinct_id} AS distinct_id,
               nullif({src.person_id}, '') AS person_id, {src.ts} AS ts, {src.props} AS props,
               {src.raw} AS raw
        FROM {src.frm} WHERE {where}"""


_sql_str = sql_str


def _spec(keys: dict[str, str]) -> str:
    import json

    return _sql_str(json.dumps(keys))


def _stage_sql(src: Source, types: tuple[_Type, ...]) -> str:
    """SQL of every source row of the event ``types``, typed and checked (one parse per row)."""
    is_ = {t.event: f"event = {_sql_str(t.event)}" for t in types}
    # unnest([x]) computes x once: a plain projection of x is inlined into every expression that
    # reads it, and DuckDB does not share the copies under CASE (one JSON parse per reference
    # made the stage 10-25× slower).
    parse = ", ".join(
        f"unnest([CASE WHEN {is_[t.event]} THEN TRY(from_json(props, {_spec(t.spec)})) END]) "
        f"AS {t.p}"
        for t in types
    )
    unparsed = " AND ".join(f"{t.p} IS NULL" for t in types)
    # (ltrim copies the text: only for the rare rows that do not start with '{')
    not_object = (
        "(CASE WHEN starts_with(props, '{') THEN false ELSE NOT starts_with(ltrim(props), '{') END)"
    )
    typed = "".join(", " + x.format(p=t.p) for t in types for x in t.typed)
    # A column several tables share (trace_id, variant) takes the value of the row's type.
    cols: dict[str, list[tuple[str, str]]] = {}
    for t in types:
        for name, expr in t.columns.items():
            cols.setdefault(name, []).append((t.event, expr.format(p=t.p)))
    outs = []
    for name, exprs in cols.items():
        whens = " ".join(f"WHEN {is_[e]} THEN {x}" for e, x in exprs)
        outs.append(f"CASE {whens} END AS {ident(name)}")
    bad_col = " ".join(f"WHEN {is_[t.event]} THEN {t.bad_col.format(p=t.p)}" for t in types)
    bad_reason = " ".join(f"WHEN {is_[t.event]} THEN {t.bad_reason.format(p=t.p)}" for t in types)
    events = ", ".join(_sql_str(t.event) for t in types)
    return f"""
    WITH b AS ({_base(src, f"{src.event} IN ({events})")}),
    s AS (SELECT *, {parse} FROM b),
    c AS (
        SELECT *,
               CASE WHEN distinct_id IS NULL OR distinct_id = '' THEN 1
                    WHEN ts IS NULL THEN 2
                    WHEN props IS NULL THEN 3
                    WHEN {not_object} THEN CASE WHEN json_valid(props) THEN 5 ELSE 4 END
                    WHEN {unparsed} AND NOT json_valid(props) THEN 4 END AS _pre
        FROM s
    ),
    t AS (SELECT *{typed} FROM c)
    SELECT source_row, uuid, event, ts, distinct_id, person_id, {", ".join(outs)},
           CASE _pre WHEN 1 THEN 'distinct_id' WHEN 2 THEN 'timestamp' WHEN 3 THEN 'properties'
                     WHEN 4 THEN 'properties' WHEN 5 THEN 'properties'
                     ELSE CASE {bad_col} END END AS bad_col,
           CASE _pre WHEN 1 THEN 'distinct_id is empty'
                     WHEN 2 THEN 'timestamp is missing or not a date-time'
                     WHEN 3 THEN 'properties is empty'
                     WHEN 4 THEN 'properties is not valid JSON'
                     WHEN 5 THEN 'properties is not a JSON object' ELSE CASE {bad_reason} END END
               AS bad_reason,
           CASE WHEN _pre IS NOT NULL THEN coalesce(raw, {_RAW}) ELSE raw END AS raw
    FROM t
    """


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
)
_GEN_TEXT = {
    "trace_id": "$ai_trace_id",
    "prompt_name": "$ai_prompt_name",
    "prompt_version": "$ai_prompt_version",
    "model": "$ai_model",
    "provider": "$ai_provider",
}


def _generations(keep_properties: bool = False) -> _Type:
    typed, cols, reasons = [], [], []
    for prop, col, typ, parse in _GEN_NUMBERS:
        v, c = f"{{p}}[{_sql_str(prop)}]", ident(col)
        # Integers may arrive as 12.0 in some exports: accept integral doubles for BIGINT.
        if parse == "number":
            typed.append(f"{v if typ == 'DOUBLE' else f'TRY_CAST({v} AS BIGINT)'} AS {c}")
            quoted = '"' + prop + '"'
            json_type = f"json_type(props, {_sql_str('$.' + quoted)})"
            bad = f"""(CASE WHEN {v} IS NULL THEN contains(props, {_sql_str(quoted)})
                                               AND coalesce({json_type} <> 'NULL', false)
                            WHEN {v} IN (0, 1) THEN {json_type} = 'BOOLEAN'
                            ELSE {c} IS NULL OR isnan({v}) OR isinf({v}) OR {v} < 0 END)"""
        else:
            cast = f"TRY_CAST({v} AS DOUBLE)"
            typed.append(f"{cast if typ == 'DOUBLE' else f'TRY_CAST({cast} AS BIGINT)'} AS {c}")
            bad = (
                f"({v} IS NOT NULL AND ({c} IS NULL OR isnan({c}::DOUBLE) "
                f"OR isinf({c}::DOUBLE) OR {c} < 0))"
            )
        cols.append(f"WHEN {bad} THEN {_sql_str('properties.' + prop)}")
        reasons.append(
            f"WHEN {bad} THEN {_sql_str('properties.' + prop + ' is not a number >= 0')}"
        )
    typed += ["{p}['$ai_http_status'] AS _status", "lower({p}['$ai_is_error']) AS _err"]
    err_bad = "_err IS NOT NULL AND _err NOT IN ('true', 'false', '1', '0')"
    columns = {name: f"{{p}}[{_sql_str(prop)}]" for name, prop in _GEN_TEXT.items()}
    columns.update(
        latency_s="latency_s",
        ttft_s="ttft_s",
        input_tokens="input_tokens",
        output_tokens="output_tokens",
        cost_usd="""coalesce(cost_usd, CASE WHEN _in_cost IS NOT NULL OR _out_cost IS NOT NULL
                            THEN coalesce(_in_cost, 0) + coalesce(_out_cost, 0) END)""",
        # $ai_is_error is only sent on error; HTTP status 0 is an SDK error, >= 400 an API error
        is_error="""coalesce(_err IN ('true', '1'), false)
                    OR coalesce(_status = 0 OR _status >= 400, false)""",
        http_status="TRY_CAST(_status AS INTEGER)",
        variant="NULL::VARCHAR",
        properties="props" if keep_properties else "NULL::VARCHAR",
    )
    return _Type(
        "$ai_generation",
        "generations",
        "_pg",
        {prop: "DOUBLE" if prop in _GEN_DOUBLES else "VARCHAR" for prop in _GEN_SPEC_KEYS},
        tuple(typed),
        columns,
        f"CASE {' '.join(cols)} WHEN {err_bad} THEN 'properties.$ai_is_error' END",
        f"CASE {' '.join(reasons)} WHEN {err_bad} "
        "THEN 'properties.$ai_is_error is not true/false' END",
    )


_GEN_DOUBLES = {p for p, _, _, parse in _GEN_NUMBERS if parse == "number"} | {"$ai_http_status"}
_GEN_SPEC_KEYS = (
    *_GEN_TEXT.values(),
    *(prop for prop, *_ in _GEN_NUMBERS),
    "$ai_is_error",
    "$ai_http_status",
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
        f"CASE WHEN {missing} THEN 'properties.$ai_evaluation_result' END",
        f"""CASE WHEN {missing} AND _res IS NULL THEN 'properties.$ai_evaluation_result is missing'
                 WHEN {missing}
                   THEN 'properties.$ai_evaluation_result is not true/false/pass/fail' END""",
    )


def _exposures() -> _Type:
    flag, resp = "{p}['$feature_flag']", "{p}['$feature_flag_response']"
    return _Type(
        "$feature_flag_called",
        "exposures",
        "_px",
        {"$feature_flag": "VARCHAR", "$feature_flag_response": "VARCHAR"},
        (),
        {"flag_key": flag, "variant": resp},
        f"""CASE WHEN {flag} IS NULL OR {flag} = '' THEN 'properties.$feature_flag'
                 WHEN {resp} IS NULL THEN 'properties.$feature_flag_response' END""",
        f"""CASE WHEN {flag} IS NULL OR {flag} = '' THEN 'properties.$feature_flag is missing'
                 WHEN {resp} IS NULL THEN 'properties.$feature_flag_response is missing' END""",
    )


def _other_rejects(src: Source) -> str:
    """Rows of no promptab_nb event type → ``_pab_pre``; an unused type keeps no raw copy."""
    types = ", ".join(_sql_str(t) for t in EVENTS)
    where = f"{src.event} IS NULL OR {src.event} NOT IN ({types})"
    return f"""
    INSERT INTO _pab_pre
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
                ELSE coalesce(raw, {_RAW}) END
    FROM c
    """


def _stage_file(
    con: duckdb.DuckDBPyConnection, item: Input, *, keep_properties: bool = False
) -> Staged:
    """Stage one PostHog file: exposures and evaluations into ``_pab_st`` (seen through the
    views ``_pab_exp`` and ``_pab_eval``), rows of other types into ``_pab_pre``; generations,
    most of an export, go straight from the file into their table (:class:`_common.Direct`)."""
    path = Path(item.name)
    if item.fmt == "parquet":
        cols = dict(
            con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))",
                {"p": str(path)},
            ).fetchall()
        )
        _require(path, set(cols))
        _common.empty_pre(con)
        src = _parquet_source(path, cols)
    elif item.fmt in ("jsonl", "json"):
        src = _json_source(con, item)
    else:
        src = _csv_source(con, path, item.compression)

    def run(sql: str) -> list:
        return con.execute(sql, used_params(sql, src.params) or None).fetchall()

    unread = con.execute("SELECT count(*) FROM _pab_pre").fetchall()[0][0]
    gen = _generations(keep_properties)
    n, n_gen = run(
        f"SELECT count(*), count(*) FILTER ({src.event} = {_sql_str(gen.event)}) FROM {src.frm}"
    )[0]
    small = (_evaluations(), _exposures())
    run(f"CREATE OR REPLACE TEMP TABLE _pab_st AS {_stage_sql(src, small)}")
    stages = {}
    for t in small:
        stage = _common.STAGES[t.table]
        cols_sql = ", ".join(ident(c) for c in t.columns)
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW {stage} AS
                SELECT source_row, uuid, ts, distinct_id, person_id, {cols_sql}, bad_col,
                       bad_reason, raw
                FROM _pab_st WHERE event = {_sql_str(t.event)}"""
        )
        stages[t.table] = stage
    run(_other_rejects(src))
    direct = _common.Direct(_stage_sql(src, (gen,)), n_gen, src.params)
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
    return _common.load_paths(ws, path, source="posthog", stage=stage, progress=progress)
