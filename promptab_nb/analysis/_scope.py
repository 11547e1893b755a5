"""Experiment + metrics → SQL (DuckDB) → per-variant sufficient statistics → stats → result.

The SQL applies PostHog's exposure rules: a unit's variant comes from the flag's exposures; a
unit seen with two variants is ``$multiple`` (excluded, or its first variant with
``multiple="first_seen"``); only events at or after the unit's first exposure count; exposed units
without events count 0 for sum metrics. The unit is ``person_id`` when present, else
``distinct_id``. An experiment without a flag assigns by prompt version instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._checks import check, one_of
from ._sql import ident
from .errors import InvalidArgumentError, NotFoundError
from .metrics import Metric, resolve

if TYPE_CHECKING:
    import pandas as pd

    from .experiments import Experiment
    from .results import ExperimentResult

MULTIPLE = "$multiple"

# -- SQL building blocks ------------------------------------------------------------------------
# Parameters: $flag, $keys (variant keys), $versions (prompt versions, same order), $prompt,
# $start, $end, $first_seen.
# The same SQL also runs on Spark, transpiled by SQLGlot (engines/spark.py): keep it portable
# (no `$param[...]` subscripts, no DuckDB-only interval functions) and test both engines.
_EXPOSED_BY_FLAG = """
    SELECT coalesce(person_id, distinct_id) AS unit, variant, ts
    FROM exposures
    WHERE flag_key = $flag AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
"""
# Without a flag, the arm of a generation is the variant whose prompt version it used.
_EXPOSED_BY_VERSION = """
    SELECT coalesce(person_id, distinct_id) AS unit,
           list_extract($keys, list_position($versions, prompt_version)) AS variant, ts
    FROM generations
    WHERE list_position($versions, prompt_version) IS NOT NULL
      AND ($prompt IS NULL OR prompt_name IS NULL OR prompt_name = $prompt)
      AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
"""
_ASSIGNED = """
    SELECT unit, min(ts) AS first_ts,
           CASE WHEN $first_seen THEN arg_min(variant, ts)
                WHEN count(DISTINCT variant) > 1 THEN '$multiple'
                ELSE min(variant) END AS variant,
           count(DISTINCT variant) > 1 AS multi
    FROM exposed GROUP BY unit
"""
# Generations of assigned units in scope (after first exposure, this prompt, the window).
_GEN_SCOPE = """
    SELECT a.unit, a.variant, {gen_cols}
    FROM assigned a JOIN generations g ON coalesce(g.person_id, g.distinct_id) = a.unit
    WHERE g.ts >= a.first_ts AND ($end IS NULL OR g.ts < $end)
      AND ($prompt IS NULL OR g.prompt_name IS NULL OR g.prompt_name = $prompt)
      AND a.variant <> '$multiple'
"""
# Applicable evaluations, attributed to the evaluated generation's unit and time when linked.
_EVAL_SCOPE = """
    SELECT a.unit, a.variant, {eval_cols}
    FROM evaluations e
    LEFT JOIN generations g ON g.uuid = e.target_uuid
    JOIN assigned a ON coalesce(g.person_id, g.distinct_id, e.person_id, e.distinct_id) = a.unit
    WHERE e.applicable AND coalesce(g.ts, e.ts) >= a.first_ts
      AND ($end IS NULL OR coalesce(g.ts, e.ts) < $end)
      AND ($prompt IS NULL OR g.prompt_name IS NULL OR g.prompt_name = $prompt)
      AND a.variant <> '$multiple'
"""


def _ctes(exp: Experiment, metrics: Sequence[Metric] = ()) -> str:
    """The exposure CTEs plus the in-scope events, projecting only the columns ``metrics`` read
    (the generations table also holds the raw properties JSON, which is never needed here)."""
    exposed = _EXPOSED_BY_FLAG if exp.flag_key else _EXPOSED_BY_VERSION
    cols = {"generations": {"uuid", "ts"}, "evaluations": {"uuid", "ts"}}
    for m in metrics:
        cols[m.source].add(m.column)
    gen_cols = ", ".join(f"g.{ident(c)}" for c in sorted(cols["generations"]))
    eval_cols = ", ".join(f"e.{ident(c)}" for c in sorted(cols["evaluations"]))
    return (
        f"WITH exposed AS ({exposed}), assigned AS ({_ASSIGNED}), "
        f"gen AS ({_GEN_SCOPE.format(gen_cols=gen_cols)}), "
        f"ev AS ({_EVAL_SCOPE.format(eval_cols=eval_cols)})"
    )


def _params(exp: Experiment, start: Any, end: Any, multiple: str) -> dict[str, Any]:
    return {
        "flag": exp.flag_key,
        "keys": list(exp.variants),
        "versions": list(exp.variants.values()),
        "prompt": exp.prompt_name,
        "start": start,
        "end": end,
        "first_seen": multiple == "first_seen",
    }


def _per_unit_columns(metric: Metric, table: str) -> tuple[str, str]:
    """(numerator, denominator) aggregates of one metric over a unit's events in ``table``."""
    col = f"{table}.{ident(metric.column)}"
    if metric.agg == "sum":
        return f"coalesce(sum({col}), 0)", "1"
    if metric.agg == "count":
        return f"count({col})", "1"
    if metric.agg == "mean":
        return f"sum({col})", f"count({col})"
    return f"coalesce(sum(CAST({col} AS INTEGER)), 0)", f"count({col})"


def _per_unit_sql(exp: Experiment, metrics: Sequence[Metric]) -> str:
    """One row per assigned unit (``$multiple`` included) with n{i}/d{i} per metric."""
    selects, joins = [], []
    for source, alias in (("generations", "gen"), ("evaluations", "ev")):
        ms = [(i, m) for i, m in enumerate(metrics) if m.source == source and m.kind != "quantile"]
        if not ms:
            continue
        cols = []
        for i, m in ms:
            num, den = _per_unit_columns(m, alias)
            cols.append(f"{num} AS n{i}, {den} AS d{i}")
        joins.append(
            f"LEFT JOIN (SELECT unit, {', '.join(cols)} FROM {alias} GROUP BY unit) {alias}_u "
            f"USING (unit)"
        )
        for i, m in ms:
            zero = "1" if m.agg in ("sum", "count") else "0"
            selects.append(
                f"coalesce({alias}_u.n{i}, 0) AS n{i}, coalesce({alias}_u.d{i}, {zero}) AS d{i}"
            )
    return (
        f"{_ctes(exp, metrics)} SELECT a.unit, a.variant, a.first_ts, a.multi, {', '.join(selects)} "
        f"FROM assigned a {' '.join(joins)}"
    )


def _per_request_sql(exp: Experiment, metric: Metric) -> str:
    """One row per event (generation or applicable evaluation) of assigned units."""
    alias = "gen" if metric.source == "generations" else "ev"
    col = f"{alias}.{ident(metric.column)}"
    value = f"CAST({col} AS INTEGER)" if metric.agg == "rate" else f"CAST({col} AS DOUBLE)"
    return (
        f"{_ctes(exp, [metric])} SELECT variant, {value} AS v FROM {alias} WHERE {col} IS NOT NULL"
    )


# -- sufficient statistics ---------------------------------------------------------------------
def _winsor_bounds(
    ws: Any, table: str, expr: str, where: str, pct: tuple[float, float]
) -> tuple[float, float]:
    lo, hi = ws._fetch(
        f"SELECT quantile_cont({expr}, $lo), quantile_cont({expr}, $hi) FROM {table} WHERE {where}",
        {"lo": pct[0] / 100, "hi": pct[1] / 100},
    )[0]
    return lo, hi


def _moments_user(
    ws: Any, table: str, metric: Metric, i: int, winsor: tuple[float, float] | None
) -> dict[str, dict[str, float]]:
    """Per-variant sums of the per-unit values of metric ``i``."""
    n, d = f"n{i}", f"d{i}"
    base = f"variant <> '{MULTIPLE}'"
    if metric.kind == "ratio":
        rows = ws._fetch(
            f"""SELECT variant, count(*), sum({n}), sum({n} * {n}), sum({d}), sum({d} * {d}),
                       sum({n} * {d})
                FROM {table} WHERE {base} GROUP BY variant"""
        )
        keys = ("n", "num", "num_sq", "den", "den_sq", "num_den")
        return {r[0]: dict(zip(keys, map(float, r[1:]), strict=True)) for r in rows}
    value = f"({n} / {d})" if metric.agg == "mean" else n
    where = f"{base} AND {d} > 0"
    if winsor is not None:
        lo, hi = _winsor_bounds(ws, table, value, where, winsor)
        if lo is not None:
            # DOUBLE bounds: a decimal literal would round them to the scale of an integer sum.
            value = (
                f"least(greatest({value}, CAST({float(lo)!r} AS DOUBLE)), "
                f"CAST({float(hi)!r} AS DOUBLE))"
            )
    rows = ws._fetch(
        f"SELECT variant, count(*), sum({value}), sum({value} * {value}) FROM {table} "
        f"WHERE {where} GROUP BY variant"
    )
    return {r[0]: {"n": float(r[1]), "sum": float(r[2]), "sum_sq": float(r[3])} for r in rows}


def _quantile_values(
    ws: Any, exp: Experiment, metric: Metric, params: dict[str, Any]
) -> dict[str, Any]:
    """Per-arm arrays of the in-scope event values (exact quantile CIs need the values)."""
    rows = ws._fetch(
        f"SELECT variant, list(v) FROM ({_per_request_sql(exp, metric)}) GROUP BY variant", params
    )
    return {r[0]: r[1] for r in rows}


def _moments_request(
    ws: Any, exp: Experiment, metric: Metric, params: dict[str, Any]
) -> dict[str, dict[str, float]]:
    rows = ws._fetch(
        f"SELECT variant, count(*), sum(v), sum(v * v) FROM ({_per_request_sql(exp, metric)}) "
        "GROUP BY variant",
        params,
    )
    return {
        r[0]: {"n": float(r[1]), "sum": float(r[2] or 0), "sum_sq": float(r[3] or 0)} for r in rows
    }


def _cuped_moments(
    ws: Any,
    exp: Experiment,
    metric: Metric,
    params: dict[str, Any],
    days: float,
    table: str,
    i: int,
) -> dict[str, dict[str, float]]:
    """Per-variant CovStats sums: y = the metric after exposure, x = the same metric in the
    ``days`` before the unit's first exposure (0 when the unit had no events then)."""
    col = ident(metric.column)
    src = "generations" if metric.source == "generations" else "evaluations"
    pre_value = {
        "sum": f"coalesce(sum(p.{col}), 0)",
        "count": f"count(p.{col})",
        "mean": f"coalesce(avg(p.{col}), 0)",
    }[metric.agg]
    y = f"(u.n{i} / u.d{i})" if metric.agg == "mean" else f"u.n{i}"
    extra = "AND p.applicable" if src == "evaluations" else ""
    rows = ws._fetch(
        f"""
        WITH pre AS (
            SELECT u.unit, {pre_value} AS x
            FROM {table} u JOIN {ident(src)} p ON coalesce(p.person_id, p.distinct_id) = u.unit
            WHERE p.ts < u.first_ts AND date_diff('microsecond', p.ts, u.first_ts) <= $us {extra}
            GROUP BY u.unit
        )
        SELECT u.variant, count(*), sum({y}), sum({y} * {y}), sum(coalesce(pre.x, 0)),
               sum(coalesce(pre.x, 0) ^ 2), sum({y} * coalesce(pre.x, 0))
        FROM {table} u LEFT JOIN pre USING (unit)
        WHERE u.variant <> '{MULTIPLE}' AND u.d{i} > 0
        GROUP BY u.variant
        """,
        {"us": int(days * 86400 * 1e6)},
    )
    keys = ("n", "y", "y_sq", "x", "x_sq", "xy")
    return {r[0]: dict(zip(keys, map(float, r[1:]), strict=True)) for r in rows}


# -- the per-unit table, cached ------------------------------------------------------------------
# Most of an analysis is the per-unit query; the statistics run on its few per-variant sums. A
# DuckDB workspace keeps the per-unit rows of its last UNIT_CACHE_SIZE queries in tables
# `_pab_units_<key>`, so re-analysing (other options, a dashboard's redraw, a reopened file)
# skips the query. The key hashes the SQL, its parameters and the data version (imports and
# row counts of the event tables), so a load or a changed experiment never reads stale rows.
UNIT_CACHE_SIZE = 4


def _data_version(ws: Any) -> list[Any]:
    return list(
        ws._fetch(
            """SELECT (SELECT coalesce(max(import_id), 0) FROM imports),
                      (SELECT count(*) FROM exposures), (SELECT count(*) FROM generations),
                      (SELECT count(*) FROM evaluations)"""
        )[0]
    )


def _unit_table(ws: Any, sql: str, params: dict[str, Any]) -> tuple[str, bool]:
    """A table holding the rows of the per-unit ``sql``: (name, is a temporary table to drop).

    Engines other than a DuckDB workspace (Spark) get a temporary table each time.
    """
    import hashlib
    import json

    if not getattr(ws, "caches_units", False):
        ws._execute(f"CREATE OR REPLACE TEMP TABLE _pab_units AS {sql}", params)
        return "_pab_units", True
    blob = json.dumps([sql, params, _data_version(ws)], default=str, sort_keys=True)
    name = "_pab_units_" + hashlib.sha256(blob.encode()).hexdigest()[:24]
    rows = ws._fetch("SELECT value FROM meta WHERE key = 'unit_cache'")
    cached = list(json.loads(rows[0][0])) if rows else []
    if not ws._fetch("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]):
        ws._execute(f"CREATE OR REPLACE TABLE {ident(name)} AS {sql}", params)
    cached = [n for n in cached if n != name] + [name]
    for old in cached[:-UNIT_CACHE_SIZE]:
        ws._execute(f"DROP TABLE IF EXISTS {ident(old)}")
    ws._execute(
        "INSERT OR REPLACE INTO meta VALUES ('unit_cache', $v)",
        {"v": json.dumps(cached[-UNIT_CACHE_SIZE:])},
    )
    return ident(name), False


# -- public ------------------------------------------------------------------------------------
def _check_options(
    exp: Experiment,
    metrics: Any,
    unit: str | None,
    alpha: float,
    method: str,
    multiple: str,
    winsorize: Any,
    correction: Any,
    cuped: Any,
) -> tuple[list[Metric], str, tuple[float, float] | None]:
    check(alpha, "alpha", gt=0, lt=1)
    one_of(method, "method", ("frequentist", "bayesian"))
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    if correction is not None:
        one_of(correction, "correction", ("holm", "bh"))
    unit = unit or exp.unit
    one_of(unit, "unit", ("user", "request"))
    ms = resolve(metrics if metrics is not None else exp.metrics)
    if unit == "request":
        bad = [m.name for m in ms if m.agg == "count"]
        if bad:
            raise InvalidArgumentError(
                f"metric {bad[0]!r} counts events per user; it has no per-request value. "
                "Use unit='user' or drop it."
            )
    w = None
    if winsorize is not None:
        try:
            lo, hi = (float(x) for x in winsorize)
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"winsorize == {winsorize!r}, must be (lower_pct, upper_pct), e.g. (0, 99)"
            ) from err
        check(lo, "winsorize[0]", ge=0, lt=100)
        check(hi, "winsorize[1]", gt=lo, le=100)
        w = (lo, hi)
    if cuped not in (False, None):
        if cuped is True:
            cuped = 14
        check(cuped, "cuped (days before exposure)", gt=0)
        if unit == "request":
            raise InvalidArgumentError("cuped needs unit='user' (a pre-exposure value per user)")
    return ms, unit, w


def _no_quantile(m: Metric) -> None:
    if m.kind == "quantile":
        raise InvalidArgumentError(
            f"metric {m.name!r} is a quantile over events; it has no per-unit or cumulative "
            f"value here. Use the mean metric of the same column (e.g. 'latency')."
        )


def _check_flag(exp: Experiment) -> None:
    if not exp.flag_key:
        return
    if exp.ws._fetch("SELECT 1 FROM exposures WHERE flag_key = ? LIMIT 1", [exp.flag_key]):
        return
    flags = [
        r[0]
        for r in exp.ws._fetch(
            "SELECT flag_key FROM exposures GROUP BY flag_key ORDER BY count(*) DESC LIMIT 10"
        )
    ]
    raise NotFoundError(
        f"no exposures for flag {exp.flag_key!r} of experiment {exp.name!r}; "
        + (
            f"flags in the workspace: {', '.join(flags)}"
            if flags
            else "the workspace has no $feature_flag_called events: load an export first"
        )
    )


def analyze(
    exp: Experiment,
    metrics: Sequence[str | Metric] | str | Metric | None = None,
    *,
    unit: Literal["user", "request"] | None = None,
    method: Literal["frequentist", "bayesian"] = "frequentist",
    alpha: float = 0.05,
    relative: bool = True,
    cuped: bool | float = False,
    winsorize: tuple[float, float] | None = None,
    correction: Literal["holm", "bh"] | None = None,
    sequential: bool = False,
    multiple: Literal["exclude", "first_seen"] = "exclude",
    start: Any = None,
    end: Any = None,
    prior: Any = None,
) -> ExperimentResult:
    """Compare every treatment with the control on each metric.

    The per-unit rows are kept in the workspace (the last few queries, see ``_unit_table``), so
    analysing again with other options, or after reopening a file workspace, skips the heavy
    query; a load or a change of the experiment makes a new key.

    Parameters
    ----------
    metrics
        Names of built-in metrics (``cost``, ``latency``, ``error_rate``, ``pass_rate``,
        ``tokens_out``, ``tokens_in``, ``requests``) or :class:`Metric` objects; default the
        experiment's metrics, else cost, latency, error_rate and pass_rate.
    unit
        ``"user"`` (default: the experiment's unit): per-user values, Welch for means and the
        delta method for rates; ``"request"``: each generation/evaluation is a unit, Welch for
        means and Fisher's exact test for rates.
    method
        ``"frequentist"`` or ``"bayesian"`` (adds chance to win and expected loss).
    alpha
        Two-sided significance level; CIs are ``1 − alpha``.
    relative
        Also report the relative difference (treatment / control − 1, delta method).
    cuped
        ``True`` (14 days) or a number of days before exposure used as the covariate.
    winsorize
        ``(lower_pct, upper_pct)`` percentiles pooled over all arms, applied to per-unit values.
    correction
        ``"holm"`` or ``"bh"`` across all metric × treatment comparisons.
    sequential
        Report always-valid p-values and confidence sequences (safe to peek).
    multiple
        ``"exclude"`` units exposed to two variants, or keep their ``"first_seen"`` variant.
    start, end
        Only exposures and events in ``[start, end)`` (UTC).

    Returns
    -------
    ExperimentResult
        One row per (metric, variant) plus health checks; ``to_pandas()`` for a frame.

    Raises
    ------
    NotFoundError
        The experiment's flag has no exposures in the workspace.
    InvalidArgumentError
        An unknown metric or an option out of range.
    """
    from . import _analysis_stats as S
    from .experiments import _as_utc

    ms, unit, wins = _check_options(
        exp, metrics, unit, alpha, method, multiple, winsorize, correction, cuped
    )
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    _check_flag(exp)
    ws = exp.ws
    params = _params(exp, start, end, multiple)
    with ws._lock:
        table, temporary = _unit_table(ws, _per_unit_sql(exp, ms), params)
        try:
            counts = dict(ws._fetch(f"SELECT variant, count(*) FROM {table} GROUP BY variant"))
            multi = ws._fetch(f"SELECT count(*) FROM {table} WHERE multi")[0][0]
            moments = {}
            for i, m in enumerate(ms):
                if m.kind == "quantile":
                    moments[m.name] = ("quantile", _quantile_values(ws, exp, m, params))
                elif unit == "request":
                    moments[m.name] = ("request", _moments_request(ws, exp, m, params))
                elif cuped not in (False, None) and m.kind == "mean":
                    days = 14.0 if cuped is True else float(cuped)
                    moments[m.name] = ("cuped", _cuped_moments(ws, exp, m, params, days, table, i))
                else:
                    moments[m.name] = ("user", _moments_user(ws, table, m, i, wins))
        finally:
            if temporary:
                ws._execute(f"DROP TABLE IF EXISTS {table}")
    health = S.health(exp, counts, multi, multiple)
    return S.build_result(
        exp,
        ms,
        moments,
        health,
        unit=unit,
        method=method,
        alpha=alpha,
        relative=relative,
        cuped=cuped,
        winsorize=wins,
        correction=correction,
        sequential=sequential,
        multiple=multiple,
        start=start,
        end=end,
        prior=prior,
    )


def assigned_units(exp: Experiment, *, multiple: str = "exclude") -> pd.DataFrame:
    """One row per exposed unit: ``unit, variant, first_exposure, variants_seen``."""
    one_of(multiple, "multiple", ("exclude", "first_seen"))
    params = _params(exp, None, None, multiple)
    exposed = _EXPOSED_BY_FLAG if exp.flag_key else _EXPOSED_BY_VERSION
    return exp.ws.sql(
        f"""WITH exposed AS ({exposed}), assigned AS ({_ASSIGNED})
            SELECT a.unit, a.variant, a.first_ts AS first_exposure,
                   (SELECT count(DISTINCT variant) FROM exposed x WHERE x.unit = a.unit) AS variants_seen
            FROM assigned a ORDER BY a.first_ts, a.unit""",
        params,
    )


def unit_values(
    exp: Experiment,
    metric: str | Metric,
    *,
    multiple: str = "exclude",
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """Per-unit values of one metric: ``unit, variant, value`` (``num``/``den`` for rates).

    Units without events are included with 0 for sum and count metrics and left out for mean and
    rate metrics (their value is undefined). ``$multiple`` units are excluded.
    """
    from .experiments import _as_utc

    (m,) = resolve([metric])
    _no_quantile(m)
    params = _params(exp, _as_utc(start, "start"), _as_utc(end, "end"), multiple)
    inner = _per_unit_sql(exp, [m])
    value = "n0 / d0" if m.agg in ("mean", "rate") else "n0"
    return exp.ws.sql(
        f"""SELECT unit, variant, {value} AS value, n0 AS num, d0 AS den
            FROM ({inner}) WHERE variant <> '{MULTIPLE}' AND d0 > 0 ORDER BY variant, unit""",
        params,
    )


def analyze_over_time(
    exp: Experiment,
    metric: str | Metric,
    *,
    freq: Literal["day", "hour", "week"] = "day",
    alpha: float = 0.05,
    relative: bool = True,
    multiple: Literal["exclude", "first_seen"] = "exclude",
) -> Any:
    """Cumulative estimate, CI and p-value at the end of each period, from cumulative
    sufficient statistics computed in one query (units exposed and events seen by then)."""
    from . import _analysis_stats as S

    one_of(freq, "freq", ("day", "hour", "week"))
    check(alpha, "alpha", gt=0, lt=1)
    (m,) = resolve([metric])
    _no_quantile(m)
    _check_flag(exp)
    params = _params(exp, None, None, multiple)
    params["freq"] = freq
    alias = "gen" if m.source == "generations" else "ev"
    num, den = _per_unit_columns(m, "e")
    # Same populations as analyze(): per-unit means need an event; sums and ratios count every
    # exposed unit (their zeros add nothing to the sums).
    if m.agg == "mean":
        units = "d > 0"
        moments = "sum(n / d) FILTER (WHERE d > 0), sum((n / d) ^ 2) FILTER (WHERE d > 0)"
    else:
        units, moments = "true", "sum(n), sum(n * n)"
    sql = f"""
    {_ctes(exp, [m])},
    periods AS (
        SELECT unnest(generate_series(date_trunc($freq, min(first_ts)), date_trunc($freq, max(g_max)),
                                      CAST('1 ' || $freq AS INTERVAL))) AS p
        FROM assigned, (SELECT max(ts) AS g_max FROM {alias})
    ),
    ev_p AS (SELECT unit, date_trunc($freq, ts) AS p, {num} AS n, {den} AS d
             FROM {alias} e GROUP BY ALL),
    grid AS (
        SELECT a.unit, a.variant, pr.p FROM assigned a JOIN periods pr
          ON date_trunc($freq, a.first_ts) <= pr.p WHERE a.variant <> '{MULTIPLE}'
    ),
    cum AS (
        SELECT g.unit, g.variant, g.p,
               sum(coalesce(ev_p.n, 0)) OVER w AS n,
               sum(coalesce(ev_p.d, 0)) OVER w AS d
        FROM grid g LEFT JOIN ev_p USING (unit, p)
        WINDOW w AS (PARTITION BY g.unit ORDER BY g.p)
    )
    SELECT p + CAST('1 ' || $freq AS INTERVAL) AS period_end, variant,
           count(*) FILTER (WHERE {units}) AS units, {moments},
           sum(d), sum(d * d), sum(n * d), count(*) AS exposed
    FROM cum GROUP BY ALL ORDER BY period_end, variant
    """
    rows = exp.ws._fetch(sql, params)
    return S.over_time(exp, m, rows, alpha=alpha, relative=relative, freq=freq)


__all__ = ["analyze", "analyze_over_time", "assigned_units", "unit_values"]
