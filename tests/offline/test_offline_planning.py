"""plan(): the design's arguments are checked and named (the planner's numbers are tested in
test_offline_judges.py and test_offline_compare.py)."""

from __future__ import annotations

import pytest
from _offline_fakes import AlternatingModel, CountingModel, id_dataset, ids

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


def _nct_power(var: float, n: int, mde: float, alpha: float = 0.05) -> float:
    """statsmodels' power of the two-sided one-sample (paired) t test."""
    from statsmodels.stats.power import TTestPower

    return float(TTestPower().power(abs(mde) / var**0.5, n, alpha, alternative="two-sided"))


def test_small_designs_are_powered_for_the_paired_t_not_the_z_test(ws) -> None:
    # Designs were sized and rated with the z test: a large effect gave "2 items × 1 repeats
    # reaches 80% power (formula 86.6%, simulation 0.0%)", but the paired t at 2 items has 1 df
    # (critical value 12.7). Now every design's power is the noncentral t's on items − 1 df, and
    # the chosen design is the smallest that reaches the power by it.
    import numpy as np

    from promptab_nb.offline import custom

    rng = np.random.default_rng(0)
    noise = {i: float(rng.uniform(0, 1)) for i in ids(40)}

    def spread(output: str) -> float:
        prefix, item = output.split(" ", 1)
        base = noise[item]
        return min(1.0, base + 0.3) if prefix == "B" else base

    class Echo:
        model_id = "echo"

        def __call__(self, prompt: str) -> str:
            return prompt

    run = ws.run_offline(id_dataset(40), [A, B], Echo(), repeats=2, progress=False,
                         scorers=[custom(spread, name="s", kind="score")])  # fmt: skip
    for mde in (0.2, 0.3, 0.5):
        p = run.plan(mde=mde, n_sims=200)
        vc = p.components
        for d in p.designs:
            var = vc.var_of_item_mean(d.repeats)
            assert d.power == pytest.approx(_nct_power(var, d.items, mde), abs=1e-9)
        c = p.chosen
        assert p.reaches_power and c.power >= 0.8
        if c.items > 2:  # the smallest such design: one item fewer falls short
            assert _nct_power(vc.var_of_item_mean(c.repeats), c.items - 1, mde) < 0.8


def test_plan_items_cap_and_fraction_mde_are_checked(ws) -> None:
    # max_items=1 (or 0, or -5) said "budget_usd == None does not pay for 2 items"; mde=5 on a
    # pass rate (a fraction, at most 1 apart) planned "2 items × 1 repeats" that "reach 80 %"
    # when no difference of 5 can exist: the user meant 5 pp.
    run = ws.run_offline(id_dataset(6), [A, B], AlternatingModel(set(ids(6)[:3])), repeats=2,
                         scorers=["exact"], progress=False)  # fmt: skip
    for bad in (1, 0, -5):
        with pytest.raises(InvalidArgumentError, match=r"max_items == .*must be >= 2"):
            run.plan(mde=0.1, max_items=bad)
    with pytest.raises(InvalidArgumentError, match=r"mde == 5.*exact.*\[0, 1\].*0.05"):
        run.plan(mde=5)
    # numpy's bare "expected non-negative integer" before
    with pytest.raises(InvalidArgumentError, match=r"seed == -1, must be >= 0"):
        run.plan(mde=0.1, seed=-1)


def test_a_budget_that_cannot_be_priced_is_said(ws) -> None:
    # With an unpriced model every design cost $0, so budget_usd=0.01 was met by any design,
    # however many calls, and the plan did not say the budget had not been applied.
    model = CountingModel({("B", i): "no" for i in ids(6)[:2]})
    run = ws.run_offline(id_dataset(6), [A, B], model, repeats=2, scorers=["exact"],
                         progress=False)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=r"recorded no cost.*budget_usd"):
        run.plan(mde=0.3, budget_usd=0.01, n_sims=100)
    assert run.plan(mde=0.3, budget_usd=1.0, cost_per_item_usd=0.1, n_sims=100).chosen.items <= 10
