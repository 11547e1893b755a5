"""Pairwise-preference ranking: each version's Bradley–Terry strength with its bootstrap CI,
strongest on top; ``PairwiseResult.plot()`` calls it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._theme import ZERO, _level_text, colour, marker, new_axes, theme

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["pairwise_ranking"]


def pairwise_ranking(
    result: Any, *, ax: Axes | None = None, figsize: tuple[float, float] | None = None
) -> Figure:
    """Strengths (log-odds of being preferred, mean 0) with bootstrap CIs, one row per version.

    Parameters
    ----------
    result
        A :class:`~promptab_nb.offline.PairwiseResult`.
    ax, figsize
        Draw into ``ax``, or a new figure of ``figsize`` inches.

    Returns
    -------
    Figure
        Nothing is shown.
    """
    versions = list(result.versions)
    order = np.argsort(result.strengths, kind="stable")  # weakest at the bottom
    size = figsize or (6.5, 1.2 + 0.45 * len(versions))
    with theme():
        ax = new_axes(ax, size)
        for row, i in enumerate(order):
            s = float(result.strengths[i])
            lo, hi = float(result.ci_low[i]), float(result.ci_high[i])
            # The interval and the point are drawn each where it is: the strengths are fitted
            # without a ridge and the bootstrap with one, so a percentile interval need not hold
            # its point (an error bar around the point then had a negative length and raised).
            ax.errorbar((lo + hi) / 2, row, xerr=(hi - lo) / 2, fmt="none", color=colour(int(i)),
                        capsize=3)  # fmt: skip
            ax.plot(s, row, marker(int(i)), color=colour(int(i)), label=versions[i])
        ax.axvline(0, color=ZERO, linewidth=0.8)
        ax.set_yticks(range(len(versions)), [versions[i] for i in order])
        ax.set_xlabel("Bradley–Terry strength (log-odds of being preferred, mean 0)")
        ax.set_title(
            f"Pairwise preference: {result.n_items} items, "
            f"{_level_text(1 - result.alpha)} (bootstrap over items)"
        )
        ax.grid(axis="y", visible=False)
    return ax.figure  # type: ignore[return-value]
