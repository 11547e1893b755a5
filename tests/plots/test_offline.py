"""plots/offline.py: the offline comparison figure, also behind OfflineComparison.plot()."""

from __future__ import annotations

import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb import plots

from ._plot_helpers import assert_themed, errorbars, has_zero_line, legend_text, save


def test_offline_comparison(comparison) -> None:
    fig = plots.offline_comparison(comparison)
    metrics = list(dict.fromkeys(r.metric for r in comparison.rows))
    assert len(fig.axes) == len(metrics)
    assert all(len(errorbars(ax)) == 1 and has_zero_line(ax) for ax in fig.axes)
    assert fig.axes[0].get_xlabel().startswith(f"{metrics[0]}: version − {comparison.baseline}")
    assert "95 % CI" in legend_text(fig)
    assert_themed(fig)
    save(fig, "offline_comparison")
    from_frame = plots.offline_comparison(comparison.to_pandas(), metrics=metrics[:2])
    assert len(from_frame.axes) == 2
    with pytest.raises(pab.InvalidArgumentError, match="columns"):
        plots.offline_comparison(pd.DataFrame({"metric": ["x"]}))


def test_offline_plot_method_delegates(comparison) -> None:
    fig = comparison.plot()
    assert_themed(fig)
    metrics = list(dict.fromkeys(r.metric for r in comparison.rows))
    assert len(fig.axes) == len(metrics)
    # versions take the palette after the baseline's colour, as treatments do in live plots
    colours = {c.lines[0].get_color() for ax in fig.axes for c in errorbars(ax)}
    assert colours == {plots.PALETTE[1]}
    assert fig.axes[0].get_xlabel().endswith("(pp)")


@pytest.mark.parametrize("n_versions", [3, 4, 6])
def test_offline_notes_do_not_overlap_with_many_versions(n_versions) -> None:
    # The figure's height grew with the metrics only: with 3 or more versions the notes beside
    # the panel ("+4.17 pp  p = 0.21  3 items better, 1 worse") were printed over each other.
    ws = pab.Workspace()
    ds = pab.offline.Dataset.from_records(
        [{"q": f"{a} + {b}", "expected": str(a + b)} for a in range(8) for b in range(6)]
    )
    templates = ["Q: {{q}}", "Think step by step. Q: {{q}}", "Be concise. Answer only the "
                 "number. Q: {{q}}", "Here is an example: 1+1=2. Q: {{q}}", "Solve: {{q}}",
                 "Be concise, an example: 2+2=4. {{q}}"]  # fmt: skip
    versions = [("math", t) for t in templates[:n_versions]]
    run = ws.run_offline(ds, versions, pab.offline.DemoModel(seed=3), repeats=2, progress=False)
    fig = plots.offline_comparison(run.compare(metrics=["exact", "cost", "latency"]))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().strip()]
        assert len(boxes) == n_versions - 1
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert overlap <= 1, f"notes overlap by {overlap:.1f} px in {ax.get_xlabel()}"
    save(fig, f"offline_comparison_{n_versions}_versions")
    ws.close()


def test_offline_long_prompt_names_stay_on_the_figure() -> None:
    # A prompt name of 70 characters ran the title, every panel's axis label ("version −
    # <baseline>") and the legend past the figure's edges: the baseline's version and the
    # other versions' keys were cut off.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ws = pab.Workspace()
    ds = pab.offline.Dataset.from_records([{"q": f"{i} + {i}", "expected": str(2 * i)}
                                           for i in range(12)])  # fmt: skip
    name = "<b>x</b>|" + "long-prompt-name-" * 4
    run = ws.run_offline(ds, [(name, "{{q}}"), (name, "Think step by step: {{q}}")],
                         pab.offline.DemoModel(), repeats=2, progress=False)  # fmt: skip
    fig = plots.offline_comparison(run.compare(metrics=["exact", "latency"]))
    canvas = FigureCanvasAgg(fig)
    with plots.theme():
        canvas.draw()
    r = canvas.get_renderer()
    texts = [ax.title for ax in fig.axes] + [ax.xaxis.label for ax in fig.axes]
    texts += [t for lg in fig.legends for t in lg.get_texts()]
    out = [t.get_text() for t in texts if t.get_text() and (
        t.get_window_extent(r).x0 < -1 or t.get_window_extent(r).x1 > fig.bbox.x1 + 1)]  # fmt: skip
    assert not out, out
    labels = " ".join(t.get_text() for t in texts)
    assert "@v1" in labels and "@v2" in labels  # cut in the middle: the versions still show
    ws.close()


def test_pairwise_ranking_with_an_estimate_outside_its_bootstrap_interval() -> None:
    # The strengths are fitted without a ridge and the bootstrap replicates with one (0.001),
    # and a percentile interval need not hold its point: a strength above its upper bound
    # made matplotlib raise "'xerr' must not contain negative values" instead of a figure.
    from types import SimpleNamespace

    import numpy as np

    res = SimpleNamespace(versions=["a", "b"], strengths=np.array([1.2, -1.2]),
                          ci_low=np.array([0.3, -1.0]), ci_high=np.array([1.1, -0.2]),
                          n_items=12, alpha=0.05)  # fmt: skip
    fig = plots.pairwise_ranking(res)
    bars = errorbars(fig.axes[0])
    assert len(bars) == 2
    # the interval is drawn where it is, the point where it is: nothing is moved
    segs = {round(float(s[0][1])): s for c in bars for s in c.lines[2][0].get_segments()}
    assert [float(x) for x in segs[1][:, 0]] == [pytest.approx(0.3), pytest.approx(1.1)]


def test_offline_comparison_without_a_difference_says_why() -> None:
    # A version with no paired item (every call of it failed) has no difference: its row read
    # "no estimate: –  p –", the formatted NaNs, instead of the comparison's note.
    frame = pd.DataFrame({
        "metric": ["exact", "exact"], "version": ["a@v2", "a@v3"], "diff": [0.1, None],
        "diff_ci_low": [0.0, None], "diff_ci_high": [0.2, None], "unit": ["%", "%"],
        "p_value": [0.04, None], "note": [None, "no item has a value in both versions"],
    })  # fmt: skip
    texts = [t.get_text() for t in plots.offline_comparison(frame).axes[0].texts]
    assert "no estimate: no item has a value in both versions" in [
        " ".join(t.split()) for t in texts
    ]
    assert not any("–  p –" in t for t in texts), texts
    frame = frame.drop(columns="note")
    texts = [" ".join(t.get_text().split()) for t in plots.offline_comparison(frame).axes[0].texts]
    assert "no estimate" in texts and not any("p –" in t for t in texts), texts
