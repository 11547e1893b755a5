"""Property tests: exports with random faults keep the accounting invariant and reload as no-ops.

Each generated export mixes good events with faults from the hostile-export catalogue (issue 21);
every faulty row must be rejected with a reason, every good row loaded once, duplicates counted,
and a second load of the same file must add nothing.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptab_nb.workspace import Workspace

from .conftest import accounted

T = "2026-03-01T10:00:00Z"
# (name, how it breaks an event) — each makes the row a reject
FAULTS = {
    "tokens not whole": lambda e: e["properties"].update({"$ai_input_tokens": 12.5}),
    "status not whole": lambda e: e["properties"].update({"$ai_http_status": 503.7}),
    "negative latency": lambda e: e["properties"].update({"$ai_latency": -1}),
    "infinite time": lambda e: e.update(timestamp="infinity"),
    "year 2500": lambda e: e.update(timestamp="2500-01-01T00:00:00Z"),
    "year 1970": lambda e: e.update(timestamp="1970-01-01T00:00:00Z"),
    "null distinct_id": lambda e: e.update(distinct_id="null"),
    "no distinct_id": lambda e: e.update(distinct_id=""),
    "bad time": lambda e: e.update(timestamp="yesterday"),
    "boolean variant": lambda e: e["properties"].update({"$feature_flag_response": True}),
    "$multiple variant": lambda e: e["properties"].update({"$feature_flag_response": "$multiple"}),
    "padded variant": lambda e: e["properties"].update({"$feature_flag_response": " test "}),
    "empty variant": lambda e: e["properties"].update({"$feature_flag_response": ""}),
    "other event": lambda e: e.update(event="$pageview"),
}


def _event(i: int, kind: str, user: int) -> dict:
    if kind == "exposure":
        event, props = (
            "$feature_flag_called",
            {"$feature_flag": "f", "$feature_flag_response": "test"},
        )
    else:
        event, props = "$ai_generation", {"$ai_latency": 0.5 + i, "$ai_input_tokens": 10}
    return {"uuid": f"u{i}", "event": event, "distinct_id": f"d{user}", "person_id": "null",
            "timestamp": T, "properties": props}  # fmt: skip


_GENERATION_ONLY = ("tokens not whole", "status not whole", "negative latency")


def _applies(fault: str, kind: str) -> bool:
    if "variant" in fault:
        return kind == "exposure"
    return fault not in _GENERATION_ONLY or kind == "generation"


_row = st.tuples(
    st.sampled_from(["exposure", "generation"]),
    st.integers(0, 5),
    st.one_of(st.none(), st.sampled_from(sorted(FAULTS))),
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(_row, min_size=1, max_size=15),
    repeats=st.lists(st.integers(0, 14), max_size=3),
    fmt=st.sampled_from(["jsonl", "csv", "csv-flat"]),
    dup_key=st.booleans(),
)
def test_random_faults_keep_the_accounting(tmp_path_factory, rows, repeats, fmt, dup_key):
    events, faulty = [], 0
    for i, (kind, user, fault) in enumerate(rows):
        e = _event(i, kind, user)
        if fault is not None and _applies(fault, kind):
            FAULTS[fault](e)
            faulty += 1
        events.append(e)
    good = len(events) - faulty
    events += [events[r] for r in repeats if r < len(events)]  # exact copies: duplicates
    path = tmp_path_factory.mktemp("prop") / f"e.{fmt.split('-')[0]}"
    lines = [json.dumps(e) for e in events]
    if dup_key and fmt == "jsonl":  # one more row, with a key twice in its properties
        lines.append(json.dumps(_event(99, "generation", 0))[:-2] + ', "$ai_latency": 9}}')
        faulty += 1
    if fmt == "jsonl":
        path.write_text("\n".join(lines) + "\n")
    else:
        keys = sorted({k for e in events for k in e["properties"]})
        flat = fmt == "csv-flat"
        head = ["uuid", "event", "distinct_id", "person_id", "timestamp"]
        head += [f"properties.{k}" for k in keys] if flat else ["properties"]
        out = [",".join(head)]
        for e in events:
            cells = [e[k] for k in head[:5]]
            if flat:
                cells += [e["properties"].get(k, "") for k in keys]
            else:
                cells.append(json.dumps(e["properties"]))
            out.append(",".join(_cell(c) for c in cells))
        path.write_text("\n".join(out) + "\n")
    with Workspace() as ws:
        first = ws.load_posthog(path, progress=False)
        accounted(first)
        assert first.rows_read == len(events) + (dup_key and fmt == "jsonl")
        assert first.rows_loaded <= good
        assert first.rows_rejected >= faulty
        missing = ws.sql("SELECT count(*) AS n FROM rejects WHERE coalesce(reason, '') = ''").n[0]
        assert missing == 0
        before = {k: n for k, n in ws.counts().items() if k != "imports"}
        again = ws.load_posthog(path, progress=False)
        accounted(again)
        assert again.rows_loaded == 0
        assert {k: n for k, n in ws.counts().items() if k != "imports"} == before
        # a row rejected before is not rejected twice: the rejects table does not grow either
        assert ws.sql("SELECT count(*) AS n FROM rejects").n[0] == first.rows_rejected


def _cell(value: object) -> str:
    if isinstance(value, bool):
        value = json.dumps(value)
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text
