"""promptfoo results end to end: the shipped results.json (2 prompts × 1 provider × 60 test cases ×
2 repeats) opens as an offline run whose paired comparison equals scipy on the file's own rows:
paired t on per-test-case pass fractions, exact McNemar on (test case, repeat) pairs, the A/A
flip rate of the baseline's repeats and the MDE."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from statsmodels.stats.power import TTestPower

import promptab_nb as pab

from ._helpers import DATA

RESULTS = DATA / "promptfoo_results.json"
V3, V4 = "support-v3 @ openai:gpt-4o-mini", "support-v4 @ openai:gpt-4o-mini"


def _cells() -> pd.DataFrame:
    """One row per result: version, test case, repeat (file order), pass as 1/0, relevance."""
    doc = json.loads(RESULTS.read_text(encoding="utf-8"))
    out = pd.DataFrame(
        {
            "version": f"{r['prompt']['label']} @ {r['provider']['id']}",
            "item": r["testIdx"],
            "passed": float(r["success"]),
            "relevance": r["namedScores"]["relevance"],
        }
        for r in doc["results"]["results"]
    )
    out["repeat"] = out.groupby(["version", "item"]).cumcount()
    return out


@pytest.fixture(scope="module")
def run():
    ws = pab.Workspace()
    opened = pab.offline.from_promptfoo(ws, RESULTS)
    again = pab.offline.from_promptfoo(ws, RESULTS)  # loaded once, opened twice
    assert again.run_id == opened.run_id == "promptfoo-eval-support-2026-03-02"
    assert ws.counts()["offline_results"] == 240
    return opened


def test_the_run(run) -> None:
    assert run.labels == (V3, V4) and run.repeats == 2 and run.n_items == 60
    assert run.scorers == ("pass", "relevance")  # score equals pass here, so it is not repeated
    assert len(pab.Workspace().offline_runs()) == 0


def test_paired_t_on_pass_fractions_and_scores(run) -> None:
    cells = _cells()
    comp = run.compare(metrics=["pass", "relevance"])
    for metric, col in (("pass", "passed"), ("relevance", "relevance")):
        per_item = cells.pivot_table(index="item", columns="version", values=col, aggfunc="mean")
        x, y = per_item[V3].to_numpy(), per_item[V4].to_numpy()
        t = scipy.stats.ttest_rel(y, x)
        ci = t.confidence_interval(0.95)
        row = comp.row(metric, V4)
        assert row.method.startswith("paired t") and row.n_pairs == 60
        assert row.p_value == pytest.approx(t.pvalue, rel=1e-9)
        assert row.diff == pytest.approx(float(np.mean(y - x)), rel=1e-9)
        assert row.diff_ci == pytest.approx((ci.low, ci.high), rel=1e-9)
        sd = float(np.std(y - x, ddof=1))
        # The paired t's own MDE (one-sample noncentral t on 60 − 1 df).
        es = TTestPower().solve_power(nobs=60, alpha=0.05, power=0.8)
        assert row.mde == pytest.approx(sd * es, rel=1e-6)
    base = cells[cells.version == V3].pivot(index="item", columns="repeat", values="passed")
    assert comp.row("pass", V4).aa_flip_rate == pytest.approx(float((base[0] != base[1]).mean()))


def test_exact_mcnemar_per_test_case_and_repeat(run) -> None:
    cells = _cells()
    wide = cells.pivot_table(index=["item", "repeat"], columns="version", values="passed")
    x, y = wide[V3].to_numpy(), wide[V4].to_numpy()
    up, down = int(((y == 1) & (x == 0)).sum()), int(((y == 0) & (x == 1)).sum())
    want = scipy.stats.binomtest(min(up, down), up + down, 0.5).pvalue
    row = run.compare(metrics=["pass"], pairing="repeat").row("pass", V4)
    assert row.method == "mcnemar exact"
    assert row.p_value == pytest.approx(want, rel=1e-9)
    assert (row.improved, row.regressed, row.n_pairs) == (up, down, 120)
    assert row.diff == pytest.approx(float(np.mean(y - x)), rel=1e-9)


def test_cli_detects_promptfoo_and_compares_paired(run, capsys) -> None:
    assert pab.cli.main(["analyze", str(RESULTS)]) == 0
    out = capsys.readouterr().out
    assert "source: promptfoo (detected from keys evalId, results)" in out
    assert "Paired comparison vs support-v3 @ openai:gpt-4o-mini: 60 items" in out
    assert pab.cli.main(["analyze", str(RESULTS), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    got = {(r["metric"], r["version"]): r["p_value"] for r in doc["rows"]}
    assert got[("pass", V4)] == pytest.approx(run.compare().row("pass", V4).p_value, rel=1e-12)
    assert pab.cli.main(["analyze", str(RESULTS), "--out", "r.html"]) == 2
    assert "offline comparison" in capsys.readouterr().err
