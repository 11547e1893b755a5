"""A simulated support-bot export loaded into a fresh workspace, shared by the widget tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptab_nb as pab

FLAG = "support-bot-prompt"
ARMS = {"control": "v1", "test": "v2"}


@pytest.fixture(scope="package")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "events"
    pab.simulate.traffic(
        2500,
        ARMS,
        {"test": {"latency": 0.85}},
        out=out,
        seed=5,
        days=6,
        flag_key=FLAG,
        prompt_name="support-bot",
        progress=False,
    )
    return out.with_suffix(".parquet")


@pytest.fixture()
def ws(export: Path):
    w = pab.Workspace()
    w.load_posthog(export, progress=False)
    yield w
    w.close()


@pytest.fixture()
def exp(ws):
    return ws.create_experiment("support-bot-v2", "support-bot", ARMS, flag_key=FLAG)
