from __future__ import annotations

import pytest

import promptab_nb as pab

from ._plot_helpers import ARMS


@pytest.fixture(scope="session")
def exp(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sim") / "events"
    pab.simulate.traffic(
        3000,
        ARMS,
        {"test": {"latency": 0.85, "cost": 1.1}, "bold": {"error_rate": 0.05, "latency": 1.02}},
        out=out,
        seed=11,
        days=8,
        flag_key="support-bot-prompt",
        prompt_name="support-bot",
        progress=False,
    )
    ws = pab.Workspace()
    ws.load_posthog(out.with_suffix(".parquet"), progress=False)
    yield ws.create_experiment("plots", "support-bot", ARMS, flag_key="support-bot-prompt")
    ws.close()


@pytest.fixture(scope="session")
def res(exp):
    return exp.analyze()


@pytest.fixture(scope="session")
def comparison():
    ws = pab.Workspace()
    ds = pab.offline.Dataset.from_records(
        [{"q": f"{i} + {i}", "expected": str(2 * i)} for i in range(24)]
    )
    run = ws.run_offline(
        ds,
        [("math", "{{q}}"), ("math", "Think step by step: {{q}}")],
        pab.offline.DemoModel(),
        repeats=2,
        progress=False,
    )
    yield run.compare()
    ws.close()
