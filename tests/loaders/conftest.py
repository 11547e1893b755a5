"""Shared fixtures of the loader tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from promptab_nb.workspace import Workspace

DATA = Path(__file__).resolve().parents[1] / "data"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_events.py


@pytest.fixture
def ws():
    w = Workspace()
    yield w
    w.close()


def accounted(report) -> None:
    """rows read = loaded + rejected + already loaded, per file and in the imports table."""
    for f in report.files:
        assert f.rows_read == f.rows_loaded + f.rows_rejected + f.rows_duplicate, f
