"""The DuckDB engine of a :class:`~promptab_nb.workspace.Workspace` (``ws.engine``).

Besides running queries it keeps the per-unit rows of the last :data:`UNIT_CACHE_SIZE` analyses
in tables ``_pab_units_<key>``: most of an analysis is the per-unit query, the statistics run on
its few per-arm sums, so re-analysing (other options, a dashboard's redraw, a reopened file)
skips it. The key hashes the SQL, its parameters and the data version (imports and row counts
of the event tables), so a load or a changed experiment never reads stale rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb

from .._sql import ident, used_params
from .base import PROVENANCE_FIELDS, Params

UNIT_CACHE_SIZE = 4
#: Answers of :meth:`DuckDBEngine.fetch_facts` kept per engine (each a few rows).
FACTS_CACHE_SIZE = 64


class DuckDBEngine:
    """Runs queries on one DuckDB connection, serialised by a re-entrant lock."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, *, cache_units: bool = True) -> None:
        self.con = con
        self.lock = threading.RLock()
        self.cache_units = cache_units
        self._facts: dict[str, list[tuple[Any, ...]]] = {}

    def fetch(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        """All rows of ``query`` with DuckDB parameters (unused named ones are ignored)."""
        if isinstance(params, Mapping):
            params = used_params(query, dict(params))
        with self.lock:
            return self.con.execute(query, params or []).fetchall()

    def execute(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement without a result (named parameters; unused ones are ignored)."""
        with self.lock:
            self.con.execute(query, used_params(query, dict(params or {})))

    def fetch_facts(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Rows of a query over the event tables only, kept until the data version changes
        (every analysis asks which prompts, versions and flags exist before its per-unit
        query; a re-analysis of the same data need not scan for them again)."""
        with self.lock:
            key = json.dumps([query, params, self.data_version()], default=str, sort_keys=True)
            if key not in self._facts:
                if len(self._facts) >= FACTS_CACHE_SIZE:
                    del self._facts[next(iter(self._facts))]
                self._facts[key] = self.fetch(query, params)
            return self._facts[key]

    def data_version(self) -> list[Any]:
        """Last import id and row counts of the event tables: changes with every load."""
        return list(
            self.fetch(
                """SELECT (SELECT coalesce(max(import_id), 0) FROM imports),
                          (SELECT count(*) FROM exposures), (SELECT count(*) FROM generations),
                          (SELECT count(*) FROM evaluations)"""
            )[0]
        )

    @contextlib.contextmanager
    def unit_rows(self, query: str, params: Mapping[str, Any]) -> Iterator[str]:
        """The (quoted) name of a table holding ``query``'s rows; cached across calls."""
        with self.lock:
            if not self.cache_units:
                self.execute(f"CREATE OR REPLACE TEMP TABLE _pab_units AS {query}", params)
                try:
                    yield "_pab_units"
                finally:
                    self.execute("DROP TABLE IF EXISTS _pab_units")
                return
            yield self._cached(query, params)

    def _cached(self, query: str, params: Mapping[str, Any]) -> str:
        blob = json.dumps([query, dict(params), self.data_version()], default=str, sort_keys=True)
        name = "_pab_units_" + hashlib.sha256(blob.encode()).hexdigest()[:24]
        rows = self.fetch("SELECT value FROM meta WHERE key = 'unit_cache'")
        cached = list(json.loads(rows[0][0])) if rows else []
        if not self.fetch("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]):
            self.execute(f"CREATE OR REPLACE TABLE {ident(name)} AS {query}", params)
        cached = [n for n in cached if n != name] + [name]
        for old in cached[:-UNIT_CACHE_SIZE]:
            self.execute(f"DROP TABLE IF EXISTS {ident(old)}")
        self.execute(
            "INSERT OR REPLACE INTO meta VALUES ('unit_cache', $v)",
            {"v": json.dumps(cached[-UNIT_CACHE_SIZE:])},
        )
        return ident(name)

    def provenance(self) -> tuple[dict[str, Any], ...]:
        """One dict per loaded file, in load order (the workspace's ``imports`` table)."""
        rows = self.fetch(f"SELECT {', '.join(PROVENANCE_FIELDS)} FROM imports ORDER BY import_id")
        return tuple(dict(zip(PROVENANCE_FIELDS, r, strict=True)) for r in rows)


__all__ = ["UNIT_CACHE_SIZE", "DuckDBEngine"]
