"""Canonical workspace tables, defined once.

Timestamps are UTC ``TIMESTAMPTZ``; latency is seconds, cost USD. ``SCHEMA_VERSION`` is stored in
``meta`` and checked when a file workspace is reopened.
"""

from __future__ import annotations

SCHEMA_VERSION = 4

# Columns added after version 1: (table, column, type). A version-1 file gets them when it is
# opened (``ALTER TABLE ... ADD COLUMN``), so old workspaces keep working.
ADDED_COLUMNS: list[tuple[str, str, str]] = [
    ("experiments", "assigned_by", "VARCHAR"),
    ("experiments", "design", "JSON"),
    # version 3: the loader call that made the import (the report's "Reproduce" code)
    ("imports", "call", "VARCHAR"),
    # version 4: cached input tokens, so a recomputed cost prices them at the cache rates
    ("generations", "cache_read_tokens", "BIGINT"),
    ("generations", "cache_write_tokens", "BIGINT"),
    ("generations", "cache_in_input", "BOOLEAN"),
]

# Event tables have no PRIMARY KEY on uuid: the loaders keep uuids unique (see
# ``loaders._commit.insert_by_uuid``), and an index cost more than the rest of a load. Workspaces
# created with the index (before this change) open and load the same way, and older promptab_nb
# versions read the new files, so the schema version is unchanged.

# name -> list of (column, DuckDB type). Order is the column order of the table.
TABLES: dict[str, list[tuple[str, str]]] = {
    "meta": [("key", "VARCHAR PRIMARY KEY"), ("value", "VARCHAR")],
    "imports": [
        ("import_id", "INTEGER PRIMARY KEY"),
        ("source", "VARCHAR"),
        ("file", "VARCHAR"),
        ("format", "VARCHAR"),
        ("sha256", "VARCHAR"),
        ("rows_read", "BIGINT"),
        ("rows_loaded", "BIGINT"),
        ("rows_rejected", "BIGINT"),
        ("rows_duplicate", "BIGINT"),
        ("loaded_at", "TIMESTAMPTZ"),
        ("seconds", "DOUBLE"),
        ("call", "VARCHAR"),
    ],
    "exposures": [
        ("uuid", "VARCHAR NOT NULL"),
        ("ts", "TIMESTAMPTZ"),
        ("distinct_id", "VARCHAR"),
        ("person_id", "VARCHAR"),
        ("flag_key", "VARCHAR"),
        ("variant", "VARCHAR"),
        ("import_id", "INTEGER"),
    ],
    "generations": [
        ("uuid", "VARCHAR NOT NULL"),
        ("ts", "TIMESTAMPTZ"),
        ("distinct_id", "VARCHAR"),
        ("person_id", "VARCHAR"),
        ("trace_id", "VARCHAR"),
        ("prompt_name", "VARCHAR"),
        ("prompt_version", "VARCHAR"),
        ("model", "VARCHAR"),
        ("provider", "VARCHAR"),
        ("latency_s", "DOUBLE"),
        ("ttft_s", "DOUBLE"),
        ("input_tokens", "BIGINT"),
        ("output_tokens", "BIGINT"),
        ("cost_usd", "DOUBLE"),
        ("is_error", "BOOLEAN"),
        ("http_status", "INTEGER"),
        ("variant", "VARCHAR"),
        # JSON text; VARCHAR because a JSON column re-validates every value on insert, which cost
        # as much as parsing the properties (DuckDB's JSON functions read it all the same).
        ("properties", "VARCHAR"),
        ("import_id", "INTEGER"),
        # Input tokens read from / written to the provider's prompt cache (NULL: the source does
        # not say), and whether input_tokens counts them (OpenAI and OpenTelemetry do; Anthropic
        # reports them apart; NULL is read as true). Last, as version-3 files get them appended.
        ("cache_read_tokens", "BIGINT"),
        ("cache_write_tokens", "BIGINT"),
        ("cache_in_input", "BOOLEAN"),
    ],
    "evaluations": [
        ("uuid", "VARCHAR NOT NULL"),
        ("ts", "TIMESTAMPTZ"),
        ("distinct_id", "VARCHAR"),
        ("person_id", "VARCHAR"),
        ("target_uuid", "VARCHAR"),
        ("trace_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("passed", "BOOLEAN"),
        ("applicable", "BOOLEAN"),
        ("score", "DOUBLE"),
        ("import_id", "INTEGER"),
    ],
    "rejects": [
        ("import_id", "INTEGER"),
        ("source_row", "BIGINT"),
        ("column", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("raw", "VARCHAR"),
    ],
    "experiments": [
        ("id", "INTEGER PRIMARY KEY"),
        ("name", "VARCHAR UNIQUE"),
        ("prompt_name", "VARCHAR"),
        ("flag_key", "VARCHAR"),
        ("variants", "JSON"),  # [{"key":..., "version":..., "share": percent}, ...] control first
        ("unit", "VARCHAR"),
        ("metrics", "JSON"),
        ("rollout", "DOUBLE"),
        ("status", "VARCHAR"),
        ("created_at", "TIMESTAMPTZ"),
        ("ends_at", "TIMESTAMPTZ"),
        ("concluded_at", "TIMESTAMPTZ"),
        ("winner", "VARCHAR"),
        ("notes", "VARCHAR"),
        # where each unit's arm comes from: "flag", "version" or "arm"
        ("assigned_by", "VARCHAR"),
        # the decision design: goal metric, guardrails with margins, MDE (issue-18 decision layer)
        ("design", "JSON"),
    ],
    # Changes to an experiment's design after it started, with their time (shown in the report).
    "experiment_changes": [
        ("experiment_id", "INTEGER"),
        ("changed_at", "TIMESTAMPTZ"),
        ("field", "VARCHAR"),
        ("old", "JSON"),
        ("new", "JSON"),
    ],
    "prompts": [
        ("prompt_name", "VARCHAR"),
        ("version", "INTEGER"),
        ("template", "VARCHAR"),
        ("sha256", "VARCHAR"),
        ("created_at", "TIMESTAMPTZ"),
    ],
    "offline_runs": [
        ("run_id", "VARCHAR PRIMARY KEY"),
        ("name", "VARCHAR"),
        ("dataset", "JSON"),
        ("versions", "JSON"),
        ("model_id", "VARCHAR"),
        ("scorers", "JSON"),
        ("repeats", "INTEGER"),
        ("params", "JSON"),
        ("created_at", "TIMESTAMPTZ"),
        ("seconds", "DOUBLE"),
        ("model_calls", "BIGINT"),
        ("cache_hits", "BIGINT"),
    ],
    "offline_results": [
        ("run_id", "VARCHAR"),
        ("version", "VARCHAR"),
        ("item_id", "VARCHAR"),
        ("repeat_idx", "INTEGER"),
        ("prompt", "VARCHAR"),
        ("output", "VARCHAR"),
        ("error", "VARCHAR"),
        ("latency_s", "DOUBLE"),
        ("input_tokens", "BIGINT"),
        ("output_tokens", "BIGINT"),
        ("cost_usd", "DOUBLE"),
        ("cached", "BOOLEAN"),
        ("attempts", "INTEGER"),  # model calls made for this cell (retries included; 0 if cached)
    ],
    "offline_scores": [
        ("run_id", "VARCHAR"),
        ("version", "VARCHAR"),
        ("item_id", "VARCHAR"),
        ("repeat_idx", "INTEGER"),
        ("scorer", "VARCHAR"),
        ("value", "DOUBLE"),
        ("passed", "BOOLEAN"),
        ("error", "VARCHAR"),
    ],
    "model_cache": [
        ("cache_key", "VARCHAR PRIMARY KEY"),
        ("model_id", "VARCHAR"),
        ("response", "JSON"),
        ("created_at", "TIMESTAMPTZ"),
    ],
}

# Tables a user may read with ``ws.table(name)``.
PUBLIC_TABLES = tuple(t for t in TABLES if t != "meta")


def columns(table: str) -> list[str]:
    """Column names of a canonical table, in order."""
    return [c for c, _ in TABLES[table]]


def ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` statement of a canonical table."""
    from ._sql import ident

    cols = ", ".join(f"{ident(c)} {t}" for c, t in TABLES[table])
    return f"CREATE TABLE IF NOT EXISTS {ident(table)} ({cols})"
