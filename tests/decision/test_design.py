"""Goal, guardrails and MDE: margins as people write them, stored with the experiment, and every
change after creation logged with its time."""

from __future__ import annotations

import pytest

import promptab_nb as pab
from promptab_nb.decision import ExperimentDesign, Margin, parse_margin
from promptab_nb.errors import InvalidArgumentError
from promptab_nb.metrics import BUILTIN


@pytest.mark.parametrize(
    ("text", "metric", "size", "relative"),
    [
        ("+5%", "cost", 0.05, True),
        ("5%", "cost", 0.05, True),
        ("+0.2pp", "error_rate", 0.002, False),
        ("-1pp", "pass_rate", 0.01, False),
        (0.01, "cost", 0.01, False),
        ("+10 %", "latency_p95", 0.1, True),
        ("2e-1", "latency", 0.2, False),
    ],
)
def test_guardrail_margins(text, metric: str, size: float, relative: bool) -> None:
    m = parse_margin(text, BUILTIN[metric], name="g", worse=True)
    assert m.size == pytest.approx(size) and m.relative is relative


@pytest.mark.parametrize(
    ("text", "metric", "match"),
    [
        ("-5%", "cost", r"write '\+5%'"),  # a lower cost is not worse
        ("+1pp", "pass_rate", "write '-1pp'"),
        ("+1pp", "cost", "rate metrics only"),
        ("0%", "cost", "> 0"),
        ("five", "cost", "expected e.g."),
        (True, "cost", "give a relative"),
    ],
)
def test_bad_margins_name_the_argument(text, metric: str, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        parse_margin(text, BUILTIN[metric], name="guardrails['x']", worse=True)


def test_mde_sign_is_the_better_direction() -> None:
    assert parse_margin("-5%", BUILTIN["latency"], name="mde", worse=False).size == 0.05
    with pytest.raises(InvalidArgumentError, match="mde == '\\+5%'"):
        parse_margin("+5%", BUILTIN["latency"], name="mde", worse=False)


def test_design_round_trips_and_validates() -> None:
    d = ExperimentDesign.build("pass_rate", {"cost": "+5%", "error_rate": None}, "+1pp")
    assert ExperimentDesign.from_json(d.to_json()) == d
    assert d.metrics == ("pass_rate", "cost", "error_rate")
    with pytest.raises(InvalidArgumentError, match="the goal"):
        ExperimentDesign.build("cost", {"cost": "+5%"})
    with pytest.raises(InvalidArgumentError, match="without a goal"):
        ExperimentDesign.build(None, None, "+1pp")
    with pytest.raises(InvalidArgumentError, match="unknown metric|not a built-in|nope"):
        ExperimentDesign.build("nope")


def test_create_stores_the_design_and_logs_later_changes() -> None:
    ws = pab.Workspace()
    exp = ws.create_experiment(
        "bot", "bot", {"control": "1", "test": "2"}, flag_key="f", goal="pass_rate",
        guardrails={"cost": "+5%", "latency_p95": "+10%", "error_rate": "+0.2pp"}, mde="+2pp",
    )  # fmt: skip
    assert exp.design is not None and exp.design.mde == Margin(0.02, False, "+2pp")
    assert exp.metrics[:4] == ("pass_rate", "cost", "latency_p95", "error_rate")
    assert ws.experiment("bot").design == exp.design
    assert exp.design_changes() == []
    exp.set_design(guardrails={"cost": "+3%"})
    (change,) = exp.design_changes()
    assert change.field == "guardrails" and "+3%" in change.new and "+5%" in change.old
    assert ws.experiment("bot").design.guardrails == {"cost": Margin(0.03, True, "+3%")}
    assert exp.design.guardrails["cost"].text == "+3%"  # the held object follows
    with pytest.raises(InvalidArgumentError, match="set_design got"):
        exp.set_design(alpha=0.1)


def test_an_experiment_with_its_own_metrics_analyses_its_designs_too() -> None:
    # a goal left out of the experiment's metrics could never be decided ("not analysed")
    ws = pab.Workspace()
    exp = ws.create_experiment("m", "bot", {"control": "1", "test": "2"}, flag_key="f",
                               metrics=["cost", "latency"], goal="pass_rate")  # fmt: skip
    assert exp.metrics == ("cost", "latency", "pass_rate")
    other = ws.create_experiment("o", "bot2", {"control": "1", "test": "2"}, flag_key="g",
                                 metrics=["cost"])  # fmt: skip
    other.set_design(goal="latency", guardrails={"error_rate": "+0.2pp"})
    assert other.metrics == ws.experiment("o").metrics == ("cost", "latency", "error_rate")
    *_, change = other.design_changes()
    assert change.field == "metrics" and change.old == '["cost"]'


@pytest.mark.parametrize(
    ("text", "metric", "worse", "match"),
    [
        ("1e999", "latency", True, "finite number > 0"),  # was a raw OverflowError
        ("+150pp", "pass_rate", False, "moves by less than 100 pp"),  # every sample "planned"
        (2, "error_rate", True, "moves by less than 100 pp"),
        ("-100%", "cost", False, "cannot fall by 100 %"),
        # a guardrail may not fall by 100 % or more either: on a log-ratio row (Fisher's,
        # unit="request") log1p(-1) raised a raw ValueError: math domain error
        ("-100%", "pass_rate", True, "cannot fall by 100 %"),
        ("-150%", "pass_rate", True, "cannot fall by 100 %"),
    ],
)
def test_impossible_sizes_are_refused(text, metric: str, worse: bool, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        parse_margin(text, BUILTIN[metric], name="mde", worse=worse)
    # the largest sizes that can happen stay accepted
    assert parse_margin("+99pp", BUILTIN["pass_rate"], name="mde", worse=False).size == 0.99
    assert parse_margin("+200%", BUILTIN["cost"], name="g", worse=True).size == 2.0
    assert parse_margin("-99%", BUILTIN["pass_rate"], name="g", worse=True).size == 0.99


def test_a_new_goal_drops_the_old_goals_mde_and_its_guardrail_role() -> None:
    # set_design(goal="cost") kept the old goal's MDE ("+2pp" of pass rate) as cost's MDE, and
    # refused a goal declared as a guardrail before ("cost is the goal ... not both") though
    # the guardrails were not being changed
    ws = pab.Workspace()
    exp = ws.create_experiment("g", "bot", {"control": "1", "test": "2"}, flag_key="f",
                               goal="latency", guardrails={"cost": "+5%"}, mde=0.5)  # fmt: skip
    new = exp.set_design(goal="cost")
    assert new.goal == "cost" and new.mde is None and "cost" not in new.guardrails
    assert ws.experiment("g").design == new
    assert {c.field for c in exp.design_changes()} == {"goal", "guardrails", "mde"}
    # an MDE given with the goal is kept; guardrails given with it still may not hold it
    assert exp.set_design(goal="latency", mde="-5%").mde == Margin(0.05, True, "-5%")
    with pytest.raises(InvalidArgumentError, match="not both"):
        exp.set_design(goal="cost", guardrails={"cost": "+5%"})
    # the same goal restated keeps its MDE
    assert exp.set_design(goal="latency").mde == Margin(0.05, True, "-5%")


def test_numpy_numbers_are_margins_like_floats() -> None:
    # np.float32(0.01) / np.int64(2) (a margin computed from an array) were refused with
    # "give ... a number in the metric's unit": only Python int and float were numbers
    np = pytest.importorskip("numpy")
    cost, latency = BUILTIN["cost"], BUILTIN["latency"]
    assert parse_margin(np.float32(0.25), cost, name="g", worse=True).size == 0.25
    assert parse_margin(np.int64(2), latency, name="g", worse=True) == Margin(2.0, False, "2")
    mde = parse_margin(np.int64(-1), latency, name="mde", worse=False)
    assert mde.size == 1.0 and mde.relative is False
    with pytest.raises(InvalidArgumentError, match=r"write '\+1.0'"):
        parse_margin(np.float32(-1.0), latency, name="g", worse=True)
    with pytest.raises(InvalidArgumentError, match="give a relative"):
        parse_margin(np.bool_(True), cost, name="g", worse=True)


def test_a_design_made_directly_reads_its_margins_as_build_does() -> None:
    # ExperimentDesign(goal="latency", guardrails={"cost": "+5%"}, mde="-5%") kept the texts,
    # and res.decision / decide raised a raw AttributeError: 'str' object has no attribute
    # 'relative'; power=1.0 a raw StatisticsError
    d = ExperimentDesign(goal="latency", guardrails={"cost": "+5%"}, mde="-5%")
    assert d == ExperimentDesign.build("latency", {"cost": "+5%"}, "-5%")
    assert ExperimentDesign(goal="latency", guardrails=None).guardrails == {}
    with pytest.raises(InvalidArgumentError, match="power"):
        ExperimentDesign(goal="latency", power=1.0)
    with pytest.raises(InvalidArgumentError, match=r"write '\+5%'"):
        ExperimentDesign(goal="latency", guardrails={"cost": "-5%"})
    stored = ExperimentDesign.build("pass_rate", {"error_rate": "+0.2pp"}, "+2pp")
    assert ExperimentDesign.from_json(stored.to_json()) == stored


def test_the_design_states_its_power_with_the_decimals_it_needs() -> None:
    # power 0.995 read "power 100%" (a test that always detects the MDE) and 0.001 "power 0%"
    assert "(power 99.5%)" in ExperimentDesign.build("latency", power=0.995).describe()[0]
    assert "(power 0.1%)" in ExperimentDesign.build("latency", power=0.001).describe()[0]
    assert "(power 80%)" in ExperimentDesign.build("latency").describe()[0]
