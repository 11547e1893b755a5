"""The state of one load: its temp-table names, its temp folder, the file being loaded.

Every load (one call of :func:`._load.load_all`) gets a :class:`LoadContext`. Its temp tables
carry a random suffix (``ctx.t("lines")`` → ``"_pab_lines_3f9a1c2b"``), so loads never share a
name, and its temporary files live in one folder of its own, created on first use and removed when
a file is done and when the load ends (successfully or not). Nothing is kept in module globals.

A load killed with SIGKILL cannot remove its folder, so the folder's name carries the owning
process id (``promptab_<pid>_<hex>``) and every load first removes the folders of processes that
are no longer alive. A folder of a live process (another notebook, another thread of this one) is
never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .._sql import ident

Con = duckdb.DuckDBPyConnection

# The temp tables, views and registered frames a load may create (an allow-list for ctx.t).
TEMP_NAMES = (
    "lines", "lines_rows", "lines_rej", "lines_scan", "csv", "csv_rows", "csv_rej", "csv_scan",
    "gaps", "docs", "rec", "raw", "pre", "gen", "eval", "exp", "st", "attr", "off", "res",
    "armmap", "arms_in", "frame", "rej_exposures", "rej_generations", "rej_evaluations",
)  # fmt: skip

# The stage table of each canonical table that is deduplicated by uuid.
STAGES = {"exposures": "exp", "generations": "gen", "evaluations": "eval"}

_DIR_PREFIX = "promptab_"
_DIR_NAME = re.compile(r"^promptab_(\d+)_[0-9a-f]{8}$")


def sql_str(text: str) -> str:
    """A constant of promptab_nb as a SQL string literal (never user data: that is a parameter)."""
    return "'" + text.replace("'", "''") + "'"


def temp_root() -> Path:
    """The folder under which loads and workspaces make their temporary folders: the one place
    that picks it (the system temp folder; move it with ``TMPDIR`` or ``tempfile.tempdir``)."""
    return Path(tempfile.gettempdir())


# DuckDB's own default memory limit is 80 % of the machine; with the Python process around it
# (numpy, pandas, scipy, the notebook) a first analysis of a 200 k-user export peaked at 1.3 GiB
# (1.6 GiB on CSV). A workspace gives DuckDB a quarter of the physical memory, at most this cap
# and at least the floor; beyond it DuckDB spills to ``duckdb_temp_dir()``. (DuckDB's memory
# outside the limit and Python add 250-400 MiB: a 640 MiB cap peaked at 1,032 MiB on a 1 M-user
# JSON lines load.)
MEMORY_CAP = 512 * 2**20
MEMORY_FLOOR = 128 * 2**20
# DuckDB hands freed memory back to the OS only after a bulk free over this size (default
# 512 MiB): a 200 k-user JSON lines load peaked 40-60 MiB lower with this, at the same speed.
ALLOCATOR_FLUSH = "16MiB"


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or ``None`` when the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def default_memory_limit(total: int | None = None) -> str:
    """DuckDB's ``memory_limit`` for a workspace: a quarter of ``total`` (the physical memory),
    clamped to [``MEMORY_FLOOR``, ``MEMORY_CAP``], in MiB (e.g. ``"512MiB"``)."""
    total = physical_memory() if total is None else total
    size = MEMORY_CAP if total is None else min(MEMORY_CAP, max(MEMORY_FLOOR, total // 4))
    return f"{size // 2**20}MiB"


def duckdb_temp_dir() -> Path:
    """A fresh, not yet created folder for a workspace's DuckDB spill files.

    DuckDB creates it on the first spill and removes it when the connection closes; it is named
    like a load's folder (``promptab_<pid>_<hex>``), so a killed process's folder is removed by
    the next load (:func:`remove_stale_dirs`), and never lands in the notebook's folder (DuckDB's
    default for an in-memory database is ``.tmp`` in the working directory).
    """
    return temp_root() / f"{_DIR_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (of any user). Unknown counts as alive."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process (EPERM), or not a pid at all
        return True
    return True


def remove_stale_dirs(root: Path | None = None) -> list[Path]:
    """Remove the temp folders of loads whose process is dead; return the folders removed."""
    root = temp_root() if root is None else root
    removed = []
    with contextlib.suppress(OSError):
        for entry in root.glob(_DIR_PREFIX + "*"):
            m = _DIR_NAME.match(entry.name)
            if m and entry.is_dir() and not _alive(int(m.group(1))):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


@dataclass(frozen=True)
class Input:
    """A file or a frame to load, with its import id."""

    name: str  # shown in messages and stored in imports.file
    fmt: str  # parquet, jsonl, json, csv, or pandas/polars/arrow for frames
    compression: str | None
    digest: str | Future[str]  # the sha256, or its computation under way (_files.sha256_later)
    import_id: int
    path: Path | None = None

    @property
    def sha256(self) -> str:
        """The input's SHA-256 (hex), waiting for its computation if it is still running."""
        return self.digest if isinstance(self.digest, str) else self.digest.result()

    @property
    def label(self) -> str:
        return self.fmt + (f"+{self.compression}" if self.compression else "")


@dataclass
class LoadContext:
    """Names and temporary files of one load; see the module docstring."""

    suffix: str = field(default_factory=lambda: secrets.token_hex(4))
    _dir: Path | None = field(default=None, init=False)
    _registered: set[str] = field(default_factory=set, init=False)

    def name(self, key: str) -> str:
        """The unquoted name of temp table ``key`` for this load (for DuckDB calls taking a name)."""
        if key not in TEMP_NAMES:
            raise AssertionError(f"unknown temp table {key!r}")
        return f"_pab_{key}_{self.suffix}"

    def t(self, key: str) -> str:
        """The quoted name of temp table ``key`` for this load, to put in SQL text."""
        return ident(self.name(key))

    def sql(self, template: str) -> str:
        """A constant SQL template with its ``{key}`` placeholders replaced by :meth:`t` (only
        for templates of promptab_nb: braces in user text would be read as placeholders)."""
        return template.format_map(_Names(self))

    def stage(self, table: str) -> str:
        """The unquoted name of the stage table of canonical ``table``."""
        return self.name(STAGES[table])

    def temp_dir(self) -> Path:
        """This load's temporary folder, created on first use."""
        if self._dir is None:
            root = temp_root()
            while True:
                d = root / f"{_DIR_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
                try:
                    d.mkdir(mode=0o700)
                except FileExistsError:
                    continue
                break
            self._dir = d
        return self._dir

    def register(self, con: Con, key: str, frame: Any) -> str:
        """Register a pandas/polars/Arrow frame as view ``key`` (polars through Arrow)."""
        if type(frame).__module__.startswith("polars"):
            frame = frame.to_arrow()
        name = self.name(key)
        con.execute("SELECT 1").fetchall()  # DuckDB refuses to register with a pending result
        con.register(name, frame)
        self._registered.add(name)
        return name

    def unregister(self, con: Con, key: str) -> None:
        name = self.name(key)
        if name in self._registered:
            self._registered.discard(name)
            con.unregister(name)

    def end_file(self, con: Con) -> None:
        """Drop this load's temp tables and views (not its registered frames) and delete its
        temporary files."""
        mine = con.execute(
            """SELECT 'TABLE', table_name FROM duckdb_tables()
               WHERE temporary AND starts_with(table_name, '_pab_') AND ends_with(table_name, $s)
               UNION ALL
               SELECT 'VIEW', view_name FROM duckdb_views()
               WHERE temporary AND starts_with(view_name, '_pab_') AND ends_with(view_name, $s)""",
            {"s": "_" + self.suffix},
        ).fetchall()
        for kind, name in mine:
            if name not in self._registered:
                con.execute(f"DROP {kind} IF EXISTS {ident(name)}")
        self._remove_dir()

    def close(self, con: Con) -> None:
        """End the load: unregister frames and delete the temporary folder (never raises)."""
        for name in sorted(self._registered):
            with contextlib.suppress(Exception):
                con.unregister(name)
        self._registered.clear()
        self._remove_dir()

    def _remove_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class _Names(dict[str, str]):
    def __init__(self, ctx: LoadContext) -> None:
        super().__init__()
        self.ctx = ctx

    def __missing__(self, key: str) -> str:
        return self.ctx.t(key)


@contextlib.contextmanager
def load_context(con: Con) -> Iterator[LoadContext]:
    """A fresh :class:`LoadContext`, after removing dead loads' folders; closed at the end."""
    remove_stale_dirs()
    ctx = LoadContext()
    try:
        yield ctx
    finally:
        ctx.close(con)
