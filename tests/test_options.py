"""AnalysisOptions: defaults written once, checks that name the option, and the code it prints."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _events import FLAG, synthetic_events, write

import promptab_nb as pab
from promptab_nb.options import CUPED_DAYS, AnalysisOptions, options_of
from promptab_nb.stats import GaussianPrior

VARIANTS = {"control": "1", "test": "2"}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(synthetic_events(users=120, seed=3), tmp_path_factory.mktemp("opts"))["parquet"]


@pytest.fixture()
def exp(export: Path) -> Iterator[Any]:
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    yield ws.create_experiment("opts", "support", VARIANTS, flag_key=FLAG)
    ws.close()


def test_defaults() -> None:
    o = AnalysisOptions()
    assert (o.metrics, o.unit, o.method, o.alpha, o.relative) == (
        None,
        None,
        "frequentist",
        0.05,
        True,
    )
    assert (o.cuped, o.winsorize, o.correction, o.sequential, o.multiple) == (
        None,
        None,
        None,
        False,
        "exclude",
    )
    assert (o.start, o.end, o.prior) == (None, None, None)
    assert o.level == pytest.approx(0.95) and not o.bayesian
    assert o.non_defaults() == {} and o.to_code() == "exp.analyze()"
    assert pab.AnalysisOptions is AnalysisOptions


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 1.5}, "alpha == 1.5"),
        ({"alpha": 0}, "alpha"),
        ({"method": "bayes"}, "method"),
        ({"unit": "session"}, "unit"),
        ({"correction": "bonf"}, "correction"),
        ({"alternative": "smaller"}, "alternative"),
        ({"alternative": {"cost": "lower"}}, r"alternative\['cost'\]"),
        ({"alternative": 3}, "alternative == 3"),
        ({"multiple": "last_seen"}, "multiple"),
        ({"relative": "yes"}, "relative == 'yes'"),
        ({"sequential": 1}, "sequential == 1"),
        ({"cuped": -3}, "cuped"),
        ({"cuped": float("inf")}, "cuped .days before exposure. == inf, must be <= 36525"),
        ({"winsorize": (5,)}, "winsorize"),
        ({"winsorize": (50, 10)}, r"winsorize\[1\]"),
        ({"metrics": ["nope"]}, "unknown metric 'nope'"),
        ({"metrics": ["cost", "cost"]}, "duplicate"),
        ({"metrics": []}, "metrics is empty"),
        ({"start": "tomorrow"}, "start == 'tomorrow'"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "end == .* is not after start"),
        ({"prior": (0, 1)}, "prior"),
        ({"cuped": True, "unit": "request"}, "cuped needs unit='user'"),
    ],
)
def test_invalid_options_name_the_option(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(pab.InvalidArgumentError, match=match):
        AnalysisOptions(**kwargs)


def test_normalised_values() -> None:
    assert AnalysisOptions(cuped=True).cuped == CUPED_DAYS == 14.0
    assert AnalysisOptions(cuped=False).cuped is None
    assert AnalysisOptions(cuped=7).cuped == 7.0
    assert AnalysisOptions(winsorize=[1, 99]).winsorize == (1.0, 99.0)
    assert AnalysisOptions(metrics="cost").metrics == ("cost",)
    assert AnalysisOptions(alpha=1 / 10).alpha == 0.1
    start = AnalysisOptions(start="2026-03-01").start
    assert start == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with pytest.raises(dataclasses.FrozenInstanceError):
        AnalysisOptions().alpha = 0.1  # type: ignore[misc]


def test_non_defaults_in_field_order() -> None:
    o = AnalysisOptions(method="bayesian", cuped=True, metrics=["cost"], sequential=True)
    assert list(o.non_defaults().items()) == [
        ("metrics", ("cost",)),
        ("method", "bayesian"),
        ("cuped", 14.0),
        ("sequential", True),
    ]


def test_to_code_formats_values() -> None:
    o = AnalysisOptions(
        metrics=["cost", pab.Metric("tok", "input_tokens")],
        winsorize=(0, 99.5),
        start=dt.date(2026, 3, 1),
        prior=GaussianPrior(0.0, 0.04),
    )
    code = o.to_code()
    assert code.startswith("exp.analyze(\n    ['cost', pab.Metric(")
    assert "winsorize=(0, 99.5)" in code and "start='2026-03-01T00:00:00+00:00'" in code
    assert "prior=pab.stats.GaussianPrior(mean=0.0, variance=0.04)" in code
    assert AnalysisOptions(alpha=0.1).to_code("ws.experiment('x').analyze") == (
        "ws.experiment('x').analyze(alpha=0.1)"
    )


def test_replace_and_options_of() -> None:
    base = AnalysisOptions(alpha=0.1)
    assert base.replace(method="bayesian").non_defaults() == {"method": "bayesian", "alpha": 0.1}
    with pytest.raises(pab.InvalidArgumentError, match="alpha"):
        base.replace(alpha=2)
    assert options_of(None) == AnalysisOptions()
    assert options_of(base, alpha=0.05) is base  # a default keyword does not override
    assert options_of(base, sequential=True).non_defaults() == {"alpha": 0.1, "sequential": True}


def test_resolved_fills_in_the_experiment(exp: Any) -> None:
    o = AnalysisOptions().resolved(exp)
    assert o.unit == exp.unit == "user"
    assert o.metrics == ("cost", "latency", "error_rate", "pass_rate")
    custom = pab.Metric("tok", "input_tokens")
    kept = AnalysisOptions(metrics=["cost", custom]).resolved(exp)
    assert kept.metrics == ("cost", custom)  # built-ins by name, custom metrics as objects
    assert [m.name for m in kept.metric_objects()] == ["cost", "tok"]
    with pytest.raises(pab.InvalidArgumentError, match="'requests' counts events per user"):
        AnalysisOptions(unit="request", metrics=["requests"]).resolved(exp)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metrics": ["cost", "latency"], "alpha": 0.1},
        {"metrics": ["latency"], "method": "bayesian", "correction": "holm"},
        {"metrics": ["cost"], "winsorize": (0, 99), "relative": False},
        {"metrics": ["error_rate"], "unit": "request", "sequential": True},
    ],
)
def test_to_code_round_trips_through_eval(exp: Any, kwargs: dict[str, Any]) -> None:
    opts = AnalysisOptions(**kwargs)
    direct = exp.analyze(options=opts)
    again = eval(opts.to_code(exp=exp), {"exp": exp, "pab": pab})
    assert again.options == direct.options == opts.resolved(exp)
    assert again.to_pandas().equals(direct.to_pandas())


def test_to_code_leaves_out_the_experiments_own_unit(exp: Any) -> None:
    assert AnalysisOptions(unit="user").to_code(exp=exp) == "exp.analyze()"
    assert AnalysisOptions(unit="request").to_code(exp=exp) == "exp.analyze(unit='request')"


def test_one_metric_object_or_a_bad_type() -> None:
    tok = pab.Metric("tok", "input_tokens")
    assert AnalysisOptions(metrics=tok).metrics == (tok,)
    with pytest.raises(pab.InvalidArgumentError, match="metrics == 5"):
        AnalysisOptions(metrics=5)  # type: ignore[arg-type]


def test_alternative_per_metric_and_for_all() -> None:
    opts = AnalysisOptions(alternative={"cost": "less"})
    assert opts.alternative == (("cost", "less"),)
    assert opts.alternative_for("cost") == "less"
    assert opts.alternative_for("latency") == "two-sided"
    assert AnalysisOptions(alternative="greater").alternative_for("x") == "greater"
    assert AnalysisOptions(alternative="two-sided").alternative is None
    assert opts.to_code() == "exp.analyze(alternative={'cost': 'less'})"
    with pytest.raises(pab.InvalidArgumentError, match="alternative names metric 'nope'"):
        AnalysisOptions(metrics=["cost"], alternative={"nope": "less"}).resolved(_Exp())


class _Exp:
    unit = "user"
    metrics = None


def test_alternative_flag_on_the_cli() -> None:
    import argparse

    from promptab_nb.cli._options import add_analysis_flags, options_from_args

    p = argparse.ArgumentParser()
    add_analysis_flags(p)
    opts = options_from_args(p.parse_args(["--alternative", "cost=less,pass_rate=greater"]))
    assert opts.alternative == (("cost", "less"), ("pass_rate", "greater"))
    assert options_from_args(p.parse_args(["--alternative", "less"])).alternative == "less"
    assert options_from_args(p.parse_args(["--correction", "by"])).correction == "by"
