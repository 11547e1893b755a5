"""Data-driven planning: equal to tea-tasting's solve_power for means, ratios and CUPED."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import promptab_nb as pab
from promptab_nb.errors import InvalidArgumentError
from promptab_nb.planning import DataPlan
from promptab_nb.stats.planning import t_mde, t_power, t_sample_size

tt = pytest.importorskip("tea_tasting")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    u = rng.gamma(2.0, 1.0, size=3000)
    den, den_pre = 1 + rng.poisson(3 * u), 1 + rng.poisson(3 * u)
    p = np.clip(0.05 + 0.03 * u, 0, 0.9)
    return pd.DataFrame(
        {
            "cost": rng.gamma(2, 0.01, size=3000) * u,
            "cost_pre": rng.gamma(2, 0.01, size=3000) * u,
            "errors": rng.binomial(den, p),
            "requests": den,
            "errors_pre": rng.binomial(den_pre, p),
            "requests_pre": den_pre,
        }
    )


CASES = [
    ("mean", "cost", None, lambda **k: tt.Mean("cost", **k)),
    ("mean cuped", "cost", "cost_pre", lambda **k: tt.Mean("cost", "cost_pre", **k)),
    ("ratio", ("errors", "requests"), None, lambda **k: tt.RatioOfMeans("errors", "requests", **k)),
    (
        "ratio cuped",
        ("errors", "requests"),
        ("errors_pre", "requests_pre"),
        lambda **k: tt.RatioOfMeans("errors", "requests", "errors_pre", "requests_pre", **k),
    ),
]


@pytest.mark.parametrize(("name", "metric", "cov", "ref"), CASES, ids=[c[0] for c in CASES])
def test_plan_from_data_equals_tea_tasting(frame, name, metric, cov, ref) -> None:
    # Sample size for a +5 % lift, and the MDE of 3,000 units.
    got = pab.plan(from_data=frame, metric=metric, covariate=cov, mde=0.05)
    want = ref(rel_effect_size=0.05).solve_power(frame, "n_obs")[0]
    assert isinstance(got, DataPlan)
    assert got.n_total == want.n_obs
    got = pab.plan(from_data=frame, metric=metric, covariate=cov, n=3000)
    want = ref().solve_power(frame, "rel_effect_size")[0]
    assert got.mde == pytest.approx(want.effect_size, rel=1e-6)
    assert got.mde_rel == pytest.approx(want.rel_effect_size, rel=1e-6)
    # Power at a given effect, through the stats function on the plan's variance.
    want = ref(rel_effect_size=0.1).solve_power(frame, "power")[0]
    power = t_power(got.sd**2, 3000, 0.1 * got.mean)
    assert power == pytest.approx(want.power, rel=1e-6)


def test_cuped_variance_plans_fewer_units(frame) -> None:
    raw = pab.plan(from_data=frame, metric=("errors", "requests"), mde=0.1)
    adj = pab.plan(
        from_data=frame, metric=("errors", "requests"), covariate=("errors_pre", "requests_pre"),
        mde=0.1,
    )  # fmt: skip
    assert adj.n_total < raw.n_total and "CUPED" in adj.source


def test_power_functions_invert_each_other() -> None:
    n = t_sample_size(2.0, 0.1, power=0.9)
    assert t_power(2.0, n, 0.1) == pytest.approx(0.9, rel=1e-9)
    assert t_mde(2.0, n, power=0.9) == pytest.approx(0.1, rel=1e-8)
    assert t_mde(2.0, n, power=0.9, alternative="less") < 0


def test_plan_from_experiment_uses_the_control_arms_test_variance(loaded) -> None:
    _, exp = loaded
    # Every exposed control user is a unit of the ratio (those without requests add 0 / 0).
    units = exp.units()
    values = exp.unit_values("error_rate").set_index("unit")[["num", "den"]]
    control = units[units.variant == "control"].set_index("unit").join(values).fillna(0)
    got = pab.plan(from_experiment=exp, metric="error_rate", mde=0.2, daily_units=100)
    want = pab.plan(from_data=control, metric=("num", "den"), mde=0.2)
    assert got.n_total == want.n_total and got.days == -(-got.n_total // 100)
    assert "arm control" in got.source and "units" in repr(got) and "<table" in got._repr_html_()


def test_exp_mde_for_the_units_so_far(loaded) -> None:
    _, exp = loaded
    plans = exp.mde(["cost", "error_rate", "latency_p95"])
    assert [p.metric for p in plans] == ["cost", "error_rate", "latency_p95"]
    units = exp.units()
    n = int(units.variant.isin(["control", "test"]).sum())
    assert plans[0].n_total == n and plans[0].mde > 0
    assert exp.mde(["cost"], cuped=True)[0].sd <= plans[0].sd * (1 + 1e-9)


def test_plan_inputs(frame) -> None:
    assert pab.plan(0.12, mde=0.10, daily_units=2000).days == 13  # the textbook planner
    with pytest.raises(InvalidArgumentError, match="not both"):
        pab.plan(from_data=frame, from_experiment=object(), metric="cost", mde=0.1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="no column 'nope'"):
        pab.plan(from_data=frame, metric="nope", mde=0.1)
    with pytest.raises(InvalidArgumentError, match="give mde="):
        pab.plan(from_data=frame, metric="cost")
    # a fraction of a unit was cut off after the check (3.5 read "n_total == 3, must be > 3";
    # 1000.7 planned 1000 without a word)
    for n in (3.5, 1000.7):
        with pytest.raises(InvalidArgumentError, match="whole number of units"):
            pab.plan(from_data=frame, metric="cost", n=n)
    assert pab.plan(from_data=frame, metric="cost", n=1000.0).n_total == 1000
    # too few rows, or a ratio of a zero denominator, said "the per-unit variance is nan" with
    # numpy's RuntimeWarnings
    for few in (frame.head(1), frame.head(0)):
        with pytest.raises(InvalidArgumentError, match="needs at least 2 units"):
            pab.plan(from_data=few, metric="cost", mde=0.05)
    zero = frame.assign(den=0.0)
    with pytest.raises(InvalidArgumentError, match="'den' sums to 0"):
        pab.plan(from_data=zero, metric=("cost", "den"), mde=0.05)


def test_plan_from_data_sign_conflicts_and_limits(frame) -> None:
    with pytest.raises(InvalidArgumentError, match="alternative == 'less' tests for a decrease"):
        pab.plan(from_data=frame, metric="cost", mde=0.1, alternative="less")
    with pytest.raises(InvalidArgumentError, match="mde=0.1 or alternative='less'"):
        pab.plan(from_data=frame, metric="cost", mde=-0.1, alternative="greater")
    with pytest.raises(InvalidArgumentError, match="mde == inf"):
        pab.plan(from_data=frame, metric="cost", mde=np.inf)
    with pytest.raises(InvalidArgumentError, match="daily_units == inf"):
        pab.plan(from_data=frame, metric="cost", mde=0.1, daily_units=np.inf)
    with pytest.raises(InvalidArgumentError, match="n == inf"):
        pab.plan(from_data=frame, metric="cost", n=np.inf)  # type: ignore[arg-type]
    less = pab.plan(from_data=frame, metric="cost", mde=-0.1, alternative="less")
    assert isinstance(less, DataPlan) and less.mde < 0 and less.note is None
    # even 2 units per arm reach the power: the minimum, with a note, not a solver error
    for kw in ({"mde": 100.0}, {"mde": 0.1, "power": 0.01}):
        p = pab.plan(from_data=frame, metric="cost", **kw)  # type: ignore[arg-type]
        assert isinstance(p, DataPlan) and p.n_total == 4
        assert p.note and "smallest sample" in p.note and "smallest sample" in repr(p)


def test_plan_from_data_nan_rows_are_named() -> None:
    f = pd.DataFrame({"c": [1, 2, np.nan, 4, 5] * 20})
    with pytest.raises(InvalidArgumentError, match=r"column 'c' has 20 NaN .* of 100.*dropna"):
        pab.plan(from_data=f, metric="c", mde=0.1)
    p = pab.plan(from_data=f.dropna(), metric="c", mde=0.1)
    assert isinstance(p, DataPlan) and p.source.startswith("data (80 units")


def test_plan_refuses_arguments_it_cannot_use(frame) -> None:
    for kw, name in [
        ({"n": 1000}, "n needs from_data"),
        ({"covariate": "pre", "cuped": True}, "covariate, cuped need"),
        ({"metric": "cost"}, "metric needs"),
    ]:
        with pytest.raises(InvalidArgumentError, match=name):
            pab.plan(1.9, sd=0.9, mde=0.1, daily_units=80, **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="sd, split, arms are not used"):
        pab.plan(from_data=frame, metric="cost", mde=0.1, split=0.2, arms=3, sd=5)
    with pytest.raises(InvalidArgumentError, match="kind is not used"):
        pab.plan(from_data=frame, metric="cost", mde=0.1, kind="mean")
    # the textbook path honours the alternative: equal to sample_size / statsmodels
    one = pab.plan(1.9, sd=0.9, mde=0.10, daily_units=80, alternative="greater")
    ref = pab.stats.sample_size(1.9, sd=0.9, mde=0.1, relative=True, alternative="greater")
    assert one.n_total == ref.n_total == 558


def test_plan_from_data_one_sided_matches_statsmodels(frame) -> None:
    from statsmodels.stats.power import TTestIndPower

    p = pab.plan(from_data=frame, metric="cost", mde=0.05, alternative="greater")
    assert isinstance(p, DataPlan)
    n = TTestIndPower().solve_power(p.mde / p.sd, alpha=0.05, power=0.8, alternative="larger")
    assert p.n_total == pytest.approx(2 * n, abs=2)


def test_exp_mde_with_several_treatments_counts_one_comparison(monkeypatch) -> None:
    # Three arms of 100 units: each comparison with control holds 200 units, not 300 (the
    # MDE was that of 300 units, 18 % too small).
    from types import SimpleNamespace

    import promptab_nb.analysis.estimators as estimators
    from promptab_nb.planning import experiment_plans
    from promptab_nb.stats import MeanStats

    arm = MeanStats.from_moments(100, 2.0, 1.0)
    small = MeanStats.from_moments(60, 2.0, 1.0)
    moments = {"cost": {"control": arm, "a": arm, "b": small}}
    monkeypatch.setattr(estimators, "arm_moments", lambda exp, opts: moments)
    exp = SimpleNamespace(
        name="three", control="control", variants={"control": "1", "a": "2", "b": "3"}
    )
    got = experiment_plans(exp, ["cost"])[0]  # type: ignore[arg-type]
    assert got.n_total == 160  # control and its smallest treatment: the largest MDE
    # of 100 and 60 units as they are (not two arms of 80)
    assert got.mde == pytest.approx(t_mde(1.0, 160, ratio=0.6), rel=1e-12)
    got = experiment_plans(exp, ["cost"], arm="a")[0]  # type: ignore[arg-type]
    assert got.n_total == 200  # arm a against control
    assert got.mde == pytest.approx(t_mde(1.0, 200), rel=1e-12) and got.arms is None


def test_plan_from_an_unknown_arm_names_the_arms(loaded) -> None:
    # It said "arm 'tset' has fewer than 2 units with a value ... nothing to plan from".
    _, exp = loaded
    with pytest.raises(InvalidArgumentError, match=r"arm == 'tset'.*'control', 'test'.*'test'\?"):
        pab.plan(from_experiment=exp, metric="cost", mde=0.1, arm="tset")


def test_plan_a_relative_mde_of_a_zero_mean() -> None:
    # It said "mde == 0.05: the effect to detect is 0"; the MDE of n units printed "(+nan%)".
    f = pd.DataFrame({"delta": [-1.0, 1.0, -2.0, 2.0]})
    with pytest.raises(InvalidArgumentError, match=r"mean of delta is 0.*relative=False"):
        pab.plan(from_data=f, metric="delta", mde=0.05)
    got = pab.plan(from_data=f, metric="delta", mde=0.5, relative=False)
    assert isinstance(got, DataPlan) and "nan" not in repr(got) and got.mde == 0.5
    got = pab.plan(from_data=f, metric="delta", n=100)
    assert "nan" not in repr(got).lower() and "nan" not in got._repr_html_().lower()


def test_plan_from_data_malformed_inputs_are_named(frame) -> None:
    # These raised numpy/pandas/Python errors ("too many values to unpack", "'dict' object has
    # no attribute 'columns'", "could not convert string to float: 'a'"), and mde= with n=
    # silently planned the mde and dropped n.
    cases = [
        ({"metric": ("errors", "requests", "cost")}, r"metric == \('errors'.*\(num, den\) pair"),
        ({"metric": ("errors",)}, r"metric == \('errors',\).*\(num, den\) pair"),
        (
            {"metric": ("errors", "requests"), "covariate": ("errors_pre",)},
            r"covariate == \('errors_pre',\).*\(num_pre, den_pre\) pair",
        ),
        ({"metric": "cost", "from_data": [1.0, 2.0, 3.0]}, r"from_data.*list.*DataFrame"),
        ({"metric": "cost", "n": 1000}, r"mde == 0.05 and n == 1000: give mde=.*not both"),
        (
            {"metric": "label", "from_data": frame.assign(label="a")},
            r"column 'label' is not numeric",
        ),
    ]
    for kw, msg in cases:
        args = {"from_data": frame, "mde": 0.05, **kw}
        with pytest.raises(InvalidArgumentError, match=msg):
            pab.plan(**args)  # type: ignore[arg-type]
    # a dict of columns is a frame
    got = pab.plan(from_data={"cost": list(frame["cost"])}, metric="cost", mde=0.05)
    assert got.n_total == pab.plan(from_data=frame, metric="cost", mde=0.05).n_total


def test_exp_mde_of_one_metric_name_and_of_the_experiments_metrics(loaded, monkeypatch) -> None:
    # exp.mde("cost") said "unknown metric 'c'" (the name was split into letters), and
    # exp.mde() planned cost, latency, error_rate and pass_rate while the moments were read for
    # the experiment's own metrics, so any other default was "fewer than 2 units".
    from types import SimpleNamespace

    from promptab_nb import planning
    from promptab_nb.planning import experiment_plans
    from promptab_nb.stats import MeanStats

    _, exp = loaded
    one = exp.mde("cost")
    assert [p.metric for p in one] == ["cost"] and one[0].mde == exp.mde(["cost"])[0].mde
    arm = MeanStats.from_moments(100, 2.0, 1.0)
    moments = {"cost": {"control": arm, "b": arm}, "latency_p95": {"control": arm, "b": arm}}
    monkeypatch.setattr(planning, "_arm_moments", lambda exp, opts: moments)
    own = SimpleNamespace(
        name="own", control="control", variants={"control": "1", "b": "2"},
        metrics=("cost", "latency_p95"),
    )  # fmt: skip
    got = experiment_plans(own, None)  # type: ignore[arg-type]
    assert [p.metric for p in got] == ["cost", "latency_p95"]


def test_exp_mde_of_unequal_arms_is_that_of_the_arms_as_they_are(monkeypatch) -> None:
    # 1,000 control units against 100 treatment units were planned as two arms of 550: an MDE
    # of 0.169 where Welch's t on 1,000 vs 100 units needs 0.295 (statsmodels). A control
    # without any treatment unit gave the MDE of its units split in two, as if they were both
    # arms; with 3 such units it said "n (units over both arms) == 3", an argument not given.
    from types import SimpleNamespace

    from statsmodels.stats.power import TTestIndPower

    import promptab_nb.analysis.estimators as estimators
    from promptab_nb.planning import experiment_plans
    from promptab_nb.stats import MeanStats

    moments: dict = {
        "cost": {
            "control": MeanStats.from_moments(1000, 2.0, 1.0),
            "b": MeanStats.from_moments(100, 2.0, 1.0),
        }
    }
    monkeypatch.setattr(estimators, "arm_moments", lambda exp, opts: moments)
    exp = SimpleNamespace(name="e", control="control", variants={"control": "1", "b": "2"})
    # statsmodels' pooled t (df 1,098) is within 1 % of Welch's (df 120); Welch's power is
    # checked with scipy's noncentral t
    ref = TTestIndPower().solve_power(nobs1=1000, ratio=0.1, alpha=0.05, power=0.8)
    se = math.sqrt(1 / 1000 + 1 / 100)
    df = se**4 / ((1 / 1000) ** 2 / 999 + (1 / 100) ** 2 / 99)
    crit = scipy.stats.t.ppf(0.975, df)
    for arm in (None, "b"):
        got = experiment_plans(exp, ["cost"], arm=arm)[0]  # type: ignore[arg-type]
        assert got.n_total == 1100
        assert got.mde == pytest.approx(ref, rel=1e-2)
        nc = got.mde / se
        reached = scipy.stats.nct.sf(crit, df, nc) + scipy.stats.nct.cdf(-crit, df, nc)
        assert reached == pytest.approx(0.8, abs=1e-9)
        assert "1,000" in repr(got) and "100" in repr(got) and "550" not in repr(got)
    for n in (3, 100):
        moments["cost"] = {"control": MeanStats.from_moments(n, 2.0, 1.0)}
        with pytest.raises(InvalidArgumentError, match=r"cost: no treatment arm has units.*n="):
            experiment_plans(exp, ["cost"])  # type: ignore[arg-type]


def test_plan_with_a_covariate_that_is_the_metric_says_so(frame) -> None:
    # It said "cost: the per-unit variance is 0.0; nothing to plan", as for a constant column.
    with pytest.raises(InvalidArgumentError, match=r"covariate 'cost' predicts cost exactly"):
        pab.plan(from_data=frame, metric="cost", covariate="cost", mde=0.05)
    with pytest.raises(InvalidArgumentError, match=r"covariate \('errors', 'requests'\) predicts"):
        pab.plan(from_data=frame, metric=("errors", "requests"),
                 covariate=("errors", "requests"), mde=0.05)  # fmt: skip


def test_a_quantile_is_planned_in_users_not_requests(loaded) -> None:
    # latency_p95 per user: the analysis counts the users of each arm, but the plan counted the
    # requests (the quantile's sample) as units, with the per-request variance: on the sample,
    # "5,338 units (2,669 per arm, 54 days)" from "arm control (1,172 units)" where the
    # control has 448 users, so at 100 users a day the days were 2.6 times too many
    from promptab_nb.analysis.estimators import arm_moments
    from promptab_nb.options import AnalysisOptions

    _, exp = loaded
    rows = exp.analyze(["latency_p95"]).to_pandas().set_index("variant")
    users = rows.n.to_dict()
    got = pab.plan(from_experiment=exp, metric="latency_p95", mde=0.1, daily_units=100)
    assert f"({users['control']:,} units)" in got.source
    assert got.days == -(-got.n_total // 100)
    # the SE is the clustered one the test uses (per request: variance / requests; per user:
    # variance / users), so the MDE of the units as they are does not change
    events = arm_moments(exp, AnalysisOptions(metrics=["latency_p95"]))["latency_p95"]["control"]
    assert events.n > users["control"]  # (requests)
    assert got.sd**2 / users["control"] == pytest.approx(events.var / events.n, rel=1e-12)
    (mde,) = exp.mde("latency_p95")
    assert mde.n_total == users["control"] + users["test"]
    # the experiment's own metrics (exp.mde() with none given) are counted in users too
    ws, _ = loaded
    own = ws.create_experiment("p95", None, dict(exp.variants), flag_key=exp.flag_key,
                               metrics=["latency_p95"])  # fmt: skip
    assert [p.n_total for p in own.mde()] == [mde.n_total]


def test_plan_front_end_names_a_mean_without_sd_and_a_wrong_experiment() -> None:
    # pab.plan(2.0, mde=0.1, daily_units=100) said "baseline == 2.0, must be < 1": without sd=
    # the baseline is read as a rate, which the message did not say
    with pytest.raises(InvalidArgumentError, match=r"baseline == 2.0 is not a rate.*sd="):
        pab.plan(2.0, mde=0.1, daily_units=100)
    with pytest.raises(InvalidArgumentError, match=r"baseline == 0 is not a rate.*sd="):
        pab.plan(0, mde=0.1, daily_units=100)
    assert pab.plan(2.0, mde=0.1, daily_units=100, sd=1).n_total > 0
    # a name instead of the experiment was Python's "'str' object has no attribute 'ws'"
    with pytest.raises(InvalidArgumentError, match=r"from_experiment == 'exp'.*ws.experiment"):
        pab.plan(from_experiment="exp", metric="cost", mde=0.1)  # type: ignore[arg-type]


def test_a_ratio_planned_from_large_values_keeps_its_variance() -> None:
    # Raw sums of squares lose ~(mean/sd)² of the variance: at 1e6 ± 1 per unit the ratio's
    # variance was off by ~1e-4 (its sd 0.99996 vs 1.00001). With a denominator of 1 per unit
    # the ratio is the mean, whose variance numpy computes centred.
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"num": 1e6 + rng.normal(0, 1, 5000), "den": np.ones(5000)})
    ratio = pab.plan(from_data=frame, metric=("num", "den"), mde=0.1)
    mean = pab.plan(from_data=frame, metric="num", mde=0.1)
    assert ratio.sd == pytest.approx(mean.sd, rel=1e-9)
    assert ratio.sd == pytest.approx(frame["num"].std(ddof=1), rel=1e-9)
