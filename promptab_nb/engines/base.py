"""The seam between the analysis and the database that holds the events.

The analysis writes its SQL once, in DuckDB's dialect, and asks an :class:`Engine` to run it.
Two engines implement the protocol: :class:`~promptab_nb.engines.duckdb.DuckDBEngine` (every
:class:`~promptab_nb.workspace.Workspace` has one as ``ws.engine``) and
:class:`~promptab_nb.engines.spark.SparkEngine` (the same SQL translated by SQLGlot).
Statistics never see the engine: they receive the few per-arm sums the engine returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

Params = Sequence[Any] | Mapping[str, Any] | None


@runtime_checkable
class Engine(Protocol):
    """What the analysis needs of a database.

    The canonical tables ``exposures``, ``generations`` and ``evaluations`` must be readable
    under those names in :meth:`fetch` queries.
    """

    #: SQL dialect the engine runs (queries are written in DuckDB's and translated).
    dialect: str

    def fetch(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Run a read query (DuckDB dialect, ``$name``/``?`` parameters); return all rows."""
        ...

    def fetch_facts(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        """:meth:`fetch` for a query that reads only the event tables (which prompts, flags,
        versions exist; whether ids need a map): an engine may answer from a cache until the
        data changes (the DuckDB workspace does; Spark runs it each time)."""
        ...

    def unit_rows(self, query: str, params: Mapping[str, Any]) -> AbstractContextManager[str]:
        """A table name holding the rows of the per-unit ``query`` while the block runs.

        An engine may keep the table after the block (the DuckDB workspace caches the last few,
        keyed by query, parameters and data version) or drop it (Spark).
        """
        ...

    def provenance(self) -> tuple[dict[str, Any], ...]:
        """Where the events came from: one dict per loaded file (``file``, ``format``,
        ``sha256``, ``rows_read``, ``rows_loaded``, ``rows_rejected``, ``loaded_at``)."""
        ...


PROVENANCE_FIELDS = (
    "file",
    "format",
    "sha256",
    "rows_read",
    "rows_loaded",
    "rows_rejected",
    "loaded_at",
    "source",
    "call",
)

__all__ = ["PROVENANCE_FIELDS", "Engine"]
