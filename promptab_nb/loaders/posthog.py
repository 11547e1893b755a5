"""PostHog exports → exposures, generations, evaluations.

Accepts the batch-export Parquet (``properties`` as JSON text), JSON lines (``properties`` nested,
``.gz``/``.zst`` too) and CSV with a ``properties`` JSON column. Each file is staged into a temporary
table of raw text columns, checked row by row in SQL (bad rows → ``rejects`` with the column and
reason), each row's properties are parsed once with ``from_json`` into a typed struct, and the
result is inserted in one transaction, skipping events already loaded (by ``uuid``).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb

from .._sql import ident
from ..errors import DataError, MissingColumnError, PromptabError
from . import _files
from ._report import FileReport, LoadReport

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


def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, compression: str | None) -> None:
    # Read whole lines as text so that a line that is not JSON is kept (and rejected) rather than
    # silently skipped by the JSON reader.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_lines AS
        SELECT row_number() OVER () AS source_row, line
        FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = '\0',
                      quote = '', escape = '', auto_detect = false, compression = $comp,
                      max_line_size = 67108864)
        WHERE trim(line) <> ''
        """,
        {"path": str(path), "comp": compression or "auto"},
    )
    present = {
        k
        for (k,) in con.execute(
            """SELECT DISTINCT unnest(json_keys(line)) FROM
               (SELECT line FROM _pab_lines WHERE json_valid(line) LIMIT 1000)"""
        ).fetchall()
    }
    if present:
        _require(path, present)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_raw AS
        WITH l AS (SELECT source_row, line, json_valid(line) AS ok FROM _pab_lines),
        j AS (
            SELECT source_row, line, ok,
                   CASE WHEN ok THEN json_extract(line, '$.properties') END AS p
            FROM l
        )
        SELECT source_row,
               CASE WHEN ok THEN line ->> '$.uuid' END AS uuid,
               CASE WHEN ok THEN line ->> '$.event' END AS event,
               CASE WHEN ok THEN line ->> '$.distinct_id' END AS distinct_id,
               CASE WHEN ok THEN line ->> '$.person_id' END AS person_id,
               CASE WHEN ok THEN line ->> '$.timestamp' END AS ts_raw,
               CASE WHEN json_type(p) = 'VARCHAR' THEN p ->> '$' ELSE CAST(p AS VARCHAR) END AS props,
               CASE WHEN NOT ok THEN '(line)' END AS bad_col,
               CASE WHEN NOT ok THEN 'line is not valid JSON' END AS bad_reason,
               line AS raw
        FROM j
        """
    )
    con.execute("DROP TABLE _pab_lines")


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, compression: str | None) -> None:
    header = _csv_header(path, compression)
    _require(path, set(header))
    columns = {name: "VARCHAR" for name in header}
    con.execute("DROP TABLE IF EXISTS _pab_csv_rej")
    con.execute("DROP TABLE IF EXISTS _pab_csv_scan")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_csv AS
        SELECT * FROM read_csv($path, columns = $cols, header = true, auto_detect = false,
                               delim = ',', quote = '"', escape = '"', compression = $comp,
                               store_rejects = true, rejects_table = '_pab_csv_rej',
                               rejects_scan = '_pab_csv_scan', max_line_size = 67108864)
        """,
        {"path": str(path), "cols": columns, "comp": compression or "auto"},
    )
    uuid = ident("uuid") if "uuid" in columns else "NULL"
    person = ident("person_id") if "person_id" in columns else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _pab_raw AS
        SELECT row_number() OVER () AS source_row, {uuid} AS uuid, event, distinct_id,
               {person} AS person_id, "timestamp" AS ts_raw, properties AS props,
               NULL::VARCHAR AS bad_col, NULL::VARCHAR AS bad_reason, NULL::VARCHAR AS raw
        FROM _pab_csv
        UNION ALL
        SELECT line, NULL, NULL, NULL, NULL, NULL, NULL, '(line)',
               'malformed CSV line: ' || any_value(error_type), any_value(csv_line)
        FROM _pab_csv_rej GROUP BY line
        """
    )
    con.execute("DROP TABLE _pab_csv")


def _csv_header(path: Path, compression: str | None) -> list[str]:
    import csv
    import gzip
    import io

    opener = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
            first = fh.readline()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason}). Re-export it as UTF-8.") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err}).") from err
    if not first.strip():
        raise DataError(f"{path}: the file is empty (no header line). Export it again.")
    return next(csv.reader(io.StringIO(first)))


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


def _sql_str(text: str) -> str:
    """A constant of this module as a SQL string literal (never user data)."""
    return "'" + text.replace("'", "''") + "'"


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

_TARGETS = {
    "exposures": ("_pab_exp", "ts, distinct_id, person_id, flag_key, variant"),
    "generations": (
        "_pab_gen",
        "ts, distinct_id, person_id, trace_id, prompt_name, prompt_version, model, provider, "
        "latency_s, ttft_s, input_tokens, output_tokens, cost_usd, is_error, http_status, "
        "variant, properties",
    ),
    "evaluations": (
        "_pab_eval",
        "ts, distinct_id, person_id, target_uuid, trace_id, name, passed, applicable, score",
    ),
}


def _insert(con: duckdb.DuckDBPyConnection, import_id: int) -> tuple[dict[str, int], int]:
    """Insert good staged rows into the canonical tables; return (loaded per table, duplicates)."""
    loaded: dict[str, int] = {}
    duplicates = 0
    for table, (stage, cols) in _TARGETS.items():
        tbl = ident(table)
        # First occurrence of each uuid in the file; later copies and already-loaded events are
        # duplicates (counted, not rejected).
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _pab_new AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY uuid ORDER BY source_row) AS rn
                FROM {stage} WHERE bad_col IS NULL
            ) WHERE rn = 1 AND uuid NOT IN (SELECT uuid FROM {tbl})
            """
        )
        good = con.execute(f"SELECT count(*) FROM {stage} WHERE bad_col IS NULL").fetchone()[0]
        n = con.execute(
            f"INSERT INTO {tbl} (uuid, {cols}, import_id) SELECT uuid, {cols}, $id FROM _pab_new",
            {"id": import_id},
        ).fetchone()[0]
        loaded[table] = n
        duplicates += good - n
    return loaded, duplicates


_REJECTS = """
INSERT INTO rejects (import_id, source_row, "column", reason, raw)
SELECT $id, source_row, bad_col, bad_reason,
       CASE WHEN bad_reason = 'event type not used by promptab_nb' THEN NULL
            ELSE coalesce(raw, to_json(struct_pack(uuid := uuid, event := event,
                 distinct_id := distinct_id, "timestamp" := ts, properties := props)))::VARCHAR
       END
FROM _pab_ev WHERE bad_col IS NOT NULL
UNION ALL SELECT $id, source_row, bad_col, bad_reason, raw FROM _pab_gen WHERE bad_col IS NOT NULL
UNION ALL SELECT $id, source_row, bad_col, bad_reason, raw FROM _pab_eval WHERE bad_col IS NOT NULL
UNION ALL SELECT $id, source_row, bad_col, bad_reason, raw FROM _pab_exp WHERE bad_col IS NOT NULL
"""


def _load_file(con: duckdb.DuckDBPyConnection, path: Path, import_id: int) -> FileReport:
    start = time.perf_counter()
    fmt, compression = _files.detect(path)
    digest = _files.sha256(path)
    try:
        if fmt == "parquet":
            cols = dict(
                con.execute(
                    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))",
                    {"p": str(path)},
                ).fetchall()
            )
            _require(path, set(cols))
            _stage_parquet(con, path, cols)
        elif fmt == "jsonl":
            _stage_jsonl(con, path, compression)
        else:
            _stage_csv(con, path, compression)
        con.execute(_CHECK)
        con.execute(_typed_generations())
        con.execute(_TYPED_EVALUATIONS)
        con.execute(_TYPED_EXPOSURES)
    except PromptabError:
        raise
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise DataError(
            f"{path}: cannot read as {fmt}: {first}. Check that the file is complete "
            "(not truncated) and really is a PostHog export in this format."
        ) from err
    rows_read = con.execute("SELECT count(*) FROM _pab_raw").fetchone()[0]
    loaded, duplicates = _insert(con, import_id)
    seen_before = con.execute(
        "SELECT count(*) > 0 FROM imports WHERE sha256 = $sha", {"sha": digest}
    ).fetchone()[0]
    if seen_before:
        # The same bytes were loaded before: their bad rows are already in `rejects`.
        duplicates = rows_read - sum(loaded.values())
    else:
        con.execute(_REJECTS, {"id": import_id})
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM rejects WHERE import_id = $id GROUP BY ALL ORDER BY 2 DESC",
            {"id": import_id},
        ).fetchall()
    )
    rejected = sum(reasons.values())
    if sum(loaded.values()) + rejected + duplicates != rows_read:  # pragma: no cover - invariant
        raise DataError(
            f"{path}: internal accounting error ({rows_read} read, {loaded} loaded, "
            f"{rejected} rejected, {duplicates} duplicates); nothing was loaded."
        )
    seconds = time.perf_counter() - start
    con.execute(
        "INSERT INTO imports VALUES ($id, 'posthog', $file, $fmt, $sha, $read, $loaded, $rej, $dup, "
        "$at, $sec)",
        {
            "id": import_id,
            "file": str(path),
            "fmt": fmt,
            "sha": digest,
            "read": rows_read,
            "loaded": sum(loaded.values()),
            "rej": rejected,
            "dup": duplicates,
            "at": dt.datetime.now(dt.UTC),
            "sec": seconds,
        },
    )
    for t in ("_pab_raw", "_pab_ev", "_pab_gen", "_pab_eval", "_pab_exp", "_pab_new"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return FileReport(
        file=str(path),
        format=fmt + (f"+{compression}" if compression else ""),
        sha256=digest,
        import_id=import_id,
        rows_read=rows_read,
        loaded=loaded,
        rows_rejected=rejected,
        rows_duplicate=duplicates,
        reasons=reasons,
        seconds=seconds,
    )


def load_posthog(ws: object, path: str | Path, *, progress: bool = True) -> LoadReport:
    """Load one PostHog export file, a directory of them, or a glob, atomically.

    Returns
    -------
    LoadReport
        Per file: sha256, rows read, rows loaded per table, rows rejected (with reasons) and rows
        skipped because they were already loaded. ``rows_read == loaded + rejected + duplicate``.

    Raises
    ------
    DataError
        A file is missing, unreadable or truncated (nothing is loaded).
    MissingColumnError
        A required column (event, distinct_id, timestamp, properties) is absent.
    UnknownFormatError
        A file's extension is not Parquet, JSON lines or CSV.
    """
    files = _files.resolve(path)
    for f in files:
        _files.detect(f)  # fail on an unknown format before reading anything
    from tqdm.auto import tqdm

    reports = []
    with ws.transaction() as con:  # type: ignore[attr-defined]
        next_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0]
        bar = tqdm(files, desc="loading", unit="file", disable=not progress or len(files) < 2)
        for i, f in enumerate(bar):
            reports.append(_load_file(con, f, next_id + i))
    return LoadReport(source="posthog", files=tuple(reports))
