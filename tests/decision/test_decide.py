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
from promptab_nb.errors import InvalidArgumentError

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


def test_sequential_power_at_the_mde_with_its_planned_sample() -> None:
    # Under sequential=True the plan is the always-valid test's: the fixed-horizon plan
    # (6,281 per arm) gave one look at the mSPRT 35 % power at the MDE, not 80 % (13,773).
    rng = np.random.default_rng(12)
    exp = stub(ExperimentDesign.build("latency", None, "-5%"))
    first = {arm: (2000, *[x[0] for x in sums(rng, 2000, m, 1.0, 1)])
             for arm, m in (("control", 1.0), ("test", 0.95))}  # fmt: skip
    (arm,) = result(exp, {"latency": first}, sequential=True).decision().arms
    fixed = st.sample_size(1.0, mde=-0.05, sd=1.0, relative=True, power=0.8).n_control
    n = math.ceil(arm.progress.planned_units / 2)
    assert n > 1.5 * fixed
    draws = {
        "latency": {
            "control": (n, *sums(rng, n, 1.0, 1.0, SIMS)),
            "test": (n, *sums(rng, n, 0.95, 1.0, SIMS)),
        }
    }
    rate, _ = _ship_rate(exp, draws, SIMS, sequential=True)
    assert rate == pytest.approx(0.8, abs=3 * _mc(0.8, SIMS))
    print(f"sequential power at the MDE {rate:.4f} with {n:,} per arm (fixed plan {fixed:,})")


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
    # the guardrail's line says why it has no test (it read "non-inferiority p –")
    assert "verdict withheld" in check.note
    assert any("guardrail cost" in r and "verdict withheld" in r for r in d.reasons)
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


def test_a_declared_guardrail_is_never_the_default_goal() -> None:
    # guardrails without a goal, the guardrail analysed first: it was made the goal as well, so
    # a cost significantly higher but within its +5 % margin read "worsens the goal: don't
    # ship" beside "guardrail cost pass", and regressions() found none
    exp = stub(ExperimentDesign.build(None, {"cost": "+5%"}))
    rng = np.random.default_rng(1)

    def arm(mean: float) -> tuple:
        return (20_000, *[x[0] for x in sums(rng, 20_000, mean, 0.5, 1)])

    res = result(exp, {"cost": {"control": arm(1.0), "test": arm(1.03)},
                       "latency": {"control": arm(1.0), "test": arm(1.0)}})  # fmt: skip
    cost = next(r for r in res.rows if r.metric == "cost" and not r.is_control)
    assert cost.significant and cost.diff > 0  # worse, but within the margin
    d = res.decision()
    assert d.design.goal == "latency" and d.design.guardrails["cost"] is not None
    assert d.action == "keep_running" and not any("worsens the goal" in r for r in d.reasons)
    ((check,),) = [a.guardrails[:1] for a in d.arms]
    assert (check.metric, check.status) == ("cost", "pass")
    assert "latency (the first metric that is not a guardrail) is the goal" in d.reasons[-1]
    assert res.regressions("cost") == []
    # every analysed metric a guardrail: no goal to decide on, said so
    only = result(exp, {"cost": {"control": arm(1.0), "test": arm(1.03)}})
    with pytest.raises(InvalidArgumentError, match="every analysed metric .cost. is a guardrail"):
        only.decision()


def test_decision_keywords_are_checked_and_alpha_is_one_of_them() -> None:
    # res.decision(alpha=0.1) or a misspelt part raised a raw TypeError from the design builder
    res = _one(ExperimentDesign.build("latency", {"cost": "+5%"}), latency_test=0.97, n=1000)
    goal = next(r for r in res.rows if r.metric == "latency" and not r.is_control)
    assert 0.05 < goal.p_raw < 0.1
    assert res.decision().action == "keep_running"
    loose = res.decision(alpha=0.1)
    assert loose.alpha == 0.1 and loose.action == "ship"
    assert res.decision(alpha=0.1, mde="-1%").alpha == 0.1
    with pytest.raises(InvalidArgumentError, match="unknown argument 'goals'; did you mean 'goal'"):
        res.decision(goals="cost")
    with pytest.raises(InvalidArgumentError, match="alpha"):
        res.decision(alpha=1.5)


@pytest.mark.parametrize("sequential", [False, True])
def test_planned_sample_of_a_log_ratio_goal_uses_the_improvement_ratio(sequential) -> None:
    # unit="request" error rate (Fisher, Katz log risk ratio): an MDE of -10 % is a ratio of
    # 0.9, |log 0.9| = 0.105; log1p(0.10) = 0.095 planned a 22 % larger sample. Under
    # sequential=True the row's rel_se is still Katz's log SE (it was read as a linear one)
    from statistics import NormalDist

    from promptab_nb.analysis import _build
    from promptab_nb.analysis.estimators import Arm, RequestProportion
    from promptab_nb.metrics import BUILTIN
    from promptab_nb.options import AnalysisOptions

    exp = stub(ExperimentDesign.build("error_rate", None, "-10%"))
    opts = AnalysisOptions(metrics=["error_rate"], unit="request", sequential=sequential)
    counts = {"control": (5000, 500), "test": (5000, 490)}
    arms = {k: Arm(n, st.PropStats(n, x), n, 0) for k, (n, x) in counts.items()}
    health = _build.health(exp, {k: n for k, (n, _) in counts.items()}, 0, "exclude")
    res = _build.build_result(exp, [(RequestProportion(BUILTIN["error_rate"], opts), arms)],
                              health, opts, (), ())  # fmt: skip
    (arm,) = res.decision().arms
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    pc, pt = 0.1, 0.098
    per_arm = z**2 * ((1 - pc) / pc + (1 - pt) / pt) / math.log(0.9) ** 2  # Katz variance
    if not sequential:
        assert arm.progress.planned_units == pytest.approx(2 * per_arm, rel=1e-9)
        return
    # the always-valid test's plan: one look at it there has the power, on the same log SE
    (row,) = (r for r in res.rows if r.variant == "test")
    factor = arm.progress.planned_units / 10000
    se, rho = row.rel_se / math.sqrt(factor), row.seq_tau2 / row.se**2 * factor
    bound = math.sqrt((1 + 1 / rho) * (2 * math.log(1 / 0.05) + math.log1p(rho)))
    assert NormalDist().cdf(-math.log(0.9) / se - bound) == pytest.approx(0.8, abs=1e-9)
    assert arm.progress.planned_units > 1.5 * 2 * per_arm


@pytest.mark.parametrize("options", [{"alternative": "less"}, {"sequential": True}])
def test_progress_of_a_withheld_arm_never_reads_a_one_sided_or_sequential_ci(options) -> None:
    # an arm under 50 units has no SE, and its SE was read off its CI: a one-sided CI's
    # infinite bound made decision() raise OverflowError; a confidence sequence is no
    # fixed-horizon CI either
    exp = stub(ExperimentDesign.build("latency", None, "-5%"), ("control", "b", "c"))
    rng = np.random.default_rng(4)

    def arm(n: int, mean: float) -> tuple:
        return (n, *[x[0] for x in sums(rng, n, mean, 1.0, 1)])

    res = result(exp, {"latency": {"control": arm(2000, 1.0), "b": arm(2000, 0.97),
                                   "c": arm(30, 1.0)}}, **options)  # fmt: skip
    d = res.decision()
    b, c = d.arms
    assert c.action == "keep_running" and math.isnan(c.progress.share)
    assert 0 < b.progress.share < 1
    # no daily rate in this result: the days still needed are unknown, not 0 ("done")
    rate = b.progress.rate
    assert math.isnan(rate) and math.isnan(b.progress.days_needed)
    assert "more day" not in b.progress.sentence() or rate > 0


def test_a_relative_margin_without_relative_effects_says_how_to_test_it() -> None:
    # relative=False leaves a '+5%' margin nothing to be tested on: pending, and said so (the
    # line read "non-inferiority p –")
    d = _one(ExperimentDesign.build("latency", {"cost": "+5%"}), relative=False).decision()
    ((check,),) = [a.guardrails for a in d.arms]
    assert check.status == "pending" and d.action == "keep_running"
    assert "analyse with relative=True" in check.note
    assert any("analyse with relative=True" in r for r in d.reasons)


def test_no_effect_names_the_level_with_its_decimals() -> None:
    # alpha = 0.001: a 99.9 % CI, which "{:.0%}" printed as "100% CI"
    d = _one(ExperimentDesign.build("latency", None, "-20%"), latency_test=1.0, n=4000,
             alpha=0.001).decision()  # fmt: skip
    assert d.action == "no_effect"
    assert "the 99.9% CI of latency excludes" in d.reasons[0]


def test_the_share_of_the_plan_is_not_rounded_up_to_reached() -> None:
    # 99.6 % of the planned sample read "100% of the planned 1,000 units reached; about 1 more
    # day(s)" and the decision table "100%", beside a caution that the plan is not reached
    from promptab_nb.decision._result import Progress

    prog = Progress(planned_units=1000, share=0.996, days_needed=1.0, rate=100)
    assert prog.sentence().startswith("99% of the planned 1,000 units reached")
    d = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=1.0, n=300).decision()
    (arm,) = d.arms
    shown = next(c for c in d._table().rows[0] if c.endswith("%"))
    assert shown == f"{math.floor(round(arm.progress.share * 100, 9))}%"
    done = Progress(planned_units=1000, share=1.0, days_needed=0.0, rate=100)
    assert done.sentence().startswith("100% of the planned")


@pytest.mark.parametrize("mde", [1e-300, "-1e-300%", 1e300])
def test_an_extreme_mde_plans_without_a_raw_arithmetic_error(mde) -> None:
    # an MDE of 1e-300 s overflowed (se * z / mde) ** 2 into a raw OverflowError, and one of
    # 1e300 s underflowed it to 0 and raised ZeroDivisionError: the first needs more units than
    # any sample (0 % reached, keep running), any sample detects the second (100 % reached)
    res = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=1.0)
    d = res.decision(mde=mde)
    (arm,) = d.arms
    if mde == 1e300:
        assert arm.progress.share == 1.0 and d.action == "no_effect"
    else:
        assert arm.progress.share == 0.0 and math.isinf(arm.progress.planned_units)
        assert d.action == "keep_running"
        assert any("too small to detect" in r for r in d.reasons)
    assert str(d) and d.to_dict()["arms"][0]["progress"]["share"] == arm.progress.share


def test_a_relative_mde_without_relative_effects_says_how_to_plan_it() -> None:
    # relative=False leaves a '-5%' MDE no relative SE to plan on nor relative CI to rule it
    # out: the decision kept running for ever with no word on the plan (the table read "–")
    d = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=1.0, n=4000,
             relative=False).decision()  # fmt: skip
    (arm,) = d.arms
    assert d.action == "keep_running" and math.isnan(arm.progress.share)
    assert any(
        r.startswith("test: planned sample unknown") and "analyse with relative=True" in r
        for r in d.reasons
    )


def test_a_sample_ratio_mismatch_blocks_shipping_and_is_said_once() -> None:
    # 2000 / 2000 / 1500 units on a 1/3 split: the SRM error kept both improving arms from
    # shipping, and its "results not trusted" line was repeated once per arm
    exp = stub(ExperimentDesign.build("latency", None, "-5%"), ("control", "b", "c"))
    rng = np.random.default_rng(2)

    def arm(n: int, mean: float) -> tuple:
        return (n, *[x[0] for x in sums(rng, n, mean, 1.0, 1)])

    res = result(exp, {"latency": {"control": arm(2000, 1.0), "b": arm(2000, 0.8),
                                   "c": arm(1500, 0.8)}})  # fmt: skip
    assert any(f.code == "srm" and f.severity == "error" for f in res.health.flags)
    d = res.decision()
    assert d.action == "keep_running" and [a.action for a in d.arms] == ["keep_running"] * 2
    assert sum(r.startswith("results not trusted") for r in d.reasons) == 1
    assert d.to_dict()["reasons"] == list(d.reasons)


def test_guardrail_checks_name_a_metric_not_analysed_and_check_alpha() -> None:
    # the public helpers raised a raw KeyError: 'cost' for a metric the result has not, and
    # took alpha=2 (every check "pass")
    from promptab_nb.decision import guardrail_checks, regression_checks

    res = _one(ExperimentDesign.build("latency"))
    for call in (
        lambda: regression_checks(res, "pass_rate"),
        lambda: guardrail_checks(res, {"pass_rate": None}),
    ):
        with pytest.raises(InvalidArgumentError, match="pass_rate.*not analysed.*latency, cost"):
            call()
    with pytest.raises(InvalidArgumentError, match="alpha"):
        guardrail_checks(res, {"cost": None}, alpha=2)


@pytest.mark.parametrize(
    "options",
    [{"correction": "bonferroni"}, {"method": "bayesian", "prior": st.GaussianPrior(0.0, 4e-4)}],
)
def test_ship_needs_the_tables_verdict_on_the_goal(options) -> None:
    # latency lower at p = 0.037 before any correction; the table said "not significant" (the
    # Bonferroni p over 2 metrics is 0.074, the chance to beat control under a sceptical prior
    # 88 %) and the decision read "Ship test" beside it
    res = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=0.97, **options)
    goal = next(r for r in res.rows if r.metric == "latency" and not r.is_control)
    assert goal.p_raw < 0.05 and goal.diff < 0 and not goal.significant
    d = res.decision()
    assert d.action == "keep_running" and d.recommended is None
    assert "not significantly better yet" not in d.reasons[0]  # (it is, before the table's)
    assert d.reasons[0].startswith("test improves the goal (latency")
    assert "but the result table does not call it significant" in d.reasons[0]
    assert ("Bonferroni correction" if "correction" in options else "chance to beat") in str(d)
    plain = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=0.97)
    assert plain.decision().action == "ship"


def test_decision_on_another_goal_drops_the_designs_mde_and_guardrail() -> None:
    # res.decision(goal="cost") raised "cost is the goal; ... not both" (cost was the design's
    # guardrail), and with guardrails={} it planned cost's sample on latency's MDE of 0.5 s
    # read as $0.50
    res = _one(ExperimentDesign.build("latency", {"cost": "+5%"}, 0.5))
    d = res.decision(goal="cost")
    assert d.design.goal == "cost" and d.design.mde is None
    assert d.design.guardrails == {"latency": None}
    assert math.isnan(d.arms[0].progress.share)
    assert res.decision(goal="cost", mde=0.01).design.mde.text == "0.01"
    assert res.decision(goal="latency").design.mde.size == 0.5  # the same goal keeps its MDE


def test_decision_without_the_designs_goal_drops_its_mde() -> None:
    # res.decision(goal=None) raised "mde is given without a goal": the MDE was the design's
    res = _one(ExperimentDesign.build("latency", {"cost": "+5%"}, "-5%"))
    d = res.decision(goal=None)
    assert d.design.goal == "latency" and d.design.mde is None
    assert "no goal declared" in d.reasons[-1]


def test_planned_sample_follows_the_analysis_correction_across_metrics() -> None:
    # ship needs the table's p after correction='bonferroni' over latency and cost (alpha / 2
    # for each), and the plan was the uncorrected one: "100 % reached" at 71 % power, not 80 %
    base = _one(ExperimentDesign.build("latency", None, 0.05), latency_test=1.0, n=3000)
    res = _one(ExperimentDesign.build("latency", None, 0.05), latency_test=1.0, n=3000,
               correction="bonferroni")  # fmt: skip
    t = next(r for r in res.rows if r.metric == "latency" and not r.is_control)
    sd = math.sqrt(t.se**2 / (2 / 3000))
    ref = st.sample_size(mde=0.05, sd=sd, alpha=0.025)
    (arm,) = res.decision().arms
    assert arm.progress.planned_units == pytest.approx(ref.n_total_real, rel=0.01)
    (plain,) = base.decision().arms
    assert plain.progress.planned_units < 0.85 * arm.progress.planned_units


def test_a_one_sided_goal_is_decided_by_its_one_sided_test() -> None:
    # alternative={"latency": "less"} declares H1: latency falls. The table called p = 0.027
    # significant, the decision read the two-sided 0.054 "not significantly better yet"; and
    # its one-sided CI (-inf, +1.1 %] never excluded an MDE, so at 10 times the planned sample
    # it kept running for ever ("100% of the planned 772 units reached")
    design = ExperimentDesign.build("latency", None, "-5%")
    res = _one(design, latency_test=0.975, alternative={"latency": "less"})
    goal = next(r for r in res.rows if r.metric == "latency" and not r.is_control)
    assert goal.p_value < 0.05 < goal.p_raw and goal.significant
    d = res.decision()
    assert d.action == "ship" and d.arms[0].goal_p == pytest.approx(goal.p_value)
    assert "one-sided p = 0.027" in d.reasons[0]
    # the plan is the one-sided test's: (z_0.95 + z_0.8)² / (z_0.975 + z_0.8)² of the two-sided
    from statistics import NormalDist

    z = NormalDist().inv_cdf
    (two,) = _one(design, latency_test=0.975).decision().arms
    ratio = ((z(0.95) + z(0.8)) / (z(0.975) + z(0.8))) ** 2
    assert d.arms[0].progress.planned_units == pytest.approx(
        ratio * two.progress.planned_units, rel=1e-9
    )
    # no effect is reachable
    flat = _one(ExperimentDesign.build("latency", None, "-20%"), latency_test=1.0, n=4000,
                alternative="less").decision()  # fmt: skip
    assert flat.action == "no_effect" and "rules out an improvement of -20%" in flat.reasons[0]
    # a regression of the goal is still seen
    assert _one(design, latency_test=1.2, alternative="less").decision().action == "dont_ship"


@pytest.mark.parametrize("alpha", [1.5, 0, float("nan"), "0.1"])
def test_decide_checks_its_alpha(alpha) -> None:
    # the public decide() took alpha=1.5 (every test "significant": dont_ship), and raised a
    # raw StatisticsError for 0 and ValueError for NaN; res.decision() checked it, decide not
    from promptab_nb.decision import decide

    res = _one(ExperimentDesign.build("latency", None, "-5%"), latency_test=1.0)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        decide(res, alpha=alpha)


def test_two_shipping_arms_say_whether_the_recommended_one_beats_the_other() -> None:
    # b and c both improve latency and pass; "Ship b" (the larger point estimate) said nothing
    # of b against c, whose difference is far from significant: it read as "b is the winner"
    exp = stub(ExperimentDesign.build("latency"), ("control", "b", "c"))
    rng = np.random.default_rng(5)

    def arm(mean: float) -> tuple:
        return (1000, *[x[0] for x in sums(rng, 1000, mean, 1.0, 1)])

    res = result(exp, {"latency": {"control": arm(1.0), "b": arm(0.8), "c": arm(0.85)}})
    d = res.decision()
    assert [a.action for a in d.arms] == ["ship", "ship"] and d.recommended == "b"
    (pair,) = [p for p in res.all_pairs("latency").pairs if {p.a, p.b} == {"b", "c"}]
    assert not pair.significant
    (line,) = [r for r in d.reasons if r.startswith("b has the largest improvement")]
    assert "not significantly better than c" in line and "all_pairs('latency')" in line


def test_dont_ship_under_a_sample_ratio_mismatch_says_the_results_are_not_trusted() -> None:
    # 2000 / 1500 units on a 50/50 split, the goal worse: "Don't ship" gave only the goal line,
    # the SRM that makes every number of it untrusted went unsaid (keep running said it)
    exp = stub(ExperimentDesign.build("latency"))
    rng = np.random.default_rng(2)
    res = result(exp, {"latency": {
        "control": (2000, *[x[0] for x in sums(rng, 2000, 1.0, 1.0, 1)]),
        "test": (1500, *[x[0] for x in sums(rng, 1500, 1.3, 1.0, 1)]),
    }})  # fmt: skip
    assert any(f.code == "srm" and f.severity == "error" for f in res.health.flags)
    d = res.decision()
    assert d.action == "dont_ship"
    assert sum(r.startswith("results not trusted") for r in d.reasons) == 1


def test_a_plan_beyond_any_traffic_reads_as_such() -> None:
    # an MDE of 1e-150 s planned 1e300 units: the sentence printed a 301-digit number of units
    # and of days still needed
    from promptab_nb.decision._result import Progress

    text = Progress(1e300, 1e-296, 1e298, 100.0).sentence()
    assert len(text) < 200 and "1e+300" in text and "more than 100 years" in text
    assert (
        Progress(3e9, 0.001, 3e7, 100.0)
        .sentence()
        .endswith("more than 100 years at 100 units/day: the mde is too small for this traffic")
    )
    near = Progress(10_000, 0.5, 50.0, 100.0).sentence()
    assert near == "50% of the planned 10,000 units reached; about 50 more day(s) at 100 units/day"


def test_a_power_below_the_level_needs_no_sample() -> None:
    # power 0.01 at alpha 0.05: z_alpha/2 + z_power = 1.96 − 2.33 < 0, whose square planned
    # 201 units though no sample is needed to have power 1 %
    res = _one(ExperimentDesign.build("latency", None, "-5%", power=0.01), latency_test=1.0, n=300)
    (arm,) = res.decision().arms
    assert arm.progress.share == 1.0 and arm.progress.planned_units == 0


def test_an_analysis_without_any_unit_has_no_decision() -> None:
    # A window after the data (health error 'no_units'): the decision read "Keep running",
    # four lines of "no test yet" first, as if more days would decide it, where the window is
    # what has to change. There is nothing to decide: an error that names the window.
    import dataclasses

    from promptab_nb.results import HealthFlag

    exp = stub(ExperimentDesign.build("latency", {"cost": "+5%"}, "-5%"))
    rng = np.random.default_rng(3)
    arms = {k: (2, *[x[0] for x in sums(rng, 2, 1.0, 1.0, 1)]) for k in ("control", "test")}
    res = result(exp, {"latency": arms, "cost": arms})
    msg = "no unit of any arm is in scope in the analysis window (start 2030-01-01 00:00 UTC)"
    empty = dataclasses.replace(
        res, health=dataclasses.replace(res.health, flags=(HealthFlag("no_units", "error", msg),))
    )
    for call in (empty.decision, lambda: empty.decision(goal="cost")):
        with pytest.raises(InvalidArgumentError, match=r"no decision: .*start 2030-01-01") as err:
            call()
        assert "Keep running" not in str(err.value)
    assert res.decision().action == "keep_running"  # (2 units: too few, not none)


def test_shipping_arms_with_the_same_improvement_are_called_a_tie() -> None:
    # b and c with the same sums: "b has the largest improvement of the arms that ship (b, c)"
    # where neither's is larger; b is recommended only as the first listed
    exp = stub(ExperimentDesign.build("latency"), ("control", "b", "c"))
    rng = np.random.default_rng(1)
    b = (3000, *[x[0] for x in sums(rng, 3000, 0.8, 1.0, 1)])
    ctl = (3000, *[x[0] for x in sums(rng, 3000, 1.0, 1.0, 1)])
    d = result(exp, {"latency": {"control": ctl, "b": b, "c": b}}).decision()
    assert d.recommended == "b"
    assert not any("has the largest improvement" in r for r in d.reasons), d.reasons
    (line,) = [r for r in d.reasons if "tie" in r]
    assert line.startswith("b and c tie on the largest improvement") and "first listed" in line


def test_holm_is_named_only_where_there_are_arms_to_adjust_across() -> None:
    # one treatment: "(p = 0.652, Holm across arms)" and the column "goal p (Holm)" named an
    # adjustment that changes nothing; with two treatments the goal p-values are Holm-adjusted
    rng = np.random.default_rng(3)

    def arm(mean: float) -> tuple:
        return (1000, *[x[0] for x in sums(rng, 1000, mean, 1.0, 1)])

    one = result(stub(ExperimentDesign.build("latency")), {"latency": {
        "control": arm(1.0), "test": arm(0.9)}}).decision()  # fmt: skip
    assert "Holm" not in " ".join(one.reasons) and "Holm" not in repr(one)
    two = result(stub(ExperimentDesign.build("latency"), ("control", "b", "c")), {"latency": {
        "control": arm(1.0), "b": arm(0.9), "c": arm(0.95)}}).decision()  # fmt: skip
    assert "Holm across arms" in two.reasons[0] and "goal p (Holm)" in repr(two)
