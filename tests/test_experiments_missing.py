"""Missing is not zero, seen from the experiment: a unit or an arm whose values are all missing
(every generation unpriced, or no generation at all) has no value, never a value of 0."""

from __future__ import annotations

import pytest
from analysis._scenarios import workspace

P, U = {"cost": 0.02}, {"cost": None}  # a priced and an unpriced generation


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
