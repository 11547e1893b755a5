"""Engines that run an experiment's analysis where the events live.

The analysis SQL of :mod:`promptab_nb.analysis` is written once (DuckDB dialect) and translated
by SQLGlot for each engine; the engine computes per-variant sufficient statistics and the
statistics are computed in Python exactly as for a workspace.

- :mod:`promptab_nb.engines.spark` — Apache Spark (``pip install 'promptab_nb[spark]'``):
  ``analyze``, ``analyze_over_time``, ``health`` over a table, a Parquet path or a DataFrame of
  PostHog events.

Importing this package does not import pyspark.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["spark"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
