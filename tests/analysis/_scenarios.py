"""Small hand-built experiments for the verdict tests: per-user generations in two arms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _events import FLAG, expo, gen, write

import promptab_nb as pab


def workspace(
    tmp_path: Path, arms: dict[str, list[list[dict[str, Any]]]], *, keep_properties: bool = False
) -> Any:
    """``arms`` maps variant → one list of generation keyword dicts per user; returns
    ``(ws, exp)`` with the experiment on :data:`FLAG`, control first."""
    events: list[dict[str, Any]] = []
    i = 0
    for arm, (variant, users) in enumerate(arms.items(), 1):
        for u, gens in enumerate(users):
            user = f"{variant}-{u}"
            events.append(expo(f"x{i}", user, i % 500, variant))
            for g in gens:
                i += 1
                events.append(gen(f"g{i}", user, i % 500 + 1, **{"version": str(arm), **g}))
            i += 1
    paths = write(events, tmp_path)
    ws = pab.Workspace()
    ws.load_posthog(paths["parquet"], keep_properties=keep_properties, progress=False)
    keys = list(arms)
    exp = ws.create_experiment(
        "exp", "support", {k: str(n) for n, k in enumerate(keys, 1)}, flag_key=FLAG
    )
    return ws, exp
