"""What every widget shares: the status line, the code box, Python literals for generated code
and the :class:`_Widget` base (display through ``.widget``, a cheap ``__repr__``)."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import ipywidgets as W

from .. import _html

Tone = Literal["ok", "error", "warn", "neutral"]

#: Text colour of each tone (status lines, the estimate, the health banner's heading).
COLOURS: dict[str, str] = {
    "ok": "#1a7f37",
    "error": "#b3261e",
    "neutral": "#444444",
    "warn": "#8a5a00",
}
LABEL = {"description_width": "110px"}


def status(box: W.HTML, text: str, tone: Tone = "neutral") -> None:
    """Show a one-line message in a status HTML widget, coloured by ``tone``."""
    box.value = str(
        _html.el(
            "div",
            text,
            style=f"color:{COLOURS.get(tone, '#444')};white-space:pre-wrap;font-size:13px",
            class_=f"pab-status {tone}",
        )
    )


class FormStatus:
    """The status line of a form's button: it reports on the form as it was when clicked, so the
    next edit of the form clears an error (it no longer applies) and marks any other message as
    from before the change."""

    def __init__(self, box: W.HTML) -> None:
        self.box = box
        self._shown: tuple[str, Tone] | None = None

    def show(self, text: str, tone: Tone = "neutral") -> None:
        status(self.box, text, tone)
        self._shown = (text, tone)

    def edited(self) -> None:
        """Call on every edit of the form."""
        if self._shown is None:
            return
        text, tone = self._shown
        self._shown = None
        if tone == "error":
            self.box.value = ""
        else:
            status(self.box, f"{text} (the form has changed since)", "neutral")


def message(err: BaseException) -> str:
    """The library's own message, without a traceback, named by the error class."""
    return f"{type(err).__name__}: {err}"


def py(value: Any) -> str:
    """A Python literal for generated code (strings double-quoted like the docs)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(py(v) for v in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def code_box(code: str) -> str:
    """HTML of the code a widget runs, escaped, in a grey box."""
    return str(
        _html.el(
            "pre",
            code,
            style="background:#f6f8fa;padding:6px 8px;border-radius:4px;font-size:12px;"
            "white-space:pre-wrap;margin:4px 0",
            class_="pab-code",
        )
    )


def frame(children: list[W.Widget]) -> W.VBox:
    """The bordered box every widget is drawn in."""
    return W.VBox(children, layout=W.Layout(border="1px solid #ddd", padding="8px"))


class _Widget:
    """Display through the wrapped ipywidgets box (``.widget``).

    Subclasses keep ``__repr__`` cheap: it reads control values, never runs a query or an
    analysis.
    """

    widget: W.Box

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)


# (the split sliders of the builder)
def _rebalance(values: list[int], moved: int, total: int = 100) -> list[int]:
    """Integer shares summing to ``total`` after share ``moved`` changed: the others keep their
    proportions (largest remainder), each at least 0."""
    k = len(values)
    if k == 1:
        return [total]
    v = min(max(values[moved], 0), total)
    rest = total - v
    others = [i for i in range(k) if i != moved]
    weights = [max(values[i], 0) for i in others]
    s = sum(weights)
    raw = [rest / len(others)] * len(others) if s == 0 else [rest * w / s for w in weights]
    floor = [math.floor(x) for x in raw]
    left = rest - sum(floor)
    order = sorted(range(len(others)), key=lambda j: raw[j] - floor[j], reverse=True)
    for j in order[:left]:
        floor[j] += 1
    out = list(values)
    out[moved] = v
    for j, i in enumerate(others):
        out[i] = floor[j]
    return out


__all__: list[str] = []
