"""The analysis SQL (DuckDB dialect) → another engine's SQL, through SQLGlot.

The analysis layer writes each query once, in DuckDB's dialect, with values as parameters
(``$name`` or ``?``). :func:`transpile` parses it with SQLGlot, binds every parameter as a typed
SQL literal built by SQLGlot (strings are escaped by the generator, never formatted into the text
by hand), points the canonical table names at the engine's views, rewrites the few DuckDB functions
SQLGlot leaves untranslated, and generates the target dialect.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidArgumentError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _literal(value: Any) -> Any:
    """A SQLGlot expression for one parameter value (typed, escaped by the generator)."""
    from sqlglot import exp

    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"cannot bind the non-finite number {value!r} as SQL")
        # A double, not Spark's default DECIMAL for a literal such as 0.95.
        return exp.cast(exp.Literal.string(repr(value)), "DOUBLE")
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        # An exact instant whatever the session time zone: microseconds since the epoch.
        aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        us = (aware - _EPOCH) // dt.timedelta(microseconds=1)
        return exp.func("TIMESTAMP_MICROS", exp.Literal.number(us))
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise InvalidArgumentError(f"cannot bind a {type(value).__name__} as a SQL parameter")


def _rewrite(node: Any, named: Mapping[str, Any], renames: Mapping[str, str]) -> Any:
    """One node with its value bound, its table renamed, or its DuckDB-only function rewritten
    (for the few functions SQLGlot leaves untranslated; same semantics)."""
    from sqlglot import exp

    if isinstance(node, exp.Placeholder):
        name = str(node.this)
        if name not in named:
            raise InvalidArgumentError(f"no value for the SQL parameter ${name}")
        return _literal(named[name])
    if isinstance(node, exp.Table) and not node.args.get("db") and node.name in renames:
        new = exp.to_table(renames[node.name])
        alias = node.args.get("alias")
        # Keep references such as `exposures.ts` working under the new name.
        new.set(
            "alias",
            alias.copy()
            if alias is not None
            else exp.TableAlias(this=exp.to_identifier(node.name)),
        )
        return new
    if isinstance(node, exp.Div):
        # DuckDB's x / 0 is NULL; Spark's (ANSI mode) raises, even inside a FILTER'd aggregate.
        return exp.func("TRY_DIVIDE", node.this, node.expression)
    if isinstance(node, exp.PercentileCont):
        # quantile_cont(x, q): linear interpolation between closest ranks = Spark's percentile.
        return exp.func("PERCENTILE", node.this, node.expression)
    if isinstance(node, exp.Anonymous):
        name = node.name.upper()
        args = node.expressions
        if name == "LIST_POSITION" and len(args) == 2:
            # 1-based; DuckDB gives NULL when absent, Spark's array_position 0.
            return exp.func("NULLIF", exp.func("ARRAY_POSITION", *args), exp.Literal.number(0))
        if name == "ISFINITE" and len(args) == 1:
            # Spark has no infinite timestamps (DuckDB does); NULL stays excluded in a WHERE.
            return exp.Not(this=exp.Is(this=args[0], expression=exp.Null()))
        if name == "LIST_EXTRACT" and len(args) == 2:
            # 1-based; NULL index → NULL in both.
            return exp.func("ELEMENT_AT", args[0], exp.cast(args[1], "INT"))
    return node


def transpile(
    sql: str,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
    *,
    tables: Mapping[str, str] | None = None,
    dialect: str = "spark",
) -> str:
    """Translate one DuckDB query of the analysis layer to ``dialect`` with values bound.

    Parameters
    ----------
    sql
        One DuckDB statement (a query, or ``CREATE TEMP TABLE … AS`` / ``DROP TABLE``).
    params
        Named values for ``$name`` placeholders, or positional values for ``?``.
    tables
        Table name → name to use instead (the engine's views of the canonical tables).
    dialect
        SQLGlot dialect to write.

    Returns
    -------
    str
        The statement in ``dialect``, with no placeholders left.

    Raises
    ------
    InvalidArgumentError
        A placeholder has no value, or a value has no SQL literal.
    """
    import sqlglot

    return bind(sqlglot.parse_one(sql, read="duckdb"), params, tables=tables).sql(dialect=dialect)


def bind(
    tree: Any,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
    *,
    tables: Mapping[str, str] | None = None,
) -> Any:
    """:func:`transpile` on a parsed statement: returns the rewritten SQLGlot tree (a copy)."""
    from sqlglot import exp

    tree = tree.copy()
    named = dict(params) if isinstance(params, Mapping) else {}
    positional = (
        list(params) if isinstance(params, Sequence) and not isinstance(params, str) else []
    )
    # Textual order of `?` placeholders (depth-first, left to right).
    holes = [p for p in tree.find_all(exp.Placeholder, bfs=False) if p.this is None]
    if len(holes) != len(positional):
        raise InvalidArgumentError(f"{len(holes)} '?' placeholders but {len(positional)} values")
    for hole, value in zip(holes, positional, strict=True):
        hole.replace(_literal(value))
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    renames = {k: v for k, v in (tables or {}).items() if k not in ctes}
    # In place, innermost first, so that rewritten functions keep their rewritten arguments.
    for node in reversed(list(tree.walk(bfs=False))):
        new = _rewrite(node, named, renames)
        if new is not node:
            node.replace(new)
    return tree
