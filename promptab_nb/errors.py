"""Exceptions raised by promptab_nb.

Every user-facing error is a :class:`PromptabError`; the message names the file, column, row or
argument at fault, what was found, and how to fix it::

    PromptabError
    ├── InvalidArgumentError (also ValueError)   bad option or out-of-range value
    ├── DataError                                 file / column / row problems
    │   ├── MissingColumnError                    a required column is absent
    │   ├── UnknownFormatError                    a file whose format cannot be recognised
    │   ├── ModelOutputError                      a model returned neither text nor {"text": ...}
    │   └── ScorerError                           a scorer failed on one output (kept per cell)
    ├── NotFoundError (also KeyError)             unknown experiment, run, prompt, flag or table
    ├── WorkspaceInUseError                       another process holds the workspace file
    ├── RetryableError                            a model call worth retrying (429, 5xx, timeout)
    ├── ExperimentConflict                        second running experiment for a prompt
    └── ExperimentStateError                      illegal lifecycle transition
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "ExperimentConflict",
    "ExperimentStateError",
    "InvalidArgumentError",
    "MissingColumnError",
    "ModelOutputError",
    "NotFoundError",
    "PromptabError",
    "RetryableError",
    "ScorerError",
    "UnknownFormatError",
    "WorkspaceInUseError",
]


class PromptabError(Exception):
    """Base class of every error promptab_nb raises for a user mistake or bad data."""


class InvalidArgumentError(PromptabError, ValueError):
    """An argument has a wrong type, an unknown option or an out-of-range value."""


class DataError(PromptabError):
    """A file, column or row cannot be used."""


class MissingColumnError(DataError):
    """A required column is absent from an input file or frame."""


class UnknownFormatError(DataError):
    """A file's format cannot be recognised from its name or content."""


class NotFoundError(PromptabError, KeyError):
    """A named object (experiment, run, prompt version, table, flag) does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class WorkspaceInUseError(PromptabError):
    """The workspace file is locked by another process."""


class ExperimentConflict(PromptabError):
    """A second experiment would run on a prompt that already has a running one."""


class ExperimentStateError(PromptabError):
    """An experiment status change that its lifecycle does not allow."""


class RetryableError(PromptabError):
    """A model failure worth retrying (rate limit 429, server error 5xx, timeout).

    Parameters
    ----------
    message
        What happened.
    status_code
        The HTTP status, when there is one.
    retry_after
        Seconds the server asked to wait, when it said.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class ModelOutputError(DataError):
    """A model returned something that is neither text nor a dict with a ``text`` key."""


class ScorerError(DataError):
    """A scorer could not score an output (stored per cell, never aborts a run)."""
