"""Analysis SQL against a plain pandas computation, and the tests against scipy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from _events import FLAG, evaluation, expo, gen, synthetic_events, unpriced_generations, write

import promptab_nb as pab


def pandas_per_user(events: list[dict]) -> dict[str, pd.DataFrame]:
    """The exposure rules written naively in pandas, as the reference."""
    df = pd.DataFrame(events)
    df["props"] = df["properties"]
    ex = df[(df.event == "$feature_flag_called")].copy()
    ex["flag"] = ex.props.map(lambda p: p["$feature_flag"])
    ex["variant"] = ex.props.map(lambda p: p["$feature_flag_response"])
    ex = ex[ex.flag == FLAG]
    first = ex.groupby("distinct_id").agg(
        first_ts=("timestamp", "min"), nv=("variant", "nunique"), variant=("variant", "first")
    )
    first = first[first.nv == 1]
    g = df[df.event == "$ai_generation"].copy()
    g["cost"] = g.props.map(lambda p: p.get("$ai_total_cost_usd"))
    g["lat"] = g.props.map(lambda p: p.get("$ai_latency"))
    g["err"] = g.props.map(lambda p: bool(p.get("$ai_is_error", False)))
    g = g.merge(first, left_on="distinct_id", right_index=True)
    g = g[g.timestamp >= g.first_ts]
    per = first[["variant"]].copy()
    per["cost"] = g.groupby("distinct_id").cost.sum().reindex(per.index).fillna(0.0)
    per["lat"] = g.groupby("distinct_id").lat.mean().reindex(per.index)
    per["err_n"] = g.groupby("distinct_id").err.sum().reindex(per.index).fillna(0)
    per["gen_n"] = g.groupby("distinct_id").err.count().reindex(per.index).fillna(0)
    e = df[df.event == "$ai_evaluation"].copy()
    e["target"] = e.props.map(lambda p: p["$ai_target_event_id"])
    e["applicable"] = e.props.map(lambda p: p.get("$ai_evaluation_applicable", True))
    e["passed"] = e.props.map(lambda p: bool(p["$ai_evaluation_result"]))
    e = e[e.applicable].merge(
        g[["uuid", "distinct_id"]].rename(columns={"distinct_id": "u"}),
        left_on="target",
        right_on="uuid",
    )
    per["pass_n"] = e.groupby("u").passed.sum().reindex(per.index).fillna(0)
    per["eval_n"] = e.groupby("u").passed.count().reindex(per.index).fillna(0)
    return {"per_user": per, "generations": g, "evaluations": e}


@pytest.fixture(scope="module")
def reference():
    return pandas_per_user(synthetic_events())


def test_per_user_values_equal_pandas(loaded, reference) -> None:
    _, exp = loaded
    per = reference["per_user"]
    cost = exp.unit_values("cost").set_index("unit")
    assert set(cost.index) == set(per.index)
    np.testing.assert_allclose(cost["value"], per.loc[cost.index, "cost"], rtol=1e-12)
    lat = exp.unit_values("latency").set_index("unit")
    ref_lat = per["lat"].dropna()
    assert set(lat.index) == set(ref_lat.index)
    np.testing.assert_allclose(lat["value"], ref_lat.loc[lat.index], rtol=1e-12)
    err = exp.unit_values("error_rate").set_index("unit")
    np.testing.assert_array_equal(err["num"], per.loc[err.index, "err_n"])
    np.testing.assert_array_equal(err["den"], per.loc[err.index, "gen_n"])
    ps = exp.unit_values("pass_rate").set_index("unit")
    np.testing.assert_array_equal(ps["num"], per.loc[ps.index, "pass_n"])
    np.testing.assert_array_equal(ps["den"], per.loc[ps.index, "eval_n"])


def test_welch_matches_scipy(loaded, reference) -> None:
    _, exp = loaded
    per = reference["per_user"]
    df = exp.analyze(["cost", "latency"], relative=True).to_pandas()
    for metric, col in (("cost", "cost"), ("latency", "lat")):
        a = per.loc[per.variant == "control", col].dropna()
        b = per.loc[per.variant == "test", col].dropna()
        ref = scipy.stats.ttest_ind(b, a, equal_var=False)
        row = df[(df.metric == metric) & (df.variant == "test")].iloc[0]
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        ci = ref.confidence_interval(0.95)
        assert row["diff"] == pytest.approx(b.mean() - a.mean(), rel=1e-9)
        assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
            (ci.low, ci.high), rel=1e-9
        )
        assert row.test == "welch" and row.n == len(b)
        ctrl = df[(df.metric == metric) & (df.variant == "control")].iloc[0]
        lo, hi = scipy.stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=scipy.stats.sem(a))
        assert (ctrl.mean_ci_low, ctrl.mean_ci_high) == pytest.approx((lo, hi), rel=1e-9)
        # relative lift: delta method around the ratio of means
        assert row.rel_diff == pytest.approx(b.mean() / a.mean() - 1, rel=1e-9)


def test_fisher_matches_scipy_per_request(loaded, reference) -> None:
    _, exp = loaded
    g = reference["generations"]
    df = exp.analyze(["error_rate", "pass_rate"], unit="request").to_pandas()
    tables = {
        "error_rate": g.groupby("variant").err.agg(["sum", "count"]),
        "pass_rate": reference["evaluations"]
        .merge(reference["per_user"][["variant"]], left_on="u", right_index=True)
        .groupby("variant")
        .passed.agg(["sum", "count"]),
    }
    for metric, t in tables.items():
        table = [
            [t.loc["test", "sum"], t.loc["test", "count"] - t.loc["test", "sum"]],
            [t.loc["control", "sum"], t.loc["control", "count"] - t.loc["control", "sum"]],
        ]
        ref = scipy.stats.fisher_exact(table)
        row = df[(df.metric == metric) & (df.variant == "test")].iloc[0]
        assert row.test == "fisher exact"
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert row.n == t.loc["test", "count"]


def test_ratio_metric_is_the_ratio_of_sums(loaded, reference) -> None:
    _, exp = loaded
    per = reference["per_user"]
    df = exp.analyze(["error_rate"]).to_pandas().set_index("variant")
    for v in ("control", "test"):
        s = per[per.variant == v]
        assert df.loc[v, "mean"] == pytest.approx(s.err_n.sum() / s.gen_n.sum(), rel=1e-12)
    assert df.loc["test", "test"] == "ratio delta method"


def test_result_frame_columns_and_render(loaded) -> None:
    _, exp = loaded
    res = exp.analyze()
    df = res.to_pandas()
    assert list(df.columns) == [
        "metric",
        "variant",
        "is_control",
        "n",
        "mean",
        "mean_ci_low",
        "mean_ci_high",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "rel_diff",
        "rel_ci_low",
        "rel_ci_high",
        "p_value",
        "test",
        "significant",
        "chance_to_win",  # the direction-aware chance to be better, in every mode
    ]
    assert len(df) == 8 and df.loc[df.is_control, "diff"].isna().all()
    pl_df = res.to_polars()
    assert pl_df.shape == df.shape
    html = res._repr_html_()
    assert "cost per user" in html and "SRM" in html and "$multiple" in html
    text = repr(res)
    assert "health" in text and "p =" in text or "p <" in text
    md = res.to_markdown()
    assert md.startswith("### Experiment") and "| cost |" in md


def test_bayesian_and_options(loaded) -> None:
    _, exp = loaded
    res = exp.analyze(["cost", "latency"], method="bayesian")
    df = res.to_pandas()
    assert {"chance_to_win", "expected_loss"} <= set(df.columns)
    t = df[df.variant == "test"]
    assert t.chance_to_win.between(0, 1).all()
    holm = exp.analyze(["cost", "latency"], correction="holm").to_pandas()
    raw = exp.analyze(["cost", "latency"]).to_pandas()
    assert (holm.p_value.dropna() >= raw.p_value.dropna() - 1e-15).all()
    w = exp.analyze(["cost"], winsorize=(0, 90)).to_pandas()
    assert (
        w.loc[w.variant == "test", "mean"].iloc[0]
        < raw.loc[(raw.metric == "cost") & (raw.variant == "test"), "mean"].iloc[0]
    )
    cuped = exp.analyze(["cost"], cuped=7).to_pandas()
    assert cuped.test.iloc[1] == "cuped welch"
    seq = exp.analyze(["cost"], sequential=True).to_pandas()
    assert seq.test.iloc[1].endswith("sequential")
    assert seq.p_value.iloc[1] >= raw.p_value.iloc[1] - 1e-12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 1.5}, "alpha == 1.5, must be < 1"),
        ({"method": "magic"}, "method == 'magic'"),
        ({"metrics": ["cost", "nope"]}, "unknown metric 'nope'"),
        ({"winsorize": (5,)}, "winsorize"),
        ({"correction": "bonf"}, "correction == 'bonf'"),
        ({"multiple": "keep"}, "multiple == 'keep'"),
        ({"metrics": ["requests"], "unit": "request"}, "no per-request value"),
    ],
)
def test_bad_options(loaded, kwargs, message) -> None:
    _, exp = loaded
    with pytest.raises(pab.InvalidArgumentError, match=message):
        exp.analyze(**kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda exp: exp.unit_values("cost", multiple="first"),
        lambda exp: exp.analyze_over_time("cost", multiple="first"),
    ],
)
def test_bad_multiple_outside_analyze(loaded, call) -> None:
    # multiple="first" (not "first_seen") was read as "exclude": unit_values returned 291 units
    # and analyze_over_time excluded the contaminated units, while analyze() rejected it.
    _, exp = loaded
    with pytest.raises(pab.InvalidArgumentError, match="multiple == 'first'"):
        call(exp)


def test_unknown_flag_key(loaded) -> None:
    ws, _ = loaded
    exp = ws.create_experiment("other", "x", {"control": "1", "test": "2"}, flag_key="no-such-flag")
    with pytest.raises(
        pab.NotFoundError, match="no exposures for flag 'no-such-flag'.*prompt-test"
    ):
        exp.analyze()


# -- each exposure rule on a tiny hand-made export ------------------------------------------
def _tiny(tmp_path, events):
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["jsonl"], progress=False)
    exp = ws.create_experiment("tiny", "support", {"control": "1", "test": "2"}, flag_key=FLAG)
    return exp


def test_rule_contaminated_user_excluded_and_counted(tmp_path) -> None:
    exp = _tiny(
        tmp_path,
        [
            expo("a1", "alice", 0, "control"),
            expo("a2", "alice", 5, "test"),
            gen("ga", "alice", 6, cost=1.0),
            expo("b1", "bob", 0, "control"),
            gen("gb", "bob", 1, cost=0.1),
        ],
    )
    vals = exp.unit_values("cost")
    assert list(vals.unit) == ["bob"]
    res = exp.analyze(["cost"])
    assert res.health.multiple == 1 and res.health.exposed == {"control": 1, "test": 0}
    first = exp.unit_values("cost", multiple="first_seen").set_index("unit")
    assert first.loc["alice", "variant"] == "control" and first.loc["alice", "value"] == 1.0


def test_rule_pre_exposure_generation_ignored(tmp_path) -> None:
    exp = _tiny(
        tmp_path,
        [
            gen("early", "carol", -10, cost=5.0),
            expo("c", "carol", 0, "test"),
            gen("late", "carol", 10, cost=0.25),
        ],
    )
    assert exp.unit_values("cost").value.tolist() == [0.25]


def test_rule_user_without_generations_counts_zero_for_sum(tmp_path) -> None:
    exp = _tiny(
        tmp_path,
        [
            expo("d", "dave", 0, "control"),
            expo("e", "erin", 0, "control"),
            gen("g", "erin", 1, cost=0.5, latency=2.0),
        ],
    )
    cost = exp.unit_values("cost").set_index("unit")
    assert cost.loc["dave", "value"] == 0.0 and cost.loc["erin", "value"] == 0.5
    assert exp.unit_values("latency").unit.tolist() == ["erin"]  # means need an event


def test_rule_unrelated_flag_and_unexposed_user_ignored(tmp_path) -> None:
    exp = _tiny(
        tmp_path,
        [
            expo("f", "frank", 0, "test", flag="some-other-flag"),
            gen("gf", "frank", 1),
            gen("gz", "zoe", 1),
            expo("h", "heidi", 0, "test"),
            gen("gh", "heidi", 1, cost=0.3),
        ],
    )
    assert exp.unit_values("cost").unit.tolist() == ["heidi"]


def test_rule_person_id_is_the_unit(tmp_path) -> None:
    events = [
        expo("p1", "anon-1", 0, "test"),
        gen("g1", "anon-1", 1, cost=0.2),
        gen("g2", "known-1", 2, cost=0.3),
    ]
    for e in events:
        e["person_id"] = "person-1"
    exp = _tiny(tmp_path, events)
    vals = exp.unit_values("cost")
    assert vals.unit.tolist() == ["person-1"] and vals.value.iloc[0] == pytest.approx(0.5)


def test_pass_rate_ignores_not_applicable(tmp_path) -> None:
    exp = _tiny(
        tmp_path,
        [
            expo("i", "ivan", 0, "control"),
            gen("gi", "ivan", 1),
            evaluation("v1", "ivan", 2, "gi", True),
            evaluation("v2", "ivan", 2, "gi", False),
            evaluation("v3", "ivan", 2, "gi", False, applicable=False),
        ],
    )
    v = exp.unit_values("pass_rate")
    assert (v.num.iloc[0], v.den.iloc[0]) == (1, 2)


def test_over_time_is_cumulative(loaded) -> None:
    _, exp = loaded
    ot = exp.analyze_over_time("cost", freq="hour")
    df = ot.to_pandas()
    assert len(df) >= 2 and df.n_control.is_monotonic_increasing
    final = exp.analyze(["cost"]).to_pandas()
    last = df.iloc[-1]
    assert last.n_control == final.n.iloc[0]
    assert last.p_value == pytest.approx(final.p_value.iloc[1], rel=1e-9)
    assert json.dumps(ot._repr_html_())  # renders


def test_chance_to_win_follows_the_metric_direction(loaded) -> None:
    _, exp = loaded
    df = exp.analyze(["latency"], method="bayesian").to_pandas().set_index("variant")
    # test is ~10 % faster in the synthetic export; lower latency is a win
    assert df.loc["test", "rel_diff"] < 0
    assert df.loc["test", "chance_to_win"] > 0.5


def test_small_arms_get_no_p_value_with_the_reason(tmp_path) -> None:
    events = []
    for i in range(40):
        events.append(expo(f"e{i}", f"u{i}", i, "control" if i % 2 else "test"))
        version = "1" if i % 2 else "2"
        events.append(gen(f"g{i}", f"u{i}", i + 1, cost=0.01 * (1 + i % 3), version=version))
    exp = _tiny(tmp_path, events)
    row = exp.analyze(["cost"]).to_pandas(details=True).iloc[1]
    assert np.isnan(row.p_value) and "need 50 per arm" in row.note


def test_analysis_recovers_the_simulated_effects(tmp_path) -> None:
    """End to end: simulate with known effects, load, analyse; every CI covers the truth."""
    truth = pab.simulate.traffic(
        6000,
        {"control": "v1", "test": "v2"},
        {"test": {"latency": 0.9, "cost": 1.1, "error_rate": 0.04, "pass_rate": 0.86}},
        seed=4,  # one fixed draw; coverage rates are checked by simulation in tests/stats
        out=tmp_path,
        progress=False,
    )
    ws = pab.Workspace()
    ws.load_posthog(truth.files["parquet"], progress=False)
    exp = ws.create_experiment("sim", truth.prompt_name, truth.variants, flag_key=truth.flag_key)
    df = exp.analyze(alpha=0.01).to_pandas().set_index(["metric", "variant"])
    for metric in ("cost", "latency", "error_rate", "pass_rate"):
        row = df.loc[(metric, "test")]
        true_diff = truth.diffs["test"][metric]
        assert row["diff_ci_low"] <= true_diff <= row["diff_ci_high"], metric
        true_lift = truth.lifts["test"][metric]
        assert row["rel_ci_low"] <= true_lift <= row["rel_ci_high"], metric
    # the injected latency and error effects are large enough to be detected
    assert df.loc[("latency", "test"), "significant"]
    assert df.loc[("error_rate", "test"), "significant"]


def test_latency_p95_matches_numpy(loaded, reference) -> None:
    _, exp = loaded
    g = reference["generations"]
    df = exp.analyze(["latency_p95"]).to_pandas().set_index("variant")
    for v in ("control", "test"):
        lat = g.loc[g.variant == v, "lat"].to_numpy()
        assert df.loc[v, "mean"] == pytest.approx(np.quantile(lat, 0.95), rel=1e-12)
        assert df.loc[v, "n"] == g.loc[g.variant == v, "distinct_id"].nunique()  # users
        assert df.loc[v, "mean_ci_low"] <= df.loc[v, "mean"] <= df.loc[v, "mean_ci_high"]
    assert df.loc["test", "test"] == "quantile clustered by user"
    with pytest.raises(pab.InvalidArgumentError, match="quantile over events"):
        exp.unit_values("latency_p95")


@pytest.mark.parametrize("metric", ["latency", "error_rate", "pass_rate"])
def test_over_time_ends_at_the_full_analysis(loaded, metric) -> None:
    _, exp = loaded
    last = exp.analyze_over_time(metric, freq="hour", relative=False).to_pandas().iloc[-1]
    final = exp.analyze([metric], relative=False).to_pandas().iloc[1]
    assert last.n_treatment == final.n
    assert last.estimate == pytest.approx(final["diff"], rel=1e-9)
    assert last.p_value == pytest.approx(final.p_value, rel=1e-9)


# -- the per-unit cache ---------------------------------------------------------------------------
def _cache_tables(ws) -> list[str]:
    return sorted(
        ws.sql(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_pab\\_units\\_%' ESCAPE '\\'"
        ).table_name
    )


def test_reanalysis_reads_the_cached_per_unit_rows(loaded) -> None:
    ws, exp = loaded
    first = exp.analyze(["cost"]).to_pandas().set_index("variant")
    (table,) = _cache_tables(ws)
    # Doubling every cached cost shows the second analysis read the cache, not the events.
    ws.con.execute(f'UPDATE "{table}" SET n0 = 2 * n0')
    again = exp.analyze(["cost"], alpha=0.1).to_pandas().set_index("variant")
    assert again["mean"].to_numpy() == pytest.approx(2 * first["mean"].to_numpy(), rel=1e-12)
    assert _cache_tables(ws) == [table]


def test_cache_is_not_used_after_a_load_or_for_another_query(loaded, tmp_path) -> None:
    ws, exp = loaded
    before = exp.analyze(["cost"]).to_pandas().set_index("variant")
    (table,) = _cache_tables(ws)
    ws.con.execute(f'UPDATE "{table}" SET n0 = 2 * n0')  # a stale cache must never be read
    other = exp.analyze(["cost"], start="2000-01-01").to_pandas().set_index("variant")
    assert other["mean"].to_numpy() == pytest.approx(before["mean"].to_numpy(), rel=1e-12)
    # A load of new events changes the data version: the per-unit rows are computed afresh.
    extra = [expo("late-x", "late-user", 0, "control"), gen("late-g", "late-user", 1, cost=5.0)]
    ws.load_posthog(write(extra, tmp_path)["parquet"], progress=False)
    after = exp.analyze(["cost"]).to_pandas().set_index("variant")
    assert after.loc["control", "n"] == before.loc["control", "n"] + 1
    assert after.loc["test", "mean"] == pytest.approx(before.loc["test", "mean"], rel=1e-12)


def test_cache_keeps_the_last_few_queries(loaded) -> None:
    from promptab_nb.engines.duckdb import UNIT_CACHE_SIZE

    ws, exp = loaded
    for metric in ("cost", "latency", "error_rate", "tokens_in", "tokens_out", "cost"):
        exp.analyze([metric])
    assert len(_cache_tables(ws)) == UNIT_CACHE_SIZE


def test_an_export_without_evaluations_still_analyses_the_other_metrics(tmp_path) -> None:
    # pass_rate has no denominator in any arm: it gets no verdict, the other metrics theirs
    events = [e for e in synthetic_events() if e["event"] != "$ai_evaluation"]
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("x", "support", {"control": "1", "test": "2"}, flag_key=FLAG)
    for options in ({}, {"cuped": True}, {"sequential": True}):
        res = exp.analyze(["latency", "pass_rate"], **options)
        lat, rate = (next(r for r in res.rows if r.metric == m and not r.is_control)
                     for m in ("latency", "pass_rate"))  # fmt: skip
        assert lat.p_value == lat.p_value and rate.p_value != rate.p_value, options
        assert not rate.significant and "no comparison" in rate.note
        (pairs,) = [p for p in res.pairs if p.metric == "pass_rate"]
        assert pairs.pairs == () and "no mean" in pairs.note
    assert "no verdict" in res.to_markdown()
    assert exp.mde(["latency"])[0].mde > 0
    with pytest.raises(pab.errors.InvalidArgumentError, match=r"pass_rate: .*no evaluations.*"
                       r"Plan the others: metrics=\['cost', 'latency', 'error_rate'\]"):  # fmt: skip
        exp.mde()


def test_mann_whitney_withholds_a_sum_missing_values(tmp_path) -> None:
    from analysis._scenarios import workspace

    # a third of the test arm unpriced: its per-user costs read those as $0
    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.02}] for _ in range(60)],
        "test": [[{"cost": None if u % 3 == 0 else 0.01}] for u in range(60)],
    })  # fmt: skip
    res = exp.mann_whitney("cost")
    assert res.tests["test"] is None and "the sums would read them as 0" in res.notes["test"]
    assert exp.mann_whitney("latency").tests["test"] is not None


def test_rank_and_over_time_notes_name_the_missing_cost_of_the_cost_option() -> None:
    # both said "32.1% of an arm's events have no cost_usd" under cost='recompute', where the
    # export's cost is not read and what is missing is the price of an unknown model
    pytest.importorskip("genai_prices")
    ws = pab.Workspace()
    frame = unpriced_generations(
        9,
        model=lambda i, k: "no-such-model-xyz" if i % 2 == 0 and k == 0 else "gpt-4o-mini",
        output_tokens=lambda i, rng: 100,
    )
    ws.load_frame(frame, kind="generations")
    exp = ws.create_experiment("priced", "bot", {"control": "v1", "test": "v2"})
    for cost, said in (
        ("recompute", "50.0% of an arm's generations have no recomputed cost (> 5%)"),
        ("source", "are unpriced in the export"),  # (over time: nothing measured)
    ):
        fix = "see exp.cost_audit()" if cost == "recompute" else "cost='recompute' to price"
        mw = exp.mann_whitney("cost", cost=cost)
        assert mw["test"] is None and said in mw.notes["test"] and fix in mw.notes["test"]
        note = exp.analyze_over_time("cost", cost=cost).records[-1]["note"]
        assert said in note and fix in note
    ws.close()


def test_unit_values_of_a_rate_keep_the_units_its_test_counts(loaded, reference) -> None:
    # pass_rate's unit_values held only the units with an applicable evaluation (the sample
    # data: 144 of the 569 control users the analysis counts in n): the units without one,
    # which the ratio test counts (0 / 0), were dropped without a word.
    _, exp = loaded
    per = reference["per_user"]
    res = exp.analyze(["error_rate", "pass_rate"]).to_pandas().set_index(["metric", "variant"])
    for metric, (num, den) in {"error_rate": ("err_n", "gen_n"),
                               "pass_rate": ("pass_n", "eval_n")}.items():  # fmt: skip
        v = exp.unit_values(metric).set_index("unit")
        assert set(v.index) == set(per.index), metric
        for variant, n in v.groupby("variant").size().items():
            assert res.loc[(metric, variant), "n"] == n
        np.testing.assert_array_equal(v["num"], per.loc[v.index, num])
        np.testing.assert_array_equal(v["den"], per.loc[v.index, den])
        none = v["den"] == 0
        assert none.any() and v.loc[none, "value"].isna().all()  # no rate: missing, not 0
        assert v.loc[~none, "value"].notna().all()


def test_unit_values_per_request_leave_out_a_generation_without_a_value(tmp_path) -> None:
    # An experiment per request (each generation a unit): an unpriced generation had cost
    # value 0.00 in unit_values (its sum over no priced event), while analyze() leaves it out
    # (n 3 per arm, mean $0.0100): missing read as zero, and rows that disagree with n.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.01}, {"cost": None}] for _ in range(3)],
        "test": [[{"cost": 0.02}, {"cost": None}] for _ in range(3)],
    })  # fmt: skip
    exp.stop()
    per_request = ws.create_experiment("r", "support", {"control": "1", "test": "2"},
                                       assigned_by="version", unit="request")  # fmt: skip
    rows = per_request.analyze(["cost"]).rows
    v = per_request.unit_values("cost")
    assert (
        v.groupby("variant").size().to_dict()
        == {r.variant: r.n for r in rows}
        == {"control": 3, "test": 3}
    )
    assert (v["value"] > 0).all()
    ws.close()


def test_mann_whitney_per_request_ranks_only_generations_with_a_value(tmp_path) -> None:
    # Per request, an unpriced generation (under the 5 % that withholds the test) was ranked
    # as a cost of 0, the cheapest of all, where analyze() and unit_values leave it out.
    from analysis._scenarios import workspace

    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.01 + i / 1000}] for i in range(59)] + [[{"cost": None}]],
        "test": [[{"cost": 0.02 + i / 1000}] for i in range(60)],
    })  # fmt: skip
    exp.stop()
    per_request = ws.create_experiment("r", "support", {"control": "1", "test": "2"},
                                       assigned_by="version", unit="request")  # fmt: skip
    n = {r.variant: r.n for r in per_request.analyze(["cost"]).rows}
    mw = per_request.mann_whitney("cost")["test"]
    assert (mw.n_control, mw.n_treatment) == (n["control"], n["test"]) == (59, 60)
    ws.close()


def test_mann_whitney_leaves_out_a_user_priced_nowhere(tmp_path) -> None:
    # A user whose every generation is unpriced has no cost (unit_values: NaN), yet the rank
    # test ranked it as $0, the cheapest user of its arm. Under the 5 % that withholds the
    # test (control 5 of 122 generations, test 2 of 122), such users are now left out; a
    # partly priced user ranks by the sum of its priced generations, as unit_values has it.
    from analysis._scenarios import workspace

    U = {"cost": None}
    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.02 + i / 1000}, {"cost": 0.01}] for i in range(58)]
        + [[U, U]] * 2 + [[{"cost": 0.001}, U]],
        "test": [[{"cost": 0.021 + i / 1000}, {"cost": 0.01}] for i in range(60)] + [[U, U]],
    })  # fmt: skip
    v = exp.unit_values("cost").dropna(subset=["value"])
    control = v[v.variant == "control"].value.to_numpy(float)
    treated = v[v.variant == "test"].value.to_numpy(float)
    assert (control.size, treated.size) == (59, 60)
    for alternative in ("two-sided", "less"):
        res = exp.mann_whitney("cost", alternative=alternative)
        got = res["test"]
        ref = scipy.stats.mannwhitneyu(treated, control, alternative=alternative,
                                       method="asymptotic")  # fmt: skip
        assert got is not None and (got.n_control, got.n_treatment) == (59, 60)
        assert got.u == pytest.approx(ref.statistic, rel=1e-12)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    note = res.notes["test"]
    said = exp.analyze(["cost"]).rows[1].note
    assert said is not None and note.startswith(said)  # the share analyze() states, then why
    assert "priced nowhere" in note and "left out" in note and "control 2, test 1" in note
    assert "partly priced" in note
    ws.close()
