"""Readers: files → the load's temp tables of text rows, unreadable rows → ``pre``."""

from __future__ import annotations

import json
import tempfile

import duckdb
import pytest

from promptab_nb.errors import DataError
from promptab_nb.loaders import _read
from promptab_nb.loaders._context import Input, LoadContext


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "systemp"))
    (tmp_path / "systemp").mkdir()
    c = LoadContext()
    yield c
    c.close(None)  # type: ignore[arg-type]


def _rows(con, sql):
    return con.execute(sql).fetchall()


def test_read_lines_skips_blank_lines_and_rejects_undecodable_ones(tmp_path, con, ctx):
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"a": 1}\n\n{"a": 2}\n\xff\xfe bad\n')
    _read.read_lines(con, ctx, f, None)
    assert _rows(con, f"SELECT line FROM {ctx.t('lines')} ORDER BY source_row") == [
        ('{"a": 1}',),
        ('{"a": 2}',),
    ]
    pre = _rows(con, f"SELECT bad_col, bad_reason FROM {ctx.t('pre')}")
    assert pre == [("(line)", "line is not UTF-8 text (re-export the file as UTF-8)")]


@pytest.mark.parametrize("in_transaction", [False, True])
def test_read_lines_numbers_lines_as_the_file_does(tmp_path, con, ctx, in_transaction):
    # blank lines and lines the reader rejects count, so a later reject names the right line
    f = tmp_path / "x.jsonl"
    f.write_bytes(
        b'{"a": 1}\n\n   \n{"a": 2}\n\xff bad\n\xfe\n{"a": 3}\n\n{"a": 4}\n\xff\n{"a": 5}\n'
    )
    if in_transaction:  # as in a load: row ids of new rows start at 2^55 there
        con.execute("BEGIN")
    _read.read_lines(con, ctx, f, None)
    got = _rows(con, f"SELECT source_row, line FROM {ctx.t('lines')} ORDER BY source_row")
    assert got == [(1, '{"a": 1}'), (4, '{"a": 2}'), (7, '{"a": 3}'), (9, '{"a": 4}'),
                   (11, '{"a": 5}')]  # fmt: skip
    assert _rows(con, f"SELECT source_row FROM {ctx.t('pre')} ORDER BY 1") == [(5,), (6,), (10,)]
    _read.drop_lines(con, ctx)
    assert not _rows(con, f"SELECT 1 FROM duckdb_views() WHERE view_name = '{ctx.name('lines')}'")


def test_read_lines_can_parse_each_line_as_it_is_read(tmp_path, con, ctx):
    # the text of a line that parses is not kept; lines that do not parse keep it, and every
    # line keeps its number in the file
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"a": 1}\n\n\xff bad\n{"a": \n[{"a": 2}]\n{"a": 3, "data": [1]}\n')
    con.execute("BEGIN")
    _read.read_lines(con, ctx, f, None, parse='\'{"a": "INTEGER"}\'')
    got = _rows(con, f"SELECT source_row, line, r.a, unroll FROM {ctx.t('lines')} ORDER BY 1")
    assert got == [
        (1, None, 1, False),
        (4, '{"a": ', None, False),  # not JSON: the loader rejects it
        # a JSON array parses (into NULL fields), so its text is not kept: a file with one goes
        # to the record reader, which reads the file again
        (5, None, None, True),
        (6, None, 3, True),
    ]
    assert _rows(con, f"SELECT source_row FROM {ctx.t('pre')}") == [(3,)]


def test_csv_header_names_duplicates_and_empty_files(tmp_path, con):
    f = tmp_path / "x.csv"
    f.write_text("a,,b\n1,2,3\n")
    assert _read.csv_header(con, f, None) == ["a", "column2", "b"]
    f.write_text("a,b,a\n")
    with pytest.raises(DataError, match="column 'a' appears twice"):
        _read.csv_header(con, f, None)
    f.write_text("")
    with pytest.raises(DataError, match="empty"):
        _read.csv_header(con, f, None)


def test_csv_header_and_rows_read_cr_only_line_ends(tmp_path, con, ctx):
    # old Mac exports end lines with CR alone; DuckDB's reader takes them, so the header must too
    f = tmp_path / "x.csv"
    f.write_bytes(b'a,b\r1,"x"\r2\r3,"y"\r')
    assert _read.csv_header(con, f, None) == ["a", "b"]
    con.execute("BEGIN TRANSACTION")
    assert _read.read_csv_rows(con, ctx, f, None) == ["a", "b"]
    rows = _rows(con, f"SELECT _pab_row, a, b FROM {ctx.t('csv')} ORDER BY _pab_row")
    assert rows == [(1, "1", "x"), (3, "3", "y")]
    assert _rows(con, f"SELECT source_row, raw FROM {ctx.t('pre')}") == [(2, "2")]


def test_read_csv_rows_numbers_rows_in_file_order(tmp_path, con, ctx):
    f = tmp_path / "x.csv"
    lines = [f'{i},"v{i}"' for i in range(1, 3001)]
    f.write_text("rowid,b\n" + "\n".join(lines) + '\n3001,"unterminated\n')
    con.execute("BEGIN TRANSACTION")  # as a load runs: uncommitted row ids start at 2^55
    header = _read.read_csv_rows(con, ctx, f, None)
    assert header == ["rowid", "b"]  # a column named like DuckDB's row id is just a column
    rows = _rows(con, f"SELECT _pab_row, rowid, b FROM {ctx.t('csv')} ORDER BY _pab_row")
    assert rows == [(i, str(i), f"v{i}") for i in range(1, 3001)]
    assert ctx._dir is None  # no temporary files: the rows are in a temp table
    reasons = [r[0] for r in _rows(con, f"SELECT bad_reason FROM {ctx.t('pre')}")]
    assert len(reasons) == 1 and reasons[0].startswith("malformed CSV line: ")


@pytest.mark.parametrize(
    "doc", [[{"a": 1}, {"a": 2}, 3], {"data": [{"a": 1}, {"a": 2}, 3], "meta": {}}]
)
def test_read_records_unrolls_arrays_and_api_pages(tmp_path, con, ctx, doc):
    f = tmp_path / "x.json"
    f.write_text(json.dumps(doc, indent=2))
    item = Input(str(f), "json", None, "sha", 1, f)
    assert _read.read_records(con, ctx, item) == 3
    good = _rows(con, f"SELECT rec FROM {ctx.t('rec')} WHERE bad_col IS NULL ORDER BY source_row")
    assert [json.loads(r[0]) for r in good] == [{"a": 1}, {"a": 2}]
    assert _rows(con, f"SELECT source_row, bad_reason FROM {ctx.t('pre')}") == [
        (3, "row is not a JSON object")
    ]
    parsed = _rows(con, f"SELECT {_read.key('a')} FROM {_read.record_source(ctx, ['a'])} t")
    assert sorted(parsed) == [("1",), ("2",)]


def test_read_docs_fails_a_pretty_document_with_an_unreadable_line(tmp_path, con, ctx):
    # the reader leaves the line out: the document must fail, naming the line and the cause,
    # rather than be read without it (a field silently NULL) or blamed as truncated
    doc = json.dumps([{"a": 1, "b": "XXX"}, {"a": 2}], indent=1).encode()
    assert doc.splitlines()[3] == b'  "b": "XXX"'
    f = tmp_path / "x.json"
    f.write_bytes(doc.replace(b"XXX", b"caf\xe9"))
    with pytest.raises(DataError, match=r"x\.json: line 4 is not UTF-8 text \(re-export the file"):
        _read.read_docs(con, ctx, f, "json", None)


def test_read_docs_rejects_an_unreadable_json_line_alone(tmp_path, con, ctx):
    # one document per line: only that line is rejected
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"a": 1}\n{"a": "caf\xe9"}\n{"a": 3}\n')
    _read.read_docs(con, ctx, f, "jsonl", None)
    assert _rows(con, f"SELECT source_row, doc FROM {ctx.t('docs')} ORDER BY 1") == [
        (1, '{"a": 1}'),
        (3, '{"a": 3}'),
    ]
    assert _rows(con, f"SELECT source_row FROM {ctx.t('pre')}") == [(2,)]


def test_count_and_pre_from_rec(con, ctx):
    _read.empty_pre(con, ctx)
    con.execute(
        f"""CREATE TEMP TABLE {ctx.t("rec")} AS
            SELECT * FROM (VALUES (1, NULL, NULL, 'a'), (2, 'x', 'bad', 'b'))
                t(source_row, bad_col, bad_reason, raw)"""
    )
    assert _read.pre_from_rec(con, ctx) == 0
    assert _read.count(con, ctx.t("pre")) == 1
    assert _read.count(con, ctx.t("rec"), "source_row > $n", {"n": 1}) == 1


def test_nested_is_null_for_text_that_is_not_json(con):
    sql = f"SELECT {_read.nested('x', '$.a')} FROM (VALUES ('{{\"a\": 5}}'), ('nope')) t(x)"
    assert _rows(con, sql) == [("5",), (None,)]
