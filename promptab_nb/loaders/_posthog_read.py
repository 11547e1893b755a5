"""PostHog exports → a relation of raw events (:class:`Source`), whatever the file format.

Parquet is read in place; JSON lines are parsed once per line into the event envelope (or, for
arrays and API pages, unrolled by the shared record reader); UI CSV columns are mapped by name,
flattened ``properties.$x`` columns folded back into one JSON object. Rows that cannot be read go
to the load's ``pre`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .._sql import ident
from ..errors import DataError, MissingColumnError
from ._context import Con, Input, LoadContext, sql_str
from ._read import (
    csv_header,
    drop_lines,
    empty_pre,
    holds_numbers,
    read_csv_rows,
    read_lines,
    read_records,
    sample_lines,
)
from ._wide_csv import fold, is_wide

REQUIRED = ("event", "distinct_id", "timestamp", "properties")
OPTIONAL = ("uuid", "person_id")
NO_TEXT = "NULL::VARCHAR"  # SQL of a text the source does not have


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
    ts_raw: str  # text of the timestamp: hashed for events without a uuid, shown in rejects
    props: str
    raw: str = NO_TEXT  # the row as read, for rejects (else rebuilt from the columns)
    ts_is_text: bool = True  # False for native timestamps (then ts_raw only formats them)
    params: dict[str, object] = field(default_factory=dict)


def _text_source(
    frm: str,
    col: Callable[[str], str],
    *,
    source_row: str,
    props: str,
    raw: str = NO_TEXT,
    params: dict[str, object] | None = None,
) -> Source:
    """A source whose envelope columns are text: ``col(name)`` is the SQL of column ``name``."""
    return Source(
        frm=frm,
        source_row=source_row,
        uuid=col("uuid"),
        event=col("event"),
        distinct_id=col("distinct_id"),
        person_id=col("person_id"),
        ts=f"TRY_CAST({col('timestamp')} AS TIMESTAMPTZ)",
        ts_raw=col("timestamp"),
        props=props,
        raw=raw,
        params=params or {},
    )


def _parquet_source(path: Path, cols: dict[str, str]) -> Source:
    def text(c: str) -> str:
        if c not in cols:
            return NO_TEXT
        # Bytes (a writer that does not mark its strings as UTF-8) are read as the text they
        # hold; bytes that are not UTF-8 stay escaped (\xNN), as DuckDB shows them.
        if cols[c] == "BLOB":
            return f"coalesce(TRY(decode({ident(c)})), CAST({ident(c)} AS VARCHAR))"
        return f"CAST({ident(c)} AS VARCHAR)"

    # A nested properties column (a struct or map) is written out as JSON.
    nested = cols["properties"] not in ("VARCHAR", "JSON", "BLOB")
    src = _text_source(
        "read_parquet($path, file_row_number = true)",
        text,
        source_row="file_row_number + 1",
        props="CAST(to_json(properties) AS VARCHAR)" if nested else text("properties"),
        params={"path": str(path)},
    )
    # Native timestamps are used as they are (a naive one is UTC, the session time zone); only
    # other types go through their text, as every text timestamp does.
    if cols["timestamp"] in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"):
        return replace(src, ts='CAST("timestamp" AS TIMESTAMPTZ)', ts_is_text=False)
    return src


def _json_source(con: Con, ctx: LoadContext, item: Input) -> Source:
    # Read whole lines as text (via the shared reader) so that a line that is not JSON is kept
    # and rejected rather than silently skipped by the JSON reader.
    if item.fmt == "jsonl":
        assert item.path is not None
        src = _jsonl_source(con, ctx, item.path, item.compression)
        if src is not None:
            return src
        read_lines(con, ctx, item.path, item.compression)  # as text, for the record reader
    read_records(con, ctx, item, lines_read=item.fmt == "jsonl")
    rec, raw = ctx.t("rec"), ctx.t("raw")
    _require_keys(con, Path(item.name), f"SELECT rec AS doc FROM {rec} WHERE bad_col IS NULL")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {raw} AS
        WITH j AS (
            SELECT source_row, rec, json_extract(rec, '$.properties') AS p
            FROM {rec} WHERE bad_col IS NULL
        )
        SELECT source_row, rec ->> '$.uuid' AS uuid, rec ->> '$.event' AS event,
               rec ->> '$.distinct_id' AS distinct_id, rec ->> '$.person_id' AS person_id,
               rec ->> '$.timestamp' AS "timestamp",
               CASE WHEN json_type(p) = 'VARCHAR' THEN p ->> '$' WHEN json_type(p) = 'NULL' THEN NULL
                    ELSE CAST(p AS VARCHAR) END AS props,
               rec AS raw
        FROM j
        """
    )
    con.execute(f"DROP TABLE {rec}")
    return _text_source(raw, ident, source_row="source_row", props="props", raw="raw")


# The envelope of an event line; properties stay JSON text (or a string holding JSON).
_ENVELOPE = sql_str(
    '{"uuid": "VARCHAR", "event": "VARCHAR", "distinct_id": "VARCHAR", "person_id": "VARCHAR", '
    '"timestamp": "VARCHAR", "properties": "JSON"}'
)


def _jsonl_source(con: Con, ctx: LoadContext, path: Path, compression: str | None) -> Source | None:
    """JSON lines of one event object each (the usual export): each line parsed once, as it is
    read, into its envelope, with no unrolling, re-serialising or renumbering of records (which
    made a 100 k-user export load 3× slower). Lines that are not valid JSON go to ``pre``.
    ``None`` (and nothing kept) when a line needs the general record reader (see
    :func:`one_object_per_line`)."""
    # The parse is made in the reading pass, and a parsed line's text is not kept (a reject of
    # it is rebuilt from its envelope). Copying the text into a table first, then parsing it into
    # a second one, made a 1 M-user load 7-13 s slower (67 vs 60 s, 91 vs 78 s) and its spill
    # folder twice as big (15.6 vs 8.3 GB).
    read_lines(con, ctx, path, compression, parse=_ENVELOPE)
    if not one_object_per_line(con, ctx):
        drop_lines(con, ctx)
        return None
    _require_keys(con, path, *sample_lines(path, compression))
    lines = ctx.t("lines")
    con.execute(
        f"""
        INSERT INTO {ctx.t("pre")}
        SELECT source_row, '(line)',
               CASE WHEN json_valid(line) THEN 'row is not a JSON object'
                    ELSE 'line is not valid JSON' END, line
        FROM {lines} WHERE r IS NULL
        """
    )
    props = "CAST(r.properties AS VARCHAR)"
    return _text_source(
        f"(SELECT * FROM {lines} WHERE r IS NOT NULL)",
        lambda name: "r." + ident(name),
        source_row="source_row",
        props=f"CASE WHEN starts_with({props}, '\"') THEN {props} ->> '$' ELSE {props} END",
    )


def one_object_per_line(con: Con, ctx: LoadContext) -> bool:
    """True when no line of ``lines`` (read with a parse, see :func:`_jsonl_source`) needs
    unrolling."""
    return not con.execute(f"SELECT 1 FROM {ctx.t('lines')} WHERE unroll LIMIT 1").fetchall()


def _columns(header: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(envelope name → column, property name → flattened column) of a UI CSV header."""
    by_name: dict[str, str] = {}
    flat: dict[str, str] = {}
    for column in header:
        name = column[2:] if column.startswith("*.") else column
        if name.startswith("properties.") and len(name) > len("properties."):
            flat.setdefault(name[len("properties.") :], column)
        else:
            by_name.setdefault(name, column)
    return by_name, flat


def _csv_source(con: Con, ctx: LoadContext, path: Path, compression: str | None) -> Source:
    # The UI export names columns after the query: `uuid` or `*.uuid`, and properties either as
    # one JSON column or flattened into `properties.$x` / `*.properties.$x` columns.
    header = csv_header(con, path, compression)
    by_name, flat = _columns(header)
    _require(path, set(by_name) | ({"properties"} if flat else set()))
    if "properties" not in by_name and is_wide(len(flat), compression):
        header = fold(con, ctx, path, compression, header, flat)  # one `properties` column
        by_name, flat = _columns(header)
    else:
        used = [by_name[c] for c in (*REQUIRED, *OPTIONAL) if c in by_name]
        read_csv_rows(con, ctx, path, compression, keep={*used, *flat.values()})
    params: dict[str, object] = {}
    if "properties" in by_name:
        props = ident(by_name["properties"])
    else:
        # Property names are data: they travel as parameters, the columns through ident().
        pairs = []
        for i, (prop, column) in enumerate(flat.items()):
            params[f"k{i}"] = prop
            pairs.append(f"$k{i}, {ident(column)}")
        props = f"CAST(json_object({', '.join(pairs)}) AS VARCHAR)"

    def col(name: str) -> str:
        return ident(by_name[name]) if name in by_name else NO_TEXT

    return _text_source(ctx.t("csv"), col, source_row="_pab_row", props=props, params=params)


def _require_keys(con: Con, path: Path, docs: str, params: dict[str, object] | None = None) -> None:
    """Check the top-level keys of the first 1000 JSON documents of ``docs`` (a query of a
    ``doc`` column) for the required columns; a file without good documents is not checked."""
    present = {
        k
        for (k,) in con.execute(
            f"SELECT DISTINCT unnest(json_keys(doc)) FROM ({docs} LIMIT 1000)", params or {}
        ).fetchall()
    }
    if present:
        _require(path, present)


def _require(path: Path, present: set[str]) -> None:
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise MissingColumnError(
            f"{path.name} has no column {missing[0]!r} (found: {', '.join(sorted(present))}). "
            "Export the events with uuid, event, distinct_id, person_id, timestamp and properties "
            "(PostHog batch export or 'Export all columns')."
        )


def source(con: Con, ctx: LoadContext, item: Input) -> Source:
    """The raw events of a PostHog file; ``pre`` holds the rows that could not be read."""
    path = Path(item.name)
    if item.fmt == "parquet":
        cols = dict(
            con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))",
                {"p": str(path)},
            ).fetchall()
        )
        _require(path, set(cols))
        if holds_numbers(cols["timestamp"]):
            raise DataError(
                f"{path.name}: column 'timestamp' holds numbers ({cols['timestamp']}), not date-"
                "times; its unit (seconds, ms, µs since 1970?) cannot be told safely. Write it as "
                "a Parquet TIMESTAMP or ISO 8601 text, e.g. pd.to_datetime(df.timestamp, "
                "unit='ms', utc=True)."
            )
        empty_pre(con, ctx)
        return _parquet_source(path, cols)
    if item.fmt in ("jsonl", "json"):
        return _json_source(con, ctx, item)
    return _csv_source(con, ctx, path, item.compression)
