"""ResultsDashboard driven headlessly: controls map to ``exp.analyze`` options; lifecycle buttons
ask for confirmation; the health banner's tone follows the result's health flags."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math

import numpy as np
import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb.options import CUPED_DAYS, AnalysisOptions
from promptab_nb.results import HealthFlag
from promptab_nb.widgets import ResultsDashboard

from .conftest import ARMS


def test_dashboard_shows_plot_table_health_and_over_time(exp) -> None:
    d = ResultsDashboard(exp)
    assert d.result is not None
    assert d.code == "res = exp.analyze(['cost', 'latency', 'error_rate', 'pass_rate'])"
    assert d.plot.value[:4] == b"\x89PNG" and d.time_plot.value[:4] == b"\x89PNG"
    assert "<table" in d.table.value and "latency" in d.table.value
    assert "exposed units" in d.banner.value and "SRM" in d.banner.value
    assert "ResultsDashboard(" in repr(d)


def test_dashboard_defaults_are_the_analysis_options_defaults(exp) -> None:
    d = ResultsDashboard(exp)
    defaults = AnalysisOptions()
    assert d.alpha.value == defaults.alpha and d.method.value == defaults.method
    assert d.cuped.value is (defaults.cuped is not None)
    assert f"{CUPED_DAYS:g} days" in d.cuped.description
    assert d.options().non_defaults().keys() <= {"metrics", "unit"}


def test_dashboard_controls_map_to_analyze_options(exp) -> None:
    d = ResultsDashboard(exp)
    d.metrics.value = ("latency", "cost")
    d.method.value = "bayesian"
    d.cuped.value = True
    d.winsorize.value = "0–99th pct"
    d.correction.value = "holm"
    d.alpha.value = 0.1
    opts = d.result.options
    assert [m.name for m in d.result.metrics] == ["latency", "cost"]
    assert opts.method == "bayesian" and opts.cuped == 14
    assert opts.winsorize == (0.0, 99.0) and opts.correction == "holm"
    assert d.result.alpha == 0.1
    assert d.code == opts.to_code("res = exp.analyze", exp=exp)
    flat = "".join(d.code.split()).replace(",)", ")")
    assert flat == (
        "res=exp.analyze(['latency','cost'],method='bayesian',alpha=0.1,cuped=14,"
        "winsorize=(0,99),correction='holm')"
    )
    # the code shown is the call that was made
    again = eval(d.code.removeprefix("res = "), {"exp": exp})
    # DuckDB's parallel sums may differ in the last bits between runs
    pd.testing.assert_frame_equal(again.to_pandas(), d.result.to_pandas(), rtol=1e-9)
    d.time_metric.value = "cost"
    assert d._shown_time == ("cost", 0.1, "source")


def test_health_banner_tone_follows_flag_severity(exp) -> None:
    d = ResultsDashboard(exp)
    health = d.result.health
    clean = dataclasses.replace(health, flags=())
    d._banner(clean)
    assert "pab-health ok" in d.banner.value and "health: ok" in d.banner.value
    warn = HealthFlag("multiple", "warning", "3 unit(s) saw more than one variant")
    d._banner(dataclasses.replace(health, flags=(warn,)))
    assert "pab-health warn" in d.banner.value and "health: check" in d.banner.value
    assert "3 unit(s) saw more than one variant" in d.banner.value
    srm = HealthFlag("srm", "error", "sample ratio mismatch")
    d._banner(dataclasses.replace(health, flags=(warn, srm)))
    assert "pab-health error" in d.banner.value and "sample ratio mismatch" in d.banner.value


def test_dashboard_bad_options_show_a_message_and_keep_the_result(exp) -> None:
    d = ResultsDashboard(exp)
    d.metrics.value = ("requests",)
    before = d.result
    d.unit.value = "request"  # counts per user have no per-request value
    assert "InvalidArgumentError" in d.status.value and "requests" in d.status.value
    assert d.result is before
    d.metrics.value = ()
    assert "at least one metric" in d.status.value and d.result is before


def test_dashboard_without_data_for_the_flag(ws) -> None:
    exp = ws.create_experiment("ghost", "other-prompt", ARMS, flag_key="no-such-flag")
    d = ResultsDashboard(exp)
    assert d.result is None
    assert "NotFoundError" in d.status.value and "no-such-flag" in d.status.value
    d.export_button.click()
    assert "no result" in d.status.value


def test_declare_winner_needs_confirmation(ws, exp) -> None:
    d = ResultsDashboard(exp)
    d.winner.value = "test"
    d.declare_button.click()
    assert "Confirm" in d.status.value and d._confirm_box.layout.display == "flex"
    assert ws.experiment(exp.name).status == "running"
    d.cancel_button.click()
    assert ws.experiment(exp.name).status == "running" and "nothing changed" in d.status.value
    d.declare_button.click()
    d.confirm_button.click()
    stored = ws.experiment(exp.name)
    assert stored.status == "concluded" and stored.winner == "test"
    assert d.exp.status == "concluded" and d._confirm_box.layout.display == "none"
    # stopping a concluded experiment is refused, inline
    d.stop_button.click()
    d.confirm_button.click()
    assert "ExperimentStateError" in d.status.value
    assert ws.experiment(exp.name).status == "concluded"


def test_stop_needs_confirmation(ws, exp) -> None:
    d = ResultsDashboard(exp)
    d.stop_button.click()
    assert ws.experiment(exp.name).status == "running"
    d.confirm_button.click()
    assert ws.experiment(exp.name).status == "stopped"


def test_export_report(exp, tmp_path) -> None:
    d = ResultsDashboard(exp)
    target = tmp_path / "out" / "report.html"
    d.report_path_text.value = str(target)
    d.export_button.click()
    assert target.exists() and target.stat().st_size > 1000
    assert str(target.resolve()) in d.status.value
    assert d.report_path == target


def test_dashboard_shows_the_decision_and_never_preselects_a_worse_arm(exp) -> None:
    d = ResultsDashboard(exp)
    res = d.result
    decision = res.decision()
    assert f"Decision: {decision.headline}" in d.decision_view.value
    assert decision.action in d.decision_view.value  # the card's class
    worse = {r.variant for m in res.metrics for r in res.regressions(m.name)}
    assert d.winner.value == (decision.recommended or "")
    assert d.winner.value not in worse
    # with nothing chosen, Declare asks for a choice and changes nothing
    d.winner.value = ""
    d.declare_button.click()
    assert "choose the winner" in d.status.value and d._confirm_box.layout.display == "none"


def test_winner_is_not_the_significantly_worse_arm(tmp_path) -> None:
    import promptab_nb as pab

    out = tmp_path / "worse"
    pab.simulate.traffic(1500, ARMS, {"test": {"error_rate": 0.3, "pass_rate": 0.5}}, out=out,
                         seed=2, days=3, flag_key="worse-flag", progress=False)  # fmt: skip
    ws = pab.Workspace()
    ws.load_posthog(out.with_suffix(".parquet"), progress=False)
    exp = ws.create_experiment("worse", None, ARMS, flag_key="worse-flag")
    d = ResultsDashboard(exp)
    assert [r.variant for r in d.result.regressions("error_rate")] == ["test"]
    assert d.decision is not None and d.decision.action == "dont_ship"
    assert d.winner.value == ""  # was "test", the significantly worse arm
    ws.close()


def test_cuped_with_unit_request_shows_the_error_and_later_changes_work(exp) -> None:
    d = ResultsDashboard(exp)
    d.unit.value = "request"
    before = d.result
    d.cuped.value = True  # was a raw InvalidArgumentError out of the observer
    assert "InvalidArgumentError" in d.status.value and "cuped needs unit=" in d.status.value
    assert "not run" in d.code_view.value and "cuped needs unit=" in d.code_view.value
    assert d.result is before and "cuped needs unit=" in repr(d)
    d.alpha.value = 0.1  # still refused, still in the status line
    assert "cuped needs unit=" in d.status.value and d.result is before
    d.unit.value = "user"
    assert "analysed" in d.status.value
    assert d.result.options.cuped == CUPED_DAYS and d.result.alpha == 0.1
    assert d.code == d.result.options.to_code("res = exp.analyze", exp=exp)
    assert "cuped=14" in d.code_view.value


def test_over_time_follows_the_unit_of_the_result_on_screen(exp) -> None:
    # CUPED per user, then unit "request": the re-analysis is refused and the per-user result
    # stays; the over-time tab drew its next metric per request beside it.
    d = ResultsDashboard(exp)
    d.cuped.value = True
    d.unit.value = "request"
    assert "cuped needs unit=" in d.status.value and d.result.options.unit == "user"
    d.time_metric.value = next(m for m in d.time_metric.options if m != d.time_metric.value)
    shown = d._time.results[d._shown_time]
    assert shown.unit == "user" and d._time.unit == "user"
    d.alpha.value = 0.1  # still refused: the curve keeps the result's alpha
    d.time_metric.value = next(m for m in d.time_metric.options if m != d.time_metric.value)
    assert d._shown_time[1] == d.result.alpha == 0.05


def test_export_after_a_failed_refresh_says_whose_result_it_writes(exp, tmp_path) -> None:
    # The refresh failed, the code box showed the new options, and Export wrote the previous
    # result as if it were theirs ("report written", green).
    d = ResultsDashboard(exp)
    d.unit.value = "request"
    before = d.result
    d.cuped.value = True
    assert "previous controls" in d.status.value and d.result is before
    d.report_path_text.value = str(tmp_path / "r.html")
    assert d.export() == tmp_path / "r.html"
    assert "previous controls" in d.status.value and "pab-status warn" in d.status.value
    assert html.escape(before.options.to_code()) in d.status.value
    d.cuped.value = False  # the controls analyse again: the result is theirs
    d.export()
    assert "previous controls" not in d.status.value and "pab-status ok" in d.status.value


def test_over_time_tab_shows_its_dropdown_metric_and_says_what_it_leaves_out(exp) -> None:
    d = ResultsDashboard(exp)
    assert d._shown_time == ("cost", 0.05, "source") and d.time_note.value == ""
    d.metrics.value = ("latency_p95", "latency")
    # a quantile has no over-time form: not offered, and the tab says so
    assert list(d.time_metric.options) == ["latency"]
    assert d.time_metric.value == "latency" and d._shown_time == ("latency", 0.05, "source")
    assert "latency_p95" in d.time_note.value and "no cumulative form" in d.time_note.value
    assert "analysed" in d.status.value
    # only quantiles: no plot of another metric left on screen
    d.metrics.value = ("latency_p95",)
    assert d.time_metric.value is None and d._shown_time is None and d.time_plot.value == b""
    assert "latency_p95" in d.time_note.value
    # the user's choice survives a change of the metrics
    d.metrics.value = ("cost", "latency", "error_rate")
    d.time_metric.value = "error_rate"
    d.metrics.value = ("cost", "error_rate")
    assert d.time_metric.value == "error_rate" and d._shown_time == ("error_rate", 0.05, "source")
    # the tab follows the analysis' unit (it said "per user, not per request" and drew the
    # per-user curve beside a per-request table)
    per_user = d._time.results[d._shown_time].records[-1]
    d.unit.value = "request"
    assert d.result.options.unit == "request" and d.time_note.value == ""
    last = d._time.results[d._shown_time].records[-1]
    row = next(r for r in d.result.rows if r.metric == "error_rate" and not r.is_control)
    assert last["n_treatment"] == row.n != per_user["n_treatment"]
    assert last["p_value"] == pytest.approx(row.p_value, rel=1e-6)
    d.unit.value = "user"
    assert d.time_note.value == ""
    assert d._time.results[d._shown_time].records[-1]["n_treatment"] == per_user["n_treatment"]


def test_over_time_error_clears_the_plot_and_stays_visible(exp, monkeypatch) -> None:
    from promptab_nb.errors import InvalidArgumentError

    d = ResultsDashboard(exp)
    assert d.time_plot.value[:4] == b"\x89PNG"

    def fail(metric: str, **_kw: object) -> None:
        raise InvalidArgumentError(f"no over-time view of {metric!r}")

    monkeypatch.setattr(type(exp), "analyze_over_time", lambda self, m, **kw: fail(m, **kw))
    d.time_metric.value = "latency"
    assert d.time_plot.value == b"" and d._shown_time is None
    assert "no over-time view of &#x27;latency&#x27;" in d.time_note.value
    d.alpha.value = 0.1  # a refresh does not hide it behind "analysed ..."
    assert "analysed" in d.status.value and "no over-time view" in d.time_note.value
    assert d.time_plot.value == b""


def _unpriced_export() -> pab.Workspace:
    """Generations of a priced model with tokens but no cost: the export priced nothing."""
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    rng = np.random.default_rng(4)
    rows = [
        {"uuid": f"g{i}_{k}", "ts": t0 + dt.timedelta(minutes=i + k), "distinct_id": f"u{i}",
         "prompt_name": "bot", "prompt_version": "v1" if i % 2 else "v2", "provider": "openai",
         "model": "gpt-4o-mini", "input_tokens": int(rng.integers(100, 900)),
         "output_tokens": int(rng.integers(10, 300)) * (1 if i % 2 else 2), "cost_usd": None}
        for i in range(200)
        for k in range(2)
    ]  # fmt: skip
    ws = pab.Workspace()
    ws.load_frame(pd.DataFrame(rows), kind="generations")
    return ws


def test_over_time_tab_shows_the_cost_the_analysis_judged() -> None:
    pytest.importorskip("genai_prices")
    ws = _unpriced_export()
    d = ResultsDashboard(ws.create_experiment("priced", "bot", ARMS, metrics=["cost"]))
    assert d._shown_time == ("cost", 0.05, "source")
    assert math.isnan(d._time.results[d._shown_time].records[-1]["p_value"])  # nothing priced
    d.cost.value = "recompute"
    assert d.result.options.cost == "recompute" and "cost='recompute'" in d.code
    assert d._shown_time == ("cost", 0.05, "recompute")
    last, row = d._time.results[d._shown_time].records[-1], d.result.rows[1]
    assert last["estimate"] == pytest.approx(row.rel_diff, rel=1e-9)
    assert last["p_value"] == pytest.approx(row.p_value, rel=1e-6) and row.p_value < 0.05
    ws.close()


def test_refresh_redraws_the_over_time_tab_with_the_new_data(tmp_path) -> None:
    # The over-time results were kept per (metric, alpha, cost) for the dashboard's life: after
    # new events were loaded, refresh() redrew the forest and table from them while the
    # over-time tab still showed the curve of the old data (the same 60 treated users).
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_events.py
    from _events import expo, gen, write
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"latency": 1 + 0.01 * (u % 7)}] for u in range(60)],
        "test": [[{"latency": 1 + 0.01 * (u % 5)}] for u in range(60)],
    })  # fmt: skip
    d = ResultsDashboard(exp)
    d.time_metric.value = "latency"
    before = d._time.results[d._shown_time].records[-1]["n_treatment"]
    png = d.time_plot.value
    more = []
    for u in range(40):
        more += [expo(f"new-x{u}", f"new-{u}", 600 + u, "test"),
                 gen(f"new-g{u}", f"new-{u}", 601 + u, version="2", latency=2.0)]  # fmt: skip
    ws.load_posthog(write(more, tmp_path / "more")["parquet"], progress=False)
    d.refresh()
    assert sum(r.n for r in d.result.rows if r.variant == "test" and r.metric == "latency") == 100
    after = d._time.results[d._shown_time].records[-1]["n_treatment"]
    assert (before, after) == (60, 100)
    assert d.time_plot.value != png
    ws.close()


def test_a_result_without_any_unit_has_no_decision(exp) -> None:
    # a window after the data: the card read "Decision: Keep running"; now the decision's
    # error, said once ("No decision: no unit of any arm ..."), and no winner preselected
    d = ResultsDashboard(exp)
    d._show_decision(exp.analyze(start="2099-01-01"))
    text = d.decision_view.value
    assert d.decision is None and d.winner.value == ""
    assert "Keep running" not in text and text.count("o decision") == 1, text
    assert "No decision: no unit of any arm" in text and "2099-01-01" in text, text


def test_a_deleted_experiment_shows_the_not_found_message_and_writes_nothing(
    ws, exp, tmp_path
) -> None:
    # ws.delete_experiment while the dashboard is open: every action shows the NotFoundError's
    # text where the dashboard shows library errors (no traceback); Export wrote a report of
    # the deleted experiment and said "report written" in green
    d = ResultsDashboard(exp)
    before = d.result
    ws.delete_experiment(exp.name)
    gone = f"NotFoundError: experiment {exp.name!r} (id {exp.id}) was deleted"
    target = tmp_path / "r.html"
    d.report_path_text.value = str(target)
    assert d.export() is None and not target.exists()
    assert html.escape(gone) in d.status.value and "pab-status error" in d.status.value
    d.alpha.value = 0.1
    assert html.escape(gone) in d.status.value and d.result is before
    assert "previous controls" in d.status.value
    d.time_metric.value = "latency"  # (not drawn yet: analysed now)
    assert html.escape(gone) in d.time_note.value and d.time_plot.value == b""
    for button in (d.stop_button, d.declare_button):
        d.status.value = ""
        d.winner.value = "test"
        button.click()
        d.confirm_button.click()
        assert html.escape(gone) in d.status.value, button.description
    assert d.refresh() is None and html.escape(gone) in d.status.value
    again = ResultsDashboard(exp)
    assert again.result is None and html.escape(gone) in again.status.value
    assert exp.name in repr(again)


def test_the_dashboard_follows_a_rename(exp) -> None:
    # the title and the Stop question kept the name the dashboard was built with
    d = ResultsDashboard(exp)
    exp.rename("support v2 (tone)")
    d.refresh()
    assert "Experiment support v2 (tone)" in d.widget.children[0].value
    d.stop_button.click()
    assert "Stop 'support v2 (tone)' without a winner?" in html.unescape(d.status.value)
    d.cancel_button.click()
