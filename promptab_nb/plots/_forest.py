"""Rows of points with CI bars against a zero line: the forest plot of live results and the
offline comparison share this drawing."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from .._format import level_pct
from ._theme import NEUTRAL, ZERO, _level_text, _missing, colour, marker

if TYPE_CHECKING:
    from matplotlib.artist import Artist
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
    tone: str = "neutral"  # good / bad / neutral: the note's colour
    #: An estimate without a verdict (no p-value): drawn grey and hollow, its note says why.
    withheld: bool = False


#: Colours of better / worse (text and the shaded sides of zero).
TONE_COLOURS = {"good": "#1b7f3b", "bad": "#c0392b", "neutral": "#333333"}
_SIDE = {"good": "#e9f6ec", "bad": "#fbeaea"}
_NOTE_SIZE = 7.5  # points
_NOTE_LINES = 3


def _fit(text: str, width_pt: float) -> str:
    """``text`` wrapped to lines that fit ``width_pt`` points at the notes' font size, at most
    :data:`_NOTE_LINES` of them (then cut with an ellipsis; the table holds the full note)."""
    chars = max(16, int(width_pt / (0.55 * _NOTE_SIZE)))  # DejaVu Sans averages ~0.55 em
    lines = textwrap.wrap(text, chars) or [""]
    if len(lines) > _NOTE_LINES:
        rest = " ".join(lines[_NOTE_LINES - 1 :])
        lines = [*lines[: _NOTE_LINES - 1], textwrap.shorten(rest, chars, placeholder=" …")]
    return "\n".join(lines)


def _draw_forest(
    ax: Axes,
    groups: list[tuple[str, list[_Point]]],
    *,
    xlabel: str,
    beside: bool = False,
    better_left: bool | None = None,
) -> None:
    """Draw groups of points (top to bottom) with CI bars and a zero line; notes at the right
    margin, or ``beside`` each point's CI. A row without an estimate says so across the middle
    of the axes, with its note wrapped to fit. ``better_left`` shades the better side of zero
    green and the worse side red (``None``: no shading)."""
    yticks, ylabels = [], []
    notes = blended_transform_factory(ax.transAxes, ax.transData)
    # Notes wrap to fit: the axes' width (a row without an estimate), or 40 % of it (beside a
    # CI or in the margin); text past the figure's edge would squash the axes to nothing.
    width_pt = ax.bbox.width * 72 / ax.figure.dpi
    y = 0.0
    for label, points in groups:
        k = len(points)
        offsets = np.linspace(0.22, -0.22, k) if k > 1 else np.zeros(1)
        for off, p in zip(offsets, points, strict=True):
            yy = y + off
            if _missing(p.est):
                # Across the middle on a pale box, clear of the zero line, never in the margin.
                text = "no estimate" if p.note in ("", "no estimate") else f"no estimate: {p.note}"
                ax.text(0.5, yy, _fit(text, 0.75 * width_pt), transform=notes, ha="center",
                        va="center", color=NEUTRAL, fontsize=_NOTE_SIZE, zorder=3,
                        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none",
                              "boxstyle": "round,pad=0.2"})  # fmt: skip
                continue
            lo = p.est - p.lo if not _missing(p.lo) else 0.0
            hi = p.hi - p.est if not _missing(p.hi) else 0.0
            # A withheld verdict keeps its arm's marker but drops the arm's colour and the fill.
            c = NEUTRAL if p.withheld else colour(p.arm)
            bars = ax.errorbar(
                p.est,
                yy,
                xerr=[[max(lo, 0.0)], [max(hi, 0.0)]],
                fmt=marker(p.arm),
                color=c,
                markerfacecolor=c if p.significant and not p.withheld else "white",
                markeredgewidth=1.4,
                markersize=7,
                capsize=3,
                elinewidth=1.6,
            )
            if p.withheld:
                for line in bars.lines[2]:
                    line.set_linestyle("--")
            note = _fit(p.note, 0.4 * width_pt)
            tone = TONE_COLOURS["neutral" if p.withheld else p.tone]
            if beside:
                right = p.hi if not _missing(p.hi) else p.est
                ax.annotate(
                    note, (right, yy), xytext=(6, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=_NOTE_SIZE, color=tone,
                )  # fmt: skip
            else:
                ax.text(1.02, yy, note, transform=notes, ha="left", va="center",
                        fontsize=_NOTE_SIZE, color=tone)  # fmt: skip
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
    lo, hi = min(lo, -pad), max(hi, pad)
    if beside:
        hi += 0.55 * (hi - lo)  # room for the labels right of the points
    ax.set_xlim(lo, hi)
    if better_left is not None:
        good, bad = (lo, 0.0), (0.0, hi)
        if not better_left:
            good, bad = bad, good
        ax.axvspan(*good, color=_SIDE["good"], zorder=0, lw=0)
        ax.axvspan(*bad, color=_SIDE["bad"], zorder=0, lw=0)
        ax.set_xlim(lo, hi)
    if all(_missing(p.est) for _, points in groups for p in points):
        # nothing drawn: no scale (matplotlib's empty 0 to 1 read as one), only the notes
        ax.set_xticks([])


def _forest_legend(
    fig: Figure | SubFigure,
    ax: Axes,
    owned: bool,
    legend_arms: Sequence[tuple[str, int]],
    level: float,
    *,
    tones: bool = False,
    adjusted: str | None = None,
    interval: str = "CI",
    bayesian: bool = False,
) -> None:
    """Arms by colour and marker, the bars' level and ``interval`` (``CI``, ``confidence
    sequence``), what filled and hollow points mean, and (with ``tones``) the better / worse
    shading. ``adjusted`` names the correction the p-values (and so the fill) went through: the
    bars are then unadjusted, and the legend says both. ``bayesian``: the fill is the chance to
    be better at ``level`` or more, which no correction adjusts."""
    handles: list[Artist] = [
        Line2D([], [], color=colour(i), marker=marker(i), ls="-", label=name)
        for name, i in legend_arms
    ]
    if bayesian:
        adjusted = None
    bars = f"bars: {_level_text(level, interval)}" + (" (unadjusted)" if adjusted else "")
    filled = "filled: significant" + (f" (p-values {adjusted}-adjusted)" if adjusted else "")
    if bayesian:
        filled = f"filled: chance to be better ≥ {level_pct(level, spaced=True)}"
    handles += [
        Line2D([], [], color=NEUTRAL, ls="-", lw=1.6, label=bars),
        Line2D([], [], color=NEUTRAL, marker="o", ls="", label=filled),
        Line2D(
            [], [], color=NEUTRAL, marker="o", ls="", markerfacecolor="white", label="hollow: not"
        ),
    ]
    if tones:
        from matplotlib.patches import Patch

        handles += [
            Patch(color=_SIDE["good"], label="better side"),
            Patch(color=_SIDE["bad"], label="worse side"),
        ]
    ncol = min(len(handles), 4)
    if owned:
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    else:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=ncol)
