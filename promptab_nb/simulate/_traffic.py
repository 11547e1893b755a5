"""Synthetic PostHog LLM-analytics exports with known effects (the demo data and benchmark input).

Everything is vectorized: per chunk of users, numpy draws the columns, pyarrow holds them, and
DuckDB builds each event's ``properties`` JSON (dropping null keys, as the SDK omits
``$ai_is_error`` on success) and sorts the chunk. Parquet is written chunk by chunk; JSON lines
and CSV are streamed from it by DuckDB, so memory stays bounded by one chunk.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._checks import check, one_of
from ..errors import InvalidArgumentError
from ._events import _chunk, _Plan
from ._params import (
    _CHUNK,
    _DAY,
    _DEFAULT_START,
    _US,
    FORMATS,
    Format,
    _arms,
    _check_baseline,
    _check_split,
    _check_variants,
    _true_means,
)
from ._truth import SimulationTruth

_CHUNK_SQL = """
    SELECT uuid, event, distinct_id, person_id, timestamp, properties FROM (
        SELECT uuid, event, distinct_id, person_id, timestamp,
               to_json(props)::VARCHAR AS properties
        FROM exposures
        UNION ALL
        SELECT uuid, event, distinct_id, person_id, timestamp,
               replace(replace(replace(replace(to_json(props)::VARCHAR,
                   ',"$ai_time_to_first_token":null', ''),
                   ',"$ai_is_error":null', ''),
                   ',"$ai_error":null', ''),
                   $feature_null, '')
        FROM generations
        UNION ALL
        SELECT uuid, event, distinct_id, person_id, timestamp,
               replace(to_json(props)::VARCHAR, ',"$ai_evaluation_result":null', '')
        FROM evaluations
    )
    ORDER BY timestamp, uuid
"""

_TEXT_SELECT = """
    SELECT uuid, event, distinct_id, person_id,
           strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp,
           {props} AS properties
    FROM read_parquet($src)
"""


def _paths(out: str | os.PathLike[str], formats: Sequence[str]) -> dict[str, Path]:
    out = Path(out)
    if out.is_dir():
        out = out / "posthog_events"
    name = out.name
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith("." + suffix):
            name = name[: -len(suffix) - 1]
            break
    return {fmt: out.with_name(f"{name}.{fmt}") for fmt in formats}


def traffic(
    users: int,
    variants: Mapping[str, str | int],
    effects: Mapping[str, Mapping[str, float]] | None = None,
    *,
    out: str | os.PathLike[str],
    seed: int | np.random.Generator | None = None,
    days: int = 14,
    contamination: float = 0.01,
    unexposed: float = 0.05,
    formats: Sequence[Format] = ("parquet",),
    flag_key: str = "prompt-experiment",
    prompt_name: str = "support-bot",
    split: Sequence[float] | Mapping[str, float] | None = None,
    start: datetime = _DEFAULT_START,
    baseline: Mapping[str, float] | None = None,
    progress: bool = True,
) -> SimulationTruth:
    """Write a synthetic PostHog LLM-analytics export with known per-variant effects.

    Users arrive uniformly over ``days``; most are exposed to ``flag_key`` (one
    ``$feature_flag_called`` event, often repeated) in the variant PostHog's flag serves them
    (the hash of ``flag_key`` and the distinct id over ``split``, as :func:`~promptab_nb.assign`
    computes it, so ``exp.audit()`` finds no mismatch) and then make an overdispersed-Poisson
    number of ``$ai_generation`` calls (mean ``baseline["generations"]``, 10). Calls have lognormal
    latency (seconds, a per-user level times a per-call factor), token-priced cost (USD) over a
    model mix (gpt-4o-mini 70 %, claude-3-5-haiku 30 %), errors (HTTP 429/500/0 carrying
    ``$ai_is_error`` and ``$ai_error``; the keys are absent on success), streaming calls with
    ``$ai_time_to_first_token``, and 15 % of successful calls get an ``$ai_evaluation``
    (``helpfulness``; 5 % not applicable). Traps an analysis must handle: calls before the
    exposure (10 % of users, control prompt), ``contamination`` users exposed to two variants
    (``$multiple``), ``unexposed`` users with calls, and an unrelated flag's exposures.

    Parameters
    ----------
    users
        Number of users (persons) to simulate, ≥ 1.
    variants
        Variant key → prompt version, control first, e.g. ``{"control": "v1", "test": "v2"}``.
    effects
        Per variant, per metric: multipliers relative to ``baseline`` for ``"latency"`` (mean
        seconds per call), ``"tokens_out"`` and ``"cost"`` (USD per successful call, reached by
        changing input tokens), and absolute rates for ``"error_rate"`` and ``"pass_rate"``;
        e.g. ``{"test": {"latency": 0.92, "cost": 1.05, "error_rate": 0.03}}``.
    out
        Output path stem (``data/events`` → ``data/events.parquet`` …) or an existing directory
        (files named ``posthog_events.*``). A known suffix on the stem is dropped.
    seed
        Seed or generator; the same seed gives byte-identical files. ``None`` draws fresh
        entropy and records it in the result; a generator is recorded as ``None`` (its state
        is not a seed).
    days
        Length of the experiment window in days; all events fall within it (evaluations may
        trail by up to ~2 minutes).
    contamination
        Share of exposed users also exposed to a second variant, in [0, 0.5).
    unexposed
        Share of users with calls but no exposure to ``flag_key``, in [0, 1).
    formats
        Any of ``"parquet"`` (properties as JSON text, timestamp µs UTC), ``"jsonl"`` /
        ``"jsonl.gz"`` (properties nested, ISO-8601 timestamps) and ``"csv"``.
    flag_key, prompt_name
        Feature flag key of the experiment and ``$ai_prompt_name`` of every call.
    split
        Percent of exposed users per variant, summing to 100, laid out as the flag's variant
        ranges in ``variants`` order; PostHog's equal split by default (33/33/34 for three).
    start
        Start of the window (UTC; a naive datetime is taken as UTC).
    baseline
        Control parameters overriding :data:`DEFAULT_BASELINE` (``latency`` s, ``error_rate``,
        ``pass_rate``, ``tokens_in``, ``tokens_out``, ``generations`` per user).
    progress
        Show a progress bar over chunks of 100,000 users.

    Returns
    -------
    SimulationTruth
        File paths, counts and the true means, differences and lifts per variant and metric.

    Raises
    ------
    InvalidArgumentError
        A bad argument, named in the message (negative ``users``, a ``split`` not summing to
        100, an unknown metric or variant in ``effects``, an unknown format …).

    Examples
    --------
    >>> truth = traffic(2_000, {"control": "v1", "test": "v2"}, {"test": {"latency": 0.9}},
    ...                 out="data/events", seed=1, progress=False)
    >>> round(truth.lifts["test"]["latency"], 3)  # true lift of mean latency: −10 %
    -0.1
    """
    check(users, "users", ge=1, integer=True)
    users = int(users)
    keys = _check_variants(variants)
    shares = _check_split(split, keys)
    base = _check_baseline(baseline)
    arms = _arms(effects, keys, base)
    check(days, "days", ge=1, le=366, integer=True)
    check(contamination, "contamination", ge=0, lt=0.5)
    check(unexposed, "unexposed", ge=0, lt=1)
    # A single format given as a string is the common mistake; accept it.
    wanted: Sequence[str] = (formats,) if isinstance(formats, str) else formats
    fmts = tuple(dict.fromkeys(wanted))
    if not fmts:
        raise InvalidArgumentError("formats is empty; pass e.g. formats=('parquet', 'csv')")
    for fmt in fmts:
        one_of(fmt, "formats", FORMATS)
    if not isinstance(flag_key, str) or not flag_key:
        raise InvalidArgumentError(f"flag_key == {flag_key!r}, must be a non-empty string")
    if not isinstance(prompt_name, str) or not prompt_name:
        raise InvalidArgumentError(f"prompt_name == {prompt_name!r}, must be a non-empty string")
    texts = [("flag_key", flag_key), ("prompt_name", prompt_name)]
    texts += [("variants", str(t)) for pair in variants.items() for t in pair]
    for name, text in texts:
        _check_utf8(text, name)
    if not isinstance(start, datetime):
        raise InvalidArgumentError(f"start == {start!r}, must be a datetime")
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)

    if isinstance(seed, np.random.Generator):
        # (its state is no seed: nothing to record that would reproduce the files)
        rng, seed_value = seed, None
    else:
        if seed is None:
            # Fresh entropy (drawn by SeedSequence when given none) is always an int.
            seed = cast(int, np.random.SeedSequence().entropy) % (2**63)
        check(seed, "seed", ge=0, integer=True)
        seed_value = int(seed)
        rng = np.random.default_rng(seed_value)

    paths = _paths(out, fmts)
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    plan = _Plan(
        keys=keys,
        versions=list(variants.values()),
        split=shares,
        arms=arms,
        base=base,
        flag_key=flag_key,
        other_flag="new-onboarding-flow" if flag_key != "new-onboarding-flow" else "other-flag",
        prompt_name=prompt_name,
        start_us=int(start.timestamp()) * _US + start.microsecond,
        span_us=days * _DAY,
        contamination=float(contamination),
        unexposed=float(unexposed),
        id_width=max(6, len(str(users - 1))),
    )

    counts = _write(rng, plan, users, paths, progress=progress)
    means = _true_means(arms, base, keys)
    control = means[keys[0]]
    diffs = {k: {m: means[k][m] - control[m] for m in control} for k in keys}
    lifts = {
        k: {m: (means[k][m] / control[m] - 1) if control[m] else math.nan for m in control}
        for k in keys
    }
    return SimulationTruth(
        seed=seed_value,
        users=users,
        days=int(days),
        start=start,
        flag_key=flag_key,
        prompt_name=prompt_name,
        variants={k: v for k, v in variants.items()},
        split=dict(shares),
        files={fmt: str(p) for fmt, p in paths.items()},
        means=means,
        diffs=diffs,
        lifts=lifts,
        units={k: int(counts["units"][i]) for i, k in enumerate(keys)},
        multiple=int(counts["multiple"]),
        unexposed=int(counts["unexposed"]),
        events={k: int(v) for k, v in counts["events"].items()},
    )


def _check_utf8(text: str, name: str) -> None:
    """Raise :class:`InvalidArgumentError` naming argument ``name`` when ``text`` has no UTF-8
    (a lone surrogate such as ``'\\ud800'``): it could not be written to any of the files."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            f"{name} holds {text!r}, which is not valid Unicode: a lone surrogate has no UTF-8 "
            "bytes to write. Pass text without it"
        ) from None


_SCHEMA = pa.schema(
    [
        ("uuid", pa.string()),
        ("event", pa.string()),
        ("distinct_id", pa.string()),
        ("person_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("properties", pa.string()),
    ]
)


def _write(
    rng: np.random.Generator,
    plan: _Plan,
    users: int,
    paths: dict[str, Path],
    *,
    progress: bool,
) -> dict[str, Any]:
    from tqdm.auto import tqdm

    parquet_path = paths.get("parquet")
    tmp_dir = None
    if parquet_path is None:
        first_path = next(iter(paths.values()))
        tmp_dir = tempfile.TemporaryDirectory(dir=first_path.parent, prefix=".promptab-sim-")
        parquet_path = Path(tmp_dir.name) / "events.parquet"
    counts: dict[str, Any] = {
        "units": np.zeros(len(plan.keys), dtype=np.int64),
        "multiple": 0,
        "unexposed": 0,
        "events": {"$feature_flag_called": 0, "$ai_generation": 0, "$ai_evaluation": 0},
    }
    # The SDK omits null keys; to_json writes them, so drop them by their exact text.
    feature_null = "," + json.dumps(f"$feature/{plan.flag_key}") + ":null"
    con = duckdb.connect()
    partial = parquet_path.with_name(parquet_path.name + ".partial")
    bar = tqdm(total=users, unit="user", disable=not progress, desc="simulate traffic")

    def finish(tables: dict[str, pa.Table]) -> pa.Table:
        cur = con.cursor()
        try:
            for name, tbl in tables.items():
                cur.register(name, tbl)
            return cur.sql(_CHUNK_SQL, params={"feature_null": feature_null}).to_arrow_table()
        finally:
            cur.close()

    try:
        with (
            pq.ParquetWriter(
                partial, _SCHEMA, compression="zstd", compression_level=1, use_dictionary=["event"]
            ) as writer,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            # Generate chunk i + 1 (numpy) while DuckDB and the Parquet writer handle chunk i.
            pending = None
            for first in range(0, users, _CHUNK):
                n = min(_CHUNK, users - first)
                tables, chunk_counts = _chunk(rng, plan, first, n)
                _add_counts(counts, chunk_counts)
                if pending is not None:
                    pending.result()
                pending = pool.submit(lambda t: writer.write_table(finish(t).cast(_SCHEMA)), tables)
                del tables
                bar.update(n)
            if pending is not None:
                pending.result()
        os.replace(partial, parquet_path)
        bar.close()
        for fmt, path in paths.items():
            if fmt == "parquet":
                continue
            props = "properties::JSON" if fmt.startswith("jsonl") else "properties"
            options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT json"
            if fmt == "jsonl.gz":
                options += ", COMPRESSION gzip"
            # Options are constants; the paths travel as parameters.
            con.execute(
                f"COPY ({_TEXT_SELECT.format(props=props)}) TO $dst ({options})",
                {"src": str(parquet_path), "dst": str(path)},
            )
    finally:
        bar.close()
        con.close()
        if partial.exists():
            partial.unlink()
        if tmp_dir is not None:
            tmp_dir.cleanup()
    return counts


def _add_counts(counts: dict[str, Any], chunk: dict[str, Any]) -> None:
    counts["units"] += chunk["units"]
    counts["multiple"] += chunk["multiple"]
    counts["unexposed"] += chunk["unexposed"]
    for name, value in chunk["events"].items():
        counts["events"][name] += value
