"""Write a finished run in one transaction: register its prompt versions, then write
``offline_runs`` / ``offline_results`` / ``offline_scores`` and new responses to
``model_cache``. A failure at any step rolls back all of it, the versions included."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import schema
from .._sql import ident

if TYPE_CHECKING:
    from ..workspace import Workspace
    from ._execute import _Outcome
    from .prompts import PromptVersion


_RESULT_COLS = schema.columns("offline_results")
_SCORE_COLS = schema.columns("offline_scores")


def _store(
    ws: Workspace,
    drafts: list[PromptVersion],
    run_row: Callable[[list[PromptVersion]], dict[str, Any]],
    outcomes: list[_Outcome],
    pending_cache: dict[str, tuple[str, str]],
) -> list[PromptVersion]:
    """Register ``drafts`` (the run's versions as numbered before the run) and store the run.

    ``run_row(versions)`` builds the ``offline_runs`` row from the registered versions. If a
    version was numbered differently meanwhile (another registration of the same prompt), the
    stored labels follow the registry. Returns the registered versions, in order."""
    with ws.transaction() as con:
        versions = [ws.prompts._register(con, v.name, v.template) for v in drafts]
        label = {d.label: v.label for d, v in zip(drafts, versions, strict=True)}
        row = run_row(versions)
        results, scores = _rows(row["run_id"], outcomes, label)
        _insert_rows(con, row, results, scores)
        if pending_cache:
            _insert_cache(con, pending_cache)
    return versions


def _rows(
    run_id: str, outcomes: list[_Outcome], label: dict[str, str]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Column lists of ``offline_results`` and ``offline_scores`` (versions by ``label``)."""
    results: dict[str, list[Any]] = {c: [] for c in _RESULT_COLS}
    scores: dict[str, list[Any]] = {c: [] for c in _SCORE_COLS}
    for o in outcomes:
        c = o.cell
        version = label[c.version.label]
        row = {
            "run_id": run_id, "version": version, "item_id": c.item.item_id,
            "repeat_idx": c.repeat, "prompt": c.prompt, "output": o.output, "error": o.error,
            "latency_s": o.latency_s, "input_tokens": o.input_tokens,
            "output_tokens": o.output_tokens, "cost_usd": o.cost_usd, "cached": o.cached,
            "attempts": o.attempts,
        }  # fmt: skip
        for k in _RESULT_COLS:
            results[k].append(row[k])
        for scorer, value, passed, error in o.scores:
            if error is not None:
                error += f" (scorer {scorer!r}, item {c.item.item_id!r}, version {version})"
            srow = {
                "run_id": run_id, "version": version, "item_id": c.item.item_id,
                "repeat_idx": c.repeat, "scorer": scorer, "value": value, "passed": passed,
                "error": error,
            }  # fmt: skip
            for k in _SCORE_COLS:
                scores[k].append(srow[k])
    return results, scores


def _insert_rows(
    con: Any,
    run_row: dict[str, Any],
    results: dict[str, list[Any]],
    scores: dict[str, list[Any]],
) -> None:
    """Insert the run, its results and its scores (bulk, through Arrow) in ``con``'s transaction."""
    import pyarrow as pa

    types = {
        "repeat_idx": pa.int32(), "latency_s": pa.float64(), "input_tokens": pa.int64(),
        "output_tokens": pa.int64(), "cost_usd": pa.float64(), "cached": pa.bool_(),
        "attempts": pa.int32(), "value": pa.float64(), "passed": pa.bool_(),
    }  # fmt: skip

    def arrow(cols: dict[str, list[Any]]) -> Any:
        return pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in cols.items()})

    res_tbl, score_tbl = arrow(results), arrow(scores)
    res_cols = ", ".join(ident(c) for c in _RESULT_COLS)
    score_cols = ", ".join(ident(c) for c in _SCORE_COLS)
    run_cols = list(run_row)
    con.execute(
        f"INSERT INTO offline_runs ({', '.join(ident(c) for c in run_cols)}) "
        f"VALUES ({', '.join('?' for _ in run_cols)})",
        list(run_row.values()),
    )
    con.register("_pab_offline_results", res_tbl)
    con.register("_pab_offline_scores", score_tbl)
    try:
        con.execute(
            f"INSERT INTO offline_results ({res_cols}) SELECT {res_cols} FROM _pab_offline_results"
        )
        if score_tbl.num_rows:
            con.execute(
                f"INSERT INTO offline_scores ({score_cols}) "
                f"SELECT {score_cols} FROM _pab_offline_scores"
            )
    finally:
        con.unregister("_pab_offline_results")
        con.unregister("_pab_offline_scores")


def _insert_cache(con: Any, pending: dict[str, tuple[str, str]]) -> None:
    """Add responses to ``model_cache`` (bulk, through Arrow: executemany is slow in DuckDB)."""
    import pyarrow as pa

    tbl = pa.table(
        {
            "cache_key": pa.array(list(pending), pa.string()),
            "model_id": pa.array([m for m, _ in pending.values()], pa.string()),
            "response": pa.array([r for _, r in pending.values()], pa.string()),
        }
    )
    con.register("_pab_model_cache", tbl)
    try:
        con.execute(
            """
            INSERT OR IGNORE INTO model_cache (cache_key, model_id, response, created_at)
            SELECT cache_key, model_id, response, now() FROM _pab_model_cache
            """
        )
    finally:
        con.unregister("_pab_model_cache")
