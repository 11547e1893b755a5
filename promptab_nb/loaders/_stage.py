"""Typed staging: text fields → typed columns, with the first failing check as the reject reason.

A loader describes its columns as :class:`Field` objects; :func:`typed_stage` writes the SQL that
types them (every conversion is a ``TRY_CAST``) and flags each row with the first check that
fails (``bad_col``, ``bad_reason``). The stage step of a loader returns a :class:`Staged` saying
which stage tables (or :class:`Direct` queries) hold its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._sql import ident
from ._context import sql_str

Kind = Literal["text", "id", "double", "bigint", "int", "ts", "bool", "json"]


@dataclass
class Staged:
    """What a loader's stage step leaves behind.

    ``stages`` maps canonical tables to stage temp tables (unquoted names) inserted by uuid; a
    loader that inserts its rows itself (promptfoo) sets ``loaded`` and ``duplicates`` instead.
    ``rejects_from`` lists the temp tables whose rows with a ``bad_col`` are rejects (the load's
    ``pre`` table always is).
    """

    rows_read: int
    stages: dict[str, str] = field(default_factory=dict)
    rejects_from: tuple[str, ...] = ()
    loaded: dict[str, int] | None = None
    duplicates: int = 0
    also: dict[str, int] = field(default_factory=dict)
    direct: dict[str, Direct] = field(default_factory=dict)


@dataclass(frozen=True)
class Direct:
    """Rows inserted straight from the source into a canonical table, without a stage table.

    ``sql`` selects the typed rows (with ``source_row``, ``bad_col``, ``bad_reason``, ``raw``)
    of the ``rows`` source rows of this table. The good rows are inserted in one pass; the query
    runs a second time, for the rejects, only when fewer rows were good than read. This is the
    path for the big table of a big export: materialising it twice costs more than the load.
    """

    sql: str
    rows: int
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    """One typed column of a stage: its text expression, type and checks.

    ``source`` names the input column or property in rejects; ``scale`` converts units
    (0.001 for milliseconds → seconds); numbers must be finite and, when ``nonneg``, >= 0.
    An ``"id"`` is text whose "no id" texts (:data:`NO_ID_TEXTS`) are missing.
    """

    name: str
    expr: str
    kind: Kind = "text"
    source: str = ""
    required: bool = False
    scale: float = 1.0
    nonneg: bool = True

    @property
    def label(self) -> str:
        return self.source or self.name


# Timestamps outside [TS_MIN, TS_MAX) are rejected: `infinity`, year 1970 from a zero epoch or
# year 9999 from a sentinel would stretch a daily series or an experiment window over centuries.
TS_MIN = "2000-01-01"
TS_MAX = "2200-01-01"
TS_RANGE = f"between {TS_MIN} and {TS_MAX}"


def ts_out_of_range(v: str) -> str:
    """SQL: true when TIMESTAMPTZ ``v`` is infinite or outside [``TS_MIN``, ``TS_MAX``)."""
    return (
        f"(NOT isfinite({v}) OR {v} < TIMESTAMPTZ '{TS_MIN} 00:00:00+00' "
        f"OR {v} >= TIMESTAMPTZ '{TS_MAX} 00:00:00+00')"
    )


#: Texts SDKs write for "no id" (JavaScript's null/undefined, Python's None, pandas' nan),
#: compared lower-cased and trimmed: an id reading so is missing, else it would be one unit
#: shared by every user it was written for. (The Spark views read the same tuple.)
NO_ID_TEXTS = ("", "null", "undefined", "none", "nan")
_NO_ID = "(" + ", ".join(sql_str(x) for x in NO_ID_TEXTS) + ")"
_NO_ID_LEN = max(len(x) for x in NO_ID_TEXTS)


def is_no_id(x: str) -> str:
    """SQL: true when text ``x`` is one of :data:`NO_ID_TEXTS` (any case, padded with spaces)."""
    # A real id is spared the trimming and lower-casing: it is longer than every "no id" text
    # (strlen counts bytes, without reading the text) and has no space at either end (trim()
    # removes spaces only).
    short = f"(strlen({x}) <= {_NO_ID_LEN} OR starts_with({x}, ' ') OR ends_with({x}, ' '))"
    return f"({short} AND lower(trim({x})) IN {_NO_ID})"


def no_id(x: str) -> str:
    """SQL of id text ``x`` with the "no id" texts as NULL."""
    return f"CASE WHEN {is_no_id(x)} THEN NULL ELSE {x} END"


def whole_number_text(x: str) -> str:
    """SQL of version text ``x`` with a whole number written as a float ("3.0", what a pandas
    column with gaps holds) as its integer text ("3"); other texts ("v2.0") unchanged."""
    return f"regexp_replace({x}, '^(-?[0-9]+)\\.0+$', '\\1')"


_BOOL_TRUE = "('true', 't', '1', '1.0', 'yes', 'y', 'pass', 'passed')"
_BOOL_FALSE = "('false', 'f', '0', '0.0', 'no', 'n', 'fail', 'failed')"
_KIND_TEXT = {
    "double": "a finite number",
    "bigint": "a whole number",
    "int": "a whole number",
    "ts": f"a date-time {TS_RANGE}",
    "bool": "true/false",
    "json": "valid JSON",
}


def _kind_text(f: Field) -> str:
    """What a value of ``f`` must be, as the reject reason says it."""
    nonneg = f.nonneg and f.kind in ("double", "bigint", "int")
    return _KIND_TEXT[f.kind] + (" >= 0" if nonneg else "")


def _typed(f: Field, x: str) -> str:
    if f.kind == "text":
        return f"nullif({x}, '')"
    if f.kind == "id":
        return no_id(x)
    if f.kind == "double":
        v = f"TRY_CAST({x} AS DOUBLE)"
        return f"({v} * {float(f.scale)!r})" if f.scale != 1 else v
    if f.kind in ("bigint", "int"):
        d = f"TRY_CAST({x} AS DOUBLE)"
        typ = "BIGINT" if f.kind == "bigint" else "INTEGER"
        return f"TRY_CAST(CASE WHEN {d} = floor({d}) THEN {d} END AS {typ})"
    if f.kind == "ts":
        return f"TRY_CAST({x} AS TIMESTAMPTZ)"
    if f.kind == "bool":
        t = f"lower(trim({x}))"
        return f"CASE WHEN {t} IN {_BOOL_TRUE} THEN true WHEN {t} IN {_BOOL_FALSE} THEN false END"
    if f.kind == "json":
        return f"CASE WHEN json_valid({x}) THEN CAST({x} AS JSON) END"
    raise AssertionError(f.kind)


def _field_checks(f: Field, x: str, v: str) -> list[tuple[str, str, str]]:
    out = []
    present = f"({x} IS NOT NULL AND trim({x}) <> '')"
    if f.required and f.kind == "id":
        out.append((f"{v} IS NULL", f.label, f'{f.label} is missing (or "null"/"undefined")'))
    elif f.required:
        out.append((f"NOT {present}", f.label, f"{f.label} is missing"))
    if f.kind not in ("text", "id"):
        bad = f"{v} IS NULL"
        if f.kind == "double":
            bad += f" OR isnan({v}) OR isinf({v})"
        if f.kind == "ts":
            bad += f" OR {ts_out_of_range(v)}"
        if f.kind in ("double", "bigint", "int") and f.nonneg:
            bad += f" OR {v} < 0"
        out.append((f"{present} AND ({bad})", f.label, f"{f.label} is not {_kind_text(f)}"))
    return out


def typed_stage(
    stage: str,
    source: str,
    fields: Sequence[Field],
    select: Sequence[str],
    checks: Sequence[tuple[str, str, str]] = (),
    *,
    first_checks: Sequence[tuple[str, str, str]] = (),
    keep: Sequence[str] = (),
) -> str:
    """SQL creating stage table ``stage`` (unquoted) from ``source`` (with ``source_row``, ``raw``).

    Each field is evaluated as text, then typed (``TRY_CAST``); ``select`` lists the stage's
    output columns over the typed names; ``checks`` are extra ``(condition, column, reason)``
    rules. The first failing rule gives ``bad_col``/``bad_reason``; ``first_checks`` run before
    the field checks (e.g. "not a generation"); ``keep`` passes source columns through.
    """
    texts = ", ".join(f"{f.expr} AS {ident('_t_' + f.name)}" for f in fields)
    typed = ", ".join(f"{_typed(f, ident('_t_' + f.name))} AS {ident(f.name)}" for f in fields)
    rules = list(first_checks)
    for f in fields:
        rules += _field_checks(f, ident("_t_" + f.name), ident(f.name))
    rules += list(checks)
    if rules:
        bad_col = "CASE " + " ".join(f"WHEN {c} THEN {sql_str(col)}" for c, col, _ in rules)
        bad_reason = "CASE " + " ".join(f"WHEN {c} THEN {sql_str(r)}" for c, _, r in rules)
        bad_col, bad_reason = bad_col + " END", bad_reason + " END"
    else:
        bad_col = bad_reason = "NULL::VARCHAR"
    return f"""
    CREATE OR REPLACE TEMP TABLE {ident(stage)} AS
    WITH x AS (SELECT source_row, raw, {"".join(ident(k) + ", " for k in keep)}{texts}
               FROM {source}),
         y AS (SELECT *, {typed} FROM x)
    SELECT source_row, raw, {", ".join(select)},
           {bad_col} AS bad_col, {bad_reason} AS bad_reason
    FROM y
    """
