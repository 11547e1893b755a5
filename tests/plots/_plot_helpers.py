"""Helpers to inspect figures through their axes, and to save each kind for a look by eye."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from promptab_nb import plots

# One PNG of each figure kind, to look at after a run (PAB_PLOT_DIR overrides the place).
OUT = Path(os.environ.get("PAB_PLOT_DIR", Path(tempfile.gettempdir()) / "plots_check"))
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


def assert_themed(fig: Figure) -> None:
    """The figure was built inside plots.theme(): its fonts and spines come from THEME."""
    assert isinstance(fig, plots.PabFigure)
    for ax in fig.axes:
        assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
        ticks = ax.get_xticklabels() + ax.get_yticklabels()
        assert {t.get_fontsize() for t in ticks} <= {plots.THEME["xtick.labelsize"]}
        if ax.get_title():
            assert ax.title.get_fontsize() == plots.THEME["axes.titlesize"]
            assert ax.title.get_fontweight() == "bold"
