"""The analysis flags come from AnalysisOptions: one flag per field, its defaults, the same
options (and reproducing code) as the Python call."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

import promptab_nb as pab
from promptab_nb.cli._options import FLAGS, NOT_ON_CLI, flag_name, options_from_args
from promptab_nb.cli._parser import build_parser
from promptab_nb.options import AnalysisOptions

from ._helpers import FLAG, assert_one_line_error, run

FIELDS = [f.name for f in fields(AnalysisOptions)]


def _parse(*argv: str) -> AnalysisOptions:
    return options_from_args(
        build_parser().parse_args(["analyze", "x.parquet", "--flag", FLAG, *argv])
    )


@pytest.fixture(scope="module")
def window(export: Path) -> tuple[str, str]:
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    first, last = ws.engine.fetch("SELECT min(ts), max(ts) FROM exposures")[0]
    return first.date().isoformat(), last.date().isoformat()


def test_every_field_has_a_flag_or_a_reason() -> None:
    assert set(FLAGS) | set(NOT_ON_CLI) == set(FIELDS)
    assert not set(FLAGS) & set(NOT_ON_CLI)
    assert set(NOT_ON_CLI) == {"prior"}


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_help_lists_every_flag_with_its_default(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    text = " ".join(out.split())
    for name in set(FIELDS) - {"metrics", "prior"}:
        assert flag_name(name) in text, name
    defaults = AnalysisOptions()
    assert f"(default: {defaults.alpha})" in text
    assert f"(default: {defaults.method})" in text and f"(default: {defaults.multiple})" in text
    assert "--no-relative" in text and "--cuped [DAYS]" in text and "--winsorize LO,HI" in text


def test_no_flag_is_the_defaults() -> None:
    assert _parse() == AnalysisOptions()
    assert _parse().to_code() == "exp.analyze()"


def _choices(start: str, end: str) -> list[tuple[list[str], dict[str, Any]]]:
    return [
        (["--method", "bayesian", "--alpha", "0.1"], {"method": "bayesian", "alpha": 0.1}),
        (
            ["--metrics", "cost,latency", "--cuped", "--winsorize", "1,99", "--correction", "holm"],
            {
                "metrics": ["cost", "latency"],
                "cuped": True,
                "winsorize": (1, 99),
                "correction": "holm",
            },
        ),
        (
            ["--cuped", "7", "--sequential", "--no-relative", "--multiple", "first_seen"],
            {"cuped": 7, "sequential": True, "relative": False, "multiple": "first_seen"},
        ),
        (
            ["--unit", "request", "--metrics", "latency,error_rate", "--correction", "bh"],
            {"unit": "request", "metrics": ["latency", "error_rate"], "correction": "bh"},
        ),
        (["--start", start, "--end", end], {"start": start, "end": end}),
    ]


def test_same_choice_same_code_as_python(window: tuple[str, str], export: Path) -> None:
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    exp = ws.create_experiment("x", None, {"control": "v1", "test": "v2"}, flag_key=FLAG)
    for argv, kwargs in _choices(*window):
        cli_opts = _parse(*argv)
        metrics = kwargs.pop("metrics", None)
        assert cli_opts == AnalysisOptions(metrics=metrics, **kwargs), argv
        res = exp.analyze(metrics, **kwargs)
        call = "res = exp.analyze"
        assert cli_opts.resolved(exp).to_code(call, exp=exp) == res.options.to_code(call, exp=exp)
        if metrics is not None:  # with the metrics given, even the unresolved code is the same
            assert cli_opts.to_code(call, exp=exp) == res.options.to_code(call, exp=exp)


def test_analyze_with_every_flag_equals_python(
    capsys: pytest.CaptureFixture[str], export: Path, window: tuple[str, str]
) -> None:
    start, end = window
    argv = ["--metrics", "latency,error_rate", "--cuped", "--winsorize", "0,99", "--correction",
            "holm", "--no-relative", "--multiple", "first_seen", "--start", start, "--end", end]  # fmt: skip
    code, out, err = run(capsys, "analyze", export, "--flag", FLAG, "--json", *argv)
    assert code == 0, err
    doc = json.loads(out)
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    exp = ws.create_experiment("x", None, {"control": "v1", "test": "v2"}, flag_key=FLAG)
    ref = exp.analyze(
        ["latency", "error_rate"],
        cuped=True,
        winsorize=(0, 99),
        correction="holm",
        relative=False,
        multiple="first_seen",
        start=start,
        end=end,
    )
    assert doc["options"]["cuped"] == pab.options.CUPED_DAYS
    assert doc["options"]["correction"] == "holm" and doc["options"]["relative"] is False
    got = [r["p_value"] for r in doc["rows"] if not r["is_control"]]
    want = [r.p_value for r in ref.rows if not r.is_control]
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--winsorize", "1;99"], "--winsorize"),
        # a value out of range names the flag, not only the Python argument
        (["--winsorize", "5,1"], "--winsorize: winsorize[1] == 1.0"),
        (["--alpha", "1"], "--alpha: alpha == 1.0"),
        (["--cuped", "0"], "--cuped: cuped (days before exposure) == 0.0"),
        (["--cuped", "soon"], "--cuped"),
        (["--alpha", "abc"], "--alpha"),
        (["--start", "yesterday"], "start"),
        (["--unit", "request", "--cuped"], "cuped"),
        (["--cuped", "inf"], "--cuped: cuped (days before exposure) == inf"),
        # a key given twice: which was meant cannot be told (the last one used to win silently)
        (["--variants", "control=v1,test=v9,test=v2"], "--variants gives 'test' twice"),
        (["--guardrail", "cost=+5%", "--guardrail", "cost=+50%"], "--guardrail gives 'cost' twice"),
    ],
)
def test_bad_option_values_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], needle: str
) -> None:
    code, _, err = run(capsys, "analyze", tmp_path / "none.parquet", "--flag", FLAG, *argv)
    assert_one_line_error(code, err, needle)


def test_attr_errors_show_an_attribute_example(capsys: pytest.CaptureFixture[str]) -> None:
    otel = Path(__file__).resolve().parents[2] / "data" / "otel_spans.json"
    code, _, err = run(capsys, "analyze", otel, "--attr", "garbage")
    assert_one_line_error(code, err, "--attr", "e.g. prompt_version=app.prompt.version")


def test_report_takes_the_same_flags(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    wsf = tmp_path / "ab.duckdb"
    assert run(capsys, "load", export, "--workspace", wsf)[0] == 0
    args = ["--workspace", wsf, "--variants", "control=v1,test=v2", "--flag", FLAG]
    assert run(capsys, "experiments", "create", "e", *args)[0] == 0
    out_file = tmp_path / "r.html"
    code, _, err = run(capsys, "report", "e", "--workspace", wsf, "--out", out_file,
                       "--metrics", "latency", "--correction", "bh", "--sequential")  # fmt: skip
    assert code == 0, err
    html = out_file.read_text(encoding="utf-8")
    assert "correction=&#x27;bh&#x27;" in html and "sequential=True" in html
