"""One row per item with each version's output and scores, to read what changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._checks import check

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun

__all__ = ["side_by_side"]

_OUTPUTS = """
    SELECT version, item_id, coalesce(output, '[error] ' || error) AS output
    FROM offline_results
    WHERE run_id = $run AND repeat_idx = $repeat
"""

_ITEM_SCORES = """
    SELECT version, item_id, scorer, avg(value) AS value
    FROM offline_scores
    WHERE run_id = $run
    GROUP BY ALL
"""


def side_by_side(run: OfflineRun, *, repeat: int = 0, changed: bool = False) -> pd.DataFrame:
    """One row per item: id, inputs, expected answer, then per version its output (of
    ``repeat``) and each score averaged over repeats.

    Parameters
    ----------
    repeat
        Which repeat's output to show.
    changed
        Keep only items whose first scorer differs between versions.
    """
    check(repeat, "repeat", ge=0, lt=run.repeats, integer=True)
    base = run.dataset.to_pandas()
    meta = {k for i in run.dataset for k in i.metadata}
    base = base[[c for c in base.columns if c not in meta]]
    outputs = run._ws.sql(_OUTPUTS, {"run": run.run_id, "repeat": int(repeat)})
    scores = run._ws.sql(_ITEM_SCORES, {"run": run.run_id})
    out = base.set_index("item_id")
    for label in run.labels:
        o = outputs[outputs["version"] == label].set_index("item_id")["output"]
        out[f"{label} output"] = out.index.map(o)
        for scorer in run.scorers:
            s = scores[(scores["version"] == label) & (scores["scorer"] == scorer)]
            out[f"{label} {scorer}"] = out.index.map(s.set_index("item_id")["value"])
    if changed and run.scorers:
        cols = [f"{label} {run.scorers[0]}" for label in run.labels]
        out = out[out[cols].nunique(axis=1, dropna=False) > 1]
    return out.reset_index()
