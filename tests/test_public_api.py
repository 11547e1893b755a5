from __future__ import annotations

import subprocess
import sys

import promptab_nb as pab

EXPECTED = [
    "DataError",
    "Experiment",
    "ExperimentConflict",
    "ExperimentResult",
    "ExperimentStateError",
    "Flag",
    "InvalidArgumentError",
    "Metric",
    "MissingColumnError",
    "NotFoundError",
    "PromptabError",
    "UnknownFormatError",
    "Workspace",
    "WorkspaceInUseError",
    "assign",
    "offline",
    "plan",
    "plots",
    "report",
    "simulate",
    "split",
    "stats",
    "widgets",
]


def test_all_is_pinned() -> None:
    assert sorted(pab.__all__) == sorted(EXPECTED)


def test_every_public_name_resolves() -> None:
    for name in pab.__all__:
        assert getattr(pab, name) is not None, name


def test_import_is_light() -> None:
    code = (
        "import sys, promptab_nb; "
        "print(any(m in sys.modules for m in ('matplotlib', 'ipywidgets', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_error_tree() -> None:
    assert issubclass(pab.InvalidArgumentError, ValueError)
    assert issubclass(pab.MissingColumnError, pab.DataError)
    for name in ("DataError", "ExperimentConflict", "ExperimentStateError", "NotFoundError"):
        assert issubclass(getattr(pab, name), pab.PromptabError)
