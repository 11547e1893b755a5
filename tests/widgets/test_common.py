"""What every widget shares: status lines, generated-code literals, cheap reprs and no SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import ipywidgets as W
import pytest

import promptab_nb as pab
from promptab_nb.widgets import _common


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("support-bot", '"support-bot"'),
        ({"control": "v1"}, '{"control": "v1"}'),
        ([70, 30], "[70, 30]"),
        ((("a", "1"),), '(("a", "1"),)'),
        (50.0, "50"),
        (0.05, "0.05"),
        (None, "None"),
    ],
)
def test_py_writes_the_literal_a_user_would_type(value, code) -> None:
    assert _common.py(value) == code


def test_status_escapes_and_names_the_tone() -> None:
    box = W.HTML()
    _common.status(box, "<b>bad</b>", "error")
    assert "pab-status error" in box.value and "&lt;b&gt;bad" in box.value
    assert "pab-code" in _common.code_box("exp.stop()")


def test_lazy_exports() -> None:
    assert pab.widgets.ExperimentBuilder.__module__ == "promptab_nb.widgets.builder"
    assert set(pab.widgets.__all__) == {"ExperimentBuilder", "OfflineViewer", "ResultsDashboard"}


def test_widgets_run_no_sql_and_stay_small() -> None:
    # Presentation asks the workspace (ws.prompt_names(), ws.baseline_estimates(), ...).
    folder = Path(_common.__file__).parent
    for path in folder.glob("*.py"):
        source = path.read_text()
        calls = {
            n.func.attr
            for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        }
        assert not calls & {"sql", "fetch", "execute"}, path.name
        assert "SELECT" not in source, path.name
        assert len(source.splitlines()) < 400, path.name
