"""The shared renderer: Table/Note text and HTML, the Rendered mixin on every result class, and
HTML snapshots of an offline comparison and a load report built from fixed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import promptab_nb as pab
from promptab_nb._experiment_registry import ExperimentList
from promptab_nb._render import Note, Rendered, Table
from promptab_nb.loaders._report import FileReport, LoadReport
from promptab_nb.offline import Dataset
from promptab_nb.offline.compare import LivePlan, OfflineComparison
from promptab_nb.results import ExperimentResult, OverTimeResult
from promptab_nb.simulate import AAResult, PeekingResult, PowerResult

EVIL = "<script>alert(1)</script>"


def _table(**kw: Any) -> Table:
    return Table(["name", "value", "n"], [["a", "1.0 %", "10"], ["bb", "22.5 %", "200"]], **kw)


def test_text_has_title_lines_table_and_notes() -> None:
    t = _table(
        title="Title",
        caption="not shown when there is a title",
        before=[Note(("it went up",), css="verdict good")],
        after=[Note(("one", "two"), title="Notes"), Note(("plain",))],
        left=1,
    )
    assert t.text() == (
        "Title\n\n"
        "it went up\n\n"
        "name   value    n\n"
        "----  ------  ---\n"
        "a      1.0 %   10\n"
        "bb    22.5 %  200\n\n"
        "Notes\n  one\n  two\nplain"
    )


def test_text_caption_columns_alignment_and_no_rows() -> None:
    t = _table(caption="Caption", text_columns=(0, 2), left=1)
    assert t.text() == "Caption\n\nname    n\n----  ---\na      10\nbb    200"
    assert Table(["x"], [], caption="Nothing").text() == "Nothing\n\n(no rows)"


def test_html_is_one_escaped_pab_div() -> None:
    t = Table(
        [EVIL],
        [[EVIL]],
        title=EVIL,
        caption=EVIL,
        before=[Note((EVIL,), css="verdict bad")],
        after=[Note((EVIL,), title=EVIL, bullets=True)],
    )
    html = t.html()
    assert html.startswith('<div class="pab"><style>') and html.endswith("</div>")
    assert "<script>" not in html and html.count("&lt;script&gt;") == 7
    assert "'Segoe UI'" in html  # the style itself is not escaped
    assert '<div class="verdict bad">&lt;script' in html and "<ul><li>" in html


def test_note_html_shapes() -> None:
    assert Note(("a",)).html() == '<div class="note">a</div>'
    assert (
        Note(("a", "b"), css="health").html()
        == '<div class="health"><div>a</div><div>b</div></div>'
    )
    assert Note(("a",), title="T", bullets=True).html() == (
        '<div class="note"><div><b>T</b></div><ul><li>a</li></ul></div>'
    )


@dataclass(frozen=True, repr=False)
class _Toy(Rendered):
    values: tuple[int, ...]
    _columns = ("value",)

    def _records(self) -> list[dict[str, Any]]:
        return [{"value": v} for v in self.values]

    def _table(self) -> Table:
        return Table(["value"], [[str(v)] for v in self.values], caption="Toy")


def test_mixin_converts_and_renders() -> None:
    toy = _Toy((1, 2))
    assert toy.to_pandas()["value"].tolist() == [1, 2] and toy.to_polars().height == 2
    assert list(_Toy(()).to_pandas().columns) == ["value"]
    assert repr(toy) == str(toy) == "Toy\n\nvalue\n-----\n1\n2"
    assert "<caption>Toy</caption>" in toy._repr_html_()


@pytest.mark.parametrize(
    "cls",
    [
        ExperimentResult,
        OverTimeResult,
        OfflineComparison,
        LivePlan,
        AAResult,
        PowerResult,
        PeekingResult,
        LoadReport,
        ExperimentList,
    ],  # fmt: skip
)
def test_every_result_renders_through_the_mixin(cls: type) -> None:
    assert issubclass(cls, Rendered)
    # A dataclass with repr=True would silently replace the mixin's text.
    for name in ("__repr__", "__str__", "_repr_html_"):
        assert getattr(cls, name) is getattr(Rendered, name), (cls, name)


# -- snapshots ---------------------------------------------------------------------------------


def _seeded_comparison(ws: pab.Workspace) -> OfflineComparison:
    rng = np.random.default_rng(7)
    ids = [f"i{k:02d}" for k in range(30)]
    # Version B passes more items; the answers are fixed by the seed, so every number is too.
    answers = {("A", i): "yes" if rng.random() < 0.5 else "no" for i in ids}
    answers |= {("B", i): "yes" if rng.random() < 0.8 else "no" for i in ids}

    def model(prompt: str) -> str:
        prefix, item = prompt.split(" ", 1)
        return answers[(prefix, item)]

    data = Dataset.from_records([{"item_id": i, "id": i, "expected": "yes"} for i in ids])
    run = ws.run_offline(data, [("t", "A {{id}}"), ("t", "B {{id}}")], model, repeats=2,
                         progress=False)  # fmt: skip
    # Only the scorer: latency is measured by the clock and would change every run.
    return run.compare(metrics=["exact"])


def test_offline_comparison_html_snapshot(snapshot) -> None:
    ws = pab.Workspace()
    try:
        comp = _seeded_comparison(ws)
    finally:
        ws.close()
    assert comp.verdict == "better"
    assert comp._repr_html_() == snapshot


def test_load_report_html_snapshot(snapshot) -> None:
    files = (
        FileReport("events.csv", "csv", "ab" * 32, 1, 1200, {"generations": 1150, "exposures": 30},
                   15, 5, {"missing distinct_id": 10, "bad timestamp <2020": 5}, 0.25),
        FileReport("more.jsonl", "jsonl", "cd" * 32, 2, 40, {"generations": 40}, 0, 0),
    )  # fmt: skip
    report = LoadReport("posthog", files)
    assert report._repr_html_() == snapshot
    assert list(report.to_pandas().columns) == [
        "file", "format", "sha256", "import_id", "rows_read", "loaded_generations",
        "loaded_exposures", "rows_rejected", "rows_duplicate", "seconds",
    ]  # fmt: skip
    text = repr(report)
    assert text.startswith("Loaded from posthog: 2 file(s), 1,240 rows read")
    assert "10 × missing distinct_id" in text
