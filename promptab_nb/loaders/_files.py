"""Finding input files, recognising their format and fingerprinting them."""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path

from ..errors import DataError, UnknownFormatError

_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}
_COMPRESSION = {".gz": "gzip", ".zst": "zstd"}


def resolve(path: str | Path) -> list[Path]:
    """Expand a path, a directory or a glob into a sorted list of files."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise DataError(
                f"no file matches {text!r}. Check the pattern and the working directory."
            )
        return files
    p = Path(text)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and detect(f, strict=False))
        if not files:
            raise DataError(f"directory {text} holds no Parquet, JSON lines or CSV file.")
        return files
    if not p.exists():
        raise DataError(f"file not found: {text}. Check the path (relative to {Path.cwd()}).")
    return [p]


def detect(path: Path, *, strict: bool = True) -> tuple[str, str | None] | None:
    """Return ``(format, compression)`` from the file name, e.g. ``("jsonl", "gzip")``."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION:
        compression = _COMPRESSION[suffixes.pop()]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt == "parquet":
        compression = None  # Parquet+zstd exports are named *.parquet.zst but are plain Parquet
    if fmt is None:
        if not strict:
            return None
        raise UnknownFormatError(
            f"{path}: unknown format {''.join(path.suffixes) or '(no extension)'}. "
            "Expected .parquet, .jsonl/.ndjson/.json (optionally .gz/.zst) or .csv (optionally .gz)."
        )
    return fmt, compression


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
