"""Spark views of a PostHog events source in the canonical tables' shape.

Typed like :mod:`promptab_nb.loaders.posthog`: each row's properties are parsed once with
``from_json``; numbers must be finite and >= 0, else the generation is dropped from the view.
Used by :mod:`promptab_nb.engines.spark`.
"""

from __future__ import annotations

import os
import uuid as _uuid
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import DataError, InvalidArgumentError, MissingColumnError, NotFoundError
from ..loaders._posthog_read import REQUIRED
from ..loaders._stage import NO_ID_TEXTS, TS_MAX, TS_MIN, TS_RANGE
from ..loaders.posthog import COST_FROM_PARTS

_EVENTS = ("$feature_flag_called", "$ai_generation", "$ai_evaluation")
_CORRUPT = "_pab_corrupt_record"
# Spark casts texts DuckDB rejects to an instant they do not state ("10:00:00" and "now" are
# today, "2026-03" is March 1st): text must start with a whole date, then end or give hh:mm,
# as TRY_CAST(... AS TIMESTAMPTZ) in the loader requires. (No backslash: a Spark SQL literal.)
_TS_TEXT = "^ *[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}( *$|[T ][0-9]{1,2}:[0-9]{1,2})"
# A usable event time, as the loader's checks: present and between TS_MIN and TS_MAX (UTC).
_TS_OK = (
    f"(ts IS NOT NULL AND ts >= timestamp'{TS_MIN} 00:00:00' AND ts < timestamp'{TS_MAX} 00:00:00')"
)
# How to write timestamps that are read (the loader's wording for Parquet numbers).
_TS_FIX = (
    "Write it as ISO 8601 text, e.g. '2026-03-01T10:00:00Z', or as a Spark TIMESTAMP, e.g. "
    "df.withColumn('timestamp', F.to_timestamp('timestamp', 'dd/MM/yyyy HH:mm'))."
)
# ... and a TIMESTAMP column outside the range: usually epoch numbers read in the wrong unit.
_TS_FIX_NATIVE = (
    "A TIMESTAMP outside this range is usually epoch numbers converted in the wrong unit "
    "(seconds read as milliseconds land in January 1970): convert them with the function of "
    "their unit, e.g. F.timestamp_seconds('timestamp') (or timestamp_millis, timestamp_micros)."
)

# Every property the canonical tables read, parsed once per row as text (as the DuckDB loader does).
_PROPS = (
    "$feature_flag",
    "$feature_flag_response",
    "$ai_trace_id",
    "$ai_prompt_name",
    "$ai_prompt_version",
    "$ai_model",
    "$ai_provider",
    "$ai_latency",
    "$ai_time_to_first_token",
    "$ai_input_tokens",
    "$ai_output_tokens",
    "$ai_total_cost_usd",
    "$ai_input_cost_usd",
    "$ai_output_cost_usd",
    "$ai_is_error",
    "$ai_http_status",
    "$ai_target_event_id",
    "$ai_evaluation_name",
    "$ai_metric_name",
    "$ai_evaluation_result",
    "$ai_evaluation_applicable",
    "$ai_score",
)
# Numbers that must be finite and >= 0 when present, else the generation is rejected.
_GEN_NUMBERS = (
    ("$ai_latency", "latency_s", "DOUBLE"),
    ("$ai_time_to_first_token", "ttft_s", "DOUBLE"),
    ("$ai_input_tokens", "input_tokens", "BIGINT"),
    ("$ai_output_tokens", "output_tokens", "BIGINT"),
    ("$ai_total_cost_usd", "_total_cost", "DOUBLE"),
    ("$ai_input_cost_usd", "_in_cost", "DOUBLE"),
    ("$ai_output_cost_usd", "_out_cost", "DOUBLE"),
)


def _q(name: str) -> str:
    """A Spark identifier (backticks); only for this module's constant names."""
    return "`" + name.replace("`", "``") + "`"


def _p(prop: str) -> str:
    """A parsed property (a top-level column of the events view)."""
    return _q(prop)


# -- source → canonical views ---------------------------------------------------------------
def session_of(spark: Any, frame: Any) -> Any:
    if spark is not None:
        return spark
    if frame is not None and hasattr(frame, "sparkSession"):
        return frame.sparkSession
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        raise InvalidArgumentError(
            "no active SparkSession; pass spark=SparkSession.builder.getOrCreate() "
            "(or a Spark DataFrame as the source)"
        )
    return active


def is_frame(source: Any) -> bool:
    return hasattr(source, "schema") and hasattr(source, "createOrReplaceTempView")


def _read(spark: Any, source: Any) -> tuple[Any, str, str]:
    """(DataFrame, description, kind) of a DataFrame, a table name or a Parquet path."""
    from pyspark.errors import AnalysisException

    if is_frame(source):
        return source, "Spark DataFrame", "dataframe"
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise InvalidArgumentError(
            f"source == {source!r}; pass a Spark DataFrame, a table name or a Parquet path"
        )
    looks_like_path = (
        any(c in source for c in "/\\*?") or source.endswith(".parquet") or os.path.exists(source)
    )
    try:
        if looks_like_path:
            return spark.read.parquet(source), source, "parquet"
        return spark.table(source), source, "table"
    except AnalysisException as err:
        first = str(err).strip().splitlines()[0]
        if looks_like_path:
            raise DataError(f"{source}: cannot read as Parquet: {first}") from err
        raise NotFoundError(
            f"no table {source!r} in the Spark catalog ({first}); pass a table name, a Parquet "
            "path or a DataFrame"
        ) from err


_NATIVE_TS = "CAST(`timestamp` AS TIMESTAMP)"


def _text(field: Any, name: str, what: str) -> str:
    """Spark SQL for a column read as text, or a DataError for a type that has no text."""
    from pyspark.sql import types as T

    # (bytes are UTF-8 text from a writer that did not mark them so, as the DuckDB loader reads them)
    ok = (T.StringType, T.NumericType, T.BooleanType, T.BinaryType)
    if isinstance(field.dataType, ok) or type(field.dataType).__name__ in (
        "VarcharType",
        "CharType",
    ):
        return f"CAST({_q(name)} AS STRING)"
    raise DataError(
        f"column {name!r} has type {field.dataType.simpleString()}; {what} must be text"
    )


def _check_columns(df: Any, described: str) -> dict[str, str]:
    """SQL expressions of the raw columns, after checking names and types."""
    from pyspark.sql import types as T

    fields = {f.name: f for f in df.schema.fields}
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        raise MissingColumnError(
            f"{described} has no column {missing[0]!r} (found: {', '.join(sorted(fields))}). "
            "Export the events with uuid, event, distinct_id, person_id, timestamp and properties "
            "(PostHog batch export or 'Export all columns')."
        )
    ts = fields["timestamp"].dataType
    if isinstance(ts, T.TimestampType | T.DateType) or type(ts).__name__ == "TimestampNTZType":
        ts_sql = _NATIVE_TS
    elif isinstance(ts, T.StringType):
        ts_sql = (
            f"CASE WHEN `timestamp` RLIKE '{_TS_TEXT}' THEN try_cast(`timestamp` AS TIMESTAMP) END"
        )
    else:
        raise DataError(
            f"{described}: column 'timestamp' has type {ts.simpleString()}; expected a "
            "timestamp or an ISO-8601 string (UTC)"
        )
    props = fields["properties"].dataType
    if isinstance(props, T.StringType):
        props_sql = "`properties`"
    elif isinstance(props, T.BinaryType):
        props_sql = "CAST(`properties` AS STRING)"
    elif isinstance(props, T.StructType | T.MapType):
        props_sql = "to_json(`properties`)"
    else:
        raise DataError(
            f"{described}: column 'properties' has type {props.simpleString()}; expected JSON "
            "text or a struct/map of the event properties"
        )
    cols = {
        "event": _text(fields["event"], "event", "the event name"),
        "distinct_id": _text(fields["distinct_id"], "distinct_id", "distinct_id"),
        "uuid": _text(fields["uuid"], "uuid", "uuid") if "uuid" in fields else "NULL",
        "person_id": (
            _text(fields["person_id"], "person_id", "person_id")
            if "person_id" in fields
            else "NULL"
        ),
        "ts": ts_sql,
        "ts_raw": "CAST(`timestamp` AS STRING)",
        "props": props_sql,
    }
    return cols


def _events_sql(raw: str, cols: Mapping[str, str]) -> str:
    """Checked events of the three kinds with their properties parsed once into columns.

    Rows the DuckDB loader rejects are left out: empty event or distinct_id, an id that is a
    JSON object or list, a timestamp that is not a date-time, properties missing or not valid
    JSON.
    """
    schema = ", ".join(f"{_q(k)} STRING" for k in (*_PROPS, _CORRUPT))
    kinds = ", ".join(f"'{e}'" for e in _EVENTS)
    return f"""
    WITH r AS (
        SELECT {cols["uuid"]} AS uuid, {cols["event"]} AS event,
               {cols["distinct_id"]} AS distinct_id, {cols["person_id"]} AS person_id,
               {cols["ts"]} AS ts, {cols["ts_raw"]} AS ts_raw, {cols["props"]} AS props
        FROM {raw}
    ),
    s AS (
        SELECT coalesce(nullif(uuid, ''), md5(concat_ws('|', event, distinct_id, ts_raw, props)))
                   AS uuid,
               event, {_no_id("distinct_id")} AS distinct_id, {_no_id("person_id")} AS person_id,
               ts, props
        FROM r
        WHERE event IN ({kinds}) AND {_TS_OK} AND props IS NOT NULL
    ),
    s2 AS (SELECT * FROM s WHERE distinct_id IS NOT NULL AND NOT {_container("distinct_id")}
                                 AND NOT coalesce({_container("person_id")}, false))
    -- The generator parses each row's properties once; a plain projection of from_json would be
    -- inlined by the optimizer into every expression that reads a property.
    SELECT s2.*, j.*
    FROM s2 LATERAL VIEW inline(array(
        from_json(props, '{schema}', map('columnNameOfCorruptRecord', '{_CORRUPT}'))
    )) j
    WHERE j.{_q(_CORRUPT)} IS NULL
    """


def _check_timestamps(
    session: Any, raw: str, cols: Mapping[str, str], described: str, stacklevel: int
) -> None:
    """Raise a :class:`DataError` when no event the analysis reads has a usable timestamp (the
    views would be empty and the analysis would find "no exposures"); warn with the count when
    some have none. Those rows are left out, as the loader rejects them. A TIMESTAMP column
    (``cols["ts"]`` is :data:`_NATIVE_TS`) is checked for the range alone."""
    kinds = ", ".join(f"'{e}'" for e in _EVENTS)
    n, good, example = session.sql(
        f"""
        SELECT count(*), count_if({_TS_OK}),
               -- the first bad text in sort order (one message for one source)
               min(CASE WHEN NOT {_TS_OK} AND trim(ts_raw) <> '' THEN ts_raw END)
        FROM (SELECT {cols["ts"]} AS ts, {cols["ts_raw"]} AS ts_raw FROM {raw}
              WHERE {cols["event"]} IN ({kinds}))
        """
    ).collect()[0]
    bad = n - good
    if not bad:
        return
    shown = (
        f"e.g. {example[:60] + '…' if len(example) > 60 else example!r}"
        if example is not None
        else "all missing"
    )
    fix = _TS_FIX_NATIVE if cols["ts"] == _NATIVE_TS else _TS_FIX
    if not good:
        raise DataError(
            f"{described}: column 'timestamp' holds no date-time in any of its {n:,} flag "
            f"exposure, generation and evaluation rows ({shown}): timestamp is missing or not "
            f"a date-time {TS_RANGE}. {fix}"
        )
    warnings.warn(
        f"{described}: {bad:,} of {n:,} rows (flag exposures, generations, evaluations) have a "
        f"timestamp that is missing or not a date-time {TS_RANGE} ({shown}); they are left out "
        f"of the analysis, as ws.load_posthog rejects them. {fix}",
        stacklevel=stacklevel,
    )


def _container(col: str) -> str:
    """Spark SQL: text ``col`` is a JSON object or list (an id the DuckDB loader rejects:
    :func:`promptab_nb.loaders._shape.is_container`)."""
    return (
        f"(ascii({col}) IN (91, 123) "
        f"AND (json_array_length({col}) IS NOT NULL OR json_object_keys({col}) IS NOT NULL))"
    )


def _no_id(col: str) -> str:
    """The texts SDKs write for "no id" ('', "null", "undefined", "None", "nan") as NULL, as the
    DuckDB loader reads them (else they would make one shared unit)."""
    return (
        f"CASE WHEN lower(trim({col})) IN ({', '.join(repr(x) for x in NO_ID_TEXTS)}) "
        f"THEN NULL ELSE {col} END"
    )


_COLUMNS = {
    "exposures": ("uuid", "ts", "distinct_id", "person_id", "flag_key", "variant"),
    "generations": (
        "uuid",
        "ts",
        "distinct_id",
        "person_id",
        "trace_id",
        "prompt_name",
        "prompt_version",
        "model",
        "provider",
        "latency_s",
        "ttft_s",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "is_error",
        "http_status",
        "variant",
    ),
    "evaluations": (
        "uuid",
        "ts",
        "distinct_id",
        "person_id",
        "target_uuid",
        "trace_id",
        "name",
        "passed",
        "applicable",
        "score",
    ),
}


def _view_sql(table: str, select: str, dedupe: bool) -> str:
    """The canonical columns of ``select``, one row per uuid with ``dedupe`` (the loader's
    idempotence: an event exported twice counts once)."""
    cols = ", ".join(_COLUMNS[table])
    if not dedupe:
        return f"SELECT {cols} FROM ({select})"
    return f"""
    SELECT {cols} FROM (
        SELECT *, row_number() OVER (PARTITION BY uuid ORDER BY ts, _props) AS _rn FROM ({select})
    ) WHERE _rn = 1
    """


def _generations_sql(events: str) -> str:
    typed, bad = [], []
    for prop, col, typ in _GEN_NUMBERS:
        num = f"try_cast({_p(prop)} AS DOUBLE)"
        # A count must be a whole number (12.5 tokens is rejected, as the loader does).
        cast = (
            f"CASE WHEN {num} = floor({num}) THEN try_cast({num} AS BIGINT) END"
            if typ == "BIGINT"
            else num
        )
        typed.append(f"{cast} AS {col}")
        bad.append(
            f"({_p(prop)} IS NOT NULL AND ({cast} IS NULL OR isnan({cast}) "
            f"OR abs({cast}) = double('Infinity') OR {cast} < 0))"
        )
    flags = ", ".join(f"'{v}'" for v in ("true", "false", "1", "0"))
    return f"""
    WITH t AS (
        SELECT *, {", ".join(typed)}, try_cast({_p("$ai_http_status")} AS DOUBLE) AS _status,
               lower({_p("$ai_is_error")}) AS _err, {" OR ".join(bad)} AS _bad_number
        FROM {events} WHERE event = '$ai_generation'
    )
    SELECT uuid, ts, distinct_id, person_id, {_p("$ai_trace_id")} AS trace_id,
           {_p("$ai_prompt_name")} AS prompt_name, {_p("$ai_prompt_version")} AS prompt_version,
           {_p("$ai_model")} AS model, {_p("$ai_provider")} AS provider, latency_s, ttft_s,
           input_tokens, output_tokens,
           {COST_FROM_PARTS.format(total="_total_cost")} AS cost_usd,
           -- $ai_is_error is only sent on error; HTTP status 0 is an SDK error, >= 400 an API error
           coalesce(_err IN ('true', '1'), false) OR coalesce(_status = 0 OR _status >= 400, false)
               AS is_error,
           try_cast(round(_status) AS INT) AS http_status,
           -- PostHog events carry no per-generation arm (generations.variant is NULL there too)
           CAST(NULL AS STRING) AS variant, props AS _props
    FROM t
    WHERE NOT _bad_number AND (_err IS NULL OR _err IN ({flags}))
      AND (_status IS NULL OR (_status = floor(_status) AND _status BETWEEN 0 AND 999))
    """


def _evaluations_sql(events: str) -> str:
    passes = ", ".join(f"'{v}'" for v in ("true", "pass", "passed", "1", "yes"))
    fails = ", ".join(f"'{v}'" for v in ("false", "fail", "failed", "0", "no"))
    not_applicable = ", ".join(f"'{v}'" for v in ("false", "0", "no"))
    return f"""
    WITH t AS (
        SELECT *, lower(trim({_p("$ai_evaluation_result")})) AS _res,
               lower(trim({_p("$ai_evaluation_applicable")})) AS _app,
               try_cast({_p("$ai_score")} AS DOUBLE) AS score
        FROM {events} WHERE event = '$ai_evaluation'
    ),
    u AS (
        SELECT *,
               CASE WHEN _res IN ({passes}) THEN true
                    WHEN _res IN ({fails}) THEN false
                    WHEN _res IS NULL AND score IS NOT NULL THEN score >= 0.5 END AS _passed,
               CASE WHEN _app IN ({not_applicable}) THEN false ELSE true END AS applicable
        FROM t
    )
    SELECT uuid, ts, distinct_id, person_id, {_p("$ai_target_event_id")} AS target_uuid,
           {_p("$ai_trace_id")} AS trace_id,
           coalesce({_p("$ai_evaluation_name")}, {_p("$ai_metric_name")}) AS name,
           CASE WHEN applicable THEN _passed END AS passed, applicable, score, props AS _props
    FROM u
    WHERE NOT (applicable AND _passed IS NULL)
    """


def _exposures_sql(events: str) -> str:
    return f"""
    SELECT uuid, ts, distinct_id, person_id, {_p("$feature_flag")} AS flag_key,
           {_p("$feature_flag_response")} AS variant, props AS _props
    FROM {events}
    WHERE event = '$feature_flag_called' AND {_p("$feature_flag")} IS NOT NULL
      AND {_p("$feature_flag")} <> '' AND {_p("$feature_flag_response")} IS NOT NULL
    """


def canonical_views(
    source: Any, *, spark: Any = None, prefix: str | None = None, dedupe: bool = True
) -> dict[str, str]:
    """Register temporary views ``exposures``, ``generations``, ``evaluations`` over PostHog events.

    The views follow the PostHog loader's typing rules: ``$ai_is_error`` absent means success,
    HTTP status 0 or ≥ 400 is an error, evaluation results true/false/pass/fail (or a score),
    ``$ai_evaluation_applicable`` false is N/A; rows the loader would reject are left out, and
    with ``dedupe`` one event per uuid is kept. Nothing is computed until a view is queried.

    Parameters
    ----------
    source
        A Spark DataFrame, a table name or a Parquet path of PostHog events with the columns
        ``event``, ``distinct_id``, ``timestamp``, ``properties`` (JSON text, or a struct/map)
        and optionally ``uuid`` and ``person_id``.
    spark
        The SparkSession (default: the DataFrame's, else the active one).
    prefix
        Prefix of the view names (default: a unique ``_pab_<hex>``).
    dedupe
        Keep one event per uuid (a shuffle; turn off when the table is known to be unique).

    Returns
    -------
    dict
        Canonical table name → temporary view name (also ``"_events"``, the parsed events).

    Raises
    ------
    MissingColumnError
        A required column is absent.
    DataError
        A column has a type that cannot hold its values, a ``timestamp`` text column holds no
        date-time, or a Parquet path cannot be read.
    NotFoundError
        A table name that is not in the catalog.

    Warns
    -----
    UserWarning
        Some events have a ``timestamp`` text that is not a date-time (counted; left out).
    """
    session = session_of(spark, source if is_frame(source) else None)
    prefix = prefix or f"_pab_{_uuid.uuid4().hex[:12]}"
    names, _, _ = register(session, source, prefix, dedupe, stacklevel=3)
    return names


def register(
    session: Any,
    source: Any,
    prefix: str,
    dedupe: bool,
    cache: bool = False,
    *,
    stacklevel: int = 5,
) -> tuple[dict[str, str], str, str]:
    """Create the views (persisted with ``cache``); return (table → view, description, kind).

    ``stacklevel`` places a warning about the data, counted from here (1 is this function): the
    default names the caller of :func:`promptab_nb.engines.spark.analyze` (through
    ``open_engine``'s context manager).
    """
    df, described, kind = _read(session, source)
    cols = _check_columns(df, described)
    names = {
        t: f"{prefix}_{t}" for t in ("_raw", "_events", "exposures", "generations", "evaluations")
    }
    df.createOrReplaceTempView(names["_raw"])
    # Text may not be date-times, and any timestamp may be outside the range: such rows are left
    # out of the views, so none left would read as "no exposures" (one pass over two columns).
    try:
        _check_timestamps(session, names["_raw"], cols, described, stacklevel + 1)
    except DataError:
        session.catalog.dropTempView(names["_raw"])
        raise
    session.sql(
        f"CREATE OR REPLACE TEMPORARY VIEW {names['_events']} AS {_events_sql(names['_raw'], cols)}"
    )
    builders = {
        "exposures": _exposures_sql,
        "generations": _generations_sql,
        "evaluations": _evaluations_sql,
    }
    for table, build in builders.items():
        view = session.sql(_view_sql(table, build(names["_events"]), dedupe))
        (view.persist() if cache else view).createOrReplaceTempView(names[table])
    return names, described, kind
