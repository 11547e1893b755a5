"""Folding a wide flattened CSV (thousands of ``properties.$x`` columns) into one JSON column.

DuckDB's CSV reader keeps buffers per column: a one-row file of 20,000 columns took 37 s and
1.8 GB, and 5,000 columns ran out of memory under a workspace's default limit. A file with more
than :data:`WIDE` flattened property columns is therefore streamed once with Python's ``csv``
module (time linear in its size) into a Parquet file of the envelope columns plus one
``properties`` JSON object per row, which the loader then reads like a CSV with a properties
column. Rows that cannot be read (not UTF-8, wrong number of fields, a field over the longest
line) go to the load's ``pre`` table with the reason; every row, good or rejected, is numbered
by its data row (``_pab_row``, 1 for the row after the header), as an ordinary CSV's are.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._sql import ident
from ._context import Con, LoadContext, sql_str
from ._read import MAX_LINE, empty_pre

# Above this many flattened property columns a CSV is folded here rather than read by DuckDB.
WIDE = 256
_BATCH = 4096


def is_wide(flat_columns: int, compression: str | None) -> bool:
    """Whether to fold (zstd files stay with DuckDB: the standard library cannot read them)."""
    return flat_columns > WIDE and compression != "zstd"


def _rows(path: Path, compression: str | None) -> Iterator[list[str]]:
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        yield from csv.reader(fh)


def _bad(cells: Sequence[str], width: int) -> str | None:
    if len(cells) != width:
        return f"malformed CSV line: {len(cells)} fields where the header has {width}"
    if any(len(c) > MAX_LINE for c in cells):
        return f"line is longer than {MAX_LINE // 2**20} MiB"
    for c in cells:
        try:
            c.encode("utf-8")
        except UnicodeEncodeError:
            return "line is not UTF-8 text (re-export the file as UTF-8)"
    return None


def fold(
    con: Con,
    ctx: LoadContext,
    path: Path,
    compression: str | None,
    header: Sequence[str],
    flat: dict[str, str],
) -> list[str]:
    """Write the folded rows and make ``csv`` a view of them; return its (narrow) header.

    ``flat`` maps property names to their columns; every other column is kept as it is.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folded = set(flat.values())
    keep = [c for c in header if c not in folded]
    index = {c: i for i, c in enumerate(header)}
    keep_at = [index[c] for c in keep]
    props_at = [(name, index[c]) for name, c in flat.items()]
    names = [*keep, "properties"]
    schema = pa.schema(
        [("_pab_row", pa.int64())] + [(f"c{i}", pa.string()) for i in range(len(names))]
    )
    tmp = ctx.temp_dir() / "rows.parquet"
    empty_pre(con, ctx)
    rejects: list[tuple[int, str, str, str]] = []
    old_limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        with pq.ParquetWriter(tmp, schema, compression="snappy") as out:
            batch: list[list[object]] = [[] for _ in schema]
            rows = _rows(path, compression)
            next(rows, None)  # the header, read and checked by the caller
            for k, cells in enumerate(rows, start=1):
                if not cells:
                    continue
                why = _bad(cells, len(header))
                if why is not None:
                    raw = ",".join(cells).encode("utf-8", "replace").decode("utf-8")[:MAX_LINE]
                    rejects.append((k, "(line)", why, raw))
                    continue
                props = {name: (cells[i] if cells[i] != "" else None) for name, i in props_at}
                values = [k, *(cells[i] if cells[i] != "" else None for i in keep_at)]
                values.append(json.dumps(props, ensure_ascii=False))
                for col, v in zip(batch, values, strict=True):
                    col.append(v)
                if len(batch[0]) >= _BATCH:
                    out.write_table(pa.table(batch, schema=schema))
                    batch = [[] for _ in schema]
            out.write_table(pa.table(batch, schema=schema))
    finally:
        csv.field_size_limit(old_limit)
    if rejects:
        con.executemany(f"INSERT INTO {ctx.t('pre')} VALUES (?, ?, ?, ?)", rejects)
    named = ", ".join(f"c{i} AS {ident(n, names)}" for i, n in enumerate(names))
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {ctx.t("csv")} AS
            SELECT _pab_row, {named} FROM read_parquet({sql_str(str(tmp))})"""
    )
    return names
