"""The query layer (``promptab_nb.queries`` / ``ws.<query>()``) on a tiny hand-made export."""

from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd
import pytest
from _events import evaluation, expo, gen, write

import promptab_nb as pab
from promptab_nb.errors import InvalidArgumentError
from promptab_nb.queries import BaselineEstimates, DailyUnits, MetricBaseline


def _events() -> list[dict]:
    evs = [
        # "support": a, b, c on version 1 (b twice, one error); d on 10, e on 2; a also on 2
        gen("g1", "a", 0, cost=0.01, latency=1.0),
        gen("g2", "b", 10, cost=0.02, latency=2.0),
        gen("g3", "b", 20, cost=0.04, latency=4.0, error=True),
        gen("g4", "c", 30, cost=0.03, latency=3.0),
        gen("g5", "d", 40, version="10"),
        gen("g6", "e", 50, version="2"),
        gen("g7", "a", 60, version="2"),
        # "faq": one generation only (fewer than "support")
        gen("g8", "f", 70, prompt="faq"),
        # a, b, c exposed to "flag-x"; a, d to "flag-y"; f to "faq-flag" over 2 days
        expo("x1", "a", 0, "control", flag="flag-x"),
        expo("x2", "b", 0, "test", flag="flag-x"),
        expo("x3", "c", 0, "test", flag="flag-x"),
        expo("y1", "a", 0, "control", flag="flag-y"),
        expo("y2", "d", 0, "test", flag="flag-y"),
        expo("f1", "f", 0, "on", flag="faq-flag"),
        expo("f2", "g", 2 * 24 * 60, "on", flag="faq-flag"),
        # evaluations: of version 1 two pass, one fails; one N/A; one of version 2 passes
        evaluation("v1", "a", 1, "g1", True),
        evaluation("v2", "b", 11, "g2", True),
        evaluation("v3", "c", 31, "g4", False),
        evaluation("v4", "b", 21, "g3", False, applicable=False),
        evaluation("v5", "e", 51, "g6", True),
    ]
    return evs


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(_events(), tmp_path_factory.mktemp("queries"))["parquet"]


@pytest.fixture()
def ws(export: Path):
    w = pab.Workspace()
    w.load_posthog(export, progress=False)
    yield w
    w.close()


def test_prompt_names_most_generations_first_then_registry(ws) -> None:
    assert ws.prompt_names() == ["support", "faq"]
    ws.prompts.register("aaa-registry-only", "Hello {{name}}")
    assert ws.prompt_names() == ["support", "faq", "aaa-registry-only"]


def test_prompt_names_of_an_empty_workspace() -> None:
    with pab.Workspace() as w:
        assert w.prompt_names() == []
        assert w.prompt_versions("support") == []
        assert w.flags_for_prompt("support") == []
        assert w.daily_exposed_units(flag_key="f", prompt_name="support") is None


def test_prompt_versions_in_natural_order_with_registry(ws) -> None:
    assert ws.prompt_versions("support") == ["1", "2", "10"]
    ws.prompts.register("faq", "Q: {{q}}")
    assert ws.prompt_versions("faq") == ["1"]  # generations' "1" and registry version 1 merge
    assert ws.prompt_versions("no-such-prompt") == []


def test_prompt_versions_are_parameters_not_sql(ws) -> None:
    assert ws.prompt_versions("x' OR '1'='1") == []


def test_flags_for_prompt_most_shared_first(ws) -> None:
    # support users: a, b, c, d, e → flag-x reaches 3, flag-y 2; faq users: f
    assert ws.flags_for_prompt("support") == ["flag-x", "flag-y"]
    assert ws.flags_for_prompt("faq") == ["faq-flag"]
    assert ws.flags_for_prompt("unknown") == []


def test_daily_exposed_units_prefers_the_flag(ws) -> None:
    d = ws.daily_exposed_units(flag_key="faq-flag", prompt_name="faq")
    assert d == DailyUnits(units=2, days=2.0, source="exposures", key="faq-flag")
    assert d.per_day == 1.0


def test_daily_exposed_units_falls_back_to_the_prompts_users(ws) -> None:
    # Exposures within one day count as one day.
    d = ws.daily_exposed_units(flag_key="flag-x")
    assert d is not None and (d.units, d.days, d.per_day) == (3, 1.0, 3.0)
    d = ws.daily_exposed_units(flag_key="no-such-flag", prompt_name="support")
    assert d == DailyUnits(units=5, days=1.0, source="generations", key="support")
    assert ws.daily_exposed_units(prompt_name="support").source == "generations"
    assert ws.daily_exposed_units(flag_key="no-such-flag") is None
    assert ws.daily_exposed_units() is None


def test_baseline_estimates_per_user_means_and_rates(ws) -> None:
    b = ws.baseline_estimates("support", "1", ["cost", "latency", "error_rate", "pass_rate"])
    assert isinstance(b, BaselineEstimates)
    assert (b.prompt_name, b.version, b.users) == ("support", "1", 3)
    cost_per_user = [0.01, 0.06, 0.03]  # a, b (two generations), c
    assert b.get("cost") == MetricBaseline(
        "cost",
        "mean",
        pytest.approx(statistics.mean(cost_per_user)),
        pytest.approx(statistics.stdev(cost_per_user)),
        3,
        "user",
    )
    latency_per_user = [1.0, 3.0, 3.0]  # mean latency of each user's generations
    lat = b.get("latency")
    assert lat is not None and lat.kind == "mean" and lat.n == 3
    assert lat.value == pytest.approx(statistics.mean(latency_per_user))
    assert lat.sd == pytest.approx(statistics.stdev(latency_per_user))
    err = b.get("error_rate")
    assert err == MetricBaseline("error_rate", "proportion", 0.25, None, 4, "generation")
    passed = b.get("pass_rate")  # applicable evaluations of version 1's generations only
    assert passed == MetricBaseline(
        "pass_rate", "proportion", pytest.approx(2 / 3), None, 3, "evaluation"
    )


def test_baseline_estimates_leave_out_what_has_no_spread(ws) -> None:
    b = ws.baseline_estimates("support", "10", ["cost", "latency_p95", "requests", "error_rate"])
    assert b.users == 1
    assert b.get("cost") is None  # one user: no sd
    assert b.get("latency_p95") is None  # quantiles have no baseline here
    assert b.get("requests") is None
    assert b.get("error_rate") == MetricBaseline(
        "error_rate", "proportion", 0.0, None, 1, "generation"
    )
    assert ws.baseline_estimates("support", "999").metrics == {}


def test_baseline_estimates_default_metrics_and_errors(ws) -> None:
    b = ws.baseline_estimates("support", "1")
    assert list(b.metrics) == ["cost", "latency", "error_rate", "pass_rate"]
    with pytest.raises(InvalidArgumentError, match="unknown metric"):
        ws.baseline_estimates("support", "1", ["nope"])


def test_queries_take_the_workspace(ws) -> None:
    from promptab_nb import queries

    assert queries.prompt_names(ws) == ws.prompt_names()
    assert queries.baseline_estimates(ws, "support", "1", ["cost"]) == ws.baseline_estimates(
        "support", "1", ["cost"]
    )


def test_baseline_estimates_count_only_values_and_never_read_missing_as_zero() -> None:
    # latency n was 6 users where 2 had no latency at all; error_rate n 12 generations where 2
    # had no is_error; a user with one unpriced generation of two had its cost summed as if
    # that generation were free.
    t0 = pd.Timestamp("2026-03-01", tz="UTC")
    rows = []
    for u in range(6):
        for k in range(2):
            rows.append(
                dict(uuid=f"g{u}{k}", ts=t0, distinct_id=f"u{u}", prompt_name="p",
                     prompt_version="v1", latency_s=None if u < 2 else float(u + k),
                     is_error=None if u == 5 else bool(k),
                     cost_usd=None if u < 2 or (u == 2 and k == 0) else 0.01 * (u + k))
            )  # fmt: skip
    df = pd.DataFrame(rows)
    ws = pab.Workspace()
    ws.load_frame(df, kind="generations")
    b = ws.baseline_estimates("p", "v1", ["latency", "error_rate", "cost"])
    lat = df.groupby("distinct_id").latency_s.mean().dropna()
    assert (b.get("latency").n, b.get("latency").value) == (4, pytest.approx(lat.mean()))
    assert b.get("latency").sd == pytest.approx(lat.std(ddof=1))
    err = df.is_error.dropna().astype(float)
    assert (b.get("error_rate").n, b.get("error_rate").value) == (10, pytest.approx(err.mean()))
    known = df.groupby("distinct_id").cost_usd.agg(lambda s: s.sum() if s.notna().all() else None)
    known = known.dropna().astype(float)
    assert (b.get("cost").n, b.get("cost").value) == (3, pytest.approx(known.mean()))
    assert b.get("cost").sd == pytest.approx(known.std(ddof=1))
