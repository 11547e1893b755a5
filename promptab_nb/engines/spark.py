"""Run an experiment's analysis on Apache Spark, where the events live.

The analysis is the one in :mod:`promptab_nb.analysis`: the same exposure rules and metric SQL,
written once in DuckDB's dialect and translated per query by SQLGlot
(:mod:`promptab_nb.engines._transpile`). Spark computes per-unit values and per-variant
sufficient statistics (counts, sums, sums of squares and cross products); only those few rows
per variant come back, and the statistics are computed in Python by the same code as for a
workspace, into the same :class:`~promptab_nb.results.ExperimentResult`.

The Spark-specific part is small: temporary views of the canonical tables ``exposures``,
``generations`` and ``evaluations`` over a PostHog events table (typed like
:mod:`promptab_nb.loaders.posthog`: each row's properties parsed once with ``from_json``), and a
runner that executes translated queries and returns rows.

Examples
--------
>>> from pyspark.sql import SparkSession  # doctest: +SKIP
>>> from promptab_nb.engines import spark as pab_spark  # doctest: +SKIP
>>> spark = SparkSession.builder.getOrCreate()  # doctest: +SKIP
>>> exp = ws.experiment("support-v2")  # doctest: +SKIP
>>> res = pab_spark.analyze("lake.posthog_events", exp, ["cost", "latency"], spark=spark)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid as _uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InvalidArgumentError
from ._spark_views import canonical_views, is_frame, register, session_of

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..metrics import Metric
    from ..options import AnalysisOptions
    from ..results import ExperimentResult, Health, OverTimeResult

__all__ = [
    "SparkEngine",
    "analyze",
    "analyze_over_time",
    "canonical_views",
    "health",
    "open_engine",
]


# -- engine: the analysis layer's database interface, on Spark -----------------------------------
class SparkEngine:
    """The :class:`~promptab_nb.engines.base.Engine` protocol on Spark: each DuckDB query is
    translated by SQLGlot and run by Spark over the canonical views of one source.

    The per-unit table of an analysis becomes a persisted temporary view, dropped when the
    analysis is done. Rows come back as tuples, timestamps as UTC-aware datetimes.
    """

    dialect = "spark"

    def __init__(
        self,
        spark: Any,
        tables: Mapping[str, str],
        prefix: str,
        provenance: tuple[dict[str, Any], ...] = (),
    ) -> None:
        self.spark = spark
        self._tables = dict(tables)
        self._prefix = prefix
        self._provenance = provenance
        self._persisted: dict[str, Any] = {}
        self._lock = threading.RLock()

    def translate(self, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> str:
        """The Spark SQL that runs for ``query`` (DuckDB) with ``params`` bound."""
        from ._transpile import transpile

        return transpile(query, params, tables=self._tables, dialect="spark")

    def fetch(
        self, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """All rows of ``query`` (DuckDB dialect), translated and run by Spark."""
        rows = self.spark.sql(self.translate(query, params)).collect()
        return [tuple(_python(v) for v in r) for r in rows]

    def fetch_facts(
        self, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """:meth:`fetch`, uncached: the tables behind the views may change between calls."""
        return self.fetch(query, params)

    @contextlib.contextmanager
    def unit_rows(self, query: str, params: Mapping[str, Any]) -> Iterator[str]:
        """A persisted view of the per-unit ``query``'s rows, dropped after the block."""
        name = "_pab_units"
        self._execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}", params)
        try:
            yield name
        finally:
            self._execute(f"DROP TABLE IF EXISTS {name}")

    def provenance(self) -> tuple[dict[str, Any], ...]:
        """The Spark source this engine reads (file or table name and its kind)."""
        return self._provenance

    def _execute(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        import sqlglot
        from sqlglot import exp

        from ._transpile import bind

        tree = sqlglot.parse_one(query, read="duckdb")
        with self._lock:
            if isinstance(tree, exp.Create) and tree.args.get("expression") is not None:
                name = tree.this.name
                select = bind(tree.expression, params, tables=self._tables).sql(dialect="spark")
                view = f"{self._prefix}_{name}"
                df = self.spark.sql(select).persist()
                df.createOrReplaceTempView(view)
                self._drop(name)
                self._persisted[name] = df
                self._tables[name] = view
            elif isinstance(tree, exp.Drop):
                for table in tree.args.get("tables") or [tree.this]:
                    self._drop(table.name)
            else:
                raise InvalidArgumentError(
                    "the Spark runner executes only CREATE TEMP TABLE … AS and DROP TABLE; "
                    f"got: {query.strip().splitlines()[0]}"
                )

    def _drop(self, name: str) -> None:
        df = self._persisted.pop(name, None)
        if df is not None:
            df.unpersist()
            self.spark.catalog.dropTempView(self._tables.pop(name))

    def close(self) -> None:
        """Unpersist and drop every view this runner made."""
        for name in list(self._persisted):
            self._drop(name)
        for view in self._tables.values():
            with contextlib.suppress(Exception):
                self.spark.catalog.uncacheTable(view)
            self.spark.catalog.dropTempView(view)
        self._tables.clear()


def _python(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # PySpark returns TIMESTAMP values as naive local-time datetimes.
        return value.astimezone(dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


@contextlib.contextmanager
def _utc(spark: Any) -> Iterator[None]:
    """Run with the session time zone set to UTC (dates and periods are UTC, as in DuckDB)."""
    key = "spark.sql.session.timeZone"
    before = spark.conf.get(key)
    spark.conf.set(key, "UTC")
    try:
        yield
    finally:
        spark.conf.set(key, before)


@contextlib.contextmanager
def open_engine(
    source: Any, *, spark: Any = None, dedupe: bool = True, cache: bool = False
) -> Iterator[SparkEngine]:
    """A :class:`SparkEngine` over the canonical views of ``source``; views dropped on exit.

    The session time zone is UTC while the engine is open (dates and periods are UTC, as in
    DuckDB). With ``cache`` the typed events are persisted (memory, then disk) while the engine
    is open: faster when many queries re-read them, at the cost of cluster storage.
    """
    _require_packages()
    session = session_of(spark, source if is_frame(source) else None)
    prefix = f"_pab_{_uuid.uuid4().hex[:12]}"
    with _utc(session):
        names, described, kind = register(session, source, prefix, dedupe, cache)
        provenance = (
            {
                "file": described,
                "format": f"spark {kind}",
                "sha256": None,
                "rows_read": None,
                "rows_loaded": None,
                "rows_rejected": None,
                "loaded_at": dt.datetime.now(dt.UTC),
                "source": "spark",
                "call": None,
            },
        )
        engine = SparkEngine(session, names, prefix, provenance)
        try:
            yield engine
        finally:
            engine.close()


def _require_packages() -> None:
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the Spark engine needs pyspark and sqlglot ({err}); "
            "install them with: pip install 'promptab_nb[spark]'"
        ) from err


# -- public ------------------------------------------------------------------------------------
def analyze(
    source: Any,
    experiment: Experiment,
    metrics: Sequence[str | Metric] | str | Metric | None = None,
    *,
    spark: Any = None,
    dedupe: bool = True,
    cache: bool = False,
    options: AnalysisOptions | None = None,
    **kwargs: Any,
) -> ExperimentResult:
    """:meth:`Experiment.analyze <promptab_nb.experiments.Experiment.analyze>` on Spark.

    Parameters
    ----------
    source
        PostHog events: a Spark DataFrame, a table name (``"lake.posthog_events"``) or a Parquet
        path/glob; columns ``event``, ``distinct_id``, ``timestamp``, ``properties`` (JSON text,
        or a struct/map), optionally ``uuid`` and ``person_id``.
    experiment
        The experiment (from a :class:`~promptab_nb.workspace.Workspace`): its variants, split,
        flag and prompt name define the analysis; its workspace holds no events.
    metrics
        As for :meth:`Experiment.analyze`.
    spark
        The SparkSession (default: the DataFrame's, else the active one).
    dedupe
        Count one event per uuid, as the loader does (a shuffle on uuid).
    cache
        Persist the typed events while the analysis runs (faster with several metrics, CUPED or
        ``unit="request"``, which re-read them; uses cluster memory/disk).
    options, kwargs
        An :class:`~promptab_nb.options.AnalysisOptions` and/or its fields as keywords, as for
        :meth:`Experiment.analyze`.

    Returns
    -------
    ExperimentResult
        The same result as the workspace analysis of the same events; its provenance names the
        Spark source.

    Raises
    ------
    MissingColumnError, DataError, NotFoundError, InvalidArgumentError
        A bad source (missing column, wrong type, unknown table, a ``timestamp`` text column
        with no date-time), an unknown flag, an unknown keyword argument, bad options.

    Warns
    -----
    UserWarning
        Some events have a ``timestamp`` text that is not a date-time: they are left out (the
        workspace loader rejects them), and the warning counts them.
    """
    from .. import analysis

    _check_keywords(kwargs)
    with open_engine(source, spark=spark, dedupe=dedupe, cache=cache) as engine:
        return analysis.analyze(experiment, metrics, options=options, engine=engine, **kwargs)


#: :func:`analyze`'s own keyword arguments (the others are fields of ``AnalysisOptions``).
_OWN_KEYWORDS = ("spark", "dedupe", "cache", "options")


def _check_keywords(kwargs: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidArgumentError` for a keyword that is neither :func:`analyze`'s nor
    an :class:`~promptab_nb.options.AnalysisOptions` field (Python's TypeError named the
    dataclass, not the call), suggesting the closest valid one."""
    import dataclasses

    from .._checks import did_you_mean
    from ..options import AnalysisOptions

    # metrics is analyze's third parameter, so it never arrives among the keywords.
    fields = [f.name for f in dataclasses.fields(AnalysisOptions) if f.name != "metrics"]
    unknown = [k for k in kwargs if k not in fields]
    if not unknown:
        return
    valid = [*_OWN_KEYWORDS, *fields]
    raise InvalidArgumentError(
        f"promptab_nb.engines.spark.analyze() has no argument {unknown[0]!r}"
        f"{did_you_mean(unknown[0], valid) or '.'} Its keyword arguments are {', '.join(valid)} "
        "(AnalysisOptions fields, as for exp.analyze)."
    )


def analyze_over_time(
    source: Any,
    experiment: Experiment,
    metric: str | Metric,
    *,
    spark: Any = None,
    dedupe: bool = True,
    cache: bool = False,
    freq: Literal["day", "hour", "week"] = "day",
    alpha: float = 0.05,
    relative: bool = True,
    multiple: Literal["exclude", "first_seen"] = "exclude",
    cost: Literal["source", "recompute"] = "source",
    start: Any = None,
    end: Any = None,
    unit: Literal["user", "request"] | None = None,
) -> OverTimeResult:
    """:func:`promptab_nb.analysis.analyze_over_time` on Spark (periods in UTC).

    Parameters are those of :func:`analyze` and :func:`promptab_nb.analysis.analyze_over_time`
    (``cost``, the ``start``/``end`` window and the ``unit`` as there).
    """
    from .. import analysis

    with open_engine(source, spark=spark, dedupe=dedupe, cache=cache) as engine:
        return analysis.analyze_over_time(
            experiment, metric, freq=freq, alpha=alpha, relative=relative, multiple=multiple,
            cost=cost, start=start, end=end, unit=unit, engine=engine,
        )  # fmt: skip


def health(
    source: Any,
    experiment: Experiment,
    *,
    spark: Any = None,
    dedupe: bool = True,
    cache: bool = False,
    multiple: Literal["exclude", "first_seen"] = "exclude",
    start: Any = None,
    end: Any = None,
) -> Health:
    """Exposure counts per variant, ``$multiple`` units and the SRM check, without metrics.

    The counts are those of :func:`analyze`'s ``health`` (same exposure rules, one query).
    """
    from .. import analysis

    with open_engine(source, spark=spark, dedupe=dedupe, cache=cache) as engine:
        return analysis.health(experiment, multiple=multiple, start=start, end=end, engine=engine)
