"""Typed staging: TRY_CAST typing, the first failing check as the reject column and reason."""

from __future__ import annotations

import datetime as dt

import duckdb

from promptab_nb.loaders._stage import Field, typed_stage

_SOURCE = """(SELECT * FROM (VALUES
    (1, 'r1', '2026-03-01T00:00:00Z', '1500', '3', 'yes', 'a'),
    (2, 'r2', NULL,                   '10',   '1', 'no',  'b'),
    (3, 'r3', 'not a date',           '10',   '1', 'no',  'c'),
    (4, 'r4', '2026-03-01',           '-5',   '1', 'no',  'd'),
    (5, 'r5', '2026-03-01',           '7',    '1.5', 'no', 'e'),
    (6, 'r6', '2026-03-01',           '7',    '2', 'maybe', 'f'),
    (7, 'r7', '2026-03-01',           '7',    '2', 'no', 'skip')
) t(source_row, raw, ts, ms, n, ok, kind))"""

_FIELDS = [
    Field("ts", "ts", "ts", "created_at", required=True),
    Field("latency_s", "ms", "double", "latency_ms", scale=0.001),
    Field("n", "n", "bigint", "count"),
    Field("ok", "ok", "bool", "ok"),
    Field("kind", "kind"),
]


def _stage(**kw):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(typed_stage("st", _SOURCE, _FIELDS, ["ts", "latency_s", "n", "ok"], **kw))
    return con.execute(
        "SELECT source_row, latency_s, n, ok, bad_col, bad_reason FROM st ORDER BY source_row"
    ).fetchall()


def test_types_scales_and_reasons():
    rows = _stage()
    assert rows[0] == (1, 1.5, 3, True, None, None)
    reasons = {r[0]: (r[4], r[5]) for r in rows[1:]}
    assert reasons == {
        2: ("created_at", "created_at is missing"),
        3: ("created_at", "created_at is not a date-time between 2000-01-01 and 2200-01-01"),
        4: ("latency_ms", "latency_ms is not a finite number >= 0"),
        5: ("count", "count is not a whole number >= 0"),
        6: ("ok", "ok is not true/false"),
        7: (None, None),
    }


def test_first_checks_come_before_field_checks_and_checks_after():
    rows = _stage(
        first_checks=[("kind = 'c'", "kind", "kind c is not used")],
        checks=[("kind = 'skip'", "kind", "skipped"), ("kind = 'd'", "kind", "never reached")],
    )
    reasons = {r[0]: r[5] for r in rows}
    assert reasons[3] == "kind c is not used"  # also an invalid date, but checked first
    assert reasons[4] == "latency_ms is not a finite number >= 0"  # field check wins
    assert reasons[7] == "skipped"


def test_timestamps_are_utc():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(typed_stage("st", _SOURCE, _FIELDS[:1], ["ts"]))
    ts = con.execute("SELECT ts FROM st WHERE source_row = 1").fetchall()[0][0]
    assert ts == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_ids_read_no_id_texts_as_missing():
    con = duckdb.connect()
    ids = ["u1", "", "null", "NULL", " undefined ", "None", "nan", "  ", None, "nullable", "a b"]
    rows = ", ".join(f"({i}, 'r', ?)" for i in range(len(ids)))
    src = f"(SELECT * FROM (VALUES {rows}) t(source_row, raw, id))"
    fields = [Field("id", "id", "id", "user_id", required=True)]
    con.execute(typed_stage("st", src, fields, ["id"]), ids)
    got = con.execute("SELECT id, bad_reason FROM st ORDER BY source_row").fetchall()
    missing = 'user_id is missing (or "null"/"undefined")'
    assert [g[0] for g in got] == ["u1"] + [None] * 8 + ["nullable", "a b"]
    assert [g[1] for g in got] == [None] + [missing] * 8 + [None, None]


def test_reasons_say_negatives_are_allowed_where_they_are():
    con = duckdb.connect()
    src = "(SELECT * FROM (VALUES (1, 'r', 'true', '1.5'), (2, 'r', '-1', '-1')) t(source_row, raw, v, n))"
    fields = [Field("v", "v", "double", "value", nonneg=False), Field("n", "n", "bigint", "n")]
    con.execute(typed_stage("st", src, fields, ["v", "n"]))
    got = con.execute("SELECT v, bad_reason FROM st ORDER BY source_row").fetchall()
    assert got == [(None, "value is not a finite number"), (-1.0, "n is not a whole number >= 0")]
