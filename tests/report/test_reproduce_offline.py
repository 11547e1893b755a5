"""The Reproduce section rebuilds the report's offline comparison: the code reopens the stored run
and compares it again, and gives the numbers the report shows; where it cannot, it says so."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb import report

from ._helpers import NS, _doc, _text
from .conftest import FLAG

DATA = Path(__file__).resolve().parents[1] / "data"

# run.compare options, each a case the code must reproduce from what the workspace stores
CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "alpha, clopper-pearson, by repeat": {
        "alpha": 0.1,
        "interval": "clopper-pearson",
        "pairing": "repeat",
    },
    "metrics, power, baseline": {"metrics": ["latency", "exact"], "power": 0.9, "baseline": 2},
    "bootstrap, cluster": {"bootstrap": True, "seed": 7, "cluster": "passage"},
    # every option is recorded by the comparison, n_boot included
    "bootstrap, n_boot": {"bootstrap": True, "n_boot": 300},
}


def _dataset() -> pab.offline.Dataset:
    return pab.offline.Dataset.from_records(
        [{"q": f"{i} + {i}", "expected": str(2 * i), "passage": f"p{i % 6}"} for i in range(30)]
    )


def _code_of(html: str) -> str:
    section = next(s for s in _doc(html).iter(f"{NS}section") if s.get("id") == "reproduce")
    return _text(next(section.iter(f"{NS}pre")))


def _offline_text(html: str) -> str:
    section = next(s for s in _doc(html).iter(f"{NS}section") if s.get("id") == "offline")
    return _text(section)


@pytest.fixture(scope="module")
def stored(export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A file workspace with an experiment and an offline run, and the report of both, made
    before the workspace is closed (as a notebook session ends)."""
    path = tmp_path_factory.mktemp("offline-ws") / "work.duckdb"
    ws = pab.Workspace(path)
    ws.load_posthog(export, progress=False)
    exp = ws.create_experiment("offline-report", "support-bot", {"control": "v1", "test": "v2"},
                               flag_key=FLAG)  # fmt: skip
    run = ws.run_offline(
        _dataset(),
        [("math", "{{q}}"), ("math", "Think step by step: {{q}}")],
        pab.offline.DemoModel(),
        repeats=2,
        progress=False,
    )
    comparison = run.compare(alpha=0.1)
    html = report.render(exp.analyze(["latency", "error_rate"]), ws=ws, offline=comparison,
                         over_time=False)  # fmt: skip
    out = {"path": path, "html": html, "frame": comparison.to_pandas()}
    ws.close()
    return out


def _code_for(path: Path, **kwargs: Any) -> tuple[pd.DataFrame, str]:
    """The comparison ``run.compare(**kwargs)`` of the stored run and the report's code for it;
    the workspace is closed again before the code runs."""
    ws = pab.Workspace(path)
    try:
        (run_id,) = ws.offline_runs().run_ids
        comparison = ws.offline_run(run_id).compare(**kwargs)
        res = ws.experiment("offline-report").analyze(["latency"])
        return comparison.to_pandas(), report.reproducing_code(res, ws=ws, offline=comparison)
    finally:
        ws.close()


def _said(code: str) -> str:
    """The code's comments as one line (they wrap at any word)."""
    return " ".join(x[2:] for x in code.splitlines() if x.startswith("# "))


def _run(code: str, tmp_path: Path) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    try:
        exec(compile(code.replace("report.html", str(tmp_path / "again.html")), "<code>", "exec"),  # noqa: S102
             scope)  # fmt: skip
    finally:
        for name in ("offline_ws", "ws"):
            if isinstance(scope.get(name), pab.Workspace):
                scope[name].close()
    return scope


def test_reproduce_section_rebuilds_the_offline_comparison_it_shows(
    stored: dict[str, Any], tmp_path: Path
) -> None:
    # The code had no run/compare call: the offline section's numbers came from nowhere.
    code = _code_of(stored["html"])
    assert f"pab.Workspace({str(stored['path'])!r})" in code
    assert "comparison = run.compare(alpha=0.1)" in code
    assert "offline=comparison" in code
    scope = _run(code, tmp_path)
    pd.testing.assert_frame_equal(scope["comparison"].to_pandas(), stored["frame"])
    # the report the code writes shows the same offline comparison, number for number
    again = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert _offline_text(again) == _offline_text(stored["html"])


@pytest.mark.parametrize("case", list(CASES))
def test_reproducing_code_gives_the_same_offline_comparison(
    case: str, stored: dict[str, Any], tmp_path: Path
) -> None:
    frame, code = _code_for(stored["path"], **CASES[case])
    assert "run.compare(" in code and "not reproduced" not in code
    scope = _run(code, tmp_path)
    pd.testing.assert_frame_equal(scope["comparison"].to_pandas(), frame)


def test_an_offline_run_loaded_from_promptfoo_is_compared_again_from_the_file(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an in-memory workspace: the run is rebuilt by the loader call the code makes
    monkeypatch.chdir(DATA.parent)
    ws = pab.Workspace()
    ws.load_posthog(export, progress=False)
    run = pab.offline.from_promptfoo(ws, "data/promptfoo_v3.json")
    exp = ws.create_experiment("pf", "support-bot", {"control": "v1", "test": "v2"}, flag_key=FLAG)
    comparison = run.compare()
    code = report.reproducing_code(exp.analyze(["latency"]), exp, ws=ws, offline=comparison)
    assert f"run = ws.offline_run({run.run_id!r})" in code and "pab.Workspace('" not in code
    scope = _run(code, tmp_path)
    pd.testing.assert_frame_equal(scope["comparison"].to_pandas(), comparison.to_pandas())
    assert scope["comparison"].notes == comparison.notes


def test_an_offline_run_the_code_cannot_reopen_is_said_plainly(
    res: pab.ExperimentResult, ws: pab.Workspace
) -> None:
    # the report's workspace is in memory: the run is gone with the session
    run = ws.run_offline(_dataset(), [("m", "{{q}}"), ("m", "Q: {{q}}")], pab.offline.DemoModel(),
                         repeats=1, progress=False)  # fmt: skip
    html = report.render(res, ws=ws, offline=run.compare(), over_time=False)
    code = _code_of(html)
    assert "run.compare(" not in code and "offline=" not in code
    assert "The offline comparison is not reproduced by this code" in _said(code)
    section = next(s for s in _doc(html).iter(f"{NS}section") if s.get("id") == "reproduce")
    assert "in-memory workspace" in _text(section)
    # without any workspace
    code = report.reproducing_code(res, offline=run.compare())
    assert "run.compare(" not in code and "without the workspace" in _said(code)


def test_an_unseeded_bootstrap_is_not_turned_into_other_numbers(stored: dict[str, Any]) -> None:
    _, code = _code_for(stored["path"], bootstrap=True, seed=None)
    assert "run.compare(" not in code and "offline=" not in code
    assert "had no seed" in _said(code), code


def test_what_the_workspace_does_not_store_is_said_plainly(stored: dict[str, Any]) -> None:
    # human labels (PPI++) live in the user's frame, not in the workspace
    ws = pab.Workspace(stored["path"])
    try:
        (run_id,) = ws.offline_runs().run_ids
        run = ws.offline_run(run_id)
        labels = pd.DataFrame(
            [{"item_id": item.item_id, "version": v, "label": i % 2}
             for i, item in enumerate(list(run.dataset)[:12]) for v in run.labels]
        )  # fmt: skip
        with warnings.catch_warnings():  # (a weak judge-human correlation is warned about)
            warnings.simplefilter("ignore", UserWarning)
            comparison = run.compare(human_labels=labels)
        assert comparison.ppi is not None
        res = ws.experiment("offline-report").analyze(["latency"])
        html = report.render(res, ws=ws, offline=comparison, over_time=False)
    finally:
        ws.close()
    code = _code_of(html)
    assert "comparison = run.compare()" in code and "human_labels" in _said(code)
    section = next(s for s in _doc(html).iter(f"{NS}section") if s.get("id") == "reproduce")
    assert "PPI++ estimates (comparison.ppi) are not reproduced" in _text(section)
