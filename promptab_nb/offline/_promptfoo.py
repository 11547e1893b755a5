"""promptfoo results as an offline run: load the file, then open it as an :class:`OfflineRun`.

promptfoo reports pass counts per prompt; it does not say whether one prompt beats another beyond
noise. Its results are a dataset experiment (prompts × providers × test cases, with repeats), so
once loaded they are compared like ``ws.run_offline`` runs: paired by test case (McNemar or paired
t), with the A/A noise floor from repeats and the MDE (:meth:`OfflineRun.compare`).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError, InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    from ..workspace import Workspace
    from ._run import OfflineRun

__all__ = ["from_promptfoo"]


def from_promptfoo(ws: Workspace, path: str | Path, *, progress: bool = False) -> OfflineRun:
    """Load one promptfoo ``results.json`` (if not loaded yet) and open it as an offline run.

    Each *version* is ``prompt label @ provider id`` (baseline: the first, i.e. ``promptIdx`` 0
    with the first provider), each *item* a test case (``testIdx``), and each repeat
    (``promptfoo eval --repeat N``) a repeat index in file order. Scores: ``pass`` (promptfoo's
    ``success`` as 1/0, a pass/fail scorer), ``score`` (its graded score, only when it differs
    from pass), and every named score (``namedScores``). Results that errored have no scores
    (as in ``ws.run_offline``); cache hits have no latency.

    Parameters
    ----------
    ws
        The workspace (the run is stored in its offline tables, like ``ws.load_promptfoo``).
    path
        A ``promptfoo eval --output results.json`` file (v3, v2 ``table`` or minimal shape).
    progress
        Show the load's progress bar.

    Returns
    -------
    OfflineRun
        The run ``promptfoo-<evalId>``; ``run.compare()`` gives the paired comparison.
        Reopen it later with ``ws.offline_run(run.run_id)``.

    Raises
    ------
    InvalidArgumentError
        ``path`` names several files (load them with ``ws.load_promptfoo`` and open each with
        ``ws.offline_run``).
    MissingColumnError, DataError
        The file is not a promptfoo results document, or no result row could be loaded.

    Examples
    --------
    >>> run = pab.offline.from_promptfoo(ws, "data/promptfoo_results.json")  # doctest: +SKIP
    >>> run.compare(metrics=["pass", "cost"])  # doctest: +SKIP
    """
    report = ws.load_promptfoo(path, progress=progress)
    if len(report.files) != 1:
        raise InvalidArgumentError(
            f"path == {str(path)!r} names {len(report.files)} files; from_promptfoo opens one. "
            "Load several with ws.load_promptfoo(...) and open each with ws.offline_run(run_id) "
            "(ids in ws.offline_runs())."
        )
    f = report.files[0]
    rows = ws.engine.fetch(
        "SELECT run_id FROM offline_runs WHERE json_extract_string(params, '$.sha256') = ?",
        [f.sha256],
    )
    run_id = rows[0][0] if rows else _run_id(Path(f.file), f.sha256)
    if not ws.engine.fetch("SELECT 1 FROM offline_runs WHERE run_id = ?", [run_id]):
        raise DataError(
            f"{f.file}: no promptfoo result could be loaded ({_rejected(ws, f.sha256)}), so "
            "there is no run to open."
        )
    return ws.offline_run(run_id)


_REJECTED = """
    SELECT reason, count(DISTINCT source_row) AS n
    FROM rejects
    WHERE import_id IN (SELECT import_id FROM imports WHERE sha256 = ?)
    GROUP BY reason
    ORDER BY n DESC, reason
"""


def _rejected(ws: Workspace, sha256: str) -> str:
    """The file's rejected results by reason, from every load of it (a file loaded before is
    skipped by this load, whose own report then counts nothing)."""
    rows = ws.engine.fetch(_REJECTED, [sha256])
    if not rows:
        return "the file has no results"
    total = sum(int(n) for _, n in rows)
    reasons = ", ".join(f"{int(n)} {why}" for why, n in rows)
    return f"{total} rejected: {reasons}; see ws.rejects()"


def _run_id(path: Path, sha256: str) -> str:
    """The loader's run id for a file loaded before under another name (same ``evalId``)."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            eval_id = json.load(fh).get("evalId")
    except (OSError, ValueError, AttributeError) as err:
        raise NotFoundError(f"{path}: cannot read its evalId to find the run ({err})") from err
    return "promptfoo-" + (eval_id or sha256[:16])
