"""The whole report HTML against a stored snapshot (fixed seed, fixed clock, images elided).

Update after an intended change with ``pytest tests/report/test_snapshot.py --snapshot-update``
and review the diff of ``tests/report/__snapshots__``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import promptab_nb as pab
from promptab_nb import report

FIXED = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def _stable(res: pab.ExperimentResult) -> pab.ExperimentResult:
    provenance = tuple(
        {
            **p,
            "file": "events.parquet",
            "sha256": "0" * 64,
            "loaded_at": FIXED,
            "call": "ws.load_posthog('events.parquet')",
        }  # fmt: skip
        for p in res.provenance
    )
    return dataclasses.replace(res, computed_at=FIXED, provenance=provenance)


def test_report_html_snapshot(res: pab.ExperimentResult, snapshot) -> None:  # noqa: ANN001
    html = report.render(_stable(res), title="Snapshot report")
    # PNG bytes depend on the matplotlib and font versions; their presence is tested elsewhere.
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,…", html)
    html = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(\.\d+)?( ?UTC|\+00:00)?", "<time>", html)
    assert html == snapshot
