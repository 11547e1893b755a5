"""Loaders map each source's export into the canonical workspace tables (see DESIGN.md)."""

from ._report import FileReport, LoadReport

__all__ = ["FileReport", "LoadReport"]
