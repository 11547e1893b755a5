"""plots: forest (experiment.py), means (_means.py) and cumulative (_over_time.py) figures,
tested through their axes."""

from __future__ import annotations

import dataclasses

import matplotlib
import pandas as pd
import pytest
from matplotlib import dates as mdates
from matplotlib.figure import Figure

import promptab_nb as pab
from promptab_nb import plots
from promptab_nb._format import num

from ._plot_helpers import assert_themed, errorbars, has_zero_line, legend_text, save


def test_forest_relative(res) -> None:
    fig = plots.forest(res)
    axes = fig.axes
    assert len(axes) == 4  # one panel per metric, each on its own scale
    bars = [c for ax in axes for c in errorbars(ax)]
    assert len(bars) == 4 * 2  # metrics × treatments
    assert all(has_zero_line(ax) for ax in axes)
    text = legend_text(fig)
    assert "95 % CI" in text and "better side" in text and "worse side" in text
    assert "test (v2)" in text and "bold (v3)" in text
    ticks = [t.get_text() for ax in axes for t in ax.get_yticklabels()]
    assert any("latency (s)" in t and "lower is better" in t for t in ticks)
    assert any("pass_rate (%)" in t and "higher is better" in t for t in ticks)
    assert axes[-1].get_xlabel() == "relative difference vs control (v1) (%)"
    assert all(ax.get_xlabel() == "" for ax in axes[:-1])
    # significant points filled, others hollow
    rows = [r for r in res.rows if not r.is_control]
    faces = [c.lines[0].get_markerfacecolor() for c in bars]
    for r, face in zip(rows, faces, strict=True):
        assert (face != "white") == bool(r.significant), r
    assert any(not r.significant for r in rows) and any(r.significant for r in rows)
    # arms differ by colour and marker; each treatment keeps its arm's colour
    assert len({c.lines[0].get_marker() for c in bars}) == 2
    by_arm = {r.variant: c.lines[0].get_color() for r, c in zip(rows, bars, strict=True)}
    assert by_arm == {"test": plots.PALETTE[1], "bold": plots.PALETTE[2]}
    # labels beside their points, coloured by the metric's direction
    from promptab_nb.plots._forest import TONE_COLOURS

    for ax, m in zip(axes, res.metrics, strict=True):
        labels = [t for t in ax.texts if "p " in t.get_text() or "p =" in t.get_text()]
        for t, r in zip(labels, [r for r in rows if r.metric == m.name], strict=True):
            est = r.rel_diff
            tone = "neutral"
            if r.significant:
                tone = "good" if (est < 0) == (m.direction == "lower") else "bad"
            assert t.get_color() == TONE_COLOURS[tone], (m.name, r.variant)
            assert t.xy[0] == pytest.approx(r.rel_ci_high * 100)  # beside the CI's right end
    assert_themed(fig)
    save(fig, "forest")


def test_forest_stays_readable_with_one_huge_effect(res) -> None:
    import dataclasses

    huge = tuple(
        dataclasses.replace(r, rel_diff=24.0, rel_ci_low=20.0, rel_ci_high=28.0)
        if r.metric == "error_rate" and not r.is_control
        else r
        for r in res.rows
    )
    fig = plots.forest(dataclasses.replace(res, rows=huge))
    lat = fig.axes[res.metrics.index(res.metric("latency"))]
    lo, hi = lat.get_xlim()
    assert hi - lo < 100  # latency's panel is not stretched to +2,800 %
    save(fig, "forest_huge")


def test_forest_absolute_and_subset(res) -> None:
    fig = plots.forest(res, relative=False)
    assert len(fig.axes) == 4
    # each absolute panel names its own unit: only the last one's label was kept, so the cost
    # panel read as percentage points; and a share's difference is labelled pp, not %
    units = [f"treatment − control ({u})" for u in ("USD", "s", "pp", "pp")]
    assert [ax.get_xlabel() for ax in fig.axes] == units
    assert [ax.get_yticklabels()[0].get_text().split("\n")[0] for ax in fig.axes] == [
        "cost (USD)", "latency (s)", "error_rate (pp)", "pass_rate (pp)"
    ]  # fmt: skip
    assert all(len(errorbars(ax)) == 2 and has_zero_line(ax) for ax in fig.axes)
    assert "95 % CI" in legend_text(fig)
    assert_themed(fig)
    save(fig, "forest_absolute")
    sub = plots.forest(res, metrics=["latency"], figsize=(6, 2.5))
    assert len(errorbars(sub.axes[0])) == 2
    with pytest.raises(pab.InvalidArgumentError, match="nope"):
        plots.forest(res, metrics=["nope"])
    with pytest.raises(pab.InvalidArgumentError, match="one metric"):
        plots.forest(res, relative=False, ax=Figure().subplots())


def test_forest_into_given_axes_and_bayesian(exp) -> None:
    res = exp.analyze(["latency", "pass_rate"], method="bayesian", alpha=0.1)
    ax = Figure(figsize=(7, 3), layout="constrained").subplots()
    fig = plots.forest(res, ax=ax)
    assert fig is ax.figure  # the caller's figure, not replaced by ours
    assert "90 % credible interval" in legend_text(fig)  # (the posterior is drawn)
    notes = [t.get_text() for t in ax.texts]
    assert any("chance better" in t for t in notes) and not any("P(Δ" in t for t in notes)
    save(fig, "forest_bayesian")


def test_means(res) -> None:
    fig = plots.means(res, "error_rate")
    ax = fig.axes[0]
    bars = errorbars(ax)
    assert len(bars) == 3
    assert [c.lines[0].get_color() for c in bars] == list(plots.PALETTE[:3])
    assert ax.get_ylabel().endswith("(%)")
    assert "95 % CI" in ax.get_title()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0].startswith("control\nv1\n(control)")
    with pytest.raises(pab.InvalidArgumentError, match="not in the result"):
        plots.means(res, "nope")
    # per request, the axis says so (it said "cost per user" beside a per-request analysis)
    per_user = plots.means(res, "cost").axes[0].get_ylabel()
    per_request = dataclasses.replace(res, options=res.options.replace(unit="request"))
    label = plots.means(per_request, "cost").axes[0].get_ylabel()
    assert "per user" in per_user and label == per_user.replace("per user", "per request")
    assert_themed(fig)
    save(fig, "means")


def test_cumulative_with_sequential_band(exp) -> None:
    ot = exp.analyze_over_time("latency")
    fig = ot.plot()
    assert len(fig.axes) == 2  # relative estimate + absolute difference with the band
    top, bottom = fig.axes
    assert top.get_ylabel() == "relative lift (%)"
    assert bottom.get_ylabel() == "treatment − control (s)"
    assert has_zero_line(top, "y") and has_zero_line(bottom, "y")
    text = legend_text(fig)
    assert "95 % CI" in text and "always-valid 95 % band" in text
    assert len(top.collections) == 2  # one CI band per treatment
    estimates = [ln.get_color() for ln in top.get_lines() if len(ln.get_xdata()) > 2]
    assert estimates == list(plots.PALETTE[1:3])
    assert_themed(fig)
    save(fig, "cumulative")
    early = plots.cumulative(ot, min_units=0)
    starts = [min(ln.get_xdata()) for ln in early.axes[0].get_lines() if len(ln.get_xdata()) > 2]
    late = [min(ln.get_xdata()) for ln in top.get_lines() if len(ln.get_xdata()) > 2]
    assert min(late) >= min(starts)
    first = ot.to_pandas().query("n_control >= 50 and n_treatment >= 50")["period_end"].min()
    assert all(ln.get_xdata().min() >= first for ln in top.get_lines() if len(ln.get_xdata()) > 2)
    flat = plots.cumulative(exp.analyze_over_time("cost", relative=False))
    assert len(flat.axes) == 1
    assert flat.axes[0].get_ylabel() == "treatment − control (USD)"
    save(flat, "cumulative_absolute")
    # too few units in every period: nothing drawn with a label, and no matplotlib warning
    # ("No artists with labels found to put in legend" leaked to the CLI's stderr)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = plots.cumulative(ot, min_units=10**9)
    assert all(a.get_legend() is None for a in empty.axes)


def test_figures_stay_out_of_pyplot(res) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    rc = dict(matplotlib.rcParams)
    plots.forest(res)
    plots.means(res, "cost")
    assert plt.get_fignums() == before
    assert matplotlib.rcParams["axes.spines.top"]  # the theme stays inside the figures
    assert dict(matplotlib.rcParams) == rc


def test_daily_exposures(res) -> None:
    fig = plots.daily_exposures(res)
    ax = fig.axes[0]
    days = sorted({d for d, _, _ in res.daily})
    bars = ax.patches
    assert len(bars) == len(days) * len(res.variants)
    heights = sum(b.get_height() for b in bars)
    assert heights == sum(n for _, _, n in res.daily) == sum(res.health.exposed.values())
    assert ax.get_ylabel() == "units first exposed"
    assert "control" in legend_text(fig)
    assert_themed(fig)
    save(fig, "daily_exposures")


def _texts_inside_figure(fig: Figure) -> list[str]:
    """Draw the figure (turning warnings into errors, e.g. constrained layout giving up) and
    return every axes text, each checked to lie inside the figure."""
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings(), plots.theme():
        warnings.simplefilter("error")
        canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        assert ax.get_position().width > 0.3  # the layout was applied, not collapsed
        for t in ax.texts:
            box = t.get_window_extent(renderer)
            assert box.x0 >= fig.bbox.x0 - 1 and box.x1 <= fig.bbox.x1 + 1, t.get_text()
            out.append(" ".join(t.get_text().split()))
    return out


def test_forest_notes_without_an_estimate_are_complete_and_fit(res) -> None:
    import dataclasses
    import math

    notes = {
        "cost": "zero variance in both arms: the difference is exact (CI of width 0); baseline "
        "is 0 in control: the relative lift is undefined (absolute shown)",
        "latency": "not enough units to compare (fewer than 2 in an arm)",
    }
    # (no difference either: a difference without a relative lift is drawn on its absolute
    # scale, see test_forest_draws_an_effect_without_a_relative_lift_on_the_absolute_scale)
    gone = dict.fromkeys(["rel_diff", "rel_ci_low", "rel_ci_high", "p_value", "diff",
                          "diff_ci_low", "diff_ci_high"], math.nan)  # fmt: skip
    rows = tuple(
        dataclasses.replace(r, **gone, note=notes[r.metric])
        if r.metric in notes and not r.is_control
        else r
        for r in res.rows
    )
    empty = dataclasses.replace(res, rows=rows)
    fig = plots.forest(empty)
    texts = _texts_inside_figure(fig)
    for metric, note in notes.items():
        assert texts.count(f"no estimate: {note}") == 2, metric  # one per treatment, whole
    # across the middle of the panel on a box, not on the zero line or in the margin
    cost = fig.axes[0]
    missing = [t for t in cost.texts if t.get_text().startswith("no estimate")]
    assert {t.get_position()[0] for t in missing} == {0.5}
    assert all(t.get_bbox_patch() is not None for t in missing)
    save(fig, "forest_no_estimate")
    ax = Figure(figsize=(7, 3.5), layout="constrained").subplots()
    shared = _texts_inside_figure(plots.forest(empty, ax=ax))
    assert shared.count(f"no estimate: {notes['latency']}") == 2


def test_forest_draws_a_withheld_verdict_as_withheld(res) -> None:
    import dataclasses
    import math

    from promptab_nb.plots._forest import TONE_COLOURS
    from promptab_nb.plots._theme import NEUTRAL

    note = (
        "12.1% of an arm's generations are unpriced (no cost) (> 5%): verdict withheld, the sums "
        "would read them as 0; analyse with cost='recompute' to price them"
    )
    notes = {"cost": note, "latency": "not enough units: control has 40 (need 50 per arm)"}
    rows = tuple(
        dataclasses.replace(r, p_value=math.nan, significant=False, note=notes[r.metric])
        if r.metric in notes and r.variant == "bold"
        else r
        for r in res.rows
    )
    withheld = dataclasses.replace(res, rows=rows)
    for relative in (True, False):
        fig = plots.forest(withheld, relative=relative)
        texts = _texts_inside_figure(fig)
        assert not any(t.endswith("p –") for t in texts)
        cost, latency = fig.axes[0], fig.axes[1]
        label = next(t for t in cost.texts if "withheld" in t.get_text())
        assert label.get_text().endswith("withheld: 12.1 % unpriced")
        assert label.get_color() == TONE_COLOURS["neutral"]  # no better / worse tone
        assert any(t.get_text().endswith("withheld: not enough units") for t in latency.texts), [
            t.get_text() for t in latency.texts
        ]
        # grey, hollow and dashed; the other arm keeps its colour
        test_bar, bold_bar = errorbars(cost)
        point = bold_bar.lines[0]
        assert point.get_color() == NEUTRAL and point.get_markerfacecolor() == "white"
        assert bold_bar.lines[2][0].get_linestyle() != test_bar.lines[2][0].get_linestyle()
        assert test_bar.lines[0].get_color() == plots.PALETTE[1]
    save(fig, "forest_withheld")


@pytest.mark.parametrize(
    ("metric", "missing", "what"),
    [("cost", {"cost": None}, "unpriced"),
     ("tokens_out", {"$ai_output_tokens": None}, "without output_tokens")],
)  # fmt: skip
def test_forest_label_of_a_withheld_sum_matches_the_note_an_analysis_writes(
    metric, missing, what, tmp_path
) -> None:
    # The row carries no structured reason or share for a withheld verdict, only its note, so
    # the label is parsed from the note's wording. Tie the label to the note a real analysis
    # writes (not a copy of it), so a change of wording breaks this test rather than the plot
    # silently falling back to the whole note.
    from analysis._scenarios import workspace

    from promptab_nb._format import num

    ws, exp = workspace(tmp_path, {
        "control": [[{}, {}] for _ in range(60)],
        "test": [[missing if u % 4 == 0 else {}, {}] for u in range(60)],  # 15 of 120 missing
    })  # fmt: skip
    res = exp.analyze([metric, "latency"])
    (row,) = [r for r in res.rows if r.metric == metric and not r.is_control]
    assert row.p_value != row.p_value and not row.significant  # the analysis withheld it
    want = f"withheld: {num(15 / 120, '%')} {what}"
    for relative in (True, False):
        fig = plots.forest(res, relative=relative)
        labels = [" ".join(t.get_text().split()) for t in fig.axes[0].texts]
        withheld = [t for t in labels if "withheld" in t]
        assert len(withheld) == 1 and withheld[0].endswith(want), (labels, row.note)
    ws.close()


def test_interval_labels_keep_the_level_s_decimals(exp) -> None:
    """alpha = 0.001 is a 99.9 % interval, not "100 % CI"; alpha = 0.025 is 97.5 %, not 98 %."""
    res = exp.analyze(["latency"], alpha=0.001)
    assert "99.9 % CI" in legend_text(plots.forest(res))
    assert "99.9 % CI" in plots.means(res, "latency").axes[0].get_title()
    ot = exp.analyze_over_time("latency", alpha=0.025)
    text = legend_text(ot.plot())
    assert "97.5 % CI" in text and "always-valid 97.5 % band" in text
    assert "98 %" not in text


def test_cumulative_without_a_period_to_draw_says_why(exp) -> None:
    # With fewer than min_units units per arm in every period the figure was an empty frame
    # whose date axis ran over 1 January 1970 (matplotlib's default for an empty date axis),
    # with nothing saying why: the report embedded it as "cost over time".
    ot = exp.analyze_over_time("latency")
    empty = plots.cumulative(ot, min_units=10**9)
    text = " ".join(t.get_text() for a in empty.axes for t in a.texts)
    assert f"{10**9:,} units" in text and "min_units=0" in text, text
    empty.canvas.draw()
    ticks = " ".join(t.get_text() for a in empty.axes for t in a.get_xticklabels())
    assert "1970" not in ticks and "Jan-01" not in ticks, ticks
    assert not empty.axes[0].get_xticks().size


def test_cumulative_of_a_metric_measured_nowhere_says_why_without_legend(tmp_path) -> None:
    # Every period of an arm that measures nothing (all control generations unpriced) has a NaN
    # estimate: the figure drew legend keys for lines that were not there, on a 1970 date axis.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": None}, {"cost": None}] for _ in range(60)],
        "test": [[{}, {}] for _ in range(60)],
    })  # fmt: skip
    fig = plots.cumulative(exp.analyze_over_time("cost"))
    assert all(a.get_legend() is None for a in fig.axes)
    text = " ".join(t.get_text() for a in fig.axes for t in a.texts)
    assert "no estimate in any period" in text and "unpriced" in text, text
    assert not fig.axes[0].get_xticks().size
    ws.close()


def test_means_says_which_arm_measured_nothing(tmp_path) -> None:
    # An arm with no mean (every control generation unpriced) was left as an empty column
    # under its tick with nothing saying why, as if the plot had failed; an arm of one unit
    # has a mean but no interval, and says so beside its point.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": None}, {"cost": None}] for _ in range(60)],
        "test": [[{}, {}] for _ in range(60)],
        "solo": [[{}]],
    })  # fmt: skip
    res = exp.analyze(["cost"])
    ax = plots.means(res, "cost").axes[0]
    # (an annotation's position is its offset; its point is .xy)
    texts = {round(getattr(t, "xy", t.get_position())[0]): t.get_text() for t in ax.texts}
    assert texts[0].startswith("no mean"), texts
    assert texts[2] == "$0.0100\nno CI", texts
    assert texts[1] == "$0.0200", texts
    # no arm with a mean (no evaluations at all): no y scale either (it showed 0 to 1 "%")
    empty = plots.means(exp.analyze(["pass_rate"]), "pass_rate").axes[0]
    assert [t.get_text().split("\n")[0] for t in empty.texts] == ["no mean"] * 3
    assert not len(empty.get_yticks())
    ws.close()


def _drawn(fig):
    """Lay out and draw ``fig`` on an Agg canvas (as savefig does); returns its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    with plots.theme():
        canvas.draw()
    return canvas.get_renderer()


def _inside(fig, artists) -> list[str]:
    """Texts of ``artists`` that reach past the figure's edges once drawn."""
    r = _drawn(fig)
    box = fig.bbox
    return [
        a.get_text()
        for a in artists
        if a.get_text()
        and (a.get_window_extent(r).x0 < box.x0 - 1 or a.get_window_extent(r).x1 > box.x1 + 1)
    ]


def test_many_arms_and_long_names_stay_on_the_figure(tmp_path) -> None:
    # A variant name of 70 characters pushed the forest legend past both edges of the figure
    # (the names of other arms were cut off), the means ticks of 10 arms ran into each other,
    # and the cumulative legend (2-3 keys per arm) spilled off the canvas over the axes.
    from analysis._scenarios import workspace

    long = "very-long-variant-name-" * 3 + "v3"
    arms = {"control": [[{}] for _ in range(60)]}
    for k in range(9):
        name = long if k == 3 else f"v{k}"
        arms[name] = [[{"latency": 1 + 0.05 * k + 0.01 * (u % 7)}] for u in range(60)]
    ws, exp = workspace(tmp_path, arms)
    res = exp.analyze(["latency"])
    for fig in (plots.forest(res), plots.forest(res, relative=False)):
        texts = [t for lg in fig.legends for t in lg.get_texts()]
        assert not _inside(fig, texts), _inside(fig, texts)
        assert any(t.get_text().endswith("v3 (5)") and "…" in t.get_text() for t in texts)
    fig = plots.means(res, "latency")
    ax = fig.axes[0]
    r = _drawn(fig)
    boxes = [t.get_window_extent(r) for t in ax.get_xticklabels()]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False)), "ticks overlap"
    cum = plots.cumulative(exp.analyze_over_time("latency"), min_units=0)
    texts = [t for a in cum.axes if a.get_legend() for t in a.get_legend().get_texts()]
    texts += [t for lg in cum.legends for t in lg.get_texts()]
    assert texts and not _inside(cum, texts), _inside(cum, texts)
    # One period (all traffic on one day): the axis ran from 2024 to 2028 around it and the CI,
    # a shade between points, had no width, so was not drawn at all.
    (end,) = set(exp.analyze_over_time("latency").to_pandas()["period_end"])
    lo, hi = (mdates.num2date(x) for x in cum.axes[-1].get_xlim())
    assert hi - lo <= pd.Timedelta(days=3), (lo, hi)
    assert errorbars(cum.axes[0]), "no CI drawn for the single period"
    ws.close()


def _off_figure(fig, artists) -> list[str]:
    """Texts of ``artists`` that reach past any edge of the figure once drawn."""
    r = _drawn(fig)
    box = fig.bbox
    out = []
    for a in artists:
        if not a.get_text():
            continue
        e = a.get_window_extent(r)
        if e.x0 < box.x0 - 1 or e.x1 > box.x1 + 1 or e.y0 < box.y0 - 1 or e.y1 > box.y1 + 1:
            out.append(a.get_text())
    return out


def test_long_experiment_and_metric_names_stay_on_the_figure(tmp_path) -> None:
    # A 70-character experiment name ran the forest and daily-exposure titles off both sides
    # of the figure, a long metric name the means title and y label, and the exposure legend
    # (long arm names) sat over the bars.
    from analysis._scenarios import workspace

    long_arm = "treatment-with-a-rather-long-name-" * 2
    ws, e0 = workspace(tmp_path, {
        "control": [[{"latency": 1 + 0.01 * (u % 9)}] for u in range(60)],
        long_arm: [[{"latency": 1.1 + 0.01 * (u % 7)}] for u in range(60)],
    })  # fmt: skip
    e0.stop()
    exp = ws.create_experiment(
        "Q3 support-bot prompt rewrite — tone & brevity experiment (EU customers)",
        "support",
        {"control": "1", long_arm: "2"},
        flag_key="prompt-test",
    )
    m = pab.Metric("latency of the first token for the support answer", "latency_s", agg="mean",
                   unit="s")  # fmt: skip
    res = exp.analyze([m, "error_rate"])
    figs = {
        "forest": plots.forest(res),
        "forest_absolute": plots.forest(res, relative=False),
        "means": plots.means(res, m.name),
        "exposures": plots.daily_exposures(res),
        "cumulative": plots.cumulative(exp.analyze_over_time(m), min_units=0),
    }
    for name, fig in figs.items():
        texts = [a.title for a in fig.axes] + [a.yaxis.label for a in fig.axes]
        texts += [a.xaxis.label for a in fig.axes]
        texts += [t for lg in fig.legends for t in lg.get_texts()]
        texts += [t for a in fig.axes if a.get_legend() for t in a.get_legend().get_texts()]
        assert not _off_figure(fig, texts), (name, _off_figure(fig, texts))
    (legend,) = figs["exposures"].legends  # below the bars, not over them
    r = _drawn(figs["exposures"])
    assert legend.get_window_extent(r).y1 <= figs["exposures"].axes[0].get_window_extent(r).y0
    # its one day is labelled with the date, not "00:00"
    ticks = [t.get_text() for t in figs["exposures"].axes[0].get_xticklabels()]
    assert ticks == ["2026-03-01"], ticks
    ws.close()


def test_forest_says_its_p_values_are_adjusted(exp) -> None:
    # With a correction the labels beside the points are adjusted p-values and the fill
    # follows them, while the bars are unadjusted CIs: a bar clear of 0 beside a hollow point
    # and "p = 0.09" read as a contradiction, and nothing on the figure said why.
    res = exp.analyze(["latency", "error_rate"], correction="bonferroni")
    for fig in (plots.forest(res), plots.forest(res, relative=False)):
        text = legend_text(fig)
        assert "p-values Bonferroni-adjusted" in text and "bars: 95 % CI (unadjusted)" in text
    assert "adjusted" not in legend_text(plots.forest(exp.analyze(["latency"])))


def test_forest_draws_an_effect_without_a_relative_lift_on_the_absolute_scale(tmp_path) -> None:
    # No errors in the control: the relative lift of error_rate is undefined, and the default
    # (relative) forest drew "no estimate: ... (absolute shown)" with nothing shown, hiding a
    # +20 pp rise the verdict calls significant and worse (the report's headline figure).
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"latency": 1 + 0.01 * (u % 7)}] for u in range(100)],
        "test": [[{"latency": 1 + 0.01 * (u % 5), "error": u % 5 == 0}] for u in range(100)],
    })  # fmt: skip
    res = exp.analyze(["latency", "error_rate"])
    (row,) = [r for r in res.rows if r.metric == "error_rate" and not r.is_control]
    assert row.significant and row.rel_diff != row.rel_diff  # significant, no relative lift
    fig = plots.forest(res)
    lat, err = fig.axes
    assert lat.get_xlabel().startswith("relative difference") and lat.get_xlabel().endswith("(%)")
    assert err.get_xlabel() == "treatment − control (pp)"
    (bar,) = errorbars(err)
    assert bar.lines[0].get_xdata()[0] == pytest.approx(20.0)
    texts = " ".join(t.get_text() for t in err.texts)
    assert "+20.00 pp" in texts and "no estimate" not in texts, texts
    assert "no relative lift" in err.get_yticklabels()[0].get_text()
    # on one shared relative axis it cannot be drawn: its note gives the absolute difference
    shared = plots.forest(res, ax=Figure().subplots())
    note = " ".join(" ".join(t.get_text().split()) for t in shared.axes[0].texts)
    assert "+20.00 pp" in note and "p < 0.001" in note, note
    ws.close()


def test_cumulative_without_a_relative_lift_still_draws_the_absolute_difference(tmp_path) -> None:
    # No errors in the control: no relative lift in any period, but an absolute difference of
    # +20 pp with its always-valid band. The figure must draw that panel (and say why the
    # relative one is empty), not "no estimate ... nothing measured".
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{}] for _ in range(100)],
        "test": [[{"error": u % 5 == 0}] for u in range(100)],
    })  # fmt: skip
    fig = plots.cumulative(exp.analyze_over_time("error_rate"), min_units=0)
    top, bottom = fig.axes
    assert "no relative lift" in " ".join(t.get_text() for t in top.texts)
    ys = [y for ln in bottom.get_lines() for y in ln.get_ydata() if len(ln.get_xdata()) == 1]
    assert pytest.approx(20.0) in ys, ys  # the difference, in pp
    assert "always-valid" in legend_text(fig) and "nothing measured" not in legend_text(fig)
    ws.close()


def test_a_forest_panel_without_any_estimate_has_no_scale(tmp_path) -> None:
    # Every generation of the control unpriced: the cost panel has nothing to draw, yet it
    # showed an x axis from 0.0 to 1.4 "%" (matplotlib's empty default), a scale of nothing.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": None}] for _ in range(60)],
        "test": [[{}] for _ in range(60)],
    })  # fmt: skip
    res = exp.analyze(["cost", "latency"])
    for fig in (plots.forest(res), plots.forest(res, relative=False)):
        cost, latency = fig.axes
        assert not len(cost.get_xticks()) and len(latency.get_xticks())
        assert any(t.get_text().startswith("no estimate") for t in cost.texts)
    ws.close()


def test_cumulative_keeps_each_arm_s_colour_when_an_arm_is_left_out(tmp_path) -> None:
    # Colours went by the arms left after the min_units filter: with "b" below 50 units, "c"
    # took b's orange, the colour the forest and means plots give b.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"latency": 1 + 0.01 * (u % 7)}] for u in range(60)],
        "b": [[{"latency": 1 + 0.01 * (u % 5)}] for u in range(20)],
        "c": [[{"latency": 1.1 + 0.01 * (u % 3)}] for u in range(60)],
    })  # fmt: skip
    fig = plots.cumulative(exp.analyze_over_time("latency"))
    colours = {
        ln.get_color() for a in fig.axes for ln in a.get_lines() if ln.get_marker() != "None"
    }
    assert colours == {plots.PALETTE[2]}, colours
    assert "c" in legend_text(fig) and "b" not in legend_text(fig).split(" | ")
    ws.close()


def test_means_and_forest_take_the_metric_object_they_were_analysed_with(tmp_path) -> None:
    # exp.analyze([m]) and exp.analyze_over_time(m) take a Metric, but plots.means(res, m) and
    # forest(res, metrics=[m]) answered "metric Metric(name='lat', ...) is not in the result;
    # metrics: lat" for the very metric in the result.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {"control": [[{}] for _ in range(60)],
                                   "test": [[{"latency": 2.0}] for _ in range(60)]})  # fmt: skip
    m = pab.Metric("lat", "latency_s", agg="mean", unit="s")
    res = exp.analyze([m])
    assert plots.means(res, m).axes[0].get_title().startswith("lat by arm")
    assert len(plots.forest(res, metrics=[m]).axes) == 1
    with pytest.raises(pab.InvalidArgumentError, match="not in the result"):
        plots.means(res, pab.Metric("other", "latency_s", agg="mean"))
    ws.close()


def test_forest_names_confidence_sequences_and_bayesian_fill(exp) -> None:
    # Under sequential=True the bars are confidence sequences (the result table says so); the
    # title and legend said "95 % CI". Under method="bayesian" the fill is the chance to be
    # better (never adjusted), yet with a correction the legend said "filled: significant
    # (p-values Holm-adjusted)".
    seq = exp.analyze(["latency", "error_rate"], sequential=True)
    for fig in (plots.forest(seq), plots.forest(seq, relative=False)):
        text = legend_text(fig) + " " + fig.axes[0].get_title()
        assert "95 % confidence sequence" in text and "95 % CI" not in text, text
    assert "95 % CI" in legend_text(plots.forest(exp.analyze(["latency"])))
    bayes = exp.analyze(["latency", "error_rate"], method="bayesian", correction="holm")
    text = legend_text(plots.forest(bayes))
    assert "adjusted" not in text.replace("unadjusted", ""), text
    assert "filled: chance to be better ≥ 95 %" in text, text


def test_an_unbroken_long_experiment_name_stays_on_the_figure(res) -> None:
    # wrap=True breaks titles at spaces only: a 90-character name without one (a slug, a
    # uuid) ran the forest and daily-exposure titles off both sides of the figure
    long = dataclasses.replace(res, experiment="support-bot-" + "x" * 80)
    for fig in (plots.forest(long), plots.forest(long, relative=False),
                plots.daily_exposures(long)):  # fmt: skip
        titles = [a.title for a in fig.axes]
        assert not _off_figure(fig, titles), _off_figure(fig, titles)
        assert any("support-bot-x" in t.get_text() and "…" in t.get_text() for t in titles)


def test_a_bayesian_forest_draws_the_posterior_its_label_and_verdict_give(exp) -> None:
    # With a sceptical prior the verdict said "+6.8 % (95 % credible interval −0.89 % to
    # 14.4 %, chance to be better 95.8 %)" while the forest drew the frequentist +17.2 % with
    # a bar of +5.0 % to +29.4 % labelled "95 % CI": another estimate and interval than the
    # chance beside it. The forest now draws the posterior mean and credible interval.
    from promptab_nb.stats import GaussianPrior

    res = exp.analyze(["latency"], method="bayesian", prior=GaussianPrior(0.0, 0.0004))
    rows = [r for r in res.rows if not r.is_control]
    assert any(abs(r.cred_mean - r.rel_diff) > 0.002 for r in rows)  # (the prior moves it)
    fig = plots.forest(res)
    bars = errorbars(fig.axes[0])
    labels = " ".join(t.get_text() for t in fig.axes[0].texts)
    for r, bar in zip(rows, bars, strict=True):
        assert bar.lines[0].get_xdata()[0] == pytest.approx(r.cred_mean * 100)
        assert num(r.cred_mean, "%", signed=True) in labels
    assert "95 % credible interval" in legend_text(fig) and "95 % CI" not in legend_text(fig)
    flat = exp.analyze(["latency"])  # (frequentist: the CI, as before)
    assert "95 % CI" in legend_text(plots.forest(flat))
