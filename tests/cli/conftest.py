"""The small export most CLI tests analyse."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import promptab_nb as pab

from ._helpers import FLAG

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_events.py


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small export where test is faster (better) but fails and passes less (worse)."""
    out = tmp_path_factory.mktemp("cli") / "posthog_events"
    truth = pab.simulate.traffic(
        600,
        {"control": "v1", "test": "v2"},
        {"test": {"latency": 0.8, "error_rate": 0.10, "pass_rate": 0.55}},
        out=out,
        seed=3,
        days=4,
        flag_key=FLAG,
        progress=False,
    )
    return Path(truth.files["parquet"])
