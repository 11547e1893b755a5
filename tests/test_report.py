"""The HTML report: valid, self-contained, escaped, and showing the same numbers as the result."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import html5lib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb import report
from promptab_nb._format import num, pval
from promptab_nb._html import el

sys.path.insert(0, str(Path(__file__).parent))
from _events import expo, gen, write  # noqa: E402

NS = "{http://www.w3.org/1999/xhtml}"
FLAG = "support-bot-prompt"
HOSTILE = "<script>alert(1)</script>\"'&"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "events"
    truth = pab.simulate.traffic(
        700,
        {"control": "v1", "test": "v2"},
        {"test": {"latency": 0.85, "error_rate": 0.08}},
        out=out,
        seed=11,
        flag_key=FLAG,
        days=5,
        progress=False,
    )
    return Path(truth.files["parquet"])


@pytest.fixture(scope="module")
def ws(export: Path) -> pab.Workspace:
    w = pab.Workspace()
    w.load_posthog(export, progress=False)
    return w


@pytest.fixture(scope="module")
def exp(ws: pab.Workspace) -> pab.Experiment:
    return ws.create_experiment(
        HOSTILE, "support-bot", {"control": "v1", "test": "v2"}, flag_key=FLAG, ends_at="2099-01-01"
    )


@pytest.fixture(scope="module")
def res(exp: pab.Experiment) -> pab.ExperimentResult:
    return exp.analyze()


@pytest.fixture(scope="module")
def html(res: pab.ExperimentResult, ws: pab.Workspace) -> str:
    return report.render(res, ws=ws, title=f"Report {HOSTILE}")


def _doc(html: str):  # noqa: ANN202
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(html)


def _text(node) -> str:  # noqa: ANN001
    return "".join(node.itertext())


def test_report_is_valid_html5(html: str) -> None:
    doc = _doc(html)  # strict: raises on any parse error
    assert doc.find(f".//{NS}title") is not None
    assert html.startswith("<!DOCTYPE html>")


def test_report_is_self_contained(html: str) -> None:
    doc = _doc(html)
    for node in doc.iter():
        for attr in ("src", "href"):
            value = node.get(attr)
            if value is not None:
                assert value.startswith(("data:", "#")), f"{node.tag} {attr}={value[:60]}"
    assert doc.find(f".//{NS}script") is None
    assert doc.find(f".//{NS}link") is None
    assert "@import" not in html and "url(" not in html


def test_images_have_alt_text_and_tables_have_headers(html: str, res: pab.ExperimentResult) -> None:
    doc = _doc(html)
    imgs = doc.findall(f".//{NS}img")
    assert imgs, "the report embeds figures"
    for img in imgs:
        assert img.get("src").startswith("data:image/png;base64,")
        assert len(img.get("alt", "").strip()) > 10
    tables = doc.findall(f".//{NS}table")
    assert len(tables) >= len(res.metrics) + 3  # metrics, exposure, checks, options, files
    for t in tables:
        ths = t.findall(f"./{NS}thead/{NS}tr/{NS}th")
        assert ths and all(th.get("scope") == "col" for th in ths)


def test_sections_present(html: str, res: pab.ExperimentResult) -> None:
    doc = _doc(html)
    ids = {s.get("id") for s in doc.iter(f"{NS}section")}
    assert {"verdict", "health", "methods", "provenance", "reproduce"} <= ids
    assert {f"metric-{m.name}" for m in res.metrics} <= ids
    text = _text(doc)
    for sentence, _ in res.verdicts():
        assert " ".join(sentence.split()) in " ".join(text.split())
    for line in res.methods:
        assert line in text
    prov = res.provenance[0]
    assert prov["sha256"] in text and f"{prov['rows_read']:,}" in text
    assert "planned end" in text and "2099-01-01" in text


def _fmt_ci(lo: float, hi: float, unit: str, signed: bool = False) -> str:
    return f"{num(lo, unit, signed=signed)} to {num(hi, unit, signed=signed)}"


def test_numbers_equal_to_pandas(html: str, res: pab.ExperimentResult) -> None:
    doc = _doc(html)
    df = res.to_pandas()
    for m in res.metrics:
        section = next(s for s in doc.iter(f"{NS}section") if s.get("id") == f"metric-{m.name}")
        body = section.find(f".//{NS}table/{NS}tbody")
        cells = [[_text(td) for td in tr.findall(f"{NS}td")] for tr in body.findall(f"{NS}tr")]
        rows = df[df["metric"] == m.name].reset_index(drop=True)
        assert len(cells) == len(rows)
        du = "pp" if m.unit == "%" else m.unit
        for got, (_, r) in zip(cells, rows.iterrows(), strict=True):
            assert got[0].startswith(r["variant"])
            assert got[1] == f"{int(r['n']):,}"
            assert got[2] == num(r["mean"], m.unit)
            assert got[3] == _fmt_ci(r["mean_ci_low"], r["mean_ci_high"], m.unit)
            if r["is_control"]:
                assert got[4:9] == [""] * 5
                continue
            assert got[4] == num(r["diff"], du, signed=True)
            assert got[5] == _fmt_ci(r["diff_ci_low"], r["diff_ci_high"], du, signed=True)
            assert got[6] == num(r["rel_diff"], "%", signed=True)
            assert got[7] == _fmt_ci(r["rel_ci_low"], r["rel_ci_high"], "%", signed=True)
            assert got[8] == pval(r["p_value"])
            assert not math.isnan(r["p_value"])


def test_hostile_strings_are_escaped(html: str) -> None:
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;" in html
    doc = _doc(html)
    assert doc.find(f".//{NS}script") is None
    assert HOSTILE in _text(doc.find(f".//{NS}h1"))
    assert _text(doc.find(f".//{NS}title")) == f"Report {HOSTILE}"


def test_hostile_variant_keys_are_escaped(tmp_path: Path) -> None:
    bad = '<img src=x onerror="alert(1)">'
    events = []
    for i in range(4):
        events.append(expo(f"e{i}", f"u{i}", 0, "control" if i % 2 else bad))
        events.append(gen(f"g{i}", f"u{i}", 1, prompt="p<b>", version="1" if i % 2 else "2"))
    paths = write(events, tmp_path)
    ws = pab.Workspace()
    ws.load_posthog(paths["parquet"], progress=False)
    exp = ws.create_experiment("x", "p<b>", {"control": "1", bad: "2"}, flag_key="prompt-test")
    html = report.render(exp, over_time=False)
    doc = _doc(html)
    assert all(img.get("src").startswith("data:") for img in doc.iter(f"{NS}img"))
    assert "<img src=x" not in html and "p<b>" not in html
    assert bad in _text(doc)
    assert "not enough data" in _text(doc)


def test_figures_are_closed(res: pab.ExperimentResult, exp: pab.Experiment) -> None:
    before = plt.get_fignums()
    report.render(exp, over_time=True)
    assert plt.get_fignums() == before


def test_experiment_input_adds_cumulative_plots(exp: pab.Experiment) -> None:
    html = report.render(exp)
    alts = [img.get("alt") for img in _doc(html).iter(f"{NS}img")]
    if pab.plots.__dict__.get("cumulative"):
        assert sum("over time" in a for a in alts) == len(exp.analyze().metrics)


def test_bayesian_shows_chance_to_win(exp: pab.Experiment) -> None:
    res = exp.analyze(["latency"], method="bayesian")
    doc = _doc(report.render(res, over_time=False))
    heads = [_text(th) for th in doc.iter(f"{NS}th")]
    assert "chance to win" in heads
    treat = next(r for r in res.rows if not r.is_control)
    assert num(treat.chance_to_win, "%") in _text(doc)


def test_reproducing_code_reproduces(
    res: pab.ExperimentResult, exp: pab.Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res2 = exp.analyze(["cost", "latency"], alpha=0.1, winsorize=(1, 99), correction="holm")
    code = report.reproducing_code(res2, exp)
    assert "alpha=0.1" in code and "correction='holm'" in code and "winsorize=" in code
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "<report code>", "exec"), scope)  # noqa: S102
    pd.testing.assert_frame_equal(scope["res"].to_pandas(), res2.to_pandas())
    assert (tmp_path / "report.html").is_file()


def test_offline_section(res: pab.ExperimentResult) -> None:
    class WithHtml:
        def _repr_html_(self) -> str:
            return el("p", "offline <ok>", class_="marker")

    class WithFrame:
        def to_pandas(self) -> pd.DataFrame:
            return pd.DataFrame({"metric": ["<exact>"], "diff": [0.125]})

    html = report.render(res, offline=WithHtml(), over_time=False)
    assert "offline &lt;ok&gt;" in html and 'id="offline"' in html
    html = report.render(res, offline=WithFrame(), over_time=False)
    doc = _doc(html)
    section = next(s for s in doc.iter(f"{NS}section") if s.get("id") == "offline")
    assert [_text(th) for th in section.iter(f"{NS}th")] == ["metric", "diff"]
    assert "&lt;exact&gt;" in html
    assert 'id="offline"' not in report.render(res, over_time=False)


def test_rejects_are_reported(tmp_path: Path) -> None:
    events = [expo("e1", "u1", 0, "control"), gen("g1", "u1", 1), expo("e2", "u2", 0, "test")]
    events.append({**gen("bad", "u3", 2), "distinct_id": None})
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["csv"], progress=False)
    exp = ws.create_experiment("r", None, {"control": "1", "test": "2"}, flag_key="prompt-test")
    text = _text(_doc(report.render(exp, over_time=False)))
    assert "Rows rejected during load" in text and "distinct_id" in text


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


def test_render_rejects_other_objects() -> None:
    with pytest.raises(pab.InvalidArgumentError, match="ExperimentResult or an Experiment"):
        report.render("not a result")  # type: ignore[arg-type]


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
