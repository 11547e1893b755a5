"""The analysis SQL translates to Spark SQL with every value bound as a literal (no Spark needed)."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("sqlglot")

from promptab_nb.analysis import _scope  # noqa: E402
from promptab_nb.engines._transpile import transpile  # noqa: E402
from promptab_nb.errors import InvalidArgumentError  # noqa: E402
from promptab_nb.metrics import BUILTIN  # noqa: E402


class _Exp:
    """The attributes of an Experiment that the SQL builders read."""

    def __init__(self, flag_key: str | None) -> None:
        self.flag_key = flag_key
        self.variants = {"control": "v1", "test": "v2"}
        self.prompt_name = "support"
        self.unit = "user"
        self.assigned_by = "flag" if flag_key else "version"


@pytest.mark.parametrize("flag", ["prompt-test", None])
def test_every_builtin_metric_query_translates(flag: str | None) -> None:
    exp = _Exp(flag)
    params = _scope.params(exp, dt.datetime(2026, 3, 1, tzinfo=dt.UTC), None, "exclude")
    ms = [m for m in BUILTIN.values() if m.kind != "quantile"]
    queries = [_scope.per_unit_sql(exp, ms)]
    queries += [_scope.per_request_sql(exp, m) for m in BUILTIN.values() if m.agg != "count"]
    for q in queries:
        out = transpile(q, params, tables={"generations": "lake_gen"})
        for duckdb_only in ("$", "LIST_POSITION", "LIST_EXTRACT", "TO_MICROSECONDS", "ARG_MIN"):
            assert duckdb_only not in out.replace("'$multiple'", "")
        assert "lake_gen" in out
        assert "FROM generations" not in out and "JOIN generations" not in out


def test_values_become_escaped_typed_literals() -> None:
    out = transpile(
        "SELECT $s, $n, $b, $f, $i, $l, $t",
        {
            "s": "it's \\ here",
            "n": None,
            "b": False,
            "f": 0.25,
            "i": 7,
            "l": ["a", "b'c"],
            "t": dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
        },
    )
    assert out == (
        "SELECT 'it\\'s \\\\ here', NULL, FALSE, CAST('0.25' AS DOUBLE), 7, "
        "ARRAY('a', 'b\\'c'), TIMESTAMP_MICROS(1000000)"
    )


def test_positional_values_in_textual_order() -> None:
    assert transpile("SELECT ? AS a, ? AS b", ["x", 2]) == "SELECT 'x' AS a, 2 AS b"


def test_missing_value_and_unbindable_value() -> None:
    with pytest.raises(InvalidArgumentError, match=r"\$flag"):
        transpile("SELECT $flag", {})
    with pytest.raises(InvalidArgumentError, match="placeholders"):
        transpile("SELECT ?", [])
    with pytest.raises(InvalidArgumentError, match="non-finite"):
        transpile("SELECT $x", {"x": float("nan")})
    with pytest.raises(InvalidArgumentError, match="cannot bind"):
        transpile("SELECT $x", {"x": object()})


def test_cte_names_are_not_renamed_and_duckdb_semantics_kept() -> None:
    out = transpile(
        "WITH exposures AS (SELECT 1 AS x) SELECT x / 0, quantile_cont(x, 0.5) FROM exposures",
        tables={"exposures": "lake_exposures"},
    )
    assert "lake_exposures" not in out
    assert "TRY_DIVIDE(x, 0)" in out  # DuckDB's x / 0 is NULL, not an error
    assert "PERCENTILE(x, 0.5)" in out
