"""A small PostHog export exercising every typing and exposure rule, written as Parquet.

Three arms on one flag (and prompt versions per arm, for the flag-less experiment), users over
four days with calls before exposure (inside and outside a CUPED window), contaminated and
unexposed users, a person with two distinct ids, errors signalled each way PostHog does, evaluation
results in every accepted spelling, N/A evaluations, duplicates, and rows the loader rejects.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _events import T0, ev, evaluation, expo, gen  # noqa: E402

FLAG = "prompt-test"
ARMS = {"control": "1", "test": "2", "bold": "3"}
SPLIT = {"control": 40.0, "test": 30.0, "bold": 30.0}


def events(users: int = 300, seed: int = 11) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    keys = list(ARMS)
    out: list[dict[str, Any]] = []
    for u in range(users):
        user = f"u{u}"
        person = f"p{u}" if u % 7 == 0 else None
        arm = keys[int(rng.choice(3, p=[0.4, 0.3, 0.3]))]
        t = float(rng.uniform(0, 4 * 1440))  # minutes after T0: four days
        e = expo(f"x{u}", f"anon-{u}" if person else user, t, arm)
        e["person_id"] = person
        out.append(e)
        if u % 40 == 3:  # contaminated: exposed to a second arm a bit later
            out.append(expo(f"x{u}b", user, t + 3, keys[(keys.index(arm) + 1) % 3]))
        if u % 25 == 4:
            out.append(expo(f"o{u}", user, t, "on", flag="unrelated-flag"))
        if u % 3 == 0:  # activity before exposure: inside the 14-day CUPED window …
            for k in range(int(rng.integers(1, 4))):
                out.append(
                    _with_person(
                        gen(
                            f"pre{u}_{k}",
                            user,
                            t - float(rng.uniform(60, 5 * 1440)),
                            latency=float(rng.lognormal(0, 0.4)),
                            cost=float(rng.gamma(2, 0.01)),
                            version="1",
                        ),
                        person,
                    )
                )
        if u % 11 == 0:  # … and outside it
            out.append(_with_person(gen(f"old{u}", user, t - 20 * 1440, latency=3.0), person))
        effect = {"control": 1.0, "test": 0.85, "bold": 1.1}[arm]
        for k in range(int(rng.poisson(2.5))):
            at = t + float(rng.uniform(1, 2 * 1440))
            uid = f"g{u}_{k}"
            kind = rng.random()
            extra: dict[str, Any] = {
                "$ai_output_tokens": int(rng.integers(10, 400)),
                "$ai_input_tokens": int(rng.integers(50, 900)),
            }
            g = gen(
                uid,
                user,
                at,
                latency=float(rng.lognormal(0, 0.5)) * effect,
                cost=float(rng.gamma(2, 0.01)) * effect,
                error=kind < 0.06,
                version=ARMS[arm],
                **extra,
            )
            p = g["properties"]
            if 0.06 <= kind < 0.08:  # SDK error: status 0, no $ai_is_error
                p["$ai_http_status"] = 0
            elif 0.08 <= kind < 0.10:  # rate limited: 429, no $ai_is_error
                p["$ai_http_status"] = 429
            elif 0.10 <= kind < 0.12:
                p["$ai_is_error"] = "false"
            elif 0.12 <= kind < 0.14:  # cost from input + output costs
                del p["$ai_total_cost_usd"]
                p["$ai_input_cost_usd"] = 0.004
                p["$ai_output_cost_usd"] = "0.002"
            elif 0.14 <= kind < 0.16:
                del p["$ai_latency"]
            elif 0.16 <= kind < 0.17:
                p["$ai_prompt_name"] = "other-bot"
            elif 0.17 <= kind < 0.18:
                p["$ai_output_tokens"] = 41.6  # integral tokens arrive as doubles sometimes
            out.append(_with_person(g, person))
            if rng.random() < 0.7:
                r = rng.random()
                result: Any = (
                    ["pass", "fail", "PASS", " Fail "][int(rng.integers(0, 4))]
                    if r < 0.2
                    else bool(rng.random() < 0.75 / effect)
                )
                ev_ = evaluation(
                    f"v{u}_{k}", user, at + 1, uid, result, applicable=rng.random() > 0.1
                )
                if r > 0.95:  # score only
                    del ev_["properties"]["$ai_evaluation_result"]
                    ev_["properties"]["$ai_score"] = float(rng.random())
                out.append(ev_)
    for u in range(15):  # never exposed
        out.append(gen(f"n{u}", f"stranger{u}", 100 + u, latency=5.0, cost=0.5))
    # an input cost alone: unpriced beside output tokens, the whole cost without them
    for uid, out_tokens in (("half1", 120), ("half2", 0)):
        half = gen(
            uid,
            "stranger0",
            200,
            cost=None,
            **{"$ai_input_cost_usd": 0.003, "$ai_output_tokens": out_tokens},
        )
        del half["properties"]["$ai_total_cost_usd"]
        out.append(half)
    # duplicates (same uuid) and an unrelated event type
    out.extend([dict(out[5]), dict(out[9]), ev("pv1", "$pageview", "u1", 5, {"$current_url": "/"})])
    # rows the loader rejects
    out.append(gen("bad1", "u2", 2000, latency=-1.0))
    bad2 = gen("bad2", "u2", 2001)
    bad2["properties"]["$ai_total_cost_usd"] = "abc"
    bad3 = gen("bad3", "u2", 2002)
    bad3["properties"]["$ai_is_error"] = "maybe"
    bad4 = expo("bad4", "u4", 10, "control")
    del bad4["properties"]["$feature_flag_response"]
    bad5 = evaluation("bad5", "u2", 2003, "g2_0", "meh")
    bad6 = gen("bad6", "", 2004)
    bad7 = gen("bad7", '["u2"]', 2005)  # ids that are JSON lists / objects
    bad8 = _with_person(gen("bad8", "u2", 2006), '{"id": "p2"}')
    out.extend([bad2, bad3, bad4, bad5, bad6, bad7, bad8])
    return out


def _with_person(e: dict[str, Any], person: str | None) -> dict[str, Any]:
    e["person_id"] = person
    return e


def write(directory: Path, users: int = 300, seed: int = 11) -> Path:
    """Write the events as a PostHog batch-export Parquet file (properties as JSON text)."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = events(users, seed)
    df = pd.DataFrame(rows)
    df["properties"] = df["properties"].map(json.dumps)
    # No uuid on two identical copies of one event (deduplicated by content), invalid JSON on one.
    extra = df.iloc[[20, 20]].assign(uuid=None)
    bad_json = df.iloc[[21]].assign(uuid="badjson", properties="{not json")
    df = pd.concat([df, extra, bad_json], ignore_index=True)
    df["timestamp"] = df["timestamp"].astype("datetime64[us, UTC]")
    path = directory / "posthog_events.parquet"
    df.to_parquet(path, index=False)
    return path


__all__ = ["ARMS", "FLAG", "SPLIT", "T0", "events", "write"]
