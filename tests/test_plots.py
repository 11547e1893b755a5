"""Figures tested through their axes; every figure is also saved under reports/plots/ to look at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

import promptab_nb as pab
from promptab_nb import plots

OUT = Path(__file__).resolve().parents[1] / "reports" / "plots"
ARMS = {"control": "v1", "test": "v2", "bold": "v3"}


def save(fig: Figure, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    path.write_bytes(plots.to_png(fig))
    assert path.stat().st_size > 5_000
    return path


def errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def legend_text(fig: Figure) -> str:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return " | ".join(t.get_text() for lg in legends for t in lg.get_texts())


def has_zero_line(ax, axis: str = "x") -> bool:
    for line in ax.get_lines():
        data = line.get_xdata() if axis == "x" else line.get_ydata()
        if len(data) == 2 and all(float(v) == 0 for v in data):
            return True
    return False


@pytest.fixture(scope="module")
def exp(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sim") / "events"
    pab.simulate.traffic(
        3000,
        ARMS,
        {"test": {"latency": 0.85, "cost": 1.1}, "bold": {"error_rate": 0.05, "latency": 1.02}},
        out=out,
        seed=11,
        days=8,
        flag_key="support-bot-prompt",
        prompt_name="support-bot",
        progress=False,
    )
    ws = pab.Workspace()
    ws.load_posthog(out.with_suffix(".parquet"), progress=False)
    yield ws.create_experiment("plots", "support-bot", ARMS, flag_key="support-bot-prompt")
    ws.close()


@pytest.fixture(scope="module")
def res(exp):
    return exp.analyze()


def test_forest_relative(res) -> None:
    fig = plots.forest(res)
    ax = fig.axes[0]
    bars = errorbars(ax)
    assert len(bars) == 4 * 2  # metrics × treatments
    assert has_zero_line(ax)
    assert "95 % CI" in legend_text(fig)
    assert "test (v2)" in legend_text(fig) and "bold (v3)" in legend_text(fig)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert any("latency (s)" in t and "lower is better" in t for t in ticks)
    assert any("pass_rate (%)" in t and "higher is better" in t for t in ticks)
    assert ax.get_xlabel() == "relative difference vs control (v1) (%)"
    # significant points filled, others hollow
    rows = [r for r in res.rows if not r.is_control]
    faces = [c.lines[0].get_markerfacecolor() for c in bars]
    for r, face in zip(rows, faces, strict=True):
        assert (face != "white") == bool(r.significant), r
    assert any(not r.significant for r in rows) and any(r.significant for r in rows)
    # arms differ by colour and marker
    markers = {c.lines[0].get_marker() for c in bars}
    colours = {c.lines[0].get_color() for c in bars}
    assert len(markers) == 2 and len(colours) == 2
    assert colours <= set(plots.PALETTE[1:])
    save(fig, "forest")


def test_forest_absolute_and_subset(res) -> None:
    fig = plots.forest(res, relative=False)
    assert len(fig.axes) == 4
    assert [ax.get_xlabel() for ax in fig.axes] == [
        "treatment − control (USD)",
        "treatment − control (s)",
        "treatment − control (pp)",
        "treatment − control (pp)",
    ]
    assert all(len(errorbars(ax)) == 2 and has_zero_line(ax) for ax in fig.axes)
    assert "95 % CI" in legend_text(fig)
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
    assert fig is ax.figure
    assert "90 % CI" in legend_text(fig)
    notes = [t.get_text() for t in ax.texts]
    assert any("P(Δ > 0)" in t for t in notes)
    save(fig, "forest_bayesian")


def test_means(res) -> None:
    fig = plots.means(res, "error_rate")
    ax = fig.axes[0]
    assert len(errorbars(ax)) == 3
    assert ax.get_ylabel().endswith("(%)")
    assert "95 % CI" in ax.get_title()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0].startswith("control\nv1\n(control)")
    with pytest.raises(pab.InvalidArgumentError, match="not in the result"):
        plots.means(res, "nope")
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
    save(fig, "cumulative")
    flat = plots.cumulative(exp.analyze_over_time("cost", relative=False))
    assert len(flat.axes) == 1
    assert flat.axes[0].get_ylabel() == "treatment − control (USD)"
    save(flat, "cumulative_absolute")


def test_distribution(exp) -> None:
    fig = plots.distribution(exp, "latency", log=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "latency per unit (s) — log scale"
    assert len(ax.patches) == 3  # one step histogram per arm
    assert "control (v1)" in legend_text(fig)
    save(fig, "distribution_hist")
    values = exp.unit_values("cost")
    ecdf = plots.distribution(values, "cost", kind="ecdf", log=True)
    ax = ecdf.axes[0]
    assert len(ax.get_lines()) == 3
    assert ax.get_ylabel() == "share of units ≤ value"
    assert "USD" in ax.get_xlabel()
    save(ecdf, "distribution_ecdf")
    with pytest.raises(pab.InvalidArgumentError, match="'variant' and 'value'"):
        plots.distribution(pd.DataFrame({"x": [1]}), "cost")
    with pytest.raises(pab.InvalidArgumentError, match="kind"):
        plots.distribution(values, "cost", kind="violin")  # type: ignore[arg-type]


def test_power_curve_inputs() -> None:
    n = np.array([500, 1000, 2000, 4000, 8000])
    p = np.array([0.2, 0.35, 0.6, 0.85, 0.98])
    fig = plots.power_curve(n, p, target=0.8)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "power (%)"
    assert any(
        len(line.get_ydata()) == 2 and float(line.get_ydata()[0]) == 80.0 for line in ax.get_lines()
    )
    assert "target 80%" in legend_text(fig)
    assert ax.texts and ax.texts[0].get_text() == "≈3,600"  # interpolated crossing
    save(fig, "power")
    obj = SimpleNamespace(n=n, power=p)
    assert len(plots.power_curve(obj).axes[0].get_lines()) >= 2
    frame = pd.DataFrame(
        {
            "n": list(n) * 2,
            "power": list(p) + [0.1, 0.15, 0.3, 0.5, 0.7],
            "mde": [0.1] * 5 + [0.05] * 5,
            "power_ci_low": list(p - 0.02) + [0.08, 0.13, 0.28, 0.48, 0.68],
            "power_ci_high": list(p + 0.02) + [0.12, 0.17, 0.32, 0.52, 0.72],
        }
    )
    fig2 = plots.power_curve(SimpleNamespace(to_pandas=lambda: frame))
    assert len(errorbars(fig2.axes[0])) == 2
    assert "mde = 0.1" in legend_text(fig2)
    save(fig2, "power_by_mde")
    with pytest.raises(pab.InvalidArgumentError, match="'n' and 'power'"):
        plots.power_curve(pd.DataFrame({"x": [1]}))


@pytest.fixture(scope="module")
def comparison():
    ws = pab.Workspace()
    ds = pab.offline.Dataset.from_records(
        [{"q": f"{i} + {i}", "expected": str(2 * i)} for i in range(24)]
    )
    run = ws.run_offline(
        ds,
        [("math", "{{q}}"), ("math", "Think step by step: {{q}}")],
        pab.offline.DemoModel(),
        repeats=2,
        progress=False,
    )
    yield run.compare()
    ws.close()


def test_offline_comparison(comparison) -> None:
    fig = plots.offline_comparison(comparison)
    metrics = list(dict.fromkeys(r.metric for r in comparison.rows))
    assert len(fig.axes) == len(metrics)
    assert all(len(errorbars(ax)) == 1 and has_zero_line(ax) for ax in fig.axes)
    assert fig.axes[0].get_xlabel().startswith(f"{metrics[0]}: version − {comparison.baseline}")
    assert "95 % CI" in legend_text(fig)
    save(fig, "offline_comparison")
    from_frame = plots.offline_comparison(comparison.to_pandas(), metrics=metrics[:2])
    assert len(from_frame.axes) == 2
    with pytest.raises(pab.InvalidArgumentError, match="columns"):
        plots.offline_comparison(pd.DataFrame({"metric": ["x"]}))


def test_figures_stay_out_of_pyplot(res) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.forest(res)
    plots.means(res, "cost")
    assert plt.get_fignums() == before
    assert matplotlib.rcParams["axes.spines.top"]  # the theme stays inside the figures


def test_importing_the_package_loads_no_matplotlib() -> None:
    code = (
        "import sys, promptab_nb as pab; pab.Workspace;"
        "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
