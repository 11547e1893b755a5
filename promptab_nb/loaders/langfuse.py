"""Langfuse exports → generations (observations) and evaluations (scores).

Observations (public API v2 ``ObservationV2`` or v1 ``ObservationsView``; JSON, JSON lines or CSV):
``latency`` and ``timeToFirstToken`` are seconds (given, they win over ``endTime`` /
``completionStartTime`` − ``startTime``), the prompt version is ``(promptName,
promptVersion)``, tokens are Langfuse's input / output usage (the sum of the ``usageDetails`` keys
starting with ``input`` / ``output``, as cached and reasoning tokens are buckets of their own
there; or v1 ``usage``), the cache tokens among them are ``cache_read_tokens`` /
``cache_write_tokens`` (counted in the input tokens: ``cache_in_input``; Anthropic's own
``cache_read_input_tokens`` / ``cache_creation_input_tokens``, which Langfuse leaves out of the
input, are stored as not counted in it), so ``cost="recompute"`` prices them at the cache
rates; cost is ``costDetails.total`` / ``totalCost`` (the deprecated
``calculatedTotalCost`` last; the 0 Langfuse writes beside an empty ``costDetails`` for a model
it has no price for is no cost, NULL) and an error is ``level == "ERROR"``. Only ``GENERATION``
observations are generations; other types are rejected ("observation type not used"). Scores
(BOOLEAN / NUMERIC) become evaluations whose target is ``observationId``; CATEGORICAL scores are
rejected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .._sql import ident
from ..errors import DataError, InvalidArgumentError, MissingColumnError
from . import _files
from ._context import Con, Input, LoadContext, sql_str
from ._load import load_all, loader_call, prepare_paths
from ._read import key, nested, read_records, record_keys, record_source
from ._report import LoadReport
from ._shape import not_object, not_scalar, path
from ._stage import Field, Staged, typed_stage, whole_number_text

_OBS_KEYS = (
    "id", "traceId", "type", "startTime", "endTime", "completionStartTime", "userId", "name",
    "level", "statusMessage", "providedModelName", "model", "usageDetails", "usage",
    "costDetails", "totalCost", "calculatedTotalCost", "promptName", "promptVersion", "latency",
    "timeToFirstToken", "promptTokens", "completionTokens",
)  # fmt: skip

_SCORE_KEYS = (
    "id", "traceId", "observationId", "name", "value", "stringValue", "dataType", "timestamp",
)  # fmt: skip


def _seconds_between(a: str, b: str, unless: str) -> str:
    """SQL text of ``b − a`` in seconds (two date-time keys), NULL when key ``unless`` (the
    duration Langfuse gives itself) is present: that one wins, so the difference is not checked
    (an endTime before startTime beside a valid latency is clock skew, not a bad row)."""
    given = f"nullif(trim({key(unless)}), '')"
    diff = (
        f"CAST(epoch(TRY_CAST({key(b)} AS TIMESTAMPTZ)) - epoch(TRY_CAST({key(a)} AS TIMESTAMPTZ))"
        " AS VARCHAR)"
    )
    return f"CASE WHEN {given} IS NULL THEN {diff} END"


def _unless_given(time: str, duration: str) -> str:
    """SQL text of date-time key ``time``, NULL when key ``duration`` is given (it wins)."""
    return f"CASE WHEN nullif(trim({key(duration)}), '') IS NULL THEN {key(time)} END"


def _json_object(text: str) -> str:
    """SQL of JSON text ``text`` when it is a JSON object, else NULL. Safe to nest in any
    expression: DuckDB may evaluate a repeated subexpression for every row, outside the CASE
    that guards it, so a JSON function must never see text that is not JSON."""
    valid = f"CASE WHEN json_valid({text}) THEN {text} END"
    return f"CASE WHEN json_type({valid}) = 'OBJECT' THEN {valid} END"


# The (key, value) entries of usageDetails with a value, parsed once per row (each sum below
# filters them).
_USAGE_ENTRIES = (
    "list_filter(map_entries(json_transform("
    f"{_json_object(key('usageDetails'))}, '\"MAP(VARCHAR, VARCHAR)\"')), "
    "lambda e: e.value IS NOT NULL)"
)


def _obs_source(ctx: LoadContext) -> str:
    """The observation records with their usage entries (``_usage_entries``)."""
    return (
        f"(SELECT r.*, {_USAGE_ENTRIES} AS _usage_entries FROM {record_source(ctx, _OBS_KEYS)} r)"
    )


def _usage_sum(keep: Callable[[str], str]) -> str:
    """SQL text of the sum of the ``usageDetails`` values whose key passes ``keep`` (SQL of a
    condition on the key's SQL). NULL without such a key; the first value that is not a number
    when there is one (so the row is rejected, not summed without it)."""
    entries = f"list_filter(_usage_entries, lambda e: {keep('e.key')})"
    bad = f"list_filter({entries}, lambda e: TRY_CAST(e.value AS DOUBLE) IS NULL)"
    total = f"list_sum(list_transform({entries}, lambda e: CAST(e.value AS DOUBLE)))"
    return f"""CASE WHEN len({entries}) = 0 THEN NULL
                    WHEN len({bad}) > 0 THEN {bad}[1].value
                    ELSE CAST({total} AS VARCHAR) END"""


def _usage(prefix: str) -> str:
    """SQL text of Langfuse's input or output usage of ``usageDetails``: the sum of its keys
    starting with ``prefix`` (``"input"`` / ``"output"``), as Langfuse computes its ``inputUsage``
    / ``outputUsage`` (v1 ``usage.input``). Its SDKs keep the buckets apart: cached tokens are
    moved out of ``input`` into ``input_cached_tokens``, reasoning tokens out of ``output`` into
    ``output_reasoning_tokens``. NULL without such a key; the first value that is not a number
    when there is one (so the row is rejected, not summed without it)."""
    return _usage_sum(lambda k: f"starts_with({k}, {sql_str(prefix)})")


def _is_cache_write(k: str) -> str:
    """SQL: key ``k`` names cache writes (``input_cache_creation``, ``_5m`` / ``_1h`` too,
    ``input_cache_write``, Anthropic's ``cache_creation_input_tokens``)."""
    return f"regexp_matches(lower({k}), 'cache_?(creation|write)')"


def _cache_usage(write: bool, inside: bool) -> str:
    """SQL text of the cache reads (``write`` false) or writes of ``usageDetails``, in tokens:
    the sum of its keys naming the cache and the input. ``inside``: the keys Langfuse counts in
    the input usage (they start with ``input``: the Python SDK's ``input_cached_tokens``,
    LangChain's ``input_cache_read`` / ``input_cache_creation``); else the keys it leaves out of
    it (Anthropic's own ``cache_read_input_tokens`` / ``cache_creation_input_tokens``, passed
    through as they are). NULL without such a key."""

    def keep(k: str) -> str:
        start = f"starts_with({k}, 'input')"
        where = start if inside else f"NOT {start} AND contains(lower({k}), 'input')"
        kind = _is_cache_write(k) if write else f"NOT {_is_cache_write(k)}"
        return f"({where} AND contains(lower({k}), 'cache') AND {kind})"

    return _usage_sum(keep)


# Cache tokens: those Langfuse counts in the input usage when there are any (then input_tokens
# counts them: cache_in_input), else those it leaves out (input_tokens does not count them).
_CACHE_INSIDE = f"coalesce({_cache_usage(False, True)}, {_cache_usage(True, True)}) IS NOT NULL"
_CACHE_READ = (
    f"CASE WHEN {_CACHE_INSIDE} THEN {_cache_usage(False, True)} "
    f"ELSE {_cache_usage(False, False)} END"
)
_CACHE_WRITE = (
    f"CASE WHEN {_CACHE_INSIDE} THEN {_cache_usage(True, True)} "
    f"ELSE {_cache_usage(True, False)} END"
)


def _v1_tokens(text: str) -> str:
    """SQL of a v1 usage count ``text`` when its ``usage.unit`` is tokens (or not given), else
    NULL: the characters of a text-to-speech call or the seconds of a transcription are not
    tokens (``promptTokens`` / ``completionTokens`` repeat ``usage`` whatever its unit)."""
    unit = f"upper(trim({nested(key('usage'), '$.unit')}))"
    return f"CASE WHEN coalesce({unit}, 'TOKENS') = 'TOKENS' THEN {text} END"


_TOTAL_COST = f"coalesce({key('totalCost')}, {key('calculatedTotalCost')})"
_NO_COST_DETAILS = f"coalesce(len(json_keys({_json_object(key('costDetails'))})) = 0, false)"
# Langfuse's totalCost is ``costDetails.total ?? 0``: a generation of a model it has no price for
# has costDetails {} and totalCost 0, which is an unknown cost, not a free call (NULL, not 0).
_COST = f"""CASE WHEN {nested(key("costDetails"), "$.total")} IS NOT NULL
                 THEN {nested(key("costDetails"), "$.total")}
                 WHEN {_NO_COST_DETAILS} AND TRY_CAST({_TOTAL_COST} AS DOUBLE) = 0 THEN NULL
                 ELSE {_TOTAL_COST} END"""

_OBS_FIELDS = [
    Field("id", key("id"), "id", "id"),
    Field("type", f"upper({key('type')})", "text", "type"),
    Field("ts", key("startTime"), "ts", "startTime", required=True),
    Field("trace_id", key("traceId"), "id", "traceId"),
    Field("user_id", key("userId"), "id", "userId"),
    Field("prompt_name", key("promptName"), "text", "promptName"),
    # An integer; 3.0 (a file written through pandas, whose column with gaps is float) is "3".
    Field(
        "prompt_version", whole_number_text(key("promptVersion")),
        "text", "promptVersion",
    ),
    Field("model", f"coalesce({key('providedModelName')}, {key('model')})", "text", "model"),
    Field("latency", key("latency"), "double", "latency"),
    Field(
        "latency_calc", _seconds_between("startTime", "endTime", "latency"), "double", "endTime"
    ),
    Field("ttft", key("timeToFirstToken"), "double", "timeToFirstToken"),
    Field(
        "ttft_calc", _seconds_between("startTime", "completionStartTime", "timeToFirstToken"),
        "double", "completionStartTime",
    ),
    # Checked only: a time that is not one gave no latency, without a word.
    Field("end", _unless_given("endTime", "latency"), "ts", "endTime"),
    Field("first", _unless_given("completionStartTime", "timeToFirstToken"), "ts",
          "completionStartTime"),
    Field(
        "input_tokens",
        f"coalesce({_usage('input')}, {_v1_tokens(nested(key('usage'), '$.input'))}, "
        f"{_v1_tokens(key('promptTokens'))})",
        "bigint", "usageDetails.input",
    ),
    Field(
        "output_tokens",
        f"coalesce({_usage('output')}, {_v1_tokens(nested(key('usage'), '$.output'))}, "
        f"{_v1_tokens(key('completionTokens'))})",
        "bigint", "usageDetails.output",
    ),
    Field("cache_read", _CACHE_READ, "bigint", "usageDetails (cache reads)"),
    Field("cache_write", _CACHE_WRITE, "bigint", "usageDetails (cache writes)"),
    Field("cache_inside", f"CAST({_CACHE_INSIDE} AS VARCHAR)", "bool", "usageDetails"),
    Field("cost_usd", _COST, "double", "totalCost"),
    Field("level", f"upper({key('level')})", "text", "level"),
    # Checked only (_OBS_CHECKS), as text.
    Field("usage_details", key("usageDetails"), "text", "usageDetails"),
    Field("cost_details", key("costDetails"), "text", "costDetails"),
    Field("usage_v1", key("usage"), "text", "usage"),
]  # fmt: skip


def _broken_object(col: str) -> str:
    """SQL: text ``col`` starts like a JSON object or list but is not JSON."""
    return f"(regexp_matches({col}, '^\\s*[{{\\[]') AND NOT json_valid({col}))"


# An object that is not JSON (a CSV written from Python dicts holds "{'input': 10}") would load
# as no tokens and no cost with no reject saying why; a plain text ("n/a") is an unknown usage.
_OBS_CHECKS = [
    # (a JSON object or list read as text loaded as an id or a version of its own; see _shape)
    *[c for f, k in (("id", "id"), ("trace_id", "traceId"), ("user_id", "userId"))
      for c in not_scalar(f, k, path(k), kind="id")],
    *[c for f, k in (("prompt_name", "promptName"), ("prompt_version", "promptVersion"),
                     ("level", "level")) for c in not_scalar(f, k, path(k))],
    *not_scalar("model", "model", path("providedModelName"), path("model")),
    *(not_object(f, k) for f, k in (("usage_details", "usageDetails"),
                                    ("cost_details", "costDetails"), ("usage_v1", "usage"))),
    ("trace_id IS NULL AND user_id IS NULL", "traceId", "traceId and userId are missing"),
    *(
        (_broken_object(col), name, f"{name} is not valid JSON")
        for col, name in (
            ("usage_details", "usageDetails"), ("cost_details", "costDetails"), ("usage_v1", "usage"),
        )
    ),
]  # fmt: skip

_OBS_SELECT = [
    "coalesce(id, md5(raw)) AS uuid", "ts", "coalesce(user_id, trace_id) AS distinct_id",
    "NULL::VARCHAR AS person_id", "trace_id", "prompt_name", "prompt_version", "model",
    "NULL::VARCHAR AS provider", "coalesce(latency, latency_calc) AS latency_s",
    "coalesce(ttft, ttft_calc) AS ttft_s", "input_tokens", "output_tokens", "cost_usd",
    "coalesce(level = 'ERROR', false) AS is_error", "NULL::INTEGER AS http_status",
    "NULL::VARCHAR AS variant", "CAST(raw AS JSON) AS properties",
    "cache_read AS cache_read_tokens", "cache_write AS cache_write_tokens",
    "CASE WHEN cache_read IS NOT NULL OR cache_write IS NOT NULL THEN cache_inside END"
    " AS cache_in_input",
]  # fmt: skip

_SCORE_FIELDS = [
    Field("id", key("id"), "id", "id"),
    Field("ts", key("timestamp"), "ts", "timestamp", required=True),
    Field("trace_id", key("traceId"), "id", "traceId"),
    Field("target", key("observationId"), "id", "observationId"),
    Field("name", key("name"), "text", "name", required=True),
    Field("data_type", f"upper(coalesce({key('dataType')}, 'NUMERIC'))", "text", "dataType"),
    Field("value", key("value"), "double", "value", nonneg=False),
    Field("string_value", key("stringValue"), "text", "stringValue"),
]


def _score_source(ctx: LoadContext) -> str:
    """The score records with the user of the scored generation (``observationId``), else of
    the generations of the scored trace when they name one user: a trace score (no
    observationId) counts under the trace's user, not under the trace id, which matches no
    exposed user. Generations loaded earlier or in the same call are seen."""
    rec = ctx.t("rec")
    return f"""(
    SELECT r.*, coalesce(g.distinct_id, t.distinct_id) AS _gen_distinct_id,
           coalesce(g.person_id, t.person_id) AS _gen_person_id
    FROM {record_source(ctx, _SCORE_KEYS)} r
    LEFT JOIN generations g ON g.uuid = r.p['observationId']
    LEFT JOIN (
        SELECT trace_id, min(distinct_id) AS distinct_id, min(person_id) AS person_id
        FROM generations
        WHERE trace_id IN (SELECT json_extract_string(rec, '$.traceId') FROM {rec}
                           WHERE bad_col IS NULL)
        GROUP BY trace_id
        HAVING count(DISTINCT distinct_id) = 1 AND count(DISTINCT person_id) <= 1
    ) t ON t.trace_id = r.p['traceId']
)"""


_BOOL_TEXT = "lower(coalesce(string_value, CAST(value AS VARCHAR)))"
_SCORE_SELECT = [
    "coalesce(id, md5(raw)) AS uuid", "ts",
    # Scores carry no user: take the scored generation's or trace's (_score_source), else the
    # trace id.
    "coalesce(_gen_distinct_id, trace_id) AS distinct_id", "_gen_person_id AS person_id",
    "target AS target_uuid", "trace_id", "name",
    f"""CASE WHEN data_type = 'BOOLEAN' THEN {_BOOL_TEXT} IN ('1', '1.0', 'true')
             WHEN $threshold IS NOT NULL THEN value >= $threshold END AS passed""",
    "true AS applicable", "value AS score",
]  # fmt: skip

_SCORE_CHECKS = [
    *[c for f, k in (("id", "id"), ("trace_id", "traceId"), ("target", "observationId"))
      for c in not_scalar(f, k, path(k), kind="id")],
    *[c for f, k in (("name", "name"), ("data_type", "dataType")) for c in not_scalar(f, k, path(k))],
    ("trace_id IS NULL AND target IS NULL", "traceId", "traceId and observationId are missing"),
    (
        "data_type NOT IN ('BOOLEAN', 'NUMERIC')", "dataType",
        "dataType is not BOOLEAN or NUMERIC (categorical scores are not used)",
    ),
    (
        f"data_type = 'BOOLEAN' AND {_BOOL_TEXT} NOT IN ('0', '0.0', '1', '1.0', 'true', 'false')",
        "value", "BOOLEAN score value is not 0/1",
    ),
    ("data_type = 'NUMERIC' AND value IS NULL", "value", "value is missing"),
]  # fmt: skip


def _require(con: Con, ctx: LoadContext, item: Input, kind: str, rows_read: int) -> None:
    """A file of the other kind, or of another tool, is an error naming what it holds: every
    row of it would be rejected ("startTime is missing"), leaving an import of junk. So is a
    file without records (an empty ``data`` list, a header-only CSV): it loaded as 0 rows."""
    if not rows_read:
        raise DataError(
            f"{item.name}: holds no Langfuse {kind} (an empty list, or a CSV with only its "
            f"header). Check the export's filters and project, export the {kind} again "
            f"(GET /api/public/v2/{kind}), or leave this file out."
        )
    present = record_keys(con, ctx)
    need = ("startTime",) if kind == "observations" else ("name", "timestamp")
    missing = [k for k in need if k not in present]
    # snake_case ids and no camelCase one: a blob-storage export, even when the keys checked
    # (a score's name and timestamp) read the same in both shapes.
    blob = bool({"start_time", "observation_id", "data_type"} & present) and not (
        {"startTime", "traceId", "observationId", "dataType"} & present
    )
    if blob and not missing:
        missing = ["traceId"]
    if not present or not missing:
        return
    found = ", ".join(sorted(present))
    looks_scores = {"name", "value", "timestamp"} <= present and "startTime" not in present
    hint = (
        "it looks like a Langfuse blob-storage export (snake_case fields such as start_time), "
        "which promptab_nb does not read: export the observations / scores through the public "
        "API (camelCase JSON: GET /api/public/v2/observations, /api/public/v2/scores)"
        if blob
        else "it looks like a scores export: pass it as scores="
        if kind == "observations" and looks_scores
        else "it looks like an observations export: pass it as the first argument"
        if kind == "scores" and "startTime" in present
        else f"use a Langfuse {kind} export (CSV, JSON or JSON lines)"
    )
    raise MissingColumnError(f"{item.name} has no key {missing[0]!r} (found: {found}); {hint}.")


# The user of the Langfuse evaluations that target, or score the trace of, an observation of
# ``{stage}``, by the rule of _score_source over the generations loaded and those this file
# adds (the first row of each uuid not loaded yet, as insert_by_uuid keeps): a score loaded
# before its observations took its trace id, and must not keep it once they arrive, or load
# order would change the analysis.
_RESOLVE_SCORES = """
UPDATE evaluations SET distinct_id = n.distinct_id, person_id = n.person_id
FROM (
    WITH new AS (
        SELECT uuid, trace_id, distinct_id, person_id FROM {stage} s
        WHERE bad_col IS NULL AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.uuid = s.uuid)
        QUALIFY row_number() OVER (PARTITION BY uuid ORDER BY source_row) = 1
    ), gens AS (
        SELECT uuid, trace_id, distinct_id, person_id FROM generations
        UNION ALL SELECT * FROM new
    ), scored AS (
        SELECT e.uuid, e.target_uuid, e.trace_id
        FROM evaluations e JOIN imports i ON i.import_id = e.import_id
        WHERE i.source = 'langfuse'
          AND (e.target_uuid IN (SELECT uuid FROM new)
               OR e.trace_id IN (SELECT trace_id FROM {stage} WHERE bad_col IS NULL))
    ), traces AS (
        SELECT trace_id, min(distinct_id) AS distinct_id, min(person_id) AS person_id
        FROM gens WHERE trace_id IN (SELECT trace_id FROM scored)
        GROUP BY trace_id
        HAVING count(DISTINCT distinct_id) = 1 AND count(DISTINCT person_id) <= 1
    )
    SELECT s.uuid, coalesce(g.distinct_id, t.distinct_id, s.trace_id) AS distinct_id,
           coalesce(g.person_id, t.person_id) AS person_id
    FROM scored s
    LEFT JOIN gens g ON g.uuid = s.target_uuid
    LEFT JOIN traces t ON t.trace_id = s.trace_id
) n
WHERE evaluations.uuid = n.uuid
  AND (evaluations.distinct_id IS DISTINCT FROM n.distinct_id
       OR evaluations.person_id IS DISTINCT FROM n.person_id)
"""

_HAS_SCORES = """
SELECT 1 FROM evaluations e JOIN imports i ON i.import_id = e.import_id
WHERE i.source = 'langfuse' LIMIT 1
"""


def _stage_observations(con: Con, ctx: LoadContext, item: Input) -> Staged:
    rows_read = read_records(con, ctx, item)
    _require(con, ctx, item, "observations", rows_read)
    stage = ctx.stage("generations")
    sql = typed_stage(
        stage,
        _obs_source(ctx),
        _OBS_FIELDS,
        _OBS_SELECT,
        _OBS_CHECKS,
        first_checks=[
            (
                "coalesce(type, 'GENERATION') <> 'GENERATION'", "type",
                "observation type not used by promptab_nb (only GENERATION)",
            )
        ],
    )  # fmt: skip
    con.execute(sql)
    if con.execute(_HAS_SCORES).fetchall():
        con.execute(_RESOLVE_SCORES.format(stage=ident(stage)))
    return Staged(rows_read=rows_read, stages={"generations": stage})


def _stage_scores(con: Con, ctx: LoadContext, item: Input, threshold: float | None) -> Staged:
    rows_read = read_records(con, ctx, item)
    _require(con, ctx, item, "scores", rows_read)
    stage = ctx.stage("evaluations")
    sql = typed_stage(
        stage,
        _score_source(ctx),
        _SCORE_FIELDS,
        _SCORE_SELECT,
        _SCORE_CHECKS,
        keep=("_gen_distinct_id", "_gen_person_id"),
    )
    con.execute(sql, {"threshold": threshold})
    return Staged(rows_read=rows_read, stages={"evaluations": stage})


def _threshold(value: Any) -> float | None:
    """``pass_threshold`` as a float; anything but a finite real number (bool is not one) is an
    InvalidArgumentError: NaN or inf would fail every NUMERIC score silently."""
    if value is None:
        return None
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if real and math.isfinite(float(value)):
        return float(value)
    raise InvalidArgumentError(
        f"pass_threshold == {value!r}, must be a finite number in the scores' own scale (e.g. "
        "0.7 for a 0..1 score), or None to leave NUMERIC scores without a pass/fail."
    )


def load_langfuse(
    ws: Any,
    observations: _files.Paths | None = None,
    *,
    scores: _files.Paths | None = None,
    pass_threshold: float | None = None,
    progress: bool = True,
) -> LoadReport:
    """Load Langfuse observations and/or scores exports, atomically and idempotently.

    Parameters
    ----------
    ws
        The workspace.
    observations
        Observations export(s): JSON (an array or an API page ``{"data": [...]}``), JSON lines or
        CSV; a list, directory or glob. Loaded first, so scores can take their generation's user.
    scores
        Scores export(s) in the same formats → ``evaluations`` (``observationId`` → target).
        A score's user is its generation's, else that of its trace's generations when they
        name one user, else the trace id. Observations loaded later give the scores loaded
        before them their user by the same rule (in the same transaction), so the load order
        does not change the analysis.
    pass_threshold
        NUMERIC scores pass when ``value >= pass_threshold`` (in the score's own scale, e.g.
        ``0.7`` for a 0..1 faithfulness score); without it their ``passed`` is null, so they
        stay out of ``pass_rate`` (the value is kept in ``evaluations.score``). BOOLEAN scores
        pass when the value is 1 (``stringValue`` "True"), whatever the threshold. ``pass_rate``
        is the share of every applicable evaluation that passes, all score names pooled: load
        only the scores you want in it.
    progress
        Show a progress bar when loading several files.

    Returns
    -------
    LoadReport
        Latency and time to first token in seconds: ``latency`` (``timeToFirstToken``) when
        given, else ``endTime − startTime`` (``completionStartTime − startTime``). A given value
        wins and the times are then not checked (an endTime before startTime beside a valid
        latency loads); a given value that is not a number >= 0 rejects the row, as do times
        giving a negative difference when no value is given. Cost in USD (NULL for an unpriced
        generation: ``costDetails`` {} and ``totalCost`` 0), ``is_error = level == "ERROR"``;
        input / output tokens are the sums of the ``usageDetails`` keys starting with ``input``
        / ``output`` (Langfuse's input / output usage), the input's cache buckets (e.g.
        ``input_cached_tokens``, ``input_cache_read``, ``input_cache_creation``) also stored in
        ``cache_read_tokens`` / ``cache_write_tokens`` (NULL when the export has none);
        ``distinct_id`` is ``userId`` else ``traceId``. A ``usageDetails`` / ``costDetails`` /
        ``usage`` that starts like a JSON object but is not JSON (``{'input': 10}``) or is a
        JSON list rejects the row, as do an id, name, version, model or level that is a JSON
        object or list (an id true/false) and an ``endTime`` / ``completionStartTime`` that is
        not a date-time (when no ``latency`` / ``timeToFirstToken`` is given).

    Raises
    ------
    InvalidArgumentError
        Neither ``observations`` nor ``scores`` is given, or ``pass_threshold`` is not a finite
        number.
    DataError
        A file is empty or holds no records (``{"data": []}``, a header-only CSV), is not
        UTF-8, truncated or unreadable (nothing is loaded).
    """
    if observations is None and scores is None:
        raise InvalidArgumentError("pass observations= and/or scores= (paths of the export).")
    threshold = _threshold(pass_threshold)
    if threshold is not None and scores is None:
        raise InvalidArgumentError(
            "pass_threshold applies to NUMERIC scores: pass the scores export with scores= "
            "(or leave pass_threshold out)."
        )
    fmts = ("csv", "json", "jsonl")
    obs_rows = (
        prepare_paths(observations, source="langfuse", formats=fmts)
        if observations is not None
        else []
    )
    score_rows = (
        prepare_paths(scores, source="langfuse", formats=fmts) if scores is not None else []
    )
    score_names = {r[0] for r in score_rows}

    def stage(con: Con, ctx: LoadContext, item: Input) -> Staged:
        if item.name in score_names:
            return _stage_scores(con, ctx, item, threshold)
        return _stage_observations(con, ctx, item)

    call = loader_call("load_langfuse", *([observations] if observations is not None else []),
                       scores=scores, pass_threshold=threshold)  # fmt: skip
    return load_all(ws, obs_rows + score_rows, source="langfuse", stage=stage, progress=progress,
                    call=call)  # fmt: skip
