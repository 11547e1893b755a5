"""PostHog loader: formats, flattened CSV, manifests, compression, idempotence."""

from __future__ import annotations

import csv
import gzip
import json

import _events as E
import duckdb
import pytest

from promptab_nb.errors import MissingColumnError

from .conftest import accounted


def _events():
    return [
        E.expo("e1", "u1", 0, "control"),
        E.expo("e2", "u2", 0, "test"),
        E.gen("g1", "u1", 1, latency=1.5, cost=0.002),
        E.gen("g2", "u2", 2, error=True),
        E.evaluation("v1", "u1", 3, "g1", True),
        E.evaluation("v2", "u2", 3, "g2", False, applicable=False),
        E.ev("x1", "$pageview", "u1", 4, {"$current_url": "https://x"}),
    ]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_formats_load_and_reload_adds_nothing(ws, tmp_path, fmt):
    path = E.write(_events(), tmp_path)[fmt]
    r = ws.load_posthog(path, progress=False)
    accounted(r)
    assert r.loaded == {"exposures": 2, "generations": 2, "evaluations": 2}
    assert r.reasons == {"event type not used by promptab_nb": 1}
    g = ws.sql("SELECT uuid, latency_s, cost_usd, is_error FROM generations ORDER BY uuid")
    assert g.latency_s.tolist() == [1.5, 1.0] and g.is_error.tolist() == [False, True]
    again = ws.load_posthog(path, progress=False)
    accounted(again)
    assert again.rows_loaded == 0 and again.rows_duplicate == 7
    assert ws.counts()["rejects"] == 1


def _flat_csv(path, star: bool):
    pre = "*." if star else ""
    props = sorted({k for e in _events() for k in e["properties"]})
    cols = [f"{pre}uuid", f"{pre}event", f"{pre}distinct_id", f"{pre}timestamp"]
    cols += [f"{pre}properties.{k}" for k in props]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for e in _events():
            p = e["properties"]
            w.writerow(
                [e["uuid"], e["event"], e["distinct_id"], e["timestamp"].isoformat()]
                + [("True" if p[k] is True else p[k]) if k in p else "" for k in props]
            )


@pytest.mark.parametrize("star", [False, True])
def test_flattened_properties_csv(ws, tmp_path, star):
    path = tmp_path / "ui.csv"
    _flat_csv(path, star)
    r = ws.load_posthog(path, progress=False)
    accounted(r)
    assert r.loaded == {"exposures": 2, "generations": 2, "evaluations": 2}
    row = ws.sql("SELECT * FROM generations WHERE uuid = 'g2'").iloc[0]
    assert row.is_error and row.http_status == 500 and row.model == "gpt-4o-mini"
    assert ws.sql("SELECT variant FROM exposures ORDER BY uuid").variant.tolist() == [
        "control",
        "test",
    ]


def test_manifest_lists_the_split_files(ws, tmp_path):
    evs = _events()
    a = E.write(evs[:3], tmp_path, "part-0")["jsonl"]
    b = E.write(evs[3:], tmp_path, "part-1")["jsonl"]
    for f in tmp_path.glob("*.csv"):
        f.unlink()
    for f in tmp_path.glob("*.parquet"):
        f.unlink()
    (tmp_path / "manifest.json").write_text(
        json.dumps({"files": [f"exports/2026/{a.name}", b.name]})
    )
    r = ws.load_posthog(tmp_path / "manifest.json", progress=False)
    assert [f.file for f in r.files] == [str(a), str(b)]
    assert r.rows_loaded == 6
    # The directory holding a manifest loads the manifest's files.
    assert ws.load_posthog(tmp_path, progress=False).rows_duplicate == 7


def test_gzip_and_zstd_jsonl_and_parquet_zst(ws, tmp_path):
    paths = E.write(_events(), tmp_path)
    gz = tmp_path / "ev.jsonl.gz"
    gz.write_bytes(gzip.compress(paths["jsonl"].read_bytes()))
    zst = tmp_path / "ev2.jsonl.zst"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM read_csv($p, columns={'l': 'VARCHAR'}, header=false, delim='\\0', "
        "quote='', escape='')) TO '" + str(zst) + "' (FORMAT csv, HEADER false, QUOTE '', "
        "COMPRESSION zstd)",
        {"p": str(paths["jsonl"])},
    )
    pq = tmp_path / "ev.parquet.zst"
    pq.write_bytes(paths["parquet"].read_bytes())
    csv_zst = tmp_path / "ev.csv.zst"
    con.execute(
        f"COPY (SELECT * FROM read_csv('{paths['csv']}', all_varchar=true)) TO '{csv_zst}' "
        "(FORMAT csv, COMPRESSION zstd)"
    )
    for p in (gz, zst, pq, csv_zst):
        w = type(ws)()
        r = w.load_posthog(p, progress=False)
        accounted(r)
        assert r.loaded == {"exposures": 2, "generations": 2, "evaluations": 2}, p


def test_missing_required_column_is_named(ws, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("uuid,event,timestamp,properties\n1,$ai_generation,2026-01-01,{}\n")
    with pytest.raises(MissingColumnError, match="bad.csv has no column 'distinct_id'"):
        ws.load_posthog(path, progress=False)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_properties_that_are_not_an_object_are_rejected(ws, tmp_path, fmt):
    events = [E.gen("g1", "u1", 1), E.gen("g2", "u1", 2), E.gen("g3", "u1", 3)]
    events[1]["properties"] = [1, 2]
    events[2]["properties"] = 42
    r = ws.load_posthog(E.write(events, tmp_path)[fmt], progress=False)
    accounted(r)
    assert r.loaded["generations"] == 1
    assert r.reasons == {"properties is not a JSON object": 2}


def test_parquet_row_with_invalid_json_properties_is_rejected_alone(tmp_path) -> None:
    """Every JSON function of the stage runs on every row of a vector (no short-circuit): one
    that is not wrapped in TRY failed the whole file on one bad row."""
    import pandas as pd
    from _events import expo, gen, write

    import promptab_nb as pab

    paths = write([expo("e1", "u1", 0, "control"), gen("g1", "u1", 1)], tmp_path)
    df = pd.read_parquet(paths["parquet"])
    bad = df.iloc[[0]].assign(uuid="bad", properties="{not json")
    pd.concat([df, bad]).to_parquet(paths["parquet"], index=False)
    ws = pab.Workspace()
    r = ws.load_posthog(paths["parquet"], progress=False)
    assert r.reasons == {"properties is not valid JSON": 1}
    assert ws.counts()["exposures"] == 1 and ws.counts()["generations"] == 1


def test_jsonl_needing_the_record_reader_counts_an_unreadable_line_once(ws, tmp_path):
    # Lines are parsed as they are read; an API page among them sends the file to the record
    # reader, which reads it again: the undecodable line is still one reject, on its own line.
    lines = E.write(_events(), tmp_path)["jsonl"].read_bytes().splitlines()
    page = json.dumps({"data": [json.loads(x) for x in lines[2:4]]}).encode()
    path = tmp_path / "paged.jsonl"
    path.write_bytes(b"\n".join([lines[0], lines[1], b"\xff bad", page, *lines[4:]]) + b"\n")
    r = ws.load_posthog(path, progress=False)
    accounted(r)
    assert r.loaded == {"exposures": 2, "generations": 2, "evaluations": 2}
    bad = ws.sql("SELECT source_row, reason FROM rejects WHERE raw IS NOT NULL")
    assert bad.values.tolist() == [[3, "line is not UTF-8 text (re-export the file as UTF-8)"]]


def test_jsonl_without_a_required_key_is_named(ws, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"uuid": "1", "event": "$ai_generation", "timestamp": "2026-01-01", '
                    '"properties": {}}\n')  # fmt: skip
    with pytest.raises(MissingColumnError, match="bad.jsonl has no column 'distinct_id'"):
        ws.load_posthog(path, progress=False)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_cache_tokens_and_whether_the_input_counts_them(ws, tmp_path, fmt):
    # PostHog's rule: Anthropic reports cached tokens apart from $ai_input_tokens (unless
    # through the Vercel gateway with an input that holds them), other providers inside it,
    # and an explicit $ai_cache_reporting_exclusive wins.
    read = {"$ai_cache_read_input_tokens": 1000}
    claude = {"$ai_model": "claude-sonnet-4-5", "$ai_provider": "anthropic"}
    gateway = {"$ai_model": "anthropic/claude-sonnet-4-5", "$ai_provider": "gateway",
               "$ai_framework": "vercel"}  # fmt: skip
    events = [
        E.gen("g1", "u1", 1, **claude, **read, **{"$ai_cache_creation_input_tokens": 20}),
        E.gen("g2", "u1", 2, **read),  # openai
        E.gen("g3", "u1", 3),  # no cache fields
        E.gen("g4", "u1", 4, **gateway, **read, **{"$ai_input_tokens": 1100}),
        E.gen("g5", "u1", 5, **gateway, **read),  # input 100 < 1000 cached: apart
        E.gen("g6", "u1", 6, **read, **{"$ai_cache_reporting_exclusive": True}),
        E.gen("g7", "u1", 7, **{"$ai_cache_read_input_tokens": 2.5}),
        E.gen("g8", "u1", 8, **read, **{"$ai_cache_reporting_exclusive": "maybe"}),
    ]
    r = ws.load_posthog(E.write(events, tmp_path)[fmt], progress=False)
    accounted(r)
    assert r.reasons == {
        "properties.$ai_cache_read_input_tokens is not a whole number >= 0": 1,
        "properties.$ai_cache_reporting_exclusive is not true/false": 1,
    }
    g = ws.sql(
        "SELECT uuid, cache_read_tokens AS r, cache_write_tokens AS w, cache_in_input AS inc "
        "FROM generations ORDER BY uuid"
    ).set_index("uuid")
    g = g.astype(object).where(g.notna(), None)
    assert g.inc.to_dict() == {"g1": False, "g2": True, "g3": None, "g4": True, "g5": False,
                               "g6": False}  # fmt: skip
    assert g.r.to_dict() == {"g1": 1000, "g2": 1000, "g3": None, "g4": 1000, "g5": 1000,
                             "g6": 1000}  # fmt: skip
    assert g.w["g1"] == 20 and g.w.drop("g1").isna().all()


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_claude_models_report_cached_tokens_apart_whatever_the_provider(ws, tmp_path, fmt):
    # PostHog's rule also counts a model named claude* (Claude on Vertex, Bedrock, a gateway)
    # as Anthropic-style: its $ai_input_tokens leave the cached tokens out.
    read = {"$ai_cache_read_input_tokens": 1000}
    events = [
        E.gen("g1", "u1", 1, **read, **{"$ai_provider": "vertex",
                                        "$ai_model": "claude-3-5-sonnet-v2@20241022"}),
        E.gen("g2", "u1", 2, **read, **{"$ai_provider": "openrouter",
                                        "$ai_model": "Claude-Sonnet-4-5"}),
        # the Vercel gateway counts them inside, unless the input is smaller than them
        E.gen("g3", "u1", 3, **read, **{"$ai_provider": "gateway", "$ai_framework": "Vercel",
                                        "$ai_model": "claude-sonnet-4"}),
        E.gen("g4", "u1", 4, **read, **{"$ai_provider": "gateway", "$ai_framework": "vercel",
                                        "$ai_model": "claude-sonnet-4", "$ai_input_tokens": 1500}),
        # the gateway without the Vercel framework: Anthropic's own counting
        E.gen("g5", "u1", 5, **read, **{"$ai_provider": "gateway",
                                        "$ai_model": "anthropic/claude-sonnet-4"}),
        E.gen("g6", "u1", 6, **read, **{"$ai_provider": "ANTHROPIC", "$ai_model": "x"}),
        # "claude" elsewhere in the name is not a Claude model; an explicit value wins
        E.gen("g7", "u1", 7, **read, **{"$ai_model": "my-claude-distill"}),
        E.gen("g8", "u1", 8, **read, **{"$ai_provider": "vertex", "$ai_model": "claude-3-haiku",
                                        "$ai_cache_reporting_exclusive": False}),
    ]  # fmt: skip
    r = ws.load_posthog(E.write(events, tmp_path)[fmt], progress=False)
    accounted(r)
    assert r.rows_rejected == 0
    inc = ws.sql("SELECT uuid, cache_in_input FROM generations ORDER BY uuid")
    assert dict(zip(inc.uuid, inc.cache_in_input.tolist(), strict=True)) == {
        "g1": False, "g2": False, "g3": False, "g4": True, "g5": False, "g6": False,
        "g7": True, "g8": True,
    }  # fmt: skip
