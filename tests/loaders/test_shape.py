"""_shape: reject checks for JSON objects, lists and booleans where an id, a text or an object
is read."""

from __future__ import annotations

import json

import duckdb
import pytest

from promptab_nb.loaders._read import key
from promptab_nb.loaders._shape import not_object, not_scalar, path
from promptab_nb.loaders._stage import Field, typed_stage


def _reasons(records: list[object], fields: list[Field], checks) -> list[str | None]:
    con = duckdb.connect()
    raws = [r if isinstance(r, str) else json.dumps(r) for r in records]
    spec = json.dumps({"id": "VARCHAR", "name": "VARCHAR", "usage": "VARCHAR"})
    con.execute(
        "CREATE TABLE rec AS SELECT generate_subscripts($r, 1) AS source_row, unnest($r) AS raw",
        {"r": raws},
    )
    src = f"(SELECT source_row, raw, from_json(raw, '{spec}') AS p FROM rec)"
    con.execute(typed_stage("st", src, fields, ["id"], checks))
    return [r for (r,) in con.execute("SELECT bad_reason FROM st ORDER BY source_row").fetchall()]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": ["a"]}, "id is a JSON object or list, not an id"),
        ({"id": {"a": 1}}, "id is a JSON object or list, not an id"),
        ({"id": True}, "id is true/false, not an id"),
        ({"id": "true"}, None),  # a string reading true: a (strange) id, not a boolean
        ({"id": "[a"}, None),  # a string starting like a list
        ({"id": 12}, None),
        ({"id": None}, None),
        ({"name": ["n"]}, "name is a JSON object or list, not a text"),
        ({"name": False}, None),  # a text read from false is left to the loader
        ({"usage": [1]}, "usage is a JSON list, not an object"),
        ({"usage": "[1, 2]"}, "usage is a JSON list, not an object"),  # a CSV cell
        ({"usage": {"input": 1}}, None),
        ({"usage": "[oops"}, None),
    ],
)
def test_checks_name_the_key_and_the_json_type(record, reason):
    fields = [Field("id", key("id"), "id"), Field("name", key("name")), Field("u", key("usage"))]
    checks = [*not_scalar("id", "id", path("id"), kind="id"),
              *not_scalar("name", "name", path("name")), not_object("u", "usage")]  # fmt: skip
    assert _reasons([record], fields, checks) == [reason]


def test_path_quotes_a_key():
    con = duckdb.connect()
    got = con.execute(f"SELECT json_type('{{\"a.b\": [1]}}', {path('a.b')})").fetchall()
    assert got == [("ARRAY",)]
