"""What every subcommand shares: exit codes, the usage error, argument helpers, JSON values."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError, InvalidArgumentError, NotFoundError, PromptabError

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..loaders import LoadReport
    from ..workspace import Workspace

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REGRESSION = 3
#: The reader of the output closed it (``promptab ... | head``): 128 + SIGPIPE, as a shell
#: reports a command the signal stopped.
EXIT_BROKEN_PIPE = 141


class UsageError(PromptabError):
    """A command-line mistake the parser cannot see (e.g. a malformed --variants)."""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        # "(default: None)" and "(default: False)" say nothing: show only real defaults.
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def add_command(subparsers: Any, name: str, help_: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose help ends with ``examples`` (every command shows some)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_,
        description=help_,
        epilog="examples:\n" + examples,
        formatter_class=_Formatter,
    )
    # (the deepest command parsed sets it last: its usage and options answer an unknown option)
    parser.set_defaults(_parser=parser)
    return parser


def workspace_arg(p: argparse.ArgumentParser, *, create: bool = False) -> None:
    p.add_argument(
        "--workspace",
        required=True,
        metavar="FILE",
        help="workspace file" + (" (created when missing)" if create else ""),
    )


def pairs(text: str | list[str], what: str, example: str = "control=v1,test=v2") -> dict[str, str]:
    """``control=v1,test=v2`` → ``{"control": "v1", "test": "v2"}``; a list holds the texts of
    a repeated flag. A key given twice is an error: which one was meant cannot be told."""
    out: dict[str, str] = {}
    texts = [text] if isinstance(text, str) else text
    for one in texts:
        for part in (p.strip() for p in one.split(",")):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise UsageError(f"{what} == {one!r}: expected KEY=VALUE pairs, e.g. {example}")
            if key.strip() in out:
                raise UsageError(
                    f"{what} gives {key.strip()!r} twice ({out[key.strip()]} and "
                    f"{value.strip()}); give each once"
                )
            out[key.strip()] = value.strip()
    return out


def names(text: str | None, flag: str | None = None) -> list[str] | None:
    """``a,b`` → ``["a", "b"]``; ``None`` stays ``None``. An empty list is a usage error
    naming ``flag``."""
    if text is None:
        return None
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        where = f"{flag}: " if flag else ""
        raise UsageError(f"{where}empty list {text!r}; give comma-separated names")
    return items


@contextlib.contextmanager
def flags_named(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise an :class:`InvalidArgumentError` of the Python call inside with the flag of
    the argument it names first: ``flags`` maps a pattern the message starts with (the
    argument's name, e.g. ``r"n_sims\\b"``) to the flag (``--sims``). The API names its own
    arguments; on the command line the user typed the flag."""
    try:
        yield
    except InvalidArgumentError as err:
        msg = str(err)
        flag = next((f for pattern, f in flags.items() if re.match(pattern, msg)), None)
        if flag is None:
            raise
        raise InvalidArgumentError(f"{flag}: {msg}") from err


def open_workspace(path: str, *, create: bool = False) -> Workspace:
    """The workspace file at ``path``; a missing file is an error unless ``create``."""
    from ..workspace import Workspace

    path = str(Path(path).expanduser())  # (bash leaves ~ in --workspace=~/ab.duckdb)
    if Path(path).is_dir():
        raise DataError(
            f"--workspace {path} is a folder, not a workspace file; name a file in it, e.g. "
            f"--workspace {Path(path) / 'ab.duckdb'}"
        )
    if not create and not Path(path).is_file():
        raise NotFoundError(
            f"no workspace file {path}; create one with `promptab load EXPORT --workspace {path}` "
            "or pab.Workspace(path)"
        )
    return Workspace(path)


def find_experiment(ws: Workspace, key: str) -> Experiment:
    """The experiment named ``key``, else (digits) the one with that id: a name made of digits
    ('1', '2026') must reach its own experiment, not another one whose id it happens to be."""
    try:
        return ws.experiment(key)
    except NotFoundError:
        if not key.isdigit():
            raise
        return ws.experiment(int(key))


@contextlib.contextmanager
def workspace_for(path: str, *, create: bool = False) -> Iterator[Workspace]:
    """:func:`open_workspace`, closed at the end; a file this command created is removed again
    when the command fails (a failed `load` or `create` leaves no empty workspace behind)."""
    path = str(Path(path).expanduser())
    new = create and not Path(path).exists()
    ws = open_workspace(path, create=create)
    try:
        yield ws
    except BaseException:
        ws.close()
        if new:
            Path(path).unlink(missing_ok=True)
            Path(path + ".wal").unlink(missing_ok=True)
        raise
    ws.close()


def rejected_note(load: LoadReport) -> str:
    """``"; 2 of the 2 rows read were rejected during load: 2 × <reason>"`` (the three most
    frequent reasons), to add to an error about data the export should have held; ``""`` when
    no row was rejected."""
    if not load.rows_rejected:
        return ""
    reasons = sorted(load.reasons.items(), key=lambda kv: -kv[1])
    why = ", ".join(f"{n:,} × {reason}" for reason, n in reasons[:3])
    return (
        f"; {load.rows_rejected:,} of the {load.rows_read:,} rows read were rejected during load"
        + (f": {why}" if why else "")
        + " (ws.rejects() lists them after loading the export in Python)"
    )


def progress() -> bool:
    """Progress bars only for a person watching a terminal."""
    return sys.stderr.isatty()


def check_writable(out: str) -> None:
    """Fail before a long analysis when the report cannot be written."""
    target = Path(out)
    if target.is_dir():
        raise DataError(f"cannot write the report to {target}: it is a directory")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(f"cannot write the report to {target}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise DataError(f"cannot write the report to {target}: {parent} is not writable")


def check_folder(out: str, flag: str = "--out") -> None:
    """Fail before the work when ``out`` lies under a file: mkdir said only 'File exists'."""
    parent = Path(out).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise DataError(f"{flag} {out}: {parent} is a file, not a folder; choose another path")


def jsonable(x: Any) -> Any:
    """``x`` with NaN/inf and missing values (``pd.NaT``, ``pd.NA``) as ``None``, dates as ISO
    text and numpy scalars as Python ones."""
    import numpy as np

    from .._format import is_missing

    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if is_missing(x):  # (NaT is a datetime whose isoformat() is "NaT")
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dt.datetime | dt.date):
        return x.isoformat()
    if hasattr(x, "isoformat"):  # pandas Timestamp
        return x.isoformat()
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return str(x)
