"""Means per arm of a live experiment, with their CIs (:func:`means`)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from .._format import num
from ..errors import InvalidArgumentError
from ._theme import (
    NEUTRAL,
    _level_text,
    _missing,
    _scale,
    _short,
    _with_unit,
    colour,
    marker,
    new_axes,
    theme,
)
from .experiment import direction_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..metrics import Metric
    from ..results import ExperimentResult

__all__ = ["means"]


def means(
    result: ExperimentResult,
    metric: str | Metric,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Mean of ``metric`` per arm with its CI, control first.

    Parameters
    ----------
    result
        From ``exp.analyze(...)``.
    metric
        A metric of the result, by name or as the :class:`~promptab_nb.metrics.Metric`.
    ax, figsize
        Axes to draw into, or the size of a new figure in inches (default 5.5 wide, wider
        with more than six arms).

    Returns
    -------
    Figure
        One point and CI bar per arm, labelled with the formatted mean.

    Raises
    ------
    InvalidArgumentError
        ``metric`` is not in the result.
    """
    if not isinstance(metric, str):
        # a Metric stands for its name, as in analyze; another of the same name is not found
        metric = metric.name if metric in result.metrics else repr(metric)
    try:
        m = result.metric(metric)
    except KeyError:
        raise InvalidArgumentError(
            f"metric {metric!r} is not in the result; metrics: "
            f"{', '.join(x.name for x in result.metrics)}"
        ) from None
    rows = [r for r in result.rows if r.metric == metric]
    arms = list(result.variants)
    rows.sort(key=lambda r: arms.index(r.variant) if r.variant in arms else len(arms))
    f, unit = _scale(m.unit)
    with theme():
        # ~0.8 inch per arm keeps the tick labels (name, version, n) apart
        ax = new_axes(ax, figsize or (max(5.5, 1.0 + 0.8 * len(rows)), 3.4))
        for x, r in enumerate(rows):
            i = arms.index(r.variant) if r.variant in arms else x
            if _missing(r.mean):
                # an empty column would read as a failed plot: say that this arm has no mean
                why = (r.note or "").split(": ")[0] if not r.is_control else ""
                ax.text(
                    x,
                    0.5,
                    "no mean" + (f"\n{textwrap.fill(why, 22)}" if why else ""),
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=NEUTRAL,
                )
                continue
            lo = r.mean - r.mean_ci_low if not _missing(r.mean_ci_low) else 0.0
            hi = r.mean_ci_high - r.mean if not _missing(r.mean_ci_high) else 0.0
            ax.errorbar(
                x,
                r.mean * f,
                yerr=[[lo * f], [hi * f]],
                fmt=marker(i),
                color=colour(i),
                markersize=8,
                capsize=4,
                elinewidth=1.6,
                label=f"{r.variant}",
            )
            # (a mean without an interval, e.g. of one unit, is no estimate to compare by)
            no_ci = _missing(r.mean_ci_low) and _missing(r.mean_ci_high)
            ax.annotate(
                num(r.mean, m.unit) + ("\nno CI" if no_ci else ""),
                (x, r.mean * f),
                xytext=(10, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_xticks(
            range(len(rows)),
            [
                # a long name wraps (and is cut in the middle) instead of running into the next
                "\n".join(textwrap.wrap(_short(r.variant, 24), 12) or [""])
                + f"\n{_short(result.variants.get(r.variant, ''), 12)}"
                + ("\n(control)" if r.is_control else "")
                + f"\nn = {r.n:,}"
                for r in rows
            ],
        )
        ax.set_xlim(-0.6, len(rows) - 0.4)
        if all(_missing(r.mean) for r in rows):
            ax.set_yticks([])  # (nothing drawn: matplotlib's empty 0 to 1 is a scale of nothing)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(_with_unit(m.describe(result.options.unit or "user"), unit), wrap=True)
        ax.set_title(
            f"{m.name} by arm ({_level_text(result.level)}; {direction_words(m)})", wrap=True
        )
        return ax.figure  # type: ignore[return-value]
