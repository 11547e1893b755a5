"""OpenTelemetry GenAI spans end to end: the prompt version and cost come from the app's own
attributes (``attribute_map=`` / ``--attr``); per-request numbers checked against scipy."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import scipy.stats

import promptab_nb as pab

from ._helpers import DATA, json_rows, rows, run_cli, write_report

SPANS = DATA / "otel_spans.json"
AMAP = {
    "prompt_version": "app.prompt.version",
    "prompt_name": "app.prompt.name",
    "cost_usd": "app.cost_usd",
}


def _spans() -> pd.DataFrame:
    doc = json.loads(SPANS.read_text(encoding="utf-8"))
    out = []
    for span in doc["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
        if "gen_ai.operation.name" not in attrs:
            continue
        out.append(
            {
                "version": attrs["app.prompt.version"],
                "latency_s": (int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])) / 1e9,
                "cost_usd": float(attrs["app.cost_usd"]),
                "error": "error.type" in attrs,
            }
        )
    return pd.DataFrame(out)


def _check(table: pd.DataFrame, df: pd.DataFrame, b_key: str) -> None:
    a, b = df[df.version == "v3"], df[df.version == "v4"]
    for metric, col in (("latency", "latency_s"), ("cost", "cost_usd")):
        t = scipy.stats.ttest_ind(b[col], a[col], equal_var=False)
        assert table.loc[(metric, b_key), "p_value"] == pytest.approx(t.pvalue, rel=1e-9)
        assert table.loc[(metric, b_key), "diff"] == pytest.approx(
            b[col].mean() - a[col].mean(), rel=1e-9
        )
    eb, ea = int(b.error.sum()), int(a.error.sum())
    fisher = scipy.stats.fisher_exact([[eb, len(b) - eb], [ea, len(a) - ea]]).pvalue
    assert table.loc[("error_rate", b_key), "p_value"] == pytest.approx(fisher, rel=1e-9)
    assert table.loc[("latency", b_key), "n"] == len(b)


def test_genai_spans_by_prompt_version(tmp_path, capsys) -> None:
    df = _spans()
    ws = pab.Workspace()
    report = ws.load_otel(SPANS, attribute_map=AMAP, progress=False)
    assert report.rows_loaded == len(df)
    exp = ws.create_experiment("ot", "support-bot", {"v3": "v3", "v4": "v4"}, unit="request")
    assert exp.assigned_by == "version"
    res = exp.analyze(["latency", "cost", "error_rate"])
    _check(rows(res), df, "v4")
    write_report(res, ws, tmp_path)

    attrs = ",".join(f"{k}={v}" for k, v in AMAP.items())
    text, doc = run_cli(
        capsys, str(SPANS), "--attr", attrs, "--unit", "request",
        "--metrics", "latency,cost,error_rate",
    )  # fmt: skip
    assert "source: otel (detected from keys resourceSpans)" in text
    assert "arms: v3=v3, v4=v4 (control first)" in text
    _check(json_rows(doc), df, "v4")


def test_without_a_version_attribute_the_cli_says_how_to_map_it(capsys) -> None:
    assert pab.cli.main(["analyze", str(SPANS), "--unit", "request"]) == 2
    err = capsys.readouterr().err
    assert "0 prompt versions" in err and "--attr prompt_version=" in err
