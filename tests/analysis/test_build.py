"""Rows, guards and significance (analysis/_build.py): no verdict is silently wrong."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from promptab_nb.analysis import _build

from ._scenarios import workspace

LAT = "latency"


def _treatment(res, metric):
    (row,) = [r for r in res.rows if r.metric == metric and not r.is_control]
    return row


def test_bayesian_withholds_the_verdict_under_the_minimum_sample(tmp_path) -> None:
    ws, exp = workspace(
        tmp_path,
        {"control": [[{LAT: 1.0}], [{LAT: 1.2}]], "test": [[{LAT: 3.0}], [{LAT: 3.1}]]},
    )
    res = exp.analyze([LAT], method="bayesian")
    row = _treatment(res, LAT)
    assert math.isnan(row.p_value) and math.isnan(row.chance_to_win)
    assert row.significant is False
    assert res.regressions(LAT) == []
    assert "no verdict" in res.verdicts()[0][0]


@pytest.mark.parametrize("unit", ["user", "request"])
def test_zero_baseline_keeps_the_absolute_test(tmp_path, unit: str) -> None:
    ws, exp = workspace(
        tmp_path, {"control": [[{"error": False}]] * 60, "test": [[{"error": True}]] * 60}
    )
    res = exp.analyze(["error_rate"], unit=unit)
    row = _treatment(res, "error_rate")
    assert row.diff == pytest.approx(1.0)
    assert row.p_value < 1e-6 and row.significant
    assert math.isnan(row.rel_diff) and "relative lift is undefined" in row.note
    assert [r.variant for r in res.regressions("error_rate")] == ["test"]
    assert res.verdicts()[0][1] == "bad"


@pytest.mark.parametrize("metric", ["latency_p50", "latency_p95"])
def test_a_per_user_quantile_is_guarded_by_users_not_requests(tmp_path, metric) -> None:
    # 20 users per arm with 40 requests each: 800 events, but under the 50-unit minimum
    rng = np.random.default_rng(2)
    ws, exp = workspace(tmp_path, {
        arm: [[{LAT: float(x) * scale} for x in rng.exponential(1.0, 40)] for _ in range(20)]
        for arm, scale in (("control", 1.0), ("test", 0.7))
    })  # fmt: skip
    res = exp.analyze([metric, LAT])
    for m in (metric, LAT):
        row = _treatment(res, m)
        assert row.n == 20 and math.isnan(row.p_value) and not row.significant, m
        assert "need 50 per arm" in row.note
    assert res.decision().action == "keep_running"


def test_quantile_under_bayesian_is_decided_by_its_test(tmp_path) -> None:
    rng = np.random.default_rng(1)
    ws, exp = workspace(
        tmp_path,
        {
            "control": [[{LAT: float(x)}] for x in rng.exponential(1.0, 300)],
            "test": [[{LAT: float(x)}] for x in rng.exponential(2.0, 300)],
        },
    )
    res = exp.analyze(["latency_p95"], method="bayesian")
    row = _treatment(res, "latency_p95")
    assert row.p_value < 0.001 and row.significant
    assert res.regressions("latency_p95") == [row]
    text, tone = res.verdicts()[0]
    assert tone == "bad" and "no significant" not in text


def _exp(**kw):
    base = dict(
        variants={"control": "1", "test": "2"},
        split={"control": 50.0, "test": 50.0},
        is_expired=False,
        ends_at=None,
    )
    return SimpleNamespace(**{**base, **kw})


def test_a_few_units_in_two_variants_leave_health_ok() -> None:
    h = _build.health(_exp(), {"control": 496, "test": 496}, 8, "exclude")  # 0.8 %
    assert h.has("multiple") and h.ok
    assert next(f for f in h.flags if f.code == "multiple").severity == "info"
    heavy = _build.health(_exp(), {"control": 450, "test": 450}, 100, "exclude")  # 10 %
    assert not heavy.ok and heavy.has("multiple")


def test_overflowing_sums_isolate_the_metric(tmp_path) -> None:
    ws, exp = workspace(
        tmp_path,
        {
            "control": [[{"latency": 1.0, "cost": 0.01}]] * 60,
            "test": [[{"latency": 1.5, "cost": 0.02}]] * 58 + [[{"cost": 1e308}]] * 2,
        },
    )
    res = exp.analyze(["cost", "latency"])
    cost = _treatment(res, "cost")
    assert math.isnan(cost.p_value) and not cost.significant and "overflow" in cost.note
    assert _treatment(res, "latency").significant  # the other metrics are analysed


def test_chance_to_be_better_is_direction_aware_in_every_mode(tmp_path) -> None:
    import scipy.stats

    rng = np.random.default_rng(2)
    ws, exp = workspace(
        tmp_path,
        {
            "control": [[{LAT: float(x), "error": i % 10 == 0}]
                        for i, x in enumerate(rng.normal(2.0, 0.5, 80))],
            "test": [[{LAT: float(x), "error": bool(i % 3 == 0)}]
                     for i, x in enumerate(rng.normal(1.8, 0.5, 80))],
        },
    )  # fmt: skip
    res = exp.analyze([LAT, "error_rate"])
    lat, err = _treatment(res, LAT), _treatment(res, "error_rate")
    # lower latency is better: P(test − control < 0) under the flat-prior normal posterior
    assert lat.chance_to_win == pytest.approx(scipy.stats.norm.cdf(-lat.diff / lat.se), rel=1e-9)
    assert lat.chance_to_win > 0.95 and err.chance_to_win < 0.05  # errors rose: worse
    bayes = exp.analyze([LAT, "error_rate"], method="bayesian")
    text, tone = bayes.verdicts()[1]
    assert "chance to be better" in text and "credible interval" in text and tone == "bad"
    assert "significant" not in " ".join(t for t, _ in bayes.verdicts())
    assert _treatment(bayes, "error_rate").chance_to_win < 0.05


def test_all_pairs_leave_out_arms_under_the_minimum_sample() -> None:
    import scipy.stats

    from promptab_nb.analysis.estimators import Arm, UserMean
    from promptab_nb.metrics import BUILTIN
    from promptab_nb.options import AnalysisOptions
    from promptab_nb.stats import MeanStats

    rng = np.random.default_rng(2)
    values = {"control": rng.normal(1, 1, 80), "a": rng.normal(1.3, 1, 90),
              "b": rng.normal(1, 1, 30), "c": rng.normal(1, 1, 70)}  # fmt: skip
    arms = {k: Arm(v.size, MeanStats.from_values(v)) for k, v in values.items()}
    est = UserMean(BUILTIN["latency"], AnalysisOptions(unit="user"))
    res = _build.all_pairs_of(est, arms, list(values), correction="holm")
    assert [(p.a, p.b) for p in res.pairs] == [("control", "a"), ("control", "c"), ("a", "c")]
    assert res.note is not None and "b" in res.note and "50 units" in res.note
    ref = scipy.stats.ttest_ind(values["c"], values["a"], equal_var=False).pvalue
    assert res.pairs[2].p_value == pytest.approx(ref, rel=1e-9)
    alone = _build.all_pairs_of(est, {"control": arms["control"], "b": arms["b"]},
                                ["control", "b"], correction="holm")  # fmt: skip
    assert alone.pairs == () and "b" in (alone.note or "")


def test_the_sequential_relative_interval_is_a_confidence_sequence() -> None:
    # Under sequential=True the relative lift's interval is always-valid too: at least as wide
    # as the fixed-horizon one, and under H0 it excludes 0 at most alpha of the time (here at
    # one look, so well under). It used to be the fixed-horizon CI beside the sequential p.
    from decision._sim import result, stub, sums

    from promptab_nb.decision import ExperimentDesign

    exp, rng, sims = stub(ExperimentDesign()), np.random.default_rng(3), 1000
    (cs, cq), (ts, tq) = (sums(rng, 500, 2.0, 1.0, sims) for _ in range(2))
    excluded = 0
    for i in range(sims):
        arms = {"latency": {"control": (500, cs[i], cq[i]), "test": (500, ts[i], tq[i])}}
        seq, fixed = (_treatment(result(exp, arms, sequential=s), LAT) for s in (True, False))
        assert seq.rel_ci_low <= fixed.rel_ci_low and seq.rel_ci_high >= fixed.rel_ci_high
        assert seq.rel_ci_low < seq.rel_diff < seq.rel_ci_high and math.isnan(seq.chance_to_win)
        excluded += not seq.rel_ci_low <= 0 <= seq.rel_ci_high
    assert excluded / sims <= 0.05


@pytest.mark.parametrize("relative", [True, False])
def test_a_bayesian_verdict_quotes_the_posterior_it_bounds(relative: bool) -> None:
    # with an informative prior the posterior mean is not the frequentist estimate: the verdict
    # showed +39 % beside a credible interval of -4 % to +15 %
    from decision._sim import result, stub, sums

    from promptab_nb._format import num
    from promptab_nb.decision import ExperimentDesign
    from promptab_nb.stats import GaussianPrior

    rng = np.random.default_rng(4)
    arms = {LAT: {k: (60, *[x[0] for x in sums(rng, 60, m, 1.0, 1)])
                  for k, m in (("control", 1.0), ("test", 1.4))}}  # fmt: skip
    prior = GaussianPrior(0.0, 0.05**2)
    res = result(stub(ExperimentDesign()), arms, method="bayesian", prior=prior, relative=relative)
    row = _treatment(res, LAT)
    shown = row.rel_diff if relative else row.diff
    assert row.cred_low <= row.cred_mean <= row.cred_high < shown  # shrunk toward 0
    text, _ = res.verdicts()[0]
    unit = "%" if relative else "s"
    assert num(abs(row.cred_mean), unit) in text and num(abs(shown), unit) not in text


@pytest.mark.parametrize("unpriced", [("control",), ("control", "test")])
def test_an_arm_whose_every_generation_is_unpriced_measures_nothing(tmp_path, unpriced) -> None:
    # Every generation of the arm carried no cost: the table showed its cost per user as "$0,
    # $0 to $0" and Δ "$0" with "zero variance in both arms" and "baseline is 0" notes, all
    # read off missing values (only the verdict was withheld)
    ws, exp = workspace(tmp_path, {
        k: [[{"cost": None if k in unpriced else 0.01 + u * 1e-4}] * 2 for u in range(60)]
        for k in ("control", "test")
    })  # fmt: skip
    res = exp.analyze(["cost"])
    ctl, row = (next(r for r in res.rows if r.variant == k) for k in ("control", "test"))
    assert math.isnan(ctl.mean) and math.isnan(ctl.mean_ci_low) and math.isnan(ctl.mean_ci_high)
    assert ctl.note.startswith("all generations of control (120) are unpriced in the export")
    assert math.isnan(row.mean) == ("test" in unpriced)
    assert all(math.isnan(x) for x in (row.diff, row.diff_ci_low, row.rel_diff, row.p_value))
    names = " and ".join(f"{k} (120)" for k in unpriced)
    assert row.note == (f"all generations of {names} are unpriced in the export: nothing "
                        "measured; analyse with cost='recompute' to price them")  # fmt: skip
    assert not row.significant and "no verdict" in res.verdicts()[0][0]
    (flag,) = [f for f in res.health.flags if f.code == "missing_values"]
    assert "each unit's sum leaves them out, as if 0" in flag.message
    assert res.total_impact("cost")["test"] is None
    # one priced generation in the arm: its mean stands (biased, so no verdict: > 5% missing)
    ws2, exp2 = workspace(tmp_path / "one", {
        "control": [[{"cost": 0.01 if u == 0 else None}] for u in range(60)],
        "test": [[{"cost": 0.01}] for _ in range(60)],
    })  # fmt: skip
    ctl2 = next(r for r in exp2.analyze(["cost"]).rows if r.is_control)
    assert ctl2.mean > 0 and ctl2.note is None


def test_exposures_without_any_generation_measure_nothing(tmp_path) -> None:
    # every exposed unit lacks generations in scope: cost is not "$0, no difference"
    ws, exp = workspace(tmp_path, {"control": [[]] * 60, "test": [[]] * 60})
    res = exp.analyze(["cost"])
    row = _treatment(res, "cost")
    assert math.isnan(row.p_value) and not row.significant
    assert row.note == "no event of this metric in scope in either arm: nothing measured"
    # nor a difference of $0 in the table (it showed Δ "$0" beside the withheld verdict)
    assert all(math.isnan(x) for x in (row.diff, row.diff_ci_low, row.rel_diff))
    assert "no verdict" in res.verdicts()[0][0]
    (flag,) = [f for f in res.health.flags if f.code == "units_without_events"]
    assert flag.severity == "error" and "no exposed unit has a generation" in flag.message
    assert res.decision().action == "keep_running"
    # nor a total impact of $0 (it printed "$0 in total (95% CI $0 to $0)")
    impact = res.total_impact("cost")
    assert impact["test"] is None and "nothing measured" in impact.notes["test"]
    assert "$0 in total" not in str(impact)


def test_the_sequential_relative_interval_agrees_with_the_sequential_test() -> None:
    # control mean 1.0 (var 4), test 0.7 (var 0.25), 400 users each: the always-valid p was
    # 0.081 (absolute sequence -0.62 s to +0.02 s) but the delta-method relative sequence read
    # -52.6 % to -7.4 %, so the table showed an interval excluding 0 beside a p that is not
    # significant, and the forest plot a hollow point on a bar clear of 0. The relative sequence
    # now inverts the same mSPRT (Fieller): it excludes 0 exactly when p < alpha.
    from decision._sim import result, stub

    from promptab_nb.decision import ExperimentDesign

    def arm(n: int, mean: float, var: float) -> tuple[int, float, float]:
        return n, n * mean, var * (n - 1) + n * mean * mean

    exp = stub(ExperimentDesign())
    seen = set()
    for mt in np.linspace(0.5, 1.6, 45):
        for vt in (0.25, 4.0, 16.0):
            arms = {LAT: {"control": arm(400, 1.0, 4.0), "test": arm(400, float(mt), vt)}}
            row = _treatment(result(exp, arms, sequential=True), LAT)
            excludes = not row.rel_ci_low <= 0 <= row.rel_ci_high
            assert excludes == (row.p_value < 0.05), (mt, vt, row)
            assert row.rel_ci_low < row.rel_diff < row.rel_ci_high
            seen.add(excludes)
    assert seen == {True, False}
    arms = {LAT: {"control": arm(400, 1.0, 4.0), "test": arm(400, 0.7, 0.25)}}
    res = result(exp, arms, sequential=True)
    row = _treatment(res, LAT)
    assert row.p_value == pytest.approx(0.0805, abs=1e-3) and row.rel_ci_high > 0
    assert any("inverts the sequential test" in m for m in res.methods)
    # the table's relative interval cell no longer excludes 0 beside p = 0.081
    (cells,) = [c for c in res.table_rows() if c[1] == "test"]
    assert cells[-2] == "p = 0.081" and cells[-3].startswith("−") and " to +" in cells[-3]


def test_an_unbounded_relative_sequence_is_said_not_drawn_as_exact() -> None:
    # 3 of 100 control users fail: the sequence cannot tell the control's rate from 0, so the
    # lift has no bounded interval; the row says so and the forest plot does not draw a bare
    # point that reads as exact
    from decision._sim import result, stub

    from promptab_nb import plots
    from promptab_nb.decision import ExperimentDesign

    arms = {LAT: {"control": (100, 3.0, 3.0), "test": (100, 6.0, 6.0)}}
    res = result(stub(ExperimentDesign()), arms, sequential=True)
    row = _treatment(res, LAT)
    assert row.rel_diff == pytest.approx(1.0) and math.isnan(row.rel_ci_low)
    assert "no relative interval yet" in row.note
    labels = [t.get_text() for ax in plots.forest(res).axes for t in ax.texts]
    assert any("+100" in t and "(no interval)" in t for t in labels), labels


@pytest.mark.parametrize("relative", [True, False])
def test_the_bayesian_methods_line_states_the_prior_used(relative: bool) -> None:
    # it read "Gaussian posterior (flat prior unless given)" even with a prior given
    from decision._sim import result, stub, sums

    from promptab_nb.decision import ExperimentDesign
    from promptab_nb.stats import GaussianPrior

    rng = np.random.default_rng(5)
    arms = {LAT: {k: (60, *[x[0] for x in sums(rng, 60, 1.0, 1.0, 1)])
                  for k in ("control", "test")}}  # fmt: skip
    exp = stub(ExperimentDesign())
    flat = result(exp, arms, method="bayesian", relative=relative)
    (line,) = [m for m in flat.methods if m.startswith("Bayesian")]
    assert "flat prior" in line and "unless" not in line
    given = result(exp, arms, method="bayesian", prior=GaussianPrior(0.01, 0.0025),
                   relative=relative)  # fmt: skip
    (line,) = [m for m in given.methods if m.startswith("Bayesian")]
    scale = "relative lift" if relative else "difference"
    assert "Gaussian prior" in line and "mean 0.01, variance 0.0025" in line and scale in line
    assert "flat" not in line


def test_the_winsorizing_methods_line_names_the_metrics_it_clamps() -> None:
    # rates (ratio of sums) are never winsorized, yet the line said "winsorized per-unit values"
    # for every metric
    from promptab_nb.analysis.estimators import estimator_for
    from promptab_nb.metrics import BUILTIN
    from promptab_nb.options import AnalysisOptions

    def line(names: list[str], **kw) -> str:  # noqa: ANN003
        opts = AnalysisOptions(metrics=names, unit="user", winsorize=(0, 95), **kw)
        ests = [estimator_for(BUILTIN[n], opts) for n in names]
        (out,) = [m for m in _build.methods(ests, opts) if "winsoriz" in m]
        return out

    both = line(["cost", "error_rate", "pass_rate"])
    assert "cost" in both.split(";")[0] and "error_rate" not in both.split(";")[0]
    assert "not winsorized: error_rate, pass_rate" in both
    rates = line(["error_rate"], cuped=7)
    assert rates.startswith("no metric winsorized") and "error_rate" in rates


def _ratio_result(arms: dict, **options):
    """An ExperimentResult of error_rate (ratio of sums, delta method) from per-arm RatioStats."""
    from decision._sim import stub

    from promptab_nb.analysis.estimators import Arm, UserRatio
    from promptab_nb.decision import ExperimentDesign
    from promptab_nb.metrics import BUILTIN
    from promptab_nb.options import AnalysisOptions

    opts = AnalysisOptions(metrics=["error_rate"], unit="user", **options)
    exp = stub(ExperimentDesign())
    per = [(UserRatio(BUILTIN["error_rate"], opts), {k: Arm(s.n, s) for k, s in arms.items()})]
    health = _build.health(exp, {k: s.n for k, s in arms.items()}, 0, "exclude")
    return _build.build_result(exp, per, health, opts, (), ())


def test_the_relative_interval_agrees_with_the_fixed_horizon_test() -> None:
    # The shipped sample's error_rate (20/1172 generations fail in 569 control users, 36/1212
    # in 559 test users): Welch on the delta-method ratios gives p = 0.043, but the
    # delta-method relative CI read +74.1 % (−23.5 % to +171.6 %), so the table showed an
    # interval across 0 beside a significant p and the forest plot a filled point on a bar
    # through 0. That CI is replaced, with a note, by the lifts the same test does not reject.
    from scipy import stats as sps

    from promptab_nb import stats as st

    arms = {
        "control": st.RatioStats(569, 20.0, 24.0, 1172.0, 4274.0, 87.0),
        "test": st.RatioStats(559, 36.0, 36.0, 1212.0, 4890.0, 116.0),
    }
    res = _ratio_result(arms)
    row = _treatment(res, "error_rate")
    assert row.p_value == pytest.approx(0.0433, abs=1e-4) and row.significant
    assert row.rel_diff == pytest.approx(0.7406, abs=1e-4)
    assert 0 < row.rel_ci_low < row.rel_diff < row.rel_ci_high
    assert "Fieller" in row.note
    assert any("for error_rate that CI disagreed" in m for m in res.methods)
    # independently: at each end, Welch's t test of test − ρ·control (delta-method per-user
    # variances, the test's df) sits exactly at alpha
    c, t = arms["control"], arms["test"]
    for lift in (row.rel_ci_low, row.rel_ci_high):
        rho = 1 + lift
        se = math.sqrt(t.var / t.n + rho * rho * c.var / c.n)
        z = (t.mean - rho * c.mean) / se
        assert 2 * sps.t.sf(abs(z), row.df) == pytest.approx(0.05, abs=1e-9)
    (cells,) = [x for x in res.table_rows() if x[1] == "test"]
    assert cells[-3].startswith("+") and " to +" in cells[-3]


def test_an_agreeing_delta_method_interval_is_kept_as_posthog() -> None:
    # the common case: the delta-method CI excludes 0 exactly when p < alpha; it stays
    from promptab_nb import stats as st

    arms = {
        "control": st.RatioStats(569, 20.0, 24.0, 1172.0, 4274.0, 87.0),
        "test": st.RatioStats(559, 60.0, 66.0, 1212.0, 4890.0, 190.0),
    }
    row = _treatment(_ratio_result(arms), "error_rate")
    c, t = arms["control"], arms["test"]
    delta = st.ratio_test(c, t, relative=True)
    assert (row.rel_ci_low, row.rel_ci_high) == (delta.ci_low, delta.ci_high)
    assert row.note is None and row.p_value < 0.05 and delta.ci_low > 0


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_the_fixed_horizon_relative_interval_excludes_0_exactly_when_p_lt_alpha(
    alternative: str,
) -> None:
    from decision._sim import result, stub

    from promptab_nb.decision import ExperimentDesign

    def arm(n: int, mean: float, var: float) -> tuple[int, float, float]:
        return n, n * mean, var * (n - 1) + n * mean * mean

    exp = stub(ExperimentDesign())
    seen, replaced = set(), 0
    for mt in np.linspace(0.4, 1.8, 36):
        for vt in (0.25, 4.0, 16.0):
            arms = {LAT: {"control": arm(200, 1.0, 4.0), "test": arm(150, float(mt), vt)}}
            row = _treatment(result(exp, arms, alternative=alternative), LAT)
            if math.isnan(row.rel_ci_low):
                continue
            excludes = not row.rel_ci_low <= 0 <= row.rel_ci_high
            assert excludes == (row.p_value < 0.05), (mt, vt, row)
            assert row.rel_ci_low <= row.rel_diff <= row.rel_ci_high
            seen.add(excludes)
            replaced += "Fieller" in (row.note or "")
    assert seen == {True, False} and replaced > 0


def test_an_unbounded_fixed_horizon_fieller_set_is_withheld() -> None:
    # control mean 0.1 within 1 SE of 0, test 1.0: the test rejects (p < 1e-10) while the
    # delta-method CI crosses 0; the lifts the test does not reject are unbounded, so no
    # relative interval, with the reason
    from decision._sim import result, stub

    from promptab_nb import plots
    from promptab_nb.decision import ExperimentDesign

    def arm(n: int, mean: float, var: float) -> tuple[int, float, float]:
        return n, n * mean, var * (n - 1) + n * mean * mean

    arms = {LAT: {"control": arm(100, 0.1, 1.0), "test": arm(100, 1.0, 0.01)}}
    res = result(stub(ExperimentDesign()), arms)
    row = _treatment(res, LAT)
    assert row.p_value < 1e-10 and row.rel_diff == pytest.approx(9.0)
    assert math.isnan(row.rel_ci_low) and math.isnan(row.rel_ci_high)
    assert "no relative CI" in row.note and "control mean from 0" in row.note
    labels = [t.get_text() for ax in plots.forest(res).axes for t in ax.texts]
    assert any("(no interval)" in t for t in labels), labels


def test_a_fieller_interval_is_not_read_as_a_log_ratio_by_the_decision() -> None:
    # The Fieller interval is lopsided around the estimate, as a log-ratio CI is: the decision
    # read the row's linear delta-method rel_se as a log-ratio SE (relative guardrail margins,
    # planned sample) once the sample's error_rate CI was replaced.
    from promptab_nb import stats as st
    from promptab_nb.decision._tests import _log_scale

    arms = {
        "control": st.RatioStats(569, 20.0, 24.0, 1172.0, 4274.0, 87.0),
        "test": st.RatioStats(559, 36.0, 36.0, 1212.0, 4890.0, 116.0),
    }
    row = _treatment(_ratio_result(arms), "error_rate")
    assert "Fieller" in row.note
    assert (row.rel_ci_high - row.rel_diff) > 1.5 * (row.rel_diff - row.rel_ci_low)  # lopsided
    assert not _log_scale(row)


@pytest.mark.parametrize(
    ("opts", "metrics"),
    [
        ({}, ["cost", LAT, "error_rate", "latency_p95"]),
        ({"unit": "request"}, ["cost", LAT, "error_rate", "latency_p95"]),
        ({"cuped": 7}, ["cost", LAT, "error_rate"]),
    ],
)
def test_an_arm_of_one_unit_shows_its_mean(tmp_path, opts, metrics) -> None:
    # One observation has a mean; only its CI and the test cannot be computed. The arm showed
    # "–" for the mean (NaN in to_pandas), as if nothing had been measured.
    ws, exp = workspace(tmp_path, {
        "control": [[{LAT: 1.0 + 0.01 * i, "cost": 0.01}] for i in range(60)],
        "test": [[{LAT: 2.5, "cost": 0.02, "error": True}]],
        "solo": [[{LAT: 3.0, "cost": None}]],  # its only generation unpriced: no mean
    })  # fmt: skip
    res = exp.analyze(metrics, **opts)
    want = {"cost": 0.02, LAT: 2.5, "error_rate": 1.0, "latency_p95": 2.5}
    for m in metrics:
        row = next(r for r in res.rows if r.metric == m and r.variant == "test")
        assert row.n == 1 and row.mean == pytest.approx(want[m]), m
        assert math.isnan(row.mean_ci_low) and math.isnan(row.p_value) and not row.significant
        assert "not enough units" in row.note
        solo = next(r for r in res.rows if r.metric == m and r.variant == "solo")
        assert math.isnan(solo.mean) == (m == "cost"), m
    assert "2.50 s" in str(res) and "2.50 s" in res.to_markdown()
    df = res.to_pandas()
    assert df.loc[(df.metric == LAT) & (df.variant == "test"), "mean"].item() == 2.5
    ws.close()


def test_a_zero_baseline_note_does_not_promise_an_absolute_difference_that_is_not_there(
    tmp_path,
) -> None:
    # A treatment with no generation has no error rate; the control's 0 % added "baseline is 0
    # in control: the relative lift is undefined (absolute shown)" to a row with no difference.
    ws, exp = workspace(tmp_path, {
        "control": [[{LAT: 1.0}, {LAT: 1.1}] for _ in range(60)],
        "test": [[] for _ in range(60)],
    })  # fmt: skip
    row = _treatment(exp.analyze(["error_rate"]), "error_rate")
    assert math.isnan(row.diff) and "den_total == 0" in row.note
    assert "absolute shown" not in row.note, row.note
    ws.close()


def test_a_one_sided_alternative_under_sequential_says_the_test_is_two_sided(tmp_path) -> None:
    # alternative={"latency": "greater"} with sequential=True: the methods said "one-sided,
    # H1: treatment > control" beside the always-valid p-value, which stays two-sided.
    rng = np.random.default_rng(4)
    ws, exp = workspace(tmp_path, {
        arm: [[{LAT: float(rng.lognormal()) * s}] for _ in range(60)]
        for arm, s in (("control", 1.0), ("test", 1.2))
    })  # fmt: skip
    alt = {LAT: "greater"}
    seq = exp.analyze([LAT], alternative=alt, sequential=True)
    (line,) = [m for m in seq.methods if m.startswith(f"{LAT}:")]
    assert "sequential test is two-sided" in line and "H1: treatment > control" in line, line
    fixed = exp.analyze([LAT], alternative=alt)
    (line,) = [m for m in fixed.methods if m.startswith(f"{LAT}:")]
    assert line.endswith("one-sided, H1: treatment > control"), line
    ws.close()


def test_a_window_that_excludes_every_unit_is_an_error_flag(tmp_path) -> None:
    # start after the data: every arm 0 units, every row "not enough units to compare", and
    # nothing said that the window, not the experiment, held no unit.
    ws, exp = workspace(tmp_path, {"control": [[{LAT: 1.0}]] * 60, "test": [[{LAT: 1.2}]] * 60})
    from promptab_nb import analysis

    late = (exp.analyze([LAT], start="2030-01-01").health, analysis.health(exp, start="2030-01-01"))
    for h in late:
        flag = next(f for f in h.flags if f.code == "no_units")
        assert flag.severity == "error" and not h.ok
        assert "2030-01-01" in flag.message and "start" in flag.message, flag.message
    assert not exp.analyze([LAT]).health.has("no_units")
    ws.close()


def test_a_prior_without_the_bayesian_method_is_said_to_be_unused(tmp_path) -> None:
    # exp.analyze(prior=GaussianPrior(...)) without method="bayesian" ran the frequentist tests
    # and nothing said that the prior had been ignored.
    from promptab_nb.stats import GaussianPrior

    ws, exp = workspace(tmp_path, {"control": [[{LAT: 1.0}]] * 3, "test": [[{LAT: 1.2}]] * 3})
    res = exp.analyze([LAT], prior=GaussianPrior(0.0, 0.01))
    assert any("prior is not used" in m and "method='bayesian'" in m for m in res.methods)
    bayes = exp.analyze([LAT], prior=GaussianPrior(0.0, 0.01), method="bayesian")
    assert not any("prior is not used" in m for m in bayes.methods)
    ws.close()


def test_a_one_sided_alternative_under_bayesian_says_the_verdict_ignores_it(tmp_path) -> None:
    # alternative="less", method="bayesian": the sample's pass_rate showed p = 0.999 (one-sided,
    # H1: treatment < control) beside "test probably raises ... — better" (significant, from the
    # chance to be better in either direction), and the methods said only "one-sided, H1:
    # treatment < control".
    rng = np.random.default_rng(4)
    ws, exp = workspace(tmp_path, {
        arm: [[{LAT: float(rng.lognormal()) * s}] for _ in range(60)]
        for arm, s in (("control", 1.0), ("test", 1.2))
    })  # fmt: skip
    res = exp.analyze([LAT], alternative="less", method="bayesian")
    (line,) = [m for m in res.methods if m.startswith(f"{LAT}:")]
    assert "H1: treatment < control" in line and "Bayesian verdict" in line, line
    ws.close()


def test_an_unknown_variant_that_differs_only_in_case_is_named_as_the_likely_arm() -> None:
    # Exposures logged as "Test" (60 units) were ignored as an unknown variant while the
    # experiment's "test" arm sat empty; the health said only "'Test' (60)".
    h = _build.health(_exp(), {"control": 60, "Test": 60, "other ": 3}, 0, "exclude")
    flag = next(f for f in h.flags if f.code == "unknown_variants")
    assert "'Test' (60; the experiment's variant 'test' differs only in case" in flag.message
    assert "'other ' (3)" in flag.message


def test_a_user_assigned_experiment_analysed_per_request_warns(tmp_path) -> None:
    # analyze(unit="request") on arms assigned per user (flag exposures) tests each generation
    # as independent, which the README calls right only when requests were randomised; only
    # the methods said "(ignores clustering by user)", the health check nothing.
    ws, exp = workspace(tmp_path, {"control": [[{LAT: 1.0}, {LAT: 1.1}]] * 60,
                                   "test": [[{LAT: 1.2}, {LAT: 1.0}]] * 60})  # fmt: skip
    per_request = exp.analyze([LAT], unit="request").health
    flag = next(f for f in per_request.flags if f.code == "request_unit")
    assert flag.severity == "warning" and "unit='user'" in flag.message
    assert not exp.analyze([LAT]).health.has("request_unit")
    exp.stop()
    by_request = ws.create_experiment("r", "support", {"control": "1", "test": "2"},
                                      assigned_by="version", unit="request")  # fmt: skip
    assert not by_request.analyze([LAT]).health.has("request_unit")
    ws.close()


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_fieller_lift_with_a_treatment_without_variance_has_no_division_by_zero(
    alternative,
) -> None:
    # A day where every evaluation of a treatment passed (its SE 0) put a root of the Fieller
    # quadratic at 0; probing past it at lift -1 (ratio 0) divided by a zero SE, and
    # analyze_over_time('pass_rate') of a 10-arm experiment raised ZeroDivisionError.
    from promptab_nb.analysis._relative import _relative_fieller

    crit = 1.96
    b = 0.01  # control's squared SE; treatment's is 0
    diff = crit * math.sqrt(b)  # the difference sits on the boundary: a root at lift 0
    lo, hi = _relative_fieller(0.5, 0.5 + diff, 0.0, b, crit, alternative)
    for end in (lo, hi):
        assert not math.isnan(end)
    # both arms without variance and no difference: the lift is exactly 0
    assert _relative_fieller(0.5, 0.5, 0.0, 0.0, crit, "two-sided") == (0.0, 0.0)
