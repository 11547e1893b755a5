"""Langfuse end to end: observations linked to prompt versions 3 and 4 plus BOOLEAN and NUMERIC
scores; pass rate, latency and cost checked against scipy on the files' own rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import scipy.stats

import promptab_nb as pab

from ._helpers import DATA, json_rows, rows, run_cli, write_report

OBS = DATA / "langfuse_observations.json"
SCORES = DATA / "langfuse_scores.jsonl"


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    obs = pd.DataFrame(json.loads(OBS.read_text(encoding="utf-8"))["data"])
    obs = obs[obs.type == "GENERATION"].copy()
    obs["version"] = obs.promptVersion.astype(int).astype(str)
    scores = pd.read_json(SCORES, lines=True)
    scores = scores.merge(obs[["id", "version"]], left_on="observationId", right_on="id")
    return obs, scores


def _passed(scores: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """BOOLEAN: value 1 passes; NUMERIC: value >= threshold (no threshold: not counted)."""
    boolean = scores[scores.dataType == "BOOLEAN"].assign(passed=lambda s: s.value == 1)
    if threshold is None:
        return boolean
    numeric = scores[scores.dataType == "NUMERIC"].assign(passed=lambda s: s.value >= threshold)
    return pd.concat([boolean, numeric])


def _fisher(x: pd.DataFrame) -> float:
    a, b = x[x.version == "3"].passed, x[x.version == "4"].passed
    table = [[int(b.sum()), int((~b).sum())], [int(a.sum()), int((~a).sum())]]
    return float(scipy.stats.fisher_exact(table).pvalue)


@pytest.mark.parametrize("threshold", [0.7, None])
def test_pass_rate_from_boolean_and_numeric_scores(threshold) -> None:
    obs, scores = _frames()
    ws = pab.Workspace()
    report = ws.load_langfuse(OBS, scores=SCORES, pass_threshold=threshold, progress=False)
    assert report.reasons == {"observation type not used by promptab_nb (only GENERATION)": 120}
    exp = ws.create_experiment("lf", "support-bot", {"v3": "3", "v4": "4"}, unit="request")
    assert exp.assigned_by == "version"
    res = exp.analyze(["pass_rate", "latency"])
    want = _passed(scores, threshold)
    got = rows(res).loc[("pass_rate", "v4")]
    assert got["n"] == (want.version == "4").sum()
    assert got["p_value"] == pytest.approx(_fisher(want), rel=1e-9)
    rate = want.groupby("version").passed.mean()
    assert got["diff"] == pytest.approx(rate["4"] - rate["3"], rel=1e-9)
    lat = scipy.stats.ttest_ind(
        obs[obs.version == "4"].latency, obs[obs.version == "3"].latency, equal_var=False
    )
    assert rows(res).loc[("latency", "v4"), "p_value"] == pytest.approx(lat.pvalue, rel=1e-9)


def test_per_user_report_and_cli(tmp_path, capsys) -> None:
    obs, scores = _frames()
    ws = pab.Workspace()
    ws.load_langfuse(OBS, scores=SCORES, pass_threshold=0.7, progress=False)
    exp = ws.create_experiment("lf", "support-bot", {"v3": "3", "v4": "4"})
    res = exp.analyze()
    per_user = obs.groupby(["userId", "version"]).totalCost.sum().reset_index()
    a, b = (per_user[per_user.version == v].totalCost for v in ("3", "4"))
    cost = scipy.stats.ttest_ind(b, a, equal_var=False)
    assert rows(res).loc[("cost", "v4"), "p_value"] == pytest.approx(cost.pvalue, rel=1e-9)
    assert rows(res).loc[("cost", "v4"), "n"] == len(b) == 60
    html = write_report(res, ws, tmp_path)
    assert "arms from the prompt version of each generation" in html

    text, doc = run_cli(
        capsys, str(OBS), "--scores", str(SCORES), "--pass-threshold", "0.7",
        "--unit", "request", "--metrics", "pass_rate,latency",
    )  # fmt: skip
    assert "source: langfuse (detected from keys traceId, startTime)" in text
    assert "arms: 3=3, 4=4 (control first)" in text
    want = _passed(scores, 0.7).assign(version=lambda x: x.version)
    assert json_rows(doc).loc[("pass_rate", "4"), "p_value"] == pytest.approx(
        _fisher(want), rel=1e-9
    )
    assert doc["health"]["source"].startswith("arms from the prompt version")


def test_scores_file_as_export_says_what_to_do(capsys) -> None:
    assert pab.cli.main(["analyze", str(SCORES)]) == 2
    assert "--scores" in capsys.readouterr().err
