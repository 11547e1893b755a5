"""Helpers of the paired comparison for clusters, repeats and missing values (kept out of
``compare`` so each module stays one concept): the cluster of every item, the items × repeats
matrix of paired differences and its variance split, and the units a comparison leaves out
(no value in one or both versions), counted by reason: for the comparison itself, the A/A noise
floor (:func:`aa_left_out`) and the variance split (:func:`repeats_left_out`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import stats
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun
    from .dataset import Dataset

__all__ = [
    "LeftOut",
    "aa_left_out",
    "cell_reasons",
    "cluster_of",
    "counts_text",
    "left_out",
    "repeat_differences",
    "repeat_frame",
    "repeat_matrix",
    "repeats_left_out",
    "variance_split",
]


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


def repeat_differences(frame: pd.DataFrame, baseline: str, version: str) -> pd.DataFrame:
    """Items (index ``item_id``) × repeats frame of ``version − baseline``, repeats paired by
    index; items missing a repeat in either version are left out (counted by
    :func:`repeats_left_out`)."""
    import pandas as pd

    wide = frame[frame["version"].isin([baseline, version])].pivot_table(
        index="item_id", columns=["version", "repeat_idx"], values="value", aggfunc="first"
    )
    if baseline not in wide.columns.get_level_values(0) or version not in (
        wide.columns.get_level_values(0)
    ):
        return pd.DataFrame(index=pd.Index([], name="item_id"))
    return (wide[version] - wide[baseline]).dropna()


def repeat_matrix(frame: pd.DataFrame, baseline: str, version: str) -> np.ndarray:
    """Items × repeats matrix of ``version − baseline`` (:func:`repeat_differences`)."""
    d = repeat_differences(frame, baseline, version)
    return d.to_numpy(float) if len(d) else np.empty((0, 0))


def variance_split(matrix: np.ndarray) -> stats.VarianceComponents | None:
    """Between- and within-item variance of the differences (None with < 2 items or repeats)."""
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 2:
        return None
    return stats.variance_components(matrix)


# Why a cell has no value; ``{key}`` is "repeat_idx" or "0" and ``{col}`` an allow-listed
# column, never user text. A score with a value counts even if its call was retried.
_SCORE_CELLS = """
    WITH cells AS (
        SELECT version, item_id, repeat_idx,
               CASE WHEN s.value IS NOT NULL THEN NULL
                    WHEN r.error IS NOT NULL THEN 'model error'
                    WHEN s.error IS NOT NULL THEN 'scorer error'
                    WHEN s.scorer IS NOT NULL THEN 'not applicable'
                    ELSE 'no score stored'
               END AS reason
        FROM (SELECT * FROM offline_results WHERE run_id = $run) AS r
        FULL JOIN (SELECT * FROM offline_scores WHERE run_id = $run AND scorer = $scorer) AS s
        USING (version, item_id, repeat_idx)
    )
    SELECT version, item_id, {key} AS k, reason, count(*) AS n
    FROM cells
    GROUP BY ALL
"""

_RESULT_CELLS = """
    WITH cells AS (
        SELECT version, item_id, repeat_idx,
               CASE WHEN error IS NULL AND {col} IS NOT NULL THEN NULL
                    WHEN error IS NOT NULL THEN 'model error'
                    ELSE $missing
               END AS reason
        FROM offline_results
        WHERE run_id = $run
    )
    SELECT version, item_id, {key} AS k, reason, count(*) AS n
    FROM cells
    GROUP BY ALL
"""


def cell_reasons(run: OfflineRun, metric: str, column: str | None, key: str) -> pd.DataFrame:
    """Cells of ``metric`` per (version, item_id, k, reason) with their count ``n``; ``reason``
    is null for cells with a value, else why there is none (model error, scorer error, not
    applicable, …). ``k`` is the pairing key (``key``: ``"repeat_idx"`` or ``"0"``) and
    ``column`` an allow-listed results column for cost, latency and tokens."""
    if column is not None:
        query = _RESULT_CELLS.format(col=column, key=key)
        return run._ws.sql(query, {"run": run.run_id, "missing": f"no {metric} reported"})
    return run._ws.sql(_SCORE_CELLS.format(key=key), {"run": run.run_id, "scorer": metric})


def counts_text(pairs: tuple[tuple[str, int], ...]) -> str:
    """``"2 model error in both versions, 1 …"`` from ``(reason, count)`` pairs."""
    return ", ".join(f"{n} {text}" for text, n in pairs)


@dataclass(frozen=True)
class LeftOut:
    """Units (items, or (item, repeat) pairs) of one paired comparison left out because they
    have no value in one or both versions, counted by reason; ``partial`` counts cells left out
    of the per-item means of items that are compared (``pairing="item"`` with repeats)."""

    n_units: int
    unit: str
    reasons: tuple[tuple[str, int], ...] = ()
    partial: tuple[tuple[str, int], ...] = ()

    @property
    def n(self) -> int:
        """Units left out."""
        return sum(n for _, n in self.reasons)

    def describe(self) -> str | None:
        """``"3 of 40 items left out: 2 model error in both versions, …"`` (None if none)."""
        parts = []
        if self.reasons:
            parts.append(
                f"{self.n} of {self.n_units} {self.unit} left out: {counts_text(self.reasons)}"
            )
        if self.partial:
            k = sum(n for _, n in self.partial)
            parts.append(
                f"{k} cells (item, repeat) without a value left out of their item's mean: "
                f"{counts_text(self.partial)}"
            )
        return "; ".join(parts) or None


def left_out(
    cells: pd.DataFrame, baseline: str, version: str, used: Iterable[tuple[Any, Any]], *,
    pairing: str, sides: str = "versions",
) -> LeftOut:  # fmt: skip
    """What the pairs ``used`` (``(item_id, k)`` keys) of ``version`` vs ``baseline`` leave out
    of ``cells`` (from :func:`cell_reasons`), with the reason on each side. With ``baseline ==
    version``: what one version's own estimate leaves out. ``sides`` names the two sides when
    both lack a value (``"… in both versions"``, or ``"repeats"`` for the A/A floor)."""
    sub = cells[cells["version"].isin([baseline, version])]
    keys = ["version", "item_id", "k"]
    valued = {tuple(r) for r in sub.loc[sub["reason"].isna(), keys].itertuples(index=False)}
    missing = sub[sub["reason"].notna()]
    why = (
        missing.groupby(keys)["reason"].agg(lambda s: " / ".join(sorted(set(s)))).to_dict()
        if len(missing)
        else {}
    )
    units = {(i, k) for i, k in sub[["item_id", "k"]].itertuples(index=False)}
    used_set = set(used)

    def side(v: str, unit: tuple[Any, Any]) -> str | None:
        if (v, *unit) in valued:
            return None
        return str(why.get((v, *unit), "no result stored"))

    counts: Counter[str] = Counter()
    for unit in sorted(units - used_set, key=str):
        rb, rv = side(baseline, unit), side(version, unit)
        if baseline == version and rv is not None:  # one version's own estimate
            text = f"{rv} in {version}"
        elif rb is not None and rv is not None:
            text = f"{rb} in both {sides}" if rb == rv else f"{rb} in {baseline}, {rv} in {version}"
        elif rb is not None:
            text = f"{rb} in {baseline} only"
        elif rv is not None:
            text = f"{rv} in {version} only"
        else:  # a value on both sides that the comparison did not pair: should not happen
            text = "not paired"
        counts[text] += 1
    partial: Counter[str] = Counter()
    if pairing == "item" and len(missing):
        inside = [(i, k) in used_set for i, k in missing[["item_id", "k"]].itertuples(index=False)]
        for (v, reason), n in missing[inside].groupby(["version", "reason"])["n"].sum().items():
            partial[f"{reason} in {v}"] += int(n)
    return LeftOut(
        n_units=len(units),
        unit="items" if pairing == "item" else "(item, repeat) pairs",
        reasons=tuple(counts.most_common()),
        partial=tuple(partial.most_common()),
    )


def aa_left_out(cells: pd.DataFrame, version: str, used: Iterable[Any]) -> LeftOut:
    """Items of ``version`` that its A/A noise floor (repeat 0 vs repeat 1) leaves out; ``used``
    are the item ids it compares and ``cells`` come from :func:`cell_reasons` by repeat
    (``key="repeat_idx"``). The two sides are named ``"repeat 0"`` and ``"repeat 1"``."""
    sub = cells[(cells["version"] == version) & cells["k"].isin([0, 1])]
    sub = sub.assign(version=[f"repeat {int(k)}" for k in sub["k"]], k=0)
    return left_out(
        sub, "repeat 0", "repeat 1", [(i, 0) for i in used], pairing="item", sides="repeats"
    )


def repeats_left_out(
    cells: pd.DataFrame, baseline: str, version: str, used: Iterable[Any]
) -> LeftOut:
    """Items the variance split of ``version − baseline`` leaves out (:func:`repeat_differences`
    needs every repeat of both versions); ``used`` are the item ids it keeps and ``cells`` come
    from :func:`cell_reasons` by repeat. A version of an item with one repeat missing has no
    value as a whole, for the reasons of its missing repeats."""
    sub = cells[cells["version"].isin([baseline, version])].assign(k=0)
    missing = sub["reason"].notna().to_numpy()
    gaps = set(sub.loc[missing, ["version", "item_id"]].itertuples(index=False, name=None))
    whole = [(v, i) not in gaps for v, i in sub[["version", "item_id"]].itertuples(index=False)]
    keep = missing | np.asarray(whole, dtype=bool)
    return left_out(sub[keep], baseline, version, [(i, 0) for i in used], pairing="item")
