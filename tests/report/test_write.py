"""Writing the report file: atomic, folders created, unwritable paths named; the browser view."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import promptab_nb as pab
from promptab_nb import report

ROOT = Path(__file__).resolve().parents[2]


def test_write_returns_path_and_creates_folders(res: pab.ExperimentResult, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "r.html"
    out = report.write(res, target, over_time=False)
    assert out == target and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p for p in target.parent.iterdir() if p.name != "r.html"]  # no temp file left


def test_write_unwritable_path_names_it(res: pab.ExperimentResult, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    bad = blocker / "r.html"
    with pytest.raises(pab.DataError, match=re.escape(str(bad))):
        report.write(res, bad, over_time=False)
    with pytest.raises(pab.DataError, match="directory"):
        report.write(res, tmp_path, over_time=False)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_screenshot_in_headless_chromium(exp: pab.Experiment, tmp_path: Path) -> None:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("headless Chromium is not installed (/usr/bin/chromium missing)")
    page = report.write(exp, tmp_path / "report.html")
    shots = ROOT / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / "report.png"
    png.unlink(missing_ok=True)
    cmd = [
        str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--window-size=1100,2400",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
