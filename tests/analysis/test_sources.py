"""Assignment sources (flag, version, arm), identity resolution, and missing data never read as
zero — each checked against scipy on the test's own data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import promptab_nb as pab

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _spanlens_csv(tmp_path, n: int = 240, seed: int = 3):
    """A Spanlens request export with an arm column: test is slower and fails more."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "A", "B")
    latency_ms = rng.lognormal(7.3, 0.4, n) * np.where(arm == "B", 1.25, 1.0)
    status = np.where(rng.random(n) < np.where(arm == "B", 0.3, 0.1), 500, 200)
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "project_id": "p1",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "prompt_tokens": rng.integers(100, 500, n),
            "completion_tokens": rng.integers(20, 200, n),
            "total_tokens": 0,
            "cost_usd": rng.gamma(2.0, 0.001, n).round(8),
            "latency_ms": latency_ms.round(3),
            "status_code": status,
            "error_message": "",
            "trace_id": [f"tr{i}" for i in range(n)],
            "created_at": [(T0 + dt.timedelta(minutes=i)).isoformat() for i in range(n)],
            "arm": arm,
        }
    )
    path = tmp_path / "requests.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_spanlens_arms_per_request_equal_spanlens_method(tmp_path) -> None:
    path, df = _spanlens_csv(tmp_path)
    ws = pab.Workspace()
    ws.load_spanlens(path, arm_column="arm", prompt_name="bot")
    exp = ws.create_experiment("x", "bot", {"A": "A", "B": "B"}, unit="request")
    assert exp.assigned_by == "arm" and exp.flag_key is None
    res = exp.analyze(["latency", "cost", "error_rate"])
    rows = res.to_pandas().set_index(["metric", "variant"])
    a, b = df[df.arm == "A"], df[df.arm == "B"]
    lat = scipy.stats.ttest_ind(b.latency_ms / 1000, a.latency_ms / 1000, equal_var=False)
    assert rows.loc[("latency", "B"), "p_value"] == pytest.approx(lat.pvalue, rel=1e-9)
    cost = scipy.stats.ttest_ind(b.cost_usd, a.cost_usd, equal_var=False)
    assert rows.loc[("cost", "B"), "p_value"] == pytest.approx(cost.pvalue, rel=1e-9)
    eb, ea = int((b.status_code >= 400).sum()), int((a.status_code >= 400).sum())
    fisher = scipy.stats.fisher_exact([[eb, len(b) - eb], [ea, len(a) - ea]])
    assert rows.loc[("error_rate", "B"), "p_value"] == pytest.approx(fisher.pvalue, rel=1e-9)
    assert rows.loc[("latency", "A"), "n"] == len(a)
    assert "arms from the arm recorded on each generation" in res.health.source
    assert res.methods[0].startswith("assignment: arms from the arm recorded")


def _frames(person_on_generations: bool = True, unpriced: float = 0.0, seed: int = 1):
    """Exposures with person_id; generations per user with cost and latency."""
    rng = np.random.default_rng(seed)
    users = [f"d{i}" for i in range(200)]
    arm = ["control" if i % 2 else "test" for i in range(200)]
    expo = pd.DataFrame(
        {
            "uuid": [f"e{i}" for i in range(200)],
            "ts": [T0 + dt.timedelta(minutes=i) for i in range(200)],
            "distinct_id": users,
            "person_id": [f"p{i}" for i in range(200)],
            "flag_key": "flag",
            "variant": arm,
        }
    )
    rows = []
    for i, u in enumerate(users):
        for k in range(int(rng.integers(1, 4))):
            priced = arm[i] == "control" or rng.random() >= unpriced
            rows.append(
                {
                    "uuid": f"g{i}_{k}",
                    "ts": T0 + dt.timedelta(minutes=i + k + 1),
                    "distinct_id": u,
                    "person_id": (
                        f"p{i}" if person_on_generations or arm[i] == "control" else None
                    ),
                    "prompt_name": "bot",
                    "prompt_version": "v1" if arm[i] == "control" else "v2",
                    "latency_s": float(rng.lognormal(0, 0.3)),
                    "cost_usd": float(rng.gamma(2, 0.01)) if priced else None,
                }
            )
    return expo, pd.DataFrame(rows)


def _workspace(expo, gens):
    ws = pab.Workspace()
    ws.load_frame(expo, kind="exposures")
    ws.load_frame(gens, kind="generations")
    return ws


def test_person_id_on_exposures_only_is_resolved_through_the_id_pairs() -> None:
    full = _workspace(*_frames(person_on_generations=True))
    partial = _workspace(*_frames(person_on_generations=False))
    want = full.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    got = partial.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    a, b = want.analyze(["cost", "latency"]), got.analyze(["cost", "latency"])
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), rtol=1e-12)
    assert "distinct_id → person_id" in b.health.source
    assert "distinct_id → person_id" not in a.health.source


def test_an_arm_whose_events_match_no_unit_is_flagged() -> None:
    expo, gens = _frames()
    test_users = set(expo.loc[expo.variant == "test", "distinct_id"])
    moved = gens.distinct_id.isin(test_users)
    gens.loc[moved, "distinct_id"] = "other-" + gens.loc[moved, "distinct_id"]
    gens.loc[moved, "person_id"] = None
    ws = _workspace(expo, gens)
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    res = exp.analyze(["cost"])
    assert res.health.has("units_without_events")
    assert "test: 100% of its 100 exposed units have no generation" in " ".join(res.health.warnings)


def test_unpriced_generations_are_not_free() -> None:
    ws = _workspace(*_frames(unpriced=0.4))
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    res = exp.analyze(["cost", "latency"])
    test_cost = res.to_pandas(details=True).set_index(["metric", "variant"]).loc[("cost", "test")]
    assert np.isnan(test_cost.p_value) and not test_cost.significant
    assert "unpriced" in test_cost.note and "verdict withheld" in test_cost.note
    flag = next(f for f in res.health.flags if f.code == "missing_values")
    assert flag.severity == "error" and "test" in flag.message
    latency = res.to_pandas().set_index(["metric", "variant"]).loc[("latency", "test")]
    assert not np.isnan(latency.p_value)  # other metrics keep their verdicts
    assert res.regressions("cost") == []
    # nothing else built on the sums reads the missing costs as 0 either
    assert res.total_impact("cost")["test"] is None
    assert "sums would read them as 0" in res.total_impact("cost").notes["test"]
    pairs = res.all_pairs("cost")
    assert pairs.pairs == () and "test" in (pairs.note or "")
    assert res.all_pairs("latency").pairs


def test_a_small_unpriced_share_keeps_the_verdict_and_says_so() -> None:
    ws = _workspace(*_frames(unpriced=0.02, seed=5))
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    res = exp.analyze(["cost"])
    row = res.to_pandas(details=True).iloc[1]
    assert not np.isnan(row.p_value) and "unpriced" in row.note
    assert next(f for f in res.health.flags if f.code == "missing_values").severity == "warning"
    assert res.total_impact("cost")["test"] is not None and res.all_pairs("cost").pairs


def test_assignment_by_version_with_a_user_in_both_arms() -> None:
    _, gens = _frames()
    gens.loc[0, "prompt_version"] = "v1" if gens.loc[0, "prompt_version"] == "v2" else "v2"
    ws = pab.Workspace()
    ws.load_frame(gens, kind="generations")
    exp = ws.create_experiment("y", "bot", {"control": "v1", "test": "v2"})
    assert exp.assigned_by == "version"
    res = exp.analyze(["latency"])
    assert res.health.multiple == 1  # the first user's generations used both versions
    units = exp.units()
    first = gens.groupby("person_id").ts.min()
    got = units.set_index("unit").first_exposure
    assert (got.loc[first.index].dt.tz_convert("UTC") == first.dt.tz_convert("UTC")).all()


def test_an_arm_that_ran_its_version_among_others_is_not_refused() -> None:
    # Every test user also made a v1 and a v3 call: the check saw each unit's smallest and
    # largest versions only (v1, v3) and refused test=v2, the version the arm did run.
    expo, gens = _frames()
    test = gens[gens.prompt_version == "v2"].drop_duplicates("distinct_id")
    extra = pd.concat([test.assign(uuid=test.uuid + "_" + v, prompt_version=v)
                       for v in ("v1", "v3")])  # fmt: skip
    ws = _workspace(expo, pd.concat([gens, extra]))
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    assert exp.analyze(["cost"]).to_pandas().n.tolist() == [100, 100]
    exp.stop()
    wrong = ws.create_experiment("w", "bot", {"control": "v1", "test": "v4"}, flag_key="flag")
    with pytest.raises(pab.NotFoundError, match="declared as prompt version 'v4'"):
        wrong.analyze(["cost"])


def test_names_that_match_nothing_are_errors_naming_what_exists() -> None:
    ws = _workspace(*_frames())
    typo = ws.create_experiment("t", "bott", {"control": "v1", "test": "v2"}, flag_key="flag")
    with pytest.raises(pab.NotFoundError, match="prompt 'bott'.*prompts in the workspace: 'bot'"):
        typo.analyze(["cost"])
    wrong = ws.create_experiment("w", "bot", {"control": "v1", "test": "v3"}, flag_key="flag")
    with pytest.raises(pab.NotFoundError, match="declared as prompt version 'v3'.*'v2'"):
        wrong.analyze(["cost"])
    by_version = ws.create_experiment(
        "v", None, {"control": "v1", "test": "v9"}, assigned_by="version"
    )
    with pytest.raises(pab.NotFoundError, match="prompt version 'v9'.*present: 'v1', 'v2'"):
        by_version.analyze(["cost"])
    by_arm = ws.create_experiment("a", None, {"A": "A", "B": "B"}, assigned_by="arm")
    with pytest.raises(pab.NotFoundError, match="arm 'A' of variant 'A'.*flags: flag"):
        by_arm.analyze(["cost"])
    with pytest.raises(pab.InvalidArgumentError, match="assigned_by"):
        ws.create_experiment("z", None, {"a": "v1", "b": "v2"}, assigned_by="flags")


@pytest.mark.parametrize("assigned_by", ["version", "arm"])
def test_assigned_by_version_counts_only_the_experiments_versions(assigned_by: str) -> None:
    # a unit's generations (and their evaluations) of a version outside the experiment are other
    # traffic: counted, they gave arm a 26x its cost with p = 1e-16
    t0, gens, evals = pd.Timestamp("2026-03-02", tz="UTC"), [], []
    for i in range(200):
        own = "3" if i % 2 == 0 else "4"
        for k, version in enumerate([own, own] + (["5"] if i % 4 == 0 else [])):
            cost = 100.0 if version == "5" else 1.0
            gens.append(dict(uuid=f"g{i}-{k}", ts=t0 + pd.Timedelta(minutes=i * 5 + k),
                             distinct_id=f"u{i}", prompt_name="p", prompt_version=version,
                             variant=version, cost_usd=cost))  # fmt: skip
            evals.append(dict(ts=t0 + pd.Timedelta(minutes=i * 5 + k, seconds=30),
                              distinct_id="judge", target_uuid=f"g{i}-{k}", name="ok",
                              passed=version != "5"))  # fmt: skip
    ws = pab.Workspace()
    ws.load_frame(pd.DataFrame(gens), kind="generations")
    ws.load_frame(pd.DataFrame(evals), kind="evaluations")
    exp = ws.create_experiment("x", "p", {"a": "3", "b": "4"}, assigned_by=assigned_by)
    df = exp.analyze(["cost", "requests", "pass_rate"]).to_pandas().set_index(["metric", "variant"])
    assert df.loc[("cost", "a"), "mean"] == df.loc[("cost", "b"), "mean"] == 2.0
    assert df.loc[("requests", "a"), "mean"] == 2.0
    assert df.loc[("pass_rate", "a"), "mean"] == df.loc[("pass_rate", "b"), "mean"] == 1.0


def test_an_unpriced_recomputed_cost_points_to_the_cost_audit() -> None:
    # after cost='recompute' the note must not tell the user to analyse with cost='recompute'
    expo, gens = _frames()
    gens = gens.assign(model="no-such-model", provider="nowhere", input_tokens=100,
                       output_tokens=50)  # fmt: skip
    ws = _workspace(expo, gens)
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    (row,) = [r for r in exp.analyze(["cost"], cost="recompute").rows if not r.is_control]
    # (no generation priced: nothing measured, not a verdict withheld beside a $0 estimate)
    assert "nothing measured" in row.note and "exp.cost_audit()" in row.note
    assert "cost='recompute'" not in row.note
    (plain,) = [r for r in exp.analyze(["cost"]).rows if not r.is_control]
    assert plain.note is None or "cost='recompute'" not in plain.note  # priced at the source


def test_a_prompt_or_version_outside_the_most_used_is_found() -> None:
    # check_source read only the 20 most used prompt names (and 50 most used versions): an
    # experiment on the 21st prompt, or on a rarely used version, was a NotFoundError although
    # its generations were there.
    expo, gens = _frames()
    filler = pd.DataFrame(
        [
            {"uuid": f"o{k}_{j}", "ts": T0, "distinct_id": f"o{j}", "prompt_name": f"other-{k}",
             "prompt_version": f"r{j % 60}"}
            for k in range(25)
            for j in range(600)
        ]
    )  # fmt: skip
    rare = gens.assign(prompt_name="other-0", uuid="rare-" + gens.uuid)
    rare["prompt_version"] = rare["prompt_version"].map({"v1": "r-ctl", "v2": "r-new"})
    ws = _workspace(expo, pd.concat([gens, filler, rare], ignore_index=True))
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag")
    a = exp.analyze(["cost"]).to_pandas()
    ref = _workspace(*_frames()).create_experiment(
        "x", "bot", {"control": "v1", "test": "v2"}, flag_key="flag"
    )
    pd.testing.assert_frame_equal(a, ref.analyze(["cost"]).to_pandas(), rtol=1e-12)
    by_version = ws.create_experiment(
        "v", "other-0", {"control": "r-ctl", "test": "r-new"}, assigned_by="version"
    )
    res = by_version.analyze(["cost"]).to_pandas()
    assert list(res.n) == [100, 100]
    with pytest.raises(pab.NotFoundError, match="prompt 'nope'.*prompts in the workspace"):
        ws.create_experiment("n", "nope", {"control": "v1", "test": "v2"}, flag_key="flag").analyze(
            ["cost"]
        )


@pytest.mark.parametrize("assigned_by", ["version", "arm"])
def test_two_variants_of_one_version_are_an_error(assigned_by: str) -> None:
    # {"control": "v1", "test": "v1"} assigned by version put every unit in control and
    # reported test with n = 0, silently.
    _, gens = _frames()
    gens["variant"] = gens["prompt_version"]
    ws = pab.Workspace()
    ws.load_frame(gens, kind="generations")
    with pytest.raises(pab.InvalidArgumentError, match="'control' and 'test'.*both.*'v1'"):
        ws.create_experiment("aa", "bot", {"control": "v1", "test": "v1"}, assigned_by=assigned_by)
    assert ws.sql("SELECT count(*) AS n FROM experiments").n[0] == 0
    # one stored before create_experiment checked it: its analysis says so
    ws.create_experiment("aa", "bot", {"control": "v1", "test": "v2"}, assigned_by=assigned_by)
    with ws.transaction() as con:
        con.execute("UPDATE experiments SET variants = "
                    "CAST(replace(CAST(variants AS VARCHAR), '\"v2\"', '\"v1\"') AS JSON)")  # fmt: skip
    exp = ws.experiment("aa")
    assert exp.variants == {"control": "v1", "test": "v1"}
    with pytest.raises(pab.InvalidArgumentError, match="'control' and 'test'.*both.*'v1'"):
        exp.analyze(["cost"])
    with pytest.raises(pab.InvalidArgumentError, match="'control' and 'test'"):
        exp.mann_whitney("cost")
