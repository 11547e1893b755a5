"""The report's decision card (report/_decision.py), its one health block and its layout at
390 px and 1400 px in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import promptab_nb as pab
from promptab_nb import report

from ._helpers import NS, _doc, _text

CHROMIUM = Path("/usr/bin/chromium")
FLAG = "support-bot-prompt"


@pytest.fixture(scope="module")
def designed(ws: pab.Workspace) -> pab.Experiment:
    exp = ws.create_experiment(
        "designed", None, {"control": "v1", "test": "v2"}, flag_key=FLAG, goal="latency",
        guardrails={"error_rate": "+1pp", "cost": "+5%"}, mde="-5%",
    )  # fmt: skip
    exp.set_design(guardrails={"error_rate": "+0.5pp", "cost": "+5%"})
    return exp


def test_decision_card_is_first_and_coloured(designed: pab.Experiment) -> None:
    res = designed.analyze()
    d = res.decision()
    doc = _doc(report.render(res, ws=designed.ws))
    sections = [s for s in doc.iter(f"{NS}section")]
    assert sections[0].get("id") == "decision"
    card = sections[0]
    assert card.get("class") == f"decision {d.action}"
    text = " ".join(_text(card).split())
    assert f"Decision: {d.headline}" in text
    for reason in d.reasons:
        assert " ".join(reason.split()) in text
    # the change of the error-rate margin after the start is shown with its time
    assert "Design changed after the start" in text and "error_rate +1pp" in text
    assert "error_rate +0.5pp" in text


def test_one_health_block(designed: pab.Experiment) -> None:
    res = designed.analyze()
    html = report.render(res, ws=designed.ws)
    for flag in res.health.flags:
        assert html.count(flag.message) <= 1, flag.code
    doc = _doc(html)
    health = next(s for s in doc.iter(f"{NS}section") if s.get("id") == "health")
    alts = [img.get("alt") for img in health.iter(f"{NS}img")]
    assert any("first exposed per day" in a for a in alts)


def test_report_survives_infinite_timestamps(designed: pab.Experiment, tmp_path: Path) -> None:
    ws = pab.Workspace()
    ws.load_posthog(
        next(Path(p["file"]) for p in designed.analyze().provenance if p.get("file")),
        progress=False,
    )
    exp = ws.create_experiment("inf", None, {"control": "v1", "test": "v2"}, flag_key=FLAG)
    with ws.transaction() as con:
        con.execute(
            "UPDATE generations SET ts = TIMESTAMPTZ 'infinity' WHERE uuid IN "
            "(SELECT uuid FROM generations ORDER BY uuid LIMIT 3)"
        )
        con.execute(
            "UPDATE generations SET ts = TIMESTAMPTZ '9999-12-31 00:00:00+00' WHERE uuid IN "
            "(SELECT uuid FROM generations ORDER BY uuid DESC LIMIT 3)"
        )
    path = report.write(exp, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _chromium() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    found = shutil.which("chromium")
    if not found:
        pytest.skip("headless Chromium is not installed")
    return found


def _flags(profile: Path) -> list[str]:
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--allow-file-access-from-files",
    ]  # fmt: skip


def _scroll_width(html: str, tmp_path: Path, width: int) -> tuple[int, int]:
    """(page scroll width, frame width) of ``html`` in an iframe ``width`` px wide."""
    probe = (
        "<script>parent.document.body.setAttribute('data-sw', "
        "document.documentElement.scrollWidth + '/' + window.innerWidth)</script></body>"
    )
    (tmp_path / "report.html").write_text(html.replace("</body>", probe), encoding="utf-8")
    frame = tmp_path / "frame.html"
    frame.write_text(
        f'<html><body style="margin:0"><iframe src="report.html" '
        f'style="width:{width}px;height:2400px;border:0"></iframe></body></html>'
    )
    cmd = [_chromium(), *_flags(tmp_path / "profile"), f"--window-size={max(width, 500)},2400",
           "--virtual-time-budget=5000", "--dump-dom", frame.as_uri()]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    scroll, _, inner = out.partition('data-sw="')[2].partition('"')[0].partition("/")
    return int(scroll), int(inner)


@pytest.mark.parametrize("width", [390, 1400])
def test_no_page_wide_horizontal_scroll(
    designed: pab.Experiment, tmp_path: Path, width: int
) -> None:
    """The page in an iframe ``width`` px wide: its scroll width fits (tables and figures scroll
    in their own box); a screenshot is kept in reports/screenshots/ for a person to look at."""
    scroll, inner = _scroll_width(
        report.render(designed.analyze(), ws=designed.ws), tmp_path, width
    )
    assert scroll <= inner == width
    frame = tmp_path / "frame.html"
    shots = Path(__file__).resolve().parents[2] / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / f"report-{width}.png"
    cmd = [_chromium(), *_flags(tmp_path / "profile2"), "--hide-scrollbars",
           f"--window-size={max(width, 500)},2400", f"--screenshot={png}", frame.as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_progress_bar_does_not_round_an_unreached_plan_up_to_100() -> None:
    # 99.6 % of the plan read "100% of the planned sample reached" beside "not reached"
    from types import SimpleNamespace

    from promptab_nb.report._decision import _progress

    def bar(share: float) -> str:
        d = SimpleNamespace(arms=[SimpleNamespace(progress=SimpleNamespace(share=share))])
        return str(_progress(d))  # type: ignore[arg-type]

    assert "99% of the planned sample" in bar(0.996) and "100%" not in bar(0.996)
    assert "100% of the planned sample reached" in bar(1.0)


def test_a_long_unbroken_name_does_not_widen_the_page(ws: pab.Workspace, tmp_path: Path) -> None:
    # An experiment named without spaces (snake_case, 75 characters) ran the title, headings
    # and the verdict's headline past the right edge at 390 px: only lists and paragraphs
    # wrapped anywhere, so the page scrolled sideways and the headline was cut.
    name = "Q3_support_bot_prompt_rewrite_tone_and_brevity_experiment_EU_customers_2026"
    exp = ws.create_experiment(name, None, {"control": "v1", "test": "v2"}, flag_key=FLAG)
    html = report.render(exp.analyze(["latency"]), ws=ws, over_time=False)
    exp.stop()
    scroll, inner = _scroll_width(html, tmp_path, 390)
    assert scroll <= inner == 390


def test_an_empty_window_has_no_decision_card(designed: pab.Experiment) -> None:
    # a window after the data: the card read "Decision: Keep running" (with a progress bar),
    # as if more days would decide it; there is nothing to decide, and the card says why once
    res = designed.analyze(start="2099-01-01")
    card = next(s for s in _doc(report.render(res)).iter(f"{NS}section"))
    text = " ".join(_text(card).split())
    assert "Keep running" not in text and text.count("No decision") == 1, text
    assert "no decision:" not in text and "start 2099-01-01" in text and "widen" in text, text
