"""plan(): the design's arguments are checked and named (the planner's numbers are tested in
test_offline_judges.py and test_offline_compare.py)."""

from __future__ import annotations

import pytest
from _offline_fakes import AlternatingModel, id_dataset, ids

from promptab_nb.errors import InvalidArgumentError

A, B = ("t", "A {{id}}"), ("t", "B {{id}}")


def test_a_plan_needs_two_different_versions_and_a_numeric_mde(ws) -> None:
    # A run with one version ended in a bare StopIteration; version == baseline said "the paired
    # differences do not vary"; mde="0.1" a TypeError.
    one = ws.run_offline(id_dataset(6), [A], AlternatingModel(set(ids(6)[:2])), repeats=2,
                         progress=False)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=r"run .* has one version \(t@v1\)"):
        one.plan(mde=0.1)
    two = ws.run_offline(id_dataset(6), [A, B], AlternatingModel(set(ids(6)[:2])), repeats=2,
                         progress=False)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=r"version and baseline are both t@v1"):
        two.plan(mde=0.1, version="t@v1")
    with pytest.raises(InvalidArgumentError, match=r"mde == '0.1', must be a number"):
        two.plan(mde="0.1")
    # a run without scorers listed nothing ("this run has " and an empty list): the run's
    # result columns are metrics too
    with pytest.raises(
        InvalidArgumentError, match=r"cost_usd, latency_s, output_tokens; did you mean 'latency_s'"
    ):
        two.plan(mde=0.1, metric="latency_ss")
