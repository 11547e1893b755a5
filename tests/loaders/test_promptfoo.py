"""promptfoo results into the offline tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from promptab_nb.errors import DataError

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


def _result(test: int, prompt: str = "v1", output: str = "ok") -> dict:
    return {
        "promptIdx": 0 if prompt == "v1" else 1,
        "testIdx": test,
        "prompt": {"raw": "p", "label": prompt},
        "provider": {"id": "openai:gpt"},
        "response": {"output": output, "cached": False},
        "success": True,
        "score": 1.0,
        "latencyMs": 100,
        "namedScores": {"rel": 0.5},
    }


def _eval_file(path, results: list[dict]):
    doc = {"evalId": "eval-1", "results": {"version": 3, "results": results}}
    path.write_text(json.dumps(doc))
    return path


def test_a_fuller_export_of_a_loaded_eval_adds_its_new_results(ws, tmp_path):
    full = [_result(t, p) for t in range(5) for p in ("v1", "v2")]
    ws.load_promptfoo(_eval_file(tmp_path / "part.json", full[:4]))
    r = ws.load_promptfoo(_eval_file(tmp_path / "full.json", full))
    accounted(r)
    f = r.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_duplicate) == (10, 6, 4)
    assert ws.counts()["offline_results"] == 10
    assert ws.sql("SELECT count(*) AS n FROM offline_scores").n[0] == 20  # pass, rel
    run = ws.sql("SELECT * FROM offline_runs").iloc[0]  # describes all the run's results
    assert (run.model_calls, json.loads(run.params)["n_items"]) == (10, 5)
    assert json.loads(run.params)["sha256"] == f.sha256
    again = ws.load_promptfoo(tmp_path / "full.json")
    accounted(again)
    assert again.rows_loaded == 0 and again.files[0].rows_duplicate == 10
    # a result already stored keeps its first content; a changed copy is a duplicate
    changed = [_result(0, "v1", output="changed"), _result(5, "v1")]
    r = ws.load_promptfoo(_eval_file(tmp_path / "changed.json", changed))
    accounted(r)
    assert (r.rows_loaded, r.files[0].rows_duplicate) == (1, 1)
    out = ws.sql("SELECT output FROM offline_results WHERE item_id = '0' AND version LIKE 'v1%'")
    assert out.output.tolist() == ["ok"]
    assert ws.counts()["offline_results"] == 11


def test_a_pretty_printed_file_with_an_unreadable_line_loads_nothing(ws, tmp_path):
    text = json.dumps(
        {"evalId": "eval-1", "results": {"results": [_result(0, output="XXX"), _result(1)]}},
        indent=2,
    ).encode()
    line = next(i for i, x in enumerate(text.splitlines(), 1) if b"XXX" in x)
    f = tmp_path / "latin.json"
    f.write_bytes(text.replace(b"XXX", b"caf\xe9"))
    with pytest.raises(DataError, match=rf"latin\.json: line {line} is not UTF-8 text"):
        ws.load_promptfoo(f)
    assert ws.counts()["offline_results"] == 0
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def _labelled(test: int, idx: int, label: str, success: bool = True) -> dict:
    r = _result(test, output="ok" if success else "no")
    r.update(promptIdx=idx, prompt={"raw": f"raw {idx}", "label": label}, success=success)
    return r


def test_versions_keep_the_files_order_so_prompt_0_is_the_baseline(ws, tmp_path):
    # The versions were sorted by name: "alpha" (promptIdx 1) became the baseline of a file
    # whose first prompt is "zeta", against from_promptfoo's documented baseline.
    import promptab_nb as pab

    rows = [_labelled(t, i, lab) for t in range(4) for i, lab in enumerate(("zeta", "alpha", "mu"))]
    run = pab.offline.from_promptfoo(ws, _eval_file(tmp_path / "order.json", rows))
    assert run.labels == ("zeta @ openai:gpt", "alpha @ openai:gpt", "mu @ openai:gpt")
    assert run.compare().baseline == "zeta @ openai:gpt"
    # A fuller export keeps the stored order and adds its new versions after it.
    more = rows + [_labelled(t, 3, "beta") for t in range(4)]
    ws.load_promptfoo(_eval_file(tmp_path / "more.json", more))
    assert ws.offline_run(run.run_id).labels[:3] == run.labels
    assert ws.offline_run(run.run_id).labels[3] == "beta @ openai:gpt"


def test_prompts_sharing_a_label_stay_two_versions(ws, tmp_path):
    # Two prompts (promptIdx 0 and 1) labelled alike were one version, their results read as
    # repeats 0 and 1 of it: a comparison of one version with itself.
    import promptab_nb as pab

    rows = [_labelled(t, i, "same", success=i == 0 or t % 2 == 0) for t in range(6) for i in (0, 1)]
    r = ws.load_promptfoo(_eval_file(tmp_path / "same.json", rows))
    accounted(r)
    run = pab.offline.from_promptfoo(ws, tmp_path / "same.json")
    assert run.labels == ("same [promptIdx 0] @ openai:gpt", "same [promptIdx 1] @ openai:gpt")
    assert run.repeats == 1
    row = run.compare().row("pass")
    assert (row.n_pairs, row.regressed) == (6, 3)


def test_a_failed_assertion_is_a_fail_not_an_error(ws, tmp_path):
    # promptfoo writes the assertion's reason into `error` when an assertion fails
    # (failureReason 1, as older versions did with no failureReason at all). The loader read
    # every `error` as a failed call: the failing results got an error and no 'pass' score, so
    # the pass rate counted only the passes (100 %) and the fails looked like API errors.
    passed = _result(0)
    failed = {**_result(1, output="bad"), "success": False, "score": 0.0, "failureReason": 1,
              "error": "Expected output to contain 'ok'"}  # fmt: skip
    legacy = {**_result(2, output="bad"), "success": False, "score": 0.0,
              "error": "Expected output to contain 'ok'"}  # fmt: skip
    api = {**_result(3), "response": {"error": "API error: 500"}, "success": False,
           "score": 0.0, "failureReason": 2, "error": "API error: 500"}  # fmt: skip
    legacy_api = {**_result(4), "response": {"error": "timeout"}, "success": False,
                  "score": 0.0}  # fmt: skip
    no_output = {**_result(5), "response": {}, "success": False, "score": 0.0,
                 "error": "No output"}  # fmt: skip
    rows = [passed, failed, legacy, api, legacy_api, no_output]
    r = ws.load_promptfoo(_eval_file(tmp_path / "fails.json", rows))
    accounted(r)
    res = ws.sql("SELECT item_id, error FROM offline_results ORDER BY item_id")
    assert res.error.isna().tolist() == [True, True, True, False, False, False]
    assert res.error.tolist()[3:] == ["API error: 500", "timeout", "No output"]
    s = ws.sql("SELECT item_id, passed FROM offline_scores WHERE scorer = 'pass' ORDER BY 1")
    assert s.item_id.tolist() == ["0", "1", "2"]
    assert s.passed.tolist() == [True, False, False]


def test_providers_sharing_an_id_stay_two_versions(ws, tmp_path):
    # Two providers with one id and two labels (the same model at two temperatures) were one
    # version, their results read as repeats 0 and 1 of it: the comparison the eval was run for
    # was gone, and the "A/A noise" between repeats was the difference between the providers.
    import promptab_nb as pab

    def row(t: int, label: str | None, ok: bool) -> dict:
        r = {**_result(t), "success": ok, "score": float(ok)}
        r["provider"] = {"id": "openai:gpt", **({"label": label} if label else {})}
        return r

    rows = [row(t, lab, lab == "cold" or t % 2 == 0) for t in range(6) for lab in ("cold", "hot")]
    r = ws.load_promptfoo(_eval_file(tmp_path / "providers.json", rows))
    accounted(r)
    run = pab.offline.from_promptfoo(ws, tmp_path / "providers.json")
    assert run.labels == ("v1 @ openai:gpt [cold]", "v1 @ openai:gpt [hot]")
    assert run.repeats == 1
    row_ = run.compare().row("pass")
    assert (row_.n_pairs, row_.regressed) == (6, 3)
    # one label beside none: two providers too; a single labelled provider keeps its plain name
    rows = [row(t, lab, True) for t in range(2) for lab in ("cold", None)]
    rows += [{**row(t, "x", True), "promptIdx": 1, "prompt": {"raw": "q", "label": "v2"}}
             for t in range(2)]  # fmt: skip
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"evalId": "eval-2", "results": {"version": 3, "results": rows}}))
    ws.load_promptfoo(mixed)
    v = ws.sql("SELECT DISTINCT version FROM offline_results WHERE run_id = 'promptfoo-eval-2'")
    assert sorted(v.version) == ["v1 @ openai:gpt", "v1 @ openai:gpt [cold]", "v2 @ openai:gpt"]


def test_repeats_of_a_test_case_are_repeats_not_new_items(ws, tmp_path):
    # `promptfoo eval --repeat N` runs each test case N times under N testIdx (testIdx counts
    # every (repeat, test case)), with the same testCase. Each repeat was read as an item of
    # its own: 3 test cases run twice were 6 items with 1 repeat, so the paired comparison
    # counted each case twice (p-values too small) and the A/A noise between repeats was gone.
    import promptab_nb as pab

    def row(t: int, idx: int, ok: bool) -> dict:
        case = t % 3
        r = _labelled(t, idx, f"v{idx + 1}", success=ok)
        r["vars"] = {"q": f"question {case}"}
        r["testCase"] = {"vars": r["vars"], "assert": [{"type": "contains", "value": "ok"}]}
        return r

    # repeat 0 is testIdx 0-2, repeat 1 is testIdx 3-5 (in the file, in completion order)
    rows = [row(t, i, i == 0 or t in (0, 3)) for t in (5, 0, 3, 1, 4, 2) for i in (0, 1)]
    r = ws.load_promptfoo(_eval_file(tmp_path / "repeat.json", rows))
    accounted(r)
    res = ws.sql(
        "SELECT item_id, repeat_idx, count(*) AS n FROM offline_results GROUP BY ALL ORDER BY ALL"
    )
    assert res.values.tolist() == [[i, k, 2] for i in ("0", "1", "2") for k in (0, 1)]
    run = pab.offline.from_promptfoo(ws, tmp_path / "repeat.json")
    assert run.repeats == 2
    assert run.compare().row("pass").n_pairs == 3
    # test cases that differ (here in their asserts) stay items, with the same vars
    other = [row(t, 0, True) for t in range(2)]
    other[1]["testCase"] = {**other[1]["testCase"], "assert": [{"type": "icontains", "value": "x"}]}
    other[1]["vars"] = other[1]["testCase"]["vars"] = other[0]["vars"]
    (tmp_path / "other.json").write_text(
        json.dumps({"evalId": "eval-2", "results": {"version": 3, "results": other}})
    )
    ws.load_promptfoo(tmp_path / "other.json")
    items = ws.sql(
        "SELECT item_id, repeat_idx FROM offline_results WHERE run_id = 'promptfoo-eval-2' "
        "ORDER BY 1"
    )
    assert items.values.tolist() == [["0", 0], ["1", 0]]


def test_named_scores_that_are_not_numbers_are_scorer_errors_not_silent_gaps(ws, tmp_path):
    # namedScores values are numbers; a boolean (an assertion's pass) loaded as a NULL value
    # with no error, read as "not applicable", as was a text: both silently left the comparison.
    results = [
        {**_result(0), "namedScores": {"ok": True, "tone": "warm", "len": "12", "gone": None}},
        {**_result(1), "namedScores": {"ok": False}},
    ]
    accounted(ws.load_promptfoo(_eval_file(tmp_path / "r.json", results)))
    s = ws.sql(
        "SELECT item_id, scorer, value, passed, error FROM offline_scores "
        "WHERE scorer <> 'pass' ORDER BY item_id, scorer"
    )
    s = s.astype(object).where(s.notna(), None)
    assert s.values.tolist() == [
        ["0", "gone", None, None, None],  # null: no score (not applicable)
        ["0", "len", 12.0, None, None],
        ["0", "ok", 1.0, True, None],
        ["0", "tone", None, None, 'namedScores value is not a number: "warm"'],
        ["1", "ok", 0.0, False, None],
    ]


def test_repeats_in_a_version_2_table_are_repeats_not_new_items(ws, tmp_path):
    # The v2 table has a body row per repeat (same `test`, its own row): every repeat was an
    # item of its own, so a paired comparison counted 3 repeats of 2 tests as 6 items.
    head = {"prompts": [{"raw": "a", "label": "A", "provider": "p"},
                        {"raw": "b", "label": "B", "provider": "p"}], "vars": ["x"]}  # fmt: skip
    out = {"pass": True, "score": 1, "text": "ok", "latencyMs": 100}
    body = [
        {"outputs": [out, out], "vars": [str(t)], "test": {"vars": {"x": str(t)}}}
        for t in (0, 1) for _ in range(3)
    ]  # fmt: skip
    doc = {"results": {"version": 2, "table": {"head": head, "body": body}}}
    p = tmp_path / "v2.json"
    p.write_text(json.dumps(doc))
    accounted(ws.load_promptfoo(p))
    r = ws.sql("SELECT DISTINCT item_id, repeat_idx FROM offline_results ORDER BY 1, 2")
    assert r.values.tolist() == [["0", 0], ["0", 1], ["0", 2], ["3", 0], ["3", 1], ["3", 2]]


@pytest.mark.parametrize(
    "results",
    [
        [],
        {"version": 3, "results": [], "prompts": []},
        {"outputs": []},
        {"table": {"head": {"prompts": [], "vars": []}, "body": []}},
        {"table": {"head": {"prompts": []}, "body": [{"outputs": [], "vars": []}]}},
    ],
)
def test_a_results_file_without_results_is_an_error_naming_the_file(ws, tmp_path, results):
    # An eval with no results (every test filtered out, an aborted run) loaded as "0 rows
    # read" without a word; beside a good file, nothing is loaded.
    p = tmp_path / "empty.json"
    p.write_text(json.dumps({"evalId": "e-empty", "results": results}))
    with pytest.raises(DataError, match=r"empty\.json: holds no promptfoo results.*promptfoo eval"):
        ws.load_promptfoo([DATA / "promptfoo_v3.json", p])
    assert ws.counts()["offline_results"] == 0
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def test_values_of_the_wrong_json_type_reject_the_result_naming_the_key(ws, tmp_path):
    # Read as text, a prompt label ["v1"] made the version '["v1"] @ openai:gpt', a provider
    # list a version without its provider, and a namedScores list no named scores, each
    # without a word.
    def result(t, **kw):
        return {"promptIdx": 0, "testIdx": t, "prompt": {"raw": "hi", "label": "v1"},
                "provider": {"id": "openai:gpt"}, "response": {"output": "ok"},
                "success": True, "score": 1, "latencyMs": 100, "namedScores": {"b": 0.5},
                "failureReason": 0, **kw}  # fmt: skip

    bad = [
        ({"prompt": {"raw": "hi", "label": ["v1"]}}, "prompt.label is a JSON object or list, not a text"),
        ({"provider": ["openai:gpt"]}, "provider is a JSON list, not an object"),
        ({"provider": {"id": {"name": "gpt"}}}, "provider.id is a JSON object or list, not a text"),
        ({"provider": {"id": "openai:gpt", "label": ["x"]}},
         "provider.label is a JSON object or list, not a text"),
        ({"namedScores": [0.5]}, "namedScores is a JSON list, not an object"),
    ]  # fmt: skip
    rows = [result(i, **kw) for i, (kw, _) in enumerate(bad)]
    rows += [result(9), result(10, response={"output": {"answer": "ok"}})]  # JSON output is fine
    p = tmp_path / "results.json"
    p.write_text(json.dumps({"evalId": "e", "results": {"version": 3, "results": rows}}))
    r = ws.load_promptfoo(p)
    accounted(r)
    got = ws.sql("SELECT source_row, reason FROM rejects ORDER BY 1").values.tolist()
    assert got == [[i + 1, why] for i, (_, why) in enumerate(bad)]
    res = ws.sql("SELECT version, item_id, output FROM offline_results ORDER BY item_id")
    assert res.values.tolist() == [["v1 @ openai:gpt", "10", '{"answer":"ok"}'],
                                   ["v1 @ openai:gpt", "9", "ok"]]  # fmt: skip


def test_a_results_file_on_one_overlong_line_is_an_error_saying_so(ws, tmp_path, monkeypatch):
    # A compact results.json longer than the longest line read (8 MiB; 1 MiB here) was "not
    # one promptfoo results document (0 JSON documents, 0 invalid)", which sent the user to
    # look for another file.
    from promptab_nb.loaders import _read

    monkeypatch.setattr(_read, "MAX_LINE", 2**20)
    rows = [{"promptIdx": 0, "testIdx": i, "prompt": {"label": "v"}, "provider": {"id": "p"},
             "response": {"output": "x" * 200}, "success": True} for i in range(5_000)]  # fmt: skip
    p = tmp_path / "results.json"
    p.write_text(json.dumps({"evalId": "e", "results": {"version": 3, "results": rows}}))
    with pytest.raises(DataError, match=r"results\.json: line 1 .*longer than 1 MiB.*json\.tool"):
        ws.load_promptfoo(p)
    assert ws.counts()["offline_results"] == 0
