"""Atomic and idempotent loads into a file workspace: SIGKILL mid-load, reloads, a second process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import _events as E
import duckdb
import numpy as np
import pytest

from promptab_nb import schema
from promptab_nb.errors import WorkspaceInUseError
from promptab_nb.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
N_EVENTS = 800_000  # loads in ~5 s here: every kill (<= 0.4 s) lands mid-load with a wide margin

_CHILD = """
import sys
from promptab_nb.workspace import Workspace
ws = Workspace(sys.argv[1])
print("loading", flush=True)
ws.load_posthog(sys.argv[2], progress=False)
print("done", flush=True)
ws.close()
"""


def _big_export(path: Path, n: int = N_EVENTS) -> None:
    """A PostHog-shaped Parquet export of ``n`` generations, written by DuckDB (fast)."""
    duckdb.sql(
        f"""
        COPY (
            SELECT 'big-' || i AS uuid, '$ai_generation' AS event, 'u' || (i % 5000) AS distinct_id,
                   NULL::VARCHAR AS person_id,
                   TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_seconds(i) AS "timestamp",
                   json_object('$ai_latency', (i % 97) / 10.0, '$ai_total_cost_usd', 0.0001,
                               '$ai_input_tokens', 100, '$ai_output_tokens', i % 300,
                               '$ai_model', 'gpt-4o-mini', '$ai_http_status', 200,
                               '$ai_trace_id', 't' || i)::VARCHAR AS properties
            FROM range({n}) t(i)
        ) TO '{path}' (FORMAT parquet)
        """
    )


def state(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and a contents hash of every table."""
    with Workspace(path) as ws:
        out = {}
        for t in schema.TABLES:
            n, h = ws.engine.fetch(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) "
                f"ORDER BY CAST(t AS VARCHAR)), '')) FROM \"{t}\" t"
            )[0]
            out[t] = (n, h)
        return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("atomic")
    big = d / "big.parquet"
    _big_export(big)
    _big_export(d / "medium.parquet", 20_000)
    small = E.write([E.expo("e1", "u1", 0, "control"), E.gen("g1", "u1", 1)], d / "small")["jsonl"]
    return big, small, d


def test_sigkill_mid_load_leaves_the_workspace_unchanged(files):
    big, small, d = files
    db = d / "ws.duckdb"
    with Workspace(db) as ws:
        ws.load_posthog(small, progress=False)
    before = state(db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = np.random.default_rng(7)
    killed = 0
    for i in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(db), str(big)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "loading"
        if i == 0:
            # While it writes, a second process gets a clear error.
            with pytest.raises(WorkspaceInUseError, match="in use by another process"):
                Workspace(db)
        time.sleep(float(rng.uniform(0.02, 0.4)))
        assert child.poll() is None, "the load finished before the kill: make the file bigger"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        killed += 1
        assert state(db) == before, f"kill {i}: the workspace changed"
    assert killed == 10


def test_reload_adds_nothing(files):
    _, small, d = files
    medium = d / "medium.parquet"
    db = d / "reload.duckdb"
    with Workspace(db) as ws:
        first = ws.load_posthog(medium, progress=False)
        assert first.loaded["generations"] == 20_000
    after = state(db)
    with Workspace(db) as ws:
        again = ws.load_posthog(medium, progress=False)
        assert again.rows_loaded == 0 and again.rows_duplicate == 20_000
    final = state(db)
    assert {t: v for t, v in final.items() if t != "imports"} == {
        t: v for t, v in after.items() if t != "imports"
    }
    assert final["imports"][0] == after["imports"][0] + 1  # the reload is recorded, nothing else
