"""Frames in: pandas, polars and Arrow, with the same checks as files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from promptab_nb.errors import InvalidArgumentError, MissingColumnError

from .conftest import accounted

COLS = {
    "ts": "when",
    "distinct_id": "user",
    "latency_s": "lat",
    "cost_usd": "cost",
    "is_error": "err",
}


def _df():
    return pd.DataFrame({
        "when": pd.to_datetime(["2026-03-01 10:00", "2026-03-01T11:00+02:00", "2026-03-01 12:00"], format="mixed", utc=True),
        "user": ["u1", "u2", "u3"], "lat": [1.5, 2.0, -1.0], "cost": [0.01, 0.02, 0.03],
        "err": [False, True, False],
    })  # fmt: skip


@pytest.mark.parametrize("convert", [lambda d: d, pl.from_pandas, pa.Table.from_pandas])
def test_frames_load_with_rejects_and_dedupe(ws, convert):
    df = convert(_df())
    r = ws.load_frame(df, kind="generations", columns=COLS)
    accounted(r)
    assert r.loaded == {"generations": 2} and r.reasons == {
        "latency_s is not a finite number >= 0": 1
    }
    g = ws.sql("SELECT * FROM generations ORDER BY ts")
    assert g.latency_s.tolist() == [2.0, 1.5] and str(g.ts[0]) == "2026-03-01 09:00:00+00:00"
    assert ws.load_frame(df, kind="generations", columns=COLS).rows_loaded == 0


def test_evaluations_and_exposures(ws):
    ev = pd.DataFrame(
        {
            "ts": ["2026-03-01T10:00:00Z"] * 2,
            "distinct_id": ["a", "b"],
            "passed": [True, None],
            "score": [np.nan, np.nan],
            "uuid": ["e1", "e2"],
        }
    )
    r = ws.load_frame(ev, kind="evaluations")
    assert r.loaded == {"evaluations": 1} and r.reasons == {"passed and score are missing": 1}
    ex = pa.table(
        {"t": ["2026-03-01T10:00:00Z"], "u": ["a"], "flag_key": ["f"], "variant": ["test"]}
    )
    r = ws.load_frame(ex, kind="exposures", columns={"ts": "t", "distinct_id": "u"})
    assert ws.sql("SELECT variant FROM exposures").variant.tolist() == ["test"]


def test_bad_arguments(ws):
    with pytest.raises(InvalidArgumentError, match="not a column of generations"):
        ws.load_frame(_df(), kind="generations", columns={"latency": "lat"})
    with pytest.raises(MissingColumnError, match="no column 'nope'"):
        ws.load_frame(_df(), kind="generations", columns={**COLS, "model": "nope"})
    with pytest.raises(MissingColumnError, match="'distinct_id'"):
        ws.load_frame(_df(), kind="generations", columns={"ts": "when"})
    with pytest.raises(InvalidArgumentError, match="kind"):
        ws.load_frame(_df(), kind="spans")
    with pytest.raises(InvalidArgumentError, match="expected a pandas"):
        ws.load_frame([1, 2], kind="generations")
