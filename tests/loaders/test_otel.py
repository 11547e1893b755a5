"""OTLP JSON GenAI spans with an attribute map."""

from __future__ import annotations

import gzip

import pytest

from promptab_nb.errors import InvalidArgumentError, MissingColumnError

from .conftest import DATA, accounted

AMAP = {"cost_usd": "spanlens.cost_usd", "prompt_version": "app.prompt.version"}


def test_spans_to_generations(ws):
    r = ws.load_otel(DATA / "otel_traces.json", attribute_map=AMAP)
    accounted(r)
    assert r.loaded == {"generations": 2}
    assert set(r.reasons) == {
        "span is not an LLM call (no gen_ai.* attributes)",
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
