"""Committing a staged file: insert (deduplicated by uuid), rejects, the imports row, accounting.

:func:`finish` inserts a file's good staged rows (skipping ids already loaded), writes its rejects
and its ``imports`` row, checks ``rows_read == loaded + rejected + duplicates``, then drops the
load's temp tables and files for the next file.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping

from .. import schema
from .._sql import ident, used_params
from ..errors import DataError
from ._context import Con, Input, LoadContext
from ._report import FileReport
from ._stage import Direct, Staged


def _stage_columns(con: Con, stage: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {ident(stage)}").fetchall()}


def _is_empty(con: Con, tbl: str) -> bool:
    return not con.execute(f"SELECT 1 FROM {tbl} LIMIT 1").fetchall()


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
        new = (
            ""
            if _is_empty(con, tbl)
            else (f" WHERE NOT EXISTS (SELECT 1 FROM {tbl} t WHERE t.uuid = s.uuid)")
        )
        n = con.execute(
            f"INSERT INTO {tbl} ({col_sql}, import_id) SELECT {col_sql}, $id FROM {rows} s{new}",
            {"id": import_id},
        ).fetchall()[0][0]
        loaded[table] = n
        duplicates += good - n
    return loaded, duplicates


def insert_direct(
    con: Con, ctx: LoadContext, import_id: int, table: str, direct: Direct
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
    empty = _is_empty(con, tbl)
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
    rejects = ctx.name("rej_" + table)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(rejects)} AS
            SELECT source_row, bad_col, bad_reason, raw FROM ({direct.sql})
            WHERE bad_col IS NOT NULL""",
        params or None,
    )
    return good - duplicates, duplicates, rejects


def _write_rejects(con: Con, import_id: int, tables: tuple[str, ...]) -> None:
    union = " UNION ALL ".join(
        f"SELECT source_row, bad_col, bad_reason, raw FROM {ident(t)} WHERE bad_col IS NOT NULL"
        for t in dict.fromkeys(tables)
    )
    con.execute(
        f"""INSERT INTO rejects (import_id, source_row, "column", reason, raw)
            SELECT $id, source_row, bad_col, bad_reason, raw FROM ({union})""",
        {"id": import_id},
    )


def finish(
    con: Con,
    ctx: LoadContext,
    item: Input,
    staged: Staged,
    *,
    source: str,
    start: float,
    call: str | None = None,
) -> FileReport:
    """Insert, write rejects and the imports row, check the accounting; return the report."""
    rejects_from = staged.rejects_from
    if staged.loaded is None:
        loaded, duplicates = insert_by_uuid(con, item.import_id, staged.stages)
    else:
        loaded, duplicates = staged.loaded, staged.duplicates
    for table, direct in staged.direct.items():
        n, dup, rejects = insert_direct(con, ctx, item.import_id, table, direct)
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
        tables = (ctx.name("pre"), *staged.stages.values(), *rejects_from)
        _write_rejects(con, item.import_id, tables)
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
        "$at, $sec, $call)",
        {
            "id": item.import_id,
            "source": source,
            "call": call,
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
    ctx.end_file(con)
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
