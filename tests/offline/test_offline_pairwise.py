"""run_pairwise(): arguments checked and named (the preference statistics are tested in
test_offline_judges.py)."""

from __future__ import annotations

import pytest
from _offline_fakes import CountingModel, id_dataset, ids

import promptab_nb as pab
from promptab_nb.errors import DataError, InvalidArgumentError

A, B = ("t", "A {{id}}"), ("t", "B {{id}}")


@pytest.mark.parametrize("repeat", [2, -1, 1.5])
def test_a_repeat_the_run_does_not_have_is_named(ws, repeat) -> None:
    # It was a DataError "no item has an output in two versions at repeat 2; t@v1 vs t@v2: None".
    run = ws.run_offline(id_dataset(4), [A, B], CountingModel(), repeats=2, progress=False)
    with pytest.raises(InvalidArgumentError, match=r"repeat == .*, must be"):
        pab.offline.run_pairwise(ws, run, judge=pab.offline.DemoJudge(), repeat=repeat,
                                 progress=False)  # fmt: skip


def test_a_dataset_needs_a_repeat_of_at_least_0_and_a_concurrency(ws) -> None:
    # repeat=-1 blamed "repeats == 0"; concurrency=0 was ThreadPoolExecutor's ValueError.
    model = CountingModel()
    with pytest.raises(InvalidArgumentError, match=r"repeat == -1, must be >= 0"):
        pab.offline.run_pairwise(ws, id_dataset(3), [A, B], pab.offline.DemoJudge(), model=model,
                                 repeat=-1, progress=False)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=r"concurrency == 0, must be >= 1"):
        pab.offline.run_pairwise(ws, id_dataset(3), [A, B], pab.offline.DemoJudge(), model=model,
                                 concurrency=0, progress=False)  # fmt: skip
    assert model.total == 0


def _prefers_b(prompt: str) -> str:
    """A judge preferring the output that starts with "B", in either slot."""
    a = prompt.split("Response A:\n", 1)[1].split("\n", 1)[0]
    return "A" if a.startswith("B") else "B"


def test_a_later_version_winning_every_comparison_is_fitted(ws) -> None:
    # When t@v2 (not the first version) won all 6 items, the fit raised "the comparisons do not
    # connect every item (some item was never compared)": its win probability rounded to 1 and
    # the Hessian became singular. The first version winning everything was fitted with the
    # weak ridge; either order now is.
    model = CountingModel(answers={("B", i): "B-yes" for i in ids(6)})
    res = pab.offline.run_pairwise(ws, id_dataset(6), [A, B], _prefers_b, model=model,
                                   progress=False)  # fmt: skip
    assert res.ranking == ["t@v2", "t@v1"]
    assert res.strengths[1] > 0 > res.strengths[0]
    assert res.win_rate[1, 0] == 1.0
    assert any("weak ridge" in n for n in res.notes)
    flipped = pab.offline.run_pairwise(ws, id_dataset(6), [B, A], _prefers_b, model=model,
                                       progress=False)  # fmt: skip
    assert res.strengths[1] == pytest.approx(flipped.strengths[0])


def test_versions_never_compared_are_named(ws) -> None:
    # Three versions where t@v3 always fails: no pair with it has an item, the other two do.
    def model(prompt: str) -> str:
        if prompt.startswith("C"):
            raise RuntimeError("down")
        return "yes"

    # It raised "the comparisons do not connect every item (some item was never compared)",
    # naming no version and calling versions items.
    with (
        pytest.warns(UserWarning),
        pytest.raises(DataError, match=r"t@v3 was never compared with t@v1, t@v2.*model error"),
    ):
        pab.offline.run_pairwise(ws, id_dataset(4), [A, B, ("t", "C {{id}}")], lambda p: "A",
                                 model=model, progress=False)  # fmt: skip


def test_versions_tied_at_the_top_are_not_ranked_apart(ws) -> None:
    # A judge answering TIE every time gave strengths 0 and 0, yet the headline said
    # "t@v1 ranks first: strength 0" and the table ranked them 1 and 2.
    res = pab.offline.run_pairwise(ws, id_dataset(6), [A, B], lambda p: "TIE",
                                   model=CountingModel(), progress=False)  # fmt: skip
    assert list(res.strengths) == [0.0, 0.0]
    text = repr(res)
    assert "ranks first" not in text
    assert "t@v1 and t@v2 tie for first: strength 0" in text
    assert [r["rank"] for r in res._records()] == [1, 1]


def test_a_clear_winner_still_ranks_first(ws) -> None:
    model = CountingModel(answers={("B", i): "B-yes" for i in ids(6)})
    res = pab.offline.run_pairwise(ws, id_dataset(6), [A, B], _prefers_b, model=model,
                                   progress=False)  # fmt: skip
    assert "t@v2 ranks first" in repr(res)
    assert [r["rank"] for r in res._records()] == [2, 1]
