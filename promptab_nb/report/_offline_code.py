"""The offline part of the "Reproduce" section: the calls that reopen the stored offline run and
compare it again (:meth:`OfflineComparison.to_code`, from the options the comparison records), or,
when no call can give the numbers the report shows, the reason why.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PromptabError

if TYPE_CHECKING:
    from ..offline import OfflineRun
    from ..workspace import Workspace

#: The name the code gives the comparison (``pab.report.write(..., offline=comparison)``).
VAR = "comparison"


@dataclass(frozen=True)
class OfflineCode:
    """Lines of code (comments when nothing is reproduced); ``var`` names the comparison they
    build (``None``: not reproduced); ``note`` says what is not reproduced, for the page."""

    lines: tuple[str, ...]
    var: str | None = None
    note: str | None = None


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 86, initial_indent="# ", subsequent_indent="# ")


def _cannot(reason: str) -> OfflineCode:
    note = f"The offline comparison is not reproduced by this code: {reason}."
    return OfflineCode(("", *_comment(note)), None, note)


def offline_code(offline: Any, ws: Workspace | None, provenance: Sequence[dict]) -> OfflineCode:
    """The code that rebuilds the report's offline section (a comparison, checked against ``ws``
    to give the same numbers, or a run)."""
    from ..offline import OfflineComparison, OfflineRun

    if not isinstance(offline, OfflineComparison | OfflineRun):
        return _cannot(
            f"the offline section was given {type(offline).__name__} (not a comparison from "
            "run.compare(...) or a run), so there is no stored run to open again"
        )
    run_id = offline.run_id
    if ws is None:
        return _cannot(
            f"the report was made without the workspace that stores run {run_id!r} "
            "(pass ws= to the report)"
        )
    try:
        run = ws.offline_run(run_id)
    except PromptabError:
        return _cannot(f"run {run_id!r} is not in the report's workspace")
    opener = _opener(run, ws, provenance)
    if opener is None:
        return _cannot(
            f"run {run_id!r} is stored in an in-memory workspace, which ends with the session, "
            "and calling the model again would give other outputs; run it in a file workspace, "
            "pab.Workspace('runs.duckdb'), to make it reproducible"
        )
    if isinstance(offline, OfflineRun):  # its section is its summary, read from the tables
        return OfflineCode(tuple(opener), "run")
    bootstrap = any(r.method.startswith("paired bootstrap") for r in offline.rows)
    if bootstrap and offline.seed is None:
        return _cannot(
            "its paired bootstrap had no seed, so every run resamples differently "
            "(pass seed= to run.compare)"
        )
    lines = [*opener, f"{VAR} = {offline.to_code('run', human_labels=None)}"]
    note = None
    if offline.ppi is not None:
        note = (
            "The offline comparison's PPI++ estimates (comparison.ppi) are not reproduced: "
            "they used human labels, which the workspace does not store; pass the same frame "
            "as run.compare(..., human_labels=...)."
        )
        lines += _comment(note)
    return OfflineCode(tuple(lines), VAR, note)


def _opener(run: OfflineRun, ws: Workspace, provenance: Sequence[dict]) -> list[str] | None:
    """The lines that open the run: from the promptfoo file the code loads above, else from the
    workspace file; ``None`` for a run that only an in-memory workspace holds."""
    sha = run.params.get("sha256")
    loaded = any(
        p.get("source") == "promptfoo"
        and p.get("sha256") == sha
        and (p.get("call") or p.get("file"))
        for p in provenance
    )
    if sha and loaded:
        return [
            "",
            f"# the offline run: the promptfoo results loaded above are run {run.run_id!r}",
            f"run = ws.offline_run({run.run_id!r})",
        ]
    if ws.path is None:
        return None
    return [
        "",
        "# the offline run, from the workspace file that stores it",
        f"offline_ws = pab.Workspace({ws.path!r})",
        f"run = offline_ws.offline_run({run.run_id!r})",
    ]
