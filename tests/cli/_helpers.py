"""Running the ``promptab`` command in-process and checking its one-line errors."""

from __future__ import annotations

import pytest

from promptab_nb import cli

FLAG = "support-bot-prompt"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == cli.EXIT_USAGE
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("promptab: error: ")
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0]
