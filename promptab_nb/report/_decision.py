"""The decision card at the top of the report: the action (coloured), its reasons, the design
and every change made to it after the experiment started (renames are not design changes: the
subtitle shows them, ``_sections.renames``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._format import is_missing
from .._html import Markup, el
from ..decision._result import share_text
from ..errors import PromptabError

if TYPE_CHECKING:
    from ..decision import Decision
    from ..experiments import Experiment
    from ..results import ExperimentResult

CSS = """
.pab .decision { border-radius: 8px; padding: 12px 16px; margin: 14px 0; border: 2px solid; }
.pab .decision h2 { border: 0; margin: 0 0 6px; font-size: 20px; }
.pab .decision ul { margin: 4px 0 6px; padding-left: 20px; }
.pab .decision .design { font-size: 12.5px; color: #333; }
.pab .decision.ship { background: #e9f6ec; border-color: #1b7f3b; }
.pab .decision.ship h2 { color: #1b7f3b; }
.pab .decision.dont_ship { background: #fbeaea; border-color: #c0392b; }
.pab .decision.dont_ship h2 { color: #c0392b; }
.pab .decision.keep_running { background: #fff6e0; border-color: #b7791f; }
.pab .decision.keep_running h2 { color: #8a5a00; }
.pab .decision.no_effect { background: #eef2f7; border-color: #5b6b7f; }
.pab .decision.no_effect h2 { color: #3d4b5c; }
.pab .progress { height: 8px; background: #fff; border: 1px solid #bbb; border-radius: 4px;
  max-width: 320px; margin: 4px 0; }
.pab .progress span { display: block; height: 100%; background: #b7791f; border-radius: 3px; }
"""


def _readable(text: str | None) -> str:
    """A stored design part (JSON) as people write it: ``cost +5%, error_rate +0.2pp``."""
    import json

    value = json.loads(text) if text else None
    if value is None:
        return "none"
    if isinstance(value, dict) and "text" in value:
        return str(value["text"])
    if isinstance(value, dict):
        return (
            ", ".join(
                f"{k} {v['text'] if isinstance(v, dict) else 'no regression'}"
                for k, v in value.items()
            )
            or "none"
        )
    return str(value)


def _progress(d: Decision) -> Markup | None:
    shares = [a.progress.share for a in d.arms if not is_missing(a.progress.share)]
    if not shares:
        return None
    share = min(shares)
    return el(
        "div",
        el("span", style=f"width: {max(0.0, min(1.0, share)) * 100:.1f}%"),
        class_="progress",
        # whole percent rounded down, as the decision says it: 99.6 % is not "100%"
        title=f"{share_text(share)} of the planned sample",
        role="img",
        aria_label=f"{share_text(share)} of the planned sample reached",
    )


def decision_section(res: ExperimentResult, exp: Experiment | None) -> Markup:
    """The card: ``Decision: Ship test`` (green), ``Don't ship`` (red), ``Keep running``
    (amber, with the share of the planned sample) or ``No effect`` (grey)."""
    try:
        d = res.decision()
    except PromptabError as err:
        # (decide() says "no decision: ..." of a result with no unit: not said twice)
        why = str(err).removeprefix("no decision: ")
        return el("section", el("h2", "Decision"), el("p", f"No decision: {why}"),
                  class_="decision keep_running", id="decision")  # fmt: skip
    changes = []
    if exp is not None:
        changes = [
            el(
                "li",
                f"{c.changed_at:%Y-%m-%d %H:%M} UTC: {c.field} changed from "
                f"{_readable(c.old)} to {_readable(c.new)}",
            )
            for c in exp.design_changes()
            if c.field != "name"  # (a rename is shown under the title: _sections.renames)
        ]
    return el(
        "section",
        el("h2", f"Decision: {d.headline}"),
        el("ul", *[el("li", r) for r in d.reasons]),
        _progress(d) if d.action == "keep_running" else None,
        el(
            "div",
            el("b", "Design: "),
            "; ".join(d.design.describe()),
            f" · alpha {d.alpha:g}" + (", sequential (safe to look daily)" if d.sequential else ""),
            class_="design",
        ),
        el(
            "div",
            el("b", "Design changed after the start:"),
            el("ul", *changes),
            class_="design",
        )
        if changes
        else None,
        class_=f"decision {d.action}",
        id="decision",
    )
