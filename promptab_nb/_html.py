"""The one HTML builder: every text goes through :func:`el`, which escapes it."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence


class Markup(str):
    """Text that is already safe HTML (built by :func:`el`)."""


def esc(text: object) -> Markup:
    """Escape any value for HTML text or attribute use."""
    if isinstance(text, Markup):
        return text
    return Markup(html.escape("" if text is None else str(text), quote=True))


_VOID = {"img", "br", "hr", "meta", "link", "input"}


def el(tag: str, *children: object, **attrs: object) -> Markup:
    """Build ``<tag attrs>children</tag>``; strings are escaped, Markup is kept.

    Attribute names: a trailing underscore is dropped (``class_`` → ``class``) and other
    underscores become dashes (``aria_label`` → ``aria-label``). ``None``/``False`` attributes
    are omitted, ``True`` renders as a bare attribute.
    """
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    open_tag = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Markup(open_tag)
    inner = "".join(_flatten(children))
    return Markup(f"{open_tag}{inner}</{tag}>")


def _flatten(children: Iterable[object]) -> Iterable[str]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, list | tuple):
            yield from _flatten(child)
        else:
            yield esc(child)


def table(
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    caption: str | None = None,
    **attrs: object,
) -> Markup:
    """An HTML table with a header row; cells may be text or Markup."""
    head = el("thead", el("tr", *[el("th", h, scope="col") for h in header]))
    body = el("tbody", *[el("tr", *[el("td", c) for c in row]) for row in rows])
    return el("table", el("caption", caption) if caption else None, head, body, **attrs)


STYLE = """
.pab { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 13px; color: #222; }
.pab table { border-collapse: collapse; margin: 6px 0; }
.pab th, .pab td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
.pab th:first-child, .pab td:first-child { text-align: left; }
.pab caption { text-align: left; font-weight: 600; padding: 4px 0; }
.pab .verdict { margin: 2px 0; }
.pab .good { color: #006d4e; } .pab .bad { color: #b3261e; } .pab .neutral { color: #555; }
.pab .health { background: #f6f6f6; padding: 6px 10px; border-left: 3px solid #999; margin: 6px 0; }
.pab .warn { border-left-color: #d55e00; }
.pab .note { color: #666; font-size: 12px; }
"""
