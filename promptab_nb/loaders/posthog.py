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

from pathlib import Path

import duckdb

from .._sql import ident
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

# -- staging: every format becomes _pab_raw(source_row, uuid, event, distinct_id, person_id,
#    ts_raw, props, bad_col, bad_reason, raw) ------------------------------------------------
_RAW_COLUMNS = (
    "source_row, uuid, event, distinct_id, person_id, ts_raw, props, bad_col, bad_reason, raw"
)


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, cols: dict[str, str]) -> None:
    props = "properties" if cols["properties"] in ("VARCHAR", "JSON") else "to_json(properties)"
    person = "CAST(person_id AS VARCHAR)" if "person_id" in cols else "NULL"
    uuid = "CAST(uuid AS VARCHAR)" if "uuid" in cols else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _pab_raw AS
        SELECT file_row_number + 1 AS source_row, {uuid} AS uuid, CAST(event AS VARCHAR) AS event,
               CAST(distinct_id AS VARCHAR) AS distinct_id, {person} AS person_id,
               CAST("timestamp" AS VARCHAR) AS ts_raw, CAST({props} AS VARCHAR) AS props,
               NULL::VARCHAR AS bad_col, NULL::VARCHAR AS bad_reason, NULL::VARCHAR AS raw
        FROM read_parquet($path, file_row_number = true)
        """,
        {"path": str(path)},
    )


def _stage_json(con: duckdb.DuckDBPyConnection, item: Input) -> None:
    # Read whole lines as text (via the shared reader) so that a line that is not JSON is kept
    # and rejected rather than silently skipped by the JSON reader.
    _common.read_records(con, item)
    present = {
        k
        for (k,) in con.execute(
            """SELECT DISTINCT unnest(json_keys(rec)) FROM
               (SELECT rec FROM _pab_rec WHERE bad_col IS NULL LIMIT 1000)"""
        ).fetchall()
    }
    if present:
        _require(Path(item.name), present)
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
               CASE WHEN json_type(p) = 'VARCHAR' THEN p ->> '$' ELSE CAST(p AS VARCHAR) END AS props,
               NULL::VARCHAR AS bad_col, NULL::VARCHAR AS bad_reason, rec AS raw
        FROM j
        """
    )


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, compression: str | None) -> None:
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
        return ident(by_name[name], header) if name in by_name else "NULL"

    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _pab_raw AS
        SELECT _pab_row AS source_row, {col("uuid")} AS uuid, {col("event")} AS event,
               {col("distinct_id")} AS distinct_id, {col("person_id")} AS person_id,
               {col("timestamp")} AS ts_raw, {props} AS props,
               NULL::VARCHAR AS bad_col, NULL::VARCHAR AS bad_reason, NULL::VARCHAR AS raw
        FROM _pab_csv
        """,
        params or None,
    )
    con.execute("DROP TABLE _pab_csv")


def _require(path: Path, present: set[str]) -> None:
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise MissingColumnError(
            f"{path.name} has no column {missing[0]!r} (found: {', '.join(sorted(present))}). "
            "Export the events with uuid, event, distinct_id, person_id, timestamp and properties "
            "(PostHog batch export or 'Export all columns')."
        )


# -- validation and typing ------------------------------------------------------------------
# One pass over the staged rows: the first problem found is the row's reject reason.
_CHECK = """
CREATE OR REPLACE TEMP TABLE _pab_ev AS
WITH t AS (
    SELECT *, TRY_CAST(ts_raw AS TIMESTAMPTZ) AS ts,
           CASE WHEN props IS NULL THEN NULL ELSE json_valid(props) END AS props_ok
    FROM _pab_raw
)
SELECT source_row,
       coalesce(nullif(uuid, ''), md5(concat_ws('|', event, distinct_id, ts_raw, props))) AS uuid,
       event, distinct_id, nullif(person_id, '') AS person_id, ts, props, raw,
       CASE
         WHEN bad_col IS NOT NULL THEN bad_col
         WHEN event IS NULL OR event = '' THEN 'event'
         WHEN distinct_id IS NULL OR distinct_id = '' THEN 'distinct_id'
         WHEN ts IS NULL THEN 'timestamp'
         WHEN event NOT IN ('$feature_flag_called', '$ai_generation', '$ai_evaluation') THEN 'event'
         WHEN props IS NULL OR NOT props_ok THEN 'properties'
       END AS bad_col,
       CASE
         WHEN bad_col IS NOT NULL THEN bad_reason
         WHEN event IS NULL OR event = '' THEN 'event is empty'
         WHEN distinct_id IS NULL OR distinct_id = '' THEN 'distinct_id is empty'
         WHEN ts IS NULL THEN 'timestamp is missing or not a date-time'
         WHEN event NOT IN ('$feature_flag_called', '$ai_generation', '$ai_evaluation')
           THEN 'event type not used by promptab_nb'
         WHEN props IS NULL THEN 'properties is empty'
         WHEN NOT props_ok THEN 'properties is not valid JSON'
       END AS bad_reason
FROM t
"""

_GEN_SPEC = {
    k: "VARCHAR"
    for k in (
        "$ai_trace_id",
        "$ai_prompt_name",
        "$ai_prompt_version",
        "$ai_model",
        "$ai_provider",
        "$ai_latency",
        "$ai_time_to_first_token",
        "$ai_input_tokens",
        "$ai_output_tokens",
        "$ai_total_cost_usd",
        "$ai_input_cost_usd",
        "$ai_output_cost_usd",
        "$ai_is_error",
        "$ai_http_status",
    )
}

# Numbers that must be finite and >= 0 when present: (property, canonical column, type).
_GEN_NUMBERS = (
    ("$ai_latency", "latency_s", "DOUBLE"),
    ("$ai_time_to_first_token", "ttft_s", "DOUBLE"),
    ("$ai_input_tokens", "input_tokens", "BIGINT"),
    ("$ai_output_tokens", "output_tokens", "BIGINT"),
    ("$ai_total_cost_usd", "cost_usd", "DOUBLE"),
    ("$ai_input_cost_usd", "_in_cost", "DOUBLE"),
    ("$ai_output_cost_usd", "_out_cost", "DOUBLE"),
)


def _number_checks() -> tuple[str, str, str]:
    """SQL fragments: typed columns, the first failing property's name, and its reason."""
    typed, cols, reasons = [], [], []
    for prop, col, typ in _GEN_NUMBERS:
        v = f"p[{_sql_str(prop)}]"
        # Integers may arrive as 12.0 in some exports: accept integral doubles for BIGINT.
        cast = (
            f"TRY_CAST(TRY_CAST({v} AS DOUBLE) AS {typ})"
            if typ == "BIGINT"
            else f"TRY_CAST({v} AS DOUBLE)"
        )
        typed.append(f"{cast} AS {ident(col)}")
        bad = (
            f"({v} IS NOT NULL AND ({cast} IS NULL OR isnan({cast}::DOUBLE) "
            f"OR isinf({cast}::DOUBLE) OR {cast} < 0))"
        )
        cols.append(f"WHEN {bad} THEN {_sql_str('properties.' + prop)}")
        reasons.append(
            f"WHEN {bad} THEN {_sql_str('properties.' + prop + ' is not a number >= 0')}"
        )
    return ", ".join(typed), " ".join(cols), " ".join(reasons)


_sql_str = sql_str


def _spec(keys: dict[str, str]) -> str:
    import json

    return _sql_str(json.dumps(keys))


def _typed_generations() -> str:
    typed, bad_col, bad_reason = _number_checks()
    return f"""
    CREATE OR REPLACE TEMP TABLE _pab_gen AS
    WITH s AS (
        SELECT source_row, uuid, ts, distinct_id, person_id, props, raw,
               from_json(props, {_spec(_GEN_SPEC)}) AS p
        FROM _pab_ev WHERE bad_col IS NULL AND event = '$ai_generation'
    ),
    t AS (
        SELECT *, {typed}, TRY_CAST(p['$ai_http_status'] AS DOUBLE) AS _status,
               lower(p['$ai_is_error']) AS _err
        FROM s
    )
    SELECT source_row, uuid, ts, distinct_id, person_id, raw,
           p['$ai_trace_id'] AS trace_id, p['$ai_prompt_name'] AS prompt_name,
           p['$ai_prompt_version'] AS prompt_version, p['$ai_model'] AS model,
           p['$ai_provider'] AS provider, latency_s, ttft_s, input_tokens, output_tokens,
           coalesce(cost_usd, CASE WHEN _in_cost IS NOT NULL OR _out_cost IS NOT NULL
                                   THEN coalesce(_in_cost, 0) + coalesce(_out_cost, 0) END) AS cost_usd,
           -- $ai_is_error is only sent on error; HTTP status 0 is an SDK error, >= 400 an API error
           coalesce(_err IN ('true', '1'), false) OR coalesce(_status = 0 OR _status >= 400, false)
               AS is_error,
           CAST(_status AS INTEGER) AS http_status,
           NULL::VARCHAR AS variant, props AS properties,
           CASE {bad_col}
                WHEN _err IS NOT NULL AND _err NOT IN ('true', 'false', '1', '0')
                  THEN 'properties.$ai_is_error' END AS bad_col,
           CASE {bad_reason}
                WHEN _err IS NOT NULL AND _err NOT IN ('true', 'false', '1', '0')
                  THEN 'properties.$ai_is_error is not true/false' END AS bad_reason
    FROM t
    """


_EVAL_SPEC = {
    k: "VARCHAR"
    for k in (
        "$ai_target_event_id",
        "$ai_trace_id",
        "$ai_evaluation_name",
        "$ai_metric_name",
        "$ai_evaluation_result",
        "$ai_evaluation_applicable",
        "$ai_score",
    )
}

_TYPED_EVALUATIONS = f"""
CREATE OR REPLACE TEMP TABLE _pab_eval AS
WITH s AS (
    SELECT source_row, uuid, ts, distinct_id, person_id, raw,
           from_json(props, {_spec(_EVAL_SPEC)}) AS p
    FROM _pab_ev WHERE bad_col IS NULL AND event = '$ai_evaluation'
),
t AS (
    SELECT *, lower(trim(p['$ai_evaluation_result'])) AS _res,
           lower(trim(p['$ai_evaluation_applicable'])) AS _app,
           TRY_CAST(p['$ai_score'] AS DOUBLE) AS score
    FROM s
),
u AS (
    SELECT *,
           CASE WHEN _res IN ('true', 'pass', 'passed', '1', 'yes') THEN true
                WHEN _res IN ('false', 'fail', 'failed', '0', 'no') THEN false
                WHEN _res IS NULL AND score IS NOT NULL THEN score >= 0.5 END AS passed,
           CASE WHEN _app IN ('false', '0', 'no') THEN false ELSE true END AS applicable
    FROM t
)
SELECT source_row, uuid, ts, distinct_id, person_id, raw,
       p['$ai_target_event_id'] AS target_uuid, p['$ai_trace_id'] AS trace_id,
       coalesce(p['$ai_evaluation_name'], p['$ai_metric_name']) AS name,
       CASE WHEN applicable THEN passed END AS passed, applicable, score,
       CASE WHEN applicable AND passed IS NULL THEN 'properties.$ai_evaluation_result' END AS bad_col,
       CASE WHEN applicable AND passed IS NULL AND _res IS NULL
              THEN 'properties.$ai_evaluation_result is missing'
            WHEN applicable AND passed IS NULL
              THEN 'properties.$ai_evaluation_result is not true/false/pass/fail' END AS bad_reason
FROM u
"""

_TYPED_EXPOSURES = f"""
CREATE OR REPLACE TEMP TABLE _pab_exp AS
WITH s AS (
    SELECT source_row, uuid, ts, distinct_id, person_id, raw,
           from_json(props, {_spec({"$feature_flag": "VARCHAR", "$feature_flag_response": "VARCHAR"})}) AS p
    FROM _pab_ev WHERE bad_col IS NULL AND event = '$feature_flag_called'
)
SELECT source_row, uuid, ts, distinct_id, person_id, raw,
       p['$feature_flag'] AS flag_key, p['$feature_flag_response'] AS variant,
       CASE WHEN p['$feature_flag'] IS NULL OR p['$feature_flag'] = '' THEN 'properties.$feature_flag'
            WHEN p['$feature_flag_response'] IS NULL THEN 'properties.$feature_flag_response'
       END AS bad_col,
       CASE WHEN p['$feature_flag'] IS NULL OR p['$feature_flag'] = ''
              THEN 'properties.$feature_flag is missing'
            WHEN p['$feature_flag_response'] IS NULL
              THEN 'properties.$feature_flag_response is missing' END AS bad_reason
FROM s
"""

# Rows rejected before typing; an event type promptab_nb does not use keeps no raw copy.
_PRE_REJECTS = """
INSERT INTO _pab_pre
SELECT source_row, bad_col, bad_reason,
       CASE WHEN bad_reason = 'event type not used by promptab_nb' THEN NULL
            ELSE coalesce(raw, to_json(struct_pack(uuid := uuid, event := event,
                 distinct_id := distinct_id, "timestamp" := ts, properties := props)))::VARCHAR
       END
FROM _pab_ev WHERE bad_col IS NOT NULL
"""


def _stage_file(con: duckdb.DuckDBPyConnection, item: Input) -> Staged:
    """Stage one PostHog file into ``_pab_gen``, ``_pab_eval``, ``_pab_exp`` and ``_pab_pre``."""
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
        _stage_parquet(con, path, cols)
    elif item.fmt in ("jsonl", "json"):
        _stage_json(con, item)
    else:
        _stage_csv(con, path, item.compression)
    unread = con.execute("SELECT count(*) FROM _pab_pre").fetchall()[0][0]
    rows_read = unread + con.execute("SELECT count(*) FROM _pab_raw").fetchall()[0][0]
    con.execute(_CHECK)
    con.execute(_PRE_REJECTS)
    con.execute(_typed_generations())
    con.execute(_TYPED_EVALUATIONS)
    con.execute(_TYPED_EXPOSURES)
    return Staged(rows_read=rows_read, stages=dict(_common.STAGES))


def load_posthog(ws: object, path: _files.Paths, *, progress: bool = True) -> LoadReport:
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
    return _common.load_paths(ws, path, source="posthog", stage=_stage_file, progress=progress)
