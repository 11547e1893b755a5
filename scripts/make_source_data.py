"""Write the small sample exports of the other sources into data/ (seeded, so the files are
reproducible): what notebook 06 and tests/e2e load.

- ``spanlens_requests.csv``: a Spanlens request export plus an ``arm`` column (A / B).
- ``spanlens_requests.json``: a Spanlens requests dump (JSON array) with ``prompt_version_id``
  and ``user_id``, the columns the export omits but the table holds.
- ``langfuse_observations.json``: a Langfuse ``GET /api/public/v2/observations`` page of
  GENERATION observations linked to prompt ``support-bot`` versions 3 and 4 (plus a few SPANs).
- ``langfuse_scores.jsonl``: scores of those observations: BOOLEAN ``helpful`` and NUMERIC
  ``faithfulness`` (0..1).
- ``otel_spans.json``: an OTLP JSON ``ExportTraceServiceRequest`` with GenAI chat spans; the
  prompt version is ``app.prompt.version`` and the cost ``app.cost_usd`` (no standard attribute).
- ``promptfoo_results.json``: ``promptfoo eval --output`` (v3) of two prompts × one provider ×
  60 test cases × 2 repeats.

Run: ``python scripts/make_source_data.py [DIR]`` (default ``data``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def spanlens_csv(path: Path, *, n: int = 240, seed: int = 11) -> None:
    """Arm B is slower (+20 % latency) and fails more (9 % vs 3 %)."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "A", "B")
    b = arm == "B"
    prompt = rng.integers(300, 900, n)
    completion = rng.integers(40, 260, n)
    status = np.where(rng.random(n) < np.where(b, 0.09, 0.03), 500, 200)
    status[rng.random(n) < 0.01] = 429
    frame = pd.DataFrame(
        {
            "id": [f"req-{i:04d}" for i in range(n)],
            "project_id": "proj_1",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost_usd": ((prompt * 0.15 + completion * 0.6) / 1e6).round(8),
            "latency_ms": (rng.lognormal(7.2, 0.35, n) * np.where(b, 1.2, 1.0)).round(1),
            "status_code": status,
            "error_message": np.where(status >= 400, "upstream error", ""),
            "trace_id": [f"tr-{i:04d}" for i in range(n)],
            "created_at": [_iso(T0 + dt.timedelta(minutes=3 * i)) for i in range(n)],
            "arm": arm,
        }
    )
    frame.to_csv(path, index=False)


def spanlens_json(path: Path, *, users: int = 120, seed: int = 12) -> None:
    """Prompt versions by user: pv-support-4 is cheaper (shorter answers) and as fast."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        version = "pv-support-3" if u % 2 == 0 else "pv-support-4"
        for k in range(int(rng.integers(1, 5))):
            prompt = int(rng.integers(300, 900))
            completion = int(rng.integers(60, 300) * (0.7 if version.endswith("4") else 1.0))
            status = 500 if rng.random() < 0.04 else 200
            rows.append(
                {
                    "id": f"req-{u:03d}-{k}",
                    "project_id": "proj_1",
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "cost_usd": round((prompt * 0.15 + completion * 0.6) / 1e6, 8),
                    "latency_ms": round(float(rng.lognormal(7.1, 0.4)), 1),
                    "status_code": status,
                    "error_message": "upstream error" if status >= 400 else None,
                    "trace_id": f"tr-{u:03d}-{k}",
                    "created_at": _iso(T0 + dt.timedelta(minutes=7 * u + k)),
                    "prompt_version_id": version,
                    "user_id": f"user-{u:03d}",
                    "session_id": f"sess-{u:03d}",
                }
            )
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def langfuse(obs_path: Path, scores_path: Path, *, users: int = 120, seed: int = 13) -> None:
    """Version 4 answers are judged helpful more often (80 % vs 65 %) and a bit faster."""
    rng = np.random.default_rng(seed)
    obs, scores = [], []
    for u in range(users):
        version = 3 if u % 2 == 0 else 4
        for k in range(int(rng.integers(1, 4))):
            start = T0 + dt.timedelta(minutes=5 * u + k)
            latency = round(float(rng.lognormal(0.6, 0.4) * (0.9 if version == 4 else 1.0)), 3)
            inp, out = int(rng.integers(400, 1200)), int(rng.integers(50, 300))
            cost = {"input": inp * 0.15e-6, "output": out * 0.6e-6}
            cost["total"] = round(cost["input"] + cost["output"], 10)
            error = rng.random() < 0.03
            oid, tid = f"obs-{u:03d}-{k}", f"trace-{u:03d}-{k}"
            obs.append(
                {
                    "id": oid, "traceId": tid, "type": "GENERATION", "name": "support-answer",
                    "startTime": _iso(start), "endTime": _iso(start + dt.timedelta(seconds=latency)),
                    "level": "ERROR" if error else "DEFAULT",
                    "statusMessage": "Request timed out" if error else None,
                    "userId": f"user-{u:03d}", "sessionId": f"sess-{u:03d}",
                    "providedModelName": "gpt-4o-mini",
                    "usageDetails": {"input": inp, "output": out, "total": inp + out},
                    "costDetails": cost, "totalCost": cost["total"],
                    "promptName": "support-bot", "promptVersion": version, "latency": latency,
                    "environment": "production",
                }
            )  # fmt: skip
            if k == 0:  # the retrieval step of the trace: not an LLM call
                obs.append(
                    {"id": f"span-{u:03d}", "traceId": tid, "type": "SPAN", "name": "retrieve",
                     "startTime": _iso(start), "userId": f"user-{u:03d}", "latency": 0.05}
                )  # fmt: skip
            if error:
                continue
            when = _iso(start + dt.timedelta(minutes=1))
            helpful = bool(rng.random() < (0.8 if version == 4 else 0.65))
            scores.append(
                {"id": f"sc-{oid}-h", "traceId": tid, "observationId": oid, "name": "helpful",
                 "value": int(helpful), "stringValue": str(helpful), "dataType": "BOOLEAN",
                 "source": "EVAL", "timestamp": when}
            )  # fmt: skip
            faith = float(np.clip(rng.normal(0.78 if version == 4 else 0.72, 0.12), 0, 1))
            scores.append(
                {"id": f"sc-{oid}-f", "traceId": tid, "observationId": oid,
                 "name": "faithfulness", "value": round(faith, 3), "dataType": "NUMERIC",
                 "source": "EVAL", "timestamp": when}
            )  # fmt: skip
    page = {"data": obs, "meta": {"page": 1, "limit": len(obs)}}
    obs_path.write_text(json.dumps(page, indent=1) + "\n", encoding="utf-8")
    scores_path.write_text("".join(json.dumps(s) + "\n" for s in scores), encoding="utf-8")


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP JSON: int64 as a string
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def otel(path: Path, *, n: int = 240, seed: int = 14) -> None:
    """Prompt v4 is slower (+25 % latency) with the same cost and errors."""
    rng = np.random.default_rng(seed)
    spans = []
    start0 = int(T0.timestamp()) * 10**9
    for i in range(n):
        version = "v3" if rng.random() < 0.5 else "v4"
        dur = float(rng.lognormal(0.3, 0.35) * (1.25 if version == "v4" else 1.0))
        start = start0 + i * 90 * 10**9
        inp, out = int(rng.integers(300, 900)), int(rng.integers(40, 260))
        attrs = [
            _attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", "openai"),
            _attr("gen_ai.request.model", "gpt-4o-mini"),
            _attr("gen_ai.usage.input_tokens", inp), _attr("gen_ai.usage.output_tokens", out),
            _attr("app.cost_usd", round((inp * 0.15 + out * 0.6) / 1e6, 9)),
            _attr("app.prompt.name", "support-bot"), _attr("app.prompt.version", version),
            _attr("user.id", f"user-{i % 97:03d}"),
        ]  # fmt: skip
        status: dict[str, object] = {"code": 1}
        if rng.random() < 0.05:
            attrs.append(_attr("error.type", "timeout"))
            status = {"code": 2, "message": "timeout"}
        trace = f"{i:032x}"
        spans.append(
            {"traceId": trace, "spanId": f"{i:016x}", "name": "chat gpt-4o-mini", "kind": 3,
             "startTimeUnixNano": str(start),
             "endTimeUnixNano": str(start + round(dur * 1e9)), "attributes": attrs,
             "status": status}
        )  # fmt: skip
        if i % 10 == 0:  # a retrieval span of the same trace: rejected as not an LLM call
            spans.append(
                {"traceId": trace, "spanId": f"{i:015x}f", "name": "retrieve",
                 "startTimeUnixNano": str(start - 10**8), "endTimeUnixNano": str(start),
                 "attributes": [_attr("db.system", "qdrant")]}
            )  # fmt: skip
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", "support-bot")]},
                "scopeSpans": [
                    {"scope": {"name": "opentelemetry.instrumentation.openai"}, "spans": spans}
                ],
            }
        ]
    }
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")


def promptfoo(path: Path, *, tests: int = 60, repeats: int = 2, seed: int = 15) -> None:
    """support-v4 passes more test cases (difficulty varies by case) and answers shorter."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1.2, tests)
    prompts = [
        {"raw": "Answer briefly: {{question}}", "label": "support-v3"},
        {"raw": "You are a friendly support agent. Answer: {{question}}", "label": "support-v4"},
    ]
    provider = "openai:gpt-4o-mini"
    results = []
    for r in range(repeats):
        for t in range(tests):
            for p, prompt in enumerate(prompts):
                logit = 0.8 + 1.4 * p - difficulty[t] + rng.normal(0, 0.4)
                ok = bool(rng.random() < 1 / (1 + np.exp(-logit)))
                inp, out = int(rng.integers(40, 80)), int(rng.integers(10, 60) * (1 - 0.2 * p))
                cost = round((inp * 0.15 + out * 0.6) / 1e6, 9)
                question = f"question {t}"
                results.append(
                    {
                        "id": f"r-{r}-{t}-{p}", "promptIdx": p, "testIdx": t,
                        "promptId": f"p{p}", "testCase": {"vars": {"question": question}},
                        "provider": {"id": provider, "label": ""},
                        "prompt": {"raw": prompt["raw"].replace("{{question}}", question),
                                   "label": prompt["label"]},
                        "vars": {"question": question},
                        "response": {"output": f"answer {t}", "cached": False, "cost": cost,
                                     "tokenUsage": {"prompt": inp, "completion": out,
                                                    "total": inp + out}},
                        "failureReason": 0 if ok else 1, "success": ok,
                        "score": 1.0 if ok else 0.0,
                        "latencyMs": int(rng.lognormal(6.6, 0.3) * (1 + 0.1 * p)),
                        "namedScores": {"relevance": round(float(
                            np.clip(0.6 + 0.1 * p - 0.1 * difficulty[t] + rng.normal(0, 0.1),
                                    0, 1)), 3)},
                        "gradingResult": {"pass": ok, "score": 1.0 if ok else 0.0,
                                          "reason": "All assertions passed" if ok
                                          else "Expected output to contain the answer"},
                        "cost": cost,
                    }
                )  # fmt: skip
    doc = {
        "evalId": "eval-support-2026-03-02",
        "results": {
            "version": 3,
            "timestamp": "2026-03-02T08:00:00.000Z",
            "prompts": [{**pr, "provider": provider} for pr in prompts],
            "results": results,
            "stats": {"successes": sum(x["success"] for x in results),
                      "failures": sum(not x["success"] for x in results), "errors": 0,
                      "durationMs": 48000},
        },
        "config": {"description": "support bot v3 vs v4"},
        "shareableUrl": None,
    }  # fmt: skip
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    spanlens_csv(out / "spanlens_requests.csv")
    spanlens_json(out / "spanlens_requests.json")
    langfuse(out / "langfuse_observations.json", out / "langfuse_scores.jsonl")
    otel(out / "otel_spans.json")
    promptfoo(out / "promptfoo_results.json")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data"))
