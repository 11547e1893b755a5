"""Rows of points with CI bars against a zero line: the forest plot of live results and the
offline comparison share this drawing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ._theme import NEUTRAL, ZERO, _level_text, _missing, colour, marker

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure


@dataclass(frozen=True)
class _Point:
    label: str
    arm: int  # palette index (0 = control)
    est: float
    lo: float
    hi: float
    significant: bool
    note: str


def _draw_forest(ax: Axes, groups: list[tuple[str, list[_Point]]], *, xlabel: str) -> None:
    """Draw groups of points (top to bottom) with CI bars, a zero line and right-hand notes."""
    yticks, ylabels = [], []
    notes = blended_transform_factory(ax.transAxes, ax.transData)
    y = 0.0
    for label, points in groups:
        k = len(points)
        offsets = np.linspace(0.22, -0.22, k) if k > 1 else np.zeros(1)
        for off, p in zip(offsets, points, strict=True):
            yy = y + off
            if _missing(p.est):
                ax.text(0, yy, "no estimate", ha="center", va="center", color=NEUTRAL, fontsize=7)
            else:
                lo = p.est - p.lo if not _missing(p.lo) else 0.0
                hi = p.hi - p.est if not _missing(p.hi) else 0.0
                c = colour(p.arm)
                ax.errorbar(
                    p.est,
                    yy,
                    xerr=[[max(lo, 0.0)], [max(hi, 0.0)]],
                    fmt=marker(p.arm),
                    color=c,
                    markerfacecolor=c if p.significant else "white",
                    markeredgewidth=1.4,
                    markersize=7,
                    capsize=3,
                    elinewidth=1.6,
                )
            ax.text(1.02, yy, p.note, transform=notes, ha="left", va="center", fontsize=7.5)
        yticks.append(y)
        ylabels.append(label)
        y -= 1.0
    ax.axvline(0, color=ZERO, lw=0.9, zorder=1)
    ax.set_yticks(yticks, ylabels)
    ax.set_ylim(y + 0.5, 0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    # Keep the zero line in view even when every CI lies on one side.
    lo, hi = ax.get_xlim()
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_xlim(min(lo, -pad), max(hi, pad))


def _forest_legend(
    fig: Figure | SubFigure,
    ax: Axes,
    owned: bool,
    legend_arms: Sequence[tuple[str, int]],
    level: float,
) -> None:
    """Arms by colour and marker, the CI level, and what filled and hollow points mean."""
    handles = [
        Line2D([], [], color=colour(i), marker=marker(i), ls="-", label=name)
        for name, i in legend_arms
    ]
    handles += [
        Line2D([], [], color=NEUTRAL, ls="-", lw=1.6, label=f"bars: {_level_text(level)}"),
        Line2D([], [], color=NEUTRAL, marker="o", ls="", label="filled: significant"),
        Line2D(
            [], [], color=NEUTRAL, marker="o", ls="", markerfacecolor="white", label="hollow: not"
        ),
    ]
    ncol = min(len(handles), 4)
    if owned:
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    else:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=ncol)
