"""promptfoo results into the offline tables."""

from __future__ import annotations

import numpy as np

from .conftest import DATA, accounted


def test_v3_results(ws):
    r = ws.load_promptfoo(DATA / "promptfoo_v3.json")
    accounted(r)
    assert r.loaded == {"offline_results": 4}
    # pass and brevity of the two results with an output (the failed call has no scores)
    assert r.files[0].also == {"offline_scores": 4, "offline_runs": 1}
    assert r.reasons == {"latencyMs is not a finite number >= 0": 1}
    res = ws.sql("SELECT * FROM offline_results ORDER BY version, item_id, repeat_idx")
    v3 = res[res.version == "support-v3 @ openai:gpt-4o-mini"]
    assert v3.repeat_idx.tolist() == [0, 1]  # same (prompt, test) twice → repeats 0 and 1
    assert v3.cached.tolist() == [False, True]
    assert v3.latency_s.iloc[0] == 0.812 and np.isnan(v3.latency_s.iloc[1])  # cache hit
    assert v3.input_tokens.tolist() == [48, 48] and v3.attempts.tolist() == [1, 0]
    err = res[res.item_id == "1"].iloc[0]
    assert err.error.startswith("API error") and err.latency_s == 30.012
    run = ws.sql("SELECT * FROM offline_runs").iloc[0]
    assert run.run_id == "promptfoo-eval-2026-03-05T10:00:00" and run.seconds == 33.0
    assert (run.model_calls, run.cache_hits, run.repeats) == (3, 1, 2)
    s = ws.sql("SELECT scorer, value FROM offline_scores WHERE scorer = 'brevity'")
    assert s.value.tolist() == [0.9]
    again = ws.load_promptfoo(DATA / "promptfoo_v3.json")
    accounted(again)
    assert again.rows_loaded == 0 and ws.counts()["offline_results"] == 4


def test_v2_table_and_minimal_shapes(ws):
    r = ws.load_promptfoo([DATA / "promptfoo_v2.json", DATA / "promptfoo_minimal.json"])
    accounted(r)
    assert r.loaded == {"offline_results": 6}
    v2 = ws.sql(
        "SELECT * FROM offline_results WHERE version LIKE 'translate%' ORDER BY version, item_id"
    )
    assert v2.version.tolist()[0] == "translate-a @ openai:gpt-3.5-turbo"
    assert v2.output.tolist() == ["Bonjour", "Au revoir?", "Bonjour", "Au revoir"]
    assert v2.latency_s.tolist() == [0.45, 0.61, 0.52, 0.48]
    passed = ws.sql(
        "SELECT passed FROM offline_scores WHERE version LIKE 'translate-a%' AND scorer = 'pass' "
        "ORDER BY item_id"
    )
    assert passed.passed.tolist() == [True, False]
    m = ws.sql(
        "SELECT * FROM offline_results WHERE version LIKE 'sum-v1%' ORDER BY item_id, repeat_idx"
    )
    assert m.latency_s.tolist() == [1.2, 0.9]
