"""``promptab analyze`` and ``promptab demo``: table, report, JSON schema, regressions, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import promptab_nb as pab
from promptab_nb import cli
from promptab_nb.results import COLUMNS

from ._helpers import FLAG, assert_one_line_error, run


# -- analyze ---------------------------------------------------------------------------------------
def test_analyze_prints_table_and_writes_report(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "r" / "report.html"
    code, out, err = run(capsys, "analyze", export, "--flag", FLAG, "--out", out_file)
    assert code == 0, err
    assert f"Experiment {FLAG}" in out and "latency" in out and "p-value" in out
    assert f"report: {out_file}" in out
    assert out_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_analyze_reads_a_file_whose_name_has_glob_characters(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    # 'ex[1].parquet' was read as a pattern: "no file matches; check the path or the glob"
    odd = tmp_path / "ex[1].parquet"
    odd.write_bytes(export.read_bytes())
    code, out, err = run(capsys, "analyze", odd, "--flag", FLAG, "--json", "--metrics", "latency")
    assert code == 0, err
    assert json.loads(out)["variants"] == {"control": "v1", "test": "v2"}


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
        "source",
        "exposed",
        "multiple",
        "unknown_variants",
        "srm_p_value",
        "srm_statistic",
        "srm_method",
        "expired",
        "warnings",
        "ok",
    }
    assert set(h["exposed"]) == {"control", "test"}
    assert h["srm_method"] in ("exact binomial test", None)
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
        (["--metrics", "costs"], "'costs' is not a built-in metric; did you mean 'cost'?"),
        (["--fail-on-regression", "eror_rate"], "did you mean 'error_rate'?"),
        (["--variants", "contrl=v1,test=v2"], "did you mean 'control'?"),
        (["--goal", "pas_rate"], "did you mean 'pass_rate'?"),
        (["--guardrail", "cost=+5"], ""),  # a plain number is a margin in USD: fine
        (["--guardrail", "cost=-5%"], "write '+5%'"),
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
    if args[1] == "cost=+5":
        assert code == 0, err
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


def test_regressions_come_from_the_result(export: Path) -> None:
    """The gate is ``res.regressions(metric)``: the CLI adds no statistics of its own."""
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    exp = ws.create_experiment("x", None, ws.flag_variants(FLAG), flag_key=FLAG)
    res = exp.analyze(["latency", "error_rate", "pass_rate"])
    assert [r.variant for r in res.regressions("error_rate")] == ["test"]
    assert [r.variant for r in res.regressions("pass_rate")] == ["test"]
    assert res.regressions("latency") == []  # significantly lower latency is better
    with pytest.raises(pab.InvalidArgumentError, match="'cost' is not among the analysed"):
        res.regressions("cost")
    doc = cli.result_json(res, regression_metric="error_rate")
    assert [r["variant"] for r in doc["regressions"]] == ["test"]


def test_unknown_flag_suggests_the_closest(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, _, err = run(capsys, "analyze", export, "--flag", FLAG[:-1])
    assert_one_line_error(code, err, f"did you mean {FLAG!r}?")


def test_misspelt_option_suggests_the_closest(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, _, err = run(capsys, "analyze", export, "--flag", FLAG, "--sequentail")
    assert code == cli.EXIT_USAGE
    assert "did you mean '--sequential'" in err


# -- the decision ----------------------------------------------------------------------------------
DESIGN = ["--goal", "latency", "--guardrail", "error_rate=+1pp", "--mde=-5%"]


def test_decision_is_printed_first_and_gates(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, out, err = run(
        capsys, "analyze", export, "--flag", FLAG, *DESIGN, "--fail-on", "decision"
    )
    # faster (the goal) but the error rate rose by more than its 1 pp margin: don't ship
    assert out.startswith("Decision: Don't ship")
    assert "guardrail error_rate is worse than its margin +1pp" in out
    assert code == cli.EXIT_REGRESSION and "Don't ship (not ship)" in err
    code, out, _ = run(capsys, "analyze", export, "--flag", FLAG, "--goal", "latency",
                       "--fail-on", "decision")  # fmt: skip
    assert out.startswith("Decision: Don't ship")  # error rate and pass rate regress
    code, out, _ = run(capsys, "analyze", export, "--flag", FLAG, "--goal", "latency",
                       "--metrics", "latency", "--fail-on", "decision")  # fmt: skip
    assert out.startswith("Decision: Ship test") and code == cli.EXIT_OK


def test_decision_in_json_matches_python(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    code, out, _ = run(capsys, "analyze", export, "--flag", FLAG, *DESIGN, "--json")
    doc = json.loads(out)
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    exp = ws.create_experiment(FLAG, None, ws.flag_variants(FLAG), flag_key=FLAG,
                               goal="latency", guardrails={"error_rate": "+1pp"}, mde="-5%")  # fmt: skip
    d = exp.analyze().decision()
    assert doc["decision"]["action"] == d.action == "dont_ship"
    assert doc["decision"]["reasons"] == list(d.reasons)


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_fail_on_regression_gates_like_the_decision(
    capsys: pytest.CaptureFixture[str], export: Path, method: str
) -> None:
    code, _, _ = run(capsys, "analyze", export, "--flag", FLAG, "--method", method,
                     "--fail-on-regression", "error_rate")  # fmt: skip
    assert code == cli.EXIT_REGRESSION
    # within a generous margin it is not a regression
    code, _, _ = run(capsys, "analyze", export, "--flag", FLAG, "--method", method,
                     "--guardrail", "error_rate=+50pp", "--fail-on-regression", "error_rate")  # fmt: skip
    assert code == cli.EXIT_OK


def test_help_has_no_doubled_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    for cmd in (["analyze"], ["report"], ["demo"], ["simulate", "aa"], ["experiments", "create"]):
        run(capsys, *cmd, "--help")
        text = re.sub(r"\s+", " ", capsys.readouterr().out)
        for option in re.split(r" (?=--?[a-z])", text):
            assert option.count("(default") <= 1, option


@pytest.fixture(scope="module")
def three_arms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three arms; "b" is slower and fails more often."""
    truth = pab.simulate.traffic(
        900,
        {"control": "v1", "a": "v2", "b": "v3"},
        {"b": {"latency": 1.25, "error_rate": 0.12}},
        out=tmp_path_factory.mktemp("three") / "events",
        seed=5,
        days=3,
        flag_key=FLAG,
        progress=False,
    )
    return Path(truth.files["parquet"])


def test_analyze_all_pairs_text_and_json(
    capsys: pytest.CaptureFixture[str], three_arms: Path
) -> None:
    args = ["analyze", three_arms, "--flag", FLAG, "--metrics", "cost,error_rate"]
    code, out, err = run(capsys, *args, "--all-pairs", "--correction", "bonferroni")
    assert code == 0, err
    assert "All pairs of the 3 arms" in out and "bonferroni-adjusted" in out
    for pair in ("a − control", "b − control", "b − a"):
        assert pair in out
    # cost is summed per user: its total impact is printed, error_rate (a rate) has none
    assert "Total impact on cost over the period" in out and "users reached:" in out
    assert "Total impact on error_rate" not in out
    code, plain, _ = run(capsys, *args)
    assert code == 0 and "All pairs" not in plain

    code, out, err = run(capsys, *args, "--all-pairs", "--json")
    assert code == 0, err
    doc = json.loads(out)
    ws = pab.Workspace()
    ws.load_posthog(three_arms, progress=False)
    exp = ws.create_experiment(FLAG, None, doc["variants"], flag_key=FLAG)
    for block in doc["all_pairs"]:
        want = exp.compare_all(block["metric"])
        assert block["correction"] == "holm"
        got = [(p["a"], p["b"], p["p_adjusted"]) for p in block["pairs"]]
        assert got == [(p.a, p.b, pytest.approx(p.p_adjusted, rel=1e-12)) for p in want.pairs]
    (cost,) = doc["total_impact"]
    res = exp.analyze(["cost", "error_rate"])
    imp = res.total_impact("cost")
    assert cost["metric"] == "cost" and cost["units"] == imp.units
    assert [a["total"] for a in cost["arms"]] == pytest.approx(
        [imp[k].total for k in ("a", "b")], rel=1e-12
    )
    ws.close()
    code, out, _ = run(capsys, *args, "--json")
    assert code == 0 and json.loads(out)["all_pairs"] is None


def test_all_pairs_of_two_arms_is_one_pair(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, out, err = run(capsys, "analyze", export, "--flag", FLAG, "--metrics", "cost",
                         "--all-pairs")  # fmt: skip
    assert code == 0, err
    assert "across the one pair of each metric" in out and "1 pairs" not in out


@pytest.fixture(scope="module")
def unpriced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export whose test arm is 60 % dearer, with 30 % of its generations unpriced."""
    import numpy as np
    import pandas as pd

    out = tmp_path_factory.mktemp("unpriced")
    truth = pab.simulate.traffic(600, {"control": "v1", "test": "v2"},
                                 {"test": {"cost": 1.6, "latency": 0.8}}, out=out / "events",
                                 seed=3, days=4, flag_key=FLAG, progress=False)  # fmt: skip
    df = pd.read_parquet(truth.files["parquet"])
    rng = np.random.default_rng(0)

    def drop_cost(text: str) -> str:
        props = json.loads(text)
        if props.get("$ai_prompt_version") == "v2" and rng.random() < 0.3:
            props.pop("$ai_total_cost_usd", None)
        return json.dumps(props)

    gens = df["event"] == "$ai_generation"
    df.loc[gens, "properties"] = df.loc[gens, "properties"].map(drop_cost)
    path = out / "unpriced.parquet"
    df.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("margin", [[], ["--guardrail", "cost=+5%"]])
def test_fail_on_regression_does_not_pass_a_withheld_verdict(
    capsys: pytest.CaptureFixture[str], unpriced: Path, margin: list[str]
) -> None:
    # cost is withheld (30 % of test's generations unpriced): the gate exited 0, "no regression",
    # on a metric it could not test, while the sums said +60 %
    args = ["analyze", unpriced, "--flag", FLAG, *margin, "--fail-on-regression", "cost"]
    code, out, err = run(capsys, *args)
    assert code == cli.EXIT_REGRESSION
    assert "cannot tell whether test is worse than control on cost" in err
    assert "verdict withheld" in err
    code, out, _ = run(capsys, *args, "--json")
    doc = json.loads(out)
    assert code == cli.EXIT_REGRESSION and doc["regressions"] == []
    (row,) = doc["unchecked"]
    assert row["metric"] == "cost" and row["variant"] == "test" and "unpriced" in row["note"]
    cost = next(r for r in doc["rows"] if r["metric"] == "cost" and not r["is_control"])
    # a withheld p-value withholds "significant" too: null, not false ("not significant")
    assert cost["p_value"] is None and cost["significant"] is None
    tested = next(r for r in doc["rows"] if r["metric"] == "latency" and not r["is_control"])
    assert isinstance(tested["significant"], bool)
    assert all(r["significant"] is None for r in doc["rows"] if r["is_control"])
    # a metric with a verdict still gates as before
    code, _, err = run(capsys, "analyze", unpriced, "--flag", FLAG, "--fail-on-regression",
                       "latency")  # fmt: skip
    assert code == cli.EXIT_OK and "regression" not in err


SAMPLE = Path(__file__).resolve().parents[2] / "data" / "posthog_events.parquet"


@pytest.mark.parametrize("extra", [["--correction", "holm"], ["--alternative", "less"]])
def test_a_regression_is_stated_with_the_p_value_of_its_gate(
    capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    # the sample's error_rate regresses at p = 0.043 (the decision's test); the gate failed on
    # it but the line said "significantly worse ... (p = 0.130)" (Holm across the 4 metrics)
    # or "(p = 0.978)" (the one-sided 'less' test), a p-value that is not significant
    args = ["analyze", SAMPLE, "--flag", FLAG, "--fail-on-regression", "error_rate", *extra]
    code, _, err = run(capsys, *args)
    assert code == cli.EXIT_REGRESSION
    assert err.strip() == (
        "promptab: regression: test is significantly worse than control on error_rate "
        "(+74.1 %, p = 0.043)"
    )
    code, out, _ = run(capsys, *args, "--json")
    (reg,) = json.loads(out)["regressions"]
    from promptab_nb.decision import regression_checks

    ws = pab.Workspace()
    ws.load_posthog(SAMPLE, progress=False)
    exp = ws.create_experiment(FLAG, None, {"control": "v1", "test": "v2"}, flag_key=FLAG)
    opts = {"correction": "holm"} if extra[0] == "--correction" else {"alternative": "less"}
    (check,) = regression_checks(exp.analyze(**opts), "error_rate")
    # (the same numbers up to the order DuckDB's threads sum in: the last bits may differ)
    assert check.status == "fail" and check.p_within < 0.05
    assert reg["p_value"] == pytest.approx(check.p_within, rel=1e-12)


def test_an_export_whose_rows_were_all_rejected_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # every row rejected (a timestamp that is not one): the error said only "it has no
    # $feature_flag_called events", hiding why the export's exposures are not there
    bad = tmp_path / "events.csv"
    bad.write_text(
        "uuid,event,distinct_id,timestamp,properties\n"
        '1,$feature_flag_called,u1,yesterday,"{""$feature_flag"": ""f""}"\n'
        '2,$feature_flag_called,u2,today,"{""$feature_flag"": ""f""}"\n',
        encoding="utf-8",
    )
    code, _, err = run(capsys, "analyze", bad, "--flag", "f")
    assert_one_line_error(
        code, err, "no exposures for flag 'f'",
        "2 of the 2 rows read were rejected during load: 2 × timestamp is missing or not a "
        "date-time",
    )  # fmt: skip


def test_rows_rejected_during_load_are_stated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a third of the sample's rows with a broken timestamp: the analysis left them out and
    # the printed result did not say so
    import pandas as pd

    df = pd.read_csv(SAMPLE.with_suffix(".csv"))
    df.loc[df.index % 3 == 0, "timestamp"] = "garbage"
    df.to_csv(tmp_path / "partial.csv", index=False)
    code, out, err = run(capsys, "analyze", tmp_path / "partial.csv", "--flag", FLAG)
    assert code == 0, err
    assert (
        f"⚠ {len(df[df.index % 3 == 0]):,} of the {len(df):,} rows read were rejected during "
        "load and are not in these numbers" in out
    )
    code, out, _ = run(capsys, "analyze", SAMPLE, "--flag", FLAG)
    assert "rejected during load" not in out


PROMPTFOO = Path(__file__).resolve().parents[2] / "data" / "promptfoo_results.json"


def test_promptfoo_takes_alpha_and_refuses_what_it_cannot_use(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # --alpha 0.01 printed the comparison with 95% CIs, without a word: every analysis option
    # was dropped silently for a promptfoo file
    code, out, err = run(capsys, "analyze", PROMPTFOO, "--alpha", "0.01")
    assert code == 0, err
    assert "(99% CI)" in out and "(95% CI)" not in out
    for extra in (["--cuped"], ["--metrics", "cost"], ["--variants", "a=x,b=y"], ["--all-pairs"],
                  ["--method", "bayesian"], ["--correction", "holm"]):  # fmt: skip
        code, _, err = run(capsys, "analyze", PROMPTFOO, *extra)
        assert_one_line_error(code, err, extra[0], "promptfoo")
    code, _, err = run(capsys, "analyze", PROMPTFOO, "--alpha", "1.5")
    assert_one_line_error(code, err, "--alpha", "1.5")


def test_a_file_name_with_spaces_names_the_experiment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import shutil

    # the experiment is named after the file: "span lens .csv" gave the name 'span lens ',
    # which create_experiment refuses (a space no listing shows)
    path = tmp_path / "span lens .csv"
    shutil.copy(Path(__file__).resolve().parents[2] / "data" / "spanlens_requests.csv", path)
    code, out, err = run(capsys, "analyze", path, "--arm-column", "arm", "--unit", "request",
                         "--metrics", "latency", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["experiment"] == "span lens"


def test_an_alternative_for_a_metric_not_analysed_names_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "alternative names metric 'costt', which is not analysed" named no flag
    code, _, err = run(capsys, "analyze", SAMPLE, "--flag", FLAG, "--alternative", "costt=less")
    assert_one_line_error(code, err, "promptab: error: --alternative: alternative names metric")


def test_demo_takes_the_export_file_itself(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    # --data data/posthog_events.parquet said "no sample export in
    # data/posthog_events.parquet/ (expected posthog_events.parquet)"
    out_file = tmp_path / "demo.html"
    code, out, err = run(capsys, "demo", "--data", export, "--out", out_file)
    assert code == 0, err
    assert out_file.is_file() and f"report: {out_file}" in out
