"""Units entering the experiment per day and arm (from ``res.daily``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib import dates as mdates

from ._theme import _short, _title_name, colour, new_figure, theme

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results import ExperimentResult

__all__ = ["daily_exposures"]


def daily_exposures(
    result: ExperimentResult, *, figsize: tuple[float, float] = (7.5, 2.8)
) -> Figure:
    """Units first exposed per day, one bar per arm and day (control first).

    A sudden drop in one arm or a ramp that differs between arms points at an assignment or
    logging problem; the rate also sets how many days the planned sample still needs.

    Parameters
    ----------
    result
        From ``exp.analyze(...)`` (its ``daily`` counts, UTC days).
    figsize
        Inches.

    Returns
    -------
    Figure
        Grouped bars (units per day) per arm, in the arm colours.
    """
    arms = list(result.variants)
    days = sorted({d for d, _, _ in result.daily})
    counts = {(d, v): n for d, v, n in result.daily}
    with theme():
        fig = new_figure(figsize)
        ax = fig.subplots()
        if not days:
            ax.text(0.5, 0.5, "no exposures", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        x = mdates.date2num(np.array(days, dtype="datetime64[D]").astype(object))
        width = 0.8 / len(arms)
        for i, arm in enumerate(arms):
            ys = [counts.get((d, arm), 0) for d in days]
            label = f"{_short(arm)} ({_short(result.variants[arm], 16)})"
            if i == 0 and arm != "control":
                label += ", control"
            ax.bar(x - 0.4 + width * (i + 0.5), ys, width, color=colour(i), label=label)
        ax.set_ylabel("units first exposed", wrap=True)
        ax.set_title(
            f"{_title_name(result.experiment)}: new units per day and arm (UTC)", wrap=True
        )
        # one tick per day, or every few days on long runs (AutoDateLocator fails on one day)
        loc = mdates.DayLocator(interval=max(1, len(days) // 8))
        ax.xaxis.set_major_locator(loc)
        # (a single day read "00:00" under its bars, the date only in the offset corner)
        ax.xaxis.set_major_formatter(
            mdates.DateFormatter("%Y-%m-%d") if len(days) == 1 else mdates.ConciseDateFormatter(loc)
        )
        ax.grid(axis="x", visible=False)
        # below the axes: inside, the keys sat over the first days' bars
        fig.legend(loc="outside lower center", ncol=min(len(arms), 4))
        return fig
