from __future__ import annotations

import subprocess
import sys

import promptab_nb as pab

EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert sorted(pab.__all__) == sorted(EXPECTED)


def test_dir_lists_the_public_names_only() -> None:
    # dir() drives tab completion: no typing helpers, imported modules or __future__ features.
    assert dir(pab) == sorted(pab.__all__)


def test_dir_is_unchanged_by_lazy_loading() -> None:
    # a lazy name is cached in the module globals on first use; dir() must not grow with it
    before = dir(pab)
    pab.AnalysisOptions  # noqa: B018 - the attribute access triggers the lazy import
    assert dir(pab) == before


def test_every_public_name_resolves() -> None:
    for name in pab.__all__:
        assert getattr(pab, name) is not None, name


def _loads_any(imports: str, modules: tuple[str, ...]) -> bool:
    """Whether ``import {imports}`` in a fresh interpreter loads any of ``modules``."""
    code = f"import sys, {imports}; print(any(m in sys.modules for m in {modules!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def test_import_is_light() -> None:
    assert not _loads_any("promptab_nb", ("matplotlib", "ipywidgets", "scipy"))


def test_analysis_path_does_not_import_scipy_stats() -> None:
    # the t/normal/chi-square functions come from scipy.special (promptab_nb.stats._dist)
    imports = "promptab_nb.analysis, promptab_nb.analysis.estimators"
    assert not _loads_any(imports, ("scipy.stats",))


def test_error_tree() -> None:
    assert issubclass(pab.InvalidArgumentError, ValueError)
    assert issubclass(pab.MissingColumnError, pab.DataError)
    for name in ("DataError", "ExperimentConflict", "ExperimentStateError", "NotFoundError"):
        assert issubclass(getattr(pab, name), pab.PromptabError)
