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


def used_params(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The subset of named parameters that ``sql`` refers to (DuckDB rejects unused ones)."""
    import re

    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in names}
