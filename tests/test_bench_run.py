"""The benchmark's rounds: interleaved runs, medians and per-round ratios (no task is run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import run  # noqa: E402


def test_rounds_interleave_tasks_and_summarise_each(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    seconds = {"base": iter([2.0, 4.0, 3.0]), "ours": iter([5.0, 7.0, 9.0])}

    def fake(task: str, *args: str) -> dict:
        calls.append(task)
        return {"seconds": next(seconds[task]), "rss_mib": 600 + len(calls), "sums": {"n": task}}

    monkeypatch.setattr(run, "run_task", fake)
    base, ours = run.run_rounds([("base",), ("ours",)], 3)
    assert calls == ["base", "ours"] * 3  # a slow spell hits both tasks
    assert base["seconds"] == 3.0 and ours["seconds"] == 7.0  # medians
    assert base["per_round"] == [2.0, 4.0, 3.0]
    assert ours["rss_mib"] == 606  # the largest peak of its rounds
    assert base["sums"] == {"n": "base"}
    # round by round 2.5, 1.75, 3.0: their median, not the ratio of the medians (7 / 3)
    assert run.ratio_text(ours, base) == "2.50× (1.75–3.00)"
    assert run.ratio_text(base, base) == "1.00×"  # the baseline's own row


def test_one_round_gives_a_plain_ratio() -> None:
    a = {"seconds": 3.0, "per_round": [3.0]}
    b = {"seconds": 2.0, "per_round": [2.0]}
    assert run.ratio_text(a, b) == "1.50×"
    assert run.ratio_text({"seconds": 1.0}, {"seconds": 4.0}) == "0.25×"
