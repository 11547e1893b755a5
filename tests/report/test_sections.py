"""Report sections fed by other objects: reproducing code, offline comparison, rejected rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _events import expo, gen, unpriced_generations, write  # noqa: E402

import promptab_nb as pab
from promptab_nb import report
from promptab_nb._html import el

from ._helpers import NS, _doc, _text


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


DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize("source", ["langfuse", "spanlens"])
def test_reproducing_code_uses_the_loaders_calls(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the code loads with the loader and options the data was loaded with (it said
    # ws.load_posthog for every file, which cannot read these exports)
    monkeypatch.chdir(DATA.parent)
    ws = pab.Workspace()
    if source == "langfuse":
        ws.load_langfuse("data/langfuse_observations.json", scores="data/langfuse_scores.jsonl",
                         pass_threshold=0.7, progress=False)  # fmt: skip
        exp = ws.create_experiment("lf", "support-bot", {"v3": "3", "v4": "4"})
    else:
        ws.load_spanlens("data/spanlens_requests.csv", arm_column="arm", progress=False)
        exp = ws.create_experiment("sl", None, {"A": "A", "B": "B"}, unit="request")
    res = exp.analyze(["latency", "cost"])
    code = report.reproducing_code(res, exp)
    assert "load_posthog" not in code and code.count(f"ws.load_{source}(") == 1
    scope: dict = {}
    exec(compile(code.replace("report.html", str(tmp_path / "r.html")), "<code>", "exec"), scope)  # noqa: S102
    pd.testing.assert_frame_equal(scope["res"].to_pandas(), res.to_pandas())


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


def test_over_time_figure_shows_the_cost_the_verdict_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import math

    from promptab_nb import plots
    from promptab_nb.results import OverTimeResult

    pytest.importorskip("genai_prices")
    # generations of a priced model with tokens but no cost: the export priced nothing
    frame = unpriced_generations(
        6,
        model=lambda i, k: "gpt-4o-mini",
        output_tokens=lambda i, rng: int(rng.integers(10, 300)) * (1 if i % 2 else 2),
    )
    ws = pab.Workspace()
    ws.load_frame(frame, kind="generations")
    exp = ws.create_experiment("priced", "bot", {"control": "v1", "test": "v2"})
    drawn: list[OverTimeResult] = []
    real = plots.cumulative
    monkeypatch.setattr(plots, "cumulative", lambda ot, **kw: drawn.append(ot) or real(ot, **kw))
    for cost in ("source", "recompute"):
        res = exp.analyze(["cost"], cost=cost)
        report.render(res, ws=ws)
        last, row = drawn[-1].records[-1], res.rows[1]
        if cost == "source":  # nothing priced: no verdict, and none over time
            assert math.isnan(row.p_value) and math.isnan(last["p_value"])
        else:
            assert last["estimate"] == pytest.approx(row.rel_diff, rel=1e-9)
            assert last["p_value"] == pytest.approx(row.p_value, rel=1e-6) and row.p_value < 0.05
    assert len(drawn) == 2
    ws.close()


def test_headline_names_withheld_verdicts_instead_of_no_difference(
    res: pab.ExperimentResult,
) -> None:
    # An arm whose p-values were all withheld read "no significant difference from control on
    # 4 metric(s)" in the verdict's headline while every sentence under it said "no verdict".
    import dataclasses
    import math

    from promptab_nb.report._sections import _headline
    from promptab_nb.results import ArmRow

    def withhold(r: ArmRow, metrics: set[str]) -> ArmRow:
        if r.is_control or r.metric not in metrics:
            return r
        nan = math.nan
        return dataclasses.replace(r, p_value=nan, significant=False, chance_to_win=nan,
                                   note="not enough data")  # fmt: skip

    names = [m.name for m in res.metrics]
    all_withheld = dataclasses.replace(res, rows=tuple(withhold(r, set(names)) for r in res.rows))
    head = _headline(all_withheld)
    assert "no significant difference" not in head
    assert head == f"test: no verdict on {', '.join(names)}"
    some = dataclasses.replace(res, rows=tuple(withhold(r, {names[-1]}) for r in res.rows))
    assert f"no verdict on {names[-1]}" in _headline(some)
    assert f"on {len(names)} metric(s)" not in _headline(some)


def _options(res: pab.ExperimentResult) -> dict[str, str]:
    doc = _doc(report.render(res, over_time=False))
    methods = next(s for s in doc.iter(f"{NS}section") if s.get("id") == "methods")
    cells = [tr.findall(f"{NS}td") for tr in methods.iter(f"{NS}tr")]
    return {_text(c[0]): _text(c[1]) for c in cells if c}


def test_options_table_states_the_alternative_prior_cost_and_segments(exp: pab.Experiment) -> None:
    # With alternative="less" the table said "significance level α (two-sided)", and the prior
    # that moved the credible intervals, the cost source and the segments were in no row.
    from promptab_nb.stats import GaussianPrior

    res = exp.analyze(["latency", "cost"], alternative={"latency": "less"}, method="bayesian",
                      prior=GaussianPrior(0, 0.1), cost="recompute")  # fmt: skip
    rows = _options(res)
    assert "significance level α (two-sided)" not in rows
    assert rows["alternative hypothesis"] == (
        "latency: one-sided, H1: treatment < control; cost: two-sided"
    )
    assert (
        rows["Bayesian prior"] == "Gaussian on the relative lift (fraction): mean 0, variance 0.1"
    )
    assert rows["cost"].startswith("recomputed")
    assert rows["segments"] == "none"
    rows = _options(exp.analyze(["latency"]))
    assert rows["alternative hypothesis"] == "two-sided" and rows["Bayesian prior"] == "–"


def test_options_table_names_the_sequential_relative_interval(exp: pab.Experiment) -> None:
    # under sequential the relative interval inverts the always-valid test (Fieller), as the
    # methods line says; the options table said "delta-method CI (as PostHog)"
    import re

    def row(res: pab.ExperimentResult) -> str:
        found = re.search(r"<td>relative effects</td><td>([^<]*)</td>", report.render(res))
        assert found is not None
        return found.group(1)

    seq = row(exp.analyze(["cost"], sequential=True))
    assert "delta-method" not in seq and "Fieller" in seq and "sequential test" in seq
    assert row(exp.analyze(["cost"])) == "treatment / control − 1, delta-method CI (as PostHog)"


@pytest.mark.parametrize("correction", ["holm", "bonferroni", "bh", None])
def test_metric_tables_say_their_intervals_are_unadjusted(exp: pab.Experiment, correction) -> None:  # noqa: ANN001
    # the result's own tables carry this note under a correction; the report's did not
    res = exp.analyze(["cost", "latency"], correction=correction)
    text = " ".join(_text(_doc(report.render(res))).split())
    note = res.correction_note()
    if correction is None:
        assert note is None and "-adjusted across" not in text
    else:
        assert note is not None and text.count(note) == len(res.metrics)


def test_over_time_figure_is_of_the_analysis_window_and_unit(
    ws: pab.Workspace, exp: pab.Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the cumulative curve read every exposure and event per user beside an analysis of
    # start/end per request: its last point was not the estimate in the table above it
    from promptab_nb import plots
    from promptab_nb.results import OverTimeResult

    drawn: list[OverTimeResult] = []
    real = plots.cumulative
    monkeypatch.setattr(plots, "cumulative", lambda ot, **kw: drawn.append(ot) or real(ot, **kw))
    for kw in ({"start": "2025-03-04", "end": "2025-03-06T12:00:00"}, {"unit": "request"}):
        res = exp.analyze(["latency", "error_rate"], relative=False, **kw)
        drawn.clear()
        report.render(res, ws=ws)
        assert [ot.metric.name for ot in drawn] == ["latency", "error_rate"]
        for ot, row in zip(drawn, (r for r in res.rows if not r.is_control), strict=True):
            last = ot.records[-1]
            assert last["n_treatment"] == row.n
            assert last["estimate"] == pytest.approx(row.diff, rel=1e-9)
            assert last["p_value"] == pytest.approx(row.p_value, rel=1e-6)


def test_uncounted_rejects_read_unknown_not_zero(res: pab.ExperimentResult) -> None:
    """A Spark table has no load that counts rejects (rows_rejected None): the provenance table
    and the health checks say "unknown", not 0 (cells are read without spaces between them)."""
    import dataclasses

    spark = dataclasses.replace(
        res, provenance=tuple({**p, "rows_rejected": None} for p in res.provenance)
    )
    text = _text(_doc(report.render(spark, over_time=False)))
    rows = f"{res.provenance[0]['rows_loaded']:,}"
    assert "rows rejected during loadunknown" in text and f"{rows}unknown" in text
    counted = _text(_doc(report.render(res, over_time=False)))
    assert "rows rejected during load0" in counted and f"{rows}0" in counted


def test_a_per_request_analysis_is_described_per_request(
    ws: pab.Workspace, exp: pab.Experiment
) -> None:
    # under unit="request" the verdicts said "per request" but the heading, the caption of
    # the means figure and the cumulative figure's alt text still said "per user"
    res = exp.analyze(["cost", "latency"], unit="request")
    doc = _doc(report.render(res, ws=ws))
    heads = [_text(h) for h in doc.iter(f"{NS}h2")]
    assert "cost: cost per request (USD)" in heads
    assert "latency: mean latency per request (s)" in heads
    alts = [img.get("alt") for img in doc.iter(f"{NS}img")]
    assert any(a.startswith("Mean mean latency per request (s) per variant") for a in alts)
    assert any(a.startswith("Cumulative effect on cost per request (USD)") for a in alts)
    assert not any("per user" in a for a in alts) and not any("per user" in h for h in heads)


def test_reproducing_code_keeps_the_design_rollout_and_assignment(
    ws: pab.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the code created the experiment without its goal, guardrail margins, MDE, power and
    # rollout: the decision it reproduced had another goal and no planned sample, and the
    # total impact of cost was half the report's with rollout=50
    exp = ws.create_experiment(
        "designed", None, {"control": "v1", "test": "v2"}, flag_key="support-bot-prompt", rollout=50,
        goal="latency", guardrails={"cost": "+5%", "error_rate": None}, mde="-5%", power=0.9,
        assigned_by="flag",
    )  # fmt: skip
    res = exp.analyze(["cost", "latency", "error_rate"])
    code = report.reproducing_code(res, exp)
    assert "rollout=50" in code and "goal='latency'" in code and "mde='-5%'" in code
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "<report code>", "exec"), scope)  # noqa: S102
    again = scope["res"]
    assert again.design == res.design
    _assert_close(again.decision().to_dict(), res.decision().to_dict())
    pd.testing.assert_frame_equal(again.impacts[0].to_pandas(), res.impacts[0].to_pandas())


def _assert_close(a: object, b: object) -> None:
    """``a == b`` up to float rounding (a reload sums in another order: p 5.3906040606114e-05
    against 5.3906040606119e-05 made the exact comparison fail one run in a few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_close(a[k], b[k])
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, nan_ok=True)
    else:
        assert a == b


def test_rejected_rows_are_not_called_healthy(tmp_path: Path) -> None:
    # a third of an export rejected: the health block said "No warnings: the assignment looks
    # healthy." above a table counting the rejected rows
    events = []
    for i in range(120):
        events += [
            expo(f"e{i}", f"u{i}", i, "control" if i % 2 else "test"),
            gen(f"g{i}", f"u{i}", i + 1),
        ]
    events += [{**gen(f"bad{i}", f"u{i}", 500), "distinct_id": None} for i in range(60)]
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["csv"], progress=False)
    exp = ws.create_experiment("r", None, {"control": "1", "test": "1"}, flag_key="prompt-test")
    doc = _doc(report.render(exp, over_time=False))
    section = next(s for s in doc.iter(f"{NS}section") if s.get("id") == "health")
    status = " ".join(_text(next(section.iter(f"{NS}div"))).split())
    assert "No warnings" not in status
    assert "60 of the 300 rows read were rejected during load" in status


def test_reproducing_code_keeps_a_split_that_is_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The code left out any split equal to 100 / k per arm, but the default of three arms is
    # PostHog's 33/33/34: an experiment made with split=[100/3]*3 came back with 33/33/34,
    # another SRM test (and audit) than the report's.
    from analysis._scenarios import workspace

    ws, first = workspace(tmp_path, {k: [[{}] for _ in range(40 + 5 * i)]
                                     for i, k in enumerate(["control", "b", "c"])})  # fmt: skip
    first.stop()
    exp = ws.create_experiment("thirds", "support", {"control": "1", "b": "2", "c": "3"},
                               flag_key="prompt-test", split=[100 / 3] * 3)  # fmt: skip
    res = exp.analyze(["latency"])
    code = report.reproducing_code(res, exp)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "<report code>", "exec"), scope)  # noqa: S102
    assert scope["exp"].split == exp.split
    assert scope["res"].health.srm_p_value == res.health.srm_p_value


def test_metric_tables_name_confidence_sequences_under_sequential(exp: pab.Experiment) -> None:
    # the report's metric table said "Δ 95% CI" and the forest's alt text "95% confidence
    # intervals" over the confidence sequences the result table names as such
    res = exp.analyze(["cost", "latency"], sequential=True)
    assert res.effect_interval() == "confidence sequence"
    doc = _doc(report.render(res))
    heads = [" ".join(_text(th).split()) for th in doc.iter(f"{NS}th")]
    assert "Δ 95% confidence sequence" in heads and "Δ relative 95% confidence sequence" in heads
    assert "Δ 95% CI" not in heads and "Δ relative 95% CI" not in heads
    assert "mean 95% CI" in heads  # (an arm's mean keeps its fixed-horizon CI)
    alts = [img.get("alt") for img in doc.iter(f"{NS}img")]
    forest = next(a for a in alts if a.startswith("Forest plot"))
    assert "95% confidence sequences" in forest and "confidence intervals" not in forest
    fixed = _doc(report.render(exp.analyze(["cost"])))
    assert "Δ 95% CI" in [" ".join(_text(th).split()) for th in fixed.iter(f"{NS}th")]


def test_a_missing_interval_is_one_dash_not_a_range_of_dashes(res: pab.ExperimentResult) -> None:
    # an arm of one unit has a mean and no CI, a zero baseline no relative CI: the report's
    # cells read "– to –" (to_markdown's '(– – –)' was fixed the same way, 1a7ad47)
    import dataclasses
    import math

    from promptab_nb.report._sections import _metric_rows

    nan = math.nan
    m = res.metrics[0]
    rows = tuple(
        dataclasses.replace(r, mean_ci_low=nan, mean_ci_high=nan, rel_ci_low=nan, rel_ci_high=nan)
        if r.metric == m.name
        else r
        for r in res.rows
    )
    cells = [[str(c) for c in row] for row in _metric_rows(dataclasses.replace(res, rows=rows), m)]
    assert all("– to –" not in c for row in cells for c in row), cells
    assert [row[3] for row in cells] == ["<span>–</span>"] * len(cells)
    assert "to" in cells[1][5]  # (the absolute difference keeps its interval)


def test_the_bayesian_forest_is_described_with_credible_intervals(exp: pab.Experiment) -> None:
    # the forest draws the posterior's credible intervals (05d81cc); its alt text said
    # "95% confidence intervals"
    doc = _doc(report.render(exp.analyze(["cost", "latency"], method="bayesian")))
    forest = next(i.get("alt") for i in doc.iter(f"{NS}img") if i.get("alt").startswith("Forest"))
    assert "95% credible intervals" in forest and "confidence" not in forest, forest
