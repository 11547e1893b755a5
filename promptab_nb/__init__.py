"""promptab_nb: does prompt version B beat version A? Evidence for LLM prompt A/B tests in Jupyter.

Import as ``import promptab_nb as pab``. Heavy parts (plots, widgets, simulators, offline runner)
load lazily on first use.
"""

from __future__ import annotations

# Underscored so that only the public names below show in dir(promptab_nb) and tab completion.
import importlib as _importlib
from typing import Any as _Any

from .errors import (
    DataError,
    ExperimentConflict,
    ExperimentStateError,
    InvalidArgumentError,
    MissingColumnError,
    NotFoundError,
    PromptabError,
    UnknownFormatError,
    WorkspaceInUseError,
)
from .workspace import Workspace

__version__ = "0.1.0"

# name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "assign": ("assignment", "assign"),
    "split": ("assignment", "split"),
    "Flag": ("assignment", "Flag"),
    "AnalysisOptions": ("options", "AnalysisOptions"),
    "plan": ("planning", "plan"),
    "Metric": ("metrics", "Metric"),
    "Experiment": ("experiments", "Experiment"),
    "ExperimentResult": ("results", "ExperimentResult"),
    "stats": ("stats", None),
    "simulate": ("simulate", None),
    "offline": ("offline", None),
    "plots": ("plots", None),
    "report": ("report", None),
    "widgets": ("widgets", None),
}

__all__ = [
    "AnalysisOptions",
    "DataError",
    "Experiment",
    "ExperimentConflict",
    "ExperimentResult",
    "ExperimentStateError",
    "Flag",
    "InvalidArgumentError",
    "Metric",
    "MissingColumnError",
    "NotFoundError",
    "PromptabError",
    "UnknownFormatError",
    "Workspace",
    "WorkspaceInUseError",
    "assign",
    "offline",
    "plan",
    "plots",
    "report",
    "simulate",
    "split",
    "stats",
    "widgets",
]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = _importlib.import_module(f".{module_name}", __name__)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'promptab_nb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
