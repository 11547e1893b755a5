"""Hostile exports (issue 21): each case gives a per-row reject with the cause, or a DataError
naming the file, line or column; nothing fails a whole file for one bad row."""

from __future__ import annotations

import json
import os

import pytest

from promptab_nb.errors import DataError

from .conftest import accounted

HEADER = "uuid,event,distinct_id,person_id,timestamp,properties\n"


def _csv_line(i: int, *, did: str | None = None, props: dict | None = None, ts: str = "") -> str:
    p = json.dumps(props or {"$ai_latency": 1.0, "$ai_prompt_name": "p"}).replace('"', '""')
    return f'u{i},$ai_generation,{did or f"d{i}"},,{ts or "2026-03-01T10:00:00Z"},"{p}"\n'


def _reasons(ws) -> dict[int, str]:
    return dict(ws.sql("SELECT source_row, reason FROM rejects").itertuples(index=False))


def _jsonl(tmp_path, events: list[dict], name: str = "e.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _ev(i: int, event: str, props: dict, **env) -> dict:
    return {"uuid": f"u{i}", "event": event, "distinct_id": f"d{i}", "person_id": None,
            "timestamp": "2026-03-01T10:00:00Z", "properties": props, **env}  # fmt: skip


@pytest.mark.parametrize("at", [1, 30])
def test_one_latin1_line_rejects_only_that_line(ws, tmp_path, at):
    lines = [_csv_line(i, did="d\udce9" if i == at else None) for i in range(1, 50)]
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "".join(lines)).encode("utf-8", "surrogateescape"))
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert report.rows_loaded == 48 and report.rows_rejected == 1
    assert _reasons(ws) == {at: "line is not UTF-8 text (re-export the file as UTF-8)"}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("at", [1, 400])  # in the first 64 KiB, which are sniffed, and past them
def test_a_stray_nul_byte_rejects_only_its_line(ws, tmp_path, fmt, at):
    props = {"$ai_latency": 1.0, "pad": "x" * 200}
    if fmt == "csv":
        lines = [_csv_line(i, props=props) for i in range(1, 501)]
        head, why = HEADER, "properties is not valid JSON"
    else:
        lines = [json.dumps(_ev(i, "$ai_generation", props)) + "\n" for i in range(1, 501)]
        head, why = "", "line has a NUL byte: it is not text"
    lines[at - 1] = lines[at - 1].replace("xxx", "x\x00x", 1)
    path = tmp_path / f"nul.{fmt}"
    path.write_text(head + "".join(lines))
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert report.rows_loaded == 499 and report.rows_rejected == 1
    ((row, reason),) = _reasons(ws).items()
    assert row == at and reason.startswith(why), reason


def test_utf16_without_a_byte_order_mark_fails_the_file(ws, tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes((HEADER + _csv_line(1) + _csv_line(2)).encode("utf-16-le"))
    with pytest.raises(DataError, match=r"u16\.csv: byte 1 is NUL.*UTF-16"):
        ws.load_posthog(path, progress=False)
    assert ws.counts()["generations"] == 0


def test_a_column_not_read_is_not_copied_and_cannot_cost_its_row(ws, tmp_path):
    # A UI export's extra columns (elements_chain, person, ...) are parsed but not kept: a
    # non-UTF-8 byte there leaves the row's data intact, so the row loads; in a column that is
    # read, the same byte still rejects its line.
    head = HEADER.rstrip("\n") + ",elements_chain\n"
    lines = [_csv_line(i).rstrip("\n") + f",div{i}\n" for i in range(1, 5)]
    lines[1] = _csv_line(2).rstrip("\n") + ",caf\udce9\n"
    lines[2] = _csv_line(3, did="d\udce9").rstrip("\n") + ",div3\n"
    path = tmp_path / "extra.csv"
    path.write_bytes((head + "".join(lines)).encode("utf-8", "surrogateescape"))
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert report.rows_loaded == 3
    assert _reasons(ws) == {3: "line is not UTF-8 text (re-export the file as UTF-8)"}
    assert sorted(ws.sql("SELECT distinct_id FROM generations").distinct_id) == ["d1", "d2", "d4"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rows_after_an_unreadable_one_keep_their_numbers(ws, tmp_path, fmt):
    # the reader leaves unreadable rows out; a later row's reject still names its own row
    bad = {"$ai_latency": -1.0}
    if fmt == "csv":  # rows numbered from the one after the header; a quoted field spans lines
        rows = [_csv_line(i, props=bad if i == 5 else None).encode() for i in range(1, 6)]
        text = [rows[0], b'u9,"two\nlines"\n', b"u8,\xff\n", *rows[1:]]
        want = {2: "malformed CSV line", 3: "line is not UTF-8", 7: "properties.$ai_latency"}
    else:  # lines numbered as in the file, blank ones too
        rows = [(json.dumps(_ev(i, "$ai_generation", bad if i == 5 else {})) + "\n").encode()
                for i in range(1, 6)]  # fmt: skip
        text = [rows[0], b"\n", b"\xff\n", *rows[1:]]
        want = {3: "line is not UTF-8", 7: "properties.$ai_latency"}
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(b"".join([HEADER.encode()] if fmt == "csv" else []) + b"".join(text))
    accounted(ws.load_posthog(path, progress=False))
    got = _reasons(ws)
    assert sorted(got) == sorted(want)
    assert all(got[row].startswith(why) for row, why in want.items()), got


def test_a_latin1_header_names_line_1(ws, tmp_path):
    path = tmp_path / "hdr.csv"
    path.write_bytes(HEADER.replace("properties", "propri\udce9t\udce9s").encode(
        "utf-8", "surrogateescape") + _csv_line(1).encode())  # fmt: skip
    with pytest.raises(DataError, match=r"hdr.csv: line 1 \(the header\) is not UTF-8"):
        ws.load_posthog(path, progress=False)


def test_a_field_over_8_mib_rejects_only_its_line(ws, tmp_path):
    big = {"$ai_latency": 1.0, "$ai_prompt_name": "x" * (9 * 2**20)}
    path = tmp_path / "big.csv"
    path.write_text(HEADER + _csv_line(1) + _csv_line(2, props=big) + _csv_line(3))
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert report.rows_loaded == 2
    assert _reasons(ws) == {2: "line is longer than 8 MiB"}


def _wide(path, n: int) -> None:
    cols = ["uuid", "event", "distinct_id", "timestamp", "properties.$ai_latency"]
    cols += [f"properties.p{i}" for i in range(n)]
    vals = ["u1", "$ai_generation", "d1", "2026-03-01T10:00:00Z", "1.5"] + [
        str(i) for i in range(n)
    ]
    path.write_text(",".join(cols) + "\n" + ",".join(vals) + "\n" + "u2,bad\n")


@pytest.mark.parametrize("n", [300, 20_000])
def test_wide_flattened_csv_is_folded(ws, tmp_path, n):
    path = tmp_path / "wide.csv"
    _wide(path, n)
    report = ws.load_posthog(path, keep_properties=True, progress=False)
    accounted(report)
    row = ws.sql("SELECT latency_s, properties FROM generations").iloc[0]
    assert row.latency_s == 1.5 and len(json.loads(row.properties)) == n + 1
    assert _reasons(ws) == {2: f"malformed CSV line: 2 fields where the header has {n + 5}"}


def test_manifest_paths_must_stay_in_its_folder(ws, tmp_path):
    outside = tmp_path / "secret.jsonl"
    outside.write_text(json.dumps(_ev(1, "$ai_generation", {})) + "\n")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "link.jsonl").symlink_to(outside)
    for entry in (str(outside), "../secret.jsonl", "link.jsonl"):
        (folder / "manifest.json").write_text(json.dumps({"files": [entry]}))
        with pytest.raises(DataError, match="outside the manifest's folder") as err:
            ws.load_posthog(folder / "manifest.json", progress=False)
        assert "secret" not in str(err.value).replace(repr(entry), "")
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def test_glob_through_a_symlink_cycle_loads_each_file_once(ws, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    _jsonl(root, [_ev(1, "$ai_generation", {"$ai_latency": 1})])
    os.symlink(root, root / "loop")
    report = ws.load_posthog(str(root / "**" / "*.jsonl"), progress=False)
    assert len(report.files) == 1
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 1


def test_integers_and_http_status_must_be_whole(ws, tmp_path):
    events = [
        _ev(1, "$ai_generation", {"$ai_input_tokens": 12.5}),
        _ev(2, "$ai_generation", {"$ai_http_status": 503.7}),
        _ev(3, "$ai_generation", {"$ai_input_tokens": 12.0, "$ai_http_status": 503}),
    ]
    report = ws.load_posthog(_jsonl(tmp_path, events), progress=False)
    accounted(report)
    assert _reasons(ws) == {
        1: "properties.$ai_input_tokens is not a whole number >= 0",
        2: "properties.$ai_http_status is not a whole number 0..999",
    }
    row = ws.sql("SELECT input_tokens, http_status, is_error FROM generations").iloc[0]
    assert (row.input_tokens, row.http_status, bool(row.is_error)) == (12, 503, True)


def test_duplicated_json_key_rejects_the_row(ws, tmp_path):
    path = tmp_path / "dup.jsonl"
    good = json.dumps(_ev(2, "$ai_generation", {"$ai_latency": 1}))
    path.write_text(
        '{"uuid": "u1", "event": "$ai_generation", "distinct_id": "d1", "timestamp": '
        '"2026-03-01T10:00:00Z", "properties": {"$ai_latency": 1, "$ai_latency": 9}}\n'
        + good
        + "\n"
    )
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert _reasons(ws) == {1: "properties has a duplicated key (readers disagree on its value)"}


@pytest.mark.parametrize("where", ["in the sample", "after the sample"])
def test_a_duplicated_key_is_found_whatever_the_common_key_lists(ws, tmp_path, monkeypatch, where):
    # Rows whose key list is one of the file's common duplicate-free lists skip the search for
    # a repeat; a row repeating a key must be found whether or not its list was sampled.
    from promptab_nb.loaders import posthog

    monkeypatch.setattr(posthog, "_SAMPLE_ROWS", 5)
    props = {"$ai_latency": 1, "$ai_prompt_name": "p"}
    lines = [json.dumps(_ev(i, "$ai_generation", props)) for i in range(1, 12)]
    dup = (
        '{"uuid": "dup", "event": "$ai_generation", "distinct_id": "d", "timestamp": '
        '"2026-03-01T10:00:00Z", "properties": {"$ai_latency": 1, "$ai_prompt_name": "p", '
        '"$ai_latency": 9}}'
    )
    at = 3 if where == "in the sample" else 10
    lines.insert(at - 1, dup)
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert report.rows_loaded == 11
    assert _reasons(ws) == {at: "properties has a duplicated key (readers disagree on its value)"}


@pytest.mark.parametrize(
    ("response", "why"),
    [
        (True, "is true/false: a boolean flag has no variants (use a multivariate flag)"),
        ("false", "is true/false: a boolean flag has no variants (use a multivariate flag)"),
        ({"v": 1}, "is a JSON object or list, not a variant key"),
        (["a"], "is a JSON object or list, not a variant key"),
        ("", "is empty"),
        ("$multiple", "is '$multiple', the name reserved for units seen in several variants"),
        (" control ", "has spaces around the variant key"),
    ],
)
def test_flag_responses_are_validated(ws, tmp_path, response, why):
    flag = {"$feature_flag": "f"}
    events = [
        _ev(1, "$feature_flag_called", {**flag, "$feature_flag_response": response}),
        _ev(2, "$feature_flag_called", {**flag, "$feature_flag_response": "test"}),
    ]
    report = ws.load_posthog(_jsonl(tmp_path, events), progress=False)
    accounted(report)
    assert _reasons(ws) == {1: "properties.$feature_flag_response " + why}
    assert list(ws.sql("SELECT variant FROM exposures").variant) == ["test"]


def test_a_text_response_that_looks_like_json_is_a_variant_key(ws, tmp_path):
    # Only a JSON object or list is refused: the text "{b}" or "[a]" is a (strange) key.
    flag = {"$feature_flag": "f"}
    events = [_ev(i, "$feature_flag_called", {**flag, "$feature_flag_response": r})
              for i, r in enumerate(["{b}", "[a]"], 1)]  # fmt: skip
    report = ws.load_posthog(_jsonl(tmp_path, events), progress=False)
    accounted(report)
    assert report.rows_rejected == 0
    assert sorted(ws.sql("SELECT variant FROM exposures").variant) == ["[a]", "{b}"]


def test_null_like_ids_are_missing(ws, tmp_path):
    events = [
        _ev(1, "$ai_generation", {}, person_id="null"),
        _ev(2, "$ai_generation", {}, person_id="undefined"),
        _ev(3, "$ai_generation", {}, distinct_id="null"),
        _ev(4, "$ai_generation", {}, person_id="  Undefined "),  # padded: as the Spark views
        _ev(5, "$ai_generation", {}, person_id="NaN   "),
    ]
    report = ws.load_posthog(_jsonl(tmp_path, events), progress=False)
    accounted(report)
    assert ws.sql("SELECT count(person_id) AS n FROM generations").n[0] == 0
    assert _reasons(ws) == {3: 'distinct_id is empty (or "null"/"undefined")'}


def test_null_like_uuids_are_missing_not_one_shared_event(ws, tmp_path):
    # two different events whose SDK wrote uuid "null": each gets its content hash, neither is
    # taken for a duplicate of the other
    events = [_ev(1, "$ai_generation", {"$ai_latency": 1.0}, uuid="null"),
              _ev(2, "$ai_generation", {"$ai_latency": 2.0}, uuid=" Undefined")]  # fmt: skip
    report = ws.load_posthog(_jsonl(tmp_path, events), progress=False)
    accounted(report)
    assert (report.rows_loaded, report.rows_duplicate) == (2, 0)
    assert "null" not in set(ws.sql("SELECT uuid FROM generations").uuid)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_infinite_and_absurd_timestamps_are_rejected(ws, tmp_path, fmt):
    stamps = ["infinity", "-infinity", "2201-01-01T00:00:00Z", "1999-12-31T23:59:59Z",
              "1970-01-01T00:00:00Z", "2199-12-31T00:00:00Z", "2000-01-01T00:00:00Z"]  # fmt: skip
    if fmt == "csv":
        path = tmp_path / "t.csv"
        path.write_text(HEADER + "".join(_csv_line(i, ts=t) for i, t in enumerate(stamps, 1)))
    else:
        path = _jsonl(tmp_path, [_ev(i, "$ai_generation", {}, timestamp=t)
                                 for i, t in enumerate(stamps, 1)])  # fmt: skip
    report = ws.load_posthog(path, progress=False)
    accounted(report)
    assert report.rows_loaded == 2
    assert set(_reasons(ws).values()) == {
        "timestamp is not a date-time between 2000-01-01 and 2200-01-01"
    }


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_rejected_row_keeps_what_was_written(ws, tmp_path, fmt):
    # a parsed row's reject is rebuilt from its envelope: the bad timestamp as written, not NULL
    path = tmp_path / f"x.{fmt}"
    if fmt == "csv":
        path.write_text(HEADER + _csv_line(1, ts="yesterday") + _csv_line(2) + "u3,broken\n")
    else:
        events = [_ev(1, "$ai_generation", {"$ai_latency": 1.0}, timestamp="yesterday"),
                  _ev(2, "$ai_generation", {})]  # fmt: skip
        path.write_text("".join(json.dumps(e) + "\n" for e in events) + "not json\n")
    accounted(ws.load_posthog(path, progress=False))
    raw = dict(ws.sql("SELECT source_row, raw FROM rejects").itertuples(index=False))
    first = json.loads(raw[1])
    assert first["timestamp"] == "yesterday" and first["uuid"] == "u1"
    assert first["distinct_id"] == "d1" and "$ai_latency" in str(first["properties"])
    assert raw[3] == ("u3,broken" if fmt == "csv" else "not json")  # unreadable: the text as is


def _parquet(tmp_path, **columns):
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = {"uuid": ["a", "b"], "event": ["$ai_generation"] * 2, "distinct_id": ["d1", "d2"],
            "timestamp": ["2026-03-01T10:00:00Z"] * 2,
            "properties": ['{"$ai_latency": 1.5}', '{"$ai_latency": 2.5}']}  # fmt: skip
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({**base, **columns}), path)
    return path


def test_parquet_strings_written_as_bytes_are_read_as_text(ws, tmp_path):
    # writers that do not mark strings as UTF-8 store them as BINARY: still the same JSON text
    import pyarrow as pa

    path = _parquet(
        tmp_path,
        distinct_id=pa.array([b"d1", "caf\u00e9".encode()], pa.binary()),
        properties=pa.array([b'{"$ai_latency": 1.5}', b'{"$ai_latency": 2.5}'], pa.binary()),
    )
    accounted(ws.load_posthog(path, progress=False))
    got = ws.sql("SELECT distinct_id, latency_s FROM generations ORDER BY uuid")
    assert list(got.distinct_id) == ["d1", "caf\u00e9"] and list(got.latency_s) == [1.5, 2.5]


def test_parquet_epoch_number_timestamps_fail_the_file_with_the_fix(ws, tmp_path):
    import pyarrow as pa

    path = _parquet(tmp_path, timestamp=pa.array([1772359200000, 1772359200001], pa.int64()))
    with pytest.raises(DataError, match=r"e\.parquet: column 'timestamp' holds numbers \(BIGINT\)"):
        ws.load_posthog(path, progress=False)
    assert ws.counts()["generations"] == 0
    # DECIMAL epoch seconds too (every row was rejected as "not a date-time", the cause unsaid),
    # as load_frame already refused them: one check serves both loaders
    dec = _parquet(tmp_path, timestamp=pa.array([1772359200, 1772359201], pa.decimal128(18, 3)))
    with pytest.raises(DataError, match=r"holds numbers \(DECIMAL\(18,3\)\)"):
        ws.load_posthog(dec, progress=False)


@pytest.mark.parametrize(
    ("name", "text"),
    [("header.csv", HEADER), ("list.json", "[]\n"), ("list.jsonl", "[]\n")],
)
def test_an_export_without_a_single_event_is_an_error_naming_the_file(ws, tmp_path, name, text):
    # A header-only CSV or an empty JSON list loaded as 0 rows without a word, where a 0-byte
    # file is an error: an export with no event is almost always the wrong export.
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=rf"{name}: .*no event") as err:
        ws.load_posthog(path, progress=False)
    assert "Export it again" in str(err.value)
    assert ws.imports().empty


def test_ids_that_are_json_lists_or_objects_are_rejected_naming_the_column(ws, tmp_path):
    # distinct_id ["x"] loaded as the user '["x"]' (and {"b": 1} as '{"b":1}'): one made-up unit
    # for every such row. A person_id of that shape rejects its row too; a text id that only
    # starts with a bracket is an id.
    events = [
        _ev(1, "$ai_generation", {}, distinct_id=["x"]),
        _ev(2, "$ai_generation", {}, distinct_id={"b": 1}),
        _ev(3, "$ai_generation", {}, person_id=["p"]),
        _ev(4, "$ai_generation", {}, distinct_id="[bot] u4"),
        _ev(5, "$ai_generation", {}),
    ]
    report = ws.load_posthog(_jsonl(tmp_path, events), progress=False)
    accounted(report)
    assert _reasons(ws) == {
        1: "distinct_id is a JSON object or list, not an id",
        2: "distinct_id is a JSON object or list, not an id",
        3: "person_id is a JSON object or list, not an id",
    }
    assert sorted(ws.sql("SELECT distinct_id FROM generations").distinct_id) == ["[bot] u4", "d5"]
