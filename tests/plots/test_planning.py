"""plots/planning.py: power curves and the simulation study figures behind their .plot()."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import promptab_nb as pab
from promptab_nb import plots
from promptab_nb.simulate import aa, peeking, power

from ._plot_helpers import assert_themed, errorbars, legend_text, save


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
    assert ax.get_lines()[0].get_color() == plots.PALETTE[0]
    assert_themed(fig)
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


def _colours(ax) -> set[str]:
    lines = {to_hex(ln.get_color()).upper() for ln in ax.get_lines()}
    patches = {to_hex(p.get_facecolor()).upper() for p in ax.patches}
    return lines | patches


def test_aa_study_plot_delegates() -> None:
    res = aa("latency", 200, n_sims=400, seed=7, progress=False)
    fig = res.plot()
    assert_themed(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "p-value" and len(ax.patches) == 20
    assert _colours(ax) <= set(plots.PALETTE)
    assert "uniform" in legend_text(fig)
    save(fig, "study_aa")


def test_power_study_plot_delegates() -> None:
    res = power("cost", 0.2, [100, 300, 600], n_sims=200, seed=7, progress=False)
    fig = res.plot(figsize=(5, 3))
    assert_themed(fig)
    ax = fig.axes[0]
    (bars,) = errorbars(ax)
    assert bars.lines[0].get_color() == plots.PALETTE[0]
    assert ax.get_xlabel() == "users per arm"
    assert "±2 MC SE" in legend_text(fig)
    assert tuple(fig.get_size_inches()) == (5, 3)
    save(fig, "study_power")


def test_peeking_study_plot_delegates() -> None:
    res = peeking("error_rate", 700, looks=7, n_sims=200, seed=7, progress=False)
    fig = res.plot()
    assert_themed(fig)
    ax = fig.axes[0]
    curves = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 7]
    assert [ln.get_color() for ln in curves] == [plots.PALETTE[4], plots.PALETTE[0]]
    assert ax.get_xlabel() == "look"
    assert "α = 0.05" in legend_text(fig)
    save(fig, "study_peeking")


def test_power_curve_target_keeps_its_decimals() -> None:
    # target=0.975 was labelled "target 98%" (rounded to a whole percent) beside its line at
    # 97.5 on the axis: the legend named another power than the one drawn.
    fig = plots.power_curve([100, 200, 400], [0.5, 0.9, 0.99], target=0.975)
    assert "target 97.5%" in legend_text(fig)
    assert fig.axes[0].get_lines()[-1].get_ydata()[0] == 97.5
