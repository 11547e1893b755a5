"""One choice of analysis options, made on every surface, gives the same AnalysisOptions and the
same reproducing code: Python, the dashboard, the CLI flags and the report. (Spark's result
carries the options of the workspace analysis: tests/engines/test_spark.py::assert_same.)"""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest
from _events import FLAG

import promptab_nb as pab
from promptab_nb.cli._options import options_from_args
from promptab_nb.cli._parser import build_parser
from promptab_nb.options import AnalysisOptions

METRICS = ["latency", "cost"]
CHOICE = {"method": "bayesian", "alpha": 0.1, "cuped": True, "winsorize": (0, 99),
          "cost": "recompute"}  # fmt: skip
CALL = "res = exp.analyze"


@pytest.fixture()
def exp(loaded):
    return loaded[1]


def test_every_surface_gives_the_same_options_and_code(exp) -> None:
    res = exp.analyze(METRICS, **CHOICE, correction="holm")
    want = res.options.to_code(CALL, exp=exp)

    # the dashboard's controls
    from promptab_nb.widgets import ResultsDashboard

    d = ResultsDashboard(exp)
    d.metrics.value = tuple(METRICS)
    d.method.value, d.alpha.value, d.cuped.value = "bayesian", 0.1, True
    d.winsorize.value = "0–99th pct"
    d.correction.value = "holm"
    d.cost.value = "recompute"
    assert d.options().resolved(exp) == res.options
    assert d.code == want

    # the CLI's flags
    argv = ["analyze", "x.parquet", "--flag", FLAG, "--metrics", ",".join(METRICS)]
    argv += ["--method", "bayesian", "--alpha", "0.1", "--cuped", "--winsorize", "0,99"]
    argv += ["--correction", "holm", "--cost", "recompute"]
    cli = options_from_args(build_parser().parse_args(argv))
    assert cli.resolved(exp) == res.options
    assert cli.to_code(CALL, exp=exp) == want

    # the report's reproducing code, and the code runs to the same options
    from promptab_nb.report import reproducing_code

    assert want in reproducing_code(res, exp)
    again = eval(want.removeprefix("res = "), {"exp": exp, "pab": pab})
    assert again.options == res.options


def test_defaults_are_defined_once() -> None:
    """exp.analyze's keyword defaults are read from AnalysisOptions, not written again."""
    defaults = AnalysisOptions()
    sig = inspect.signature(pab.Experiment.analyze)
    for f in fields(AnalysisOptions):
        if f.name == "metrics":
            continue
        assert sig.parameters[f.name].default == getattr(defaults, f.name), f.name
    assert set(sig.parameters) - {"self", "options"} == {f.name for f in fields(AnalysisOptions)}
