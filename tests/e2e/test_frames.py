"""pandas and polars frames end to end: generations with an arm column, analysed per user;
both frames give the same numbers, equal to scipy on per-user values. (A frame has no file, so
there is no CLI path: the CLI reads exports.)"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.stats

import promptab_nb as pab

from ._helpers import rows, write_report

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _frame(users: int = 130, seed: int = 21) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = []
    for u in range(users):
        arm = "concise" if u % 2 else "baseline"
        for k in range(int(rng.integers(1, 5))):
            out.append(
                {
                    "request_id": f"g{u}-{k}",
                    "time": T0 + dt.timedelta(minutes=3 * u + k),
                    "user": f"u{u}",
                    "prompt": "bot",
                    "arm": arm,
                    "latency": float(rng.lognormal(0.4, 0.3) * (0.85 if arm == "concise" else 1)),
                    "cost": float(rng.gamma(2.0, 0.0004)),
                    "failed": bool(rng.random() < 0.04),
                }
            )
    return pd.DataFrame(out)


COLUMNS = {
    "uuid": "request_id", "ts": "time", "distinct_id": "user", "variant": "arm",
    "latency_s": "latency", "cost_usd": "cost", "is_error": "failed", "prompt_name": "prompt",
}  # fmt: skip


def _analyse(df):
    ws = pab.Workspace()
    ws.load_frame(df, kind="generations", columns=COLUMNS)
    exp = ws.create_experiment("f", "bot", {"baseline": "baseline", "concise": "concise"})
    assert exp.assigned_by == "arm"
    return ws, exp.analyze(["cost", "latency", "error_rate"])


def test_pandas_and_polars_frames(tmp_path) -> None:
    df = _frame()
    ws, res = _analyse(df)
    _, res_pl = _analyse(pl.from_pandas(df))
    pd.testing.assert_frame_equal(res.to_pandas(), res_pl.to_pandas())
    per_user = df.groupby(["user", "arm"]).agg(cost=("cost", "sum"), latency=("latency", "mean"))
    per_user = per_user.reset_index(level=1)
    a, b = per_user[per_user.arm == "baseline"], per_user[per_user.arm == "concise"]
    table = rows(res)
    for metric in ("cost", "latency"):
        t = scipy.stats.ttest_ind(b[metric], a[metric], equal_var=False)
        assert table.loc[(metric, "concise"), "p_value"] == pytest.approx(t.pvalue, rel=1e-9)
        assert table.loc[(metric, "concise"), "diff"] == pytest.approx(
            b[metric].mean() - a[metric].mean(), rel=1e-9
        )
    assert table.loc[("cost", "concise"), "n"] == len(b) == 65
    assert "arms from the arm recorded on each generation" in res.health.source
    write_report(res, ws, tmp_path)
