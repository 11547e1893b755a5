"""``promptab offline run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ._helpers import assert_one_line_error, run


def test_offline_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "items.csv"
    data.write_text(
        "item_id,question,expected\n" + "".join(f"i{i},{i}+{i},{2 * i}\n" for i in range(12))
    )
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("Q: {{question}}")
    b.write_text("Think step by step. Q: {{question}}")
    code, out, err = run(
        capsys,
        "offline",
        "run",
        data,
        "--prompts",
        a,
        b,
        "--model",
        "demo",
        "--repeats",
        "2",
        "--scorers",
        "numeric_close",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert {r["metric"] for r in rows} >= {"numeric_close"}
    code, _, err = run(capsys, "offline", "run", data, "--prompts", a, b, "--model", "gpt-4o")
    assert_one_line_error(code, err, "demo")
    code, _, err = run(capsys, "offline", "run", tmp_path / "no.csv", "--prompts", a, b)
    assert_one_line_error(code, err, "no.csv")
