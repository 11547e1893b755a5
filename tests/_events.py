"""Tiny hand-made PostHog exports for tests, written in the three formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

FLAG = "prompt-test"


def shared_reference() -> Path:
    """``shared/reference`` beside the checkout (as CI lays it), else the session's copy."""
    beside = Path(__file__).resolve().parents[2] / "shared" / "reference"
    return beside if beside.exists() else Path("/work/shared/reference")


T0 = pd.Timestamp("2026-03-01T10:00:00Z")


def ev(uuid, event, distinct_id, minutes, props, person_id=None):
    return {
        "uuid": uuid,
        "event": event,
        "distinct_id": distinct_id,
        "person_id": person_id,
        "timestamp": T0 + pd.Timedelta(minutes=minutes),
        "properties": props,
    }


def expo(uuid, user, minutes, variant, flag=FLAG):
    return ev(
        uuid,
        "$feature_flag_called",
        user,
        minutes,
        {"$feature_flag": flag, "$feature_flag_response": variant},
    )


def gen(
    uuid,
    user,
    minutes,
    *,
    latency=1.0,
    cost=0.01,
    error=False,
    prompt="support",
    version="1",
    **extra,
):
    p = {
        "$ai_latency": latency,
        "$ai_total_cost_usd": cost,
        "$ai_input_tokens": 100,
        "$ai_output_tokens": 50,
        "$ai_model": "gpt-4o-mini",
        "$ai_provider": "openai",
        "$ai_http_status": 500 if error else 200,
        "$ai_prompt_name": prompt,
        "$ai_prompt_version": version,
        "$ai_trace_id": f"t-{uuid}",
        **extra,
    }
    if error:
        p["$ai_is_error"] = True
        p["$ai_error"] = "boom"
    return ev(uuid, "$ai_generation", user, minutes, p)


def evaluation(uuid, user, minutes, target, result, applicable=True):
    p = {
        "$ai_evaluation_name": "helpful",
        "$ai_evaluation_result": result,
        "$ai_target_event_id": target,
    }
    if not applicable:
        p["$ai_evaluation_applicable"] = False
    return ev(uuid, "$ai_evaluation", user, minutes, p)


def unpriced_generations(seed, model, output_tokens):
    """200 users (odd ids v1, even v2) with 2 OpenAI generations each that carry tokens but no
    exported cost, as a generations frame; ``model(i, k)`` names the model of user ``i``'s
    ``k``-th generation, ``output_tokens(i, rng)`` its output tokens (drawn after the input)."""
    import datetime as dt

    t0, rng = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), np.random.default_rng(seed)
    rows = []
    for i in range(200):
        for k in range(2):
            inp = int(rng.integers(100, 900))
            rows.append(
                {"uuid": f"g{i}_{k}", "ts": t0 + dt.timedelta(minutes=i + k),
                 "distinct_id": f"u{i}", "prompt_name": "bot",
                 "prompt_version": "v1" if i % 2 else "v2", "provider": "openai",
                 "model": model(i, k), "input_tokens": inp,
                 "output_tokens": output_tokens(i, rng), "cost_usd": None}
            )  # fmt: skip
    return pd.DataFrame(rows)


def write(events: list[dict], directory: Path, stem: str = "events") -> dict[str, Path]:
    """Write the events as Parquet (properties JSON text), JSONL (nested) and CSV."""
    directory.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(events)
    flat = df.assign(properties=df["properties"].map(json.dumps))
    paths = {
        "parquet": directory / f"{stem}.parquet",
        "jsonl": directory / f"{stem}.jsonl",
        "csv": directory / f"{stem}.csv",
    }
    ts = pd.to_datetime(flat["timestamp"], errors="coerce", utc=True).astype("datetime64[us, UTC]")
    flat.assign(timestamp=ts).to_parquet(paths["parquet"], index=False)
    with paths["jsonl"].open("w") as fh:
        for e in events:
            row = dict(e, timestamp=_iso(e["timestamp"]))
            fh.write(json.dumps(row) + "\n")
    flat.assign(timestamp=flat["timestamp"].map(_iso)).to_csv(paths["csv"], index=False)
    return paths


def _iso(t: object) -> str:
    return t.isoformat() if isinstance(t, pd.Timestamp) else str(t)


def synthetic_events(users: int = 400, seed: int = 7) -> list[dict]:
    """A small export exercising every exposure rule: contaminated users, generations before
    exposure, an unrelated flag, unexposed users, users without generations, N/A evaluations."""
    rng = np.random.default_rng(seed)
    evs: list[dict] = []
    for u in range(users):
        user = f"u{u}"
        variant = "control" if u % 2 else "test"
        evs.append(expo(f"e{u}", user, u, variant))
        if u % 50 == 0:  # contaminated: also saw the other arm
            evs.append(expo(f"e{u}b", user, u + 3, "test" if variant == "control" else "control"))
        if u % 40 == 1:
            evs.append(expo(f"x{u}", user, u, "on", flag="unrelated-flag"))
        if u % 30 == 2:
            evs.append(gen(f"pre{u}", user, u - 5, latency=9.0, cost=1.0))
        for k in range(int(rng.integers(0, 4))):
            lat = float(rng.lognormal(0, 0.5)) * (0.9 if variant == "test" else 1.0)
            evs.append(
                gen(
                    f"g{u}_{k}",
                    user,
                    u + k + 1,
                    latency=lat,
                    cost=float(rng.gamma(2, 0.01)),
                    error=bool(rng.random() < 0.08),
                    version="2" if variant == "test" else "1",
                )
            )
            evs.append(
                evaluation(
                    f"v{u}_{k}",
                    user,
                    u + k + 2,
                    f"g{u}_{k}",
                    bool(rng.random() < 0.8),
                    applicable=bool(rng.random() > 0.1),
                )
            )
    for u in range(20):  # never exposed
        evs.append(gen(f"n{u}", f"stranger{u}", u, latency=5.0, cost=0.5))
    return evs
