"""Shared steps of the end-to-end source tests: the shipped sample files, the report and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

import promptab_nb as pab
from promptab_nb import cli

DATA = Path(__file__).resolve().parents[2] / "data"


def rows(res: Any) -> pd.DataFrame:
    """The result table indexed by (metric, variant)."""
    return res.to_pandas().set_index(["metric", "variant"])


def write_report(res: Any, ws: Any, tmp_path: Path) -> str:
    """Write the HTML report and return its text (it names the assignment source)."""
    path = pab.report.write(res, tmp_path / "report.html", ws=ws)
    html = Path(path).read_text(encoding="utf-8")
    assert res.health.source.split(";")[0] in html
    return html


def run_cli(capsys: Any, *argv: str) -> tuple[str, dict[str, Any]]:
    """Run ``promptab analyze`` twice: the text output (exit 0) and the ``--json`` document."""
    assert cli.main(["analyze", *argv]) == 0
    text = capsys.readouterr().out
    assert cli.main(["analyze", *argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    return text, doc


def json_rows(doc: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(doc["rows"]).set_index(["metric", "variant"])
