"""Figures of :mod:`promptab_nb.plots` embedded in the report as base64 PNG ``<figure>``s."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._html import Markup, el

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Figures:
    """Figures from :mod:`promptab_nb.plots` as embedded PNG; a missing plot is left out."""

    def __init__(self) -> None:
        try:
            from .. import plots
        except ImportError:
            plots = None  # type: ignore[assignment]
        self._plots = plots

    def has(self, name: str) -> bool:
        """True when :mod:`promptab_nb.plots` draws ``name``."""
        return callable(getattr(self._plots, name, None))

    def make(self, name: str, *args: Any, alt: str, caption: str | None = None) -> Markup | None:
        """``plots.<name>(*args)`` as a ``<figure>`` with ``alt`` text; ``None`` without it."""
        fn: Callable[..., Figure] | None = getattr(self._plots, name, None)
        if not callable(fn):
            return None
        return figure_html(fn(*args), alt=alt, caption=caption)


def figure_html(fig: Figure, *, alt: str, caption: str | None = None) -> Markup:
    """Save ``fig`` as PNG into a ``data:`` URI inside a ``<figure>``; the figure is closed."""
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # Tiny samples can collapse constrained layout; the PNG is still usable.
            warnings.filterwarnings("ignore", message="constrained_layout not applied")
            # Constrained layout already fits the figure: no "tight" bbox (a second full draw).
            fig.savefig(buf, format="png", dpi=110, facecolor="white")
    finally:
        # Our figures are built with Figure(...), never registered with pyplot: drop their
        # artists.
        fig.clear()
    src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return el(
        "figure",
        el("img", src=src, alt=alt),
        el("figcaption", caption) if caption else None,
    )
