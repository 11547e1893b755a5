"""OTLP JSON GenAI spans with an attribute map."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from promptab_nb.errors import InvalidArgumentError, MissingColumnError

from .conftest import DATA, accounted

AMAP = {"cost_usd": "spanlens.cost_usd", "prompt_version": "app.prompt.version"}


def test_spans_to_generations(ws):
    r = ws.load_otel(DATA / "otel_traces.json", attribute_map=AMAP)
    accounted(r)
    assert r.loaded == {"generations": 2}
    assert set(r.reasons) == {
        "span is not an LLM call (no gen_ai.* attributes on the span)",
        "endTimeUnixNano - startTimeUnixNano is not a finite number >= 0",
    }
    g = ws.sql("SELECT * FROM generations ORDER BY ts")
    assert g.latency_s.tolist() == [1.25, 30.0]
    assert str(g.ts[0]) == "2026-03-01 09:00:00+00:00"
    assert g.cost_usd.tolist()[0] == pytest.approx(0.0002076) and g.cost_usd.isna().tolist()[1]
    assert g.prompt_version.tolist() == ["v3", "v4"]
    assert g.provider.tolist() == ["openai", "anthropic"]  # gen_ai.system (deprecated) too
    assert g.input_tokens.tolist() == [812, 790] and g.is_error.tolist() == [False, True]
    assert g.distinct_id.tolist() == ["user-17", "7c8efff798038103d269b633813fc60d"]


def test_jsonl_gz_and_reload(ws, tmp_path):
    text = (DATA / "otel_traces.json").read_text().replace("\n", " ")
    p = tmp_path / "traces.jsonl.gz"
    p.write_bytes(gzip.compress((text + "\n" + "{not json\n").encode()))
    r = ws.load_otel(p, attribute_map=AMAP)
    accounted(r)
    assert r.rows_loaded == 2 and r.reasons["line is not valid JSON"] == 1
    assert ws.load_otel(p, attribute_map=AMAP).rows_loaded == 0


def test_bad_map_and_not_otlp(ws, tmp_path):
    with pytest.raises(InvalidArgumentError, match="mappable"):
        ws.load_otel(DATA / "otel_traces.json", attribute_map={"latency": "x"})
    p = tmp_path / "x.json"
    p.write_text('{"hello": 1}')
    with pytest.raises(MissingColumnError, match="x.json has no spans"):
        ws.load_otel(p)


def _span(i: int, attrs: list[dict], **kw: object) -> dict:
    span = {
        "traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": "chat",
        "startTimeUnixNano": "1772438400000000000", "endTimeUnixNano": "1772438401000000000",
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt"}}, *attrs],
    }  # fmt: skip
    return {**span, **kw}


def _write(tmp_path, spans: list[dict], resource: list[dict] | None = None):
    doc = {"resourceSpans": [{"resource": {"attributes": resource or []},
                              "scopeSpans": [{"spans": spans}]}]}  # fmt: skip
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(doc))
    return p


def test_a_span_without_status_is_not_an_error(ws, tmp_path):
    # OTLP JSON omits zero values: status UNSET is no status or "status": {}.
    spans = [_span(0, [], status={"code": 2, "message": "boom"})]
    spans += [_span(i, []) for i in (1, 2, 3)] + [_span(i, [], status={}) for i in (4, 5, 6)]
    spans += [_span(7, [], status={"code": 1}), _span(8, [], status={"code": "STATUS_CODE_UNSET"})]
    spans += [_span(9, [{"key": "http.response.status_code", "value": {"intValue": "503"}}])]
    r = ws.load_otel(_write(tmp_path, spans))
    assert r.loaded == {"generations": 10}
    g = ws.sql("SELECT is_error FROM generations ORDER BY uuid")
    assert g.is_error.tolist() == [True] + [False] * 8 + [True]
    assert ws.sql("SELECT avg(is_error::INT) AS e FROM generations").e[0] == 0.2


def test_no_id_texts_are_missing_ids(ws, tmp_path):
    uid = lambda k, v: {"key": k, "value": {"stringValue": v}}  # noqa: E731
    spans = [
        _span(1, [uid("user.id", "null")]),  # falls back to the resource's user.id
        _span(2, [uid("user.id", " undefined "), uid("enduser.id", "end-2")]),  # resource's too
        _span(3, [], traceId="None"),  # no trace: rejected
        _span(4, [], spanId="null"),
    ]
    r = ws.load_otel(_write(tmp_path, spans, [uid("user.id", "res-user")]))
    accounted(r)
    assert r.reasons == {'traceId is missing (or "null"/"undefined")': 1}
    g = ws.sql("SELECT uuid, distinct_id FROM generations ORDER BY uuid")
    assert g.distinct_id.tolist() == ["res-user"] * 3
    assert "null" not in g.uuid[2]  # trace id - hash of the span, not "-null"
    r = ws.load_otel(_write(tmp_path, [_span(5, [uid("user.id", ""), uid("enduser.id", "e5")])]))
    assert (
        ws.sql("SELECT distinct_id FROM generations WHERE uuid LIKE '%5-%'").distinct_id[0] == "e5"
    )


def test_cache_token_attributes_are_counted_in_the_input(ws, tmp_path):
    tok = lambda k, v: {"key": k, "value": {"intValue": str(v)}}  # noqa: E731
    spans = [
        _span(1, [tok("gen_ai.usage.input_tokens", 1200),
                  tok("gen_ai.usage.cache_read.input_tokens", 1000),
                  tok("gen_ai.usage.cache_creation.input_tokens", 50)]),
        _span(2, [tok("gen_ai.usage.input_tokens", 300)]),
        _span(3, [tok("gen_ai.usage.cache_read.input_tokens", -4)]),
    ]  # fmt: skip
    r = ws.load_otel(_write(tmp_path, spans))
    accounted(r)
    assert r.reasons == {"gen_ai.usage.cache_read.input_tokens is not a whole number >= 0": 1}
    g = ws.sql(
        "SELECT input_tokens, cache_read_tokens, cache_write_tokens, cache_in_input "
        "FROM generations ORDER BY uuid"
    )
    assert g.iloc[0].tolist() == [1200, 1000, 50, True]
    assert g.iloc[1, 1:].isna().all()  # no cache attribute: nothing to decide


def test_a_resource_gen_ai_attribute_does_not_make_every_span_an_llm_call(ws, tmp_path):
    # An instrumented service may tag its resource gen_ai.*: its HTTP and DB spans stay non-LLM.
    kv = lambda k, v: {"key": k, "value": {"stringValue": v}}  # noqa: E731
    spans = [
        _span(1, []),  # gen_ai.request.model on the span: an LLM call
        _span(2, [], name="GET /search", attributes=[kv("http.request.method", "GET")]),
        _span(3, [], name="SELECT", attributes=[kv("db.system", "postgresql")]),
        _span(4, [], name="retrieve", attributes=[]),
    ]
    r = ws.load_otel(_write(tmp_path, spans, [kv("gen_ai.system", "openai")]))
    accounted(r)
    assert r.rows_read == 4 and r.loaded == {"generations": 1}
    assert r.reasons == {"span is not an LLM call (no gen_ai.* attributes on the span)": 3}
    g = ws.sql("SELECT uuid, provider FROM generations")
    assert g.uuid.tolist() == [f"{1:032x}-{1:016x}"]
    assert g.provider.tolist() == ["openai"]  # the resource still supplies what the span lacks


def test_a_kvlist_attribute_reads_as_json_text(ws, tmp_path):
    kvl = {"kvlistValue": {"values": [{"key": "name", "value": {"stringValue": "v3"}}]}}
    spans = [
        _span(1, [{"key": "app.prompt.version", "value": kvl}]),
        _span(2, [{"key": "app.prompt.version", "value": {"stringValue": "v4"}}]),
        _span(3, [{"key": "app.prompt.version", "value": {"bytesValue": "djU="}}]),
    ]
    r = ws.load_otel(
        _write(tmp_path, spans), attribute_map={"prompt_version": "app.prompt.version"}
    )
    accounted(r)
    assert r.loaded == {"generations": 3}
    v = ws.sql("SELECT prompt_version FROM generations ORDER BY uuid").prompt_version.tolist()
    assert json.loads(v[0]) == {"values": [{"key": "name", "value": {"stringValue": "v3"}}]}
    assert v[1:] == ["v4", "djU="]  # bytes as their base64 text, not NULL


def test_a_whole_double_prompt_version_is_the_integer_version(ws, tmp_path):
    # A version written as a double attribute (3.0, e.g. a Python float or a pandas column
    # with gaps) was stored as "3.0" beside "3" from intValue: one prompt version split in two
    # arms. The Langfuse and frame loaders already read 3.0 as "3".
    pv = lambda v: [{"key": "app.pv", "value": v}]  # noqa: E731
    spans = [
        _span(1, pv({"intValue": "3"})),
        _span(2, pv({"doubleValue": 3.0})),
        _span(3, pv({"stringValue": "3"})),
        _span(4, pv({"stringValue": "v2.0"})),
    ]
    r = ws.load_otel(_write(tmp_path, spans), attribute_map={"prompt_version": "app.pv"})
    accounted(r)
    g = ws.sql("SELECT prompt_version FROM generations ORDER BY uuid")
    assert g.prompt_version.tolist() == ["3", "3", "3", "v2.0"]


def test_a_truncated_export_says_it_is_not_json(ws, tmp_path):
    # A one-line export cut short (a download interrupted) was "has no spans: no document
    # holds resourceSpans[]...", sending the user to look for another export format.
    from promptab_nb.errors import DataError

    text = json.dumps(json.loads((DATA / "otel_traces.json").read_text()))
    p = tmp_path / "cut.json"
    p.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r"cut\.json: its line is not valid JSON.*truncated"):
        ws.load_otel(p)
    assert ws.counts()["generations"] == 0


@pytest.mark.parametrize(
    "doc",
    [
        {"resourceSpans": []},
        {"resourceSpans": [{"resource": {"attributes": []}}]},
        {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": []}]}]},
    ],
)
def test_an_export_without_a_span_says_so(ws, tmp_path, doc):
    # resourceSpans lists without a span loaded as "0 rows read", without a word, where an
    # empty file is an error; the load leaves the workspace as it was.
    from promptab_nb.errors import DataError

    p = tmp_path / "idle.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"idle\.json: holds no spans"):
        ws.load_otel(p)
    assert ws.counts()["generations"] == 0
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def test_an_unreadable_start_time_is_not_a_missing_one(ws, tmp_path):
    # A negative or overlong startTimeUnixNano was rejected as "startTimeUnixNano is missing".
    spans = [
        _span(1, [], startTimeUnixNano="-5"),
        _span(2, [], startTimeUnixNano="9" * 50),
        _span(3, [], startTimeUnixNano="soon"),
        _span(4, [], startTimeUnixNano=None),
    ]
    r = ws.load_otel(_write(tmp_path, spans))
    accounted(r)
    reasons = ws.sql("SELECT reason FROM rejects ORDER BY source_row").reason.tolist()
    bad = "startTimeUnixNano is not a date-time between 2000-01-01 and 2200-01-01"
    assert reasons == [bad, bad, bad, "startTimeUnixNano is missing"]


def test_a_whole_double_variant_is_the_integer_arm(ws, tmp_path):
    # An arm attribute written as a double (1.0) was stored as "1.0" beside "1" from intValue.
    arm = lambda v: [{"key": "app.arm", "value": v}]  # noqa: E731
    spans = [_span(1, arm({"intValue": "1"})), _span(2, arm({"doubleValue": 1.0})),
             _span(3, arm({"stringValue": "b"}))]  # fmt: skip
    accounted(ws.load_otel(_write(tmp_path, spans), attribute_map={"variant": "app.arm"}))
    g = ws.sql("SELECT variant FROM generations ORDER BY uuid")
    assert g.variant.tolist() == ["1", "1", "b"]


def test_the_older_instrumentation_library_spans_shape_loads(ws, tmp_path):
    # OTLP JSON before 0.15 (older collectors and SDK file exporters) named scopeSpans
    # instrumentationLibrarySpans: such a file was "has no spans".
    doc = {"resourceSpans": [{"resource": {"attributes": []},
                              "instrumentationLibrarySpans": [{"spans": [_span(1, [])]}]}]}  # fmt: skip
    p = tmp_path / "old.json"
    p.write_text(json.dumps(doc))
    r = ws.load_otel(p)
    accounted(r)
    assert r.loaded == {"generations": 1}


def _kv(key: str, value: object) -> dict:
    kind = "doubleValue" if isinstance(value, float) else "stringValue"
    return {"key": key, "value": {kind: value}}


def test_evaluation_spans_and_events_are_evaluations_not_llm_calls(ws, tmp_path):
    # A span carrying only gen_ai.evaluation.* (an evaluator's result, e.g. the zero-length span
    # some instrumentations emit for the gen_ai.evaluation.result event) was loaded as an LLM
    # call: one more request with no tokens, its latency ~0. It targets its parent span; a
    # gen_ai.evaluation.result span event targets the span it is on.
    user = _kv("user.id", "u1")
    chat = _span(1, [user], events=[
        {"timeUnixNano": "1772438402000000000", "name": "gen_ai.evaluation.result",
         "attributes": [_kv("gen_ai.evaluation.name", "relevance"),
                        _kv("gen_ai.evaluation.score.value", 0.9),
                        _kv("gen_ai.evaluation.score.label", "pass")]},
        {"timeUnixNano": "1772438402000000000", "name": "gen_ai.content.prompt",
         "attributes": []},  # another event: not a row
    ])  # fmt: skip
    trace = f"{1:032x}"
    ev = {"traceId": trace, "name": "gen_ai.evaluation.result", "attributes": [
        _kv("gen_ai.evaluation.name", "faithfulness"), _kv("gen_ai.evaluation.score.value", 0.2),
        _kv("gen_ai.evaluation.score.label", "FAIL"), user]}  # fmt: skip
    spans = [
        chat,
        _span(1, [], spanId="e1", parentSpanId=f"{1:016x}", **{k: v for k, v in ev.items()}),
        _span(1, [], spanId="e2", parentSpanId=f"{1:016x}", attributes=[
            _kv("gen_ai.evaluation.name", "tone"), _kv("gen_ai.evaluation.score.label", "warm")]),
        _span(1, [], spanId="e3", attributes=ev["attributes"]),  # no parent: no target
        _span(1, [], spanId="e4", parentSpanId=f"{1:016x}",
              attributes=[_kv("gen_ai.evaluation.name", "empty")]),
    ]  # fmt: skip
    r = ws.load_otel(_write(tmp_path, spans))
    accounted(r)
    assert r.rows_read == 6 and r.loaded == {"generations": 1, "evaluations": 3}
    assert r.reasons == {
        "evaluation span has no parentSpanId (the span it evaluates)": 1,
        "gen_ai.evaluation.score.value and gen_ai.evaluation.score.label are missing": 1,
    }
    target = f"{trace}-{1:016x}"
    assert ws.sql("SELECT uuid FROM generations").uuid.tolist() == [target]
    e = ws.sql("SELECT * FROM evaluations ORDER BY name")
    assert e.name.tolist() == ["faithfulness", "relevance", "tone"]
    assert e.target_uuid.tolist() == [target] * 3
    assert e.score.tolist()[:2] == [0.2, 0.9] and math.isnan(e.score[2])
    assert e.passed.tolist()[:2] == [False, True] and e.passed.isna().tolist()[2]
    # (no user.id on the "tone" span: its trace; the analysis takes its target's user)
    assert e.distinct_id.tolist() == ["u1", "u1", trace]
    assert str(e.ts[1]) == "2026-03-02 08:00:02+00:00"  # the event's own time
    assert ws.load_otel(_write(tmp_path, spans)).rows_loaded == 0  # reload: nothing new


def test_the_console_span_exporters_output_is_named_with_the_fix(ws, tmp_path):
    # The SDK's ConsoleSpanExporter prints one indented JSON object per span (no resourceSpans):
    # it read as "invalid JSON ... may be truncated" or "has no spans".
    from promptab_nb.errors import DataError

    span = {"name": "chat", "context": {"trace_id": "0x5b8a", "span_id": "0x0515",
            "trace_state": "[]"}, "kind": "SpanKind.CLIENT", "parent_id": None,
            "start_time": "2026-03-01T09:00:00.000000Z", "end_time": "2026-03-01T09:00:01Z",
            "status": {"status_code": "UNSET"}, "attributes": {"gen_ai.system": "openai"},
            "events": [], "links": [], "resource": {"attributes": {}, "schema_url": ""}}  # fmt: skip
    printed = tmp_path / "console.json"
    printed.write_text("\n".join(json.dumps(span, indent=4) for _ in range(2)) + "\n")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(span, indent=4))
    lines = tmp_path / "spans.jsonl"
    lines.write_text(json.dumps(span) + "\n" + json.dumps(span) + "\n")
    for p in (printed, one, lines):
        with pytest.raises(DataError, match=rf"{p.name}.*ConsoleSpanExporter.*OTLP JSON"):
            ws.load_otel(p)
    assert ws.counts()["generations"] == 0


def test_an_evaluation_event_without_its_time_takes_the_spans_start(ws, tmp_path):
    # An event without timeUnixNano was rejected as "startTimeUnixNano is missing" (a span's
    # key), and one without attributes for its time rather than for its missing name.
    name = _kv("gen_ai.evaluation.name", "ok")
    events = [
        {"name": "gen_ai.evaluation.result", "attributes": [name, _kv("gen_ai.evaluation.score.label", "pass")]},
        {"name": "gen_ai.evaluation.result"},
    ]  # fmt: skip
    r = ws.load_otel(_write(tmp_path, [_span(1, [], events=events)]))
    accounted(r)
    assert r.loaded == {"generations": 1, "evaluations": 1}
    assert r.reasons == {"gen_ai.evaluation.name is missing": 1}
    e = ws.sql("SELECT ts, passed FROM evaluations")
    assert str(e.ts[0]) == "2026-03-02 08:00:00+00:00" and e.passed[0]


def test_evaluation_log_records_are_evaluations_of_their_span(ws, tmp_path):
    # The conventions emit gen_ai.evaluation.result as a log event (the Logs API), its
    # traceId / spanId those of the evaluated span: an OTLP logs export (resourceLogs) was
    # "has no spans", and in a file beside the spans each of its lines was a reject.
    trace, span_id = f"{1:032x}", f"{1:016x}"
    rec = {"timeUnixNano": "1772438403000000000", "traceId": trace, "spanId": span_id,
           "eventName": "gen_ai.evaluation.result",
           "attributes": [_kv("gen_ai.evaluation.name", "helpful"),
                          _kv("gen_ai.evaluation.score.label", "pass")]}  # fmt: skip
    older = {**rec, "eventName": None, "timeUnixNano": "0", "observedTimeUnixNano": "1772438404000000000",
             "attributes": [_kv("event.name", "gen_ai.evaluation.result"),
                            _kv("gen_ai.evaluation.name", "tone"),
                            _kv("gen_ai.evaluation.score.value", 0.25)]}  # fmt: skip
    app_log = {"timeUnixNano": "1772438403000000000", "body": {"stringValue": "GET /"}}
    no_span = {**rec, "spanId": None}
    logs = {"resourceLogs": [{"resource": {"attributes": [_kv("user.id", "u9")]},
                              "scopeLogs": [{"logRecords": [rec, older, app_log, no_span]}]}]}  # fmt: skip
    spans = {"resourceSpans": [{"scopeSpans": [{"spans": [_span(1, [])]}]}]}
    p = tmp_path / "otel.jsonl"
    p.write_text(json.dumps(spans) + "\n" + json.dumps(logs) + "\n")
    r = ws.load_otel(p)
    accounted(r)
    assert r.rows_read == 5 and r.loaded == {"generations": 1, "evaluations": 2}
    assert r.reasons == {
        "log record is not a gen_ai.evaluation.result event": 1,
        "evaluation log record has no spanId (the span it evaluates)": 1,
    }
    e = ws.sql("SELECT * FROM evaluations ORDER BY name")
    assert e.target_uuid.tolist() == [f"{trace}-{span_id}"] * 2
    assert e.passed.tolist()[0] is True and e.score.tolist()[1] == 0.25
    assert [str(t) for t in e.ts] == ["2026-03-02 08:00:03+00:00", "2026-03-02 08:00:04+00:00"]
    assert e.distinct_id.tolist() == ["u9", "u9"]  # the resource's user.id
    only_logs = tmp_path / "logs.json"
    only_logs.write_text(json.dumps(logs))
    accounted(r := ws.load_otel(only_logs))
    assert r.rows_read == 4 and r.rows_duplicate == 2
    assert ws.load_otel(p).rows_loaded == 0


def test_span_ids_of_the_wrong_json_type_and_an_end_past_any_time_reject_the_span(ws, tmp_path):
    # A traceId ["a"] loaded as the trace (and unit) '["a"]', true as "true", and an end time
    # past year 9999 as a latency of ~1e20 s (only the start was checked), without a word.
    bad = [
        (_span(1, [], traceId=["a"]), "traceId is a JSON object or list, not an id"),
        (_span(2, [], traceId=True), "traceId is true/false, not an id"),
        (_span(3, [], spanId={"id": "s"}), "spanId is a JSON object or list, not an id"),
        (_span(4, [], endTimeUnixNano="9" * 29),
         "endTimeUnixNano is not a date-time between 2000-01-01 and 2200-01-01"),
        (_span(5, [], endTimeUnixNano="later"),
         "endTimeUnixNano is not a date-time between 2000-01-01 and 2200-01-01"),
    ]  # fmt: skip
    r = ws.load_otel(_write(tmp_path, [s for s, _ in bad] + [_span(6, [], traceId=123)]))
    accounted(r)
    got = ws.sql("SELECT source_row, reason FROM rejects ORDER BY 1").values.tolist()
    assert got == [[i + 1, why] for i, (_, why) in enumerate(bad)]
    g = ws.sql("SELECT trace_id, latency_s FROM generations")
    assert g.values.tolist() == [["123", 1.0]]  # a number is an id


def test_id_attributes_that_are_lists_maps_or_booleans_reject_the_span(ws, tmp_path):
    # An arrayValue / kvlistValue reads as its OTLP JSON text (a prompt version too, see above):
    # a user.id list loaded as the user '{"values":[...]}', user.id true as the user "true".
    lst = {"arrayValue": {"values": [{"stringValue": "u1"}]}}
    kvl = {"kvlistValue": {"values": [{"key": "v", "value": {"stringValue": "3"}}]}}
    at = lambda k, v: [{"key": k, "value": v}]  # noqa: E731
    bad = [
        (at("user.id", lst), "user.id is an OTLP list or map (arrayValue, kvlistValue), not an id"),
        (at("enduser.id", {"boolValue": True}), "user.id is true/false, not an id"),
        (at("app.person", kvl), "attribute_map['person_id'] is an OTLP list or map "
                                "(arrayValue, kvlistValue), not an id"),
    ]  # fmt: skip
    good = [
        at("user.id", {"intValue": "42"}),
        at("app.arm", {"boolValue": True}),  # a true/false arm is one of two arms
    ]
    spans = [_span(i + 1, attrs) for i, (attrs, _) in enumerate(bad)]
    spans += [_span(10 + i, attrs) for i, attrs in enumerate(good)]
    amap = {"person_id": "app.person", "variant": "app.arm"}
    r = ws.load_otel(_write(tmp_path, spans), attribute_map=amap)
    accounted(r)
    got = ws.sql("SELECT source_row, reason FROM rejects ORDER BY 1").values.tolist()
    assert got == [[i + 1, why] for i, (_, why) in enumerate(bad)]
    g = ws.sql("SELECT distinct_id, variant FROM generations ORDER BY trace_id")
    assert g.fillna("-").values.tolist() == [["42", "-"], [f"{11:032x}", "true"]]
    # the span's own user.id wins over the resource's list, which only fills in
    (tmp_path / "res").mkdir()
    own = [_span(20, at("user.id", {"stringValue": "u7"})), _span(21, [])]
    r = ws.load_otel(_write(tmp_path / "res", own, resource=at("user.id", lst)))
    assert r.loaded == {"generations": 1} and r.reasons == {
        "user.id is an OTLP list or map (arrayValue, kvlistValue), not an id": 1
    }
    assert "u7" in set(ws.sql("SELECT distinct_id FROM generations").distinct_id)


def _thousand_span_lines(tmp_path, lines: int, resource: list) -> Path:
    """OTLP JSON lines of 1,000 spans each (one resource with attributes ``resource``), spans
    numbered on across lines, their users u0..u49."""
    docs = [{"resourceSpans": [{"resource": {"attributes": resource}, "scopeSpans": [{"spans": [
        _span(i, [_kv("user.id", f"u{i % 50}")]) for i in range(j, j + 1_000)]}]}]}
        for j in range(0, 1_000 * lines, 1_000)]  # fmt: skip
    p = tmp_path / "spans.jsonl"
    p.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    return p


def test_many_spans_per_resource_load_in_a_small_memory_limit(tmp_path):
    # Each span row carried its whole resource (scopeSpans and all) through the unrolling: two
    # JSON lines of 1,000 spans each (1.3 MB) ran out of 512 MiB.
    from promptab_nb.workspace import Workspace

    p = _thousand_span_lines(tmp_path, 2, [_kv("service.name", "api")])
    ws = Workspace(memory_limit="512MiB", threads=2)
    try:
        r = ws.load_otel(p)
        accounted(r)
        assert r.loaded == {"generations": 2_000}
        assert ws.sql("SELECT count(DISTINCT distinct_id) AS n FROM generations").n[0] == 50
    finally:
        ws.close()


def test_a_long_export_of_json_lines_loads_in_a_small_memory_limit(tmp_path):
    # DuckDB parses a vector of documents at once: 30 lines of 1,000 spans (9 MB) in one
    # statement ran out of 512 MiB. The lines are unrolled in batches of a few MB.
    from promptab_nb.workspace import Workspace

    p = _thousand_span_lines(tmp_path, 30, [])
    ws = Workspace(memory_limit="512MiB", threads=2)
    try:
        r = ws.load_otel(p)
        accounted(r)
        assert r.loaded == {"generations": 30_000}
    finally:
        ws.close()


def test_batches_of_documents_load_as_one(tmp_path, monkeypatch):
    # One document per batch: the spans, log records and rejects are numbered as in one batch.
    from promptab_nb.loaders import otel
    from promptab_nb.workspace import Workspace

    ev = [_kv("gen_ai.evaluation.name", "q"), _kv("gen_ai.evaluation.score.label", "pass")]
    log = {"traceId": f"{1:032x}", "spanId": f"{1:016x}", "timeUnixNano": "1772438402000000000",
           "eventName": "gen_ai.evaluation.result", "attributes": ev}  # fmt: skip
    lines = [
        {"resourceSpans": [{"scopeSpans": [{"spans": [_span(1, []), _span(2, [], traceId=[2])]}]}]},
        "{not json",
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [log, {"traceId": "t"}]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [_span(3, [], endTimeUnixNano="x"), 7]}]}]},
    ]
    p = tmp_path / "mixed.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")

    def load():
        ws = Workspace()
        try:
            r = ws.load_otel(p)
            accounted(r)
            tables = [ws.sql(f"SELECT * EXCLUDE (import_id) FROM {t} ORDER BY ALL").to_csv()
                      for t in ("generations", "evaluations", "rejects")]  # fmt: skip
            return r.rows_read, tables
        finally:
            ws.close()

    whole = load()
    monkeypatch.setattr(otel, "_BATCH_BYTES", 1)
    assert load() == whole
    # 4 spans, the line that is not JSON and 2 log records; one generation, one evaluation
    assert whole[0] == 7 and [t.count("\n") - 1 for t in whole[1]] == [1, 1, 5]


def test_an_export_on_one_overlong_line_is_an_error_saying_so(ws, tmp_path, monkeypatch):
    # A compact .json longer than the longest line read (8 MiB; 1 MiB here) "holds no spans
    # (its resourceSpans[].scopeSpans[].spans[] lists are empty or missing)".
    from promptab_nb.errors import DataError
    from promptab_nb.loaders import _read

    monkeypatch.setattr(_read, "MAX_LINE", 2**20)
    p = _write(tmp_path, [_span(i, [_kv("x.pad", "x" * 300)]) for i in range(2_000)])
    with pytest.raises(DataError, match=r"spans\.json: line 1 .*longer than 1 MiB.*json\.tool"):
        ws.load_otel(p)
    assert ws.counts()["generations"] == 0
