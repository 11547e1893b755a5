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


def test_an_empty_or_repeated_prompt_file_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # "template of prompt 'prompt' is empty" and "versions lists prompt@v1 more than once"
    # named neither file
    data = tmp_path / "items.csv"
    data.write_text("item_id,question,expected\ni1,1+1,2\ni2,2+2,4\n")
    a, b, empty = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "empty.txt"
    a.write_text("Q: {{question}}")
    b.write_text("Q: {{question}}")
    empty.write_text("\n  \n")
    code, _, err = run(capsys, "offline", "run", data, "--prompts", a, empty)
    assert_one_line_error(code, err, f"--prompts {empty}", "empty")
    code, _, err = run(capsys, "offline", "run", data, "--prompts", a, b)
    assert_one_line_error(code, err, f"--prompts {b}", f"same text as {a}")
