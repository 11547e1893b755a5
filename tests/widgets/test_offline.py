"""OfflineViewer driven headlessly: browse, filter and re-baseline an offline run."""

from __future__ import annotations

import pytest

import promptab_nb as pab
from promptab_nb.widgets import OfflineViewer


@pytest.fixture()
def run(ws):
    ds = pab.offline.Dataset.from_records(
        [{"q": f"{i} + {i} <b>", "expected": str(2 * i)} for i in range(16)]
    )
    return ws.run_offline(
        ds,
        [("math", "{{q}}"), ("math", "Think step by step: {{q}}")],
        pab.offline.DemoModel(),
        repeats=2,
        progress=False,
    )


def test_offline_viewer_browses_and_filters(run) -> None:
    v = OfflineViewer(run)
    assert v.baseline.value == run.labels[0] and v.version.value == run.labels[1]
    assert v.comparison is not None and "Paired comparison" in v.summary.value
    assert len(v.items.options) == run.n_items
    first = v.items.value
    assert all(label in v.detail.value for label in run.labels)
    assert "&lt;b&gt;" in v.detail.value and "<b> " not in v.detail.value  # escaped inputs
    v.next_button.click()
    assert v.items.value != first
    v.prev_button.click()
    assert v.items.value == first

    frame = run.side_by_side()
    scorer = run.scorers[0]
    delta = frame[f"{run.labels[1]} {scorer}"] - frame[f"{run.labels[0]} {scorer}"]
    v.filter.value = "regressed"
    assert set(v.items.options) == set(frame.loc[delta < 0, "item_id"].astype(str))
    v.filter.value = "improved"
    assert set(v.items.options) == set(frame.loc[delta > 0, "item_id"].astype(str))
    v.filter.value = "errors"
    assert list(v.items.options) == [] and "no items" in v.status.value

    v.baseline.value = run.labels[1]
    assert v.comparison.baseline == run.labels[1] and v.version.value == run.labels[0]
    assert "run.compare(baseline=" in v.code
    assert "OfflineViewer(" in repr(v)


def test_a_comparison_that_cannot_be_made_stays_said(ws) -> None:
    # With one version, run.compare() fails; the item count written next replaced its message,
    # leaving an empty summary and "4 of 4 items (all)" with no word of why.
    ds = pab.offline.Dataset.from_records([{"q": f"{i} + {i}", "expected": str(2 * i)}
                                           for i in range(4)])  # fmt: skip
    one = ws.run_offline(ds, [("math", "{{q}}")], pab.offline.DemoModel(), repeats=1,
                         progress=False)  # fmt: skip
    v = OfflineViewer(one)
    assert v.comparison is None
    assert "compare needs two or more" in v.status.value and "error" in v.status.value
    assert "4 of 4 items" in v.status.value  # the browsing still works and says so
    v.filter.value = "errors"
    assert "compare needs two or more" in v.status.value


@pytest.mark.parametrize("case", ["one version", "no scorer"])
def test_regressed_and_improved_need_two_versions_and_a_scorer(ws, case) -> None:
    # Without a second version or a scorer there is no per-item direction, and the filter fell
    # through to every item: "4 of 4 items (regressed)", as if every item had regressed.
    ds = pab.offline.Dataset.from_records([{"q": f"{i} + {i}", "expected": str(2 * i)}
                                           for i in range(4)])  # fmt: skip
    prompts = [("math", "{{q}}")] + ([("math", "Think: {{q}}")] if case == "no scorer" else [])
    kw = {"scorers": []} if case == "no scorer" else {}
    run = ws.run_offline(ds, prompts, pab.offline.DemoModel(), repeats=1, progress=False, **kw)
    v = OfflineViewer(run)
    for mode in ("regressed", "improved"):
        v.filter.value = mode
        assert list(v.items.options) == [], (mode, v.status.value)
        why = "no scorer" if case == "no scorer" else "no other version"
        assert why in v.status.value and "4 of 4" not in v.status.value, v.status.value
    v.filter.value = "all"
    assert len(v.items.options) == 4
