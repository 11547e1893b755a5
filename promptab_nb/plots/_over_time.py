"""The cumulative effect of a live experiment over time, with its CI and the always-valid band
(:func:`cumulative`)."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib import dates as mdates
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .._format import level_pct
from ..stats.guards import MIN_UNITS_PER_ARM
from ._theme import (
    NEUTRAL,
    ZERO,
    _diff_unit,
    _level_text,
    _short,
    colour,
    marker,
    new_figure,
    theme,
)
from .experiment import direction_words

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..results import OverTimeResult

__all__ = ["cumulative"]


def _bar(ax: Axes, x: Any, est: Any, lo: Any, hi: Any, f: float, c: str) -> None:
    """The interval of a single period as an error bar (a shade or band needs two points)."""
    e, low, high = (float(v.iloc[0]) * f for v in (est, lo, hi))
    if not any(math.isnan(v) for v in (e, low, high)):
        ax.errorbar(x, [e], yerr=[[e - low], [high - e]], color=c, alpha=0.45, capsize=3,
                    fmt="none")  # fmt: skip


def _why_no_period(result: OverTimeResult, total: int, min_units: int) -> str:
    """Why the figure over time draws nothing: no period, too few units, or no estimate."""
    if not total:
        return "no period to draw: no exposed unit in the analysis' window"
    enough = [r for r in result.records if min(r["n_control"], r["n_treatment"]) >= min_units]
    if min_units and not enough:
        return (
            f"no period yet with {min_units:,} units in both arms (the periods before it swing "
            "on noise); min_units=0 draws every period"
        )
    return "no estimate in any period: " + _first_note(result)


def _first_note(result: OverTimeResult, variant: str | None = None) -> str:
    """The first note of the result's records (of ``variant`` only when given)."""
    notes = [
        r["note"]
        for r in result.records
        if r.get("note") and (variant is None or r.get("variant") == variant)
    ]
    return str(notes[0]) if notes else "nothing measured"


def cumulative(
    result: OverTimeResult,
    *,
    min_units: int = MIN_UNITS_PER_ARM,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Cumulative effect over time with its CI, and the always-valid sequential band.

    Parameters
    ----------
    result
        From ``exp.analyze_over_time(metric)``.
    min_units
        Periods start once both arms hold this many units (default 50, the minimum under
        which no p-value is shown); ``0`` draws every period.
    figsize
        Inches.

    Returns
    -------
    Figure
        The estimate at the end of each period with its fixed-horizon CI (shaded). When the
        result carries a sequential confidence sequence (absolute scale), it is drawn around the
        absolute difference — on the same panel for an absolute result, else on a second panel.
    """
    df = result.to_pandas()
    total = len(df)
    if len(df) and min_units:
        # Early periods with a handful of units swing wildly and invite stopping on noise.
        df = df[(df["n_control"] >= min_units) & (df["n_treatment"] >= min_units)]
    m = result.metric
    level = 1 - result.alpha
    has_estimate = bool(len(df)) and bool(df["estimate"].astype(float).notna().any())
    # (the sequential band is around the absolute difference, which a period without a
    # relative lift, e.g. a control mean of 0, still has)
    has_seq = bool(len(df)) and "seq_ci_low" in df.columns and bool(df["seq_ci_low"].notna().any())
    two_panels = has_seq and result.relative
    # (nothing to draw at all: no line, legend key nor zero line, only why; see below)
    variants = list(dict.fromkeys(df["variant"])) if has_estimate or has_seq else []
    arms = list(dict.fromkeys(r["variant"] for r in result.records))  # before the filter
    f_est, u_est = (100.0, "%") if result.relative else _diff_unit(m.unit)
    f_abs, u_abs = _diff_unit(m.unit)
    with theme():
        fig = new_figure(figsize or (7.5, 5.2 if two_panels else 3.4))
        axes = list(fig.subplots(2 if two_panels else 1, 1, squeeze=False, sharex=True)[:, 0])
        top = axes[0]
        blank: list[str] = []
        drawn: list[tuple[str, int]] = []
        for v in variants:
            d = df[df["variant"] == v].sort_values("period_end")
            x = d["period_end"].to_numpy()
            i = arms.index(v) + 1  # (its place among every arm: the forest's colour for it)
            c = colour(i)
            with_est = bool(d["estimate"].astype(float).notna().any())
            with_seq = has_seq and bool(d["seq_ci_low"].astype(float).notna().any())
            if not with_est and not with_seq:
                # nothing to draw: no legend key for it, the figure says why below
                blank.append(f"{v}: " + _first_note(result, v))
                continue
            drawn.append((v, i))
            single = len(d) == 1  # (a shade or a band between points would have no width)
            if with_est:
                if single:
                    _bar(top, x, d["estimate"], d["ci_low"], d["ci_high"], f_est, c)
                top.fill_between(
                    x,
                    d["ci_low"].astype(float) * f_est,
                    d["ci_high"].astype(float) * f_est,
                    color=c,
                    alpha=0.2,
                    lw=0,
                )
                top.plot(x, d["estimate"].astype(float) * f_est, marker=marker(i), ms=4, color=c)
            if with_seq:
                seq_ax = axes[1] if two_panels else top
                if two_panels:
                    seq_ax.plot(x, d["diff"].astype(float) * f_abs, marker=marker(i), ms=4, color=c)
                    if single:
                        _bar(seq_ax, x, d["diff"], d["seq_ci_low"], d["seq_ci_high"], f_abs, c)
                seq_ax.plot(x, d["seq_ci_low"].astype(float) * f_abs, color=c, ls="--", lw=1)
                seq_ax.plot(x, d["seq_ci_high"].astype(float) * f_abs, color=c, ls="--", lw=1)
        kind = "relative lift" if result.relative else "treatment − control"
        top.set_ylabel(f"{kind} ({u_est})", wrap=True)
        top.set_title(
            f"{m.name} over time (cumulative by {result.freq}; {direction_words(m)})", wrap=True
        )
        for a in axes if drawn else ():
            a.axhline(0, color=ZERO, lw=0.9)
        if drawn:  # (no arm with a value: no legend, no warning)
            # One key per arm plus what the shade and the dashes are, below the panels: two or
            # three keys per arm inside them covered the curves and ran off the figure.
            keys: list[Artist] = [
                Line2D([], [], color=colour(i), marker=marker(i), ms=4, label=_short(v))
                for v, i in drawn
            ]
            keys.append(Patch(color=NEUTRAL, alpha=0.2, lw=0, label=f"shade: {_level_text(level)}"))
            if has_seq:
                band = f"dashed: always-valid {level_pct(level, spaced=True)} band"
                keys.append(Line2D([], [], color=NEUTRAL, ls="--", lw=1, label=band))
            fig.legend(handles=keys, loc="outside lower center", ncol=min(4, len(keys)))
        if two_panels:
            axes[1].set_ylabel(f"treatment − control ({u_abs})", wrap=True)
            axes[1].set_title(
                "absolute difference with the sequential (always-valid) band", wrap=True
            )
        axes[-1].set_xlabel("end of period (UTC)", wrap=True)
        if drawn and not has_estimate:
            # e.g. a control mean of 0: no lift to draw, the absolute difference is below
            top.set_yticks([])
            top.text(0.5, 0.5, "no relative lift in any period (the control's mean is 0): the "
                     "absolute difference is drawn below", transform=top.transAxes,
                     ha="center", va="center", color=NEUTRAL)  # fmt: skip
        if not drawn:
            # An empty date axis would run over 1 January 1970: say why nothing is drawn.
            for a in axes:
                a.set_xticks([])
                a.set_yticks([])
            top.text(
                0.5,
                0.5,
                textwrap.fill(_why_no_period(result, total, min_units), 80),
                transform=top.transAxes,
                ha="center",
                va="center",
                color=NEUTRAL,
            )
            return fig
        if blank:
            top.text(
                0.01,
                0.01,
                textwrap.fill("no estimate: " + "; ".join(blank), 100),
                transform=top.transAxes,
                ha="left",
                va="bottom",
                fontsize=7,
                color=NEUTRAL,
            )
        ends = pd.to_datetime(df["period_end"]).drop_duplicates()
        if len(ends) == 1:
            # one period: matplotlib would span two years each side of it
            axes[-1].set_xlim(
                ends.iloc[0] - pd.Timedelta(days=1), ends.iloc[0] + pd.Timedelta(days=1)
            )
        loc = mdates.AutoDateLocator()
        axes[-1].xaxis.set_major_locator(loc)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        return fig
