"""The experiment's history in the report: renames beside the title (whether or not there is a
decision), design changes in the decision card; names escaped in HTML and Markdown."""

from __future__ import annotations

import dataclasses
import re

import pytest

import promptab_nb as pab
from promptab_nb import report

from ._helpers import HOSTILE, NS, _doc, _text

FLAG = "support-bot-prompt"
ARMS = {"control": "v1", "test": "v2"}
#: A second hostile name: a Markdown cell border, HTML, both quotes.
PIPED = 'a|b <script>alert(2)</script> "it\'s"'


@pytest.fixture(scope="module")
def renamed(ws: pab.Workspace) -> pab.Experiment:
    exp = ws.create_experiment(
        "old name", None, ARMS, flag_key=FLAG, goal="latency", guardrails={"error_rate": "+1pp"}
    )
    exp.set_design(guardrails={"error_rate": "+0.5pp"})
    exp.rename(HOSTILE)
    exp.rename(PIPED)
    return exp


def _sub(doc) -> str:  # noqa: ANN001
    """The text between the title and the first section (subtitle and history)."""
    main = next(doc.iter(f"{NS}main"))
    out = []
    for child in main:
        if child.tag == f"{NS}section":
            break
        if child.tag != f"{NS}h1":
            out.append(" ".join(_text(child).split()))
    return " | ".join(out)


def _card(doc) -> str:  # noqa: ANN001
    card = next(s for s in doc.iter(f"{NS}section") if s.get("id") == "decision")
    return " ".join(_text(card).split())


def test_renames_are_shown_beside_the_title_not_as_design_changes(renamed: pab.Experiment) -> None:
    # a rename read "name changed from "old name" to ..." in the card's "Design changed after
    # the start" list, as if the design had changed; it is shown under the title instead
    changes = renamed.design_changes()
    assert [c.field for c in changes] == ["guardrails", "name", "name"]
    html = report.render(renamed.analyze(["latency", "error_rate"]), ws=renamed.ws)
    doc = _doc(html)
    card, sub = _card(doc), _sub(doc)
    assert "Design changed after the start" in card and "error_rate +0.5pp" in card
    assert "name changed" not in card and "old name" not in card, card
    first, second = changes[1].changed_at, changes[2].changed_at
    assert (
        f"Renamed from 'old name' to {HOSTILE!r} on {first:%Y-%m-%d %H:%M} UTC, "
        f"from {HOSTILE!r} to {PIPED!r} on {second:%Y-%m-%d %H:%M} UTC"
    ) in sub, sub
    # escaped, never markup: no script element, the names' text intact
    assert doc.find(f".//{NS}script") is None and "<script>" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_a_rename_alone_opens_no_design_changed_list(ws: pab.Workspace) -> None:
    exp = ws.create_experiment("plain", None, ARMS, flag_key=FLAG, goal="latency")
    exp.rename("plain renamed")
    doc = _doc(report.render(exp.analyze(["latency"]), ws=ws, over_time=False))
    exp.stop()
    assert "Design changed" not in _card(doc)
    assert "Renamed from 'plain' to 'plain renamed' on " in _sub(doc)


def test_renames_are_shown_without_a_decision(renamed: pab.Experiment) -> None:
    # the card said nothing of the rename when res.decision() failed (a window after the data)
    res = renamed.analyze(["latency"], start="2099-01-01")
    doc = _doc(report.render(res, ws=renamed.ws, over_time=False))
    assert "No decision" in _card(doc)
    assert f"Renamed from 'old name' to {HOSTILE!r} on " in _sub(doc)


def test_no_history_line_without_a_rename(designed_plain: pab.Experiment) -> None:
    doc = _doc(report.render(designed_plain.analyze(["latency"]), over_time=False))
    assert "Renamed" not in _sub(doc)


@pytest.fixture(scope="module")
def designed_plain(ws: pab.Workspace) -> pab.Experiment:
    return ws.create_experiment("never renamed", None, ARMS, flag_key=FLAG)


def test_markdown_of_a_renamed_experiment_keeps_its_name_literal(renamed: pab.Experiment) -> None:
    # the Markdown summary of a result analysed after a rename: the new name's pipe does not
    # end a cell or a heading, its HTML does not run
    md = renamed.analyze(["latency"]).to_markdown()
    heading = md.splitlines()[0]
    assert heading == ('### Experiment a\\|b &lt;script&gt;alert(2)&lt;/script&gt; "it\'s"'), (
        heading
    )
    assert "<script>" not in md and "old name" not in md
    rows = [line for line in md.splitlines() if line.startswith("| latency |")]
    assert rows and all(len(re.split(r"(?<!\\)\|", line)) == 8 for line in rows)


def test_a_result_analysed_before_a_rename_finds_its_record_by_id(ws: pab.Workspace) -> None:
    # the report looked the experiment up by the result's name: after a rename it found none
    # (no status, no history), and once another experiment took the old name, it showed that
    # one's record ("status stopped") for this result
    exp = ws.create_experiment("by id", None, ARMS, flag_key=FLAG, goal="latency")
    res = exp.analyze(["latency"])
    assert res.experiment_id == exp.id
    exp.rename("by id, renamed")
    other = ws.create_experiment("by id", None, ARMS, flag_key=FLAG)
    other.stop()
    doc = _doc(report.render(res, ws=ws, over_time=False))
    sub = _sub(doc)
    assert "Renamed from 'by id' to 'by id, renamed' on " in sub, sub
    assert "status running" in sub and "stopped" not in sub, sub
    exp.stop()


def test_a_result_of_another_workspace_is_not_matched_by_id(ws: pab.Workspace) -> None:
    # the same id in another workspace is another experiment: its record is not shown
    other_ws = pab.Workspace()
    mine = other_ws.create_experiment("elsewhere", None, ARMS, flag_key=FLAG)
    res = dataclasses.replace(
        ws.create_experiment("here", None, ARMS, flag_key=FLAG).analyze(["latency"]),
        experiment_id=mine.id,
    )
    mine.stop()
    sub = _sub(_doc(report.render(res, ws=other_ws, over_time=False)))
    assert "stopped" not in sub and "status" not in sub, sub
