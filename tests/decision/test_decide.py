"""The decision rules on small cases, and their calibration by simulation: over 2,000
simulated A/A experiments "ship" happens at most at alpha; at the MDE with the planned sample
it happens with the planned power (±3 pp); a guardrail exactly at its margin passes at most at
alpha; the sequential decision looked at daily stays under alpha."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptab_nb import stats as st
from promptab_nb.decision import ExperimentDesign

from ._sim import result, stub, sums

SIMS = 2000
ALPHA = 0.05


def _mc(rate: float, sims: int) -> float:
    """Monte-Carlo standard error of a rate."""
    return math.sqrt(max(rate * (1 - rate), 1e-12) / sims)


def _ship_rate(exp, draws, sims: int, **options) -> tuple[float, list[str]]:
    actions = []
    for i in range(sims):
        metrics = {
            name: {arm: (n, s[i], q[i]) for arm, (n, s, q) in arms.items()}
            for name, arms in draws.items()
        }
        actions.append(result(exp, metrics, **options).decision().action)
    return float(np.mean([a == "ship" for a in actions])), actions


def test_aa_ships_at_most_alpha() -> None:
    rng = np.random.default_rng(20261206)
    n = 2000
    exp = stub(ExperimentDesign.build("latency", None, "-5%"))
    draws = {"latency": {arm: (n, *sums(rng, n, 1.0, 1.0, SIMS)) for arm in ("control", "test")}}
    rate, actions = _ship_rate(exp, draws, SIMS)
    # two-sided test at alpha, ship only on an improvement: about alpha / 2
    assert rate <= ALPHA
    assert rate == pytest.approx(ALPHA / 2, abs=3 * _mc(ALPHA / 2, SIMS))
    assert set(actions) <= {"ship", "dont_ship", "keep_running", "no_effect"}
    print(f"A/A ship rate {rate:.4f} ± {_mc(rate, SIMS):.4f} (n={SIMS})")


def test_power_at_the_mde_with_the_planned_sample() -> None:
    rng = np.random.default_rng(7)
    plan = st.sample_size(1.0, mde=-0.05, sd=1.0, relative=True, power=0.8)
    n = plan.n_control
    exp = stub(ExperimentDesign.build("latency", None, "-5%"))
    draws = {
        "latency": {
            "control": (n, *sums(rng, n, 1.0, 1.0, SIMS)),
            "test": (n, *sums(rng, n, 0.95, 1.0, SIMS)),
        }
    }
    rate, _ = _ship_rate(exp, draws, SIMS)
    assert rate == pytest.approx(0.8, abs=0.03)
    print(f"power at the MDE {rate:.4f} ± {_mc(rate, SIMS):.4f} (n={SIMS}, {n:,} per arm)")


def test_a_guardrail_at_its_margin_passes_at_most_alpha() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    exp = stub(ExperimentDesign.build("latency", {"cost": "+5%"}))
    draws = {
        "latency": {  # a large, certain improvement: only the guardrail decides
            "control": (n, *sums(rng, n, 1.0, 0.1, SIMS)),
            "test": (n, *sums(rng, n, 0.5, 0.1, SIMS)),
        },
        "cost": {  # exactly 5 % worse: the null of the non-inferiority test
            "control": (n, *sums(rng, n, 1.0, 1.0, SIMS)),
            "test": (n, *sums(rng, n, 1.05, 1.0, SIMS)),
        },
    }
    rate, _ = _ship_rate(exp, draws, SIMS)
    assert rate <= ALPHA + 2 * _mc(ALPHA, SIMS)
    assert rate == pytest.approx(ALPHA, abs=3 * _mc(ALPHA, SIMS))
    print(f"non-inferiority pass rate at the margin {rate:.4f} ± {_mc(rate, SIMS):.4f}")


def test_sequential_decision_looked_at_daily_ships_at_most_alpha() -> None:
    rng = np.random.default_rng(5)
    sims, days, per_day = 1000, 7, 300
    exp = stub(ExperimentDesign.build("latency", None, "-5%"))
    # cumulative sums over days: each day adds per_day normal users per arm
    daily = {
        arm: [sums(rng, per_day, 1.0, 1.0, sims) for _ in range(days)]
        for arm in ("control", "test")
    }
    shipped = np.zeros(sims, dtype=bool)
    for day in range(1, days + 1):
        n = per_day * day
        draws = {
            "latency": {
                arm: (n, sum(d[0] for d in parts[:day]), sum(d[1] for d in parts[:day]))
                for arm, parts in daily.items()
            }
        }
        _, actions = _ship_rate(exp, draws, sims, sequential=True)
        shipped |= np.array([a == "ship" for a in actions])
    rate = float(shipped.mean())
    assert rate <= ALPHA
    print(f"sequential A/A ship rate over {days} daily looks {rate:.4f} ± {_mc(rate, sims):.4f}")


# -- rules on single results -------------------------------------------------------------------
def _one(design, latency_test=0.8, cost_test=1.0, n=2000, **options):
    exp = stub(design)
    rng = np.random.default_rng(1)
    arms = {
        "latency": {
            "control": (n, *[x[0] for x in sums(rng, n, 1.0, 1.0, 1)]),
            "test": (n, *[x[0] for x in sums(rng, n, latency_test, 1.0, 1)]),
        },
        "cost": {
            "control": (n, *[x[0] for x in sums(rng, n, 1.0, 0.5, 1)]),
            "test": (n, *[x[0] for x in sums(rng, n, cost_test, 0.5, 1)]),
        },
    }
    return result(exp, arms, **options)


def test_ship_needs_every_guardrail_within_its_margin() -> None:
    res = _one(ExperimentDesign.build("latency", {"cost": "+5%"}, "-5%"))
    d = res.decision()
    assert d.action == "ship" and d.recommended == "test" and d.headline == "Ship test"
    assert any("within its margin +5%" in r for r in d.reasons)
    worse = _one(ExperimentDesign.build("latency", {"cost": "+5%"}), cost_test=1.2).decision()
    assert worse.action == "dont_ship" and any("worse than its margin" in r for r in worse.reasons)


def test_goal_worse_is_dont_ship_and_not_yet_is_keep_running() -> None:
    assert (
        _one(ExperimentDesign.build("latency"), latency_test=1.2).decision().action == "dont_ship"
    )
    d = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=1.0, n=300).decision()
    assert d.action == "keep_running"
    (arm,) = d.arms
    assert 0 < arm.progress.share < 1 and "of the planned" in d.reasons[-1]


def test_no_effect_once_the_planned_sample_rules_out_the_mde() -> None:
    d = _one(ExperimentDesign.build("latency", None, "-20%"), latency_test=1.0, n=4000).decision()
    assert d.action == "no_effect"
    assert "excludes an improvement of -20%" in d.reasons[0]


def test_planned_sample_matches_sample_size_with_the_observed_variance() -> None:
    res = _one(ExperimentDesign.build("latency", None, 0.05), latency_test=1.0, n=3000)
    (arm,) = res.decision().arms
    c, t = (
        next(r for r in res.rows if r.metric == "latency" and r.variant == k)
        for k in ("control", "test")
    )
    sd = math.sqrt(t.se**2 / (2 / 3000))  # pooled per-user sd implied by the Welch SE
    ref = st.sample_size(mde=0.05, sd=sd)
    assert arm.progress.planned_units == pytest.approx(ref.n_total_real, rel=0.01)
    assert c.n == 3000


def test_regressions_use_the_decision_tests() -> None:
    res = _one(ExperimentDesign.build("latency", {"cost": "+5%"}), cost_test=1.03, n=4000)
    # +3 % cost is significantly worse than the control, but within the +5 % margin
    row = next(r for r in res.rows if r.metric == "cost" and not r.is_control)
    assert row.significant
    assert res.regressions("cost") == []
    assert res.decision(guardrails={"cost": None}).action == "dont_ship"


@pytest.mark.parametrize("cost_test", [0.5, 1.0, 1.5])
@pytest.mark.parametrize("margin", ["+5%", None])
def test_a_withheld_guardrail_is_pending_whatever_its_sums_say(cost_test, margin) -> None:
    # 30 % of the test arm's generations are unpriced: the sums read them as 0, so cost's
    # verdict is withheld, and no margin test or regression may be built on it either
    res = _one(ExperimentDesign.build("latency", {"cost": margin}), cost_test=cost_test,
               missing={"cost": {"test": 0.3}})  # fmt: skip
    row = next(r for r in res.rows if r.metric == "cost" and not r.is_control)
    assert math.isnan(row.p_value) and "verdict withheld" in row.note
    d = res.decision()
    ((check,),) = [a.guardrails for a in d.arms]
    assert check.status == "pending" and d.action == "keep_running"
    assert any(f"guardrail cost {'not yet shown' if margin else 'has no test yet'}" in r
               for r in d.reasons)  # fmt: skip
    assert res.regressions("cost") == []


def test_a_withheld_goal_concludes_nothing() -> None:
    # planned sample reached and a CI that excludes the MDE, but from sums that read the
    # missing costs as 0: no "no effect"
    design = ExperimentDesign.build("cost", None, "-20%")
    assert _one(design, n=4000).decision().action == "no_effect"
    d = _one(design, n=4000, missing={"cost": {"control": 0.3}}).decision()
    assert d.action == "keep_running"


def test_regressions_of_a_lone_guardrail_keep_its_margin() -> None:
    # analysed alone, cost is still the design's guardrail with its +5 % margin
    exp = stub(ExperimentDesign.build("latency", {"cost": "+5%"}))
    rng = np.random.default_rng(1)

    def cost(test_mean: float):
        arms = {k: (10_000, *[x[0] for x in sums(rng, 10_000, m, 0.5, 1)])
                for k, m in (("control", 1.0), ("test", test_mean))}  # fmt: skip
        return result(exp, {"cost": arms})

    within = cost(1.03)  # significantly worse than the control, but within the margin
    assert next(r for r in within.rows if not r.is_control).significant
    assert within.regressions("cost") == []
    assert [r.variant for r in cost(1.2).regressions("cost")] == ["test"]


def test_a_one_sided_alternative_does_not_hide_a_regression() -> None:
    # H1 "cost decreases" makes the shown test one-sided; a +20 % cost must still regress
    res = _one(ExperimentDesign.build("latency"), cost_test=1.2, alternative={"cost": "less"})
    row = next(r for r in res.rows if r.metric == "cost" and not r.is_control)
    assert row.p_value > 0.99 and row.p_raw < 1e-6
    assert [r.variant for r in res.regressions("cost")] == ["test"]
    assert res.decision().action == "dont_ship"


def test_decision_without_a_goal_says_so() -> None:
    res = _one(ExperimentDesign())
    d = res.decision()
    assert d.design.goal == "latency" and "no goal declared" in d.reasons[-1]
    assert "Decision:" in repr(d) and "<table" in d._repr_html_()


def test_every_reason_names_its_arm_goal_line_first() -> None:
    # three treatments: c's failing guardrail read as b's when it followed b's lines unnamed
    exp = stub(ExperimentDesign.build("latency", {"cost": "+5%"}, "-5%"), ("control", "b", "c"))
    rng = np.random.default_rng(2)

    def arm(mean: float, sd: float) -> tuple:
        return (3000, *[x[0] for x in sums(rng, 3000, mean, sd, 1)])

    d = result(exp, {
        "latency": {"control": arm(1.0, 1.0), "b": arm(0.8, 1.0), "c": arm(1.0, 1.0)},
        "cost": {"control": arm(1.0, 0.5), "b": arm(1.0, 0.5), "c": arm(1.3, 0.5)},
    }).decision()  # fmt: skip
    for a in d.arms:
        assert all(r.startswith(a.variant) for r in a.reasons), a.reasons
        assert "goal" in a.reasons[0], a.reasons
    (c,) = [a for a in d.arms if a.variant == "c"]
    assert c.action == "dont_ship" and c.reasons[1].startswith("c: guardrail cost is worse")
