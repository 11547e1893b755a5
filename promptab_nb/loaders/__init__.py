"""Loaders map each source's export into the canonical workspace tables (see DESIGN.md)."""

from ._context import default_memory_limit, duckdb_temp_dir
from ._report import FileReport, LoadReport

__all__ = ["FileReport", "LoadReport", "default_memory_limit", "duckdb_temp_dir"]
