"""The analysis SQL (analysis/_scope.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb.analysis import _scope
from promptab_nb.metrics import resolve

pytest.importorskip("genai_prices")

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _priced_experiment() -> pab.Experiment:
    rng = np.random.default_rng(4)
    rows = [
        {
            "uuid": f"g{i}_{k}",
            "ts": T0 + dt.timedelta(minutes=i + k),
            "distinct_id": f"u{i}",
            "prompt_name": "bot",
            "prompt_version": "v1" if i % 2 else "v2",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": int(rng.integers(100, 900)),
            "output_tokens": int(rng.integers(10, 300)),
            "latency_s": float(rng.gamma(2, 0.5)),
            "is_error": bool(rng.random() < 0.1),
            "cost_usd": None,
        }
        for i in range(200)
        for k in range(2)
    ]
    ws = pab.Workspace()
    ws.load_frame(pd.DataFrame(rows), kind="generations")
    return ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}, assigned_by="version")


def test_generations_are_priced_only_for_a_cost_metric() -> None:
    # cost='recompute' joined the price table to every generation in scope even when no
    # analysed metric read the cost: a needless join (the numbers do not depend on it)
    from promptab_nb.pricing import price_table

    exp = _priced_experiment()
    prices = price_table(exp.ws.engine)
    d = dataclasses.replace(_scope.design_of(exp), prices=prices)
    without_cost = resolve(["latency", "error_rate", "tokens_out"])
    assert prices not in _scope.per_unit_sql(exp, without_cost, d)
    assert prices in _scope.per_unit_sql(exp, [*without_cost, *resolve(["cost"])], d)
    cols = ["metric", "variant", "n", "mean", "mean_ci_low", "mean_ci_high", "diff",
            "diff_ci_low", "diff_ci_high", "rel_diff", "rel_ci_low", "rel_ci_high", "p_value"]  # fmt: skip
    names = ["latency", "error_rate", "tokens_out"]
    recomputed = exp.analyze(names, cost="recompute").to_pandas()[cols]
    pd.testing.assert_frame_equal(recomputed, exp.analyze(names).to_pandas()[cols])
    # with the cost, the others are unchanged beside it
    both = exp.analyze([*names, "cost"], cost="recompute").to_pandas()[cols]
    pd.testing.assert_frame_equal(both[both.metric != "cost"].reset_index(drop=True), recomputed)


def test_no_exposures_message_is_sentences(loaded) -> None:
    # the message read "no exposures for flag 'no-such-flag' of experiment 'x'; The workspace
    # holds ..." (a capital after a semicolon)
    ws, _ = loaded
    exp = ws.create_experiment("x", "other", {"control": "1", "test": "2"}, flag_key="no-such-flag")
    with pytest.raises(pab.NotFoundError) as err:
        exp.analyze(["latency"])
    text = str(err.value)
    assert "of experiment 'x'. The workspace holds flags: " in text and "; The" not in text
    empty = pab.Workspace()
    exp = empty.create_experiment("y", "p", {"control": "1", "test": "2"}, flag_key="f")
    with pytest.raises(pab.NotFoundError, match="of experiment 'y'; the workspace has no "):
        exp.analyze(["latency"])
    empty.close()


def test_no_exposures_of_the_flag_names_the_flags_held(tmp_path) -> None:
    # With exposures of another flag and no generations loaded yet, the message said "the
    # workspace has no $feature_flag_called events: load an export first"
    from _events import expo, write

    ws = pab.Workspace()
    events = [expo(f"x{i}", f"u{i}", i, "control") for i in range(3)]
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    flag = ws.table("exposures").flag_key.iloc[0]
    exp = ws.create_experiment("x", "p", {"control": "1", "test": "2"}, flag_key="other")
    with pytest.raises(pab.NotFoundError) as err:
        exp.analyze(["latency"])
    assert f"The workspace holds flags: {flag}." in str(err.value)
    assert "no $feature_flag_called events" not in str(err.value)
    ws.close()
