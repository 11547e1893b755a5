from __future__ import annotations

import datetime as dt

import pytest
import scipy.stats
from _events import FLAG, expo, write

import promptab_nb as pab
from promptab_nb import analysis

V = {"control": "1", "test": "2"}


@pytest.fixture()
def ws():
    w = pab.Workspace()
    yield w
    w.close()


def test_create_defaults_and_reopen(ws) -> None:
    exp = ws.create_experiment("a", "support", V)
    assert exp.status == "running" and exp.control == "control" and exp.treatments == ["test"]
    assert exp.split == {"control": 50.0, "test": 50.0} and exp.flag_key == "a"
    assert ws.experiment("a") == exp and ws.experiment(exp.id) == exp
    assert "support" in repr(exp) and "<table" in exp._repr_html_()


def test_lifecycle_transitions(ws) -> None:
    exp = ws.create_experiment("a", "p1", V)
    won = exp.declare_winner("test")
    assert won.status == "concluded" and won.winner == "test" and won.concluded_at
    assert ws.experiment("a").status == "concluded"
    for action in (lambda e: e.declare_winner("control"), lambda e: e.stop()):
        with pytest.raises(pab.ExperimentStateError, match="is concluded"):
            action(won)
    b = ws.create_experiment("b", "p2", V)
    stopped = b.stop()
    assert stopped.status == "stopped" and stopped.winner is None
    with pytest.raises(pab.ExperimentStateError, match="is stopped"):
        stopped.declare_winner("test")
    with pytest.raises(pab.ExperimentStateError, match="is stopped"):
        b.stop()  # the stale object still checks the stored status


def test_the_held_experiment_shows_every_status_change(ws) -> None:
    exp = ws.create_experiment("held", "p1", V)
    exp.declare_winner("test")
    # The object a notebook holds is concluded, not only the returned one or the stored row.
    assert (exp.status, exp.winner) == ("concluded", "test")
    assert exp.concluded_at is not None and exp.concluded_at.tzinfo is not None
    assert ws.experiment("held") == exp  # reopening restores the same record
    other = ws.create_experiment("held-2", "p2", V)
    assert other.stop() is other and other.status == "stopped" and other.winner is None
    # A change made through another object is seen after refresh().
    twin = ws.create_experiment("held-3", "p3", V)
    ws.experiment("held-3").declare_winner("control")
    assert twin.status == "running"
    assert twin.refresh() is twin and (twin.status, twin.winner) == ("concluded", "control")


def test_one_running_experiment_per_prompt(ws) -> None:
    ws.create_experiment("first", "support", V)
    with pytest.raises(
        pab.ExperimentConflict, match="'first' is already running on prompt 'support'"
    ):
        ws.create_experiment("second", "support", V)
    ws.experiment("first").stop()
    assert ws.create_experiment("second", "support", V).status == "running"


def test_listing_newest_first(ws) -> None:
    for i in range(3):
        ws.create_experiment(f"e{i}", f"p{i}", V)
    ws.experiment("e1").stop()
    assert [e.name for e in ws.experiments()] == ["e2", "e1", "e0"]
    assert [e.name for e in ws.experiments(status="stopped")] == ["e1"]
    assert [e.name for e in ws.experiments(prompt_name="p0")] == ["e0"]
    df = ws.experiments().to_pandas()
    assert list(df["name"]) == ["e2", "e1", "e0"]
    assert "newest first" in ws.experiments()._repr_html_()


def test_reopen_file_workspace_restores_everything(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    with pab.Workspace(path) as w:
        w.create_experiment(
            "x", "p", {"a": "1", "b": "2", "c": "3"}, split=[20, 30, 50], ends_at=ends
        )
        w.experiment("x").declare_winner("c")
        w.create_experiment("y", "q", V).stop()
    with pab.Workspace(path) as w:
        x = w.experiment("x")
        assert (
            x.split == {"a": 20, "b": 30, "c": 50} and x.winner == "c" and x.status == "concluded"
        )
        assert abs((x.ends_at - ends).total_seconds()) < 1e-3
        assert [e.name for e in w.experiments()] == ["y", "x"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variants": None}, "variants is missing"),
        ({"variants": {}}, "variants is empty"),
        ({"variants": {"only": "1"}}, "variants has 1 variant"),
        (
            {"variants": {f"v{i}": str(i) for i in range(11)}},
            "variants has 11 variants; at most 10",
        ),
        ({"variants": [("a", "1"), ("a", "2")]}, r"duplicate keys \['a'\]"),
        # (an empty or None version matched no generation: the arm stayed empty, unsaid)
        ({"variants": {"control": "1", "test": " "}}, r"variants\['test'\] == ' ': give the"),
        ({"variants": {"control": None, "test": "2"}}, r"variants\['control'\] == None"),
        ({"variants": V, "split": [60, 60]}, "split sums to 120, must sum to 100"),
        ({"variants": V, "split": [100]}, "split has 1 shares for 2 variants"),
        ({"variants": V, "split": {"control": 50, "other": 50}}, "split keys"),
        ({"variants": V, "unit": "session"}, "unit == 'session'"),
        ({"variants": V, "metrics": ["vibes"]}, "unknown metric 'vibes'"),
        # (a custom Metric was stored by name, and exp.analyze() then said "unknown metric")
        (
            {
                "variants": V,
                "metrics": [pab.Metric("lat_sum", "latency_s", agg="sum")],
            },
            "'lat_sum' is a custom pab.Metric; an experiment stores built-in metric names only",
        ),
        (
            {"variants": V, "ends_at": "2001-01-01"},
            "ends_at == 2001-01-01.* is before the creation time",
        ),
        ({"variants": V, "ends_at": "someday"}, "ends_at == 'someday' is not an ISO date-time"),
    ],
)
def test_bad_arguments(ws, kwargs, message) -> None:
    with pytest.raises(pab.InvalidArgumentError, match=message):
        ws.create_experiment("bad", "p", **kwargs)
    assert len(ws.experiments()) == 0


def test_unknown_winner_and_names(ws) -> None:
    exp = ws.create_experiment("a", "p", V)
    with pytest.raises(pab.InvalidArgumentError, match="winner 'treatment' is not a variant"):
        exp.declare_winner("treatment")
    with pytest.raises(pab.InvalidArgumentError, match="already exists"):
        ws.create_experiment("a", "other", V)
    with pytest.raises(pab.NotFoundError, match="no experiment 'zzz'"):
        ws.experiment("zzz")


def test_names_that_look_the_same_are_one_name(ws) -> None:
    import unicodedata

    # 'café' typed composed and decomposed (a macOS file name, a pasted label) were two
    # experiments that print the same, and 'Y' beside 'y' two that differ only in case: which
    # one `promptab experiments conclude café` reached depended on the keyboard
    nfc, nfd = (unicodedata.normalize(form, "café") for form in ("NFC", "NFD"))
    exp = ws.create_experiment(nfc, "p1", V)
    with pytest.raises(pab.InvalidArgumentError, match="already exists.*differs only in"):
        ws.create_experiment(nfd, "p2", V)
    assert ws.experiment(nfd) == exp  # the same name, whatever its Unicode form
    ws.create_experiment("y", "p3", V)
    with pytest.raises(pab.InvalidArgumentError, match="'y' already exists.*differs only in"):
        ws.create_experiment("Y", "p4", V)
    with pytest.raises(pab.NotFoundError, match="no experiment 'Y'.*did you mean 'y'"):
        ws.experiment("Y")
    # a space at either end is invisible in every listing
    with pytest.raises(pab.InvalidArgumentError, match="name == 'x ' begins or ends with"):
        ws.create_experiment("x ", "p5", V)
    assert [e.name for e in ws.experiments()] == ["y", nfc]


def test_winner_and_lookup_of_the_wrong_type(ws) -> None:
    exp = ws.create_experiment("a", "p", V)
    # a list was Python's "TypeError: unhashable type: 'list'"
    with pytest.raises(pab.InvalidArgumentError, match=r"winner \['test'\] is not a variant"):
        exp.declare_winner(["test"])  # type: ignore[arg-type]
    # True was read as the id 1, and 1.0 as a name
    for key in (True, 1.0, None):
        with pytest.raises(pab.InvalidArgumentError, match="an experiment's name .* or its id"):
            ws.experiment(key)  # type: ignore[arg-type]
    assert exp.status == "running"
    import numpy as np

    assert ws.experiment(np.int64(exp.id)) == exp  # an id read from ws.experiments().to_pandas()


def test_expired_is_reported(ws, export_paths) -> None:
    ws.load_posthog(export_paths["parquet"], progress=False)
    exp = ws.create_experiment(
        "a", "support", V, flag_key=FLAG, ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    )
    ws.con.execute("UPDATE experiments SET ends_at = now() - INTERVAL 1 DAY")
    exp = exp.refresh()
    assert exp.is_expired
    res = exp.analyze(["cost"])
    assert res.health.expired and any("planned end" in w for w in res.health.warnings)


def test_srm_of_two_arms_is_the_exact_binomial_test(loaded) -> None:
    ws, exp = loaded
    res = exp.analyze(["cost"])
    n = [res.health.exposed[k] for k in exp.variants]
    ref = scipy.stats.binomtest(n[1], sum(n), 0.5)
    assert res.health.srm_p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.health.srm_statistic == pytest.approx(scipy.stats.chisquare(n).statistic)
    assert res.health.srm_method == "exact binomial test"
    assert any(line.startswith("SRM exact binomial test, p = ") for line in res.health.lines())
    assert res.health.multiple == 8  # users 0, 50, ..., 350 saw both arms


def test_srm_of_three_arms_is_chisquare_with_the_split(ws, tmp_path) -> None:
    arms = {"control": "1", "a": "2", "b": "3"}
    keys = list(arms)
    events = [expo(f"e{i}", f"u{i}", i, keys[0 if i % 5 < 2 else 1 + i % 2]) for i in range(400)]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("three", "p", arms, split=[40, 30, 30], flag_key=FLAG)
    h = analysis.health(exp)
    n = [h.exposed[k] for k in arms]
    ref = scipy.stats.chisquare(n, [sum(n) * s for s in (0.4, 0.3, 0.3)])
    assert h.srm_p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert h.srm_statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert h.srm_method == "χ² goodness of fit"
    assert any(line.startswith("SRM χ² goodness of fit, χ² = ") for line in h.lines())


def test_srm_skipped_below_100_units(ws, tmp_path) -> None:
    events = [expo(f"e{i}", f"u{i}", i, "control" if i % 3 else "test") for i in range(60)]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("s", "p", V, flag_key=FLAG)
    res = exp.analyze(["cost"])
    assert res.health.srm_p_value is None and "skipped" in res.health.srm_note
    assert any("not enough data" in w for w in res.health.warnings)


def test_audit_finds_injected_mismatches(ws, tmp_path) -> None:
    ids = [f"user-{i}" for i in range(300)]
    truth = pab.assign(ids, FLAG, variants={"control": 50, "test": 50})
    logged = list(truth)
    for i in (3, 17, 101):
        logged[i] = "test" if logged[i] == "control" else "control"
    logged[5] = "legacy"
    events = [expo(f"e{i}", u, i, v) for i, (u, v) in enumerate(zip(ids, logged, strict=True))]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("aud", "p", V, flag_key=FLAG)
    a = exp.audit()
    assert (a.checked, a.mismatches, a.matches) == (299, 3, 296)
    assert a.unknown == {"legacy": 1}
    assert {e[0] for e in a.examples} == {"user-3", "user-17", "user-101"}
    units = exp.units()
    assert len(units) == 300 and set(units["variant"]) == {"control", "test", "legacy"}


def test_audit_takes_the_flags_own_definition_and_checks_examples(ws, tmp_path) -> None:
    # PostHog lists this flag's variants test first: served by that order, every id looked
    # mismatched against the experiment's control-first split, with no way to pass the flag.
    ids = [f"user-{i}" for i in range(400)]
    definition = {"key": FLAG, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
                  "multivariate": {"variants": [{"key": "test", "rollout_percentage": 30},
                                                {"key": "control", "rollout_percentage": 70}]}}}  # fmt: skip
    flag = pab.Flag.from_posthog(definition)
    served = flag.assign(ids)
    events = [expo(f"e{i}", u, i, v) for i, (u, v) in enumerate(zip(ids, served, strict=True))]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("order", "p", V, flag_key=FLAG, split={"control": 70, "test": 30})
    assert exp.audit().mismatches > 100  # the experiment's order is not the flag's
    a = exp.audit(flag=flag)
    assert (a.checked, a.mismatches) == (400, 0)
    with pytest.raises(pab.InvalidArgumentError, match="examples"):
        exp.audit(examples=-1)  # silently dropped the last example
    with pytest.raises(pab.InvalidArgumentError, match="has key 'other'"):
        exp.audit(flag=pab.Flag("other", {"control": 50, "test": 50}))
    with pytest.raises(pab.InvalidArgumentError, match="must be a promptab_nb.assignment.Flag"):
        exp.audit(flag=definition)


def test_a_three_arm_default_split_is_posthogs_equal_distribution(ws, tmp_path) -> None:
    # PostHog's "distribute equally" serves 33/33/34; assign() follows it, so must the audit
    # (100/3 each flagged 1 % of correctly assigned ids) and the sample-ratio test
    ids = [f"user_{i}" for i in range(6000)]
    arms = {"control": "1", "a": "2", "b": "3"}
    served = pab.assign(ids, FLAG, variants=list(arms))
    events = [
        expo(f"e{i}", u, i % 500, v) for i, (u, v) in enumerate(zip(ids, served, strict=True))
    ]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("three", "p", arms, flag_key=FLAG)
    assert exp.split == {"control": 33.0, "a": 33.0, "b": 34.0}
    a = exp.audit()
    assert (a.checked, a.mismatches) == (6000, 0)


def _three_arm_costs(ws, tmp_path):
    """Three arms; a third of the users without generations (cost 0: one large tie), costs
    rounded to a cent (more ties), arm "b" costlier."""
    import numpy as np
    from _events import gen

    rng = np.random.default_rng(5)
    arms = {"control": "1", "a": "2", "b": "3"}
    events = []
    for u in range(330):
        key = list(arms)[u % 3]
        events.append(expo(f"e{u}", f"u{u}", u, key))
        for k in range(u % 4 - 1):
            cost = round(float(rng.gamma(2, 0.01)) * (1.5 if key == "b" else 1.0), 2)
            events.append(gen(f"g{u}_{k}", f"u{u}", u + k + 1, cost=cost, version=arms[key]))
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    return ws.create_experiment("three", "support", arms, flag_key=FLAG)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mann_whitney_equals_scipy_on_unit_values(ws, tmp_path, alternative) -> None:
    from promptab_nb.stats import RankSums

    exp = _three_arm_costs(ws, tmp_path)
    res = exp.mann_whitney("cost", alternative=alternative)
    v = exp.unit_values("cost")
    control = v[v.variant == "control"].value.to_numpy(float)
    assert (control == 0).sum() > 20  # the tie the test is about
    for arm in ("a", "b"):
        treated = v[v.variant == arm].value.to_numpy(float)
        ref = scipy.stats.mannwhitneyu(treated, control, alternative=alternative,
                                       method="asymptotic")  # fmt: skip
        got = res[arm]
        assert got is not None and got.u == pytest.approx(ref.statistic, rel=1e-12)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert (got.n_control, got.n_treatment) == (control.size, treated.size)
        by_hand = RankSums.from_values(control, treated)
        assert got.prob_superiority == pytest.approx(by_hand.u / (control.size * treated.size))
    df = res.to_pandas()
    assert list(df.variant) == ["a", "b"] and (df.alternative == alternative).all()
    assert "Mann–Whitney U per user" in repr(res) and "<table" in res._repr_html_()


def test_mann_whitney_alternative_of_the_metric_and_small_arms(ws, tmp_path) -> None:
    exp = _three_arm_costs(ws, tmp_path)
    per_metric = exp.mann_whitney("cost", alternative={"cost": "less", "latency": "greater"})
    assert per_metric.alternative == "less" and per_metric["b"].alternative == "less"
    assert exp.mann_whitney("cost").alternative == "two-sided"
    # latency is a per-user mean: users without generations have no value, error_rate neither
    early = exp.mann_whitney("latency", end="2026-03-01T10:05:00Z")
    assert early["a"] is None and "not enough units" in early.notes["a"]
    assert "not enough units" in repr(early)
    with pytest.raises(pab.InvalidArgumentError, match="quantile"):
        exp.mann_whitney("latency_p95")
    with pytest.raises(pab.InvalidArgumentError, match="alternative"):
        exp.mann_whitney("cost", alternative="bigger")  # type: ignore[arg-type]


def test_create_takes_the_designs_power(ws) -> None:
    # set_design(power=...) existed, create_experiment(power=...) was a raw TypeError
    exp = ws.create_experiment("p", "bot", {"control": "1", "test": "2"}, flag_key="f",
                               goal="pass_rate", mde="+2pp", power=0.9)  # fmt: skip
    assert exp.design.power == 0.9 and ws.experiment("p").design.power == 0.9
    with pytest.raises(pab.InvalidArgumentError, match="power"):
        ws.create_experiment("q", "bot2", {"control": "1", "test": "2"}, flag_key="g",
                             goal="pass_rate", power=1.5)  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda e: e.analyze(alpah=0.1),
            r"analyze\(\) has no argument 'alpah'; did you mean 'alpha'",
        ),
        (
            lambda e: e.analyze(foo=1),
            r"analyze\(\) has no argument 'foo' \(its arguments: metrics,",
        ),
        (lambda e: e.analyze_over_time("cost", frq="day"), "did you mean 'freq'"),
        (lambda e: e.mann_whitney("cost", strat="2026-01-01"), "did you mean 'start'"),
        (lambda e: e.unit_values("cost", multple="first_seen"), "did you mean 'multiple'"),
    ],
)
def test_unknown_keywords_name_the_closest_argument(ws, call, message) -> None:
    # (it was Python's TypeError "got an unexpected keyword argument")
    exp = ws.create_experiment("kw", "p", V)
    with pytest.raises(pab.InvalidArgumentError, match=message):
        call(exp)


def test_units_of_an_unknown_variant_is_an_error(loaded) -> None:
    _, exp = loaded
    # exp.units("tset") returned an empty frame: a typo read as an arm without units
    with pytest.raises(pab.InvalidArgumentError, match=r"'tset' is neither.*did you mean"):
        exp.units("tset")
    assert len(exp.units("test")) > 0
    assert (exp.units("$multiple").variant == "$multiple").all()
    # a variant the flag logged but the experiment does not configure is still there to inspect
    ws, _ = loaded
    other = ws.create_experiment("z", None, {"control": "1", "zzz": "2"}, flag_key=exp.flag_key)
    assert len(other.units("test")) == len(exp.units("test")) and other.units("zzz").empty


def test_audit_says_when_an_id_is_outside_the_rollout(ws, tmp_path) -> None:
    # an id the 50 % rollout leaves out was listed as "logged 'control', expected 'None'", as if
    # the flag had a variant named None
    ids = [f"user-{i}" for i in range(200)]
    served = pab.assign(ids, FLAG, variants={"control": 50, "test": 50})
    events = [expo(f"e{i}", u, i, v) for i, (u, v) in enumerate(zip(ids, served, strict=True))]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("half", "p", V, flag_key=FLAG, rollout=50)
    a = exp.audit()
    assert a.mismatches > 50 and a.examples
    assert all(e[2] == "not in the 50 % rollout" for e in a.examples)
    assert "'None'" not in repr(a) and "None" not in set(a.to_pandas().expected)


def test_a_misspelt_winner_is_suggested(ws) -> None:
    exp = ws.create_experiment("a", "p", V)
    with pytest.raises(pab.InvalidArgumentError, match="did you mean 'test'"):
        exp.declare_winner("tset")
    assert exp.status == "running"
