"""Runner: repeats stored separately, cache (0 calls on re-run), retries, per-cell errors,
fail-fast template checks, async models, reload from a file workspace."""

from __future__ import annotations

import asyncio
import math
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from _offline_fakes import CountingModel, FlakyModel, id_dataset, ids

import promptab_nb as pab
from promptab_nb.errors import DataError, InvalidArgumentError, NotFoundError
from promptab_nb.offline import Score

A, B = ("t", "A {{id}}"), ("t", "B {{id}}")


def test_repeats_are_stored_per_version_item(ws) -> None:
    model = CountingModel()
    run = ws.run_offline(id_dataset(5), [A, B], model, repeats=3, progress=False)
    res = run.results()
    assert len(res) == 2 * 5 * 3 and model.total == 30 and run.model_calls == 30
    counts = res.groupby(["version", "item_id"]).size()
    assert (counts == 3).all() and sorted(res["repeat_idx"].unique()) == [0, 1, 2]
    assert run.labels == ("t@v1", "t@v2") and run.scorers == ("exact",)
    assert len(run.scores()) == 30 and run.scores()["passed"].all()
    wide = run.to_pandas()
    assert wide.shape[0] == 30 and "exact" in wide.columns
    assert run.to_polars().height == 30


def test_second_identical_run_makes_no_model_calls(ws) -> None:
    model = CountingModel()
    first = ws.run_offline(id_dataset(6), [A, B], model, repeats=2, progress=False)
    assert (first.model_calls, first.cache_hits) == (24, 0)
    second = ws.run_offline(id_dataset(6), [A, B], model, repeats=2, progress=False)
    assert (second.model_calls, second.cache_hits) == (0, 24) and model.total == 24
    assert second.results()["cached"].all()
    assert list(second.results()["output"]) == list(first.results()["output"])
    # More repeats reuse the cached ones and call only for the new repeat index.
    third = ws.run_offline(id_dataset(6), [A, B], model, repeats=3, progress=False)
    assert (third.model_calls, third.cache_hits) == (12, 24)
    uncached = ws.run_offline(id_dataset(6), [A, B], model, repeats=1, cache=False, progress=False)
    assert uncached.model_calls == 12
    runs = ws.offline_runs()
    assert len(runs) == 4 and runs.run_ids[0] == uncached.run_id  # newest first
    assert "<table" in runs._repr_html_() and uncached.run_id in repr(runs)


def test_failures_are_recorded_and_never_cached(ws) -> None:
    model = CountingModel({("B", "i001"): RuntimeError("boom"), ("B", "i002"): 42})
    with pytest.warns(UserWarning, match=r"6 of 30 calls failed \(first: item 'i00[12]'"):
        run = ws.run_offline(id_dataset(5), [A, B], model, repeats=3, progress=False)
    assert run.n_errors == 6
    errs = run.errors()
    assert set(errs["item_id"]) == {"i001", "i002"} and set(errs["version"]) == {"t@v2"}
    msgs = set(errs["error"])
    assert "RuntimeError: boom" in msgs
    assert any("ModelOutputError: model returned int 42" in e for e in msgs)
    assert len(run.results().dropna(subset=["output"])) == 24  # the run went on
    calls = model.total
    with pytest.warns(UserWarning):
        again = ws.run_offline(id_dataset(5), [A, B], model, repeats=3, progress=False)
    assert again.model_calls == model.total - calls == 6  # only the failed cells again


def test_retryable_errors_are_retried(ws) -> None:
    model = FlakyModel(fails=2)
    run = ws.run_offline(id_dataset(3), [A], model, repeats=1, backoff_s=0.001, progress=False)
    res = run.results()
    assert run.n_errors == 0 and (res["attempts"] == 3).all() and (res["output"] == "yes").all()
    assert run.model_calls == 9

    class ServerError(Exception):
        status_code = 503

    ok = ws.run_offline(id_dataset(2), [B], FlakyModel(fails=1, exc=ServerError), repeats=1,
                        backoff_s=0.001, progress=False)  # fmt: skip
    assert ok.n_errors == 0
    with pytest.warns(UserWarning, match="gave up after 2 attempts"):
        bad = ws.run_offline(id_dataset(2), [("u", "C {{id}}")], FlakyModel(fails=5), repeats=1,
                             max_retries=1, backoff_s=0.001, progress=False)  # fmt: skip
    assert bad.n_errors == 2


def test_scorer_raising_is_a_cell_error(ws) -> None:
    def picky(output: str, expected: str, item) -> bool:
        if item.item_id == "i003":
            raise ValueError("cannot judge")
        return True

    run = ws.run_offline(id_dataset(4), [A, B], CountingModel(), scorers=["exact", picky],
                         repeats=1, progress=False)  # fmt: skip
    assert run.n_score_errors == 2 and run.n_errors == 0
    errs = run.errors()
    assert set(errs["source"]) == {"scorer picky"}
    assert "item 'i003', version t@v1" in " ".join(errs["error"])
    assert "ValueError: cannot judge" in errs["error"].iloc[0]


def test_bad_input_fails_before_any_call(ws) -> None:
    model = CountingModel()
    with pytest.raises(
        DataError, match=r"prompt t@v2 needs variable 'topic', missing from item 'i000'"
    ):
        ws.run_offline(id_dataset(3), [A, ("t", "{{id}} {{topic}}")], model, progress=False)
    assert model.total == 0
    with pytest.raises(DataError, match="empty"):
        ws.run_offline(pab.offline.Dataset.from_records([]), [A], model)
    with pytest.raises(InvalidArgumentError, match="more than once"):
        ws.run_offline(id_dataset(2), [A, A], model)
    with pytest.raises(InvalidArgumentError, match="repeats == 0"):
        ws.run_offline(id_dataset(2), [A], model, repeats=0)
    with pytest.raises(InvalidArgumentError, match="must be callable"):
        ws.run_offline(id_dataset(2), [A], "gpt-4")
    with pytest.raises(InvalidArgumentError, match="scorer names must be unique"):
        ws.run_offline(id_dataset(2), [A], model, scorers=["exact", "exact"])
    with pytest.raises(NotFoundError, match="no offline run 'nope'"):
        ws.offline_run("nope")


def test_async_model_and_template_strings(ws) -> None:
    active, peak = 0, 0

    async def amodel(prompt: str) -> dict:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.001)
        active -= 1
        return {"text": "yes", "input_tokens": 3, "output_tokens": 1, "cost_usd": 1e-6}

    run = ws.run_offline(id_dataset(10), ["A {{id}}", "B {{id}}"], amodel, repeats=2,
                         concurrency=4, progress=False)  # fmt: skip
    assert run.labels == ("prompt@v1", "prompt@v2") and run.n_errors == 0
    assert run.model_calls == 40 and 1 < peak <= 4
    assert (run.results()["cost_usd"] == 1e-6).all()


def test_demo_model_run_and_progress_is_silent(ws, capsys) -> None:
    ds = pab.offline.Dataset.from_records([{"q": f"{a}+{a}", "expected": str(2 * a)}
                                           for a in range(20)])  # fmt: skip
    run = ws.run_offline(ds, ["{{q}}=", "Think step by step: {{q}}"], pab.offline.DemoModel(),
                         scorers=[pab.offline.numeric_close()], progress=False)  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    summary = run.summary()
    assert tuple(summary["version"]) == run.labels and summary["numeric_close"].between(0, 1).all()
    assert (summary["latency_s"] > 0.3).all()  # the demo model's simulated latency
    assert "numeric_close" in repr(run) and "<table" in run._repr_html_()


def test_reopen_file_workspace_reloads_the_run(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    with pab.Workspace(path) as ws:
        run = ws.run_offline(id_dataset(4), [A, B], CountingModel(), repeats=2, progress=False)
        before = run.results()
    with pab.Workspace(path) as ws2:
        again = ws2.offline_run(run.run_id)
        assert again == run
        assert again.dataset.ids == run.dataset.ids
        assert again.results().drop(columns=[]).equals(before)
        assert ws2.offline_runs().run_ids == [run.run_id]
        assert again.compare().baseline == "t@v1"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = CountingModel()
            ws2.run_offline(id_dataset(4), [A, B], model, repeats=2, progress=False)
            assert model.total == 0  # the cache survived in the file


def test_imported_promptfoo_run_reopens(ws) -> None:
    data = Path(__file__).parents[1] / "data" / "promptfoo_v3.json"
    if not data.exists():
        pytest.skip("promptfoo fixture not present")
    ws.load_promptfoo(data, progress=False)
    (run_id,) = ws.offline_runs().run_ids
    run = ws.offline_run(run_id)
    assert run.versions == () and len(run.labels) >= 1 and run.scorers[0] == "pass"
    assert len(run.results()) == 4 and run.n_items >= 1
    assert run_id in repr(run)


def test_invalid_score_returns_are_scorer_errors(ws) -> None:
    def graded(output: str, expected: str, item) -> Score:
        k = int(item.item_id[1:])
        if k == 0:
            return Score(55.0, None)  # out of range for a score in [0, 1]
        if k == 1:
            return Score(math.nan, None)
        return Score(None, True)  # a verdict without a value: passes, like returning True

    run = ws.run_offline(id_dataset(4), [A, B], CountingModel(), scorers=[graded], repeats=1,
                         progress=False)  # fmt: skip
    assert run.n_score_errors == 4
    errs = run.errors()
    assert set(errs["source"]) == {"scorer graded"} and set(errs["item_id"]) == {"i000", "i001"}
    text = " ".join(errs["error"])
    assert "Score(value=55.0" in text and "Score(value=nan" in text
    assert "value must be a finite number in [0, 1]" in text
    sc = run.scores().set_index(["version", "item_id"])
    assert sc["value"].isna().sum() == 4  # errors store no value
    ok = sc.loc[sc["error"].isna()]
    assert (ok["value"] == 1.0).all() and ok["passed"].astype(bool).all() and len(ok) == 4


class _Client:
    """An OpenAI-shaped client: 100 input and 50 output tokens per call; records prompts."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, model: str, messages: list[dict[str, str]], **kw: Any) -> SimpleNamespace:
        self.calls.append(messages[-1]["content"])
        message = SimpleNamespace(content="yes")
        usage = SimpleNamespace(prompt_tokens=100, completion_tokens=50)
        return SimpleNamespace(choices=[SimpleNamespace(message=message)], usage=usage)


def _costs(run) -> list[float | None]:
    return [None if pd.isna(c) else c for c in run.results()["cost_usd"]]


def test_cached_demo_responses_cost_this_runs_prices(ws) -> None:
    ds = id_dataset(3)
    cheap = ws.run_offline(ds, [A, B], pab.offline.DemoModel(), repeats=1, progress=False)
    dear = ws.run_offline(ds, [A, B], pab.offline.DemoModel(price_in_per_mtok=15,
                          price_out_per_mtok=60), repeats=1, progress=False)  # fmt: skip
    assert dear.model_calls == 0 and dear.cache_hits == 6  # a price change re-calls nothing
    res = dear.results()
    want = (res["input_tokens"] * 15 + res["output_tokens"] * 60) / 1e6
    assert res["cost_usd"].to_numpy() == pytest.approx(want.to_numpy(), rel=1e-12)
    assert res["cost_usd"].sum() > 50 * cheap.results()["cost_usd"].sum()


def test_cached_openai_responses_cost_this_runs_prices(ws) -> None:
    ds = id_dataset(3)
    client = _Client()
    unpriced = pab.offline.openai_compatible(client, "gpt-x")
    first = ws.run_offline(ds, [A, B], unpriced, repeats=1, progress=False)
    assert _costs(first) == [None] * 6
    priced = pab.offline.openai_compatible(client, "gpt-x", price_in_per_mtok=1.0,
                                           price_out_per_mtok=4.0)  # fmt: skip
    second = ws.run_offline(ds, [A, B], priced, repeats=1, progress=False)
    assert second.cache_hits == 6 and len(client.calls) == 6
    assert _costs(second) == pytest.approx([(100 * 1.0 + 50 * 4.0) / 1e6] * 6, rel=1e-12)
    # And back: without prices a cached response has no cost, not the last run's.
    assert _costs(ws.run_offline(ds, [A, B], unpriced, repeats=1, progress=False)) == [None] * 6


def test_failed_validation_registers_no_prompt_version(ws) -> None:
    model = CountingModel()
    ws.run_offline(id_dataset(2), [A], model, repeats=1, progress=False)
    before = ws.prompts.list()
    bad_calls = [
        lambda: ws.run_offline(id_dataset(2), [("t", "{{x}}"), B], model, progress=False),
        lambda: ws.run_offline(id_dataset(2), [B, ("t", "C {{id}}"), ("t", "")], model),
        lambda: ws.run_offline(id_dataset(2), [B], model, scorers=["exact", "exact"]),
        lambda: ws.run_offline(id_dataset(2), [B, ("t", "{{id}} {{topic}}")], model),
    ]
    for call in bad_calls:
        with pytest.raises((DataError, InvalidArgumentError)):
            call()
    assert ws.prompts.list().equals(before) and model.total == 2
    # The next version gets the next number, as if the failed calls never happened.
    run = ws.run_offline(id_dataset(2), [A, ("t", "{{id}} again")], model, repeats=1,
                         progress=False)  # fmt: skip
    assert run.labels == ("t@v1", "t@v2")


_TABLES = ("prompts", "offline_runs", "offline_results", "offline_scores")


def _store_fails(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    from promptab_nb.offline import _store, runner

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    # "_store" is the whole end-of-run step as the runner calls it; the others are steps inside
    # its transaction: before the rows are written, and after them (the cache is written last).
    monkeypatch.setattr(runner if step == "_store" else _store, step, fail)


@pytest.mark.parametrize("step", ["_store", "_insert_rows", "_insert_cache"])
def test_a_run_that_fails_while_storing_registers_nothing(ws, monkeypatch, step) -> None:
    model = CountingModel()
    ws.run_offline(id_dataset(3), [A], model, repeats=1, progress=False)  # t@v1 and one run
    before = {t: ws.table(t) for t in _TABLES}
    versions = [A, B, ("u", "C {{id}}")]
    _store_fails(monkeypatch, step)
    with pytest.raises(OSError, match="disk full"):
        ws.run_offline(id_dataset(3), versions, model, repeats=2, progress=False)
    for t in _TABLES:
        assert ws.table(t).equals(before[t]), t
    assert ws.prompts.get("t").version == 1 and len(ws.offline_runs()) == 1
    monkeypatch.undo()
    # The calls were paid for: their responses stay in the cache, so storing again calls nothing.
    calls = model.total
    run = ws.run_offline(id_dataset(3), versions, model, repeats=2, progress=False)
    assert model.total == calls and run.labels == ("t@v1", "t@v2", "u@v1")


def test_versions_registered_during_a_run_keep_their_numbers(ws) -> None:
    # Someone registers a text of prompt "t" while the run is calling the model: the run's new
    # versions are numbered when it is stored, after that one, and its rows say so.
    registered: list[pab.offline.PromptVersion] = []

    def model(prompt: str) -> str:
        if not registered:
            registered.append(ws.prompts.register("t", "Z {{id}}"))
        return "yes"

    def picky(output: str, expected: str, item) -> bool:
        if item.item_id == "i001":
            raise ValueError("cannot judge")
        return True

    run = ws.run_offline(id_dataset(2), [A, B], model, scorers=[picky], repeats=1,
                         concurrency=1, progress=False)  # fmt: skip
    assert registered[0].label == "t@v1"
    assert run.labels == ("t@v2", "t@v3") and [v.template for v in run.versions] == [A[1], B[1]]
    assert set(run.results()["version"]) == {"t@v2", "t@v3"}
    assert "item 'i001', version t@v2)" in " ".join(run.errors()["error"])
    assert ws.prompts.get("t", 3).template == B[1]


def test_a_tuple_of_two_templates_is_not_read_as_one_named_version(ws) -> None:
    # ("A {{id}}", "B {{id}}") was one version *named* "A {{id}}" with template "B {{id}}".
    model = CountingModel()
    with pytest.raises(InvalidArgumentError, match=r"looks like a template.*pass a list"):
        ws.run_offline(id_dataset(2), ("A {{id}}", "B {{id}}"), model, progress=False)
    with pytest.raises(InvalidArgumentError, match=r"versions\[0\].*looks like a template"):
        ws.run_offline(id_dataset(2), [("A {{id}}", "B {{id}}")], model, progress=False)
    assert model.total == 0 and ws.prompts.list().empty
    run = ws.run_offline(id_dataset(2), ("t", "A {{id}}"), model, repeats=1, progress=False)
    assert run.labels == ("t@v1",)  # a (name, template) tuple is still one version


@pytest.mark.parametrize("name", ["cost_usd", "latency_s", "output_tokens", "cost", "latency",
                                  "tokens", "output", "error", "version", "calls"])  # fmt: skip
def test_a_scorer_named_like_a_run_metric_or_column_is_refused(ws, name) -> None:
    # A scorer named "cost_usd" was compared as the model's cost (its own values never were),
    # and overwrote the cost column of run.summary().
    scorer = pab.offline.custom(lambda out: 0.5, name=name)
    model = CountingModel()
    with pytest.raises(InvalidArgumentError, match=rf"scorer name {name!r} .*name="):
        ws.run_offline(id_dataset(2), [A, B], model, scorers=[scorer], progress=False)
    assert model.total == 0


def test_demo_models_with_different_wrong_answers_do_not_share_the_cache(ws) -> None:
    # DemoModel's cache id left out `choices`, so a second demo model with other wrong answers
    # was served the first one's cached replies ('blue' where it can only say 'green').
    ds = pab.offline.Dataset.from_records([{"item_id": "x", "q": "colour?", "expected": "red"}])
    blue = pab.offline.DemoModel(choices=["blue"], quality=-20, noise=0)
    green = pab.offline.DemoModel(choices=["green"], quality=-20, noise=0)
    first = ws.run_offline(ds, ["Q {{q}}"], blue, repeats=1, progress=False)
    second = ws.run_offline(ds, ["Q {{q}}"], green, repeats=1, progress=False)
    assert first.results()["output"].tolist() == ["blue"]
    assert second.results()["output"].tolist() == ["green"] and second.cache_hits == 0


def test_a_scorer_that_fails_is_reported_like_a_model_that_fails(ws) -> None:
    # A scorer raising on every cell went unreported: no warning at the end of the run (a failed
    # model call gets one), the run's repr said "0 errors" beside a score of "–", and summary()
    # had no count of the failures.
    def broken(output: str) -> bool:
        raise ValueError("broken scorer")

    with pytest.warns(UserWarning, match=r"8 of 8 scores failed \(first: scorer 'broken', item"):
        run = ws.run_offline(id_dataset(4), [A, B], CountingModel(), scorers=[broken],
                             repeats=1, progress=False)  # fmt: skip
    assert "0 errors, 8 scorer errors" in repr(run)
    assert run.summary()["score_errors"].tolist() == [4, 4]
    with pytest.raises(InvalidArgumentError, match="taken"):
        ws.run_offline(id_dataset(1), [A], CountingModel(), progress=False,
                       scorers=[pab.offline.custom(broken, name="score_errors")])  # fmt: skip


def test_a_tuple_of_versions_is_a_sequence_of_versions(ws) -> None:
    # (v1, v2) and a tuple of three templates were taken for one (name, template) version and
    # refused as "versions[0] is (PromptVersion(...), PromptVersion(...))".
    v1 = ws.prompts.register("t", "A {{id}}")
    v2 = ws.prompts.register("t", "B {{id}}")
    run = ws.run_offline(id_dataset(2), (v1, v2), CountingModel(), repeats=1, progress=False)
    assert run.labels == ("t@v1", "t@v2")
    three = ws.run_offline(id_dataset(2), ("A {{id}}", "B {{id}}", "C {{id}}"), CountingModel(),
                           repeats=1, progress=False)  # fmt: skip
    assert len(three.labels) == 3


def test_one_scorer_need_not_be_in_a_list(ws) -> None:
    # scorers="exact" was read letter by letter ("unknown scorer 'e'"), and one Scorer or one
    # function raised Python's "'Scorer' object is not iterable".
    for one in ("exact", pab.offline.exact(), lambda output: output == "yes"):
        run = ws.run_offline(id_dataset(2), [A, B], CountingModel(), scorers=one, repeats=1,
                             progress=False)  # fmt: skip
        assert len(run.scorers) == 1
    with pytest.raises(InvalidArgumentError, match=r"scorers == 3"):
        ws.run_offline(id_dataset(2), [A, B], CountingModel(), scorers=3, progress=False)


def test_a_run_without_any_scorer_by_default_says_why(ws) -> None:
    # A dataset whose answers are in a column not named "expected" (say "answer") has no
    # expected answers, so the default ran no scorer: the run compared cost, latency and tokens
    # only, and nothing said the quality was never measured.
    ds = pab.offline.Dataset.from_records(
        [{"item_id": i, "id": i, "answer": "yes"} for i in ids(3)]
    )
    with pytest.warns(UserWarning, match=r"no expected answers.*no scorer.*expected_field"):
        run = ws.run_offline(ds, [A, B], CountingModel(), repeats=1, progress=False)
    assert run.scorers == ()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scorers=[] asks for none: nothing to say
        ws.run_offline(ds, [A, B], CountingModel(), scorers=[], repeats=1, progress=False)


class _DrawingModel:
    """A model sampling at temperature > 0: each call is a new draw (a counter here)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, prompt: str) -> str:
        self.calls += 1
        return f"draw {self.calls}"


def test_cells_with_the_same_prompt_are_separate_draws_in_the_cache(ws) -> None:
    # Two items whose prompts render identically (a duplicated question; a version whose
    # template ignores the item) and two versions rendering the same text are separate cells:
    # the first run pays one call each, but the cache kept one reply per (prompt, repeat), so a
    # re-run gave all of them that one reply (4 items answered 'draw 4' where the run had
    # 'draw 1'…'draw 4'), merging draws the comparison treats as independent.
    ds = pab.offline.Dataset.from_records(
        [{"item_id": f"i{k}", "q": "same question", "expected": "yes"} for k in range(4)]
    )
    model = _DrawingModel()
    versions = [("t", "Q: {{q}}"), ("u", "Q: {{q}}")]
    first = ws.run_offline(ds, versions, model, repeats=2, progress=False)
    assert first.model_calls == 16 and model.calls == 16
    second = ws.run_offline(ds, versions, model, repeats=2, progress=False)
    assert (second.model_calls, second.cache_hits) == (0, 16)
    keys = ["version", "item_id", "repeat_idx"]
    a = first.results().sort_values(keys)["output"].tolist()
    b = second.results().sort_values(keys)["output"].tolist()
    assert b == a and len(set(a)) == 16


def test_summary_does_not_total_a_cost_it_could_not_price(ws) -> None:
    # Half the calls came back without a cost: total_cost_usd was the sum of the priced half,
    # read as the run's cost. It is now missing, with the unpriced calls counted, and the
    # printed cost per call says over how many calls it is.
    priced = {"text": "yes", "cost_usd": 0.01}
    answers = {("A", i): priced for i in ids(4)} | {("B", i): priced for i in ids(4)[:2]}
    run = ws.run_offline(id_dataset(4), [A, B], CountingModel(answers), repeats=1,
                         progress=False)  # fmt: skip
    s = run.summary().set_index("version")
    assert s.loc["t@v1", "total_cost_usd"] == pytest.approx(0.04)
    assert s.loc["t@v1", "unpriced"] == 0 and s.loc["t@v2", "unpriced"] == 2
    assert math.isnan(s.loc["t@v2", "total_cost_usd"])
    assert s.loc["t@v2", "cost_usd"] == pytest.approx(0.01)  # mean over the priced calls
    assert "2 of 4 unpriced" in repr(run)
