"""The loading pipeline every loader shares: read → stage → check → insert, in one transaction.

A loader only says how its source maps onto the canonical columns. Per file it

1. reads the rows into temp tables of text (``read_lines``, ``read_csv_rows``, ``read_records``),
   keeping rows that cannot be read (bad encoding, invalid JSON, malformed CSV) as rejects;
2. stages typed rows with :func:`typed_stage` (every conversion is a ``TRY_CAST``; the first check
   that fails becomes the row's reject column and reason);
3. returns a :class:`Staged`, after which :func:`finish` inserts the good rows (skipping ids already
   loaded), writes the rejects and the ``imports`` row, and checks the accounting
   ``rows_read == loaded + rejected + duplicates``.

:func:`load_all` wraps it: one transaction for all files, and every exception that is not a
:class:`~promptab_nb.errors.PromptabError` is re-raised as a ``DataError`` naming the file.
All SQL text here is built from module constants; data values travel as parameters.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from .. import schema
from .._sql import ident, used_params
from ..errors import DataError, PromptabError
from . import _files
from ._report import FileReport, LoadReport

Con = duckdb.DuckDBPyConnection
Kind = Literal["text", "double", "bigint", "int", "ts", "bool", "json"]

# The stage table of each canonical table that is deduplicated by uuid.
STAGES = {"exposures": "_pab_exp", "generations": "_pab_gen", "evaluations": "_pab_eval"}

# Temp tables (or views) a file's load may create; all are dropped when the file is done.
TEMP_TABLES = (
    "_pab_lines",
    "_pab_lines_rej",
    "_pab_lines_scan",
    "_pab_csv",
    "_pab_csv_rej",
    "_pab_csv_scan",
    "_pab_docs",
    "_pab_rec",
    "_pab_raw",
    "_pab_ev",
    "_pab_pre",
    "_pab_gen",
    "_pab_eval",
    "_pab_exp",
    "_pab_attr",
    "_pab_off",
    "_pab_new",
    "_pab_st",
    *(f"_pab_rej_{t}" for t in STAGES),
)

# DuckDB's CSV reader buffers 16 lines of this size per thread: 64 MiB asked for 1 GiB blocks and
# failed under a 1 GB memory limit. A longer line is rejected with the reason.
_MAX_LINE = 8 * 1024 * 1024

# Temporary files of the load in progress (read_csv_rows), deleted when it ends.
_TEMP_FILES: list[Path] = []


def _remove_temp_files() -> None:
    while _TEMP_FILES:
        f = _TEMP_FILES.pop()
        shutil.rmtree(f.parent, ignore_errors=True)


def sql_str(text: str) -> str:
    """A constant of promptab_nb as a SQL string literal (never user data: that is a parameter)."""
    return "'" + text.replace("'", "''") + "'"


# -- one file (or frame) being loaded ---------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """A file or a frame to load, with its import id."""

    name: str  # shown in messages and stored in imports.file
    fmt: str  # parquet, jsonl, json, csv, or pandas/polars/arrow for frames
    compression: str | None
    sha256: str
    import_id: int
    path: Path | None = None

    @property
    def label(self) -> str:
        return self.fmt + (f"+{self.compression}" if self.compression else "")


@dataclass
class Staged:
    """What a loader's stage step leaves behind.

    ``stages`` maps canonical tables to stage temp tables inserted by uuid; a loader that inserts
    its rows itself (promptfoo) sets ``loaded`` and ``duplicates`` instead. ``rejects_from`` lists
    the temp tables whose rows with a ``bad_col`` are rejects (``_pab_pre`` always is).
    """

    rows_read: int
    stages: dict[str, str] = field(default_factory=dict)
    rejects_from: tuple[str, ...] = ()
    loaded: dict[str, int] | None = None
    duplicates: int = 0
    also: dict[str, int] = field(default_factory=dict)
    direct: dict[str, Direct] = field(default_factory=dict)


@dataclass(frozen=True)
class Direct:
    """Rows inserted straight from the source into a canonical table, without a stage table.

    ``sql`` selects the typed rows (with ``source_row``, ``bad_col``, ``bad_reason``, ``raw``)
    of the ``rows`` source rows of this table. The good rows are inserted in one pass; the query
    runs a second time, for the rejects, only when fewer rows were good than read. This is the
    path for the big table of a big export: materialising it twice costs more than the load.
    """

    sql: str
    rows: int
    params: dict[str, object] = field(default_factory=dict)


StageFn = Callable[[Con, Input], Staged]


def load_all(
    ws: Any,
    inputs: Sequence[tuple[str, str, str | None, Path | None, str | Callable[[Con], str]]],
    *,
    source: str,
    stage: StageFn,
    progress: bool = True,
) -> LoadReport:
    """Load inputs ``(name, fmt, compression, path, sha256)`` in one transaction.

    ``sha256`` may be a callable of the connection, evaluated inside the transaction (frames hash
    their rows there).
    """
    from tqdm.auto import tqdm

    reports = []
    with contextlib.ExitStack() as stack:
        stack.callback(_remove_temp_files)
        con = stack.enter_context(ws.transaction())
        next_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][
            0
        ]
        bar = tqdm(
            inputs, desc=f"loading {source}", unit="file", disable=not progress or len(inputs) < 2
        )
        for i, (name, fmt, comp, path, digest) in enumerate(bar):
            with wrap_errors(name, fmt):
                sha = digest(con) if callable(digest) else digest
                item = Input(name, fmt, comp, sha, next_id + i, path)
                start = time.perf_counter()
                staged = stage(con, item)
                reports.append(finish(con, item, staged, source=source, start=start))
    return LoadReport(source=source, files=tuple(reports))


def load_paths(
    ws: Any,
    path: _files.Paths,
    *,
    source: str,
    stage: StageFn,
    progress: bool = True,
    formats: Iterable[str] = ("parquet", "jsonl", "json", "csv"),
    order: Callable[[Path], Any] | None = None,
) -> LoadReport:
    """Resolve ``path`` (file, list, directory, glob, manifest) and load every file atomically."""
    rows = prepare_paths(path, source=source, formats=formats, order=order)
    return load_all(ws, rows, source=source, stage=stage, progress=progress)


def prepare_paths(
    path: _files.Paths,
    *,
    source: str,
    formats: Iterable[str] = ("parquet", "jsonl", "json", "csv"),
    order: Callable[[Path], Any] | None = None,
) -> list[tuple[str, str, str | None, Path | None, str | Callable[[Con], str]]]:
    """Files of ``path`` as :func:`load_all` inputs, checked (format, emptiness, encoding)."""
    from ..errors import UnknownFormatError

    files = _files.resolve(path)
    allowed = tuple(formats)
    inputs = []
    for f in files:
        fmt, comp = _files.detect(f)  # type: ignore[misc]
        if fmt not in allowed:
            raise UnknownFormatError(
                f"{f}: {fmt} files are not a {source} export format; expected "
                f"{', '.join(allowed)} (optionally .gz/.zst)."
            )
        inputs.append((f, fmt, comp))
    if order is not None:
        inputs.sort(key=lambda t: order(t[0]))
    rows: list[tuple[str, str, str | None, Path | None, str | Callable[[Con], str]]] = []
    for f, fmt, comp in inputs:
        if fmt != "parquet":
            _files.check_text(f, comp)
        with wrap_errors(str(f), fmt):
            digest = _files.sha256(f)
        rows.append((str(f), fmt, comp, f, digest))
    return rows


class wrap_errors:  # noqa: N801 - used as a context manager, reads like a function
    """Re-raise anything that is not a PromptabError as a DataError naming the input."""

    def __init__(self, name: str, fmt: str) -> None:
        self.name, self.fmt = name, fmt

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: type[BaseException] | None, err: BaseException | None, tb: Any) -> bool:
        if err is None or isinstance(err, PromptabError) or not isinstance(err, Exception):
            return False
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if isinstance(err, duckdb.Error):
            raise DataError(
                f"{self.name}: cannot read as {self.fmt}: {first}. Check that the file is "
                "complete (not truncated) and really is an export in this format."
            ) from err
        raise DataError(f"{self.name}: cannot load ({type(err).__name__}: {first}).") from err


# -- reading ----------------------------------------------------------------------------------
def read_lines(con: Con, path: Path, compression: str | None) -> None:
    """``_pab_lines(source_row, line)`` of non-blank lines; undecodable lines → ``_pab_pre``."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_lines AS
        SELECT row_number() OVER () AS source_row, line
        FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = '\0',
                      quote = '', escape = '', auto_detect = false, compression = $comp,
                      max_line_size = $max, store_rejects = true,
                      rejects_table = '_pab_lines_rej', rejects_scan = '_pab_lines_scan')
        WHERE trim(line) <> ''
        """,
        {"path": str(path), "comp": compression or "auto", "max": _MAX_LINE},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_pre AS
        SELECT line AS source_row, '(line)' AS bad_col,
               CASE WHEN any_value(error_type) = 'INVALID ENCODING'
                    THEN 'line is not UTF-8 text (re-export the file as UTF-8)'
                    ELSE 'unreadable line: ' || any_value(error_type) END AS bad_reason,
               any_value(csv_line) AS raw
        FROM _pab_lines_rej GROUP BY line
        """
    )


def csv_header(con: Con, path: Path, compression: str | None) -> list[str]:
    """The header line of a CSV file, parsed; column names are made unique and non-empty."""
    import csv
    import io

    row = con.execute(
        """
        SELECT line FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false,
                                  delim = '\0', quote = '', escape = '', auto_detect = false,
                                  compression = $comp, max_line_size = $max)
        LIMIT 1
        """,
        {"path": str(path), "comp": compression or "auto", "max": _MAX_LINE},
    ).fetchall()
    row = row[0] if row else None
    if row is None or not (row[0] or "").strip():
        raise DataError(f"{path}: the file is empty (no header line). Export it again.")
    names = next(csv.reader(io.StringIO(row[0].lstrip("\ufeff"))))
    out: list[str] = []
    for i, n in enumerate(names):
        n = n.strip() or f"column{i + 1}"
        if n in out:
            raise DataError(
                f"{path}: column {n!r} appears twice in the header. Remove or rename one."
            )
        out.append(n)
    return out


def read_csv_rows(con: Con, path: Path, compression: str | None) -> list[str]:
    """``_pab_csv`` (all columns text, plus ``_pab_row``); malformed lines → ``_pab_pre``.

    The rows are copied, in file order, into a temporary Parquet file (deleted when the load
    ends) and ``_pab_csv`` is a view of it: Parquet numbers its rows for free and is cheap to
    read several times, where numbering CSV rows with a window held the whole file in memory
    (a 6 GB export failed under a 1 GB memory limit).
    """
    header = csv_header(con, path, compression)
    tmp = Path(tempfile.mkdtemp(prefix="promptab_")) / "rows.parquet"
    _TEMP_FILES.append(tmp)
    positional = ", ".join(f"{ident(name, header)} AS c{i}" for i, name in enumerate(header))
    con.execute(
        f"""
        COPY (SELECT {positional} FROM read_csv($path, columns = $cols, header = true, auto_detect = false,
                                     delim = ',', quote = '"', escape = '"', compression = $comp,
                                     store_rejects = true, rejects_table = '_pab_csv_rej',
                                     rejects_scan = '_pab_csv_scan', max_line_size = $max))
        TO {sql_str(str(tmp))} (FORMAT parquet, COMPRESSION snappy)
        """,
        {
            "path": str(path),
            "cols": {name: "VARCHAR" for name in header},
            "comp": compression or "auto",
            "max": _MAX_LINE,
        },
    )
    # Columns are stored as c0, c1, ... (a header may name one `file_row_number`).
    named = ", ".join(f"c{i} AS {ident(name, header)}" for i, name in enumerate(header))
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW _pab_csv AS
            SELECT file_row_number + 1 AS _pab_row, {named}
            FROM read_parquet({sql_str(str(tmp))}, file_row_number = true)"""
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pab_pre AS
        SELECT line AS source_row, '(line)' AS bad_col,
               CASE WHEN any_value(error_type) = 'INVALID ENCODING'
                    THEN 'line is not UTF-8 text (re-export the file as UTF-8)'
                    ELSE 'malformed CSV line: ' || any_value(error_type) END AS bad_reason,
               any_value(csv_line) AS raw
        FROM _pab_csv_rej GROUP BY line
        """
    )
    return header


def read_docs(
    con: Con, path: Path, fmt: str, compression: str | None, *, lines_read: bool = False
) -> None:
    """``_pab_docs(source_row, doc, bad_col, bad_reason, raw)``: JSON documents of a file.

    A ``.json`` file holding one (possibly pretty-printed) document gives one row; JSON lines give
    one row per line, invalid lines flagged (and later rejected). ``lines_read``: ``_pab_lines``
    and ``_pab_pre`` already hold the file's lines.
    """
    if not lines_read:
        read_lines(con, path, compression)
    rows = con.execute("SELECT line FROM _pab_lines ORDER BY source_row LIMIT 1").fetchall()
    first = rows[0] if rows else None
    n_lines = con.execute("SELECT count(*) FROM _pab_lines").fetchall()[0][0]
    whole = False
    if fmt == "json" and first is not None:
        start = first[0].lstrip().lstrip("\ufeff")[:1]
        one_valid = con.execute("SELECT json_valid($l)", {"l": first[0]}).fetchall()[0][0]
        whole = start == "[" or (n_lines > 1 and not one_valid)
    if whole:
        text = con.execute(
            "SELECT string_agg(line, chr(10) ORDER BY source_row) FROM _pab_lines"
        ).fetchall()[0][0]
        try:
            json.loads(text)
        except ValueError as err:
            pos = (
                f"line {err.lineno}, column {err.colno}"
                if isinstance(err, json.JSONDecodeError)
                else ""
            )
            raise DataError(
                f"{path}: invalid JSON at {pos} ({getattr(err, 'msg', err)}). The file may be "
                "truncated; export it again."
            ) from err
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _pab_docs AS
            SELECT 1::BIGINT AS source_row, $t::VARCHAR AS doc, NULL::VARCHAR AS bad_col,
                   NULL::VARCHAR AS bad_reason, NULL::VARCHAR AS raw
            """,
            {"t": text},
        )
    else:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _pab_docs AS
            SELECT source_row, line AS doc,
                   CASE WHEN NOT json_valid(line) THEN '(line)' END AS bad_col,
                   CASE WHEN NOT json_valid(line) THEN 'line is not valid JSON' END AS bad_reason,
                   line AS raw
            FROM _pab_lines
            """
        )
    con.execute("DROP TABLE _pab_lines")


def one_object_per_line(con: Con) -> bool:
    """True when every line of ``_pab_lines`` is (or, if invalid, means to be) one JSON object
    and none is an API page holding a ``data`` array: such lines need no unrolling."""
    return not con.execute(
        """
        SELECT 1 FROM _pab_lines
        WHERE NOT starts_with(ltrim(line), '{')
           OR (contains(line, '"data"') AND TRY(json_type(line, '$.data')) = 'ARRAY')
        LIMIT 1
        """
    ).fetchall()


def read_records(con: Con, item: Input, *, lines_read: bool = False) -> int:
    """``_pab_rec(source_row, rec, bad_col, bad_reason, raw)``: one JSON object per input row.

    CSV rows become objects of their (text) cells; a JSON array, or an object holding a ``data``
    array (API responses), is unrolled into its elements. Unreadable rows, invalid JSON and
    non-objects are flagged; they end up in ``_pab_pre``. Returns the number of rows read.
    """
    assert item.path is not None
    if item.fmt == "csv":
        read_csv_rows(con, item.path, item.compression)
        # The cells of a row as one JSON object of text (the row number is not part of it).
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _pab_rec AS
            SELECT _pab_row AS source_row, rec, NULL::VARCHAR AS bad_col,
                   NULL::VARCHAR AS bad_reason, rec AS raw
            FROM (SELECT _pab_row,
                         json_merge_patch(to_json(c), '{"_pab_row": null}')::VARCHAR AS rec
                  FROM _pab_csv c)
            """
        )
    elif item.fmt in ("json", "jsonl"):
        read_docs(con, item.path, item.fmt, item.compression, lines_read=lines_read)
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _pab_rec AS
            WITH d AS (
                SELECT source_row AS doc_row, bad_col, bad_reason, raw,
                       CASE WHEN bad_col IS NOT NULL THEN NULL
                            WHEN json_type(doc) = 'ARRAY' THEN from_json(doc, '["JSON"]')
                            WHEN json_type(doc) = 'OBJECT' AND json_type(doc, '$.data') = 'ARRAY'
                              THEN from_json(json_extract(doc, '$.data'), '["JSON"]')
                            ELSE [doc::JSON] END AS items
                FROM _pab_docs
            ),
            r AS (
                SELECT doc_row, 0 AS idx, NULL::VARCHAR AS rec, bad_col, bad_reason, raw
                FROM d WHERE bad_col IS NOT NULL
                UNION ALL
                SELECT doc_row, generate_subscripts(items, 1), CAST(unnest(items) AS VARCHAR),
                       NULL, NULL, NULL
                FROM d WHERE bad_col IS NULL
            )
            SELECT row_number() OVER (ORDER BY doc_row, idx) AS source_row, rec,
                   CASE WHEN bad_col IS NOT NULL THEN bad_col
                        WHEN json_type(rec) <> 'OBJECT' THEN '(row)' END AS bad_col,
                   CASE WHEN bad_col IS NOT NULL THEN bad_reason
                        WHEN json_type(rec) <> 'OBJECT' THEN 'row is not a JSON object' END
                       AS bad_reason,
                   coalesce(raw, rec) AS raw
            FROM r
            """
        )
    else:
        raise DataError(
            f"{item.name}: {item.fmt} files are not supported here; use CSV, JSON or JSON lines."
        )
    # _pab_pre holds the rows that could not even be read; the records add theirs.
    unread = con.execute("SELECT count(*) FROM _pab_pre").fetchall()[0][0]
    con.execute(
        """
        INSERT INTO _pab_pre
        SELECT source_row, bad_col, bad_reason, raw FROM _pab_rec WHERE bad_col IS NOT NULL
        """
    )
    return unread + con.execute("SELECT count(*) FROM _pab_rec").fetchall()[0][0]


def record_source(keys: Iterable[str]) -> str:
    """The good records of ``_pab_rec`` with their top-level ``keys`` parsed once into ``p``."""
    spec = json.dumps({k: "VARCHAR" for k in keys})
    return (
        f"(SELECT source_row, raw, unnest([from_json(rec, {sql_str(spec)})]) AS p "
        "FROM _pab_rec WHERE bad_col IS NULL)"
    )


def key(name: str) -> str:
    """SQL for the text of top-level key ``name`` of a record parsed by :func:`record_source`."""
    return f"p[{sql_str(name)}]"


def nested(expr: str, path: str) -> str:
    """SQL for the text at JSON ``path`` (e.g. ``'$.input'``) inside a JSON-text expression.

    Works whether the value was a nested object or (in CSV) a cell holding JSON text; anything
    that is not valid JSON gives NULL rather than an error.
    """
    return f"CASE WHEN json_valid({expr}) THEN json_extract_string({expr}, {sql_str(path)}) END"


# -- typing and checks -----------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One typed column of a stage: its text expression, type and checks.

    ``source`` names the input column or property in rejects; ``scale`` converts units
    (0.001 for milliseconds → seconds); numbers must be finite and, when ``nonneg``, >= 0.
    """

    name: str
    expr: str
    kind: Kind = "text"
    source: str = ""
    required: bool = False
    scale: float = 1.0
    nonneg: bool = True

    @property
    def label(self) -> str:
        return self.source or self.name


_BOOL_TRUE = "('true', 't', '1', '1.0', 'yes', 'y', 'pass', 'passed')"
_BOOL_FALSE = "('false', 'f', '0', '0.0', 'no', 'n', 'fail', 'failed')"
_KIND_TEXT = {
    "double": "a finite number >= 0",
    "bigint": "a whole number >= 0",
    "int": "a whole number >= 0",
    "ts": "a date-time",
    "bool": "true/false",
    "json": "valid JSON",
}


def _typed(f: Field, x: str) -> str:
    if f.kind == "text":
        return f"nullif({x}, '')"
    if f.kind == "double":
        v = f"TRY_CAST({x} AS DOUBLE)"
        return f"({v} * {float(f.scale)!r})" if f.scale != 1 else v
    if f.kind in ("bigint", "int"):
        d = f"TRY_CAST({x} AS DOUBLE)"
        typ = "BIGINT" if f.kind == "bigint" else "INTEGER"
        return f"TRY_CAST(CASE WHEN {d} = floor({d}) THEN {d} END AS {typ})"
    if f.kind == "ts":
        return f"TRY_CAST({x} AS TIMESTAMPTZ)"
    if f.kind == "bool":
        t = f"lower(trim({x}))"
        return f"CASE WHEN {t} IN {_BOOL_TRUE} THEN true WHEN {t} IN {_BOOL_FALSE} THEN false END"
    if f.kind == "json":
        return f"CASE WHEN json_valid({x}) THEN CAST({x} AS JSON) END"
    raise AssertionError(f.kind)


def _field_checks(f: Field, x: str, v: str) -> list[tuple[str, str, str]]:
    out = []
    present = f"({x} IS NOT NULL AND trim({x}) <> '')"
    if f.required:
        out.append((f"NOT {present}", f.label, f"{f.label} is missing"))
    if f.kind != "text":
        bad = f"{v} IS NULL"
        if f.kind == "double":
            bad += f" OR isnan({v}) OR isinf({v})"
        if f.kind in ("double", "bigint", "int") and f.nonneg:
            bad += f" OR {v} < 0"
        out.append((f"{present} AND ({bad})", f.label, f"{f.label} is not {_KIND_TEXT[f.kind]}"))
    return out


def typed_stage(
    stage: str,
    source: str,
    fields: Sequence[Field],
    select: Sequence[str],
    checks: Sequence[tuple[str, str, str]] = (),
    *,
    first_checks: Sequence[tuple[str, str, str]] = (),
    keep: Sequence[str] = (),
) -> str:
    """SQL creating a stage table from ``source`` (which has ``source_row`` and ``raw``).

    Each field is evaluated as text, then typed (``TRY_CAST``); ``select`` lists the stage's
    output columns over the typed names; ``checks`` are extra ``(condition, column, reason)``
    rules. The first failing rule gives ``bad_col``/``bad_reason``; ``first_checks`` run before
    the field checks (e.g. "not a generation"); ``keep`` passes source columns through.
    """
    texts = ", ".join(f"{f.expr} AS {ident('_t_' + f.name)}" for f in fields)
    typed = ", ".join(f"{_typed(f, ident('_t_' + f.name))} AS {ident(f.name)}" for f in fields)
    rules = list(first_checks)
    for f in fields:
        rules += _field_checks(f, ident("_t_" + f.name), ident(f.name))
    rules += list(checks)
    if rules:
        bad_col = "CASE " + " ".join(f"WHEN {c} THEN {sql_str(col)}" for c, col, _ in rules)
        bad_reason = "CASE " + " ".join(f"WHEN {c} THEN {sql_str(r)}" for c, _, r in rules)
        bad_col, bad_reason = bad_col + " END", bad_reason + " END"
    else:
        bad_col = bad_reason = "NULL::VARCHAR"
    return f"""
    CREATE OR REPLACE TEMP TABLE {stage} AS
    WITH x AS (SELECT source_row, raw, {"".join(ident(k) + ", " for k in keep)}{texts}
               FROM {source}),
         y AS (SELECT *, {typed} FROM x)
    SELECT source_row, raw, {", ".join(select)},
           {bad_col} AS bad_col, {bad_reason} AS bad_reason
    FROM y
    """


def register(con: Con, name: str, frame: Any) -> None:
    """Register a pandas/polars/Arrow frame as a view (polars through its Arrow table)."""
    if type(frame).__module__.startswith("polars"):
        frame = frame.to_arrow()
    con.execute("SELECT 1").fetchall()  # DuckDB refuses to register with a pending result
    con.register(name, frame)


def empty_pre(con: Con) -> None:
    """Create an empty ``_pab_pre`` (for inputs without row-level read errors)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _pab_pre (source_row BIGINT, bad_col VARCHAR,
           bad_reason VARCHAR, raw VARCHAR)"""
    )


# -- inserting, rejects, imports -------------------------------------------------------------
def _stage_columns(con: Con, stage: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {ident(stage)}").fetchall()}


def insert_by_uuid(
    con: Con, import_id: int, stages: Mapping[str, str]
) -> tuple[dict[str, int], int]:
    """Insert the good staged rows; return (rows loaded per table, duplicates).

    The first row of each uuid in the file is inserted unless the uuid is already loaded; later
    copies and already-loaded rows are duplicates (counted, not rejected).

    The tables have no uuid index (maintaining one cost more than the whole load), so this is
    where uuids stay unique: a file whose uuids are all distinct (checked on their 64-bit
    hashes: distinct hashes mean distinct uuids; a collision only takes the slower path) is
    inserted as is, otherwise only its first row per uuid; the anti-join against the table is
    skipped while the table is empty.
    """
    loaded: dict[str, int] = {}
    duplicates = 0
    for table, stage in stages.items():
        have = _stage_columns(con, stage)
        cols = [c for c in schema.columns(table) if c in have and c != "import_id"]
        col_sql = ", ".join(ident(c) for c in cols)
        tbl, stg = ident(table), ident(stage)
        good, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT hash(uuid)) FROM {stg} WHERE bad_col IS NULL"
        ).fetchall()[0]
        if good == 0:
            loaded[table] = 0
            continue
        rows = f"(SELECT * FROM {stg} WHERE bad_col IS NULL)"
        if distinct != good:
            rows = f"""(SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY uuid ORDER BY source_row) AS rn
                FROM {stg} WHERE bad_col IS NULL) WHERE rn = 1)"""
        empty = not con.execute(f"SELECT 1 FROM {tbl} LIMIT 1").fetchall()
        new = "" if empty else f" WHERE NOT EXISTS (SELECT 1 FROM {tbl} t WHERE t.uuid = s.uuid)"
        n = con.execute(
            f"INSERT INTO {tbl} ({col_sql}, import_id) SELECT {col_sql}, $id FROM {rows} s{new}",
            {"id": import_id},
        ).fetchall()[0][0]
        loaded[table] = n
        duplicates += good - n
    return loaded, duplicates


def insert_direct(
    con: Con, import_id: int, table: str, direct: Direct
) -> tuple[int, int, str | None]:
    """Insert the good rows of ``direct`` into ``table``; return (loaded, duplicates, rejects).

    ``rejects`` names the temp table holding the bad rows, or is None when all rows were good.
    Duplicates (a uuid already loaded, or seen earlier in the file) are deleted after the insert,
    keeping the file's first row of each new uuid (rows are appended in file order). When the
    table was empty, one count of distinct uuid hashes shows there are none.
    """
    tbl = ident(table)
    cols = [c for c in schema.columns(table) if c != "import_id"]
    col_sql = ", ".join(ident(c) for c in cols)
    params = used_params(direct.sql, dict(direct.params))
    empty = not con.execute(f"SELECT 1 FROM {tbl} LIMIT 1").fetchall()
    good = con.execute(
        f"""INSERT INTO {tbl} ({col_sql}, import_id)
            SELECT {col_sql}, $id FROM ({direct.sql}) WHERE bad_col IS NULL""",
        {**params, "id": import_id},
    ).fetchall()[0][0]
    mine = f"FROM {tbl} WHERE import_id = $id"
    distinct = con.execute(f"SELECT count(DISTINCT hash(uuid)) {mine}", {"id": import_id})
    duplicates = 0
    if not empty or distinct.fetchall()[0][0] != good:
        duplicates = con.execute(
            f"""DELETE FROM {tbl} WHERE rowid IN (
                    SELECT rowid FROM (SELECT rowid, uuid,
                                              row_number() OVER (PARTITION BY uuid ORDER BY rowid) AS rn
                                       {mine}) n
                    WHERE rn > 1 OR EXISTS (SELECT 1 FROM {tbl} o
                                            WHERE o.import_id <> $id AND o.uuid = n.uuid))""",
            {"id": import_id},
        ).fetchall()[0][0]
    if good == direct.rows:
        return good - duplicates, duplicates, None
    rejects = "_pab_rej_" + table
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(rejects)} AS
            SELECT source_row, bad_col, bad_reason, raw FROM ({direct.sql})
            WHERE bad_col IS NOT NULL""",
        params or None,
    )
    return good - duplicates, duplicates, rejects


def finish(con: Con, item: Input, staged: Staged, *, source: str, start: float) -> FileReport:
    """Insert, write rejects and the imports row, check the accounting; return the report."""
    rejects_from = staged.rejects_from
    if staged.loaded is None:
        loaded, duplicates = insert_by_uuid(con, item.import_id, staged.stages)
    else:
        loaded, duplicates = staged.loaded, staged.duplicates
    for table, direct in staged.direct.items():
        n, dup, rejects = insert_direct(con, item.import_id, table, direct)
        loaded[table], duplicates = n, duplicates + dup
        rejects_from += (rejects,) if rejects else ()
    rows_read = staged.rows_read
    seen_before = con.execute(
        "SELECT count(*) > 0 FROM imports WHERE sha256 = $sha", {"sha": item.sha256}
    ).fetchall()[0][0]
    if seen_before:
        # The same bytes were loaded before: their bad rows are already in `rejects`.
        duplicates = rows_read - sum(loaded.values())
    else:
        tables = ("_pab_pre", *staged.stages.values(), *rejects_from)
        union = " UNION ALL ".join(
            f"SELECT source_row, bad_col, bad_reason, raw FROM {ident(t)} WHERE bad_col IS NOT NULL"
            for t in dict.fromkeys(tables)
        )
        con.execute(
            f"""INSERT INTO rejects (import_id, source_row, "column", reason, raw)
                SELECT $id, source_row, bad_col, bad_reason, raw FROM ({union})""",
            {"id": item.import_id},
        )
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM rejects WHERE import_id = $id GROUP BY ALL ORDER BY 2 DESC",
            {"id": item.import_id},
        ).fetchall()
    )
    rejected = sum(reasons.values())
    if sum(loaded.values()) + rejected + duplicates != rows_read:
        raise DataError(
            f"{item.name}: internal accounting error ({rows_read} read, {loaded} loaded, "
            f"{rejected} rejected, {duplicates} duplicates); nothing was loaded. Please report it."
        )
    seconds = time.perf_counter() - start
    con.execute(
        "INSERT INTO imports VALUES ($id, $source, $file, $fmt, $sha, $read, $loaded, $rej, $dup, "
        "$at, $sec)",
        {
            "id": item.import_id,
            "source": source,
            "file": item.name,
            "fmt": item.label,
            "sha": item.sha256,
            "read": rows_read,
            "loaded": sum(loaded.values()),
            "rej": rejected,
            "dup": duplicates,
            "at": dt.datetime.now(dt.UTC),
            "sec": seconds,
        },
    )
    views = {
        r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()
    }
    for t in TEMP_TABLES:
        con.execute(f"DROP {'VIEW' if t in views else 'TABLE'} IF EXISTS {ident(t)}")
    _remove_temp_files()
    return FileReport(
        file=item.name,
        format=item.label,
        sha256=item.sha256,
        import_id=item.import_id,
        rows_read=rows_read,
        loaded=loaded,
        rows_rejected=rejected,
        rows_duplicate=duplicates,
        reasons=reasons,
        seconds=seconds,
        also=dict(staged.also),
    )
