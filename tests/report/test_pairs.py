"""The report's "All pairs" section (more than two arms) and total-impact lines (cost)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import promptab_nb as pab
from promptab_nb import report
from promptab_nb._format import num, pval

from ._helpers import NS, _doc, _text

FLAG = "three-arm-flag"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> pab.Experiment:
    truth = pab.simulate.traffic(
        900,
        {"control": "v1", "a": "v2", "b": "v3"},
        {"b": {"latency": 1.3, "error_rate": 0.1}},
        out=tmp_path_factory.mktemp("three") / "events",
        seed=7,
        days=3,
        flag_key=FLAG,
        progress=False,
    )
    ws = pab.Workspace()
    ws.load_posthog(Path(truth.files["parquet"]), progress=False)
    return ws.create_experiment(
        "three arms", "support-bot", {"control": "v1", "a": "v2", "b": "v3"}, flag_key=FLAG
    )


def _section(html: str, id_: str):  # noqa: ANN202
    doc = _doc(html)
    return next((s for s in doc.iter(f"{NS}section") if s.get("id") == id_), None)


def test_all_pairs_section_shows_the_corrected_pairs(three: pab.Experiment) -> None:
    res = three.analyze(["cost", "latency", "error_rate"], correction="bh")
    html = report.render(res, over_time=False)
    section = _section(html, "all-pairs")
    assert section is not None
    text = " ".join(_text(section).split())
    assert "Benjamini–Hochberg across the 3 pairs" in text
    tables = section.findall(f"{NS}table")
    assert len(tables) == 3
    for table, m in zip(tables, ("cost", "latency", "error_rate"), strict=True):
        pairs = res.all_pairs(m)
        assert pairs.correction == "bh"
        want = three.compare_all(m, correction="bh")
        assert [p.p_adjusted for p in pairs.pairs] == pytest.approx(
            [p.p_adjusted for p in want.pairs], rel=1e-12
        )
        body = table.find(f"{NS}tbody")
        cells = [[_text(td) for td in tr.findall(f"{NS}td")] for tr in body.findall(f"{NS}tr")]
        assert [c[0] for c in cells] == ["a − control", "b − control", "b − a"]
        for got, p in zip(cells, pairs.pairs, strict=True):
            assert got[1] == num(p.diff, pairs.unit, signed=True)
            assert got[2] == (
                f"{num(p.ci_low, pairs.unit, signed=True)} to "
                f"{num(p.ci_high, pairs.unit, signed=True)}"
            )
            assert got[3] == pval(p.p_value) and got[4] == pval(p.p_adjusted)
            assert got[5] == ("yes" if p.significant else "no")
    # latency and errors really differ between b and the others
    assert res.all_pairs("error_rate").pairs[1].significant


def test_a_sequential_analysis_compares_pairs_sequentially(three: pab.Experiment) -> None:
    res = three.analyze(["cost"], sequential=True)
    assert all(p.sequential for p in res.pairs)
    text = " ".join(_text(_section(report.render(res, over_time=False), "all-pairs")).split())
    assert "always-valid mSPRT" in text and "confidence sequences" in text
    assert not any(p.sequential for p in three.analyze(["cost"]).pairs)


def test_total_impact_in_the_cost_section_only(three: pab.Experiment) -> None:
    res = three.analyze(["cost", "latency"])
    html = report.render(res, over_time=False)
    cost = " ".join(_text(_section(html, "metric-cost")).split())
    imp = res.total_impact("cost")
    for line in imp.lines():
        assert line in cost
    assert f"Users reached over the period: {imp.describe_units()}" in cost
    exposed = sum(res.health.exposed.values()) + res.health.multiple
    assert imp.units == exposed  # a 100 % rollout
    for variant in ("a", "b"):
        row = next(r for r in res.rows if r.metric == "cost" and r.variant == variant)
        assert imp[variant].total == pytest.approx(row.diff * exposed, rel=1e-12)
        assert imp[variant].total_ci_low == pytest.approx(row.diff_ci_low * exposed, rel=1e-12)
    assert "Total impact" not in _text(_section(html, "metric-latency"))
    with pytest.raises(pab.InvalidArgumentError, match="no total impact"):
        res.total_impact("latency")
    month = imp.with_units(30_000)
    assert month["a"].total == pytest.approx(imp["a"].per_unit * 30_000)
    assert res.total_impact("cost", units=30_000) == month


def test_total_impact_scales_by_the_rollout(three: pab.Experiment) -> None:
    # A flag rolled out to half of the users: the experiment saw half the traffic.
    half = dataclasses.replace(three, rollout=50.0)
    full, res = three.analyze(["cost"]).total_impact("cost"), half.analyze(["cost"])
    imp = res.total_impact("cost")
    assert imp.units == 2 * full.units and imp.traffic_share == 50
    assert imp["b"].total == pytest.approx(2 * full["b"].total, rel=1e-12)
    assert "÷ 50 % of traffic" in imp.describe_units() and "÷ 50 %" in repr(imp)


def test_two_arm_report_has_no_all_pairs_section(html: str) -> None:
    assert _section(html, "all-pairs") is None


def test_all_pairs_captions_say_per_request_under_unit_request(three: pab.Experiment) -> None:
    res = three.analyze(["cost", "latency"], unit="request")
    section = _section(report.render(res, over_time=False), "all-pairs")
    captions = [_text(c) for c in section.iter(f"{NS}caption")]
    assert captions == [
        "cost: cost per request (USD), every pair of arms",
        "latency: mean latency per request (s), every pair of arms",
    ]


def test_a_metric_with_an_arm_left_out_says_how_many_pairs_it_adjusted_across(
    tmp_path: Path,
) -> None:
    # Control unpriced: cost leaves it out of its pairs and Holm adjusts the one pair left
    # (c − b), while the section said "adjusted by Holm across the 3 pairs of each metric".
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": None}] for _ in range(60)],
        "b": [[{"cost": 0.01 + 0.001 * (u % 3)}] for u in range(60)],
        "c": [[{"cost": 0.01 + 0.001 * (u % 4)}] for u in range(60)],
    })  # fmt: skip
    res = exp.analyze(["cost", "latency"])
    assert [len(p.pairs) for p in res.pairs] == [1, 3]
    text = " ".join(_text(_section(report.render(res, over_time=False), "all-pairs")).split())
    assert "cost: Holm adjusts the 1 pair left" in text, text
    assert "latency: Holm adjusts" not in text
    ws.close()
