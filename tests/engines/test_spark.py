"""The Spark engine gives the workspace (DuckDB) analysis's numbers on the same PostHog export.

One local SparkSession for the module (``local[2]``, 2 shuffle partitions, no UI). Its session
time zone is deliberately not UTC: the engine must still bucket and parse in UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import _export  # noqa: E402

pytest.importorskip("sqlglot")
pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - depends on the machine
    pytest.skip("Spark needs Java: run scripts/spark_setup.sh", allow_module_level=True)

import promptab_nb as pab  # noqa: E402
from promptab_nb import analysis  # noqa: E402
from promptab_nb.engines import spark as ps  # noqa: E402
from promptab_nb.errors import (  # noqa: E402
    DataError,
    InvalidArgumentError,
    MissingColumnError,
    NotFoundError,
)

pytestmark = [
    pytest.mark.spark,
    pytest.mark.xdist_group("spark"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

METRICS = ["cost", "latency", "error_rate", "pass_rate", "tokens_out"]
SESSION_TZ = "America/New_York"
RTOL = 1e-9


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("promptab-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        # Small-data settings: planning and code generation dominate on a few thousand rows.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.session.timeZone", SESSION_TZ)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("OFF")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = _export.write(tmp_path_factory.mktemp("spark-export"))
    ws = pab.Workspace()
    ws.load_posthog(path, progress=False)
    by_flag = ws.create_experiment(
        "by-flag", "support", _export.ARMS, split=_export.SPLIT, flag_key=_export.FLAG
    )
    by_version = ws.create_experiment("by-version", None, _export.ARMS, flag_key="")
    yield {"path": path, "ws": ws, "flag": by_flag, "version": by_version}
    ws.close()


@pytest.fixture(scope="module")
def runner(spark: Any, data: dict[str, Any]) -> Iterator[ps.SparkEngine]:
    """One set of views for the option matrix (``ps.analyze`` itself is tested separately)."""
    with ps.open_engine(str(data["path"]), spark=spark, cache=True) as r:
        yield r


def on_spark(runner: ps.SparkEngine, exp: Any, metrics: Any, **options: Any) -> Any:
    """What ``ps.analyze`` does once its views exist."""
    return analysis.analyze(exp, metrics, engine=runner, **options)


def assert_same(duck: Any, spark_: Any) -> None:
    """Every column of the detailed frame, the health and the methods agree."""
    a, b = duck.to_pandas(details=True), spark_.to_pandas(details=True)
    assert list(a.columns) == list(b.columns)
    assert a.shape == b.shape
    num = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c]) and a[c].dtype != bool]
    other = [c for c in a.columns if c not in num]
    pd.testing.assert_frame_equal(a[other], b[other])
    x, y = a[num].to_numpy(float), b[num].to_numpy(float)
    np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
    np.testing.assert_allclose(y, x, rtol=RTOL, atol=0, equal_nan=True)
    assert duck.health == spark_.health
    assert duck.methods == spark_.methods
    assert duck.options == spark_.options


# -- the same numbers ---------------------------------------------------------------------------
def test_public_analyze_on_a_parquet_path_equals_duckdb(spark: Any, data: dict[str, Any]) -> None:
    exp = data["flag"]
    ms = [*METRICS, "latency_p95"]
    res = ps.analyze(str(data["path"]), exp, ms, spark=spark)
    assert_same(exp.analyze(ms), res)
    assert res.provenance[0]["file"] == str(data["path"])
    assert res.provenance[0]["format"] == "spark parquet"
    # The session's own time zone is left as it was, and no view is left behind.
    assert spark.conf.get("spark.sql.session.timeZone") == SESSION_TZ
    assert not [t for t in spark.catalog.listTables() if t.name.startswith("_pab_")]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"method": "bayesian", "correction": "holm"}, id="bayesian-holm"),
        pytest.param({"unit": "request"}, id="request"),
        pytest.param({"unit": "request", "method": "bayesian"}, id="request-bayesian"),
        pytest.param({"cuped": True, "sequential": True}, id="cuped-sequential"),
        pytest.param({"cuped": 2.5, "method": "bayesian"}, id="cuped-2.5d-bayesian"),
        pytest.param({"winsorize": (1, 99), "correction": "bh"}, id="winsorize"),
        pytest.param(
            {
                "metrics": [*METRICS, "latency_p50", "latency_p99"],
                "sequential": True,
                "alternative": {"cost": "less"},
                "correction": "by",
            },
            id="quantiles-sequential-ratio-one-sided",
        ),
        pytest.param(
            {
                "multiple": "first_seen",
                "start": "2026-03-01T12:00:00Z",
                "end": dt.datetime(2026, 3, 4, 18, tzinfo=dt.UTC),
                "alpha": 0.1,
                "relative": False,
            },
            id="first-seen-window",
        ),
    ],
)
def test_options_equal_duckdb(
    runner: ps.SparkEngine, data: dict[str, Any], options: dict[str, Any]
) -> None:
    exp = data["flag"]
    options = dict(options)
    ms = options.pop("metrics", METRICS)
    assert_same(exp.analyze(ms, **options), on_spark(runner, exp, ms, **options))


def test_assignment_by_prompt_version_equals_duckdb(
    runner: ps.SparkEngine, data: dict[str, Any]
) -> None:
    exp = data["version"]
    assert_same(exp.analyze(METRICS), on_spark(runner, exp, METRICS))


def test_custom_metrics_equal_duckdb(runner: ps.SparkEngine, data: dict[str, Any]) -> None:
    ms = [
        "requests",
        "tokens_in",
        pab.Metric("ttft", "ttft_s", "mean", unit="s"),
        pab.Metric("score", "score", "mean", source="evaluations", direction="higher"),
    ]
    exp = data["flag"]
    assert_same(exp.analyze(ms, winsorize=(5, 95)), on_spark(runner, exp, ms, winsorize=(5, 95)))


@pytest.mark.parametrize(
    ("metric", "freq"), [("latency", "day"), ("error_rate", "day"), ("cost", "hour")]
)
def test_over_time_equals_duckdb(
    spark: Any, runner: ps.SparkEngine, data: dict[str, Any], metric: str, freq: str
) -> None:
    exp = data["flag"]
    got = analysis.analyze_over_time(exp, metric, freq=freq, engine=runner).to_pandas()
    want = exp.analyze_over_time(metric, freq=freq).to_pandas()
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 3
    pd.testing.assert_series_equal(got["period_end"], want["period_end"], check_dtype=False)
    num = want.select_dtypes("number").columns
    np.testing.assert_allclose(
        got[num].to_numpy(float), want[num].to_numpy(float), rtol=RTOL, atol=0
    )


@pytest.mark.parametrize(("metric", "alternative"), [("cost", "less"), ("error_rate", "two-sided")])
def test_mann_whitney_equals_duckdb(
    runner: ps.SparkEngine, data: dict[str, Any], metric: str, alternative: str
) -> None:
    # The rank sums (window functions over the per-unit rows) run on Spark through SQLGlot.
    exp = data["flag"]
    got = analysis.mann_whitney(exp, metric, alternative=alternative, engine=runner)  # type: ignore[arg-type]
    want = exp.mann_whitney(metric, alternative=alternative)  # type: ignore[arg-type]
    a, b = want.to_pandas(), got.to_pandas()
    pd.testing.assert_frame_equal(a.drop(columns=["u", "prob_superiority", "statistic", "p_value"]),
                                  b.drop(columns=["u", "prob_superiority", "statistic", "p_value"]))  # fmt: skip
    cols = ["u", "prob_superiority", "statistic", "p_value"]
    np.testing.assert_allclose(b[cols].to_numpy(float), a[cols].to_numpy(float), rtol=RTOL)


def test_public_over_time_and_health_on_a_dataframe(spark: Any, data: dict[str, Any]) -> None:
    exp = data["flag"]
    frame = spark.read.parquet(str(data["path"]))
    got = ps.analyze_over_time(frame, exp, "pass_rate").to_pandas()
    want = exp.analyze_over_time("pass_rate").to_pandas()
    num = want.select_dtypes("number").columns
    np.testing.assert_allclose(got[num].to_numpy(float), want[num].to_numpy(float), rtol=RTOL)
    # the window and the unit reach the analysis, as exp.analyze_over_time takes them
    ts = want["period_end"]
    window = {"start": str(ts.iloc[1]), "end": str(ts.iloc[-2]), "unit": "request"}
    got = ps.analyze_over_time(frame, exp, "latency", **window).to_pandas()  # type: ignore[arg-type]
    want = exp.analyze_over_time("latency", **window).to_pandas()  # type: ignore[arg-type]
    assert (
        len(got) == len(want)
        and got["n_treatment"].iloc[-1]
        < exp.analyze_over_time("latency", unit="request").to_pandas()["n_treatment"].iloc[-1]
    )
    num = want.select_dtypes("number").columns
    np.testing.assert_allclose(got[num].to_numpy(float), want[num].to_numpy(float), rtol=RTOL)
    health = ps.health(frame, exp)
    assert health == exp.analyze(["cost"]).health
    assert health.multiple > 0 and health.srm_p_value is not None


def test_canonical_views_equal_the_loaded_tables(
    spark: Any, runner: ps.SparkEngine, data: dict[str, Any]
) -> None:
    """The typing rules: same rows (rejects and duplicates left out) and the same values."""
    ws = data["ws"]
    for table, cols in {
        "exposures": "uuid, ts, distinct_id, person_id, flag_key, variant",
        "generations": "uuid, ts, person_id, prompt_name, prompt_version, latency_s, "
        "input_tokens, output_tokens, cost_usd, is_error, http_status",
        "evaluations": "uuid, ts, target_uuid, name, passed, applicable, score",
    }.items():
        want = ws.sql(f"SELECT {cols} FROM {table} ORDER BY uuid")
        got = pd.DataFrame(
            runner.fetch(f"SELECT {cols} FROM {table} ORDER BY uuid"), columns=want.columns
        )
        frames = []
        for df in (got, want):
            df["ts"] = pd.to_datetime(df["ts"], utc=True)
            # Events without a uuid get a content hash (the engines' timestamp texts differ).
            df.loc[df["uuid"].str.fullmatch("[0-9a-f]{32}"), "uuid"] = "(hash)"
            df = df.sort_values(["uuid", "ts"], ignore_index=True).astype(object)
            frames.append(df.where(df.notna(), None))
        pd.testing.assert_frame_equal(*frames, check_dtype=False)


def test_values_are_bound_as_escaped_literals(runner: ps.SparkEngine) -> None:
    nasty = 'it\'s a \\ "flag" ; -- $x :y ?'
    when = dt.datetime(2026, 3, 1, 10, 30, 0, 123456, tzinfo=dt.UTC)
    got = runner.fetch(
        "SELECT $s AS s, $t AS t, $n AS n, $f AS f, $b AS b",
        {"s": nasty, "t": when, "n": None, "f": 0.1, "b": True},
    )
    assert got == [(nasty, when, None, 0.1, True)]
    assert runner.fetch("SELECT ? AS s", [nasty]) == [(nasty,)]


# -- bad input: the loaders' named errors -------------------------------------------------------
def _frame(spark: Any, data: dict[str, Any], drop: str | None = None, **casts: str) -> Any:
    from pyspark.sql import functions as F

    df = spark.read.parquet(str(data["path"]))
    if drop:
        df = df.drop(drop)
    for col, to in casts.items():
        df = df.withColumn(col, F.array(df[col]) if to == "array" else df[col].cast(to))
    return df


@pytest.mark.parametrize("column", ["properties", "timestamp", "event", "distinct_id"])
def test_missing_column_is_the_loaders_error(
    spark: Any, data: dict[str, Any], tmp_path: Path, column: str
) -> None:
    exp = data["flag"]
    frame = _frame(spark, data, drop=column)
    with pytest.raises(MissingColumnError, match=repr(column)):
        ps.analyze(frame, exp, ["cost"])
    # The DuckDB loader says the same of the same export.
    path = tmp_path / "events.parquet"
    pd.read_parquet(data["path"]).drop(columns=[column]).to_parquet(path)
    with pytest.raises(MissingColumnError, match=repr(column)):
        pab.Workspace().load_posthog(path, progress=False)


@pytest.mark.parametrize(
    ("column", "to"),
    [("timestamp", "bigint"), ("properties", "int"), ("event", "array"), ("distinct_id", "array")],
)
def test_wrong_column_type_is_a_data_error(
    spark: Any, data: dict[str, Any], column: str, to: str
) -> None:
    frame = _frame(spark, data, **{column: to})
    with pytest.raises(DataError, match=column):
        ps.analyze(frame, data["flag"], ["cost"])


def test_strings_stored_as_bytes_are_read_as_text(spark: Any, data: dict[str, Any]) -> None:
    # as the DuckDB loader reads them (tests/loaders/test_hostile.py)
    frame = _frame(spark, data, distinct_id="binary", properties="binary")
    assert_same(data["flag"].analyze(["cost"]), ps.analyze(frame, data["flag"], ["cost"]))


def test_unknown_table_path_and_flag(spark: Any, data: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no_such_events"):
        ps.analyze("no_such_events", data["flag"], spark=spark)
    with pytest.raises(DataError, match="cannot read"):
        ps.analyze(str(tmp_path / "missing.parquet"), data["flag"], spark=spark)
    other = dataclasses.replace(data["flag"], flag_key="no-such-flag")
    with pytest.raises(NotFoundError, match="no-such-flag") as duck:
        analysis.analyze(other, ["cost"])
    with pytest.raises(NotFoundError, match="no-such-flag") as on_spark_:
        ps.analyze(str(data["path"]), other, ["cost"], spark=spark)
    assert str(duck.value) == str(on_spark_.value)
    with pytest.raises(InvalidArgumentError):
        ps.analyze(str(data["path"]), data["flag"], ["cost"], spark=spark, winsorize=(99, 1))


def test_table_name_source(spark: Any, data: dict[str, Any]) -> None:
    spark.read.parquet(str(data["path"])).createOrReplaceTempView("posthog_events_test")
    try:
        res = ps.analyze("posthog_events_test", data["flag"], ["error_rate"], spark=spark)
    finally:
        spark.catalog.dropTempView("posthog_events_test")
    assert_same(data["flag"].analyze(["error_rate"]), res)
    assert res.provenance[0]["format"] == "spark table"


def _views(spark: Any) -> set[str]:
    """The engine's temporary views (the module's ``runner`` keeps its own open)."""
    return {t.name for t in spark.catalog.listTables() if t.name.startswith("_pab_")}


def _text_timestamps(data: dict[str, Any], path: Path, bad: dict[int, str] | None = None) -> Path:
    """The export with ISO 8601 text timestamps, row ``i`` holding ``bad[i]`` instead."""
    df = pd.read_parquet(data["path"])
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for i, text in (bad or {}).items():
        df.loc[i, "timestamp"] = text
    df.to_parquet(path, index=False)
    return path


def test_unparseable_text_timestamps_are_the_loaders_error(
    spark: Any, data: dict[str, Any], tmp_path: Path
) -> None:
    # Every timestamp as day/month/year text: the analysis said "no exposures for flag ...".
    path = tmp_path / "events.parquet"
    df = pd.read_parquet(data["path"])
    df["timestamp"] = df["timestamp"].dt.strftime("%d/%m/%Y %H:%M")
    df.to_parquet(path, index=False)
    used = df["event"].isin(["$feature_flag_called", "$ai_generation", "$ai_evaluation"])
    example = re.escape(repr(df.loc[used, "timestamp"].min()))
    views, zone = _views(spark), spark.conf.get("spark.sql.session.timeZone")
    for source in (str(path), spark.read.parquet(str(path))):
        with pytest.raises(DataError) as err:
            ps.analyze(source, data["flag"], ["cost"], spark=spark)
        message = str(err.value)
        assert not isinstance(err.value, NotFoundError)
        assert re.search(r"column 'timestamp'.*not a date-time", message)
        assert "ISO 8601" in message
        assert re.search(example, message)  # the first bad text, in sort order
        assert (str(path) if isinstance(source, str) else "Spark DataFrame") in message
    # The session is left as it was (time zone, no view behind).
    assert spark.conf.get("spark.sql.session.timeZone") == zone
    assert _views(spark) == views
    # The DuckDB loader rejects every row for the same reason.
    report = pab.Workspace().load_posthog(path, progress=False)
    assert report.rows_loaded == 0
    assert "timestamp is missing or not a date-time" in report.reasons


def test_some_unparseable_timestamps_are_left_out_and_counted(
    spark: Any, data: dict[str, Any], tmp_path: Path
) -> None:
    """Rows whose timestamp is not a date-time are left out, as the loader rejects them, not
    counted at a time the text does not say (Spark read "10:00:00" as today at 10:00 and
    "2026-03" as March 1st), and a warning counts them."""
    raw = pd.read_parquet(data["path"])
    exposures = raw.index[raw["event"] == "$feature_flag_called"][:4]
    generations = raw.index[raw["event"] == "$ai_generation"][:3]
    bad = {
        exposures[0]: "10:00:00",
        exposures[1]: "today",
        exposures[2]: "2026-03",
        exposures[3]: "yesterday 10:00",
        generations[0]: "2026",
        generations[1]: "now",
        generations[2]: "",
    }
    path = _text_timestamps(data, tmp_path / "events.parquet", bad)
    used = raw["event"].isin(["$feature_flag_called", "$ai_generation", "$ai_evaluation"]).sum()
    ws = pab.Workspace()
    report = ws.load_posthog(path, progress=False)
    assert report.rows_rejected > len(bad)  # the export's own bad rows too
    exp = ws.create_experiment(
        "by-flag", "support", _export.ARMS, split=_export.SPLIT, flag_key=_export.FLAG
    )
    with pytest.warns(UserWarning, match=rf"7 of {used:,} rows .*not a date-time") as warned:
        res = ps.analyze(str(path), exp, METRICS, spark=spark)
    assert "'10:00:00'" in str(warned[0].message)  # the first bad text, in sort order
    assert str(path) in str(warned[0].message)
    assert_same(exp.analyze(METRICS), res)


def test_unknown_keyword_is_an_invalid_argument_error(spark: Any, data: dict[str, Any]) -> None:
    # Python's own TypeError ("AnalysisOptions.__init__() got an unexpected keyword argument")
    # named a class the user never typed.
    path = str(data["path"])
    views = _views(spark)
    with pytest.raises(InvalidArgumentError, match="'foo'") as err:
        ps.analyze(path, data["flag"], ["cost"], spark=spark, foo=1)
    assert not isinstance(err.value, TypeError)
    for valid in ("alpha", "method", "cuped", "spark", "cache", "options"):
        assert valid in str(err.value)
    with pytest.raises(InvalidArgumentError, match="'alpah'.*did you mean 'alpha'"):
        ps.analyze(path, data["flag"], ["cost"], spark=spark, alpah=0.1)
    with pytest.raises(InvalidArgumentError, match="did you mean 'cache'"):
        ps.analyze(path, data["flag"], ["cost"], spark=spark, cahce=True)
    assert _views(spark) == views  # refused before any view was made


def test_a_timestamp_column_with_no_date_in_range_is_named_not_no_exposures(
    spark: Any, data: dict[str, Any], tmp_path: Path
) -> None:
    # A TIMESTAMP column whose every value is before 2000 (epoch seconds read as milliseconds
    # land in January 1970): the views were empty and the analysis said "no exposures for flag".
    path = tmp_path / "events.parquet"
    df = pd.read_parquet(data["path"])
    df["timestamp"] = pd.to_datetime(df["timestamp"].astype("int64") // 10**9, unit="ms", utc=True)
    df.to_parquet(path, index=False)
    for source in (str(path), spark.read.parquet(str(path))):
        with pytest.raises(DataError, match=r"column 'timestamp' holds no date-time .*1970-01"):
            ps.analyze(source, data["flag"], ["cost"], spark=spark)
    # Some out of range: left out, counted in a warning, as text timestamps are.
    df = pd.read_parquet(data["path"])
    first = df.index[df["event"] == "$ai_generation"][:2]
    df.loc[first, "timestamp"] = pd.Timestamp("1970-01-01", tz="UTC")
    df.to_parquet(path, index=False)
    with pytest.warns(UserWarning, match=r"2 of [0-9,]+ rows .*not a date-time"):
        ps.analyze(str(path), data["flag"], ["cost"], spark=spark)
