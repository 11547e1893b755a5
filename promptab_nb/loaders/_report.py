"""The result of a load: what was read, loaded, rejected and skipped as a duplicate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._render import Note, Rendered, Table


@dataclass(frozen=True)
class FileReport:
    """One file's load. ``rows_read == sum(loaded.values()) + rows_rejected + rows_duplicate``."""

    file: str
    format: str
    sha256: str
    import_id: int
    rows_read: int
    loaded: dict[str, int]
    rows_rejected: int
    rows_duplicate: int
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    # Rows written besides the per-row tables, e.g. {"offline_scores": 12, "offline_runs": 1}.
    also: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(self.loaded.values())


@dataclass(frozen=True, repr=False)
class LoadReport(Rendered):
    """What a load did, file by file; renders as a table in Jupyter and in a terminal, with the
    most frequent reasons rows were rejected."""

    source: str
    files: tuple[FileReport, ...]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def rows_duplicate(self) -> int:
        return sum(f.rows_duplicate for f in self.files)

    @property
    def loaded(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for k, v in f.loaded.items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for k, v in f.reasons.items():
                out[k] = out.get(k, 0) + v
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def _records(self) -> list[dict[str, Any]]:
        return [
            {
                "file": f.file,
                "format": f.format,
                "sha256": f.sha256,
                "import_id": f.import_id,
                "rows_read": f.rows_read,
                **{f"loaded_{k}": v for k, v in f.loaded.items()},
                "rows_rejected": f.rows_rejected,
                "rows_duplicate": f.rows_duplicate,
                "seconds": f.seconds,
            }
            for f in self.files
        ]

    def _table(self) -> Table:
        rows = [
            [
                f.file,
                f.format,
                f.sha256[:12],
                f"{f.rows_read:,}",
                ", ".join(f"{v:,} {k}" for k, v in f.loaded.items()),
                f"{f.rows_rejected:,}",
                f"{f.rows_duplicate:,}",
            ]
            for f in self.files
        ]
        loaded = ", ".join(f"{v:,} {k}" for k, v in self.loaded.items())
        title = (
            f"Loaded from {self.source}: {len(self.files)} file(s), {self.rows_read:,} rows read → "
            f"{loaded}; {self.rows_rejected:,} rejected, {self.rows_duplicate:,} already loaded"
        )
        reasons = [f"{n:,} × {r}" for r, n in list(self.reasons.items())[:12]]
        return Table(
            ["file", "format", "sha256", "read", "loaded", "rejected", "already loaded"],
            rows,
            title=title,
            after=[Note(tuple(reasons), title="Rejected rows (see ws.rejects()):", bullets=True)]
            if reasons
            else [],
            left=3,
        )
