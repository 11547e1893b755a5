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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._checks import check, one_of
from .._format import num
from .._html import STYLE, el, table
from ..errors import InvalidArgumentError

Format = Literal["parquet", "jsonl", "jsonl.gz", "csv"]
FORMATS: tuple[str, ...] = ("parquet", "jsonl", "jsonl.gz", "csv")
METRICS: tuple[str, ...] = ("cost", "latency", "error_rate", "pass_rate")
MULTIPLIERS: tuple[str, ...] = ("latency", "cost", "tokens_out")
RATES: tuple[str, ...] = ("error_rate", "pass_rate")

#: Control-arm parameters; override any of them with ``traffic(..., baseline={...})``.
DEFAULT_BASELINE: dict[str, float] = {
    "latency": 1.8,  # mean seconds per generation
    "error_rate": 0.02,  # share of generations that fail
    "pass_rate": 0.80,  # share of applicable evaluations that pass
    "tokens_in": 900.0,  # mean input tokens per successful generation
    "tokens_out": 220.0,  # mean output tokens per successful generation
    "generations": 10.0,  # mean generations per exposed user after exposure
}

# model, provider, share of calls, USD per input token, USD per output token, latency factor
_MODELS = (
    ("gpt-4o-mini", "openai", 0.7, 0.15e-6, 0.60e-6, 1.0),
    ("claude-3-5-haiku-20241022", "anthropic", 0.3, 0.80e-6, 4.00e-6, 1.15),
)
_MODEL_SHARE = np.array([m[2] for m in _MODELS])
_PRICE_IN = np.array([m[3] for m in _MODELS])
_PRICE_OUT = np.array([m[4] for m in _MODELS])
_LAT_FACTOR = np.array([m[5] for m in _MODELS])
_ERRORS = (  # http status, message, share of errors
    (429, "RateLimitError: Error code: 429 - Rate limit reached for requests", 0.5),
    (500, "InternalServerError: Error code: 500 - The server had an error", 0.35),
    (0, "APIConnectionError: Connection error.", 0.15),
)
_SIGMA_USER = 0.35  # lognormal sd of a user's latency level (network, prompt lengths)
_SIGMA_GEN = 0.55  # lognormal sd of one call's latency around the user's level
_SIGMA_TOKENS_IN = 0.3
_SIGMA_TOKENS_OUT = 0.6
_DISPERSION = 2.5  # gamma shape of the per-user call rate: counts are overdispersed Poisson
_EVAL_SHARE = 0.15  # share of successful generations that an online evaluation scores
_NOT_APPLICABLE = 0.05
_STREAM_SHARE = 0.4  # calls that stream and so carry $ai_time_to_first_token
_PRE_EXPOSURE_SHARE = 0.1  # exposed users who call the LLM before the flag is evaluated
_REPEAT_EXPOSURES = 0.4  # extra $feature_flag_called events per exposed user (Poisson mean)
_OTHER_FLAG_SHARE = 0.3
_CHUNK = 100_000  # users per chunk: bounds memory (~1.3 M events)
_US = 1_000_000
_HOUR = 3600 * _US
_DAY = 24 * _HOUR
_DEFAULT_START = datetime(2025, 3, 3, tzinfo=UTC)


@dataclass(frozen=True)
class SimulationTruth:
    """What :func:`traffic` wrote and the true values an analysis should recover.

    ``means[variant][metric]`` are population expectations under the exposure rules (unit =
    ``person_id``; ``$multiple`` units excluded; only events at or after the first exposure):
    ``cost`` USD per exposed user (0 for users without calls), ``latency`` seconds (per-user mean
    over users with ≥ 1 call), ``error_rate`` errors / calls, ``pass_rate`` passed / applicable
    evaluations, ``generations`` calls per user. ``lifts`` are relative to the control (first
    variant) as fractions, ``diffs`` absolute in the metric's unit. ``units`` counts the exposed
    units per variant actually written (``$multiple`` excluded).
    """

    seed: int
    users: int
    days: int
    start: datetime
    flag_key: str
    prompt_name: str
    variants: dict[str, str]
    split: dict[str, float]
    files: dict[str, str]
    means: dict[str, dict[str, float]]
    diffs: dict[str, dict[str, float]]
    lifts: dict[str, dict[str, float]]
    units: dict[str, int]
    multiple: int
    unexposed: int
    events: dict[str, int] = field(default_factory=dict)

    @property
    def control(self) -> str:
        return next(iter(self.variants))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``start`` as ISO-8601 text)."""
        return {
            "seed": self.seed,
            "users": self.users,
            "days": self.days,
            "start": self.start.isoformat(),
            "flag_key": self.flag_key,
            "prompt_name": self.prompt_name,
            "variants": self.variants,
            "split": self.split,
            "files": self.files,
            "means": self.means,
            "diffs": self.diffs,
            "lifts": self.lifts,
            "units": self.units,
            "multiple": self.multiple,
            "unexposed": self.unexposed,
            "events": self.events,
        }

    def _rows(self) -> list[tuple[Any, ...]]:
        rows = []
        for metric in (*METRICS, "generations"):
            for variant in self.variants:
                rows.append(
                    (
                        metric,
                        variant,
                        self.variants[variant],
                        self.units[variant],
                        self.means[variant][metric],
                        self.diffs[variant][metric],
                        self.lifts[variant][metric],
                    )
                )
        return rows

    def to_pandas(self) -> Any:
        """One row per (metric, variant): true mean, difference and lift against the control."""
        import pandas as pd

        cols = ["metric", "variant", "prompt_version", "units", "mean", "diff", "lift"]
        return pd.DataFrame(self._rows(), columns=cols)

    def __repr__(self) -> str:
        head = (
            f"SimulationTruth(seed={self.seed}, users={self.users:,}, flag={self.flag_key!r}, "
            f"multiple={self.multiple:,}, unexposed={self.unexposed:,}, "
            f"events={sum(self.events.values()):,})"
        )
        lines = [head]
        for metric, variant, _, units, mean, _diff, lift in self._rows():
            lift_txt = "" if variant == self.control else f"  lift {num(lift, '%', signed=True)}"
            lines.append(
                f"  {metric:<11} {variant:<10} n={units:<8,} {num(mean, _UNITS[metric])}{lift_txt}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [
            (
                metric,
                f"{variant} ({version})",
                f"{units:,}",
                num(mean, _UNITS[metric]),
                "" if variant == self.control else num(lift, "%", signed=True),
            )
            for metric, variant, version, units, mean, _diff, lift in self._rows()
        ]
        caption = (
            f"Simulated traffic (seed {self.seed}, {self.users:,} users, flag {self.flag_key}, "
            f"{self.multiple:,} $multiple, {self.unexposed:,} unexposed)"
        )
        return el(
            "div",
            el("style", STYLE),
            table(["metric", "variant", "units", "true mean", "true lift"], rows, caption=caption),
            class_="pab",
        )


_UNITS = {
    "cost": "USD",
    "latency": "s",
    "error_rate": "%",
    "pass_rate": "%",
    "generations": "",
}


@dataclass(frozen=True)
class _Arms:
    """Per-arm parameters as arrays indexed by variant position (0 = control)."""

    latency: np.ndarray  # mean seconds per call
    error: np.ndarray
    passing: np.ndarray
    tokens_in: np.ndarray
    tokens_out: np.ndarray


def _check_variants(variants: Mapping[str, Any]) -> list[str]:
    if not isinstance(variants, Mapping) or len(variants) < 2:
        raise InvalidArgumentError(
            f"variants == {variants!r}, must be a dict of at least 2 variant keys to prompt "
            'versions, control first, e.g. {"control": "v1", "test": "v2"}'
        )
    if len(variants) > 10:
        raise InvalidArgumentError(f"variants has {len(variants)} entries, at most 10 allowed")
    for key, version in variants.items():
        if not isinstance(key, str) or not key or key == "$multiple":
            raise InvalidArgumentError(f"variants has an invalid key {key!r}")
        if not isinstance(version, str | int) or isinstance(version, bool):
            raise InvalidArgumentError(
                f"variants[{key!r}] == {version!r}, must be a prompt version (str or int)"
            )
    return list(variants)


def _check_split(
    split: Sequence[float] | Mapping[str, float] | None, keys: list[str]
) -> np.ndarray:
    if split is None:
        return np.full(len(keys), 1.0 / len(keys))
    if isinstance(split, Mapping):
        unknown = set(split) - set(keys)
        if unknown or len(split) != len(keys):
            raise InvalidArgumentError(
                f"split has keys {sorted(split)}, must have exactly the variants {keys}"
            )
        values = [split[k] for k in keys]
    else:
        values = list(split)
        if len(values) != len(keys):
            raise InvalidArgumentError(
                f"split == {values!r} has {len(values)} shares for {len(keys)} variants"
            )
    for i, v in enumerate(values):
        check(v, f"split[{i}]", gt=0, lt=100)
    total = float(sum(values))
    if abs(total - 100) > 1e-6:
        raise InvalidArgumentError(
            f"split == {values!r} sums to {total:g}, must sum to 100 (percent per variant)"
        )
    return np.asarray(values, dtype=float) / total


def _check_baseline(baseline: Mapping[str, float] | None) -> dict[str, float]:
    base = dict(DEFAULT_BASELINE)
    for key, value in (baseline or {}).items():
        one_of(key, "baseline key", tuple(DEFAULT_BASELINE))
        if key in RATES:
            check(value, f"baseline[{key!r}]", ge=0, lt=1)
        else:
            check(value, f"baseline[{key!r}]", gt=0)
        base[key] = float(value)
    return base


def _arms(
    effects: Mapping[str, Mapping[str, float]] | None, keys: list[str], base: dict[str, float]
) -> _Arms:
    effects = effects or {}
    if not isinstance(effects, Mapping):
        raise InvalidArgumentError(
            f"effects == {effects!r}, must be a dict variant -> {{metric: value}}, "
            'e.g. {"test": {"latency": 0.97, "error_rate": 0.018}}'
        )
    for variant, eff in effects.items():
        if variant not in keys:
            raise InvalidArgumentError(
                f"effects has variant {variant!r}, which is not in variants {keys}"
            )
        if not isinstance(eff, Mapping):
            raise InvalidArgumentError(f"effects[{variant!r}] == {eff!r}, must be a dict")
        for metric in eff:
            if metric not in MULTIPLIERS + RATES:
                raise InvalidArgumentError(
                    f"effects[{variant!r}] has unknown metric {metric!r}; expected multipliers "
                    f"{', '.join(MULTIPLIERS)} or absolute rates {', '.join(RATES)}"
                )
    e_price_in = float(_MODEL_SHARE @ _PRICE_IN)
    e_price_out = float(_MODEL_SHARE @ _PRICE_OUT)
    base_cost = base["tokens_in"] * e_price_in + base["tokens_out"] * e_price_out
    lat, err, pas, tin, tout = [], [], [], [], []
    for variant in keys:
        eff = effects.get(variant, {})
        name = f"effects[{variant!r}]"
        m_lat = check(eff.get("latency", 1.0), f"{name}['latency']", gt=0)
        m_out = check(eff.get("tokens_out", 1.0), f"{name}['tokens_out']", gt=0)
        out = base["tokens_out"] * m_out
        if "cost" in eff:
            # A prompt changes cost through its length: solve for the input tokens that give
            # the requested cost per successful call, given the output-token change.
            m_cost = check(eff["cost"], f"{name}['cost']", gt=0)
            tokens_in = (m_cost * base_cost - out * e_price_out) / e_price_in
            if tokens_in < 1:
                raise InvalidArgumentError(
                    f"{name}['cost'] == {m_cost!r} is too low for tokens_out == {m_out!r}: "
                    "output tokens alone cost more; raise cost or lower tokens_out"
                )
        else:
            tokens_in = base["tokens_in"]
        lat.append(base["latency"] * m_lat)
        err.append(
            check(eff.get("error_rate", base["error_rate"]), f"{name}['error_rate']", ge=0, lt=1)
        )
        pas.append(
            check(eff.get("pass_rate", base["pass_rate"]), f"{name}['pass_rate']", ge=0, le=1)
        )
        tin.append(tokens_in)
        tout.append(out)
    return _Arms(*(np.asarray(x, dtype=float) for x in (lat, err, pas, tin, tout)))


def _true_means(
    arms: _Arms, base: dict[str, float], keys: list[str]
) -> dict[str, dict[str, float]]:
    e_price_in = float(_MODEL_SHARE @ _PRICE_IN)
    e_price_out = float(_MODEL_SHARE @ _PRICE_OUT)
    g = base["generations"]
    out = {}
    for i, key in enumerate(keys):
        cost_ok = arms.tokens_in[i] * e_price_in + arms.tokens_out[i] * e_price_out
        out[key] = {
            "cost": g * (1 - arms.error[i]) * cost_ok,
            "latency": float(arms.latency[i]),
            "error_rate": float(arms.error[i]),
            "pass_rate": float(arms.passing[i]),
            "generations": g,
        }
    return out


# ---------------------------------------------------------------------------------------------
# fast string columns


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _fixed_width(chars: np.ndarray) -> pa.Array:
    """Arrow strings from an (n, width) uint8 array of ASCII codes, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).reshape(-1)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


_HEX_PAIRS = np.array(
    [int.from_bytes(f"{i:02x}".encode(), "little") for i in range(256)], dtype="<u2"
)


def _uuid4(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random version-4 UUID strings drawn from ``rng`` (deterministic for a seed)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexs = _HEX_PAIRS[raw].view(np.uint8)  # (n, 32) ASCII hex digits
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8] = hexs[:, 0:8]
    out[:, 9:13] = hexs[:, 8:12]
    out[:, 14:18] = hexs[:, 12:16]
    out[:, 19:23] = hexs[:, 16:20]
    out[:, 24:36] = hexs[:, 20:32]
    return _fixed_width(out)


def _user_ids(index: np.ndarray, width: int) -> pa.Array:
    """``user-000123``-style distinct ids for integer user indexes."""
    prefix = np.frombuffer(b"user-", dtype=np.uint8)
    chars = np.empty((len(index), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = prefix
    rest = index.astype(np.int64)
    for pos in range(width - 1, -1, -1):
        chars[:, len(prefix) + pos] = 48 + rest % 10
        rest //= 10
    return _fixed_width(chars)


def _pick(values: Sequence[Any], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``values[index]`` as an Arrow array, null where ``mask`` is false."""
    arr = pc.take(pa.array(list(values)), pa.array(index.astype(np.int32)))
    if mask is None:
        return arr
    return pc.if_else(pa.array(mask), arr, pa.nulls(len(arr), arr.type))


def _const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def _masked(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    return pa.array(values, mask=~mask)


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype(np.int64), type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


# ---------------------------------------------------------------------------------------------
# one chunk of users


@dataclass(frozen=True)
class _Plan:
    keys: list[str]
    versions: list[str | int]
    split: np.ndarray
    arms: _Arms
    base: dict[str, float]
    flag_key: str
    other_flag: str
    prompt_name: str
    start_us: int
    span_us: int
    contamination: float
    unexposed: float
    id_width: int


def _props_type(plan: _Plan) -> pa.StructType:
    """One struct type holding every property of every event type (absent keys are null)."""
    version = pa.int64() if all(isinstance(v, int) for v in plan.versions) else pa.string()
    s, f, i, b = pa.string(), pa.float64(), pa.int64(), pa.bool_()
    fields = [
        ("$feature_flag", s), ("$feature_flag_response", s),
        ("$ai_trace_id", s), ("$ai_model", s), ("$ai_provider", s), ("$ai_latency", f),
        ("$ai_time_to_first_token", f), ("$ai_input_tokens", i), ("$ai_output_tokens", i),
        ("$ai_total_cost_usd", f), ("$ai_http_status", i), ("$ai_is_error", b), ("$ai_error", s),
        ("$ai_prompt_name", s), ("$ai_prompt_version", version),
        (f"$feature/{plan.flag_key}", s),
        ("$ai_evaluation_name", s), ("$ai_evaluation_result", b),
        ("$ai_evaluation_applicable", b), ("$ai_target_event_id", s),
        ("$ai_target_event_type", s),
    ]  # fmt: skip
    return pa.struct(fields)


def _props(plan: _Plan, n: int, values: dict[str, pa.Array]) -> pa.StructArray:
    """The properties of one event type as a struct, keys in the canonical order."""
    fields = [fld for fld in _props_type(plan) if fld.name in values]
    arrays = [values[fld.name].cast(fld.type) for fld in fields]
    return pa.StructArray.from_arrays(arrays, fields=fields)


def _people(distinct: pa.Array, person: pa.Array, user: np.ndarray) -> dict[str, pa.Array]:
    index = pa.array(user.astype(np.int32))
    return {"distinct_id": distinct.take(index), "person_id": person.take(index)}


def _poisson_gamma(rng: np.random.Generator, mean: float, mask: np.ndarray) -> np.ndarray:
    rate = mean * rng.gamma(_DISPERSION, 1.0 / _DISPERSION, size=len(mask))
    return np.where(mask, rng.poisson(rate), 0)


def _chunk(
    rng: np.random.Generator, plan: _Plan, first: int, n: int
) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """Events of users ``first … first + n − 1``: one Arrow table per event type.

    Columns ``uuid, event, distinct_id, person_id, timestamp, props`` (a struct per type).
    """
    end = plan.span_us
    distinct = _user_ids(np.arange(first, first + n), plan.id_width)
    person = _uuid4(rng, n)
    arrival = rng.integers(0, end - 2 * _HOUR, size=n)
    exposed = rng.random(n) >= plan.unexposed
    variant = rng.choice(len(plan.keys), size=n, p=plan.split)
    multiple = exposed & (rng.random(n) < plan.contamination)
    other_variant = (variant + rng.integers(1, len(plan.keys), size=n)) % len(plan.keys)
    exposure = arrival + _HOUR + rng.integers(0, 10 * 60 * _US, size=n)
    window = np.minimum(end - exposure - _US, 3 * _DAY)
    user_level = rng.normal(size=n)

    # --- $feature_flag_called ------------------------------------------------------------
    repeats = np.where(exposed, 1 + rng.poisson(_REPEAT_EXPOSURES, size=n), 0)
    e_user = np.repeat(np.arange(n), repeats)
    first_of_user = np.r_[0, np.cumsum(repeats)[:-1]][repeats > 0]
    later = (rng.random(len(e_user)) * window[e_user]).astype(np.int64) + 1
    later[first_of_user] = 0
    e_ts = exposure[e_user] + later
    e_flag = np.zeros(len(e_user), dtype=np.int8)
    e_var = variant[e_user]
    # contamination: a second variant later on (a changed person merge, an override, ...)
    m_user = np.flatnonzero(multiple)
    m_ts = exposure[m_user] + 1 + (rng.random(len(m_user)) * window[m_user]).astype(np.int64)
    # an unrelated flag the analysis must ignore
    o_user = np.flatnonzero(rng.random(n) < _OTHER_FLAG_SHARE)
    o_ts = arrival[o_user] + rng.integers(0, 2 * _HOUR, size=len(o_user))
    o_var = rng.integers(0, 2, size=len(o_user))
    ex_user = np.concatenate([e_user, m_user, o_user])
    ex_ts = np.concatenate([e_ts, m_ts, o_ts])
    ex_flag = np.concatenate(
        [e_flag, np.zeros(len(m_user), np.int8), np.ones(len(o_user), np.int8)]
    )
    flag_names = [plan.flag_key, plan.other_flag]
    var_names = plan.keys + ["control", "test"]
    ex_var = np.concatenate([e_var, other_variant[m_user], len(plan.keys) + o_var])
    exposures = pa.table(
        {
            "uuid": _uuid4(rng, len(ex_user)),
            "event": _const("$feature_flag_called", len(ex_user)),
            **_people(distinct, person, ex_user),
            "timestamp": _ts(plan.start_us + ex_ts),
            "props": _props(
                plan,
                len(ex_user),
                {
                    "$feature_flag": _pick(flag_names, ex_flag),
                    "$feature_flag_response": _pick(var_names, ex_var),
                },
            ),
        }
    )

    # --- $ai_generation --------------------------------------------------------------------
    g = plan.base["generations"]
    n_post = _poisson_gamma(rng, g, exposed)
    n_unexp = _poisson_gamma(rng, g, ~exposed)
    n_pre = np.where(exposed & (rng.random(n) < _PRE_EXPOSURE_SHARE), 1 + rng.poisson(1.0, n), 0)
    kind = np.concatenate(
        [
            np.zeros(n_pre.sum(), np.int8),
            np.ones(n_post.sum(), np.int8),
            np.full(n_unexp.sum(), 2, np.int8),
        ]
    )
    g_user = np.concatenate(
        [
            np.repeat(np.arange(n), n_pre),
            np.repeat(np.arange(n), n_post),
            np.repeat(np.arange(n), n_unexp),
        ]
    )
    m = len(g_user)
    u01 = rng.random(m)
    unexp_window = np.minimum(end - arrival - _US, 3 * _DAY)
    g_ts = np.select(
        [kind == 0, kind == 1],
        [arrival[g_user] + (u01 * 30 * 60 * _US).astype(np.int64),
         exposure[g_user] + (u01 * window[g_user]).astype(np.int64)],
        arrival[g_user] + (u01 * unexp_window[g_user]).astype(np.int64),
    )  # fmt: skip
    arm = np.where(kind == 1, variant[g_user], 0)
    model = rng.choice(len(_MODELS), size=m, p=_MODEL_SHARE)
    scale = plan.arms.latency[arm] / float(_MODEL_SHARE @ _LAT_FACTOR)
    z_user = _SIGMA_USER * user_level[g_user] - _SIGMA_USER**2 / 2
    z_gen = _SIGMA_GEN * rng.normal(size=m) - _SIGMA_GEN**2 / 2
    latency = np.round(scale * _LAT_FACTOR[model] * np.exp(z_user + z_gen), 3)
    latency = np.maximum(latency, 0.001)
    is_error = rng.random(m) < plan.arms.error[arm]
    err_kind = rng.choice(len(_ERRORS), size=m, p=[e[2] for e in _ERRORS])
    status = np.where(is_error, np.array([e[0] for e in _ERRORS])[err_kind], 200)
    ln_in = rng.normal(-(_SIGMA_TOKENS_IN**2) / 2, _SIGMA_TOKENS_IN, size=m)
    ln_out = rng.normal(-(_SIGMA_TOKENS_OUT**2) / 2, _SIGMA_TOKENS_OUT, size=m)
    tokens_in = np.where(
        is_error, 0, np.maximum(1, np.rint(plan.arms.tokens_in[arm] * np.exp(ln_in)))
    )
    tokens_out = np.where(
        is_error, 0, np.maximum(1, np.rint(plan.arms.tokens_out[arm] * np.exp(ln_out)))
    )
    cost = np.round(tokens_in * _PRICE_IN[model] + tokens_out * _PRICE_OUT[model], 10)
    streamed = ~is_error & (rng.random(m) < _STREAM_SHARE)
    ttft = np.round(latency * rng.uniform(0.1, 0.35, size=m), 3)
    g_uuid = _uuid4(rng, m)
    trace = _uuid4(rng, m)
    versions = plan.versions
    if not all(isinstance(v, int) for v in versions):
        versions = [str(v) for v in versions]
    gen_props = _props(
        plan,
        m,
        {
            "$ai_trace_id": trace,
            "$ai_model": _pick([x[0] for x in _MODELS], model),
            "$ai_provider": _pick([x[1] for x in _MODELS], model),
            "$ai_latency": pa.array(latency),
            "$ai_time_to_first_token": _masked(ttft, streamed),
            "$ai_input_tokens": pa.array(tokens_in.astype(np.int64)),
            "$ai_output_tokens": pa.array(tokens_out.astype(np.int64)),
            "$ai_total_cost_usd": pa.array(cost),
            "$ai_http_status": pa.array(status.astype(np.int64)),
            "$ai_is_error": _masked(np.ones(m, dtype=bool), is_error),
            "$ai_error": _pick([e[1] for e in _ERRORS], err_kind, is_error),
            "$ai_prompt_name": _const(plan.prompt_name, m),
            "$ai_prompt_version": _pick(versions, arm),
            f"$feature/{plan.flag_key}": _pick(plan.keys, arm, kind == 1),
        },
    )
    generations = pa.table(
        {
            "uuid": g_uuid,
            "event": _const("$ai_generation", m),
            **_people(distinct, person, g_user),
            "timestamp": _ts(plan.start_us + g_ts),
            "props": gen_props,
        }
    )

    # --- $ai_evaluation -------------------------------------------------------------------
    ev = np.flatnonzero(~is_error & (rng.random(m) < _EVAL_SHARE))
    k = len(ev)
    applicable = rng.random(k) >= _NOT_APPLICABLE
    passed = rng.random(k) < plan.arms.passing[arm[ev]]
    # N/A results: mostly a stray `false` (must not count as a fail), sometimes no result
    na_false = rng.random(k) < 0.7
    result = np.where(applicable, passed, False)
    has_result = applicable | na_false
    delay = (latency[ev] * _US).astype(np.int64) + rng.integers(5 * _US, 120 * _US, size=k)
    ev_idx = pa.array(ev.astype(np.int64))
    evaluations = pa.table(
        {
            "uuid": _uuid4(rng, k),
            "event": _const("$ai_evaluation", k),
            **_people(distinct, person, g_user[ev]),
            "timestamp": _ts(plan.start_us + g_ts[ev] + delay),
            "props": _props(
                plan,
                k,
                {
                    "$ai_evaluation_name": _const("helpfulness", k),
                    "$ai_evaluation_result": _masked(result, has_result),
                    "$ai_evaluation_applicable": pa.array(applicable),
                    "$ai_target_event_id": g_uuid.take(ev_idx),
                    "$ai_target_event_type": _const("$ai_generation", k),
                    "$ai_trace_id": trace.take(ev_idx),
                },
            ),
        }
    )
    single = exposed & ~multiple
    stats = {
        "units": np.bincount(variant[single], minlength=len(plan.keys)),
        "multiple": int(multiple.sum()),
        "unexposed": int((~exposed).sum()),
    }
    stats["events"] = {
        "$feature_flag_called": exposures.num_rows,
        "$ai_generation": generations.num_rows,
        "$ai_evaluation": evaluations.num_rows,
    }
    tables = {"exposures": exposures, "generations": generations, "evaluations": evaluations}
    return tables, stats


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
    ``$feature_flag_called`` event, often repeated) and then make an overdispersed-Poisson number
    of ``$ai_generation`` calls (mean ``baseline["generations"]``, 10). Calls have lognormal
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
        entropy and records it in the result.
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
        Percent of exposed users per variant, summing to 100; equal by default.
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
    ...                 out=tmp_path / "events", seed=1, progress=False)  # doctest: +SKIP
    >>> truth.lifts["test"]["latency"]  # doctest: +SKIP
    -0.1
    """
    check(users, "users", ge=1, integer=True)
    users = int(users)
    keys = _check_variants(variants)
    split_arr = _check_split(split, keys)
    base = _check_baseline(baseline)
    arms = _arms(effects, keys, base)
    check(days, "days", ge=1, le=366, integer=True)
    check(contamination, "contamination", ge=0, lt=0.5)
    check(unexposed, "unexposed", ge=0, lt=1)
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(dict.fromkeys(formats))
    if not formats:
        raise InvalidArgumentError("formats is empty; pass e.g. formats=('parquet', 'csv')")
    for fmt in formats:
        one_of(fmt, "formats", FORMATS)
    if not isinstance(flag_key, str) or not flag_key:
        raise InvalidArgumentError(f"flag_key == {flag_key!r}, must be a non-empty string")
    if not isinstance(prompt_name, str) or not prompt_name:
        raise InvalidArgumentError(f"prompt_name == {prompt_name!r}, must be a non-empty string")
    if not isinstance(start, datetime):
        raise InvalidArgumentError(f"start == {start!r}, must be a datetime")
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)

    if isinstance(seed, np.random.Generator):
        rng, seed_value = seed, -1
    else:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        check(seed, "seed", ge=0, integer=True)
        seed_value = int(seed)
        rng = np.random.default_rng(seed_value)

    paths = _paths(out, formats)
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    plan = _Plan(
        keys=keys,
        versions=list(variants.values()),
        split=split_arr,
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
        split={k: float(s * 100) for k, s in zip(keys, split_arr, strict=True)},
        files={fmt: str(p) for fmt, p in paths.items()},
        means=means,
        diffs=diffs,
        lifts=lifts,
        units={k: int(counts["units"][i]) for i, k in enumerate(keys)},
        multiple=int(counts["multiple"]),
        unexposed=int(counts["unexposed"]),
        events={k: int(v) for k, v in counts["events"].items()},
    )


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
