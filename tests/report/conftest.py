"""An experiment with a hostile name on a small simulated export, analysed and rendered once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import promptab_nb as pab
from promptab_nb import report

from ._helpers import HOSTILE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_events.py

FLAG = "support-bot-prompt"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "events"
    truth = pab.simulate.traffic(
        700,
        {"control": "v1", "test": "v2"},
        {"test": {"latency": 0.85, "error_rate": 0.08}},
        out=out,
        seed=11,
        flag_key=FLAG,
        days=5,
        progress=False,
    )
    return Path(truth.files["parquet"])


@pytest.fixture(scope="module")
def ws(export: Path) -> pab.Workspace:
    w = pab.Workspace()
    w.load_posthog(export, progress=False)
    return w


@pytest.fixture(scope="module")
def exp(ws: pab.Workspace) -> pab.Experiment:
    return ws.create_experiment(
        HOSTILE, "support-bot", {"control": "v1", "test": "v2"}, flag_key=FLAG, ends_at="2099-01-01"
    )


@pytest.fixture(scope="module")
def res(exp: pab.Experiment) -> pab.ExperimentResult:
    return exp.analyze()


@pytest.fixture(scope="module")
def html(res: pab.ExperimentResult, ws: pab.Workspace) -> str:
    return report.render(res, ws=ws, title=f"Report {HOSTILE}")
