"""Planning figures: power by sample size, and the simulation studies (A/A p-values, simulated
power, peeking) of :mod:`promptab_nb.simulate`, whose ``.plot()`` methods call these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check
from .._format import level_pct, num
from ..errors import InvalidArgumentError
from ._theme import REFERENCE, ZERO, colour, marker, new_axes, new_figure, theme

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..simulate import AAResult, PeekingResult, PowerResult

__all__ = ["aa_study", "peeking_study", "power_curve", "power_study"]


def _power_frame(n: Any, power: Any) -> pd.DataFrame:
    import pandas as pd

    if power is not None:
        return pd.DataFrame(
            {"n": np.asarray(n, dtype=float).ravel(), "power": np.asarray(power, float).ravel()}
        )
    if isinstance(n, pd.DataFrame):
        frame = n
    elif hasattr(n, "n") and hasattr(n, "power") and not callable(n.power):
        frame = pd.DataFrame({"n": np.ravel(n.n), "power": np.ravel(n.power)})
        for extra in ("power_ci_low", "power_ci_high"):
            if hasattr(n, extra):
                frame[extra] = np.ravel(getattr(n, extra))
    elif hasattr(n, "to_pandas"):
        frame = n.to_pandas()
    elif isinstance(n, Mapping):
        frame = pd.DataFrame(dict(n))
    else:
        raise InvalidArgumentError(
            f"power_curve got {type(n).__name__} without power; pass power_curve(n, power), an "
            "object with .n and .power, or a frame with columns 'n' and 'power'"
        )
    if "n" not in frame.columns and "n_total" in frame.columns:
        frame = frame.rename(columns={"n_total": "n"})
    if "n" not in frame.columns or "power" not in frame.columns:
        raise InvalidArgumentError(
            f"power_curve needs columns 'n' and 'power' (found: {', '.join(map(str, frame.columns))})"
        )
    return frame


def power_curve(
    n: Any,
    power: Sequence[float] | np.ndarray | None = None,
    *,
    target: float = 0.8,
    by: str | None = None,
    xlabel: str = "units in the experiment (all arms)",
    title: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.5, 3.4),
) -> Figure:
    """Power against sample size, with the target power and where each curve reaches it.

    Parameters
    ----------
    n
        Sample sizes (with ``power``), or an object with ``.n`` and ``.power`` attributes, or a
        frame (or anything with ``to_pandas()``) with columns ``n`` (or ``n_total``) and
        ``power``; optional ``power_ci_low``/``power_ci_high`` draw Monte-Carlo error bars.
    power
        Power (0–1) per sample size.
    target
        Target power drawn as a horizontal line (0.8 = 80 %).
    by
        Column of the frame that splits it into one curve per value (e.g. ``"mde"``); default
        the first of ``mde``, ``effect``, ``label`` present.
    xlabel, title, ax, figsize
        Labels, axes to draw into or the size of a new figure in inches.

    Returns
    -------
    Figure

    Examples
    --------
    >>> fig = power_curve([500, 1000, 2000], [0.35, 0.6, 0.88])
    >>> fig.axes[0].get_ylabel()
    'power (%)'
    """
    check(target, "target", gt=0, lt=1)
    frame = _power_frame(n, power)
    if by is None:
        by = next((c for c in ("mde", "effect", "label") if c in frame.columns), None)
    groups = list(frame.groupby(by, sort=False)) if by is not None else [(None, frame)]
    with theme():
        ax = new_axes(ax, figsize)
        for j, (key, g) in enumerate(groups):
            g = g.sort_values("n")
            x = g["n"].to_numpy(dtype=float)
            y = g["power"].to_numpy(dtype=float)
            i = j + 1 if len(groups) > 1 else 0
            label = f"{by} = {key}" if by is not None else "power"
            if {"power_ci_low", "power_ci_high"} <= set(g.columns):
                yerr = [
                    (y - g["power_ci_low"].to_numpy(float)) * 100,
                    (g["power_ci_high"].to_numpy(float) - y) * 100,
                ]
                ax.errorbar(
                    x, y * 100, yerr=yerr, fmt=marker(i) + "-", color=colour(i), ms=4, capsize=2,
                    label=label,
                )  # fmt: skip
            else:
                ax.plot(x, y * 100, marker=marker(i), ms=4, color=colour(i), label=label)
            reach = np.nonzero(y >= target)[0]
            if reach.size:
                k = int(reach[0])
                if k > 0 and y[k] > y[k - 1]:
                    xr = x[k - 1] + (target - y[k - 1]) * (x[k] - x[k - 1]) / (y[k] - y[k - 1])
                else:
                    xr = x[k]
                ax.axvline(xr, color=colour(i), ls=":", lw=1)
                ax.annotate(
                    f"≈{xr:,.0f}",
                    (xr, target * 100),
                    xytext=(4, -12),
                    textcoords="offset points",
                    fontsize=7.5,
                    color=colour(i),
                )
        ax.axhline(target * 100, color=ZERO, lw=0.9, ls="--", label=f"target {level_pct(target)}")
        ax.set_ylim(0, 102)
        ax.set_ylabel("power (%)")
        ax.set_xlabel(xlabel)
        ax.set_title(title or "Power by sample size")
        ax.legend(loc="lower right")
        return ax.figure  # type: ignore[return-value]


# -- simulation studies ----------------------------------------------------------------------------
def aa_study(result: AAResult, *, figsize: tuple[float, float] = (6, 3.5)) -> Figure:
    """Histogram of the A/A p-values (flat when the test is calibrated), from ``simulate.aa``."""
    bins = 20
    with theme():
        ax = new_figure(figsize).subplots()
        ax.hist(result.p_values, bins=bins, range=(0, 1), color=colour(0), edgecolor="white")
        ax.axhline(len(result.p_values) / bins, color=colour(4), ls="--", label="uniform")
        ax.set_xlabel("p-value")
        ax.set_ylabel("experiments")
        ax.set_title(
            f"A/A {result.metric}: false-positive rate {num(result.false_positive_rate, '%')} "
            f"at α = {result.alpha:g}"
        )
        ax.legend()
        return ax.figure  # type: ignore[return-value]


def power_study(result: PowerResult, *, figsize: tuple[float, float] = (6, 3.5)) -> Figure:
    """Simulated power by users per arm with ±2 Monte-Carlo SE bars, from ``simulate.power``."""
    with theme():
        ax = new_figure(figsize).subplots()
        ax.errorbar(
            result.n_per_arm, result.power, yerr=2 * result.power_se, fmt=marker(0) + "-",
            color=colour(0), label="simulated power (±2 MC SE)",
        )  # fmt: skip
        ax.axhline(0.8, color=REFERENCE, ls=":", label="80 %")
        ax.set_xlabel("users per arm")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.set_title(f"Power: {result.metric}, effect {result._effect_text()}")
        ax.legend()
        return ax.figure  # type: ignore[return-value]


def peeking_study(result: PeekingResult, *, figsize: tuple[float, float] = (6, 3.5)) -> Figure:
    """Cumulative rejection rate by look, daily peeking vs the sequential test, from
    ``simulate.peeking``; α drawn for reference."""
    x = np.arange(1, result.looks + 1)
    with theme():
        ax = new_figure(figsize).subplots()
        ax.plot(x, result.peeking_by_look, marker(0) + "-", color=colour(4),
                label="fixed-horizon test, peeking")  # fmt: skip
        ax.plot(x, result.sequential_by_look, marker(1) + "-", color=colour(0),
                label="sequential (mSPRT)")  # fmt: skip
        ax.axhline(result.alpha, color=REFERENCE, ls="--", label=f"α = {result.alpha:g}")
        ax.set_xlabel("look")
        ax.set_ylabel("cumulative rejection rate")
        ax.set_title(f"Peeking: {result.metric}, {result.n_per_arm:,} users per arm")
        ax.legend()
        return ax.figure  # type: ignore[return-value]
