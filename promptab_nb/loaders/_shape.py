"""Reject checks for values of the wrong JSON type where a loader reads an id, a text or an object.

Record fields are read as text (:func:`._read.record_source`): a JSON object or list reads as its
JSON text and true / false as ``"true"`` / ``"false"``, so a user id ``["u1"]`` loaded as the user
``'["u1"]'`` and a prompt version ``[3]`` as the version ``'[3]'``, without a word. These checks,
for :func:`._stage.typed_stage`, reject such rows naming the key. Only a text that starts with
``[`` or ``{`` (or reads true / false) is looked up again in the raw record, so a file of good
rows is not parsed twice. In CSV every value is a string, so no cell is flagged.
"""

from __future__ import annotations

from typing import Literal

from .._sql import ident
from ._context import sql_str

Check = tuple[str, str, str]

_CONTAINERS, _BOOLEAN = "('OBJECT', 'ARRAY')", "('BOOLEAN')"


def path(key: str) -> str:
    """SQL of the JSON path of top-level key ``key`` (a constant name)."""
    return sql_str('$."' + key.replace('"', '\\"') + '"')


def _typed_as(paths: tuple[str, ...], types: str) -> str:
    """SQL: the value of ``raw`` at one of ``paths`` (SQL of JSON paths) has a JSON type in
    ``types`` (SQL of a list of type names)."""
    return " OR ".join(f"TRY(json_type(raw, {p})) IN {types}" for p in paths)


def not_scalar(
    name: str, label: str, *paths: str, kind: Literal["id", "text", "arm"] = "text"
) -> list[Check]:
    """Checks of the stage's text column of field ``name``, read from ``raw`` at ``paths`` (SQL
    of JSON paths: :func:`path` of a key, or a parameter): a JSON object or list is rejected as
    not an id / a text / an arm, and, for an id, true / false too (:func:`not_boolean`; a
    true / false arm is one of two arms). ``label``: the column in rejects."""
    t = ident("_t_" + name)
    what = {"id": "an id", "text": "a text", "arm": "an arm"}[kind]
    # (ascii 91 and 123 are '[' and '{')
    cond = f"ascii({t}) IN (91, 123) AND ({_typed_as(paths, _CONTAINERS)})"
    out = [(cond, label, f"{label} is a JSON object or list, not {what}")]
    return out + ([not_boolean(name, label, *paths, what=what)] if kind == "id" else [])


def not_boolean(name: str, label: str, *paths: str, what: str) -> Check:
    """Check of the stage's text column of field ``name`` (as :func:`not_scalar`): a JSON
    true / false is rejected as not ``what``."""
    t = ident("_t_" + name)
    cond = f"lower({t}) IN ('true', 'false') AND ({_typed_as(paths, _BOOLEAN)})"
    return (cond, label, f"{label} is true/false, not {what}")


def not_object(name: str, label: str) -> Check:
    """Check of the stage's text column of field ``name``, an object such as a usage or a set of
    scores: a JSON list (in a JSON record or a CSV cell) is rejected, as it read as no value."""
    t = ident("_t_" + name)
    return (
        f"ascii(ltrim({t})) = 91 AND TRY(json_type({t})) = 'ARRAY'",
        label,
        f"{label} is a JSON list, not an object",
    )


def is_container(x: str) -> str:
    """SQL: text ``x`` is itself a JSON object or list, for a loader with no raw record to look
    the type up in (:func:`not_scalar`): the PostHog loader's ids (its JSON-lines reader keeps
    no line), where ``["x"]`` reads as the user ``'["x"]'``. False for NULL. Only a text starting
    with ``[`` or ``{`` (ascii 91, 123) is parsed, in a CASE branch: ``AND TRY(json_type(x))``
    parsed every id, failed on each (an id is not JSON) and so ran row by row (a 2 M-generation
    insert took 12.5 s instead of 3 s). The Spark views leave such rows out by this rule."""
    valid = f"CASE WHEN json_valid({x}) THEN {x} END"
    return (
        f"(CASE WHEN ascii({x}) IN (91, 123) "
        f"THEN coalesce(json_type({valid}) IN ('OBJECT', 'ARRAY'), false) ELSE false END)"
    )
