"""One chunk of simulated users and their events, drawn with numpy and held as Arrow tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..assignment import _lookup_table
from ..assignment._hash import _hashes
from ._columns import _const, _masked, _pick, _ts, _user_ids, _uuid4
from ._params import (
    _DAY,
    _DISPERSION,
    _ERRORS,
    _EVAL_SHARE,
    _HOUR,
    _LAT_FACTOR,
    _MODEL_SHARE,
    _MODELS,
    _NOT_APPLICABLE,
    _OTHER_FLAG_SHARE,
    _PRE_EXPOSURE_SHARE,
    _PRICE_IN,
    _PRICE_OUT,
    _REPEAT_EXPOSURES,
    _SIGMA_GEN,
    _SIGMA_TOKENS_IN,
    _SIGMA_TOKENS_OUT,
    _SIGMA_USER,
    _STREAM_SHARE,
    _US,
    _Arms,
)


@dataclass(frozen=True)
class _Plan:
    keys: list[str]
    versions: list[str | int]
    split: tuple[tuple[str, float], ...]  # (variant key, percent of traffic), as the flag has it
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


def _variant_index(distinct: pa.Array, plan: _Plan) -> np.ndarray:
    """Position in ``plan.keys`` of each id's variant, bucketed by PostHog's hash of the flag key
    and the id (``h(key, id, "variant")``) as :func:`promptab_nb.assign` and the audit do."""
    _, h = _hashes(distinct, plan.flag_key, rollout=False, variant=True)
    assert h is not None  # variant=True
    index = np.searchsorted(_lookup_table(plan.split), h, side="right")
    # Past the last range (float rounding, probability ~1e-16) PostHog serves no variant; the
    # simulation keeps such an id in the last arm.
    return np.minimum(index, len(plan.keys) - 1)


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
    # The variant is PostHog's hash of the id, not a draw, so that re-hashing the logged exposures
    # (exp.audit()) agrees. The uniforms that once chose it are still drawn: every other column
    # of a seed stays as it was.
    rng.random(n)
    variant = _variant_index(distinct, plan)
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
