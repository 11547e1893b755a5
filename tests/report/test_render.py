"""The rendered report: valid, self-contained, escaped, and showing the same numbers as the
result."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from _events import expo, gen, write  # noqa: E402

import promptab_nb as pab
from promptab_nb import report
from promptab_nb._format import num, pval

from ._helpers import HOSTILE, NS, _doc, _text


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
    assert {"decision", "verdict", "health", "methods", "provenance", "reproduce"} <= ids
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


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_chance_to_be_better_in_every_mode(exp: pab.Experiment, method: str) -> None:
    res = exp.analyze(["latency"], method=method)
    doc = _doc(report.render(res, over_time=False))
    heads = [_text(th) for th in doc.iter(f"{NS}th")]
    assert "chance to be better" in heads and "chance to win" not in heads
    treat = next(r for r in res.rows if not r.is_control)
    assert num(treat.chance_to_win, "%") in _text(doc)


def test_render_rejects_other_objects() -> None:
    with pytest.raises(pab.InvalidArgumentError, match="ExperimentResult or an Experiment"):
        report.render("not a result")  # type: ignore[arg-type]
