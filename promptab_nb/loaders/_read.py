"""Reading a file into temp tables of text rows; rows that cannot be read become read rejects.

``read_lines``, ``read_csv_rows``, ``read_docs`` and ``read_records`` fill the load's temp tables
(named by its :class:`~._context.LoadContext`); every row that could not be read (bad encoding,
invalid JSON, a malformed CSV line) goes to the ``pre`` table with its column and reason, and is
written to ``rejects`` at the end. ``record_source``, ``key`` and ``nested`` are the SQL pieces a
loader uses to read fields of the records.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path

from .._sql import ident
from ..errors import DataError
from ._context import Con, Input, LoadContext, sql_str

# DuckDB's CSV reader buffers 16 lines of this size per thread: 64 MiB asked for 1 GiB blocks and
# failed under a 1 GB memory limit. A longer line is rejected with the reason.
MAX_LINE = 8 * 1024 * 1024

_TEXT_LINES = """read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = '\0',
                      quote = '', escape = '', auto_detect = false, compression = $comp,
                      max_line_size = $max"""


def _reader_params(path: Path, compression: str | None, **more: object) -> dict[str, object]:
    return {"path": str(path), "comp": compression or "auto", "max": MAX_LINE, **more}


def _read_rejects(
    con: Con,
    ctx: LoadContext,
    rejects: str,
    what: str,
    *,
    header: bool = False,
    whole_lines: bool = False,
) -> None:
    """``pre`` from the rejects table of DuckDB's CSV reader: one row per unreadable line.

    The reader numbers rows of the file from 1, a header included (a quoted field over several
    lines is one row); ``header``: number them from the first row after it, as the rows read.
    ``whole_lines``: the lines were read with NUL as the delimiter (:func:`read_lines`), so "too
    many columns" means a NUL byte.
    """
    nul = ""
    if whole_lines:
        why = sql_str("line has a NUL byte: it is not text (remove the byte or re-export the file)")
        nul = f"WHEN any_value(error_type) = 'TOO MANY COLUMNS' THEN {why}"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("pre")} AS
        SELECT line - {int(header)} AS source_row, '(line)' AS bad_col,
               CASE WHEN any_value(error_type) = 'INVALID ENCODING'
                    THEN 'line is not UTF-8 text (re-export the file as UTF-8)'
                    WHEN any_value(error_type) = 'LINE SIZE OVER MAXIMUM'
                    THEN {sql_str(f"line is longer than {MAX_LINE // 2**20} MiB")}
                    {nul} ELSE {sql_str(what + ": ")} || any_value(error_type) END AS bad_reason,
               any_value(csv_line) AS raw
        FROM {ctx.t(rejects)} GROUP BY line
        """
    )


def empty_pre(con: Con, ctx: LoadContext) -> None:
    """Create an empty ``pre`` table (for inputs without row-level read errors)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ctx.t("pre")} (source_row BIGINT, bad_col VARCHAR,
            bad_reason VARCHAR, raw VARCHAR)"""
    )


_NUMBER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE"}  # fmt: skip


def holds_numbers(column_type: str) -> bool:
    """Whether a DuckDB column type is a number (integer, float or DECIMAL): what a timestamp
    column must not be, as its unit (seconds, ms, µs since 1970?) cannot be told safely."""
    return column_type in _NUMBER_TYPES or column_type.startswith("DECIMAL")


def count(con: Con, table: str, where: str = "", params: dict[str, object] | None = None) -> int:
    """Rows of ``table`` (SQL text of a quoted name), optionally only those ``WHERE where``."""
    sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    return con.execute(sql, params).fetchall()[0][0]


def pre_from_rec(con: Con, ctx: LoadContext) -> int:
    """Add the flagged records of ``rec`` to ``pre``; return the rows that were unreadable before."""
    unread = count(con, ctx.t("pre"))
    con.execute(
        f"""INSERT INTO {ctx.t("pre")} SELECT source_row, bad_col, bad_reason, raw
            FROM {ctx.t("rec")} WHERE bad_col IS NOT NULL"""
    )
    return unread


def read_lines(
    con: Con, ctx: LoadContext, path: Path, compression: str | None, *, parse: str | None = None
) -> None:
    """``lines(source_row, line)``: the non-blank lines, each numbered by its line in the file
    (blank and unreadable lines count); unreadable lines → ``pre``.

    The lines are copied in file order into a table and numbered by ``rowid``, as CSV rows are
    (numbering them with a window held the whole file: 40 s of a 1 M-user load, and as much
    spilled again). The reader leaves out the lines it rejects, so a line after them is moved
    down by the number of rejected lines before it (an as-of join on the few rejects).

    ``parse`` (SQL of a JSON structure): each line is parsed in the same pass, and ``lines`` has
    ``r`` (the parse, NULL where the line does not parse), ``unroll`` (:data:`NOT_ONE_OBJECT`)
    and ``line`` only where ``r`` is NULL: the text of a big file is not copied once more, nor
    kept beside its parse.
    """
    rows = ctx.t("lines_rows")
    stored, inner = "line", "line"
    if parse is not None:
        stored = f"CASE WHEN r IS NULL THEN line END AS line, r, {NOT_ONE_OBJECT} AS unroll"
        inner = f"line, TRY(from_json(line, {parse})) AS r"
    # (an empty line reads as NULL; only a line starting with a space is trimmed)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {rows} AS
        SELECT {stored}, line IS NULL OR (starts_with(line, ' ') AND trim(line) = '') AS _blank
        FROM (SELECT {inner} FROM {_TEXT_LINES}, store_rejects = true, rejects_table = $rej,
                                                 rejects_scan = $scan))
        """,
        _reader_params(path, compression, rej=ctx.name("lines_rej"), scan=ctx.name("lines_scan")),
    )
    _read_rejects(con, ctx, "lines_rej", "unreadable line", whole_lines=True)
    frm, row = _file_rows(con, ctx, rows, path)
    shown = "line" if parse is None else "line, r, unroll"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {ctx.t("lines")} AS
            SELECT {row} AS source_row, {shown} FROM {frm} WHERE NOT _blank"""
    )


def sample_lines(path: Path, compression: str | None) -> tuple[str, dict[str, object]]:
    """(query, parameters) of the first lines of ``path`` that are valid JSON, as ``doc``: a
    sample read again from the file, for when ``lines`` keeps no text of parsed lines."""
    return (
        f"SELECT line AS doc FROM {_TEXT_LINES}, ignore_errors = true) WHERE json_valid(line)",
        _reader_params(path, compression),
    )


def _file_rows(con: Con, ctx: LoadContext, table: str, path: Path) -> tuple[str, str]:
    """(FROM clause, SQL of the row's number in the file) for ``table``, the rows of ``path`` the
    reader could read, copied in file order; ``pre`` holds the rows it rejected, numbered by
    the file.

    Rows are numbered by ``rowid``; a row after rejected ones is moved down by their number. The
    i-th rejected row (in file order) comes after g = (its row) - i rows that were read, so the
    k-th row read is row k + (the largest i with g < k) of the file: an as-of join on the
    rejects (temp table ``gaps``), made only when there are any.
    """
    k = f"rowid - {_first_rowid(con, table, path)} + 1"
    if not count(con, ctx.t("pre")):
        return table, k
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("gaps")} AS
        SELECT g, max(i) AS i FROM (
            SELECT source_row - row_number() OVER (ORDER BY source_row) AS g,
                   row_number() OVER (ORDER BY source_row) AS i
            FROM {ctx.t("pre")}) GROUP BY g
        """
    )
    frm = f"(SELECT {k} AS _k, * FROM {table}) ASOF LEFT JOIN {ctx.t('gaps')} _g ON _k > _g.g"
    return frm, "_k + coalesce(_g.i, 0)"


def drop_lines(con: Con, ctx: LoadContext) -> None:
    """Drop ``lines`` (made by :func:`read_lines`) once its rows are copied on."""
    con.execute(f"DROP VIEW IF EXISTS {ctx.t('lines')}")
    con.execute(f"DROP TABLE IF EXISTS {ctx.t('lines_rows')}")


def _first_rowid(con: Con, table: str, path: Path) -> int:
    """The first ``rowid`` of ``table``, a copy of ``path``'s rows in file order.

    Inside the load's transaction a new table's row ids start at an offset (DuckDB numbers
    uncommitted rows from 2^55): rows are numbered from the first id, once the ids are checked
    to be one contiguous run.
    """
    first, last, n = con.execute(
        f"SELECT min(rowid), max(rowid), count(*) FROM {table}"
    ).fetchall()[0]
    if n and last - first + 1 != n:
        raise AssertionError(f"rows of {path} are not numbered contiguously")
    return int(first or 0)


def _first_line(con: Con, path: Path, compression: str | None) -> str | None:
    """The first line of a text file (``None`` when empty; it ends at LF, CRLF or CR); a header
    that is not UTF-8 or is longer than the longest line read is a ``DataError`` naming the
    cause.

    Read directly, not with DuckDB's line reader: that reader checks a whole buffer of lines, so
    one bad line further on failed the whole file before the row reader could reject just it.
    """
    import gzip

    if compression == "zstd":  # no zstd module in the standard library
        rows = con.execute(
            f"SELECT line FROM {_TEXT_LINES}) LIMIT 1", _reader_params(path, compression)
        ).fetchall()
        return rows[0][0] if rows else None
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rb") as fh:
        head = fh.readline(MAX_LINE + 1)
    # A line ends at CR too: DuckDB's readers take CR-only line ends (old Mac exports) as well.
    head = head.split(b"\r", 1)[0]
    if len(head) > MAX_LINE:
        raise DataError(f"{path}: line 1 (the header) is longer than {MAX_LINE // 2**20} MiB.")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: line 1 (the header) is not UTF-8 text (byte {err.start}: "
            f"{head[err.start : err.start + 1]!r}). Re-export the file as UTF-8."
        ) from err
    return text.rstrip("\r\n") if text else None


def csv_header(con: Con, path: Path, compression: str | None) -> list[str]:
    """The header line of a CSV file, parsed; column names are made unique and non-empty."""
    import csv
    import io

    first = _first_line(con, path, compression)
    if first is None or not first.strip():
        raise DataError(f"{path}: the file is empty (no header line). Export it again.")
    names = next(csv.reader(io.StringIO(first.lstrip("\ufeff"))))
    out: list[str] = []
    seen: set[str] = set()  # a set: a flattened export may have tens of thousands of columns
    for i, n in enumerate(names):
        n = n.strip() or f"column{i + 1}"
        if n in seen:
            raise DataError(
                f"{path}: column {n!r} appears twice in the header. Remove or rename one."
            )
        seen.add(n)
        out.append(n)
    return out


def read_csv_rows(
    con: Con,
    ctx: LoadContext,
    path: Path,
    compression: str | None,
    keep: Collection[str] | None = None,
) -> list[str]:
    """``csv`` (the columns named in ``keep``, else all, as text, plus ``_pab_row``); malformed
    lines → ``pre``. Returns the whole header.

    Every column is parsed (a row's shape decides whether it is malformed), but only the kept
    ones are copied: an export's unused columns (a UI export's ``elements_chain`` or ``person``)
    would otherwise be written to the spill folder and read back with the rest.

    The rows are copied, in file order, into a temporary table (DuckDB spills it to the
    workspace's temp folder past the memory limit) and ``csv`` is a view of it numbering the rows
    by ``rowid``: the table keeps the file's order, so no window (numbering CSV rows with one held
    the whole file in memory: a 6 GB export failed under a 1 GB memory limit). Copying into
    Parquet instead took twice as long as reading the CSV (200 k users: 8.9 s against 4.5 s).
    """
    header = csv_header(con, path, compression)
    allowed = set(header)
    kept = [(i, name) for i, name in enumerate(header) if keep is None or name in keep]
    positional = ", ".join(f"{ident(name, allowed)} AS c{i}" for i, name in kept)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("csv_rows")} AS
        SELECT {positional} FROM read_csv($path, columns = $cols, header = true, auto_detect = false,
                                          delim = ',', quote = '"', escape = '"', compression = $comp,
                                          store_rejects = true, rejects_table = $rej,
                                          rejects_scan = $scan, max_line_size = $max)
        """,
        _reader_params(
            path,
            compression,
            cols={name: "VARCHAR" for name in header},
            rej=ctx.name("csv_rej"),
            scan=ctx.name("csv_scan"),
        ),
    )
    _read_rejects(con, ctx, "csv_rej", "malformed CSV line", header=True)
    frm, row = _file_rows(con, ctx, ctx.t("csv_rows"), path)
    # Columns are stored as c0, c1, ... (a header may name one `rowid`).
    named = ", ".join(f"c{i} AS {ident(name, allowed)}" for i, name in kept)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {ctx.t("csv")} AS
            SELECT {row} AS _pab_row, {named} FROM {frm}"""
    )
    return header


def _fail_unreadable_line(con: Con, ctx: LoadContext, path: Path) -> None:
    """A ``DataError`` naming the first unreadable line of a file holding one JSON document.

    The reader left that line out (it is in ``pre``); one document cannot lose a line and still
    be the document, nor be split into per-row rejects, so the whole file fails.
    """
    bad = con.execute(
        f"""SELECT source_row, bad_reason, count(*) OVER () FROM {ctx.t("pre")}
            ORDER BY source_row LIMIT 1"""
    ).fetchall()
    if not bad:
        return
    row, reason, n = bad[0]
    more = f" ({n - 1} more unreadable lines after it)" if n > 1 else ""
    # most reasons read "line is not UTF-8 text (re-export ...)": name the line instead
    what = reason[5:] if reason.startswith("line ") else f"cannot be read ({reason})"
    raise DataError(
        f"{path}: line {row} {what}{more}. The file is one JSON document, so no line of it can be "
        "left out; nothing was loaded."
        + (
            f" Pretty-print it (`python -m json.tool {path.name} > pretty.json`) and load that."
            if "longer than" in reason
            else ""
        )
    )


def read_docs(
    con: Con,
    ctx: LoadContext,
    path: Path,
    fmt: str,
    compression: str | None,
    *,
    lines_read: bool = False,
) -> None:
    """``docs(source_row, doc, bad_col, bad_reason, raw)``: JSON documents of a file.

    A ``.json`` file holding one (possibly pretty-printed) document gives one row; JSON lines give
    one row per line, invalid lines flagged (and later rejected). ``lines_read``: ``lines`` and
    ``pre`` already hold the file's lines.
    """
    lines, docs = ctx.t("lines"), ctx.t("docs")
    if not lines_read:
        read_lines(con, ctx, path, compression)
    rows = con.execute(f"SELECT line FROM {lines} ORDER BY source_row LIMIT 1").fetchall()
    first = rows[0] if rows else None
    n_lines = count(con, lines)
    whole = False
    if fmt == "json" and first is None:  # no line could be read (one compact, overlong line)
        _fail_unreadable_line(con, ctx, path)
    if fmt == "json" and first is not None:
        start = first[0].lstrip().lstrip("\ufeff")[:1]
        one_valid = con.execute("SELECT json_valid($l)", {"l": first[0]}).fetchall()[0][0]
        whole = start == "[" or (n_lines > 1 and not one_valid)
    if whole:
        _fail_unreadable_line(con, ctx, path)
        text = con.execute(
            f"SELECT string_agg(line, chr(10) ORDER BY source_row) FROM {lines}"
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
            f"""
            CREATE OR REPLACE TEMP TABLE {docs} AS
            SELECT 1::BIGINT AS source_row, $t::VARCHAR AS doc, NULL::VARCHAR AS bad_col,
                   NULL::VARCHAR AS bad_reason, NULL::VARCHAR AS raw
            """,
            {"t": text},
        )
    else:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {docs} AS
            SELECT source_row, line AS doc,
                   CASE WHEN NOT json_valid(line) THEN '(line)' END AS bad_col,
                   CASE WHEN NOT json_valid(line) THEN 'line is not valid JSON' END AS bad_reason,
                   line AS raw
            FROM {lines}
            """
        )
    drop_lines(con, ctx)


# True for a line that JSON lines of one event each cannot hold: not one JSON object (an array, a
# scalar; an invalid line counts as one if it starts like one), or an API page with a ``data``
# array. A file with such a line is read by the general record reader (:func:`read_records`).
NOT_ONE_OBJECT = """(NOT starts_with(line, '{') AND NOT starts_with(ltrim(line), '{')
    OR (contains(line, '"data"') AND TRY(json_type(line, '$.data')) = 'ARRAY'))"""


def read_records(con: Con, ctx: LoadContext, item: Input, *, lines_read: bool = False) -> int:
    """``rec(source_row, rec, bad_col, bad_reason, raw)``: one JSON object per input row.

    CSV rows become objects of their (text) cells; a JSON array, or an object holding a ``data``
    array (API responses), is unrolled into its elements. Unreadable rows, invalid JSON and
    non-objects are flagged; they end up in ``pre``. Returns the number of rows read.
    """
    assert item.path is not None
    rec = ctx.t("rec")
    if item.fmt == "csv":
        read_csv_rows(con, ctx, item.path, item.compression)
        # The cells of a row as one JSON object of text (the row number is not part of it).
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {rec} AS
            SELECT _pab_row AS source_row, rec, NULL::VARCHAR AS bad_col,
                   NULL::VARCHAR AS bad_reason, rec AS raw
            FROM (SELECT _pab_row,
                         json_merge_patch(to_json(c), '{{"_pab_row": null}}')::VARCHAR AS rec
                  FROM {ctx.t("csv")} c)
            """
        )
    elif item.fmt in ("json", "jsonl"):
        read_docs(con, ctx, item.path, item.fmt, item.compression, lines_read=lines_read)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {rec} AS
            WITH d AS (
                SELECT source_row AS doc_row, bad_col, bad_reason, raw,
                       CASE WHEN bad_col IS NOT NULL THEN NULL
                            WHEN json_type(doc) = 'ARRAY' THEN from_json(doc, '["JSON"]')
                            WHEN json_type(doc) = 'OBJECT' AND json_type(doc, '$.data') = 'ARRAY'
                              THEN from_json(json_extract(doc, '$.data'), '["JSON"]')
                            ELSE [doc::JSON] END AS items
                FROM {ctx.t("docs")}
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
    # `pre` holds the rows that could not even be read; the records add theirs.
    return pre_from_rec(con, ctx) + count(con, rec)


def record_keys(con: Con, ctx: LoadContext) -> set[str]:
    """The top-level keys of the first 1,000 good records of ``rec`` (empty when none is good):
    what a loader checks to tell a file of another kind from a file with bad rows."""
    return {
        k
        for (k,) in con.execute(
            "SELECT DISTINCT unnest(json_keys(rec)) FROM "
            f"(SELECT rec FROM {ctx.t('rec')} WHERE bad_col IS NULL LIMIT 1000)"
        ).fetchall()
    }


def record_source(ctx: LoadContext, keys: Iterable[str]) -> str:
    """The good records of ``rec`` with their top-level ``keys`` parsed once into ``p``."""
    spec = json.dumps({k: "VARCHAR" for k in keys})
    return (
        f"(SELECT source_row, raw, unnest([from_json(rec, {sql_str(spec)})]) AS p "
        f"FROM {ctx.t('rec')} WHERE bad_col IS NULL)"
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
