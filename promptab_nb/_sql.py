"""The one quoting helper for SQL identifiers. Values always travel as parameters."""

from __future__ import annotations

from collections.abc import Collection

from .errors import InvalidArgumentError


def ident(name: str, allowed: Collection[str] | None = None) -> str:
    """Quote ``name`` as a DuckDB identifier, optionally checking it against an allow-list."""
    if allowed is not None and name not in allowed:
        raise InvalidArgumentError(f"unknown name {name!r}; expected one of {sorted(allowed)}")
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidArgumentError(f"invalid SQL identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'
