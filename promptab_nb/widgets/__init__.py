"""Notebook widgets (ipywidgets): :class:`ExperimentBuilder`, :class:`ResultsDashboard` and
:class:`OfflineViewer`.

Widgets are thin: every button is a public call you could type (each widget shows it in
``.code``), they hold no statistics and run no SQL (data comes from the workspace's query
methods, numbers from the stats layer), and a bad input shows a readable message in the widget's
status line and changes nothing. Display one by leaving it last in a cell; ``.widget`` is the
underlying ipywidgets box.
"""

from __future__ import annotations

from .builder import ExperimentBuilder
from .dashboard import ResultsDashboard
from .offline import OfflineViewer

__all__ = ["ExperimentBuilder", "OfflineViewer", "ResultsDashboard"]
