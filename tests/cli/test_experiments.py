"""``promptab load``, ``experiments`` and ``report`` on a workspace file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import promptab_nb as pab

from ._helpers import FLAG, assert_one_line_error, run


# -- workspace commands ----------------------------------------------------------------------------
def test_experiment_lifecycle(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    wsf = tmp_path / "ab.duckdb"
    code, out, err = run(capsys, "load", export, "--workspace", wsf)
    assert code == 0, err
    assert "Loaded from posthog" in out
    code, out, err = run(
        capsys,
        "experiments",
        "create",
        "support-v2",
        "--workspace",
        wsf,
        "--prompt",
        "support-bot",
        "--variants",
        "control=v1,test=v2",
        "--flag",
        FLAG,
        "--split",
        "50,50",
        "--ends-at",
        "2099-01-01",
    )
    assert code == 0, err
    assert "support-v2" in out and "running" in out
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--json")
    assert code == 0
    (rec,) = json.loads(out)
    assert rec["name"] == "support-v2" and rec["status"] == "running"
    # data, in the snake_case of every other JSON document (not the table's display text)
    assert rec["variants"] == {"control": "v1", "test": "v2"} and rec["assigned_by"] == "flag"
    assert rec["split"] == {"control": 50.0, "test": 50.0} and all(" " not in k for k in rec)

    report = tmp_path / "support.html"
    code, out, err = run(
        capsys, "report", "support-v2", "--workspace", wsf, "--out", report, "--metrics", "latency"
    )
    assert code == 0, err
    assert out.strip() == str(report) and "<!DOCTYPE html>" in report.read_text(encoding="utf-8")

    code, _, err = run(
        capsys, "experiments", "conclude", "support-v2", "--winner", "nobody", "--workspace", wsf
    )
    assert_one_line_error(code, err, "nobody")
    code, out, _ = run(
        capsys, "experiments", "conclude", "support-v2", "--winner", "test", "--workspace", wsf
    )
    assert code == 0 and "concluded" in out
    code, _, err = run(capsys, "experiments", "stop", "support-v2", "--workspace", wsf)
    assert_one_line_error(code, err, "concluded")
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--status", "concluded")
    assert code == 0 and re.search(r"\bconcluded\s+test\b", out)  # status, then the winner

    # a second one, stopped; a duplicate name is a usage error
    args = ["--workspace", wsf, "--prompt", "support-bot", "--variants", "control=v1,test=v2"]
    assert run(capsys, "experiments", "create", "other", *args)[0] == 0
    code, _, err = run(capsys, "experiments", "create", "other", *args)
    assert_one_line_error(code, err, "already exists")
    code, out, _ = run(capsys, "experiments", "stop", "other", "--workspace", wsf)
    assert code == 0 and "stopped" in out


def test_missing_workspace_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wsf = tmp_path / "none.duckdb"
    code, _, err = run(capsys, "experiments", "list", "--workspace", wsf)
    assert_one_line_error(code, err, str(wsf))
    assert not wsf.exists()
    code, _, err = run(capsys, "report", "x", "--workspace", wsf, "--out", tmp_path / "r.html")
    assert_one_line_error(code, err, str(wsf))


def test_report_unknown_experiment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wsf = tmp_path / "ab.duckdb"
    pab.Workspace(wsf).close()
    code, _, err = run(capsys, "report", "ghost", "--workspace", wsf, "--out", tmp_path / "r.html")
    assert_one_line_error(code, err, "ghost")


def test_a_failed_command_leaves_no_new_workspace_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    new = tmp_path / "new.duckdb"
    code, _, err = run(capsys, "load", tmp_path / "nothere.parquet", "--workspace", new)
    assert code == 2 and not new.exists(), err
    code, _, err = run(capsys, "experiments", "create", "x", "--workspace", new,
                       "--variants", "a=1,a=2")  # fmt: skip
    assert code == 2 and not new.exists(), err
    # an existing workspace stays, whatever the command
    assert (
        run(capsys, "experiments", "create", "x", "--workspace", new, "--variants", "a=1,b=2")[0]
        == 0
    )
    code, _, _ = run(capsys, "load", tmp_path / "nothere.parquet", "--workspace", new)
    assert code == 2 and new.exists()
