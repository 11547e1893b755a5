"""Missing is not zero, seen from the experiment: a unit or an arm whose values are all missing
(every generation unpriced, or no generation at all) has no value, never a value of 0."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis._scenarios import workspace

P, U = {"cost": 0.02}, {"cost": None}  # a priced and an unpriced generation


def test_unit_values_of_a_unit_whose_every_generation_is_unpriced_is_missing(tmp_path) -> None:
    # A user whose 2 generations are both unpriced had cost value 0.00 (the sum of no priced
    # generation), the cheapest user of the arm: a cost nobody measured read as $0.
    ws, exp = workspace(tmp_path, {
        "control": [[P, P]] * 58 + [[P, U], []],
        "test": [[P, P]] * 56 + [[U, U]] * 4,
    })  # fmt: skip
    v = exp.unit_values("cost").set_index("unit")
    rows = {r.variant: r for r in exp.analyze(["cost"]).rows}
    # the units the test counts, as before
    assert v.groupby("variant").size().to_dict() == {k: r.n for k, r in rows.items()}
    unpriced = [f"test-{u}" for u in (56, 57, 58, 59)]
    assert v.loc[unpriced, "value"].isna().all() and v.loc[unpriced, "num"].isna().all()
    assert v.drop(unpriced)["value"].notna().all()
    # a partly priced unit sums its priced generations; a unit without generations spent 0
    assert v.loc["control-58", "value"] == pytest.approx(0.02)
    assert v.loc["control-59", "value"] == 0.0
    # the analysis reads the unknown sums as 0 and withholds the verdict (8 of 120 > 5 %)
    assert rows["test"].mean == pytest.approx(56 * 0.04 / 60, rel=1e-12)
    assert math.isnan(rows["test"].p_value) and "unpriced" in (rows["test"].note or "")
    ws.close()


def test_unit_values_of_an_arm_priced_nowhere_are_missing_as_its_mean_is(tmp_path) -> None:
    ws, exp = workspace(tmp_path, {"control": [[P, P]] * 60, "test": [[U, U]] * 60})
    rows = {r.variant: r for r in exp.analyze(["cost"]).rows}
    v = exp.unit_values("cost")
    test = v[v["variant"] == "test"]
    assert math.isnan(rows["test"].mean) and len(test) == 60 and test["value"].isna().all()
    control = v[v["variant"] == "control"]["value"]
    assert control.mean() == pytest.approx(rows["control"].mean, rel=1e-12)
    ws.close()


def test_no_generation_at_all_measures_no_mean_of_a_sum(tmp_path) -> None:
    # Exposures without a single generation: the comparison said "nothing measured", yet each
    # arm's cost per user showed $0 (CI $0 to $0), a mean of sums over no event.
    ws, exp = workspace(tmp_path, {"control": [[]] * 60, "test": [[]] * 60})
    res = exp.analyze(["cost", "tokens_out"])
    for row in res.rows:
        assert row.n == 60
        assert np.isnan([row.mean, row.mean_ci_low, row.mean_ci_high]).all(), row
        assert row.note is not None and "nothing measured" in row.note
    assert "$0" not in str(res)
    # Mann-Whitney and every pair: no "p = 1.000" or "$0 [$0, $0]" either
    mw = exp.mann_whitney("cost")
    assert mw["test"] is None and "nothing measured" in mw.notes["test"]
    pairs = exp.compare_all("cost")
    assert pairs.pairs == () and "nothing measured" in (pairs.note or "")
    # over time: no p-value of 1 and no difference of $0 measured on no event either
    for rec in exp.analyze_over_time("cost", relative=False).records:
        assert rec["note"] is not None and "nothing measured" in rec["note"], rec
        assert np.isnan([rec["p_value"], rec["estimate"], rec.get("diff", np.nan)]).all(), rec
    ws.close()


def test_an_arm_without_generations_beside_one_with_them_spent_nothing(tmp_path) -> None:
    # DESIGN: exposed units without events count as 0 for sum metrics. An arm whose users made
    # no call (a variant without the model) spent $0, measured against an arm that did.
    ws, exp = workspace(tmp_path, {"control": [[P, P]] * 60, "test": [[]] * 60})
    rows = {r.variant: r for r in exp.analyze(["cost"]).rows}
    assert rows["test"].mean == 0.0 and rows["control"].mean == pytest.approx(0.04)
    assert rows["test"].diff == pytest.approx(-0.04)
    ws.close()


def test_nothing_measured_reads_every_arm_of_a_sum() -> None:
    from promptab_nb.analysis import _missing
    from promptab_nb.analysis._estimator_base import Arm, Estimator
    from promptab_nb.metrics import BUILTIN
    from promptab_nb.options import AnalysisOptions

    cost, latency = (Estimator(BUILTIN[m], AnalysisOptions()) for m in ("cost", "latency"))
    empty, used = Arm(60, None), Arm(60, None, events=120)
    assert _missing.nothing_measured(cost, empty, empty, empty)
    assert not _missing.nothing_measured(cost, empty, empty, used)  # that arm's units spent
    assert not _missing.nothing_measured(cost, empty, None)  # an arm without units: unknown
    assert not _missing.nothing_measured(latency, empty, empty)  # a mean has no mean of 0


def test_mann_whitney_leaves_out_users_priced_nowhere_and_counts_them_in_its_note(
    tmp_path,
) -> None:
    # 2 of 60 control users priced nowhere (4 of 120 generations, 3.3 %, under the 5 % that
    # withholds the test): their cost is unknown (NaN in unit_values), so the rank test leaves
    # them out rather than ranking them as $0, and its note says analyze()'s share and how many
    # users per arm it left out.
    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.02 + i / 1000}, P] for i in range(58)] + [[U, U]] * 2,
        "test": [[{"cost": 0.02 + i / 1000}, P] for i in range(60)],
    })  # fmt: skip
    values = exp.unit_values("cost")
    priced = values.dropna(subset=["value"]).groupby("variant").size().to_dict()
    assert priced == {"control": 58, "test": 60}
    assert values.groupby("variant").size().to_dict() == {"control": 60, "test": 60}
    mw = exp.mann_whitney("cost")
    got = mw["test"]
    assert got is not None and (got.n_control, got.n_treatment) == (58, 60)
    note = exp.analyze(["cost"]).rows[1].note
    assert note == "3.3% of an arm's generations are unpriced (no cost)"
    assert mw.notes["test"] == (
        f"{note}: users priced nowhere (control 2, test 0) are left out, not ranked as 0 "
        "(their cost is unknown)"
    )
    ws.close()
