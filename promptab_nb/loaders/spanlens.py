"""Spanlens request exports (CSV / JSON / JSON lines) → generations.

The export has ``id, project_id, provider, model, prompt_tokens, completion_tokens, total_tokens,
cost_usd, latency_ms, status_code, error_message, trace_id, created_at`` but no prompt version, so
the arm comes from a column the user names (``arm_column=``) or from a frame joined on
``trace_id`` (``arms=``). Extra columns of the requests table (``prompt_version_id``, ``user_id``,
``time_to_first_token_ms``, ``cache_read_tokens`` / ``cache_write_tokens``: prompt-cache tokens
counted in ``prompt_tokens``, and ``cache_hit``: a reply served from Spanlens's opt-in proxy
response cache, with no model call, whose latency is therefore null, not its ~0 ms; its tokens
and cost are kept as logged) are used when present; the others (``session_id``, ...) are kept in
``properties`` only.
Units: ``latency_ms`` → seconds; ``status_code >= 400`` or an ``error_message`` is an error;
``cost_usd`` may be null.
"""

from __future__ import annotations

from typing import Any

from .._sql import ident, used_params
from ..errors import DataError, InvalidArgumentError, MissingColumnError
from . import _files
from ._context import Con, Input, LoadContext
from ._load import Code, load_all, loader_call, prepare_paths
from ._read import key, read_records, record_keys, record_source
from ._report import LoadReport
from ._shape import not_boolean, not_scalar, path
from ._stage import Field, Staged, is_no_id, typed_stage, whole_number_text

KEYS = (
    "id", "provider", "model", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms",
    "status_code", "error_message", "trace_id", "created_at", "prompt_version_id", "user_id",
    "time_to_first_token_ms", "cache_hit", "cache_read_tokens", "cache_write_tokens",
)  # fmt: skip


def _unescaped(x: str, csv: bool) -> str:
    """SQL of text ``x``; in CSV, with Spanlens's formula escaping undone (a leading ' before
    =+-@)."""
    if not csv:
        return x
    return f"CASE WHEN regexp_matches({x}, '^''[=+@\\t\\r-]') THEN substr({x}, 2) ELSE {x} END"


def _text(name: str, csv: bool) -> str:
    """A record's text; in CSV, undo Spanlens's formula escaping (a leading ' before =+-@)."""
    return _unescaped(key(name), csv)


def _fields(csv: bool) -> list[Field]:
    t = lambda n: _text(n, csv)  # noqa: E731
    return [
        Field("id", t("id"), "id", "id"),
        Field("ts", t("created_at"), "ts", "created_at", required=True),
        Field("trace_id", t("trace_id"), "id", "trace_id"),
        Field("user_id", t("user_id"), "id", "user_id"),
        # (a whole number written as a float, "3.0", is version "3", as in the other loaders)
        Field(
            "prompt_version",
            whole_number_text(t("prompt_version_id")),
            "text",
            "prompt_version_id",
        ),
        Field("model", t("model"), "text", "model"),
        Field("provider", t("provider"), "text", "provider"),
        # Not required per row: a request that failed before any response has none, and is
        # still a call (of error_rate, cost); the file must have the column.
        Field("latency_s", t("latency_ms"), "double", "latency_ms", scale=0.001),
        Field(
            "ttft_s", t("time_to_first_token_ms"), "double", "time_to_first_token_ms", scale=0.001
        ),
        Field("input_tokens", t("prompt_tokens"), "bigint", "prompt_tokens"),
        Field("output_tokens", t("completion_tokens"), "bigint", "completion_tokens"),
        Field("cost_usd", t("cost_usd"), "double", "cost_usd"),
        Field("http_status", t("status_code"), "int", "status_code"),
        Field("error_message", t("error_message"), "text", "error_message"),
        # (the requests table's columns, in database dumps; see the module docstring)
        Field("cache_hit", t("cache_hit"), "bool", "cache_hit"),
        Field("cache_read", t("cache_read_tokens"), "bigint", "cache_read_tokens"),
        Field("cache_write", t("cache_write_tokens"), "bigint", "cache_write_tokens"),
    ]


# A JSON object or list read as text loaded as an id, a model or a version of its own, and an
# error_message false as an error (see _shape).
_SHAPE_CHECKS = [
    *[c for k in ("id", "trace_id", "user_id") for c in not_scalar(k, k, path(k), kind="id")],
    *[c for f, k in (("model", "model"), ("provider", "provider"),
                     ("prompt_version", "prompt_version_id")) for c in not_scalar(f, k, path(k))],
    not_boolean("error_message", "error_message", path("error_message"), what="a message"),
]  # fmt: skip


def _arms_table(con: Con, ctx: LoadContext, arms: Any) -> None:
    """``armmap(trace_id, variant)`` from a pandas/polars/Arrow frame or a dict."""
    if isinstance(arms, dict):
        import pyarrow as pa

        arms = pa.table({"trace_id": list(arms), "variant": list(arms.values())})
    # Only the two columns read are scanned: another one DuckDB cannot read (a pandas Period)
    # failed the frame.
    names = list(getattr(arms, "column_names", None) or getattr(arms, "columns", []))
    if "trace_id" in names and "variant" in names and names != ["trace_id", "variant"]:
        if type(arms).__module__.startswith("pandas"):
            arms = arms[["trace_id", "variant"]]
        else:  # polars, Arrow
            arms = arms.select(["trace_id", "variant"])
    try:
        arms_in = ident(ctx.register(con, "arms_in", arms))
    except Exception as err:
        raise InvalidArgumentError(
            f"arms must be a pandas, polars or Arrow frame with columns trace_id and variant "
            f"(got {type(arms).__name__})."
        ) from err
    try:
        found = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {arms_in}").fetchall()]
        for need in ("trace_id", "variant"):
            if need not in found:
                raise MissingColumnError(
                    f"arms has no column {need!r} (found: {', '.join(found)}). Pass a frame with "
                    "one row per trace: trace_id, variant."
                )
        # (a float column of numeric arms: 1.0 is arm "1", as the files have it)
        variant = whole_number_text(f"CAST({ident('variant')} AS VARCHAR)")
        blank = con.execute(
            f"SELECT CAST({ident('trace_id')} AS VARCHAR), {variant} FROM {arms_in} "
            f"WHERE {variant} IS NULL OR {is_no_id(variant)} LIMIT 1"
        ).fetchall()
        if blank:
            raise InvalidArgumentError(
                f"arms gives trace_id {blank[0][0]!r} no variant ({blank[0][1]!r}). Give every "
                "trace in arms its arm, or leave traces without one out of the frame (their "
                "requests are then counted as rejects: 'trace_id has no arm in arms')."
            )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {ctx.t("armmap")} AS
            SELECT CAST({ident("trace_id")} AS VARCHAR) AS trace_id,
                   min({variant}) AS variant, count(DISTINCT {variant}) AS n
            FROM {arms_in} GROUP BY 1
            """
        )
        clash = con.execute(
            f"SELECT trace_id FROM {ctx.t('armmap')} WHERE n > 1 LIMIT 1"
        ).fetchall()
        if clash:
            raise InvalidArgumentError(
                f"arms gives trace_id {clash[0][0]!r} more than one variant. A trace belongs to one "
                "arm: deduplicate the frame."
            )
    finally:
        ctx.unregister(con, "arms_in")


def _stage(
    con: Con,
    ctx: LoadContext,
    item: Input,
    arm_column: str | None,
    has_arms: bool,
    prompt_name: str | None,
) -> Staged:
    rows_read = read_records(con, ctx, item)
    if not rows_read:
        # (it loaded as 0 rows, without a word: most likely a filter that matched nothing)
        raise DataError(
            f"{item.name}: holds no Spanlens requests (an empty list, or a CSV with only its "
            "header). Check the export's filters and project, export the requests again "
            "(Requests → Export), or leave this file out."
        )
    present = record_keys(con, ctx)
    found = ", ".join(sorted(present)) or "nothing"
    for need in ("created_at", "latency_ms"):
        if present and need not in present:
            raise MissingColumnError(
                f"{item.name} has no column {need!r} (found: {found}). Use a Spanlens request "
                "export (Requests → Export)."
            )
    if present and not present & {"trace_id", "user_id"}:
        raise MissingColumnError(
            f"{item.name} has neither 'trace_id' nor 'user_id' (found: {found}); one is needed "
            "as the unit."
        )
    if arm_column is not None and present and arm_column not in present:
        raise MissingColumnError(
            f"{item.name} has no column {arm_column!r} for arm_column (found: {found}). Name the "
            "column holding the variant, or pass arms= (a frame with trace_id, variant)."
        )
    csv = item.fmt == "csv"
    fields = _fields(csv)
    params: dict[str, Any] = {"prompt_name": prompt_name}
    source = record_source(ctx, KEYS)
    checks: list[tuple[str, str, str]] = [
        *_SHAPE_CHECKS,
        ("coalesce(user_id, trace_id) IS NULL", "trace_id", "trace_id and user_id are missing"),
    ]
    if arm_column is not None:
        # The user's column name is data: it travels as a JSON-pointer parameter.
        params["arm"] = "/" + arm_column.replace("~", "~0").replace("/", "~1")
        # An "id": "null"/"undefined"/"" (an SDK's missing variant) is no arm, not one named so.
        # A whole number written as a float ("1.0", a pandas column with gaps) is arm "1".
        arm_text = whole_number_text(_unescaped("json_extract_string(raw, $arm)", csv))
        fields.append(Field("arm", arm_text, "id", "arm_column"))
        checks += not_scalar("arm", "arm_column", "$arm", kind="arm")
        checks.append(("arm IS NULL", "arm_column", 'arm column is empty (or "null"/"undefined")'))
    elif has_arms:
        source = (
            f"(SELECT r.*, a.variant AS _arm FROM {source} r "
            # the trace id as stored (unescaped in CSV), which is the one arms names
            f"LEFT JOIN {ctx.t('armmap')} a ON a.trace_id = {_text('trace_id', csv)})"
        )
        fields.append(Field("arm", "_arm", "text", "trace_id"))
        checks.append(("arm IS NULL", "trace_id", "trace_id has no arm in arms"))
    arm = "arm" if arm_column is not None or has_arms else "NULL::VARCHAR"
    select = [
        "coalesce(id, md5(raw)) AS uuid", "ts", "coalesce(user_id, trace_id) AS distinct_id",
        "NULL::VARCHAR AS person_id", "trace_id", "$prompt_name::VARCHAR AS prompt_name",
        # A reply from Spanlens's proxy response cache made no model call: its ~0 ms is not a
        # model's latency (as promptfoo's cached responses).
        "prompt_version", "model", "provider",
        "CASE WHEN cache_hit THEN NULL ELSE latency_s END AS latency_s",
        "CASE WHEN cache_hit THEN NULL ELSE ttft_s END AS ttft_s", "input_tokens",
        "output_tokens", "cost_usd",
        # An error message is an error whatever the status: a request that failed before any
        # HTTP response has status 0 (or 200, when a stream broke after its headers).
        "(coalesce(http_status >= 400, false) OR error_message IS NOT NULL) AS is_error",
        "http_status",
        f"{arm} AS variant", "CAST(raw AS JSON) AS properties",
        # Spanlens's cache tokens are a subset of prompt_tokens (OpenAI's cached_tokens,
        # Anthropic's cache reads / writes as it logs them).
        "cache_read AS cache_read_tokens", "cache_write AS cache_write_tokens",
        "CASE WHEN cache_read IS NOT NULL OR cache_write IS NOT NULL THEN true END"
        " AS cache_in_input",
    ]  # fmt: skip
    stage = ctx.stage("generations")
    sql = typed_stage(stage, source, fields, select, checks)
    con.execute(sql, used_params(sql, params))
    return Staged(rows_read=rows_read, stages={"generations": stage})


def load_spanlens(
    ws: Any,
    path: _files.Paths,
    *,
    arm_column: str | None = None,
    arms: Any = None,
    prompt_name: str | None = None,
    progress: bool = True,
) -> LoadReport:
    """Load Spanlens request exports into ``generations``, atomically and idempotently.

    Parameters
    ----------
    ws
        The workspace.
    path
        A CSV, JSON or JSON-lines export (``.gz``/``.zst`` too), a list, directory or glob.
    arm_column
        Column of the export holding the arm (variant); stored in ``generations.variant``. Rows
        whose arm is empty or a "no value" text ("null", "undefined", "none", "nan") are rejected
        ("arm column is empty").
    arms
        Instead of ``arm_column``: a pandas/polars/Arrow frame (or dict) mapping ``trace_id`` to
        ``variant``, for exports without a version column. Rows whose trace has no arm are
        rejected ("trace_id has no arm in arms"). The trace ids are matched as stored: those a
        CSV export formula-escaped (``'-abc``) as the ids themselves (``-abc``), as are the
        values of ``arm_column``.
    prompt_name
        Stored as ``prompt_name`` on every row (the export does not carry it).
    progress
        Show a progress bar when loading several files.

    Returns
    -------
    LoadReport
        ``latency_ms`` is stored in seconds (empty: unknown, the request still loads),
        ``cost_usd`` in USD (null stays null); a proxy cache hit (``cache_hit``, in database
        dumps) has no latency (it made no model call);
        ``status_code >= 400`` or an error message (whatever the status, e.g. 0 for a request
        that got no HTTP response) marks an error. ``distinct_id`` is
        ``user_id`` when the export has it, else ``trace_id``. An id, model, provider, version
        or arm that is a JSON object or list (an id or error_message true/false) rejects the
        row.

    Raises
    ------
    InvalidArgumentError
        Both ``arm_column`` and ``arms`` are given, or ``arms`` gives a trace two variants.
    MissingColumnError
        ``created_at``, ``latency_ms``, the unit or ``arm_column`` is absent.
    DataError
        A file is empty or holds no requests (``[]``, a header-only CSV), is not UTF-8,
        truncated or unreadable (nothing is loaded).

    Examples
    --------
    >>> ws.load_spanlens("requests.csv", arm_column="variant")  # doctest: +SKIP
    """
    if arm_column is not None and arms is not None:
        raise InvalidArgumentError("pass arm_column= or arms=, not both.")
    if arm_column is not None and (not isinstance(arm_column, str) or not arm_column):
        raise InvalidArgumentError(f"arm_column == {arm_column!r}, must be a column name.")
    rows = prepare_paths(path, source="spanlens", formats=("csv", "json", "jsonl"))
    has_arms = arms is not None

    def stage(con: Con, ctx: LoadContext, item: Input) -> Staged:
        if has_arms:
            _arms_table(con, ctx, arms)
        return _stage(con, ctx, item, arm_column, has_arms, prompt_name)

    # (a dict of arms is code; a frame of them is named, as it is not in the workspace)
    mapping = arms if arms is None or isinstance(arms, dict) else Code("arms")
    call = loader_call(
        "load_spanlens", path, arm_column=arm_column, arms=mapping, prompt_name=prompt_name
    )
    return load_all(ws, rows, source="spanlens", stage=stage, progress=progress, call=call)
