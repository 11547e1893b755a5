"""The entry point: usage errors, help with examples, the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ._helpers import run


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "analyze")
    assert code == 2 and "required" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys)
    assert code == 2 and "usage" in err
    code, _, err = run(capsys, "experiments")
    assert code == 2 and "list" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["analyze"],
        ["experiments"],
        ["experiments", "create"],
        ["report"],
        ["simulate", "traffic"],
        ["simulate", "power"],
        ["offline", "run"],
        ["demo"],
    ],
)
def test_help_has_examples(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert "examples:" in out and "promptab" in out


def test_console_script_subprocess(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "promptab"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "promptab_nb.cli"]
    proc = subprocess.run(
        [*cmd, "analyze", str(tmp_path / "missing.parquet"), "--flag", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("promptab: error: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "promptab" in proc.stdout


def test_python_dash_m_promptab_nb_is_the_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "promptab_nb", "--version"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and "promptab" in proc.stdout


def test_a_reader_that_closes_the_pipe_stops_the_command_quietly() -> None:
    # `promptab analyze ... | head -2` said "promptab: error: [Errno 32] Broken pipe" and
    # exited 2, the code of a usage error.
    # The reader is gone before the command writes: reading a line first raced the command,
    # whose 3.8 kB fit the pipe's buffer whole and often ended with 0 before the close.
    import os

    data = Path(__file__).resolve().parents[2] / "data" / "posthog_events.parquet"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "promptab_nb.cli", "analyze", str(data), "--flag",
             "support-bot-prompt"],
            stdout=write_end, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "error" not in err and "Traceback" not in err and "Exception ignored" not in err


@pytest.mark.parametrize(
    ("argv", "usage", "hint", "not_hint"),
    [
        (["experiments", "list", "--workspace", "w.duckdb", "--stats", "running"],
         "usage: promptab experiments list", "'--status'", "'--start'"),
        (["experiments", "create", "x", "--workspace", "w.duckdb", "--variants", "a=1,b=2",
          "--endsat", "2027-01-01"], "usage: promptab experiments create", "'--ends-at'", "'--end'"),
        (["simulate", "aa", "--experiments", "0"], "usage: promptab simulate aa", None,
         "'--prompts'"),
    ],
)  # fmt: skip
def test_an_unknown_option_is_named_with_its_command(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, hint: str | None,
    not_hint: str,
) -> None:  # fmt: skip
    # the root parser answered: "usage: promptab [-h] [--version] COMMAND ..." and suggested
    # options of other commands ('--stats → did you mean '--status' or '--start'?', where
    # `experiments list` has no --start; `simulate aa --experiments` → '--prompts' of offline)
    code, _, err = run(capsys, *argv)
    assert code == 2 and "unrecognized arguments" in err
    assert usage in err
    if hint:
        assert f"did you mean {hint}" in err
    assert not_hint not in err
