"""Runner: repeats stored separately, cache (0 calls on re-run), retries, per-cell errors,
fail-fast template checks, async models, reload from a file workspace."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import pytest
from _offline_fakes import CountingModel, FlakyModel, id_dataset

import promptab_nb as pab
from promptab_nb.errors import DataError, InvalidArgumentError, NotFoundError

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
