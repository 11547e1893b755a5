"""Finding input files, recognising their format and fingerprinting them."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..errors import DataError, UnknownFormatError

_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
}
_COMPRESSION = {".gz": "gzip", ".zst": "zstd"}
MANIFEST = "manifest.json"

PathLike = str | Path
Paths = PathLike | Sequence[PathLike]


def resolve(path: Paths) -> list[Path]:
    """Expand a path, a list of paths, a directory, a glob or a ``manifest.json`` into files.

    A split PostHog batch export comes with a ``manifest.json`` listing its files; passing the
    manifest (or the directory holding it) loads exactly the listed files, in the listed order.
    """
    if isinstance(path, Sequence) and not isinstance(path, str):
        out: list[Path] = []
        for p in path:
            out.extend(resolve(p))
        if not out:
            raise DataError("no file to load: the list of paths is empty.")
        return _unique(out)
    return _unique(_resolve_one(path))


def _unique(files: list[Path]) -> list[Path]:
    """``files`` without a second path to the same file (by real path: a glob through a symlink
    cycle, or ``a/x.csv`` and ``b/../a/x.csv``, would otherwise load one file many times)."""
    seen: set[str] = set()
    out = []
    for f in files:
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            out.append(f)
    return out


def _resolve_one(path: PathLike) -> list[Path]:
    text = str(path)
    # (a file that exists is itself, though its name has pattern characters: 'ex[1].parquet')
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = sorted(
            Path(p)
            for p in glob.glob(text, recursive=True)
            if Path(p).is_file() and Path(p).name != MANIFEST
        )
        if not files:
            raise DataError(
                f"no file matches {text!r}. Check the pattern and the working directory."
            )
        return files
    p = Path(text)
    if p.is_dir():
        if (p / MANIFEST).is_file():
            return _manifest(p / MANIFEST)
        files = sorted(
            f for f in p.iterdir() if f.is_file() and f.name != MANIFEST and detect(f, strict=False)
        )
        if not files:
            raise DataError(f"directory {text} holds no Parquet, JSON lines or CSV file.")
        return files
    if not p.exists():
        raise DataError(f"file not found: {text}. Check the path (relative to {Path.cwd()}).")
    if p.name == MANIFEST:
        return _manifest(p)
    return [p]


def _manifest(path: Path) -> list[Path]:
    """Files listed by a batch-export manifest: ``{"files": [...]}`` or a bare list.

    Entries are paths relative to the manifest (S3 keys keep only their file name) or objects
    with a ``path``/``key``/``file``/``name`` entry.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{path}: cannot read the manifest ({err}).") from err
    entries = doc.get("files") if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not entries:
        raise DataError(
            f"{path}: a manifest must hold a non-empty list 'files' of file names "
            f"(found keys: {', '.join(doc) if isinstance(doc, dict) else type(doc).__name__})."
        )
    files = []
    for i, entry in enumerate(entries):
        name = entry
        if isinstance(entry, dict):
            name = next((entry[k] for k in ("path", "key", "file", "name") if k in entry), None)
        if not isinstance(name, str) or not name:
            raise DataError(f"{path}: entry {i} of 'files' is not a file name ({entry!r}).")
        folder = path.parent
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise DataError(
                f"{path}: entry {i} of 'files' ({name!r}) points outside the manifest's folder "
                f"{folder}; a manifest may only list files in its folder (or below it)."
            )
        f = folder / name
        if not f.is_file():
            f = folder / Path(name).name  # an S3 key: the file sits beside the manifest
        if not f.is_file():
            raise DataError(
                f"{path}: listed file {name!r} is missing. Download every part of the export."
            )
        if not Path(os.path.realpath(f)).is_relative_to(os.path.realpath(folder)):
            raise DataError(
                f"{path}: entry {i} of 'files' ({name!r}) is a link to a file outside the "
                f"manifest's folder {folder}; copy the file into the folder instead."
            )
        files.append(f)
    return files


def detect(path: Path, *, strict: bool = True) -> tuple[str, str | None] | None:
    """Return ``(format, compression)`` from the file name, e.g. ``("jsonl", "gzip")``.

    ``format`` is ``parquet``, ``jsonl``, ``json`` (a JSON document, or JSON lines) or ``csv``.
    """
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
            "Expected .parquet, .jsonl/.ndjson/.json or .csv (optionally .gz/.zst)."
        )
    return fmt, compression


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# One thread hashes the files of every load, in the order asked (a load needs its first file's
# digest first). hashlib and file reads release the GIL, so a file is hashed while DuckDB reads
# it: a 1 M-user CSV export (6 GB) takes 4.6 s to hash, which the read leaves room for.
_hasher: ThreadPoolExecutor | None = None


def sha256_later(path: Path) -> Future[str]:
    """:func:`sha256` of ``path``, computed on a background thread; ``result()`` gives the hex
    digest or raises what hashing raised (e.g. ``OSError`` for a file that cannot be read)."""
    global _hasher
    if _hasher is None:
        _hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="promptab-sha256")
    return _hasher.submit(sha256, path)


def check_text(path: Path, compression: str | None) -> None:
    """Fail early, naming the file, on an empty file or one that is not UTF-8 text.

    Latin-1 bytes inside otherwise UTF-8 text are left to the reader, which rejects only the
    lines concerned; UTF-16 (or binary) data would turn every line into garbage, so it stops here.
    """
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty (0 bytes). Export it again.")
        if compression == "zstd":
            return  # no zstd module in the standard library; DuckDB checks the text itself
        opener = gzip.open if compression == "gzip" else open
        with opener(path, "rb") as fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot read ({err}). Is the file complete?") from err
    if not head.strip():
        raise DataError(f"{path}: the file is empty (no data). Export it again.")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(
            f"{path}: the file is UTF-16 text (byte-order mark at byte 0); promptab_nb reads "
            "UTF-8. Re-export it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)."
        )
    # UTF-16 text (without a byte-order mark) and binary data have NUL bytes on most lines; a
    # stray NUL in UTF-8 text is left to the reader, which rejects only its line, as it would
    # past these first 64 KiB.
    lines = head.split(b"\n")
    if 2 * sum(b"\x00" in line for line in lines) >= len(lines):
        pos = head.index(b"\x00")
        raise DataError(
            f"{path}: byte {pos} is NUL, as are bytes on most of the first lines: the file is "
            "binary or UTF-16, not UTF-8 text. Re-export it as UTF-8 CSV / JSON."
        )
