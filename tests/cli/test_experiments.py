"""``promptab load``, ``experiments`` and ``report`` on a workspace file."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

import promptab_nb as pab

from ._helpers import FLAG, assert_one_line_error, run


# -- workspace commands ----------------------------------------------------------------------------
def test_experiment_lifecycle(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    wsf = tmp_path / "ab.duckdb"
    code, out, err = run(capsys, "load", export, "--workspace", wsf)
    assert code == 0, err
    assert "Loaded from posthog" in out
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
    # data, in the snake_case of every other JSON document (not the table's display text)
    assert rec["variants"] == {"control": "v1", "test": "v2"} and rec["assigned_by"] == "flag"
    assert rec["split"] == {"control": 50.0, "test": 50.0} and all(" " not in k for k in rec)

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
    assert code == 0 and re.search(r"\bconcluded\s+test\b", out)  # status, then the winner

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


@pytest.mark.parametrize("command", [["experiments", "list"], ["load", "x.parquet"]])
def test_a_folder_is_not_a_workspace_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    # list said "no workspace file DIR; create one with `promptab load EXPORT --workspace DIR`",
    # a command that then failed with DuckDB's 'Could not read from file ...: Is a directory'
    code, _, err = run(capsys, *command, "--workspace", tmp_path)
    assert_one_line_error(code, err, f"{tmp_path} is a folder", "ab.duckdb")
    assert "create one" not in err


def test_report_unknown_experiment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wsf = tmp_path / "ab.duckdb"
    pab.Workspace(wsf).close()
    code, _, err = run(capsys, "report", "ghost", "--workspace", wsf, "--out", tmp_path / "r.html")
    assert_one_line_error(code, err, "ghost")


def test_a_failed_command_leaves_no_new_workspace_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    new = tmp_path / "new.duckdb"
    code, _, err = run(capsys, "load", tmp_path / "nothere.parquet", "--workspace", new)
    assert code == 2 and not new.exists(), err
    code, _, err = run(capsys, "experiments", "create", "x", "--workspace", new,
                       "--variants", "a=1,a=2")  # fmt: skip
    assert code == 2 and not new.exists(), err
    # an existing workspace stays, whatever the command
    assert (
        run(capsys, "experiments", "create", "x", "--workspace", new, "--variants", "a=1,b=2")[0]
        == 0
    )
    code, _, _ = run(capsys, "load", tmp_path / "nothere.parquet", "--workspace", new)
    assert code == 2 and new.exists()


def test_an_experiment_named_by_digits_is_found_by_its_name(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    # `report 1` read '1' as id 1 (another experiment) and `stop 1` as the name: the same word
    # reached two experiments, and the report was silently of the wrong one
    wsf = tmp_path / "digits.duckdb"
    assert run(capsys, "load", export, "--workspace", wsf)[0] == 0
    for name, prompt in (("other", "other-bot"), ("1", "support-bot")):
        code, _, err = run(capsys, "experiments", "create", name, "--workspace", wsf, "--prompt",
                           prompt, "--variants", "control=v1,test=v2", "--flag", FLAG)  # fmt: skip
        assert code == 0, err
    report = tmp_path / "one.html"
    code, _, err = run(capsys, "report", "1", "--workspace", wsf, "--out", report, "--metrics",
                       "latency")  # fmt: skip
    assert code == 0, err
    assert "<title>Experiment 1</title>" in report.read_text(encoding="utf-8")
    code, out, err = run(capsys, "experiments", "conclude", "1", "--winner", "test",
                         "--workspace", wsf)  # fmt: skip
    assert code == 0 and "Experiment('1'" in out and "concluded" in out
    # an id still reaches the experiment no name matches
    code, out, _ = run(capsys, "experiments", "stop", "1", "--workspace", wsf)
    assert code == 2
    code, out, _ = run(capsys, "experiments", "stop", "2", "--workspace", wsf)
    assert code == 2  # id 2 is '1', concluded: only a running experiment can be stopped
    code, out, _ = run(capsys, "experiments", "stop", "other", "--workspace", wsf)
    assert code == 0 and "stopped" in out


def test_create_declares_the_decision_design(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    # a stored experiment's report shows its decision, but `experiments create` could not
    # declare the goal, guardrails or MDE it is decided by
    wsf = tmp_path / "design.duckdb"
    assert run(capsys, "load", export, "--workspace", wsf)[0] == 0
    code, _, err = run(capsys, "experiments", "create", "v2", "--workspace", wsf, "--prompt",
                       "support-bot", "--variants", "control=v1,test=v2", "--flag", FLAG,
                       "--goal", "latency", "--guardrail", "error_rate=+1pp", "--mde=-5%")  # fmt: skip
    assert code == 0, err
    with pab.Workspace(wsf) as ws:
        exp = ws.experiment("v2")
        assert exp.design == pab.decision.ExperimentDesign.build(
            "latency", {"error_rate": "+1pp"}, "-5%"
        )
        want = exp.analyze().decision()
    report = tmp_path / "v2.html"
    code, _, err = run(capsys, "report", "v2", "--workspace", wsf, "--out", report)
    assert code == 0, err
    assert f"Decision: {html.escape(want.headline)}" in report.read_text(encoding="utf-8")
    code, _, err = run(capsys, "experiments", "create", "bad", "--workspace", wsf, "--prompt",
                       "other", "--variants", "control=v1,test=v2", "--guardrail", "cost=-5%")  # fmt: skip
    assert_one_line_error(code, err, "write '+5%'")


def test_create_takes_the_rollout_and_the_assignment_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `experiments create` had no way to give a flag rolled out to part of the users (the
    # audit then recomputed every id's variant at 100 %) or to say where arms come from
    wsf = tmp_path / "ab.duckdb"
    code, _, err = run(capsys, "experiments", "create", "half", "--workspace", wsf, "--prompt",
                       "p", "--variants", "control=v1,test=v2", "--rollout", "50",
                       "--assigned-by", "version")  # fmt: skip
    assert code == 0, err
    with pab.Workspace(wsf) as ws:
        exp = ws.experiment("half")
        assert (exp.rollout, exp.assigned_by) == (50.0, "version")
    code, _, err = run(capsys, "experiments", "create", "all", "--workspace", wsf, "--prompt",
                       "q", "--variants", "control=v1,test=v2")  # fmt: skip
    assert code == 0, err
    with pab.Workspace(wsf) as ws:
        assert ws.experiment("all").rollout == 100.0
    code, _, err = run(capsys, "experiments", "create", "bad", "--workspace", wsf, "--prompt",
                       "r", "--variants", "control=v1,test=v2", "--rollout", "120")  # fmt: skip
    assert_one_line_error(code, err, "rollout == 120.0, must be <= 100")


def test_list_json_gives_null_for_a_missing_date(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # an experiment without ends_at beside one with it: pandas holds NaT, which the JSON
    # gave as the string "NaT" (not a date, not null)
    wsf = tmp_path / "ab.duckdb"
    for name, end in (("a", ["--ends-at", "2099-01-01"]), ("b", [])):
        code, _, err = run(capsys, "experiments", "create", name, "--workspace", wsf,
                           "--prompt", name, "--variants", "control=v1,test=v2", *end)  # fmt: skip
        assert code == 0, err
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--json")
    ends = {r["name"]: r["ends_at"] for r in json.loads(out)}
    assert ends == {"a": "2099-01-01T00:00:00+00:00", "b": None}


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--variants", "control=v1"], "--variants: variants has 1 variant"),
        (["--variants", "control=v1,test=v2", "--split", "0,100"], "--split: split['control']"),
        (["--variants", "control=v1,test=v2", "--split", "50,49.99"], "--split: split sums to"),
        (["--variants", "control=v1,test=v2", "--rollout", "0"], "--rollout: rollout == 0.0"),
        (["--variants", "control=v1,test=v2", "--ends-at", "tomorrow"], "--ends-at: ends_at =="),
        (["--variants", "control=v1,test=v2", "--metrics", "costs"],
         "--metrics: unknown metric 'costs'"),
        (["--variants", "control=v1,test=v2", "--flag", "f", "--assigned-by", "version"],
         "--flag: flag_key == 'f' with assigned_by"),
        (["--variants", "control=v1,test=v2", "--goal", "cost", "--mde", "abc"],
         "--mde: mde == 'abc'"),
        (["--variants", "control=v1,test=v2", "--guardrail", "cost=abc"],
         "--guardrail: guardrails['cost']"),
        (["--variants", "control=v1,test=v1", "--assigned-by", "version"],
         "--variants: variants 'control' and 'test'"),
    ],
)  # fmt: skip
def test_create_errors_name_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], flag: str
) -> None:
    # they named create_experiment's Python arguments ('rollout == 0.0, must be > 0',
    # 'ends_at == ...', 'flag_key == ... with assigned_by'), not the flags typed
    wsf = tmp_path / "ab.duckdb"
    code, _, err = run(capsys, "experiments", "create", "x", "--workspace", wsf, *extra)
    assert_one_line_error(code, err, f"promptab: error: {flag}")
    assert not wsf.exists()


def test_what_create_stored_is_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a 50 % rollout and the experiment's metrics were stored but shown nowhere: not in the line
    # `create` printed, nor in `list --json` (nor exp.to_pandas() / its HTML)
    wsf = tmp_path / "ab.duckdb"
    code, out, err = run(capsys, "experiments", "create", "half", "--workspace", wsf, "--prompt",
                         "p", "--variants", "control=v1,test=v2", "--rollout", "50",
                         "--metrics", "cost,latency")  # fmt: skip
    assert code == 0, err
    assert "rollout 50 %" in out
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--json")
    (rec,) = json.loads(out)
    assert rec["rollout"] == 50.0 and rec["metrics"] == ["cost", "latency"]
    with pab.Workspace(wsf) as ws:
        exp = ws.create_experiment("all", "q", {"control": "v1", "test": "v2"})
        assert "rollout" not in repr(exp)  # (100 %: nothing to say)
        assert ws.experiments().to_pandas().metrics.tolist() == [None, ["cost", "latency"]]
        assert "rollout" in ws.experiment("half")._repr_html_()


@pytest.mark.parametrize(
    ("name", "source", "call"),
    [
        ("spanlens_requests.csv", "spanlens", "ws.load_spanlens"),
        ("otel_spans.json", "otel", "ws.load_otel"),
        ("langfuse_observations.json", "langfuse", "ws.load_langfuse"),
    ],
)
def test_load_names_another_tool_s_export(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, source: str, call: str
) -> None:
    # `load` takes PostHog exports; another tool's file failed with "has no column 'event' ...
    # Export the events with uuid, event, distinct_id ..." as if it were a broken PostHog export
    data = Path(__file__).resolve().parents[2] / "data" / name
    wsf = tmp_path / "ab.duckdb"
    code, _, err = run(capsys, "load", data, "--workspace", wsf)
    assert_one_line_error(code, err, f"a {source} export", call, "promptab analyze")
    assert "no column 'event'" not in err and not wsf.exists()


def test_a_second_running_experiment_names_the_command_that_stops_the_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # the fix was Python's "(ws.experiment('a').stop())" on the command line
    wsf = tmp_path / "ab.duckdb"
    args = ["--workspace", wsf, "--prompt", "bot", "--variants", "control=v1,test=v2"]
    assert run(capsys, "experiments", "create", "a", *args)[0] == 0
    code, _, err = run(capsys, "experiments", "create", "b", *args)
    assert_one_line_error(code, err, "'a' is already running", "promptab experiments stop a")
    assert "ws.experiment" not in err


def test_a_workspace_under_home_is_found(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --workspace=~/ab.duckdb (bash does not expand ~ after '=') said 'no workspace file'
    monkeypatch.setenv("HOME", str(tmp_path))
    code, _, err = run(capsys, "experiments", "create", "a", "--workspace=~/ab.duckdb",
                       "--variants", "control=v1,test=v2")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "ab.duckdb").is_file()
    code, out, err = run(capsys, "experiments", "list", "--workspace=~/ab.duckdb")
    assert code == 0 and "a" in out, err


def test_rename_and_delete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wsf = tmp_path / "ab.duckdb"
    for name, prompt in (("a", "bot-a"), ("b", "bot-b"), ("7", "bot-7")):
        code, _, err = run(capsys, "experiments", "create", name, "--workspace", wsf, "--prompt",
                           prompt, "--variants", "control=v1,test=v2")  # fmt: skip
        assert code == 0, err
    code, out, err = run(capsys, "experiments", "rename", "a", "a v2", "--workspace", wsf)
    assert code == 0 and "Experiment('a v2'" in out, err
    # another's name (in any case) names the argument as typed, and a bad name too
    code, _, err = run(capsys, "experiments", "rename", "a v2", "B", "--workspace", wsf)
    assert_one_line_error(code, err, "NEW_NAME:", "'b' already exists", "'B' differs only in case",
                          "`promptab experiments list`")  # fmt: skip
    code, _, err = run(capsys, "experiments", "rename", "a v2", " c", "--workspace", wsf)
    assert_one_line_error(code, err, "NEW_NAME == ' c'", "pass 'c'")
    code, _, err = run(capsys, "experiments", "rename", "ghost", "x", "--workspace", wsf)
    assert_one_line_error(code, err, "no experiment 'ghost'", "experiments: a v2, b, 7")
    # a concluded experiment needs --force, said as the flag
    assert (
        run(capsys, "experiments", "conclude", "b", "--winner", "test", "--workspace", wsf)[0] == 0
    )
    code, _, err = run(capsys, "experiments", "delete", "b", "--workspace", wsf)
    assert_one_line_error(code, err, "'b' is concluded", "winner 'test'", "--force")
    assert "force=True" not in err
    code, out, err = run(capsys, "experiments", "delete", "b", "--force", "--workspace", wsf)
    assert code == 0 and "deleted experiment 'b'" in out, err
    # a running one needs no --force; a name of digits is a name before an id
    code, out, err = run(capsys, "experiments", "delete", "7", "--workspace", wsf)
    assert code == 0 and "deleted experiment '7'" in out, err
    code, _, err = run(capsys, "experiments", "delete", "b", "--workspace", wsf)
    assert_one_line_error(code, err, "no experiment 'b'", "experiments: a v2")
    code, out, _ = run(capsys, "experiments", "list", "--workspace", wsf, "--json")
    assert [r["name"] for r in json.loads(out)] == ["a v2"]
