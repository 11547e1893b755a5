"""Spanlens request exports: ms → s, errors from status codes, arms by column or by trace."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pytest

from promptab_nb.errors import InvalidArgumentError, MissingColumnError

from .conftest import DATA, accounted


def test_csv_with_arm_column_converts_units(ws):
    r = ws.load_spanlens(
        DATA / "spanlens_requests.csv", arm_column="variant", prompt_name="support"
    )
    accounted(r)
    assert r.loaded == {"generations": 3}
    assert r.reasons == {"latency_ms is not a finite number >= 0": 1}
    g = ws.sql("SELECT * FROM generations ORDER BY ts")
    assert g.latency_s.tolist() == pytest.approx([15.012, 1.84, 2.21])  # 10:01+01:00 is 09:01 UTC
    assert g.variant.tolist() == ["test", "control", "test"]
    assert g.is_error.tolist() == [True, False, False] and g.http_status.tolist() == [529, 200, 200]
    assert g.cost_usd.isna().tolist() == [True, False, False]  # null cost stays null
    assert set(g.prompt_name) == {"support"} and g.distinct_id.tolist()[0] == "tr-003"
    assert g.properties[0].startswith("{")


def test_jsonl_uses_user_id_and_prompt_version_when_present(ws):
    r = ws.load_spanlens(DATA / "spanlens_requests.jsonl")
    accounted(r)
    g = ws.sql("SELECT * FROM generations ORDER BY ts")
    assert g.distinct_id.tolist() == ["user_42", "user_43"]
    assert g.prompt_version.tolist() == ["pv_3", "pv_4"]
    assert g.is_error.tolist() == [False, True] and g.latency_s.tolist() == [1.84, 0.312]


@pytest.mark.parametrize("frame", [pd.DataFrame, pl.DataFrame])
def test_json_array_with_arms_frame(ws, frame):
    arms = frame({"trace_id": ["tr-201", "tr-202"], "variant": ["control", "test"]})
    r = ws.load_spanlens(DATA / "spanlens_requests.json", arms=arms)
    accounted(r)
    g = ws.sql("SELECT variant, latency_s FROM generations ORDER BY ts")
    assert g.variant.tolist() == ["control", "test"]
    assert g.latency_s.tolist() == [4.0205, 3.65]


def test_unknown_traces_are_rejected_and_bad_arguments_named(ws):
    r = ws.load_spanlens(DATA / "spanlens_requests.json", arms={"tr-201": "control"})
    assert r.reasons == {"trace_id has no arm in arms": 1}
    with pytest.raises(MissingColumnError, match="no column 'arm'"):
        ws.load_spanlens(DATA / "spanlens_requests.csv", arm_column="arm")
    with pytest.raises(InvalidArgumentError, match="more than one variant"):
        ws.load_spanlens(
            DATA / "spanlens_requests.json",
            arms=pd.DataFrame({"trace_id": ["a", "a"], "variant": ["x", "y"]}),
        )
    with pytest.raises(MissingColumnError, match="arms has no column 'variant'"):
        ws.load_spanlens(DATA / "spanlens_requests.json", arms=pd.DataFrame({"trace_id": ["a"]}))
    with pytest.raises(InvalidArgumentError, match="not both"):
        ws.load_spanlens(DATA / "spanlens_requests.json", arms={"a": "b"}, arm_column="x")


def test_no_id_texts_are_missing_ids(ws, tmp_path):
    row = {"created_at": "2026-03-02T08:00:00Z", "latency_ms": 100}
    rows = [
        {**row, "id": "null", "trace_id": "t1"},  # two "null" ids are not one request
        {**row, "id": "null", "trace_id": "t2"},
        {**row, "id": "a3", "trace_id": "t3", "user_id": "undefined"},  # the trace is the unit
        {**row, "id": "a4", "trace_id": " None ", "user_id": "  "},
        {**row, "id": "a5", "trace_id": "nan"},
    ]
    p = tmp_path / "requests.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    r = ws.load_spanlens(p)
    accounted(r)
    assert r.loaded == {"generations": 3} and r.rows_duplicate == 0
    assert r.reasons == {"trace_id and user_id are missing": 2}
    g = ws.sql("SELECT uuid, distinct_id, trace_id FROM generations ORDER BY trace_id")
    assert g.distinct_id.tolist() == ["t1", "t2", "t3"] and "null" not in set(g.uuid)


def test_an_error_message_marks_an_error_whatever_the_status(ws, tmp_path):
    # A request that failed before any HTTP response has status 0 and the error's message.
    row = {"created_at": "2026-03-02T08:00:00Z", "latency_ms": 100, "trace_id": "t"}
    rows = [
        {**row, "id": "net", "status_code": 0, "error_message": "ECONNRESET"},
        {**row, "id": "ok-but", "status_code": 200, "error_message": "stream cut"},
        {**row, "id": "http", "status_code": 503, "error_message": None},
        {**row, "id": "ok", "status_code": 200, "error_message": None},
        {**row, "id": "untold"},
    ]
    p = tmp_path / "requests.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    accounted(ws.load_spanlens(p))
    g = ws.sql("SELECT uuid, is_error FROM generations")
    assert dict(zip(g.uuid, g.is_error, strict=True)) == {
        "net": True, "ok-but": True, "http": True, "ok": False, "untold": False
    }  # fmt: skip


def test_no_id_texts_in_the_arm_column_are_missing_arms(ws, tmp_path):
    # An SDK writing a missing variant as "null" / "undefined" made an arm named "null".
    row = {"created_at": "2026-03-02T08:00:00Z", "latency_ms": 100}
    arms = ["control", "null", " undefined ", "", None, "NULL", "test"]
    rows = [{**row, "id": f"r{i}", "trace_id": f"t{i}", "variant": v} for i, v in enumerate(arms)]
    p = tmp_path / "requests.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    r = ws.load_spanlens(p, arm_column="variant")
    accounted(r)
    assert r.rows_read == 7 and r.loaded == {"generations": 2}
    assert r.reasons == {'arm column is empty (or "null"/"undefined")': 5}
    assert ws.sql("SELECT variant FROM generations ORDER BY uuid").variant.tolist() == [
        "control", "test"
    ]  # fmt: skip


@pytest.mark.parametrize("missing", ["null", " undefined ", "", None])
def test_an_arms_frame_without_a_variant_for_a_trace_is_named(ws, missing):
    # arms={"tr-201": "null"} loaded tr-201's requests under an arm named "null"; None was
    # counted as "trace_id has no arm in arms" although arms listed the trace.
    arms = pd.DataFrame({"trace_id": ["tr-201", "tr-202"], "variant": [missing, "test"]})
    with pytest.raises(InvalidArgumentError, match="trace_id 'tr-201' no variant"):
        ws.load_spanlens(DATA / "spanlens_requests.json", arms=arms)
    assert ws.sql("SELECT count(*) AS n FROM generations").n[0] == 0
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def test_arms_match_the_trace_ids_the_csv_formula_escaped(ws, tmp_path):
    # Spanlens writes a leading ' before an id starting with = + - @ in CSV (formula escaping);
    # the loader stores the id without it, and arms= names the real id: "-abc", not "'-abc".
    head = "id,created_at,latency_ms,trace_id,variant\n"
    path = tmp_path / "requests.csv"
    path.write_text(
        head
        + "r1,2026-03-01T10:00:00Z,1000,'-abc,'-v1\n"
        + "r2,2026-03-01T10:00:01Z,2000,tr-2,v2\n"
    )
    r = ws.load_spanlens(path, arms={"-abc": "control", "tr-2": "test"})
    accounted(r)
    assert r.reasons == {}
    g = ws.sql("SELECT trace_id, variant FROM generations ORDER BY ts")
    assert g.values.tolist() == [["-abc", "control"], ["tr-2", "test"]]
    ws2 = type(ws)()
    accounted(ws2.load_spanlens(path, arm_column="variant"))  # the arm column is unescaped too
    assert ws2.sql("SELECT variant FROM generations ORDER BY ts").variant.tolist() == ["-v1", "v2"]


def test_numeric_arms_written_as_floats_are_whole_arms(ws, tmp_path):
    # An arm column of numbers with a gap, written through pandas, holds "1.0": the arm was
    # stored as "1.0", which never met the experiment's variant "1"; so did a float arms frame.
    p = tmp_path / "requests.csv"
    pd.DataFrame({
        "id": ["r1", "r2", "r3"], "created_at": "2026-03-01T10:00:00Z", "latency_ms": 100,
        "trace_id": ["t1", "t2", "t3"], "arm": [0, 1, None],
    }).to_csv(p, index=False)  # fmt: skip
    r = ws.load_spanlens(p, arm_column="arm")
    accounted(r)
    assert ws.sql("SELECT variant FROM generations ORDER BY uuid").variant.tolist() == ["0", "1"]
    ws2 = type(ws)()
    arms = pd.DataFrame({"trace_id": ["t1", "t2", "t3"], "variant": [0.0, 1.0, 2.5]})
    accounted(ws2.load_spanlens(p, arms=arms))
    g = ws2.sql("SELECT variant FROM generations ORDER BY uuid").variant.tolist()
    assert g == ["0", "1", "2.5"]
    ws2.close()


def test_a_request_without_latency_still_counts(ws, tmp_path):
    # A request that failed before any response has no latency_ms: it was rejected ("latency_ms
    # is missing"), so failed calls left error_rate (and their cost left cost) exactly when a
    # version failed more. Its latency is unknown (NULL), the call is still a call.
    p = tmp_path / "requests.csv"
    p.write_text(
        "id,created_at,latency_ms,trace_id,status_code,error_message,cost_usd\n"
        "r1,2026-03-01T10:00:00Z,1200,t1,200,,0.001\n"
        "r2,2026-03-01T10:00:01Z,,t2,0,connection reset,\n"
        "r3,2026-03-01T10:00:02Z,-3,t3,200,,0.001\n"
    )
    r = ws.load_spanlens(p)
    accounted(r)
    assert r.reasons == {"latency_ms is not a finite number >= 0": 1}
    g = ws.sql("SELECT uuid, latency_s, is_error FROM generations ORDER BY uuid")
    assert g.uuid.tolist() == ["r1", "r2"] and g.is_error.tolist() == [False, True]
    assert g.latency_s[0] == 1.2 and pd.isna(g.latency_s[1])


def test_a_whole_float_prompt_version_is_the_integer_version(ws, tmp_path):
    # A numeric prompt_version_id column with a gap, written through pandas, holds "3.0": it
    # was version "3.0" beside the "3" of the other loaders (one version, two names).
    p = tmp_path / "requests.csv"
    pd.DataFrame({
        "id": ["r1", "r2", "r3"], "created_at": "2026-03-01T10:00:00Z", "latency_ms": 100,
        "trace_id": ["t1", "t2", "t3"], "prompt_version_id": [3, None, 4],
    }).to_csv(p, index=False)  # fmt: skip
    accounted(ws.load_spanlens(p))
    g = ws.sql("SELECT prompt_version FROM generations ORDER BY uuid").prompt_version.tolist()
    assert g[0] == "3" and pd.isna(g[1]) and g[2] == "4"


def test_an_arms_frame_with_other_columns_loads(ws):
    # The whole arms frame was scanned: a column DuckDB cannot read beside trace_id / variant
    # (a pandas Period, e.g. the week of the assignment) made it "not a pandas, polars or
    # Arrow frame".
    arms = pd.DataFrame({"trace_id": ["tr-201", "tr-202"], "variant": ["control", "test"],
                         "week": pd.period_range("2026-03-02", periods=2, freq="W")})  # fmt: skip
    r = ws.load_spanlens(DATA / "spanlens_requests.json", arms=arms)
    accounted(r)
    assert r.loaded == {"generations": 2}


def test_a_proxy_cache_hit_has_no_model_latency_and_cache_tokens_are_kept(ws, tmp_path):
    # A database dump of the requests table has cache_hit (a reply served from Spanlens's proxy
    # response cache, no model call: its latency, ~0 ms, is the proxy's) and the prompt-cache
    # buckets cache_read_tokens / cache_write_tokens (a subset of prompt_tokens). Both were only
    # kept in properties: the hits pulled an arm's mean latency toward 0
    # (here 0.58 s where the 3 model calls average 0.97 s) and a recomputed cost priced cached
    # input at the full input rate.
    head = "id,trace_id,created_at,latency_ms,prompt_tokens,cache_read_tokens,cache_write_tokens,cache_hit"
    rows = [
        "r1,t1,2026-03-01T10:00:00Z,1000,500,400,0,false",
        "r2,t2,2026-03-01T10:00:01Z,3,500,0,0,true",  # Postgres booleans
        "r3,t3,2026-03-01T10:00:02Z,1000,500,0,100,f",
        "r4,t4,2026-03-01T10:00:03Z,2,500,,,1",  # ClickHouse's UInt8
        "r5,t5,2026-03-01T10:00:04Z,900,500,,,",
        "r6,t6,2026-03-01T10:00:05Z,900,500,,,maybe",
    ]
    p = tmp_path / "requests.csv"
    p.write_text("\n".join([head, *rows]) + "\n")
    r = ws.load_spanlens(p)
    accounted(r)
    assert r.reasons == {"cache_hit is not true/false": 1}
    g = ws.sql(
        "SELECT uuid, latency_s, cache_read_tokens, cache_write_tokens, cache_in_input "
        "FROM generations ORDER BY uuid"
    ).set_index("uuid")
    g = g.astype(object).where(g.notna(), None)
    assert g.latency_s.tolist() == [1.0, None, 1.0, None, 0.9]
    assert g.loc["r1"].tolist()[1:] == [400, 0, True]
    assert g.loc["r5"].tolist()[1:] == [None, None, None]  # not said: unknown
    assert ws.sql("SELECT avg(latency_s) AS m FROM generations").m[0] == pytest.approx(2.9 / 3)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("requests.csv", "id,provider,model,latency_ms,trace_id,created_at\n"),
        ("requests.json", "[]"),
        ("requests.json", '{"data": []}'),
    ],
)
def test_an_export_without_requests_is_an_error_naming_the_file(ws, tmp_path, name, text):
    # A header-only CSV (an export of a filter that matched nothing) loaded as "0 rows read"
    # without a word; beside a good file, nothing is loaded.
    from promptab_nb.errors import DataError

    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(DataError, match=rf"{name}: holds no Spanlens requests.*Export"):
        ws.load_spanlens([DATA / "spanlens_requests.jsonl", p])
    assert ws.counts()["generations"] == 0
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def test_values_of_the_wrong_json_type_reject_the_row_naming_the_column(ws, tmp_path):
    # Read as text, a trace id ["t"] loaded as the unit '["t"]', an arm ["A"] as arm '["A"]',
    # true as user "true", and an error_message false marked the request an error.
    req = {"id": "r", "provider": "openai", "model": "gpt", "latency_ms": 1200,
           "status_code": 200, "trace_id": "t", "created_at": "2026-03-02T08:00:00Z",
           "variant": "A", "error_message": None}  # fmt: skip
    bad = [
        ({"id": {"id": 1}}, "id is a JSON object or list, not an id"),
        ({"trace_id": ["t"]}, "trace_id is a JSON object or list, not an id"),
        ({"trace_id": True}, "trace_id is true/false, not an id"),
        ({"user_id": {"u": 1}}, "user_id is a JSON object or list, not an id"),
        ({"variant": ["A"]}, "arm_column is a JSON object or list, not an arm"),
        ({"model": {"name": "gpt"}}, "model is a JSON object or list, not a text"),
        ({"provider": ["openai"]}, "provider is a JSON object or list, not a text"),
        ({"prompt_version_id": [3]}, "prompt_version_id is a JSON object or list, not a text"),
        ({"error_message": False}, "error_message is true/false, not a message"),
    ]
    good = [{"variant": True}, {"error_message": {"code": 529}}, {"trace_id": 17}]
    rows = [{**req, "id": f"r{i}", **kw} for i, (kw, _) in enumerate(bad)]
    rows += [{**req, "id": f"g{i}", **kw} for i, kw in enumerate(good)]
    p = tmp_path / "requests.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    r = ws.load_spanlens(p, arm_column="variant")
    accounted(r)
    got = ws.sql("SELECT source_row, reason FROM rejects ORDER BY 1").values.tolist()
    assert got == [[i + 1, why] for i, (_, why) in enumerate(bad)]
    g = ws.sql("SELECT uuid, distinct_id, variant, is_error FROM generations ORDER BY 1")
    assert g.values.tolist() == [["g0", "t", "true", False], ["g1", "t", "A", True],
                                 ["g2", "17", "A", False]]  # fmt: skip
