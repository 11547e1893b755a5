"""The DuckDB engine: facts about the data are answered once per data version."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb.errors import NotFoundError

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _gens(prompt: str, start: int, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uuid": [f"{prompt}{i}" for i in range(start, start + n)],
            "ts": [T0 + dt.timedelta(minutes=i) for i in range(n)],
            "distinct_id": [f"u{i}" for i in range(n)],
            "prompt_name": prompt,
            "prompt_version": ["v1" if i % 2 else "v2" for i in range(n)],
            "latency_s": 1.0,
        }
    )


def test_facts_are_cached_until_the_data_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    ws = pab.Workspace()
    ws.load_frame(_gens("alpha", 0), kind="generations")
    eng = ws.engine
    ran: list[str] = []
    fetch = eng.fetch
    monkeypatch.setattr(eng, "fetch", lambda q, p=None: ran.append(q) or fetch(q, p))
    query = "SELECT prompt_name FROM generations GROUP BY 1 ORDER BY 1"
    assert eng.fetch_facts(query) == [("alpha",)]
    n = len(ran)
    assert eng.fetch_facts(query) == [("alpha",)]
    assert ran.count(query) == 1 and len(ran) == n + 1  # only the data version was read again
    ws.load_frame(_gens("beta", 10), kind="generations")
    assert eng.fetch_facts(query) == [("alpha",), ("beta",)]  # a load is a new data version
    assert ran.count(query) == 2
    ws.close()


def test_an_analysis_sees_a_prompt_loaded_after_it_checked() -> None:
    ws = pab.Workspace()
    ws.load_frame(_gens("alpha", 0), kind="generations")
    exp = ws.create_experiment("x", "beta", {"control": "v1", "test": "v2"}, assigned_by="version")
    with pytest.raises(NotFoundError, match="prompts in the workspace: 'alpha'"):
        exp.analyze(["latency"])
    ws.load_frame(_gens("beta", 10), kind="generations")
    res = exp.analyze(["latency"])  # the check answers from the new data, not its cache
    assert res.to_pandas().n.sum() > 0
    ws.close()
