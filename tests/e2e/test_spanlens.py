"""Spanlens end to end: the shipped request exports, analysed per request as Spanlens does (Welch
on latency and cost, Fisher on error rate) and per user, through the API, the report and the CLI,
each number checked against scipy on the file's own rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import promptab_nb as pab

from ._helpers import DATA, json_rows, rows, run_cli, write_report

CSV = DATA / "spanlens_requests.csv"
JSON = DATA / "spanlens_requests.json"


def _welch(b: pd.Series, a: pd.Series) -> tuple[float, float, float, float]:
    t = scipy.stats.ttest_ind(b, a, equal_var=False)
    ci = t.confidence_interval(0.95)
    return float(b.mean() - a.mean()), float(t.pvalue), float(ci.low), float(ci.high)


def _fisher(b: pd.Series, a: pd.Series) -> float:
    eb, ea = int(b.sum()), int(a.sum())
    return float(scipy.stats.fisher_exact([[eb, len(b) - eb], [ea, len(a) - ea]]).pvalue)


def _check_spanlens_method(table: pd.DataFrame, df: pd.DataFrame, arm: str, a: str, b: str):
    """Per request: Welch on latency (s) and cost (USD), Fisher on errors, exact t p-values."""
    xa, xb = df[df[arm] == a], df[df[arm] == b]
    for metric, col in (("latency", "latency_s"), ("cost", "cost_usd")):
        diff, p, lo, hi = _welch(xb[col], xa[col])
        got = table.loc[(metric, b)]
        assert got["diff"] == pytest.approx(diff, rel=1e-9, abs=1e-15)
        assert got["p_value"] == pytest.approx(p, rel=1e-9)
        assert (got["diff_ci_low"], got["diff_ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
        assert table.loc[(metric, a), "n"] == len(xa) and got["n"] == len(xb)
    got = table.loc[("error_rate", b)]
    assert got["p_value"] == pytest.approx(_fisher(xb.error, xa.error), rel=1e-9)
    assert got["diff"] == pytest.approx(xb.error.mean() - xa.error.mean(), rel=1e-9)


def test_csv_with_an_arm_column(tmp_path, capsys) -> None:
    df = pd.read_csv(CSV)
    df["latency_s"], df["error"] = df.latency_ms / 1000, df.status_code >= 400
    ws = pab.Workspace()
    report = ws.load_spanlens(CSV, arm_column="arm", prompt_name="support-bot", progress=False)
    assert report.rows_loaded == len(df) and report.rows_rejected == 0
    exp = ws.create_experiment("sl", "support-bot", {"A": "A", "B": "B"}, unit="request")
    assert exp.assigned_by == "arm"
    res = exp.analyze(["latency", "cost", "error_rate"])
    _check_spanlens_method(rows(res), df, "arm", "A", "B")
    assert res.health.source.startswith("arms from the arm recorded on each generation")
    write_report(res, ws, tmp_path)

    text, doc = run_cli(
        capsys, str(CSV), "--arm-column", "arm", "--prompt", "support-bot",
        "--unit", "request", "--metrics", "latency,cost,error_rate",
        "--out", str(tmp_path / "cli.html"),
    )  # fmt: skip
    assert "source: spanlens (detected from columns latency_ms, created_at)" in text
    assert "arms from the arm recorded on each generation" in text
    assert doc["health"]["source"] == res.health.source
    _check_spanlens_method(json_rows(doc), df, "arm", "A", "B")
    assert (tmp_path / "cli.html").is_file()


def _json_frame() -> pd.DataFrame:
    df = pd.DataFrame(json.loads(JSON.read_text(encoding="utf-8")))
    df["latency_s"], df["error"] = df.latency_ms / 1000, df.status_code >= 400
    return df


def test_json_with_prompt_version_id_per_request(tmp_path, capsys) -> None:
    df = _json_frame()
    ws = pab.Workspace()
    ws.load_spanlens(JSON, prompt_name="support-bot", progress=False)
    variants = {"v3": "pv-support-3", "v4": "pv-support-4"}
    exp = ws.create_experiment("sl", "support-bot", variants, unit="request")
    assert exp.assigned_by == "version"
    res = exp.analyze(["latency", "cost", "error_rate"])
    df["arm"] = df.prompt_version_id.map({v: k for k, v in variants.items()})
    _check_spanlens_method(rows(res), df, "arm", "v3", "v4")
    assert res.health.source.startswith("arms from the prompt version of each generation")
    write_report(res, ws, tmp_path)

    text, doc = run_cli(
        capsys, str(JSON), "--prompt", "support-bot", "--unit", "request",
        "--metrics", "latency,cost,error_rate",
    )  # fmt: skip
    assert "source: spanlens (detected from keys latency_ms, created_at)" in text
    assert "arms: pv-support-3=pv-support-3, pv-support-4=pv-support-4" in text
    df["arm"] = df.prompt_version_id
    _check_spanlens_method(json_rows(doc), df, "arm", "pv-support-3", "pv-support-4")


def test_json_per_user(tmp_path) -> None:
    """With ``user_id`` in the dump, users are the units: Welch on per-user sums and means."""
    df = _json_frame()
    ws = pab.Workspace()
    ws.load_spanlens(JSON, prompt_name="support-bot", progress=False)
    exp = ws.create_experiment("u", "support-bot", {"v3": "pv-support-3", "v4": "pv-support-4"})
    res = exp.analyze(["cost", "latency"])
    per_user = df.groupby(["user_id", "prompt_version_id"]).agg(
        cost=("cost_usd", "sum"), latency=("latency_s", "mean")
    )
    per_user = per_user.reset_index(level=1)
    a = per_user[per_user.prompt_version_id == "pv-support-3"]
    b = per_user[per_user.prompt_version_id == "pv-support-4"]
    table = rows(res)
    for metric in ("cost", "latency"):
        diff, p, _, _ = _welch(b[metric], a[metric])
        assert table.loc[(metric, "v4"), "p_value"] == pytest.approx(p, rel=1e-9)
        assert table.loc[(metric, "v4"), "diff"] == pytest.approx(diff, rel=1e-9)
        assert table.loc[(metric, "v4"), "n"] == len(b)
    assert not np.isnan(table.loc[("cost", "v4"), "p_value"])
    write_report(res, ws, tmp_path)
