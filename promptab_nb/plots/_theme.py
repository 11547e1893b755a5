"""The one look of every promptab figure: palette, markers, rc theme, figure type, units.

Every figure is a :class:`PabFigure` built inside :func:`theme` (a local ``mpl.rc_context``), so
the theme never leaks into the user's own figures and nothing is registered with pyplot or
IPython: a :class:`PabFigure` displays in Jupyter through its own ``_repr_png_``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from .._format import level_pct

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# Okabe & Ito (2008), "Color Universal Design"; blue for the control, then the contrasting hues.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue (control)
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
MARKERS: tuple[str, ...] = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h")
NEUTRAL = "#555555"  # legend keys and "no estimate" notes
ZERO = "#222222"  # the no-difference line and target lines
REFERENCE = "#999999"  # secondary reference lines (MDE, alpha, 80 % power)
BAND = "#cccccc"  # noise bands (offline A/A)

THEME: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 120,
    "savefig.facecolor": "white",
    "lines.linewidth": 1.4,
}


@contextmanager
def theme() -> Iterator[None]:
    """The promptab rc settings, for the duration of the block only (every figure is built in one)."""
    with mpl.rc_context(THEME):  # type: ignore[arg-type]  # stubs list every rc key as a Literal
        yield


def colour(i: int) -> str:
    """Colour of arm ``i`` (0 = control), cycling through :data:`PALETTE`."""
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str:
    """Marker of arm ``i`` (0 = control)."""
    return MARKERS[i % len(MARKERS)]


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes (for widgets and reports)."""
    buf = io.BytesIO()
    with theme():
        # The figures use constrained layout, so a "tight" bbox (a second full draw) is not needed.
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class PabFigure(Figure):
    """A matplotlib :class:`~matplotlib.figure.Figure` that shows itself inline in Jupyter.

    Our figures are never registered with pyplot, so IPython would print ``<Figure ...>``; the
    ``_repr_png_`` hook renders this figure type only, leaving every other figure untouched.
    """

    def _repr_png_(self) -> bytes:
        return to_png(self)


def new_figure(figsize: tuple[float, float], **kwargs: Any) -> PabFigure:
    """A new constrained-layout :class:`PabFigure`; call inside :func:`theme`."""
    return PabFigure(figsize=figsize, layout="constrained", **kwargs)


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the single axes of a new figure; call inside :func:`theme`."""
    if ax is not None:
        return ax
    return new_figure(figsize).subplots()


# -- units and labels --------------------------------------------------------------------------
def _missing(x: Any) -> bool:
    """None or NaN: a value the figure cannot place."""
    return x is None or (isinstance(x, float | np.floating) and math.isnan(x))


def _scale(unit: str) -> tuple[float, str]:
    """(factor, axis unit) to draw values stored in ``unit``: fractions become percent."""
    if unit in ("%", "fraction"):
        return 100.0, "%"
    return 1.0, unit


def _diff_unit(unit: str) -> tuple[float, str]:
    """Differences of fractions are percentage points."""
    if unit in ("%", "fraction"):
        return 100.0, "pp"
    return 1.0, unit


def _with_unit(text: str, unit: str) -> str:
    if not unit or f"({unit})" in text:
        return text
    return f"{text} ({unit})"


def _level_text(level: float, interval: str = "CI") -> str:
    """``0.95`` → ``"95 % CI"``, ``0.999`` → ``"99.9 % CI"`` (not rounded to 100 %);
    ``interval`` names another kind (``"confidence sequence"``)."""
    return f"{level_pct(level, spaced=True)} {interval}"


def _short(name: str, width: int = 32) -> str:
    """``name`` cut in the middle to ``width`` characters (``head…tail``): arms that differ
    only at the end stay told apart, and a long name cannot push a legend off the figure."""
    if len(name) <= width:
        return name
    tail = (width - 1) // 2
    return f"{name[: width - 1 - tail]}…{name[-tail:]}"


def _title_name(name: str, width: int = 40) -> str:
    """``name`` for a title that wraps at spaces (``wrap=True``): each run longer than
    ``width`` characters without a space is cut in the middle, else it ran off the figure."""
    return " ".join(_short(w, width) for w in name.split(" "))


def _arm_legend_label(arm: str, versions: Mapping[str, str], n: int) -> str:
    """Legend entry of one arm: its key, prompt version when known, and unit count."""
    v = versions.get(arm)
    arm = _short(arm)
    return f"{arm} ({_short(v, 16)}), n = {n:,}" if v else f"{arm}, n = {n:,}"
