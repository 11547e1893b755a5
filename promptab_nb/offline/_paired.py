"""Helpers of the paired comparison for clusters and repeats (kept out of ``compare`` so each
module stays one concept): the cluster of every item, the items × repeats matrix of paired
differences, and the variance split of that matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import stats
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun
    from .dataset import Dataset

__all__ = ["cluster_of", "repeat_frame", "repeat_matrix", "variance_split"]


def cluster_of(dataset: Dataset, column: str) -> dict[str, Any]:
    """``{item_id: cluster}`` from each item's metadata (or, failing that, its variables).

    Raises
    ------
    InvalidArgumentError
        Some item has no value for ``column`` (the first such item is named).
    """
    out: dict[str, Any] = {}
    for item in dataset:
        value = item.metadata.get(column, item.variables.get(column))
        if value is None:
            raise InvalidArgumentError(
                f"cluster == {column!r}, but item {item.item_id!r} has no {column!r} in its "
                "metadata or variables; give every item a cluster (e.g. "
                f"Dataset.from_records(..., metadata_fields=[{column!r}]))"
            )
        out[item.item_id] = value
    return out


_REPEAT_SCORES = """
    SELECT version, item_id, repeat_idx, value
    FROM offline_scores
    WHERE run_id = $run AND scorer = $scorer AND value IS NOT NULL
"""

_REPEAT_RESULTS = """
    SELECT version, item_id, repeat_idx, {col} AS value
    FROM offline_results
    WHERE run_id = $run AND error IS NULL AND {col} IS NOT NULL
"""


def repeat_frame(run: OfflineRun, metric: str, column: str | None) -> pd.DataFrame:
    """One value per (version, item, repeat): a scorer's value, or the results ``column``
    (an allow-listed column name, never user text)."""
    if column is not None:
        return run._ws.sql(_REPEAT_RESULTS.format(col=column), {"run": run.run_id})
    return run._ws.sql(_REPEAT_SCORES, {"run": run.run_id, "scorer": metric})


def repeat_matrix(frame: pd.DataFrame, baseline: str, version: str) -> np.ndarray:
    """Items × repeats matrix of ``version − baseline``, repeats paired by index; items missing
    a repeat in either version are left out."""
    wide = frame[frame["version"].isin([baseline, version])].pivot_table(
        index="item_id", columns=["version", "repeat_idx"], values="value", aggfunc="first"
    )
    if baseline not in wide.columns.get_level_values(0) or version not in (
        wide.columns.get_level_values(0)
    ):
        return np.empty((0, 0))
    d = (wide[version] - wide[baseline]).dropna()
    return d.to_numpy(float)


def variance_split(matrix: np.ndarray) -> stats.VarianceComponents | None:
    """Between- and within-item variance of the differences (None with < 2 items or repeats)."""
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 2:
        return None
    return stats.variance_components(matrix)
