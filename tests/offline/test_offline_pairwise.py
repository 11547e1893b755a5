"""run_pairwise(): arguments checked and named (the preference statistics are tested in
test_offline_judges.py)."""

from __future__ import annotations

import pytest
from _offline_fakes import CountingModel, id_dataset

import promptab_nb as pab
from promptab_nb.errors import InvalidArgumentError

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
