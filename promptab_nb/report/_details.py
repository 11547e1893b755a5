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


_H1 = {
    "two-sided": "two-sided",
    "less": "one-sided, H1: treatment < control",
    "greater": "one-sided, H1: treatment > control",
}


def _alternative_text(res: ExperimentResult) -> str:
    """The alternative hypothesis of the tests, per metric when they differ."""
    o = res.options
    alts = {m.name: o.alternative_for(m.name) for m in res.metrics}
    kinds = set(alts.values()) or {"two-sided"}
    if len(kinds) == 1:
        text = _H1[kinds.pop()]
    else:
        text = "; ".join(f"{name}: {_H1[alt]}" for name, alt in alts.items())
    if o.sequential and kinds != {"two-sided"}:
        text += " (the sequential p-values stay two-sided)"
    return text


def _prior_text(res: ExperimentResult) -> str:
    o = res.options
    if not o.bayesian:
        return "–"
    if o.prior is None:
        return "flat"
    scale = "relative lift (fraction)" if o.relative else "difference in the metric's unit"
    return f"Gaussian on the {scale}: mean {o.prior.mean:g}, variance {o.prior.variance:g}"


_COST = {
    "source": "as exported (the export's cost per generation)",
    "recompute": "recomputed from provider, model and tokens (genai-prices)",
}


def methods_section(res: ExperimentResult) -> Markup:
    """The methods sentences of the result and a table of every analysis option."""
    o = res.options
    relative = "treatment / control − 1, " + (
        # under sequential the relative interval inverts the always-valid test (analysis/_build)
        "confidence sequence that inverts the sequential test (Fieller)"
        if o.sequential
        else "delta-method CI (as PostHog)"
    )
    winsor = (
        "none" if o.winsorize is None else f"{o.winsorize[0]:g}th–{o.winsorize[1]:g}th percentile"
    )
    sequential = "always-valid p-values and confidence sequences"
    rows = [
        ["unit of analysis", str(o.unit)],
        ["method", o.method],
        ["Bayesian prior", _prior_text(res)],
        ["significance level α", f"{res.alpha:g}"],
        ["alternative hypothesis", _alternative_text(res)],
        ["relative effects", relative if o.relative else "not reported"],
        ["multiple-testing correction", CORRECTION_NAMES[o.correction] if o.correction else "none"],
        ["CUPED", _cuped_text(o.cuped)],
        ["winsorization", winsor],
        ["sequential testing", sequential if o.sequential else "no"],
        ["units exposed to several variants", o.multiple],
        ["window", f"{when(o.start)} to {when(o.end)}"],
        ["cost", _COST.get(o.cost, o.cost)],
        ["segments", o.by or "none"],
    ]
    return el(
        "section",
        el("h2", "Methods"),
        el("ul", *[el("li", line) for line in res.methods]),
        _html.table(["option", "value"], rows, caption="Analysis options"),
        id="methods",
    )


def _count(value: Any) -> str:
    """A row count, or "unknown" where the source did not count (a Spark table's rejects)."""
    return "unknown" if value is None else f"{int(value):,}"


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
