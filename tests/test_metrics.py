"""Metric definitions: validation that names the argument, kinds, resolve() and the built-ins."""

from __future__ import annotations

import dataclasses

import pytest

import promptab_nb as pab
from promptab_nb import schema
from promptab_nb.metrics import BUILTIN, DEFAULT, QUANTILES, Metric, resolve


def test_defaults_and_kind() -> None:
    m = Metric("tok", "input_tokens")
    assert (m.agg, m.source, m.direction, m.unit, m.label) == (
        "sum",
        "generations",
        "lower",
        "",
        "",
    )
    assert m.kind == "mean" and m.description == "tok"
    assert Metric("err", "is_error", "rate").kind == "ratio"
    for agg in QUANTILES:
        assert Metric("lat", "latency_s", agg).kind == "quantile"  # type: ignore[arg-type]
    assert Metric("n", "uuid", "count").kind == "mean"
    assert Metric("x", "latency_s", label="mean latency").description == "mean latency"
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.name = "other"  # type: ignore[misc]
    assert pab.Metric is Metric


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"column": "cost_usd", "source": "events"}, "source"),
        ({"column": "cost_usd", "agg": "median"}, "agg"),
        ({"column": "cost_usd", "direction": "up"}, "direction"),
        ({"column": "price"}, "column 'price' is not in generations"),
        ({"column": "latency_s", "agg": "rate"}, "agg='rate' needs a boolean column"),
        ({"column": "cost_usd", "source": "evaluations"}, "is not in evaluations"),
    ],
)
def test_invalid_metric_names_the_argument(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(pab.InvalidArgumentError, match=match):
        Metric("m", **kwargs)  # type: ignore[arg-type]


def test_builtins_are_valid_and_named_by_key() -> None:
    assert set(DEFAULT) <= set(BUILTIN)
    for name, m in BUILTIN.items():
        assert m.name == name
        assert m.column in schema.columns(m.source)
        assert m.label  # shown in tables and the report
    assert BUILTIN["pass_rate"].source == "evaluations"
    assert BUILTIN["pass_rate"].direction == "higher" and BUILTIN["cost"].direction == "lower"
    assert (BUILTIN["cost"].unit, BUILTIN["latency"].unit, BUILTIN["error_rate"].unit) == (
        "USD",
        "s",
        "%",
    )
    assert BUILTIN["latency_p95"].kind == "quantile"


def test_resolve() -> None:
    assert [m.name for m in resolve(None)] == list(DEFAULT)
    assert resolve("cost") == [BUILTIN["cost"]]
    custom = Metric("tok", "input_tokens")
    assert resolve(custom) == [custom]
    assert resolve(["latency", custom]) == [BUILTIN["latency"], custom]
    assert resolve(("cost",)) == [BUILTIN["cost"]]


@pytest.mark.parametrize(
    ("metrics", "match"),
    [
        (["latency", "speed"], "unknown metric 'speed'; built-in metrics: cost, latency"),
        ([3], "unknown metric 3"),
        (["cost", Metric("cost", "cost_usd")], "duplicate names"),
        ([], "metrics is empty"),
    ],
)
def test_resolve_errors(metrics: list[object], match: str) -> None:
    with pytest.raises(pab.InvalidArgumentError, match=match):
        resolve(metrics)  # type: ignore[arg-type]


@pytest.mark.parametrize("column", ["model", "ts", "prompt_version"])
def test_a_text_or_time_column_is_not_summed(column: str) -> None:
    with pytest.raises(pab.InvalidArgumentError, match="needs a numeric column"):
        pab.Metric("x", column, "mean")
    assert pab.Metric("n", column, "count").kind == "mean"


def test_any_quantile_metric() -> None:
    from promptab_nb.errors import InvalidArgumentError
    from promptab_nb.metrics import BUILTIN, Metric

    m = Metric("lat_p75", "latency_s", quantile=0.75, unit="s")
    assert (m.agg, m.kind, m.q) == ("quantile", "quantile", 0.75)
    assert eval(repr(m), {"Metric": Metric}) == m
    assert [BUILTIN[f"latency_p{k}"].q for k in (50, 90, 95, 99)] == [0.5, 0.9, 0.95, 0.99]
    assert BUILTIN["cost"].q is None
    with pytest.raises(InvalidArgumentError, match="quantile"):
        Metric("x", "latency_s", quantile=1.5)
    with pytest.raises(InvalidArgumentError, match="needs quantile="):
        Metric("x", "latency_s", agg="quantile")
    with pytest.raises(InvalidArgumentError, match="give one of them"):
        Metric("x", "latency_s", agg="mean", quantile=0.5)


def test_describe_names_the_unit_of_analysis() -> None:
    # one wording for every result: "per user" reads "per request" under unit="request"
    assert BUILTIN["cost"].describe("user") == BUILTIN["cost"].description == "cost per user (USD)"
    assert BUILTIN["cost"].describe() == "cost per user (USD)"
    assert BUILTIN["cost"].describe("request") == "cost per request (USD)"
    assert BUILTIN["latency"].describe("request") == "mean latency per request (s)"
    assert BUILTIN["tokens_out"].describe("request") == "output tokens per request"
    assert BUILTIN["error_rate"].describe("request") == "share of generations that fail"
    custom = Metric("spend", "cost_usd", label="spend per username")
    assert custom.describe("request") == "spend per username"  # a word, not a prefix
    assert Metric("spend", "cost_usd").describe("request") == "spend"


@pytest.mark.parametrize("name", ["", "  ", " cost", 42, None])
def test_a_metric_needs_a_name(name) -> None:
    # Metric("", "latency_s") was accepted: its table rows had an empty metric cell and
    # res.metric("") was the only way to reach it.
    with pytest.raises(pab.InvalidArgumentError, match="name"):
        pab.Metric(name, "latency_s")
