"""Parameters of the simulated traffic: defaults, checks of user input, and the true means."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from .._checks import check, one_of
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
) -> tuple[tuple[str, float], ...]:
    """(variant key, percent of traffic) in variant order, checked as an experiment's split is
    (default: PostHog's equal shares, 33/33/34 for three variants)."""
    from .._experiment_registry import check_split

    shares = check_split(split, keys)
    return tuple((k, shares[k]) for k in keys)


def _check_baseline(baseline: Mapping[str, float] | None) -> dict[str, float]:
    base = dict(DEFAULT_BASELINE)
    for key, value in (baseline or {}).items():
        one_of(key, "baseline key", tuple(DEFAULT_BASELINE))
        if key == "pass_rate":  # every answer may pass (as a treatment's may)
            check(value, f"baseline[{key!r}]", ge=0, le=1)
        elif key in RATES:  # an error rate of 1 leaves no successful call to price
            check(value, f"baseline[{key!r}]", ge=0, lt=1)
        else:
            check(value, f"baseline[{key!r}]", gt=0, lt=math.inf)
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
        m_lat = check(eff.get("latency", 1.0), f"{name}['latency']", gt=0, lt=math.inf)
        m_out = check(eff.get("tokens_out", 1.0), f"{name}['tokens_out']", gt=0, lt=math.inf)
        out = base["tokens_out"] * m_out
        if "cost" in eff:
            # A prompt changes cost through its length: solve for the input tokens that give
            # the requested cost per successful call, given the output-token change.
            m_cost = check(eff["cost"], f"{name}['cost']", gt=0, lt=math.inf)
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
