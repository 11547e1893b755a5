"""The ``promptab`` command: each subcommand, exit codes, JSON schema, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import promptab_nb as pab
from promptab_nb import cli
from promptab_nb.results import COLUMNS

FLAG = "support-bot-prompt"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small export where test is faster (better) but fails and passes less (worse)."""
    out = tmp_path_factory.mktemp("cli") / "posthog_events"
    truth = pab.simulate.traffic(
        600,
        {"control": "v1", "test": "v2"},
        {"test": {"latency": 0.8, "error_rate": 0.10, "pass_rate": 0.55}},
        out=out,
        seed=3,
        days=4,
        flag_key=FLAG,
        progress=False,
    )
    return Path(truth.files["parquet"])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == cli.EXIT_USAGE
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("promptab: error: ")
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0]


# -- analyze ---------------------------------------------------------------------------------------
def test_analyze_prints_table_and_writes_report(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "r" / "report.html"
    code, out, err = run(capsys, "analyze", export, "--flag", FLAG, "--out", out_file)
    assert code == 0, err
    assert "ExperimentResult" in out and "latency" in out and "p-value" in out
    assert f"report: {out_file}" in out
    assert out_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_analyze_json_schema(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    code, out, _ = run(
        capsys, "analyze", export, "--flag", FLAG, "--json", "--metrics", "latency,error_rate"
    )
    assert code == 0
    assert "NaN" not in out
    doc = json.loads(out)
    assert doc["schema"] == cli.JSON_SCHEMA
    assert doc["experiment"] == FLAG and doc["flag_key"] == FLAG
    assert doc["control"] == "control"
    # variant keys discovered from the exposures, versions from the generations
    assert doc["variants"] == {"control": "v1", "test": "v2"}
    assert doc["options"]["alpha"] == 0.05 and doc["options"]["unit"] == "user"
    assert len(doc["rows"]) == 4
    for row in doc["rows"]:
        assert set(COLUMNS) <= set(row)
    control = next(r for r in doc["rows"] if r["is_control"])
    assert control["p_value"] is None and control["diff"] is None
    h = doc["health"]
    assert set(h) == {
        "exposed",
        "multiple",
        "unknown_variants",
        "srm_p_value",
        "srm_statistic",
        "expired",
        "warnings",
        "ok",
    }
    assert set(h["exposed"]) == {"control", "test"}
    assert all(v["tone"] in ("good", "bad", "neutral") for v in doc["verdicts"])
    assert doc["report"] is None and doc["regressions"] == []


def test_analyze_json_equals_python_api(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    code, out, _ = run(
        capsys,
        "analyze",
        export,
        "--flag",
        FLAG,
        "--json",
        "--method",
        "bayesian",
        "--alpha",
        "0.1",
        "--metrics",
        "latency",
    )
    assert code == 0
    doc = json.loads(out)
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    exp = ws.create_experiment("x", None, {"control": "v1", "test": "v2"}, flag_key=FLAG)
    ref = exp.analyze(["latency"], method="bayesian", alpha=0.1).to_pandas()
    treat = ref[~ref["is_control"]].iloc[0]
    row = next(r for r in doc["rows"] if not r["is_control"])
    assert row["p_value"] == pytest.approx(treat["p_value"], rel=1e-12)
    assert row["chance_to_win"] == pytest.approx(treat["chance_to_win"], rel=1e-12)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("error_rate", cli.EXIT_REGRESSION),  # higher error rate: worse
        ("pass_rate", cli.EXIT_REGRESSION),  # lower pass rate: worse (higher is better)
        ("latency", cli.EXIT_OK),  # significantly lower latency: better, not a regression
        ("cost", cli.EXIT_OK),  # no significant difference
    ],
)
def test_fail_on_regression_is_direction_aware(
    capsys: pytest.CaptureFixture[str], export: Path, metric: str, expected: int
) -> None:
    code, out, err = run(capsys, "analyze", export, "--flag", FLAG, "--fail-on-regression", metric)
    assert code == expected, err
    if expected == cli.EXIT_REGRESSION:
        assert f"worse than control on {metric}" in err
        assert "Traceback" not in err
    else:
        assert "regression" not in err


def test_fail_on_regression_adds_metric_and_reports_in_json(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, out, _ = run(
        capsys,
        "analyze",
        export,
        "--flag",
        FLAG,
        "--metrics",
        "latency",
        "--json",
        "--fail-on-regression",
        "error_rate",
    )
    assert code == cli.EXIT_REGRESSION
    doc = json.loads(out)
    assert {r["metric"] for r in doc["rows"]} == {"latency", "error_rate"}
    assert [r["variant"] for r in doc["regressions"]] == ["test"]


def test_explicit_variants_and_prompt(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    code, out, _ = run(
        capsys,
        "analyze",
        export,
        "--flag",
        FLAG,
        "--prompt",
        "support-bot",
        "--variants",
        "control=v1,test=v2",
        "--unit",
        "request",
        "--metrics",
        "latency",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["prompt_name"] == "support-bot" and doc["options"]["unit"] == "request"


def test_discover_variants_orders_control_first(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _events import expo, gen, write

    events = [
        expo("e1", "u1", 0, "b-variant"),
        expo("e2", "u2", 0, "a-variant"),
        expo("e3", "u3", 0, "control"),
        gen("g1", "u1", 1, version="7"),
    ]
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    found = cli.discover_variants(ws, "prompt-test")
    assert list(found) == ["control", "a-variant", "b-variant"]
    assert found["b-variant"] == "7" and found["control"] == "control"


# -- bad input -------------------------------------------------------------------------------------
def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "analyze", tmp_path / "nope.parquet", "--flag", FLAG)
    assert_one_line_error(code, err, "nope.parquet")


def test_unknown_flag_lists_flags(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    code, _, err = run(capsys, "analyze", export, "--flag", "no-such-flag")
    assert_one_line_error(code, err, "no-such-flag", FLAG)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--metrics", "costs"], "unknown metric 'costs'"),
        (["--fail-on-regression", "speed"], "speed"),
        (["--alpha", "1.5"], "alpha"),
        (["--variants", "control:v1"], "--variants"),
        (["--variants", "control=v1,ghost=v9"], ""),
    ],
)
def test_bad_options(
    capsys: pytest.CaptureFixture[str], export: Path, args: list[str], needle: str
) -> None:
    code, out, err = run(capsys, "analyze", export, "--flag", FLAG, *args)
    if args[1] == "control=v1,ghost=v9":  # an unexposed variant analyses, with a warning
        assert code == 0
        assert "not enough data" in out
        return
    assert_one_line_error(code, err, needle)


def test_unwritable_output(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run(capsys, "analyze", export, "--flag", FLAG, "--out", blocker / "r.html")
    assert_one_line_error(code, err, "cannot write the report")
    code, _, err = run(capsys, "analyze", export, "--flag", FLAG, "--out", tmp_path)
    assert_one_line_error(code, err, "directory")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "analyze")
    assert code == 2 and "required" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys)
    assert code == 2 and "usage" in err
    code, _, err = run(capsys, "experiments")
    assert code == 2 and "list" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["analyze"],
        ["experiments"],
        ["experiments", "create"],
        ["report"],
        ["simulate", "traffic"],
        ["simulate", "power"],
        ["offline", "run"],
        ["demo"],
    ],
)
def test_help_has_examples(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert "examples:" in out and "promptab" in out


# -- workspace commands ----------------------------------------------------------------------------
def test_experiment_lifecycle(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    wsf = tmp_path / "ab.duckdb"
    code, out, err = run(capsys, "load", export, "--workspace", wsf)
    assert code == 0, err
    assert "LoadReport" in out
    code, out, err = run(
        capsys,
        "experiments",
        "create",
        "support-v2",
        "--workspace",
        wsf,
        "--prompt",
        "support-bot",
        "--variants",
        "control=v1,test=v2",
        "--flag",
        FLAG,
        "--split",
        "50,50",
        "--ends-at",
        "2099-01-01",
    )
    assert code == 0, err
    assert "support-v2" in out and "running" in out
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--json")
    assert code == 0
    (rec,) = json.loads(out)
    assert rec["name"] == "support-v2" and rec["status"] == "running"

    report = tmp_path / "support.html"
    code, out, err = run(
        capsys, "report", "support-v2", "--workspace", wsf, "--out", report, "--metrics", "latency"
    )
    assert code == 0, err
    assert out.strip() == str(report) and "<!DOCTYPE html>" in report.read_text(encoding="utf-8")

    code, _, err = run(
        capsys, "experiments", "conclude", "support-v2", "--winner", "nobody", "--workspace", wsf
    )
    assert_one_line_error(code, err, "nobody")
    code, out, _ = run(
        capsys, "experiments", "conclude", "support-v2", "--winner", "test", "--workspace", wsf
    )
    assert code == 0 and "concluded" in out
    code, _, err = run(capsys, "experiments", "stop", "support-v2", "--workspace", wsf)
    assert_one_line_error(code, err, "concluded")
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--status", "concluded")
    assert code == 0 and "winner='test'" in out

    # a second one, stopped; a duplicate name is a usage error
    args = ["--workspace", wsf, "--prompt", "support-bot", "--variants", "control=v1,test=v2"]
    assert run(capsys, "experiments", "create", "other", *args)[0] == 0
    code, _, err = run(capsys, "experiments", "create", "other", *args)
    assert_one_line_error(code, err, "already exists")
    code, out, _ = run(capsys, "experiments", "stop", "other", "--workspace", wsf)
    assert code == 0 and "stopped" in out


def test_missing_workspace_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wsf = tmp_path / "none.duckdb"
    code, _, err = run(capsys, "experiments", "list", "--workspace", wsf)
    assert_one_line_error(code, err, str(wsf))
    assert not wsf.exists()
    code, _, err = run(capsys, "report", "x", "--workspace", wsf, "--out", tmp_path / "r.html")
    assert_one_line_error(code, err, str(wsf))


def test_report_unknown_experiment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wsf = tmp_path / "ab.duckdb"
    pab.Workspace(wsf).close()
    code, _, err = run(capsys, "report", "ghost", "--workspace", wsf, "--out", tmp_path / "r.html")
    assert_one_line_error(code, err, "ghost")


# -- simulate, offline, demo -----------------------------------------------------------------------
def test_simulate_traffic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys,
        "simulate",
        "traffic",
        "--users",
        "200",
        "--effect",
        "test.latency=0.9",
        "--seed",
        "1",
        "--formats",
        "parquet,csv",
        "--out",
        tmp_path / "sim",
        "--json",
    )
    assert code == 0, err
    truth = json.loads(out)
    assert truth["seed"] == 1 and truth["users"] == 200
    assert (tmp_path / "sim.parquet").is_file() and (tmp_path / "sim.csv").is_file()
    code, _, err = run(capsys, "simulate", "traffic", "--effect", "latency", "--out", tmp_path)
    assert_one_line_error(code, err, "VARIANT.METRIC=NUMBER")
    code, _, err = run(capsys, "simulate", "traffic", "--users", "-3", "--out", tmp_path / "x")
    assert_one_line_error(code, err, "users")


def test_simulate_studies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "simulate", "aa", "--sims", "300", "--n-per-arm", "200", "--seed", "1"
    )
    assert code == 0 and "false-positive rate" in out
    code, out, _ = run(
        capsys,
        "simulate",
        "power",
        "--effect",
        "0.1",
        "--n-per-arm",
        "100,400",
        "--sims",
        "200",
        "--seed",
        "1",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["n_per_arm"] for r in rows] == [100, 400]
    assert rows[0]["power"] < rows[1]["power"]
    code, out, _ = run(
        capsys, "simulate", "peeking", "--sims", "200", "--n-per-arm", "200", "--seed", "1"
    )
    assert code == 0 and "looks" in out
    code, _, err = run(capsys, "simulate", "power", "--effect", "0.1", "--n-per-arm", "many")
    assert_one_line_error(code, err, "--n-per-arm")


def test_offline_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "items.csv"
    data.write_text(
        "item_id,question,expected\n" + "".join(f"i{i},{i}+{i},{2 * i}\n" for i in range(12))
    )
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("Q: {{question}}")
    b.write_text("Think step by step. Q: {{question}}")
    code, out, err = run(
        capsys,
        "offline",
        "run",
        data,
        "--prompts",
        a,
        b,
        "--model",
        "demo",
        "--repeats",
        "2",
        "--scorers",
        "numeric_close",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert {r["metric"] for r in rows} >= {"numeric_close"}
    code, _, err = run(capsys, "offline", "run", data, "--prompts", a, b, "--model", "gpt-4o")
    assert_one_line_error(code, err, "demo")
    code, _, err = run(capsys, "offline", "run", tmp_path / "no.csv", "--prompts", a, b)
    assert_one_line_error(code, err, "no.csv")


def test_demo(capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "posthog_events.parquet").write_bytes(export.read_bytes())
    out_file = tmp_path / "reports" / "demo.html"
    code, out, err = run(capsys, "demo", "--data", data, "--out", out_file)
    assert code == 0, err
    assert "pass_rate" in out and f"report: {out_file}" in out
    assert out_file.is_file()
    code, _, err = run(capsys, "demo", "--data", tmp_path / "empty", "--out", out_file)
    assert_one_line_error(code, err, "make_sample_data")


def test_console_script_subprocess(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "promptab"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "promptab_nb.cli"]
    proc = subprocess.run(
        [*cmd, "analyze", str(tmp_path / "missing.parquet"), "--flag", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("promptab: error: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "promptab" in proc.stdout
