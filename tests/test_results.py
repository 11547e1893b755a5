"""Result objects render and convert: the analysis results of :mod:`promptab_nb.results`
(columns, the shared metric table, verdicts, an HTML snapshot) and the stats results
(quantiles, Bayes priors, paired bootstrap, plans, SRM)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from promptab_nb._render import Rendered
from promptab_nb.metrics import BUILTIN
from promptab_nb.options import AnalysisOptions
from promptab_nb.results import (
    BAYES_COLUMNS,
    COLUMNS,
    ArmRow,
    ExperimentResult,
    Health,
    HealthFlag,
    OverTimeResult,
)
from promptab_nb.stats import (
    GaussianPrior,
    MeanStats,
    PropStats,
    bayes,
    paired_bootstrap,
    plan,
    quantile_ci,
    quantile_diff,
    srm,
    welch,
)


def test_comparison_repr_and_html_escape() -> None:
    r = welch(MeanStats(100, 120.0, 300.0), MeanStats(100, 130.0, 320.0))
    assert repr(r).startswith("welch t: +0.100 [")
    assert "p = " in repr(r)
    html = r._repr_html_()
    assert html.startswith('<div class="pab"><table>') and "<script" not in html
    assert r.to_pandas().loc[0, "method"] == "welch t"


def test_plan_repr_and_html() -> None:
    p = plan(0.12, mde=0.10, daily_units=2000)
    assert p.days == -(-p.n_total // 2000)
    assert "units" in repr(p) and "13 days" in repr(p)
    assert "<table>" in p._repr_html_() and "Experiment plan" in p._repr_html_()
    three = plan(5.0, sd=2.0, mde=0.05, daily_units=1000, arms=3)
    assert three.n_total == three.n_control + 2 * three.n_treatment


def test_quantile_ci_is_exact_order_statistic() -> None:
    rng = np.random.default_rng(3)
    x = rng.exponential(size=500)
    r = quantile_ci(x, 0.5)
    assert r.coverage >= 0.95 and r.ci_low <= np.median(x) <= r.ci_high
    # Coverage by simulation of the exponential p95 (−log 0.05): at least nominal.
    sims, true = 1000, -np.log(0.05)
    hits = 0
    for _ in range(sims):
        ci = quantile_ci(rng.exponential(size=200), 0.95)
        hits += ci.ci_low <= true <= ci.ci_high
    assert hits / sims >= 0.95 - 3 * np.sqrt(0.05 * 0.95 / sims)


def test_quantile_diff_seeded_and_reasonable() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(size=400), rng.lognormal(size=400) * 1.5
    r1 = quantile_diff(a, b, 0.95, seed=42, n_boot=500)
    r2 = quantile_diff(a, b, 0.95, seed=42, n_boot=500)
    assert r1 == r2
    assert r1.ci_low < r1.estimate < r1.ci_high
    assert r1.estimate == pytest.approx(np.quantile(b, 0.95) - np.quantile(a, 0.95))


def test_paired_bootstrap_close_to_paired_t() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y = x + rng.normal(0.2, 1.0, size=300)
    r = paired_bootstrap(x, y, n_boot=2000, seed=0)
    ref = scipy.stats.ttest_rel(y, x).confidence_interval()
    assert r.ci_low == pytest.approx(ref.low, abs=0.03) and r.ci_high == pytest.approx(
        ref.high, abs=0.03
    )


def test_bayes_prior_shrinks_and_loss() -> None:
    a, b = PropStats(1000, 100), PropStats(1000, 120)
    flat = bayes(a, b)
    tight = bayes(a, b, prior=GaussianPrior(0.0, 0.01**2))
    assert abs(tight.estimate) < abs(flat.estimate) and tight.posterior_sd < flat.posterior_sd
    assert flat.chance_to_win == pytest.approx(
        scipy.stats.norm.sf(0, flat.estimate, flat.posterior_sd)
    )
    # E[max(0, X)] − E[max(0, −X)] = E[X]
    assert flat.expected_loss_control - flat.expected_loss_treatment == pytest.approx(flat.estimate)
    assert "chance to win" in repr(flat)


def test_srm_mapping_and_flag() -> None:
    r = srm({"control": 5000, "test": 5400}, {"control": 50, "test": 50})
    assert r.mismatch and r.p_value < 0.001 and "MISMATCH" in repr(r)
    assert not srm([5000, 5010]).mismatch


# -- analysis results --------------------------------------------------------------------------

NAN = math.nan
COMPUTED_AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)  # a fixed clock


def _row(metric: str, variant: str, control: bool, n: int, mean: float, *d: float, **kw) -> ArmRow:
    diff = d if d else (NAN,) * 7
    return ArmRow(metric, variant, control, n, mean, mean * 0.9, mean * 1.1, *diff[:6],
                  p_value=diff[6], test="welch t", significant=diff[6] < 0.05, **kw)  # fmt: skip


def experiment_result(*, bayesian: bool = False, name: str = "checkout") -> ExperimentResult:
    """A result with fixed numbers: cost is significantly lower in "test", errors unchanged."""
    bayes = {"chance_to_win": 0.97, "expected_loss": 0.0001} if bayesian else {}
    rows = (
        _row("cost", "control", True, 5012, 0.0132),
        _row("cost", "test", False, 4988, 0.0118, -0.0014, -0.0021, -0.0007, -0.106, -0.16,
             -0.05, 0.0004, **bayes),
        _row("error_rate", "control", True, 5012, 0.021),
        _row("error_rate", "test", False, 4988, 0.023, 0.002, -0.004, 0.008, 0.095, -0.2, 0.39,
             0.52, note="delta method"),
    )  # fmt: skip
    health = Health(
        exposed={"control": 5012, "test": 4988},
        multiple=3,
        unknown_variants={},
        srm_p_value=0.81,
        srm_statistic=0.057,
        srm_note=None,
        expired=False,
        flags=(HealthFlag("multiple", "info", "3 units saw both arms <excluded>"),),
    )
    return ExperimentResult(
        experiment=name,
        prompt_name="support-bot",
        flag_key="support-bot-v4",
        variants={"control": "v3", "test": "v4"},
        control="control",
        metrics=(BUILTIN["cost"], BUILTIN["error_rate"]),
        rows=rows,
        health=health,
        methods=("Welch t test, two-sided", "delta method for ratios"),
        options=AnalysisOptions(unit="user", method="bayesian" if bayesian else "frequentist"),
        computed_at=COMPUTED_AT,
    )


def test_experiment_result_columns() -> None:
    res = experiment_result()
    df = res.to_pandas()
    assert list(df.columns) == COLUMNS and len(df) == 4
    assert df.loc[df.is_control, ["diff", "rel_diff", "p_value"]].isna().all().all()
    assert list(res.to_pandas(details=True).columns) == [*COLUMNS, *BAYES_COLUMNS, "note"]
    assert list(experiment_result(bayesian=True).to_pandas().columns) == [*COLUMNS, *BAYES_COLUMNS]
    assert res.to_polars().shape == df.shape
    assert res.to_polars(details=True).width == len(COLUMNS) + len(BAYES_COLUMNS) + 1
    empty = dataclasses.replace(res, rows=())
    assert list(empty.to_pandas().columns) == COLUMNS and empty.to_pandas().empty


def test_metric_table_is_formatted_strings() -> None:
    res = experiment_result()
    header, rows = res.table_header(), res.table_rows()
    assert header == ["metric", "variant", "n", "mean", "95% CI", "Δ", "Δ %", "Δ % 95% CI",
                      "p-value", "chance to be better"]  # fmt: skip
    assert all(len(r) == len(header) and all(isinstance(c, str) for c in r) for r in rows)
    assert rows[0] == ["cost", "control", "5,012", "$0.0132", "$0.0119 to $0.0145", "", "", "",
                       "", ""]  # fmt: skip
    assert rows[1][5:9] == ["−$0.00140", "−10.6 %", "−16.0 % to −5.0 %", "p < 0.001"]
    assert rows[3][5] == "+0.20 pp"  # a difference of percentages is in percentage points
    bayes = experiment_result(bayesian=True)
    assert bayes.table_header()[-1] == "chance to be better"
    assert bayes.table_rows()[1][-1] == "97.0 %"


def test_control_label_marks_a_control_not_called_control() -> None:
    res = experiment_result()
    rows = tuple(
        dataclasses.replace(r, variant="v3" if r.is_control else r.variant) for r in res.rows
    )
    renamed = dataclasses.replace(res, rows=rows, control="v3")
    assert renamed.table_rows()[0][1] == "v3 (control)"
    assert "| v3 (control) |" in renamed.to_markdown()
    assert res.table_rows()[0][1] == "control"


def test_verdicts_and_text() -> None:
    res = experiment_result()
    (cost, cost_tone), (err, err_tone) = res.verdicts()
    assert cost.startswith("test lowers cost per user (USD) by 10.6 %") and cost_tone == "good"
    assert (
        err.startswith("no significant difference in share of generations")
        and err_tone == "neutral"
    )
    text = repr(res)
    assert text == str(res) and type(res).__repr__ is Rendered.__repr__
    assert text.splitlines()[0] == "Experiment checkout — control control, unit user, 95% CI"
    assert (
        cost in text
        and "Assignment health" in text
        and "SRM χ² goodness of fit, χ² = 0.06, p = 0.810" in text
    )
    assert "$0.0132" in text and "Methods: Welch t test" in text
    # a row with a p-value shows its note after the table (its verdict does not say it)
    assert res.row_notes() == ("error_rate, test: delta method",)
    assert (
        "error_rate, test: delta method" in text
        and "error_rate, test: delta method" in res._repr_html_()
    )
    withheld = dataclasses.replace(
        res, rows=(*res.rows[:3], dataclasses.replace(res.rows[3], p_value=NAN))
    )
    assert withheld.row_notes() == () and "(delta method)" in withheld.verdicts()[1][0]
    md = res.to_markdown()
    assert "- error\\_rate, test: delta method" in md
    assert md.startswith("### Experiment checkout\n") and "| cost | test | 4,988 |" in md
    # the p column holds the value ("0.810", "< 0.001"), not "= 0.810"
    assert "| = " not in md and re.search(r"\| test \|.*\| (\d\.\d{3}|< 0\.001) \|\n", md)


def test_verdicts_per_request_say_per_request() -> None:
    # exp.analyze(["latency", "cost"], unit="request") headed its table "unit request" and said
    # "test lowers mean latency per user (s) by 15.7 %" and "cost per user (USD)": each value is
    # one generation's, not a user's
    res = experiment_result()
    per_request = dataclasses.replace(res, options=dataclasses.replace(res.options, unit="request"))
    (cost, _), (err, _) = per_request.verdicts()
    assert cost.startswith("test lowers cost per request (USD) by 10.6 %")
    assert "per user" not in repr(per_request) and "per user" not in per_request.to_markdown()
    assert "unit request" in repr(per_request)
    assert err == res.verdicts()[1][0]  # a share of generations reads the same either way
    assert res.verdicts()[0][0].startswith("test lowers cost per user (USD) by 10.6 %")


def test_verdict_interval_agrees_with_its_test() -> None:
    # Under sequential=True the error rate's relative confidence sequence (delta method) was
    # -74.5 % to -8.3 % beside the absolute test's p = 0.080 (its sequence -1.94 pp to +0.07 pp):
    # the sentence read "no significant difference ... (95 % CI -74.5 % to -8.3 %, p = 0.080)".
    res = experiment_result()
    odd = _row("error_rate", "test", False, 382, 0.0132, -0.0094, -0.0194, 0.00067, -0.414,
               -0.745, -0.083, 0.080)  # fmt: skip
    res = dataclasses.replace(res, rows=(*res.rows[:3], odd))
    text, tone = res.verdicts()[1]
    assert tone == "neutral" and "no significant difference" in text
    assert "(95 % CI −1.94 pp to +0.07 pp, p = 0.080)" in text and "−74.5 %" not in text
    # significant by its test, the relative interval straddling 0: the test's interval again
    odd = dataclasses.replace(odd, p_value=0.01, significant=True, rel_ci_low=-0.9,
                              rel_ci_high=0.07, diff_ci_high=-0.001)  # fmt: skip
    text, tone = dataclasses.replace(res, rows=(*res.rows[:3], odd)).verdicts()[1]
    assert text.startswith("test lowers share of generations that fail by 0.94 pp (95 % CI "
                           "0.10 pp to 1.94 pp, p = 0.010)")  # fmt: skip
    assert tone == "good"


def test_segment_differences_carry_their_metric_unit() -> None:
    # exp.analyze(by="model") showed a segment's cost difference as "+0.00239", its latency's as
    # "−0.250" and its error rate's as "+0.0608": no $, s or pp
    def seg(metric: str, diff: float) -> dict:
        return dict(segment="gpt-4o-mini", metric=metric, variant="test", n_control=312,
                    n_treatment=324, diff=diff, diff_ci_low=NAN, diff_ci_high=NAN,
                    rel_diff=0.4, p_value=0.001, p_bh=0.002, low_power=False)  # fmt: skip

    from promptab_nb.results import SegmentResult

    segments = SegmentResult("checkout", "model", "control", 0.05,
                             (seg("cost", 0.00239), seg("error_rate", 0.0608)), (),
                             units={"cost": "USD", "error_rate": "%"})  # fmt: skip
    res = dataclasses.replace(experiment_result(), segments=segments)
    assert res.segments is not None
    rows = res.segments._table().rows
    assert [r[4] for r in rows] == ["+$0.00239", "+6.08 pp"]
    assert "+$0.00239" in res.segments._repr_html_()


def test_verdict_p_value_is_not_rounded_across_alpha() -> None:
    # p = 0.0498 read "test lowers cost ... p = 0.050) — better": a p-value that is not < 0.05
    res = experiment_result()
    rows = tuple(dataclasses.replace(r, p_value=0.0498) if r.variant == "test" and
                 r.metric == "cost" else r for r in res.rows)  # fmt: skip
    text, tone = dataclasses.replace(res, rows=rows).verdicts()[0]
    assert tone == "good" and "p = 0.0498)" in text


def test_interval_level_is_not_rounded() -> None:
    # exp.analyze(alpha=0.001) titled its table "100% CI" and its verdicts "100 % CI"
    res = experiment_result()
    res = dataclasses.replace(res, options=dataclasses.replace(res.options, alpha=0.001))
    assert "99.9% CI" in res.table_header() and "Δ % 99.9% CI" in res.table_header()
    assert "(99.9 % CI " in res.verdicts()[0][0]
    assert "100%" not in repr(res) and "100 %" not in repr(res)


def test_markdown_keeps_names_literal() -> None:
    # a name with a pipe, a newline or HTML must not add a table cell, end a row or run as HTML
    import re

    res = experiment_result(name="<script>alert(1)</script> `x`")
    odd = "te|st\n<b>x</b>"
    rows = tuple(dataclasses.replace(r, variant=odd if r.variant == "test" else r.variant)
                 for r in res.rows)  # fmt: skip
    res = dataclasses.replace(res, rows=rows, variants={"control": "1", odd: "2"})
    md = res.to_markdown()
    assert "<script>" not in md and "<b>" not in md and "\n<" not in md
    assert md.startswith("### Experiment &lt;script&gt;alert(1)&lt;/script&gt; \\`x\\`\n")
    rows = [line for line in md.splitlines() if line.startswith("| cost |")]
    assert len(rows) == 2
    # every table row has the header's 6 cells (escaped pipes are not cell borders)
    assert all(len(re.split(r"(?<!\\)\|", line)) == 8 for line in rows)
    assert "te\\|st &lt;b&gt;x&lt;/b&gt;" in rows[1]


def test_html_escapes_and_marks_health() -> None:
    res = experiment_result(name="<script>alert(1)</script>")
    html = res._repr_html_()
    assert html.startswith('<div class="pab"><style>') and "<script>" not in html
    assert "&lt;script&gt;alert(1)" in html and "&lt;excluded&gt;" in html
    # an info flag (3 units in both arms, excluded) does not make the health a warning
    assert 'class="health"' in html and 'class="verdict good"' in html
    warn = dataclasses.replace(res.health, flags=(HealthFlag("srm", "error", "mismatch"),))
    assert 'class="health warn"' in dataclasses.replace(res, health=warn)._repr_html_()


def test_experiment_result_html_snapshot(snapshot) -> None:
    assert experiment_result()._repr_html_() == snapshot


def test_over_time_result_renders() -> None:
    records = tuple(
        {"period_end": pd.Timestamp(2026, 1, d), "variant": "test", "n_control": 100 * d,
         "n_treatment": 98 * d, "estimate": -0.1 / d, "ci_low": -0.3 / d, "ci_high": 0.1 / d,
         "p_value": 0.2 / d}
        for d in (1, 2)
    )  # fmt: skip
    res = OverTimeResult("checkout", BUILTIN["cost"], True, 0.05, "D", records)
    assert list(res.to_pandas().columns) == list(records[0]) and res.to_polars().height == 2
    text = repr(res)
    assert text.startswith("cost over time (cumulative, by D)")
    assert "2026-01-02 00:00" in text and "−5.0 %" in text and "p = 0.100" in text
    assert "<caption>cost over time" in res._repr_html_()
    empty = OverTimeResult("x", BUILTIN["cost"], False, 0.05, "D", ()).to_pandas()
    # (a window with no period gave a frame without columns: code reading "p_value" failed)
    assert empty.empty and {"period_end", "p_value", "note", "missing_share"} <= set(empty)


def test_over_time_and_rank_results_record_their_unit_and_cost() -> None:
    # An OverTimeResult did not say its unit or which cost it read, a MannWhitneyResult not its
    # cost: a per-request curve of recomputed cost printed as a per-user curve of exported cost
    from promptab_nb.results import MannWhitneyResult

    old = OverTimeResult("x", BUILTIN["cost"], True, 0.05, "day", ())
    assert (old.unit, old.cost) == ("user", "source")
    assert "unit of analysis: user; cost as exported" in repr(old)
    res = OverTimeResult("x", BUILTIN["cost"], True, 0.05, "day", (), unit="request",
                         cost="recompute")  # fmt: skip
    text = repr(res)
    assert "unit of analysis: request" in text and "cost recomputed from" in text
    assert "unit of analysis: request" in res._repr_html_()
    mw = MannWhitneyResult("x", "cost", "control", "user", "two-sided", {}, {})
    assert mw.cost == "source" and "cost as exported" in repr(mw)
    mw = dataclasses.replace(mw, cost="recompute")
    assert "cost recomputed from" in repr(mw) and "cost recomputed from" in mw._repr_html_()


def test_analyses_fill_the_unit_and_cost_they_used(loaded) -> None:
    _, exp = loaded
    assert exp.analyze_over_time("latency", unit="request").unit == "request"
    assert exp.analyze_over_time("latency").unit == "user"
    assert exp.mann_whitney("latency").cost == "source"
    pytest.importorskip("genai_prices")
    assert exp.analyze_over_time("cost", cost="recompute").cost == "recompute"
    assert exp.mann_whitney("cost", cost="recompute").cost == "recompute"


@pytest.mark.parametrize(("correction", "name"), [("holm", "Holm"), ("bh", "Benjamini–Hochberg")])
def test_a_corrected_table_says_its_intervals_are_not_adjusted(correction, name) -> None:
    # With a correction the table put adjusted p-values beside unadjusted intervals: a Δ % CI
    # of -16 % to -5 % beside p = 0.052 read as a contradiction, and nothing said why
    res = experiment_result()
    plain = (repr(res), res._repr_html_(), res.to_markdown())
    assert not any("unadjusted" in t for t in plain)
    res = dataclasses.replace(res, options=dataclasses.replace(res.options, correction=correction))
    for text in (repr(res), res._repr_html_(), res.to_markdown()):
        assert (
            f"p-values are {name}-adjusted" in text and "intervals are unadjusted 95% CIs" in text
        )


def test_sequential_results_name_their_intervals_confidence_sequences(tmp_path) -> None:
    # Under sequential=True the effects' intervals are confidence sequences (always valid), but
    # the table headed them "Δ % 95% CI", the title said "95% CI", the verdict "(95 % CI −61.5 %
    # to +52.2 %, p = 0.948)" and the Markdown "Δ relative (CI)", as if fixed-horizon CIs.
    from analysis._scenarios import workspace

    rng = np.random.default_rng(1)
    ws, exp = workspace(tmp_path, {
        arm: [[{"latency": float(rng.lognormal()) * s} for _ in range(4)] for _ in range(60)]
        for arm, s in (("control", 1.0), ("test", 0.8))
    })  # fmt: skip
    seq = exp.analyze(["latency", "latency_p95"], sequential=True)
    assert seq.table_header()[7] == "Δ % 95% CI or confidence sequence"
    lat, p95 = (t for t, _ in seq.verdicts())
    assert "95 % confidence sequence" in lat and "CI" not in lat, lat
    assert "95 % CI" in p95 and "sequence" not in p95, p95  # quantiles stay fixed-horizon
    only = exp.analyze(["latency"], sequential=True)
    assert only.table_header()[4:8] == ["95% CI", "Δ", "Δ %", "Δ % 95% confidence sequence"]
    text, html, md = str(only), only._repr_html_(), only.to_markdown()
    assert "95% confidence sequences for the effects" in text.splitlines()[0]
    assert "Δ % 95% confidence sequence</th>" in html and "Δ % 95% CI" not in html
    assert "| Δ relative (confidence sequence) |" in md and "(95 % CI" not in md
    assert only.effect_interval("latency") == "confidence sequence"
    fixed = exp.analyze(["latency"])
    assert fixed.table_header()[7] == "Δ % 95% CI" and "| Δ relative (CI) |" in fixed.to_markdown()
    assert fixed.effect_interval() == "CI" and "(95 % CI" in fixed.verdicts()[0][0]
    ws.close()


def test_over_time_absolute_rate_differences_are_in_percentage_points() -> None:
    # analyze_over_time("error_rate", relative=False) printed the difference of two rates as
    # "+1.3 %" (CI "+0.038 % to +2.5 %"), read as a relative lift; analyze() says "+1.26 pp".
    rec = {"period_end": pd.Timestamp(2026, 1, 1), "variant": "test", "n_control": 569,
           "n_treatment": 559, "estimate": 0.0126, "ci_low": 0.00038, "ci_high": 0.025,
           "p_value": 0.043}  # fmt: skip
    absolute = OverTimeResult("x", BUILTIN["error_rate"], False, 0.05, "day", (rec,))
    text = repr(absolute)
    assert "+1.26 pp" in text and "+0.04 pp to +2.50 pp" in text and " %" not in text
    relative = OverTimeResult("x", BUILTIN["error_rate"], True, 0.05, "day", (rec,))
    assert "+1.3 %" in repr(relative)
    cost = OverTimeResult("x", BUILTIN["cost"], False, 0.05, "day", (rec,))
    assert "+$0.0126" in repr(cost)


def test_over_time_table_shows_the_unpriced_share_it_keeps_a_p_value_at() -> None:
    from html import unescape

    # Each record has missing_share and missing_note (analyze()'s words for an unpriced share
    # under the limit, where analyze() keeps the p-value and says the share), but the table
    # showed only `note` (which withholds a p-value): 3.3 % unpriced printed as fully priced.
    def rec(day: int, share: float, note: str | None = None) -> dict:
        return {"period_end": pd.Timestamp(2026, 1, day), "variant": "test", "n_control": 60,
                "n_treatment": 60, "estimate": 0.001, "ci_low": -0.002, "ci_high": 0.004,
                "p_value": 0.4, "note": note, "missing_share": share,
                "missing_note": f"{share:.1%} of an arm's generations are unpriced (no cost)"
                if share > 0 else None}  # fmt: skip

    res = OverTimeResult("x", BUILTIN["cost"], False, 0.05, "day", (rec(1, 0.0), rec(2, 4 / 120)))
    text, html = repr(res), res._repr_html_()
    header = next(line for line in text.splitlines() if line.startswith("period end"))
    assert header.split()[-1] == "unpriced" and "note" not in header
    rows = [line for line in text.splitlines() if line.startswith("2026-01-0")]
    assert rows[0].endswith(" 0.0%") and rows[1].endswith(" 3.3%")
    words = "unpriced: the larger share of an arm's generations that are unpriced (no cost)"
    for out in (text, unescape(html)):
        assert words in out and "by the period's end" in out
    assert '<th scope="col">unpriced</th>' in html and "<td>3.3%</td>" in html
    assert list(res.to_pandas().columns)[-2:] == ["missing_share", "missing_note"]
    # beside a note that withholds the p-value, the column stays before the note
    over = rec(3, 0.2, "20.0% of an arm's generations are unpriced in the export (> 5%)")
    res = OverTimeResult("x", BUILTIN["cost"], False, 0.05, "day", (over,))
    header = next(line for line in repr(res).splitlines() if line.startswith("period end"))
    assert header.split()[-2:] == ["unpriced", "note"]
    # another column: its name, not "unpriced"
    lat = OverTimeResult("x", BUILTIN["latency"], True, 0.05, "day", (rec(1, 0.05),))
    assert "missing: the larger share of an arm's generations that are without latency_s" in (
        repr(lat)
    )
    # nothing missing, not counted (NaN) or records without the keys: nothing said
    for records in ((rec(1, 0.0),), (rec(1, math.nan),), (rec(1, 0.0), rec(2, math.nan))):
        res = OverTimeResult("x", BUILTIN["cost"], False, 0.05, "day", records)
        assert "unpriced" not in repr(res) and "unpriced" not in res._repr_html_()
    bare = {k: v for k, v in rec(1, 0.0).items() if not k.startswith("missing")}
    assert "unpriced" not in repr(OverTimeResult("x", BUILTIN["cost"], False, 0.05, "day", (bare,)))


def test_over_time_table_of_an_analysis_shows_its_unpriced_share(tmp_path) -> None:
    from analysis._scenarios import workspace

    U = {"cost": None}  # 2 of 60 control users priced nowhere: 4 of 120 generations, 3.3 %
    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.02 + i / 1000}, {"cost": 0.02}] for i in range(58)] + [[U, U]] * 2,
        "test": [[{"cost": 0.021 + i / 1000}, {"cost": 0.02}] for i in range(60)],
    })  # fmt: skip
    res = exp.analyze_over_time("cost", relative=False)
    text = repr(res)
    assert all(line.endswith(" 3.3%") for line in text.splitlines() if line.startswith("20"))
    assert (
        "unpriced: the larger share" in text and "unpriced: the larger share" in res._repr_html_()
    )
    ws.close()


def test_markdown_shows_a_missing_interval_as_one_dash() -> None:
    # A row without a relative lift (zero baseline) read "– (– – –)" and an arm of one unit
    # "$0.0118 (– – –)": the en dash between the bounds made a row of dashes.
    res = experiment_result()
    one = dataclasses.replace(res.rows[1], n=1, mean_ci_low=NAN, mean_ci_high=NAN,
                              rel_diff=NAN, rel_ci_low=NAN, rel_ci_high=NAN)  # fmt: skip
    md = dataclasses.replace(res, rows=(res.rows[0], one, *res.rows[2:])).to_markdown()
    line = next(x for x in md.splitlines() if x.startswith("| cost | test |"))
    assert line == "| cost | test | 1 | $0.0118 | – | < 0.001 |", line
    assert "| $0.0132 ($0.0119 – $0.0145) | – |" in md  # the control: a CI, no lift


def test_a_corrected_bayesian_table_says_its_verdicts_are_not_adjusted() -> None:
    # method="bayesian", correction="holm": the verdicts and `significant` come from the chance
    # to be better, which no correction touches, while the only line about the correction said
    # "p-values are Holm-adjusted": a "probably lowers" verdict beside an adjusted p that is
    # not significant read as if it had survived the correction.
    res = experiment_result(bayesian=True)
    res = dataclasses.replace(
        res, options=dataclasses.replace(res.options, correction="holm", method="bayesian")
    )
    assert res.options.bayesian
    for text in (repr(res), res._repr_html_(), res.to_markdown()):
        assert "p-values are Holm-adjusted" in text
        assert "the Bayesian verdicts (chance to be better) are not adjusted" in text
    plain = experiment_result()
    plain = dataclasses.replace(
        plain, options=dataclasses.replace(plain.options, correction="holm")
    )
    assert "Bayesian" not in (plain.correction_note() or "")


def test_a_sequential_total_impact_names_its_confidence_sequence(tmp_path) -> None:
    # Under sequential=True the per-user difference's interval is a confidence sequence, and
    # so is the total it scales; the impact table and sentence called both "95% CI".
    from analysis._scenarios import workspace

    rng = np.random.default_rng(2)
    ws, exp = workspace(tmp_path, {
        arm: [[{"cost": float(rng.gamma(2, 0.01)) * s}] for _ in range(60)]
        for arm, s in (("control", 1.0), ("test", 0.8))
    })  # fmt: skip
    seq = exp.analyze(["cost"], sequential=True).total_impact("cost")
    assert seq.interval == "confidence sequence"
    assert "95% confidence sequence" in str(seq) and "95% CI" not in str(seq)
    assert "95% confidence sequence" in seq.lines()[0]
    assert "95% CI" in str(exp.analyze(["cost"]).total_impact("cost"))
    assert seq.with_units(1000).interval == "confidence sequence"
    ws.close()
