"""Queries about what was loaded: a flag's variants and the rejected rows per file and reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import promptab_nb as pab

sys.path.insert(0, str(Path(__file__).parent))
from _events import expo, gen, write  # noqa: E402


def _ws(events: list[dict], tmp_path: Path, fmt: str = "parquet") -> pab.Workspace:
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)[fmt], progress=False)
    return ws


def test_flag_variants_orders_control_first(tmp_path: Path) -> None:
    events = [
        expo("e1", "u1", 0, "b-variant"),
        expo("e2", "u2", 0, "a-variant"),
        expo("e3", "u3", 0, "control"),
        gen("g1", "u1", 1, version="7"),
    ]
    found = _ws(events, tmp_path).flag_variants("prompt-test")
    assert list(found) == ["control", "a-variant", "b-variant"]
    assert found["b-variant"] == "7" and found["control"] == "control"


def test_flag_variants_ignores_false_and_filters_by_prompt(tmp_path: Path) -> None:
    events = [
        expo("e1", "u1", 0, "control"),
        expo("e2", "u2", 0, "test"),
        expo("e3", "u3", 0, "false"),
        gen("g1", "u1", 1, prompt="a", version="1"),
        gen("g2", "u2", 1, prompt="a", version="2"),
        gen("g3", "u2", 2, prompt="b", version="9"),
        gen("g4", "u2", 3, prompt="b", version="9"),
    ]
    ws = _ws(events, tmp_path)
    assert ws.flag_variants("prompt-test", "a") == {"control": "1", "test": "2"}
    assert ws.flag_variants("prompt-test", "b") == {"control": "control", "test": "9"}


def test_flag_variants_errors_name_the_flag(tmp_path: Path) -> None:
    ws = _ws([expo("e1", "u1", 0, "control"), gen("g1", "u1", 1)], tmp_path)
    with pytest.raises(pab.NotFoundError, match="'nope'.*flags found: prompt-test"):
        ws.flag_variants("nope")
    with pytest.raises(pab.InvalidArgumentError, match="one variant"):
        ws.flag_variants("prompt-test")


def test_rejects_summary_counts_per_file_and_reason(tmp_path: Path) -> None:
    events = [expo("e1", "u1", 0, "control"), gen("g1", "u1", 1)]
    events += [{**gen(f"bad{i}", "u3", 2), "distinct_id": None} for i in range(3)]
    ws = _ws(events, tmp_path, "csv")
    (row,) = ws.rejects_summary()
    assert row.file.endswith(".csv") and "distinct_id" in row.reason and row.rows == 3
    assert sum(r.rows for r in ws.rejects_summary()) == len(ws.rejects())
    assert pab.Workspace().rejects_summary() == []
    with pytest.raises(pab.InvalidArgumentError, match="limit"):
        ws.rejects_summary(limit=0)
