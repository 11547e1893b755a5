"""from_promptfoo(): promptfoo results opened as an offline run."""

from __future__ import annotations

import json
import math

import pytest

import promptab_nb as pab
from promptab_nb.errors import DataError


def _write(path, results: list[dict], **results_fields) -> str:
    doc = {"evalId": path.stem, "results": {"version": 3, "results": results, **results_fields}}
    path.write_text(json.dumps(doc))
    return str(path)


def _result(test: int, prompt: int, success: bool) -> dict:
    return {"promptIdx": prompt, "testIdx": test, "prompt": {"raw": "r", "label": f"p{prompt}"},
            "provider": {"id": "openai:x"}, "response": {"output": "o"}, "success": success,
            "score": float(success), "latencyMs": 100}  # fmt: skip


def test_a_file_without_its_duration_opens_as_a_run(ws, tmp_path) -> None:
    # results.stats.durationMs is optional (the v2 and minimal shapes never have it): opening
    # such a file failed with float(None)'s TypeError.
    rows = [_result(t, p, success=t % 3 != 0 or p == 1) for t in range(12) for p in (0, 1)]
    run = pab.offline.from_promptfoo(ws, _write(tmp_path / "nostats.json", rows))
    assert math.isnan(run.seconds) and run.labels == ("p0 @ openai:x", "p1 @ openai:x")
    assert "–" in repr(run) and "<table" in run._repr_html_()
    assert run.compare().row("pass").n_pairs == 12
    assert ws.offline_run(run.run_id).run_id == run.run_id
    assert len(ws.offline_runs()) == 1 and "–" in repr(ws.offline_runs())


def test_no_run_to_open_counts_the_rejected_results(ws, tmp_path) -> None:
    # The file is loaded again inside from_promptfoo, where its results are already known: the
    # message said "0 rejected" about a file whose only result was rejected.
    bad = [{"promptIdx": 0, "prompt": {"label": "a"}, "provider": {"id": "x"}, "success": True}]
    path = _write(tmp_path / "novars.json", bad)
    first = ws.load_promptfoo(path, progress=False)
    assert first.rows_rejected == 1
    with pytest.raises(DataError, match=r"no promptfoo result could be loaded \(1 rejected: "
                                        r"1 testIdx and vars are missing; see ws.rejects\(\)\)"):  # fmt: skip
        pab.offline.from_promptfoo(ws, path)


def test_an_imported_score_outside_0_1_keeps_its_ci(ws, tmp_path) -> None:
    # Scores of run_offline are in [0, 1], so compare() clips their CIs there; promptfoo's named
    # scores need not be (a custom metric of 0–10): their means and differences are not clipped.
    rows = []
    for t in range(8):
        for p in (0, 1):
            r = _result(t, p, success=True)
            r["namedScores"] = {"stars": float(3 + 2 * p + (t % 3))}
            rows.append(r)
    run = pab.offline.from_promptfoo(ws, _write(tmp_path / "stars.json", rows))
    r = run.compare(metrics=["stars"]).row("stars")
    assert r.diff == pytest.approx(2.0) and r.mean > 1
    assert r.ci[1] > 1 and r.baseline_ci[1] > 1


def test_a_plan_on_an_imported_score_outside_0_1_takes_its_scale(ws, tmp_path) -> None:
    # plan() refused mde=2 on any scorer as "values in [0, 1]", which a promptfoo named score on
    # a 0–10 scale is not.
    rows = []
    for rep in range(2):
        for t in range(8):
            for p in (0, 1):
                r = _result(t + 8 * rep, p, success=True)
                r["testCase"] = {"vars": {"q": str(t)}}
                r["vars"] = {"q": str(t)}
                r["namedScores"] = {"stars": float(3 + 2 * p + (t % 3) + rep * p * (t % 2))}
                rows.append(r)
    run = pab.offline.from_promptfoo(ws, _write(tmp_path / "stars2.json", rows))
    assert run.repeats == 2
    plan = run.plan(mde=2.0, metric="stars", n_sims=100)
    assert plan.chosen.items >= 2
