"""ppi_compare(): human labels are checked before they are used (the estimates themselves are
tested against ppi-python in test_offline_judges.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from _offline_fakes import CountingModel, id_dataset, ids

import promptab_nb as pab
from promptab_nb.errors import DataError

A, B = ("t", "A {{id}}"), ("t", "B {{id}}")

pytestmark = pytest.mark.filterwarnings("ignore:.*too weak", "ignore:.*correlation undefined")


@pytest.fixture()
def run(ws):
    answers = {("B", i): "no" for i in ids(20)[::4]}
    return ws.run_offline(id_dataset(20), [A, B], CountingModel(answers), repeats=1,
                          progress=False)  # fmt: skip


def _labels(run, n: int = 10) -> pd.DataFrame:
    return pd.DataFrame([{"item_id": i, "version": v, "label": int(k % 3 != 0)}
                         for k, i in enumerate(ids(n)) for v in run.labels])  # fmt: skip


def test_labels_of_items_not_in_the_run_are_an_error(run) -> None:
    # They were dropped without a word: a typo in an id lost that label.
    typo = pd.concat([_labels(run), pd.DataFrame({"item_id": ["x999", "x998"],
                                                  "version": run.labels, "label": [0, 1]})])  # fmt: skip
    with pytest.raises(DataError, match=r"human_labels names 2 items not in run .*'x998'"):
        pab.offline.ppi_compare(run, typo)


@pytest.mark.parametrize("bad", ["pass", 2, -1])
def test_labels_must_be_numbers_in_0_1(run, bad) -> None:
    # "pass" raised pandas' ValueError; 2 gave a pass rate of 200 %.
    human = _labels(run)
    human["label"] = human["label"].astype(object)
    human.loc[3, "label"] = bad
    with pytest.raises(DataError, match=r"human_labels column 'label' .*row 3.*1 for pass"):
        pab.offline.ppi_compare(run, human)


def test_a_version_without_labels_is_said_to_have_no_difference(run) -> None:
    human = _labels(run)
    only_base = human[human["version"] == "t@v1"]
    ppi = pab.offline.ppi_compare(run, only_base)
    assert [(r.what, r.version) for r in ppi.rows] == [("pass rate", "t@v1")]
    assert "t@v2: no human labels, so no PPI++ pass rate or difference from t@v1" in ppi.notes
    assert "no human labels" in repr(run.compare(human_labels=only_base))


def test_every_item_labelled_gives_the_human_estimate(run) -> None:
    # Labelling all 20 items raised "20 labelled and 0 unlabelled items; PPI needs >= 2 and
    # >= 1" from stats.ppi_mean, and compare(human_labels=...) failed with it.
    import numpy as np

    human = _labels(run, 20)
    ppi = pab.offline.ppi_compare(run, human)
    for v in run.labels:
        r = ppi.row(v, "pass rate")
        y = human.loc[human["version"] == v, "label"].to_numpy(float)
        half = 1.959963984540054 * y.std() / np.sqrt(y.size)
        assert r.estimate == pytest.approx(y.mean())
        assert r.ci == pytest.approx((y.mean() - half, y.mean() + half))
        assert (r.n_labeled, r.n_unlabeled, r.lam) == (20, 0, 0.0)
        assert r.method == "human labels only"
    d = ppi.row("t@v2")
    assert (d.estimate, d.n_unlabeled) == (0.0, 0)
    assert any("every item has a human label" in n for n in ppi.notes)


def test_labels_on_different_items_per_version_keep_the_pass_rates(run) -> None:
    # Labelling a sample of each version's outputs (different items) is common; the difference
    # needs items labelled in both, and its DataError "difference of t@v2: 0 human-labelled
    # items; need >= 2" threw away the two pass rates (and compare(human_labels=...) with them).
    human = pd.DataFrame([{"item_id": i, "version": "t@v1" if k % 2 else "t@v2",
                           "label": int(k % 3 != 0)} for k, i in enumerate(ids(16))])  # fmt: skip
    ppi = pab.offline.ppi_compare(run, human)
    assert [(r.what, r.version) for r in ppi.rows] == [("pass rate", "t@v1"), ("pass rate", "t@v2")]
    assert any(
        "difference of t@v2: 0 items labelled in both t@v1 and t@v2 (2 needed)" in n
        and "label the same items in both versions" in n
        for n in ppi.notes
    )
    assert run.compare(human_labels=human).ppi is not None


def test_whole_number_item_ids_of_a_float_column_match_the_run(ws) -> None:
    # Items with ids 0 … 19 are '0' … '19'; labels read into pandas with a gap in the id column
    # have float ids 0.0 … and were all "items not in run" ('0.0', '1.0', …).
    ds = pab.offline.Dataset.from_records([{"item_id": k, "id": f"i{k}"} for k in range(20)])
    run = ws.run_offline(ds, [A, B], CountingModel(), repeats=1, scorers=[lambda o: o == "yes"],
                         progress=False)  # fmt: skip
    human = pd.DataFrame([{"item_id": float(k), "version": v, "label": int(k % 3 != 0)}
                          for k in range(10) for v in run.labels])  # fmt: skip
    human.loc[len(human)] = {"item_id": None, "version": run.labels[0], "label": None}
    assert human["item_id"].dtype == float
    res = pab.offline.ppi_compare(run, human)
    assert res.row(run.labels[1], "pass rate").n_labeled == 10
    human.loc[len(human)] = {"item_id": None, "version": run.labels[0], "label": 1}
    with pytest.raises(DataError, match=r"row 21 has a label but no item_id"):
        pab.offline.ppi_compare(run, human)


def test_pass_rate_cis_stay_within_0_and_1(ws) -> None:
    # Normal CIs of a pass rate from 4 human labels ran to 117 % ([32.6 %, 117.4 %]).
    answers = {("A", i): "no" for i in ids(30)[:1]}
    run = ws.run_offline(id_dataset(30), [A, B], CountingModel(answers), repeats=1,
                         progress=False)  # fmt: skip
    human = pd.DataFrame([{"item_id": i, "version": v, "label": int(k > 0)}
                          for k, i in enumerate(ids(30)[:4]) for v in run.labels])  # fmt: skip
    res = pab.offline.ppi_compare(run, human)
    for r in res.rows:
        bounds = (0.0, 1.0) if r.what == "pass rate" else (-1.0, 1.0)
        for lo, hi in (r.ci, r.human_only_ci):
            assert bounds[0] <= lo <= hi <= bounds[1]
    assert res.row("t@v2", "pass rate").human_only_ci[1] == 1.0


def test_an_undefined_correlation_is_named_as_such(run) -> None:
    # With t@v1's judge passing every item, the judge-human correlation is undefined, and the
    # fallback note read "judge–human correlation – < 0.3 …, too weak".
    ppi = pab.offline.ppi_compare(run, _labels(run))
    text = [n for n in ppi.notes if n.startswith("pass rate of t@v1")]
    assert text and "correlation – <" not in text[0]
    assert "undefined" in text[0] and "all the same" in text[0]
