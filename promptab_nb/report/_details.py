"""The methods, data provenance and offline comparison sections of the report."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .. import _html
from .._format import is_missing, num
from .._html import Markup, el
from ..options import CORRECTION_NAMES

if TYPE_CHECKING:
    from ..results import ExperimentResult


def when(x: Any) -> str:
    """A time as ``2026-06-30 12:00 UTC``; ``None`` is an open end."""
    if x is None:
        return "open"
    if isinstance(x, dt.datetime):
        return f"{x:%Y-%m-%d %H:%M} UTC"
    return str(x)


def _cuped_text(days: float | None) -> str:
    if days is None:
        return "no"
    return f"yes, covariate from {days:g} days before exposure"


def methods_section(res: ExperimentResult) -> Markup:
    """The methods sentences of the result and a table of every analysis option."""
    o = res.options
    relative = "treatment / control − 1, delta-method CI (as PostHog)"
    winsor = (
        "none" if o.winsorize is None else f"{o.winsorize[0]:g}th–{o.winsorize[1]:g}th percentile"
    )
    sequential = "always-valid p-values and confidence sequences"
    rows = [
        ["unit of analysis", str(o.unit)],
        ["method", o.method],
        ["significance level α (two-sided)", f"{res.alpha:g}"],
        ["relative effects", relative if o.relative else "not reported"],
        ["multiple-testing correction", CORRECTION_NAMES[o.correction] if o.correction else "none"],
        ["CUPED", _cuped_text(o.cuped)],
        ["winsorization", winsor],
        ["sequential testing", sequential if o.sequential else "no"],
        ["units exposed to several variants", o.multiple],
        ["window", f"{when(o.start)} to {when(o.end)}"],
    ]
    return el(
        "section",
        el("h2", "Methods"),
        el("ul", *[el("li", line) for line in res.methods]),
        _html.table(["option", "value"], rows, caption="Analysis options"),
        id="methods",
    )


def _count(value: Any) -> str:
    return f"{int(value or 0):,}"


def provenance_section(res: ExperimentResult) -> Markup:
    """The files the result came from, with their sha256 and row counts."""
    rows = []
    for p in res.provenance:
        loaded = p.get("loaded_at")
        rows.append(
            [
                str(p.get("file", "")),
                str(p.get("format", "") or ""),
                Markup(el("code", str(p.get("sha256", "") or ""))),
                _count(p.get("rows_read")),
                _count(p.get("rows_loaded")),
                _count(p.get("rows_rejected")),
                when(loaded) if isinstance(loaded, dt.datetime) else str(loaded or ""),
            ]
        )
    table = (
        _html.table(
            ["file", "format", "sha256", "rows read", "rows loaded", "rows rejected", "loaded at"],
            rows,
            caption="Files loaded into the workspace",
        )
        if rows
        else el("p", "No load recorded in the workspace (data came from frames or SQL).")
    )
    return el(
        "section",
        el("h2", "Data provenance"),
        table,
        el(
            "p",
            "Analysed at "
            + (when(res.computed_at) if res.computed_at else "an unknown time")
            + ". A file with the same sha256 reproduces these numbers.",
            class_="note",
        ),
        id="provenance",
    )


def offline_section(offline: Any) -> Markup:
    """An offline comparison: its own HTML when it renders, else its table or its repr."""
    if hasattr(offline, "_repr_html_"):
        # Offline results build their HTML with _html.el (escaped), like every result object.
        content: Any = Markup(str(offline._repr_html_()))
    elif hasattr(offline, "to_pandas"):
        df = offline.to_pandas()
        content = _html.table(
            [str(c) for c in df.columns],
            [
                [num(v) if isinstance(v, float) else "" if is_missing(v) else str(v) for v in row]
                for row in df.itertuples(index=False)
            ],
        )
    else:
        content = el("pre", repr(offline))
    return el("section", el("h2", "Offline comparison (before launch)"), content, id="offline")
