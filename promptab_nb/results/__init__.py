"""Result objects of an analysis: frozen, render in Jupyter (``_repr_html_``), print in a
terminal, convert to pandas/polars (through :class:`promptab_nb._render.Rendered`). Every number is
formatted with its unit through :mod:`promptab_nb._format`.

``ExperimentResult.table_header()`` / ``table_rows()`` are the one metric table that the notebook
view, the report, the CLI and the dashboard show.
"""

from __future__ import annotations

from ._experiment import ExperimentResult
from ._impact import TotalImpact
from ._over_time import OverTimeResult
from ._rank_tests import MannWhitneyResult
from ._rows import BAYES_COLUMNS, COLUMNS, ArmRow, Health, HealthFlag, Severity
from ._segments import SegmentResult

__all__ = [
    "BAYES_COLUMNS",
    "COLUMNS",
    "ArmRow",
    "ExperimentResult",
    "Health",
    "HealthFlag",
    "MannWhitneyResult",
    "OverTimeResult",
    "SegmentResult",
    "Severity",
    "TotalImpact",
]
