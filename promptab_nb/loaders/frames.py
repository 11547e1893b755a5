"""pandas / polars / Arrow frames → generations, evaluations or exposures.

The frame is scanned by DuckDB (polars through its Arrow table), its mapped columns are read as
text and go through the same typing, checks, rejects, deduplication and ``imports`` row as files.
Without a ``uuid`` column each row's id is a hash of its content and copy number (rows alike in
a frame are as many rows), so loading the same frame twice adds nothing. Id columns read
``"null"``/``"undefined"``/``""`` as missing, as the file loaders do.
A NaN in a float column is missing (pandas, polars and Arrow alike; an infinity is rejected) and
a duration column (pandas Timedelta, polars Duration) mapped to a number is seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import duckdb

from .. import schema
from .._sql import ident
from ..errors import DataError, InvalidArgumentError, MissingColumnError
from ._context import Con, Input, LoadContext, sql_str
from ._load import Code, load_all, loader_call
from ._read import count, empty_pre, holds_numbers
from ._report import LoadReport
from ._stage import Field, Kind, Staged, no_id, typed_stage, whole_number_text

FrameKind = Literal["generations", "evaluations", "exposures"]

_TYPES: dict[str, Kind] = {
    "VARCHAR": "text", "DOUBLE": "double", "BIGINT": "bigint", "INTEGER": "int",
    "BOOLEAN": "bool", "TIMESTAMPTZ": "ts", "JSON": "json",
}  # fmt: skip
# Id columns: their "no id" texts ("null", "undefined", "", ...) are missing.
_IDS = ("uuid", "distinct_id", "person_id", "trace_id", "target_uuid")
_REQUIRED = {
    "generations": ("ts", "distinct_id"),
    # and distinct_id or target_uuid: a verdict on a generation counts under its unit
    "evaluations": ("ts",),
    "exposures": ("ts", "distinct_id", "flag_key", "variant"),
}


def _canonical(kind: str) -> dict[str, Kind]:
    out = {}
    for col, typ in schema.TABLES[kind]:
        if col != "import_id":
            out[col] = "id" if col in _IDS else _TYPES[typ.split()[0]]
    return out


def _frame_kind(df: Any) -> tuple[Any, str]:
    """(the frame, its library); Arrow record batches and readers as a Table, as the load scans
    the frame twice (its digest, then its rows) and a reader can be read once."""
    mod = type(df).__module__
    name = type(df).__name__
    if mod.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(df, pa.RecordBatchReader):
            return df.read_all(), "arrow"
        if isinstance(df, pa.RecordBatch):
            return pa.Table.from_batches([df]), "arrow"
        if isinstance(df, pa.Table):
            return df, "arrow"
    elif mod.startswith("pandas") and name == "DataFrame":
        return df, "pandas"
    elif mod.startswith("polars") and name == "DataFrame":
        return df, "polars"
    fix = " (collect it first: df.collect())" if name == "LazyFrame" else ""
    fix = " (make it a frame first: s.to_frame())" if name == "Series" else fix
    raise InvalidArgumentError(
        f"df is a {name}; expected a pandas, polars or Arrow (Table) frame{fix}."
    )


# A frame's fingerprint (``imports.sha256``): the sha256 of the row count and the exact sums
# (HUGEINT) of the two 64-bit halves of each row's md5 (of the row as JSON: unambiguous, and
# faster than CAST to text). Sums do not depend on the order DuckDB's threads scan the rows
# in (string_agg did: a 1M-row frame got a new digest per load, so a reload wrote its rejects
# again) and take constant memory (string_agg held the whole frame as text). So a frame with the
# same rows in another order is the same load (its rows get the same content ids). Two frames
# share a digest by chance only if their md5 sums collide, about 2^-128 for data not built to
# collide (sha256 of the text was 2^-256); a collision would only skip writing the second frame's
# rejects, its rows still being inserted by uuid. md5 rather than hash(): a workspace file keeps
# the digest, and hash() may change between DuckDB versions.
_DIGEST = """
    SELECT sha256(concat_ws(chr(10), $head, count(*),
                            coalesce(sum(CAST(m >> 64 AS UBIGINT)), 0),
                            coalesce(sum(CAST(m & 18446744073709551615::UHUGEINT AS UBIGINT)), 0)))
    FROM (SELECT md5_number(to_json(t)) AS m FROM {frame} t)
"""


def _json_default(value: Any) -> Any:
    """A numpy scalar as its Python number; anything else JSON cannot hold (a timestamp) as text."""
    return value.item() if hasattr(value, "item") else str(value)


def _dicts_as_json(df: Any, column: str) -> Any:
    """``df`` with the dicts and lists of its object column ``column`` written as JSON text (a
    copy of that column; ``df`` itself when there is nothing to write).

    DuckDB reads such a pandas column as one MAP or STRUCT type taken from a sample: values of
    one key in several types became text ({"n": 1} beside {"n": "x"} read {"n": "1"}), and
    dicts it could not type came as their Python repr ("{'a': 's'}"), rejected as not JSON.
    """
    if column not in df.columns or str(getattr(df[column], "dtype", None)) != "object":
        return df
    col = df[column]
    if not any(isinstance(v, dict | list) for v in col):
        return df

    def text(v: Any) -> Any:
        if isinstance(v, dict | list):
            # compact, as DuckDB's to_json writes it
            return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=_json_default)
        return v

    return df.assign(**{column: col.map(text)})


def _labels(df: Any, lib: str) -> list[Any]:
    """The column labels of a frame (pandas labels may be numbers)."""
    return list(df.column_names if lib == "arrow" else df.columns)


def _read_columns(
    df: Any, lib: str, canon: Mapping[str, Kind], mapping: Mapping[str, Any], label: str
) -> tuple[Any, dict[str, str]]:
    """The frame cut to the columns the load reads, and ``mapping`` with the frame columns named
    as DuckDB names them (a pandas label 0 is column "0").

    Only those columns are scanned: a column DuckDB cannot read (a pandas Period, interval,
    complex or sparse column) failed the whole load although nothing read it. A pandas index
    level named as such a column is one (DuckDB does not scan the index).
    """
    if lib == "pandas":
        # Index levels named as a column the load reads (df.set_index("uuid")) are columns.
        wanted = {str(v) for v in mapping.values()} | set(canon)
        have = {str(c) for c in df.columns}
        levels = [n for n in df.index.names if n is not None and str(n) in wanted - have]
        if levels:
            df = df.reset_index(level=levels)
    labels = _labels(df, lib)
    names = [str(x) for x in labels]
    named: dict[str, str] = {}
    for c, src in mapping.items():
        if isinstance(src, str) or any(
            src is x or src == x for x in labels if not isinstance(x, str)
        ):
            named[c] = str(src)
        if c not in named or named[c] not in names:
            raise MissingColumnError(
                f"{label} has no column {src!r} for {c!r} (found: {', '.join(names)})."
            )
    needed = set(named.values()) | {c for c in canon if c in names and c not in named}
    keep = [i for i, n in enumerate(names) if n in needed]
    twice = next((names[i] for i in keep if names.count(names[i]) > 1), None)
    if twice is not None:
        # (pandas allows it; the load would read one of them, unsaid)
        raise DataError(
            f"{label}: column {twice!r} appears twice in the frame. Remove or rename one."
        )
    return (df.iloc[:, keep] if lib == "pandas" else df.select([names[i] for i in keep])), named


def _unreadable(err: Exception, df: Any, lib: str, label: str) -> DataError:
    """A DataError naming the frame column whose type DuckDB cannot read (``err``)."""
    text = str(err)
    types = {str(n): str(t) for n, t in df.dtypes.items()} if lib == "pandas" else {}
    cols = [n for n, t in types.items() if f"'{t}'" in text]
    what = f"column {cols[0]!r} ({types[cols[0]]})" if cols else "a column"
    first = (text.strip().splitlines() or [type(err).__name__])[0]
    return DataError(
        f"{label}: {what} is of a type DuckDB cannot read ({first}). Convert it before loading "
        "(e.g. a Period with .dt.to_timestamp(), a category of intervals with .astype(str)), or "
        "leave it out of columns."
    )


def _number_copies(con: Con, stage: str) -> None:
    """Give the 2nd, 3rd... good row of one content (rows without a uuid, whose id is the hash
    of their content) the ids ``md5(raw || '#1')``, ``'#2'``...: rows alike in a frame are as
    many calls, not copies of one. A frame is a multiset of rows: reloading it (in any order)
    adds nothing, a frame with one more copy of a row adds that copy. The first copy keeps
    ``md5(raw)``, the id earlier versions gave it. The numbering is skipped when the ids are
    all distinct (checked on their 64-bit hashes)."""
    stg = ident(stage)
    good = "WHERE _by_content AND bad_col IS NULL"
    n, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT hash(uuid)) FROM {stg} {good}"
    ).fetchall()[0]
    if n == distinct:
        return
    con.execute(
        f"""UPDATE {stg} SET uuid = md5(raw || '#' || c.k)
            FROM (SELECT source_row AS row,
                         row_number() OVER (PARTITION BY uuid ORDER BY source_row) - 1 AS k
                  FROM {stg} {good}) c
            WHERE {stg}.source_row = c.row AND c.k > 0"""
    )


def load_frame(
    ws: Any,
    df: Any,
    *,
    kind: FrameKind = "generations",
    columns: Mapping[str, str] | None = None,
    name: str | None = None,
) -> LoadReport:
    """Load a frame into a canonical table with the same checks as a file.

    Parameters
    ----------
    ws
        The workspace.
    df
        A pandas DataFrame, polars DataFrame or pyarrow Table.
    kind
        Target table: ``"generations"``, ``"evaluations"`` or ``"exposures"``.
    columns
        ``{canonical column: frame column}``; canonical names present in the frame map to
        themselves (a pandas index level so named is a column too). Latency is seconds (a
        duration column, e.g. ``end - start``, is converted to seconds) and cost USD: convert
        other units before loading. Date-times without a time zone (and texts without an
        offset) are read as UTC: localize local times first (``.dt.tz_localize(...)``).
    name
        Shown in the report and stored in ``imports.file`` (default: ``<pandas frame>``).

    Returns
    -------
    LoadReport
        Rows loaded, rejected (with the canonical column and reason) and already loaded.

    Raises
    ------
    InvalidArgumentError
        ``kind`` or a canonical name in ``columns`` is unknown, or ``df`` is not a frame.
    MissingColumnError
        A mapped frame column is absent, or a required column (``ts``, ``distinct_id``; for
        exposures also ``flag_key``, ``variant``; evaluations need ``distinct_id`` or
        ``target_uuid``, the evaluated generation, whose unit they then count under) is not
        mapped.
    DataError
        The ``ts`` column holds numbers (epoch seconds or ms: convert them to date-times first),
        a column the load reads appears twice in the frame or is of a type DuckDB cannot read
        (e.g. a pandas Period); columns it does not read are not scanned.
    """
    if kind not in _REQUIRED:
        raise InvalidArgumentError(f"kind == {kind!r}, must be one of {', '.join(_REQUIRED)}.")
    df, lib = _frame_kind(df)
    canon = _canonical(kind)
    mapping = dict(columns or {})
    for c in mapping:
        if c not in canon:
            raise InvalidArgumentError(
                f"columns has key {c!r}, not a column of {kind}; expected one of "
                f"{', '.join(canon)}."
            )
    label = name or f"<{lib} frame>"
    df, named = _read_columns(df, lib, canon, mapping, label)
    if lib == "pandas":
        df = _dicts_as_json(df, named.get("properties", "properties"))

    def stage(con: Con, ctx: LoadContext, item: Input) -> Staged:
        frame, rec = ctx.t("frame"), ctx.t("rec")
        types = dict(
            (r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {frame}").fetchall()
        )
        found = list(types)
        # A frame column may feed two canonical columns (distinct_id from trace_id, and trace_id).
        full = {c: c for c in canon if c in found and c not in named}
        full.update(named)
        for c, src in full.items():
            if src not in found:
                raise MissingColumnError(
                    f"{label} has no column {src!r} for {c!r} (found: {', '.join(found)})."
                )
        for c in _REQUIRED[kind]:
            if c not in full:
                raise MissingColumnError(
                    f"{label} has no column for {c!r} (found: {', '.join(found)}). Pass "
                    f'columns={{"{c}": "<your column>"}}.'
                )
        if kind == "evaluations" and not {"distinct_id", "target_uuid"} & set(full):
            raise MissingColumnError(
                f"{label} has no column for 'distinct_id' or 'target_uuid' (found: "
                f'{", ".join(found)}). Pass columns={{"distinct_id": "<your column>"}}, or '
                '{"target_uuid": ...} naming the evaluated generation (its unit is then used).'
            )
        ts_col, ts_type = full["ts"], types[full["ts"]]
        if holds_numbers(ts_type):
            fix = (
                f"df.with_columns(pl.from_epoch({ts_col!r}, time_unit='s'))"
                if lib == "polars"
                else f"df[{ts_col!r}] = pd.to_datetime(df[{ts_col!r}], unit='s', utc=True)"
            )
            raise DataError(
                f"{label}: column {ts_col!r} (for 'ts') holds numbers ({ts_type}), not "
                "date-times; its unit (seconds, ms, µs since 1970?) cannot be told safely. "
                f"Convert it first, e.g. {fix} for seconds ('ms' for milliseconds)."
            )
        if kind == "evaluations" and not {"passed", "score"} & set(full):
            raise MissingColumnError(f"{label} needs a 'passed' or 'score' column for evaluations.")
        # Frame column names are checked against the frame (allow-list) before quoting.
        texts = []
        for c, src in full.items():
            col = ident(src, found)
            # Nested properties (dicts, structs, maps) become JSON text, not DuckDB's struct text.
            other = f"to_json({col})" if canon[c] == "json" or c == "properties" else col
            text = (
                f"CASE WHEN typeof({col}) IN ('VARCHAR', 'JSON') THEN CAST({col} AS VARCHAR) "
                f"ELSE CAST({other} AS VARCHAR) END"
            )
            if types[src] == "INTERVAL" and canon[c] == "double":
                # A duration (pandas Timedelta, polars Duration: end - start) as seconds.
                text = f"CAST(epoch({col}) AS VARCHAR)"
            floats = types[src] in ("DOUBLE", "FLOAT")
            if c == "prompt_version" or (canon[c] in ("id", "text") and floats):
                # A pandas column of versions, ids or arms with gaps is float: 3.0 is version
                # "3", user 1.0 is user "1", arm 1.0 is variant "1", as the files and the other
                # loaders have them.
                text = whole_number_text(text)
            if types[src] in ("DOUBLE", "FLOAT"):
                # NaN in a float column is missing, as DuckDB reads it from pandas (polars and
                # Arrow keep it NaN); an infinity stays, to be rejected.
                text = f"CASE WHEN isnan({col}) THEN NULL ELSE {text} END"
            texts.append(f"{text} AS {ident(c)}")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {rec} AS
            SELECT row_number() OVER () AS source_row, {", ".join(texts)} FROM {frame}
            """
        )
        raw = (
            "CAST(json_object("
            + ", ".join(f"{sql_str(c)}, {ident(c)}" for c in full)
            + ") AS VARCHAR)"
        )
        fields = [
            Field(c, ident(c), canon[c], c, required=c in _REQUIRED[kind],
                  nonneg=c not in ("score",))
            for c in full
            if c != "uuid"
        ]  # fmt: skip
        sel = []
        for c in canon:
            if c == "uuid":
                sel.append("coalesce(_uuid, md5(raw)) AS uuid")
            elif c == "applicable":
                # Absent or null: applicable, as in the PostHog and Langfuse loaders (an
                # evaluation is N/A only when it says so); analyses keep WHERE applicable rows.
                app = "coalesce(applicable, true)" if c in full else "true"
                sel.append(f"{app} AS applicable")
            elif c in full:
                sel.append(ident(c))
            else:
                sel.append(f"NULL AS {ident(c)}")
        keep = ("_uuid",)
        uuid = no_id(ident("uuid")) if "uuid" in full else "NULL::VARCHAR"
        source = f"(SELECT source_row, {raw} AS raw, {uuid} AS _uuid, * FROM {rec})"
        checks = []
        if "properties" in full:
            # As the file loaders: a properties text must be a JSON object (valid JSON that
            # starts with '{' is one; json_type would fail on the invalid texts).
            checks += [
                ("NOT json_valid(properties)", "properties", "properties is not valid JSON"),
                ("NOT starts_with(ltrim(properties, ' \t\n\r'), '{')", "properties",
                 "properties is not a JSON object"),
            ]  # fmt: skip
        if kind == "evaluations":
            none = ("passed IS NULL AND score IS NULL" if "passed" in full and "score" in full
                    else f"{'passed' if 'passed' in full else 'score'} IS NULL")  # fmt: skip
            if "applicable" in full:
                # an N/A evaluation has no verdict by nature (as in the PostHog loader)
                none = f"({none}) AND applicable IS DISTINCT FROM false"
            checks.append((none, "passed", "passed and score are missing"))
            ids = [c for c in ("distinct_id", "target_uuid") if c in full]
            why = (
                "distinct_id and target_uuid are missing" if len(ids) == 2
                else f'{ids[0]} is missing (or "null"/"undefined")'
            )  # fmt: skip
            checks.append((" AND ".join(f"{c} IS NULL" for c in ids), ids[0], why))
        stage_name = ctx.stage(kind)
        sel.append("_uuid IS NULL AS _by_content")
        con.execute(typed_stage(stage_name, source, fields, sel, checks, keep=keep))
        _number_copies(con, stage_name)
        empty_pre(con, ctx)
        return Staged(rows_read=count(con, rec), stages={kind: stage_name})

    def digest(con: Con, ctx: LoadContext) -> str:
        # The same rows loaded with another mapping or kind are another load.
        head = json.dumps({"kind": kind, "columns": named}, sort_keys=True)
        try:
            frame = ident(ctx.register(con, "frame", df))
            return con.execute(_DIGEST.format(frame=frame), {"head": head}).fetchall()[0][0]
        except duckdb.NotImplementedException as err:
            raise _unreadable(err, df, lib, label) from err

    # The frame is registered inside the load, which unregisters it when it ends.
    default_kind = kind == "generations"
    call = loader_call(
        "load_frame", Code("df"), kind=None if default_kind else kind, columns=mapping, name=name
    )
    return load_all(ws, [(label, lib, None, None, digest)], source="frame", stage=stage,
                    progress=False, call=call)  # fmt: skip
