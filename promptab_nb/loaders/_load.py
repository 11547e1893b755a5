"""The loading pipeline every loader shares: read → stage → check → insert, in one transaction.

A loader only says how its source maps onto the canonical columns. Per file it

1. reads the rows into temp tables of text (:mod:`._read`), keeping rows that cannot be read
   (bad encoding, invalid JSON, malformed CSV) as rejects;
2. stages typed rows with :func:`._stage.typed_stage` (every conversion is a ``TRY_CAST``; the
   first check that fails becomes the row's reject column and reason);
3. returns a :class:`~._stage.Staged`, after which :func:`._commit.finish` inserts the good rows
   (skipping ids already loaded), writes the rejects and the ``imports`` row, and checks the
   accounting ``rows_read == loaded + rejected + duplicates``.

:func:`load_all` wraps it: one :class:`~._context.LoadContext` (temp-table names, temp folder)
and one transaction for all files; every exception that is not a
:class:`~promptab_nb.errors.PromptabError` is re-raised as a ``DataError`` naming the file.
All SQL text is built from module constants; data values travel as parameters.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import duckdb

from ..errors import DataError, PromptabError
from . import _files
from ._commit import finish
from ._context import Con, Input, LoadContext, load_context
from ._report import LoadReport
from ._stage import Staged

StageFn = Callable[[Con, LoadContext, Input], Staged]
# (name, fmt, compression, path, sha256: its hex, a function of the connection and context giving
# it, or None: the file at path, hashed on a thread while the load runs)
Digest = str | Callable[[Con, LoadContext], str] | None
Row = tuple[str, str, str | None, Path | None, Digest]


def load_all(
    ws: Any,
    inputs: Sequence[Row],
    *,
    source: str,
    stage: StageFn,
    progress: bool = True,
    call: str | None = None,
) -> LoadReport:
    """Load inputs ``(name, fmt, compression, path, sha256)`` in one transaction.

    ``call``: the Python call that loads the same inputs (:func:`loader_call`), kept with each
    import for the report's "Reproduce" code.

    ``sha256`` may be a callable of the connection and the load's context, evaluated inside the
    transaction (frames hash their rows there), or None for a file: files are hashed on a thread
    while they load, and a file that cannot be hashed fails the load, naming it. The hashing of
    files not reached when a load fails is cancelled.
    """
    from tqdm.auto import tqdm

    reports = []
    hashing = {
        i: _files.sha256_later(path)
        for i, (*_, path, digest) in enumerate(inputs)
        if digest is None and path is not None
    }
    with contextlib.ExitStack() as stack:
        stack.callback(_cancel, hashing.values())
        # Entered first, so it is closed after the commit or rollback.
        ctx = stack.enter_context(load_context(ws.con))
        con = stack.enter_context(ws.transaction())
        next_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][
            0
        ]
        bar = tqdm(
            inputs, desc=f"loading {source}", unit="file", disable=not progress or len(inputs) < 2
        )
        for i, (name, fmt, comp, path, digest) in enumerate(bar):
            with wrap_errors(name, fmt):
                sha = digest(con, ctx) if callable(digest) else hashing.get(i, digest)
                assert sha is not None, "an input without a path comes with its sha256"
                item = Input(name, fmt, comp, sha, next_id + i, path)
                start = time.perf_counter()
                staged = stage(con, ctx, item)
                reports.append(
                    finish(con, ctx, item, staged, source=source, start=start, call=call)
                )
    return LoadReport(source=source, files=tuple(reports))


def _cancel(hashing: Iterable[Future[str]]) -> None:
    """Cancel the hashing of the files a failed load did not reach."""
    for digest in hashing:
        digest.cancel()  # a no-op for a digest computed or under way


def load_paths(
    ws: Any,
    path: _files.Paths,
    *,
    source: str,
    stage: StageFn,
    progress: bool = True,
    formats: Iterable[str] = ("parquet", "jsonl", "json", "csv"),
    order: Callable[[Path], Any] | None = None,
    call: str | None = None,
) -> LoadReport:
    """Resolve ``path`` (file, list, directory, glob, manifest) and load every file atomically."""
    rows = prepare_paths(path, source=source, formats=formats, order=order)
    return load_all(ws, rows, source=source, stage=stage, progress=progress, call=call)


class Code(str):
    """A :func:`loader_call` argument written as it is (a variable's name), not as its repr."""


def loader_call(method: str, *args: Any, **options: Any) -> str:
    """``ws.<method>(args, option=value, ...)``: the call a user makes to load the same files,
    paths as given (a glob or folder stays one). Options left at their defaults (None, False or
    empty) are left out of the call."""
    from ..options import call_code

    def text(v: Any) -> str:
        if isinstance(v, Code):
            return str(v)
        if isinstance(v, Path):
            return repr(str(v))
        if isinstance(v, list | tuple):
            return repr([str(x) if isinstance(x, Path) else x for x in v])
        return repr(v)

    given = {k: v for k, v in options.items() if not (v is None or v is False or v == {})}
    parts = [text(a) for a in args] + [f"{k}={text(v)}" for k, v in given.items()]
    return call_code(f"ws.{method}", parts)


def prepare_paths(
    path: _files.Paths,
    *,
    source: str,
    formats: Iterable[str] = ("parquet", "jsonl", "json", "csv"),
    order: Callable[[Path], Any] | None = None,
) -> list[Row]:
    """Files of ``path`` as :func:`load_all` inputs, checked (format, emptiness, encoding)."""
    from ..errors import UnknownFormatError

    files = _files.resolve(path)
    allowed = tuple(formats)
    inputs = []
    for f in files:
        fmt, comp = _files.detect(f)  # type: ignore[misc]
        if fmt not in allowed:
            raise UnknownFormatError(
                f"{f}: {fmt} files are not a {source} export format; expected "
                f"{', '.join(allowed)} (optionally .gz/.zst)."
            )
        inputs.append((f, fmt, comp))
    if order is not None:
        inputs.sort(key=lambda t: order(t[0]))
    for f, fmt, comp in inputs:
        if fmt != "parquet":
            _files.check_text(f, comp)
    # No digest yet: load_all hashes the files while they load.
    return [(str(f), fmt, comp, f, None) for f, fmt, comp in inputs]


# The formats of frame loads (load_frame), which have no file.
FRAME_KINDS = ("pandas", "polars", "arrow")


class wrap_errors:  # noqa: N801 - used as a context manager, reads like a function
    """Re-raise anything that is not a PromptabError as a DataError naming the input."""

    def __init__(self, name: str, fmt: str) -> None:
        self.name, self.fmt = name, fmt

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: type[BaseException] | None, err: BaseException | None, tb: Any) -> None:
        if err is None or isinstance(err, PromptabError) or not isinstance(err, Exception):
            return  # nothing to translate: the exception (if any) propagates unchanged
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        # The machine, not the file: a full spill disk or the memory limit (nothing is loaded).
        if isinstance(err, duckdb.IOException) and "No space left on device" in first:
            raise DataError(
                f"{self.name}: the disk holding DuckDB's spill files is full ({first}). Nothing "
                "was loaded. Free space there, or open the workspace with temp_directory= on a "
                "disk with room (a large JSON lines export can spill several times its size)."
            ) from err
        if isinstance(err, duckdb.OutOfMemoryException):
            raise DataError(
                f"{self.name}: DuckDB ran out of memory ({first}). Nothing was loaded. Open the "
                "workspace with a larger memory_limit=, or load the "
                + (
                    "frame in slices of rows, one load_frame call each."
                    if self.fmt in FRAME_KINDS
                    else "export in smaller files."
                )
            ) from err
        if isinstance(err, duckdb.Error) and self.fmt in FRAME_KINDS:
            # (a frame has no file to be truncated: its columns are what DuckDB could not read)
            raise DataError(
                f"{self.name}: cannot read the {self.fmt} frame: {first}. Check the types of the "
                "columns you load (e.g. an object column mixing numbers and texts, or values "
                "DuckDB has no type for): convert them first (.astype(str), pd.to_numeric, "
                "pd.to_datetime), or leave them out of columns=."
            ) from err
        if isinstance(err, duckdb.Error):
            raise DataError(
                f"{self.name}: cannot read as {self.fmt}: {first}. Check that the file is "
                "complete (not truncated) and really is an export in this format."
            ) from err
        raise DataError(f"{self.name}: cannot load ({type(err).__name__}: {first}).") from err
