"""The cumulative analysis per period (analysis/_over_time.py): bounded by the data."""

from __future__ import annotations

import math

import pytest

from ._scenarios import workspace


def _insert(ws, ts: str, user: str = "test-0", version: str = "2") -> None:
    # Straight into the table: the loader may reject such rows, the analysis must not rely on it.
    with ws.transaction() as con:
        con.execute(
            "INSERT INTO generations (uuid, ts, distinct_id, prompt_name, prompt_version, "
            "latency_s, cost_usd) VALUES (?, CAST(? AS TIMESTAMPTZ), ?, 'support', ?, 1.0, 0.01)",
            [f"bad-{ts}", ts, user, version],
        )


@pytest.fixture()
def small(tmp_path):
    ws, exp = workspace(
        tmp_path,
        {
            "control": [[{"latency": 1.0 + u / 100}] for u in range(60)],
            "test": [[{"latency": 1.5 + u / 100}] for u in range(60)],
        },
    )
    yield ws, exp
    ws.close()


@pytest.mark.parametrize("ts", ["infinity", "-infinity", "9999-12-31 00:00:00+00"])
def test_absurd_timestamps_add_no_periods(small, ts: str) -> None:
    ws, exp = small
    before = exp.analyze_over_time("latency")
    _insert(ws, ts)
    after = exp.analyze_over_time("latency")
    ends = [r["period_end"] for r in after.records]
    assert len(ends) <= len(before.records) + 1  # at most the period "now" is added
    assert max(ends).year < 9999


def test_over_time_periods_are_those_with_data(small) -> None:
    ws, exp = small
    _insert(ws, "2026-06-01 00:00:00+00")  # three months after the exposures
    ot = exp.analyze_over_time("latency")
    assert len(ot.records) == 2  # the exposure day and the day of the late event, no gap days


def _unpriced(tmp_path, users: int = 60):
    # a third of the test arm's generations have no cost, and the test arm is cheaper anyway
    return workspace(tmp_path, {
        "control": [[{"cost": 0.02}] for _ in range(users)],
        "test": [[{"cost": None if u % 3 == 0 else 0.01}] for u in range(users)],
    })  # fmt: skip


def test_over_time_withholds_what_analyze_withholds(tmp_path) -> None:
    ws, exp = _unpriced(tmp_path)
    (final,) = [r for r in exp.analyze(["cost"]).rows if not r.is_control]
    assert final.p_value != final.p_value and "verdict withheld" in final.note
    res = exp.analyze_over_time("cost")
    assert all(r["p_value"] != r["p_value"] and "are unpriced in the export" in r["note"]
               for r in res.records)  # fmt: skip
    assert all(math.isnan(r.get("seq_p_value", math.nan)) for r in res.records)
    assert "note" in repr(res)
    # under the minimum sample in an arm: no p-value either, whatever the difference
    ws2, small = workspace(tmp_path / "s", {
        "control": [[{"latency": 1.0}] for _ in range(19)],
        "test": [[{"latency": 3.0 + u / 100}] for u in range(33)],
    })  # fmt: skip
    for r in small.analyze_over_time("latency").records:
        assert r["p_value"] != r["p_value"] and "need 50 per arm" in r["note"]


def test_a_period_whose_arm_has_no_priced_generation_measures_nothing(tmp_path) -> None:
    # every control generation unpriced: each period showed a difference of $0 with a
    # sequential interval of $0 to $0 beside the withheld p-value, as analyze() did
    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": None, "$ai_model": "no-such-model"}] for _ in range(60)],
        "test": [[{"cost": 0.01 + u * 1e-4}] for u in range(60)],
    })  # fmt: skip
    (final,) = [r for r in exp.analyze(["cost"]).rows if not r.is_control]
    res = exp.analyze_over_time("cost")
    assert res.records
    for r in res.records:
        assert all(math.isnan(r[k]) for k in ("estimate", "ci_low", "ci_high", "p_value",
                                              "diff", "seq_ci_low", "seq_ci_high"))  # fmt: skip
        assert r["note"].startswith("all generations of control (")
        assert "nothing measured; analyse with cost='recompute'" in r["note"]
    assert final.note.startswith("all generations of control (60)")
    # the fix follows the cost option (it said "analyse with cost='recompute'" under it too)
    pytest.importorskip("genai_prices")
    note = exp.analyze_over_time("cost", cost="recompute").records[-1]["note"]
    assert "have no recomputed cost: nothing measured" in note and "exp.cost_audit()" in note
    assert "cost='recompute'" not in note
    ws.close()


def test_evaluations_count_at_their_generations_time(small) -> None:
    # A judge whose clock runs two days behind logs each verdict before the generation (and the
    # unit's exposure): analyze() attributes it to the generation's time, but over time it was
    # bucketed by its own, so every period read pass_rate NaN.
    ws, exp = small
    with ws.transaction() as con:
        con.execute(
            """INSERT INTO evaluations (uuid, ts, distinct_id, target_uuid, name, passed,
                                        applicable)
               SELECT 'ev-' || uuid, ts - INTERVAL 2 DAY, distinct_id, uuid, 'judge',
                      (hash(uuid) % 3 <> 0) OR prompt_version = '2', true
               FROM generations"""
        )
    (final,) = [r for r in exp.analyze(["pass_rate"], relative=False).rows if not r.is_control]
    last = exp.analyze_over_time("pass_rate", relative=False).records[-1]
    assert last["n_treatment"] == final.n == 60
    assert last["estimate"] == pytest.approx(final.diff, rel=1e-9)
    assert final.diff > 0


@pytest.mark.parametrize("relative", ["yes", 1, None])
def test_over_time_checks_relative_as_analyze_does(small, relative) -> None:
    # before anything is read, as analyze() does: on an experiment without data it was
    # NotFoundError (no exposures), the bad argument unsaid; with data the query ran first
    import promptab_nb as pab

    ws, _ = small
    empty = ws.create_experiment("no-data", "other", {"control": "1", "test": "2"},
                                 flag_key="no-such-flag")  # fmt: skip
    for call in (
        lambda: empty.analyze(["latency"], relative=relative),
        lambda: empty.analyze_over_time("latency", relative=relative),
    ):
        with pytest.raises(pab.InvalidArgumentError, match="relative == .*must be True or False"):
            call()


@pytest.fixture()
def busy(tmp_path):
    import numpy as np

    rng = np.random.default_rng(8)
    arms = {
        v: [
            [
                {"latency": float(rng.gamma(2, scale)), "error": bool(rng.random() < share)}
                for _ in range(1 + u % 4)
            ]
            for u in range(120)
        ]
        for v, scale, share in (("control", 0.5, 0.1), ("test", 0.6, 0.2))
    }
    ws, exp = workspace(tmp_path, arms)
    yield ws, exp
    ws.close()


WINDOW = {"start": "2026-03-01T12:00:00Z", "end": "2026-03-01T16:30:00Z"}


@pytest.mark.parametrize(
    "kw", [{"unit": "request"}, WINDOW, {"unit": "request", **WINDOW}], ids=str
)
def test_the_last_period_is_the_analysis_of_the_same_window_and_unit(busy, kw) -> None:
    import promptab_nb as pab

    # analyze_over_time read every exposure and event, per user, whatever window and unit the
    # analysis it illustrates used (the report drew it beside analyze(start=..., unit=...))
    _, exp = busy
    for m in ("latency", "error_rate"):
        row = exp.analyze([m], **kw).rows[1]
        records = exp.analyze_over_time(m, relative=False, freq="hour", **kw).records
        assert len(records) > 2
        last = records[-1]
        assert last["n_treatment"] == row.n
        assert last["estimate"] == pytest.approx(row.diff, rel=1e-9)
        assert last["p_value"] == pytest.approx(row.p_value, rel=1e-6) and row.p_value < 0.05
    with pytest.raises(pab.InvalidArgumentError, match="counts events per user"):
        exp.analyze_over_time("requests", unit="request")


def test_over_time_per_request_of_an_experiment_assigned_by_version(busy) -> None:
    ws, flagged = busy
    flagged.stop()
    exp = ws.create_experiment("by-version", "support", {"control": "1", "test": "2"},
                               assigned_by="version", unit="request")  # fmt: skip
    for m in ("latency", "error_rate"):
        row = exp.analyze([m]).rows[1]
        # the experiment's unit is the default, as for analyze() (it was "user")
        over = exp.analyze_over_time(m, relative=False)
        assert over.unit == "request"
        last = over.records[-1]
        assert last["n_treatment"] == row.n
        assert last["estimate"] == pytest.approx(row.diff, rel=1e-9)
        assert last["p_value"] == pytest.approx(row.p_value, rel=1e-6)


def test_each_period_relative_interval_agrees_with_its_p_value() -> None:
    # The sample's error_rate: analyze() gives +74.1 % with a CI of +1.7 % to +241.6 % (the
    # delta-method CI, -23.5 % to +171.6 %, disagreed with p = 0.043 and was replaced by the
    # test's own, Fieller's); the curve's last period still read -23.5 % to +171.6 % beside
    # p = 0.043, and the earlier periods could disagree alike.
    from pathlib import Path

    import promptab_nb as pab

    data = Path(__file__).resolve().parents[2] / "data" / "posthog_events.parquet"
    ws = pab.Workspace()
    ws.load_posthog(data, progress=False)
    exp = ws.create_experiment("x", "support-bot", {"control": "v1", "test": "v2"},
                               flag_key="support-bot-prompt")  # fmt: skip
    row = exp.analyze(["error_rate"]).rows[1]
    records = exp.analyze_over_time("error_rate").records
    last = records[-1]
    assert (last["ci_low"], last["ci_high"]) == pytest.approx((row.rel_ci_low, row.rel_ci_high))
    assert last["p_value"] == pytest.approx(row.p_value) and row.p_value < 0.05
    assert row.rel_ci_low > 0
    for r in records:
        if r["p_value"] == r["p_value"] and r["ci_low"] == r["ci_low"]:
            assert (not r["ci_low"] <= 0 <= r["ci_high"]) == (r["p_value"] < 0.05), r
    ws.close()


def test_over_time_states_an_unpriced_share_under_the_limit_beside_its_p_value(tmp_path) -> None:
    # 2 of 60 control users priced nowhere (4 of 120 generations, 3.3 %): analyze() keeps the
    # p-value and says the share; the over-time records kept the p-value without a word (their
    # note withholds the p-value, so it cannot say it).
    U = {"cost": None}
    ws, exp = workspace(tmp_path, {
        "control": [[{"cost": 0.02 + i / 1000}, {"cost": 0.02}] for i in range(58)] + [[U, U]] * 2,
        "test": [[{"cost": 0.021 + i / 1000}, {"cost": 0.02}] for i in range(60)],
    })  # fmt: skip
    (row,) = [r for r in exp.analyze(["cost"]).rows if not r.is_control]
    assert row.note == "3.3% of an arm's generations are unpriced (no cost)" and row.p_value > 0
    for rec in exp.analyze_over_time("cost", relative=False).records:
        assert rec["note"] is None
        assert rec["missing_share"] == pytest.approx(4 / 120)
        assert rec["missing_note"] == row.note
    last = exp.analyze_over_time("cost", relative=False).records[-1]
    assert last["p_value"] == pytest.approx(row.p_value, rel=1e-9)
    # no missing value: nothing said; over the limit: said beside the note that withholds
    plain = exp.analyze_over_time("latency").records[-1]
    assert plain["missing_share"] == 0 and plain["missing_note"] is None
    ws.close()
    ws, exp = _unpriced(tmp_path / "over")
    last = exp.analyze_over_time("cost").records[-1]
    assert math.isnan(last["p_value"]) and "are unpriced in the export (> 5%)" in last["note"]
    assert last["missing_note"] == "33.3% of an arm's generations are unpriced (no cost)"
    ws.close()
