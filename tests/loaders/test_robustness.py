"""Malformed inputs: every case ends in a named promptab_nb error or fully accounted rejects.

A case passes when the load either raises a ``PromptabError`` whose message names the file (or
the frame / argument), or completes with ``rows_read == loaded + rejected + already loaded`` and
one ``rejects`` row, with a column and a reason, per rejected row. Any other exception fails.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _events as E
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptab_nb.errors import PromptabError
from promptab_nb.workspace import Workspace

from .conftest import DATA

T = "2026-03-01T10:00:00Z"


def gen_line(uuid: str = "g1", ts: Any = T, **props: Any) -> dict:
    p = {"$ai_latency": 1.2, "$ai_input_tokens": 10, "$ai_output_tokens": 5, "$ai_model": "m",
         "$ai_total_cost_usd": 0.001, "$ai_http_status": 200, "$ai_trace_id": "t1"}  # fmt: skip
    p.update(props)
    p = {k: v for k, v in p.items() if v is not None}
    return {"uuid": uuid, "event": "$ai_generation", "distinct_id": "u1", "timestamp": ts,
            "properties": p}  # fmt: skip


def jsonl(*rows: Any) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def good_parquet() -> bytes:
    events = [E.gen(f"g{i}", f"u{i}", i) for i in range(50)]
    d = pd.DataFrame(events)
    d["properties"] = d["properties"].map(json.dumps)
    return parquet(d)


CSV_HEAD = "uuid,event,distinct_id,timestamp,properties\n"
PROPS = '"{""$ai_latency"": 1.0}"'


@dataclass
class Case:
    name: str
    file: str
    content: bytes | Callable[[], bytes] | None
    loader: str = "posthog"
    kwargs: dict = field(default_factory=dict)


CASES = [
    # -- truncated and empty files
    Case("truncated parquet", "t.parquet", lambda: good_parquet()[:-300]),
    Case("parquet cut in half", "h.parquet", lambda: good_parquet()[: len(good_parquet()) // 2]),
    Case("empty parquet", "e.parquet", b""),
    Case("truncated jsonl last line", "t.jsonl", lambda: jsonl(gen_line("a"), gen_line("b"))[:-25]),
    Case("truncated gzip", "t.jsonl.gz", lambda: gzip.compress(jsonl(*[gen_line(str(i)) for i in range(200)]))[:-40]),
    Case("truncated json array", "t.json", lambda: (DATA / "spanlens_requests.json").read_bytes()[:-60], "spanlens"),
    Case("truncated promptfoo", "r.json", lambda: (DATA / "promptfoo_v3.json").read_bytes()[:-100], "promptfoo"),
    Case("empty csv", "e.csv", b""),
    Case("header-only csv", "h.csv", CSV_HEAD.encode()),
    Case("whitespace jsonl", "w.jsonl", b"\n  \n\t\n"),
    Case("empty json array", "a.json", b"[]", "spanlens"),
    # -- wrong encodings
    Case("latin-1 line in jsonl", "l.jsonl", lambda: jsonl(gen_line("a")) + json.dumps(gen_line("b", **{"$ai_model": "caf\u00e9"}), ensure_ascii=False).encode("latin-1") + b"\n"),
    Case("latin-1 row in csv", "l.csv", lambda: csv_bytes(CSV_HEAD + f"a,$ai_generation,ren\u00e9,{T},{PROPS}\nb,$ai_generation,u,{T},{PROPS}\n", "latin-1")),
    Case("utf-16 csv", "u.csv", lambda: csv_bytes(CSV_HEAD + f"a,$ai_generation,u,{T},{PROPS}\n", "utf-16")),
    Case("utf-16 jsonl", "u.jsonl", lambda: jsonl(gen_line()).decode().encode("utf-16")),
    Case("utf-8 BOM csv", "b.csv", lambda: b"\xef\xbb\xbf" + csv_bytes(CSV_HEAD + f"a,$ai_generation,u,{T},{PROPS}\n")),
    Case("binary junk", "j.jsonl", bytes(range(256)) * 4),
    # -- structure
    Case("invalid JSON in some rows", "i.jsonl", lambda: jsonl(gen_line("a"), "{oops", gen_line("b"), '{"uuid": "c",')),
    Case("non-object rows", "n.jsonl", lambda: jsonl(gen_line("a"), "[1, 2]", '"text"', "42", "null")),
    Case("missing column csv", "m.csv", b"uuid,event,timestamp,properties\n1,$ai_generation,2026-01-01,{}\n"),
    Case("missing properties parquet", "m.parquet", lambda: parquet(pd.DataFrame({"uuid": ["a"], "event": ["$ai_generation"], "distinct_id": ["u"], "timestamp": [T]}))),
    Case("extra columns csv", "x.csv", lambda: csv_bytes("extra1," + CSV_HEAD.rstrip() + ",extra2\n" + f"z,a,$ai_generation,u,{T},{PROPS},y\n")),
    Case("ragged csv rows", "r.csv", lambda: csv_bytes(CSV_HEAD + f"a,$ai_generation,u,{T},{PROPS},surplus,cells\nb,$ai_generation,u,{T},{PROPS}\nc,$ai_generation\n")),
    Case("unterminated quote csv", "q.csv", lambda: csv_bytes(CSV_HEAD + f'a,$ai_generation,u,{T},{PROPS}\nb,$ai_generation,"u,{T},x\n')),
    Case("duplicate csv header", "d.csv", b"uuid,uuid,event,distinct_id,timestamp,properties\n"),
    Case("properties invalid JSON text", "p.csv", lambda: csv_bytes(CSV_HEAD + f'a,$ai_generation,u,{T},"{{not json"\n')),
    Case("properties null / array / string", "p.jsonl", lambda: jsonl({**gen_line("a"), "properties": None}, {**gen_line("b"), "properties": [1]}, {**gen_line("c"), "properties": "x"})),
    Case("event and distinct_id empty", "ev.jsonl", lambda: jsonl({**gen_line("a"), "event": ""}, {**gen_line("b"), "distinct_id": None}, {**gen_line("c"), "event": 5})),
    Case("parquet wrong types", "w.parquet", lambda: parquet(pd.DataFrame({"uuid": [1, 2], "event": ["$ai_generation"] * 2, "distinct_id": [3.5, None], "timestamp": ["yesterday", T], "properties": ['{"$ai_latency": "x"}', "{}"]}))),
    Case("parquet properties as struct", "s.parquet", lambda: parquet(pd.DataFrame({"uuid": ["a"], "event": ["$ai_generation"], "distinct_id": ["u"], "timestamp": pd.to_datetime([T]), "properties": [{"$ai_latency": 1.0}]}))),
    # -- bad values
    Case("NaN / inf latency", "nan.jsonl", lambda: jsonl(gen_line("a", **{"$ai_latency": "NaN"}), gen_line("b", **{"$ai_latency": "Infinity"}), gen_line("c")) + b'{"uuid":"d","event":"$ai_generation","distinct_id":"u","timestamp":"2026-03-01T10:00:00Z","properties":{"$ai_latency":1e400}}\n'),
    Case("negative latency and cost", "neg.jsonl", lambda: jsonl(gen_line("a", **{"$ai_latency": -1}), gen_line("b", **{"$ai_total_cost_usd": -0.5}))),
    Case("string and bool latency", "str.jsonl", lambda: jsonl(gen_line("a", **{"$ai_latency": "fast"}), gen_line("b", **{"$ai_latency": True}), gen_line("c", **{"$ai_latency": "1.5"}))),
    Case("fractional / negative tokens", "tok.jsonl", lambda: jsonl(gen_line("a", **{"$ai_input_tokens": 12.5}), gen_line("b", **{"$ai_output_tokens": -3}), gen_line("c", **{"$ai_input_tokens": 1e30}))),
    Case("is_error not boolean", "err.jsonl", lambda: jsonl(gen_line("a", **{"$ai_is_error": "maybe"}), gen_line("b", **{"$ai_is_error": "true"}))),
    Case("duplicate uuids", "dup.jsonl", lambda: jsonl(gen_line("a"), gen_line("a"), gen_line("a", **{"$ai_latency": 9}), gen_line("b"))),
    Case("mixed time zones and naive", "tz.jsonl", lambda: jsonl(gen_line("a", ts="2026-03-01T10:00:00+02:00"), gen_line("b", ts="2026-03-01 10:00:00"), gen_line("c", ts="2026-03-01T10:00:00.123456Z"), gen_line("d", ts=1772359200))),
    Case("invalid timestamps", "badts.jsonl", lambda: jsonl(gen_line("a", ts="yesterday"), gen_line("b", ts="2026-13-45T99:00:00Z"), gen_line("c", ts=None), gen_line("d", ts=""))),
    Case("10,000-character property", "long.jsonl", lambda: jsonl(gen_line("a", **{"$ai_model": "m" * 10_000, "$ai_input": "x" * 10_000}))),
    Case("evaluation result missing", "eval.jsonl", lambda: jsonl({"uuid": "e", "event": "$ai_evaluation", "distinct_id": "u", "timestamp": T, "properties": {"$ai_evaluation_name": "x"}}, {"uuid": "f", "event": "$ai_evaluation", "distinct_id": "u", "timestamp": T, "properties": {"$ai_evaluation_result": "perhaps"}})),
    Case("flag keys with quotes and SQL", "flag.jsonl", lambda: jsonl(*[{"uuid": f"x{i}", "event": "$feature_flag_called", "distinct_id": "u", "timestamp": T, "properties": {"$feature_flag": k, "$feature_flag_response": v}} for i, (k, v) in enumerate([("it's", 'a"b'), ("a; DROP TABLE exposures; --", "'); DELETE FROM generations; --"), ("", "x"), ("k", None)])])),
    Case("unknown extension", "events.txt", b"hello"),
    Case("CRLF line endings", "crlf.jsonl", lambda: jsonl(gen_line("a"), gen_line("b")).replace(b"\n", b"\r\n")),
    # -- other loaders
    Case("spanlens wrong types", "s.csv", lambda: (DATA / "spanlens_requests.csv").read_bytes() + b"x,p,openai,m,abc,-1,z,cheap,1e999,abc,,tr,not a date,control\n", "spanlens", {"arm_column": "variant"}),
    Case("spanlens missing latency_ms", "s2.csv", b"id,trace_id,created_at\n1,t,2026-01-01\n", "spanlens"),
    Case("spanlens data not a list", "s3.json", b'{"data": "nope"}', "spanlens"),
    Case("langfuse odd nested values", "o.csv", lambda: (DATA / "langfuse_observations.csv").read_bytes() + b'obs-x,t,GENERATION,n,2026-03-04T10:00:00Z,,DEFAULT,,u,m,"[1,2]","{""total"": ""free""}",-1,p,3,,\n', "langfuse"),
    Case("langfuse bad scores", "sc.jsonl", lambda: jsonl({"id": "s1", "traceId": "t", "name": "n", "value": "maybe", "dataType": "BOOLEAN", "timestamp": T}, {"id": "s2", "name": "n", "value": None, "dataType": "NUMERIC", "timestamp": T}, {"id": "s3", "traceId": "t", "name": "n", "value": 2, "dataType": "NUMERIC", "timestamp": "never"}), "langfuse_scores"),
    Case("otel attributes not a list", "o.json", lambda: json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "spanId": "s", "startTimeUnixNano": "x", "endTimeUnixNano": "y", "attributes": {"gen_ai.request.model": "m"}}, {"traceId": "t", "spanId": "s2", "startTimeUnixNano": "1", "endTimeUnixNano": "99999999999999999999999999", "attributes": [{"key": "gen_ai.request.model"}, {"value": {"stringValue": "x"}}, 5]}, 7]}]}]}).encode(), "otel"),
    Case("promptfoo results not a list", "p.json", b'{"evalId": "e", "results": {"results": {"a": 1}}}', "promptfoo"),
    Case("promptfoo odd rows", "p2.json", b'{"evalId": "e2", "results": {"version": 3, "results": [1, {"promptIdx": "x", "testIdx": -1}, {"latencyMs": "slow", "testIdx": 0, "promptIdx": 0}, {"testIdx": 1}]}}', "promptfoo"),
]  # fmt: skip

FRAME_CASES = [
    ("mixed-type object column", pd.DataFrame({"ts": [T, 5, None], "distinct_id": ["a", 2, b"x"], "latency_s": ["1", "x", None]})),
    ("inf and NaN floats", pd.DataFrame({"ts": [T] * 3, "distinct_id": ["a", "b", "c"], "latency_s": [np.inf, np.nan, -0.0], "cost_usd": [1e308, -1.0, np.nan]})),
    ("naive and aware timestamps", pd.DataFrame({"ts": ["2026-03-01 10:00", "2026-03-01T10:00:00+05:00", "garbage"], "distinct_id": ["a", "b", "c"]})),
]  # fmt: skip


def run_case(tmp_path: Path, case: Case) -> str:
    path = tmp_path / case.file
    if case.content is not None:
        data = case.content() if callable(case.content) else case.content
        path.write_bytes(data)
    with Workspace() as ws:
        before = ws.counts()
        try:
            if case.loader == "langfuse":
                report = ws.load_langfuse(path, progress=False)
            elif case.loader == "langfuse_scores":
                report = ws.load_langfuse(scores=path, progress=False)
            else:
                report = getattr(ws, f"load_{case.loader}")(path, progress=False, **case.kwargs)
        except PromptabError as err:
            assert case.file in str(err), f"{case.name}: error does not name the file: {err}"
            assert ws.counts() == before, f"{case.name}: a failed load changed the workspace"
            return "error"
        check_accounting(ws, report, case.name)
        return "loaded"


def check_accounting(ws: Workspace, report: Any, name: str) -> None:
    for f in report.files:
        assert f.rows_read == f.rows_loaded + f.rows_rejected + f.rows_duplicate, name
        rej = ws.sql("SELECT * FROM rejects WHERE import_id = ?", [f.import_id])
        assert len(rej) == f.rows_rejected, name
        assert rej.reason.notna().all() and rej.column.notna().all(), name
        imp = ws.sql("SELECT * FROM imports WHERE import_id = ?", [f.import_id]).iloc[0]
        assert imp.rows_read == imp.rows_loaded + imp.rows_rejected + imp.rows_duplicate, name


def test_corpus_is_large_enough():
    assert len(CASES) + len(FRAME_CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_file(tmp_path, case):
    run_case(tmp_path, case)


@pytest.mark.parametrize("name,df", FRAME_CASES, ids=[n for n, _ in FRAME_CASES])
def test_malformed_frame(name, df):
    with Workspace() as ws:
        try:
            report = ws.load_frame(df, kind="generations", name=name)
        except PromptabError as err:
            assert name in str(err)
            return
        check_accounting(ws, report, name)


def test_specific_outcomes(tmp_path):
    """A few cases whose exact result matters, beyond "named error or accounted"."""
    by = {c.name: c for c in CASES}
    with Workspace() as ws:
        for name in ("duplicate uuids", "mixed time zones and naive", "latin-1 line in jsonl"):
            c = by[name]
            (tmp_path / c.file).write_bytes(c.content())  # type: ignore[operator]
        r = ws.load_posthog(tmp_path / "dup.jsonl", progress=False)
        assert (r.rows_loaded, r.rows_duplicate) == (2, 2)
        assert ws.sql("SELECT latency_s FROM generations WHERE uuid = 'a'").latency_s[0] == 1.2
    with Workspace() as ws:
        ws.load_posthog(tmp_path / "tz.jsonl", progress=False)
        ts = ws.sql(
            "SELECT uuid, ts FROM generations WHERE uuid IN ('a', 'b', 'c', 'd') ORDER BY uuid"
        )
        # +02:00 → 08:00 UTC; naive is UTC; an epoch number is not an ISO date-time: rejected
        assert [str(t) for t in ts.ts] == ["2026-03-01 08:00:00+00:00", "2026-03-01 10:00:00+00:00",
                                           "2026-03-01 10:00:00.123456+00:00"]  # fmt: skip
        r = ws.load_posthog(tmp_path / "l.jsonl", progress=False)
        assert r.reasons == {"line is not UTF-8 text (re-export the file as UTF-8)": 1}
    (tmp_path / "u.csv").write_bytes(by["utf-16 csv"].content())  # type: ignore[operator]
    (tmp_path / "t.parquet").write_bytes(good_parquet()[:-300])
    with Workspace() as ws:
        with pytest.raises(PromptabError, match=r"u\.csv.*UTF-16"):
            ws.load_posthog(tmp_path / "u.csv", progress=False)
        with pytest.raises(PromptabError, match=r"t\.parquet: cannot read as parquet"):
            ws.load_posthog(tmp_path / "t.parquet", progress=False)


# -- fuzzing the row parser ------------------------------------------------------------------
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["NaN", "-1", "1e400", "true", "", "2026-03-01", "'; DROP TABLE generations; --"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)  # fmt: skip
_keys = st.sampled_from(["$ai_latency", "$ai_input_tokens", "$ai_output_tokens", "$ai_total_cost_usd",
                         "$ai_is_error", "$ai_http_status", "$ai_model", "$ai_evaluation_result",
                         "$feature_flag", "$feature_flag_response", "$ai_time_to_first_token"])  # fmt: skip
_event = st.fixed_dictionaries(
    {
        "uuid": st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.text(max_size=8)),
        "event": st.sampled_from(["$ai_generation", "$ai_evaluation", "$feature_flag_called", "$pageview", ""]),
        "distinct_id": st.one_of(st.none(), st.text(max_size=8), st.integers()),
        "timestamp": st.one_of(st.sampled_from([T, "2026-03-01 10:00:00", "2026-03-01T12:00:00+05:30", "bad", ""]), st.integers(), st.none()),
        "properties": st.one_of(st.dictionaries(_keys, _values, max_size=6), st.text(max_size=10), st.none()),
    }
)  # fmt: skip
_line = st.one_of(_event.map(lambda e: json.dumps(e, allow_nan=True)), st.text(max_size=40))


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(_line, min_size=1, max_size=12), as_csv=st.booleans())
def test_fuzz_posthog_rows(tmp_path_factory, lines, as_csv):
    d = tmp_path_factory.mktemp("fuzz")
    if as_csv:
        rows = []
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                e = None
            if not isinstance(e, dict):
                e = {"uuid": line}
            rows.append({k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in e.items()})
        path = d / "f.csv"
        pd.DataFrame(
            rows, columns=["uuid", "event", "distinct_id", "timestamp", "properties"]
        ).to_csv(path, index=False)
    else:
        path = d / "f.jsonl"
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", errors="replace"))
    with Workspace() as ws:
        try:
            r = ws.load_posthog(path, progress=False)
        except PromptabError as err:
            assert path.name in str(err)
            return
        check_accounting(ws, r, "fuzz")
        assert ws.counts()["generations"] == r.loaded.get("generations", 0)


# -- SQL in data -------------------------------------------------------------------------------
EVIL = "'; DROP TABLE generations; --"
EVIL2 = 'x"); DELETE FROM exposures; --'


def test_sql_in_data_values_and_names_stays_data(tmp_path):
    """Values, property names, column names and attribute names that are SQL stay data."""
    evs = [
        E.expo("x1", EVIL, 0, EVIL2, flag=EVIL),
        E.gen("g1", EVIL2, 1, prompt=EVIL, version=EVIL2, **{EVIL: EVIL2}),
        E.gen(EVIL, "u2", 2),
    ]
    paths = E.write(evs, tmp_path)
    flat = tmp_path / "flat.csv"
    pd.DataFrame(
        {
            "*.uuid": ["f1"], "*.event": ["$ai_generation"], "*.distinct_id": [EVIL],
            "*.timestamp": [T], "*.properties.$ai_latency": ["1.5"], f"*.properties.{EVIL2}": [EVIL],
        }
    ).to_csv(flat, index=False)  # fmt: skip
    span = tmp_path / "span.csv"
    pd.DataFrame(
        {"id": ["s1"], "created_at": [T], "latency_ms": [100], "trace_id": [EVIL], EVIL2: [EVIL]}
    ).to_csv(span, index=False)
    otel = json.loads((DATA / "otel_traces.json").read_text())
    attrs = otel["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    attrs.append({"key": EVIL, "value": {"stringValue": EVIL2}})
    (tmp_path / "otel.json").write_text(json.dumps(otel))
    with Workspace() as ws:
        for p in paths.values():
            ws.load_posthog(p, keep_properties=True, progress=False)
        ws.load_posthog(flat, keep_properties=True, progress=False)
        ws.load_spanlens(span, arm_column=EVIL2, prompt_name=EVIL, progress=False)
        ws.load_otel(tmp_path / "otel.json", attribute_map={"variant": EVIL}, progress=False)
        frame = pd.DataFrame({EVIL: [T], EVIL2: [EVIL]})
        ws.load_frame(frame, kind="generations", columns={"ts": EVIL, "distinct_id": EVIL2})
        tables = set(ws.sql("SELECT table_name FROM information_schema.tables").table_name)
        assert {"generations", "exposures", "evaluations", "imports", "rejects"} <= tables
        assert ws.counts()["exposures"] == 1
        x = ws.sql("SELECT flag_key, variant, distinct_id FROM exposures").iloc[0]
        assert (x.flag_key, x.variant, x.distinct_id) == (EVIL, EVIL2, EVIL)
        g = ws.sql("SELECT * FROM generations WHERE uuid = 'g1'").iloc[0]
        assert (g.prompt_name, g.prompt_version, g.distinct_id) == (EVIL, EVIL2, EVIL2)
        assert json.loads(g.properties)[EVIL] == EVIL2
        assert ws.sql("SELECT count(*) n FROM generations WHERE uuid = ?", [EVIL]).n[0] == 1
        f = ws.sql("SELECT * FROM generations WHERE uuid = 'f1'").iloc[0]
        assert json.loads(f.properties)[EVIL2] == EVIL and f.distinct_id == EVIL
        s = ws.sql("SELECT * FROM generations WHERE uuid = 's1'").iloc[0]
        assert (s.variant, s.prompt_name, s.distinct_id) == (EVIL, EVIL, EVIL)
        o = ws.sql(
            "SELECT variant FROM generations WHERE variant = ? AND model LIKE 'gpt%'", [EVIL2]
        )
        assert len(o) == 1
        fr = ws.sql("SELECT distinct_id FROM generations WHERE distinct_id = ? AND uuid NOT IN "
                    "('s1', 'f1', 'g1')", [EVIL])  # fmt: skip
        assert len(fr) == 1
        assert ws.counts()["generations"] == 7


JSONL_CASES = [c for c in CASES if c.file.endswith(".jsonl") and c.loader == "posthog"]


@pytest.mark.parametrize("case", JSONL_CASES, ids=[c.name for c in JSONL_CASES])
def test_jsonl_fast_path_equals_general_reader(tmp_path, monkeypatch, case):
    """JSON lines of one object each take a fast path; it must load exactly what the general
    reader (arrays, API pages) loads, rejects and their reasons included."""
    from promptab_nb.loaders import _posthog_read

    path = tmp_path / case.file
    data = case.content() if callable(case.content) else case.content
    path.write_bytes(data)  # type: ignore[arg-type]

    def load() -> tuple:
        with Workspace() as ws:
            try:
                report = ws.load_posthog(path, progress=False)
            except PromptabError as err:
                return (type(err).__name__,)
            frames = [
                ws.sql(f"SELECT * EXCLUDE (import_id) FROM {t} ORDER BY ALL")
                for t in ("exposures", "generations", "evaluations")
            ]
            frames.append(ws.sql('SELECT source_row, "column", reason FROM rejects ORDER BY ALL'))
            return report.rows_read, report.loaded, report.reasons, frames

    fast = load()
    monkeypatch.setattr(_posthog_read, "one_object_per_line", lambda con, ctx: False)
    general = load()
    assert general[:3] == fast[:3]
    for a, b in zip(general[3:] and general[3], fast[3:] and fast[3], strict=True):
        pd.testing.assert_frame_equal(a, b)
