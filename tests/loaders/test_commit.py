"""Committing a staged file: dedupe by uuid, rejects, the imports row, accounting, cleanup."""

from __future__ import annotations

import tempfile
import time

import pytest

from promptab_nb.errors import DataError
from promptab_nb.loaders._commit import finish, insert_by_uuid
from promptab_nb.loaders._context import Input, LoadContext
from promptab_nb.loaders._read import empty_pre
from promptab_nb.loaders._stage import Staged
from promptab_nb.workspace import Workspace


def _stage_exposures(con, ctx, rows):
    """An exposures stage table of ``(source_row, uuid, bad_reason)`` rows."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ctx.t("exp")} (source_row BIGINT, uuid VARCHAR,
            ts TIMESTAMPTZ, distinct_id VARCHAR, person_id VARCHAR, flag_key VARCHAR,
            variant VARCHAR, bad_col VARCHAR, bad_reason VARCHAR, raw VARCHAR)"""
    )
    for row, uuid, reason in rows:
        con.execute(
            f"""INSERT INTO {ctx.t("exp")} VALUES ($row, $uuid, TIMESTAMPTZ '2026-03-01 00:00:00+00',
                'u', NULL, 'flag', 'test', CASE WHEN $reason IS NOT NULL THEN 'variant' END,
                $reason, 'raw')""",
            {"row": row, "uuid": uuid, "reason": reason},
        )


def test_insert_by_uuid_keeps_the_first_row_of_each_new_uuid(tmp_path):
    ctx = LoadContext()
    with Workspace() as ws:
        con = ws.con
        _stage_exposures(con, ctx, [(1, "a", None), (2, "b", None)])
        assert insert_by_uuid(con, 1, {"exposures": ctx.stage("exposures")}) == (
            {"exposures": 2},
            0,
        )
        _stage_exposures(con, ctx, [(1, "b", None), (2, "c", None), (3, "c", None), (4, "d", "x")])
        loaded, dup = insert_by_uuid(con, 2, {"exposures": ctx.stage("exposures")})
        assert (loaded, dup) == ({"exposures": 1}, 2)
        assert sorted(ws.sql("SELECT uuid FROM exposures")["uuid"]) == ["a", "b", "c"]


def test_finish_writes_rejects_and_imports_then_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ctx = LoadContext()
    with Workspace() as ws, ws.transaction() as con:
        empty_pre(con, ctx)
        _stage_exposures(con, ctx, [(1, "a", None), (2, "a", None), (3, "b", "variant is bad")])
        folder = ctx.temp_dir()
        item = Input("f.csv", "csv", None, "sha-1", 1)
        staged = Staged(rows_read=3, stages={"exposures": ctx.stage("exposures")})
        report = finish(con, ctx, item, staged, source="test", start=time.perf_counter())
        assert (report.rows_loaded, report.rows_rejected, report.rows_duplicate) == (1, 1, 1)
        assert report.reasons == {"variant is bad": 1}
        assert con.execute("SELECT rows_read, source FROM imports").fetchall() == [(3, "test")]
        assert not folder.exists()
        assert not con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE temporary AND ends_with(table_name, $s)",
            {"s": ctx.suffix},
        ).fetchall()


def test_finish_checks_the_accounting():
    ctx = LoadContext()
    with Workspace() as ws, ws.transaction() as con:
        empty_pre(con, ctx)
        _stage_exposures(con, ctx, [(1, "a", None)])
        staged = Staged(rows_read=2, stages={"exposures": ctx.stage("exposures")})
        with pytest.raises(DataError, match="internal accounting error"):
            finish(con, ctx, Input("f", "csv", None, "s", 1), staged, source="t", start=0.0)
