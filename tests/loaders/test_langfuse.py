"""Langfuse observations (seconds, prompt versions, usage and cost details) and scores."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from promptab_nb import pricing
from promptab_nb.errors import InvalidArgumentError, UnknownFormatError
from promptab_nb.loaders import _files

from .conftest import DATA, accounted


def test_observations_and_scores(ws):
    r = ws.load_langfuse(DATA / "langfuse_observations.json", scores=DATA / "langfuse_scores.jsonl")
    accounted(r)
    assert r.loaded == {"generations": 3, "evaluations": 3}
    assert set(r.reasons) == {
        "observation type not used by promptab_nb (only GENERATION)",
        "dataType is not BOOLEAN or NUMERIC (categorical scores are not used)",
    }
    g = ws.sql("SELECT * FROM generations ORDER BY uuid")
    assert g.latency_s.tolist() == [2.35, 30.0, 1.5]  # latency, else endTime - startTime
    assert g.ttft_s.tolist()[0] == pytest.approx(0.41)
    assert g.input_tokens.tolist() == [812, 790, 640]  # usageDetails, then v1 usage
    # obs-0002: costDetails {} and totalCost 0, a model Langfuse has no price for
    assert g.cost_usd.tolist()[::2] == pytest.approx([0.0002076, 0.000149])
    assert math.isnan(g.cost_usd[1])
    assert g.is_error.tolist() == [False, True, False]
    assert g.prompt_name.tolist() == ["support-bot"] * 3 and g.prompt_version.tolist() == [
        "3",
        "4",
        "4",
    ]
    assert g.distinct_id.tolist() == ["user-17", "user-18", "trace-a3"]
    e = ws.sql("SELECT * FROM evaluations ORDER BY uuid")
    assert e.target_uuid.tolist() == ["obs-0001", "obs-0004", "obs-0001"]
    assert e.passed.tolist()[:2] == [True, False] and e.passed.isna().tolist()[2]
    assert e.distinct_id.tolist() == ["user-17", "trace-a3", "user-17"]  # from the generation
    again = ws.load_langfuse(
        DATA / "langfuse_observations.json", scores=DATA / "langfuse_scores.jsonl"
    )
    assert again.rows_loaded == 0 and again.rows_duplicate == 8


def test_csv_observations_and_numeric_threshold(ws):
    r = ws.load_langfuse(DATA / "langfuse_observations.csv")
    accounted(r)
    assert r.reasons == {"latency is not a finite number >= 0": 1}  # NaN latency
    g = ws.sql("SELECT * FROM generations").iloc[0]
    assert (g.input_tokens, g.output_tokens, g.cost_usd) == (500, 60, 0.000111)
    r = ws.load_langfuse(scores=DATA / "langfuse_scores.jsonl", pass_threshold=0.8)
    assert ws.sql("SELECT passed FROM evaluations WHERE name = 'faithfulness'").passed[0]
    with pytest.raises(InvalidArgumentError):
        ws.load_langfuse()


def test_a_bad_scores_path_starts_no_hashing(ws, tmp_path, monkeypatch):
    submitted = []
    monkeypatch.setattr(_files, "sha256_later", submitted.append)
    bad = tmp_path / "scores.txt"
    bad.write_text("not an export")
    with pytest.raises(UnknownFormatError, match=r"scores\.txt"):
        ws.load_langfuse(DATA / "langfuse_observations.json", scores=bad)
    assert submitted == []  # the observation files, checked first, are not hashed in vain


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -math.inf, "high", "0.5", True])
def test_pass_threshold_must_be_a_finite_number(ws, bad):
    with pytest.raises(InvalidArgumentError, match="pass_threshold"):
        ws.load_langfuse(scores=DATA / "langfuse_scores.jsonl", pass_threshold=bad)
    r = ws.load_langfuse(scores=DATA / "langfuse_scores.jsonl", pass_threshold=np.float64(-1))
    assert ws.sql("SELECT passed FROM evaluations WHERE name = 'faithfulness'").passed[0]
    assert r.rows_loaded == 3


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_score_reasons_and_no_id_texts(ws, tmp_path):
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "latency": 1.0}
    obs_path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "null", "traceId": "t1", "userId": "undefined"},  # the trace is the unit
        {**obs, "id": "null", "traceId": "t2", "userId": "u2"},  # not a copy of the first
        {**obs, "id": "o3", "traceId": "None", "userId": ""},
    ])  # fmt: skip
    score = {"timestamp": "2026-03-02T08:00:01Z", "name": "q", "dataType": "NUMERIC"}
    scores = _jsonl(tmp_path / "scores.jsonl", [
        {**score, "id": "s1", "traceId": "t1", "value": -2.5},  # negatives are scores
        {**score, "id": "s2", "traceId": "t1", "value": True},
        {**score, "id": "s3", "traceId": "null", "observationId": "undefined", "value": 1},
    ])  # fmt: skip
    r = ws.load_langfuse(obs_path, scores=scores)
    accounted(r)
    assert r.loaded == {"generations": 2, "evaluations": 1} and r.rows_duplicate == 0
    assert r.reasons == {
        "traceId and userId are missing": 1,
        "value is not a finite number": 1,
        "traceId and observationId are missing": 1,
    }
    g = ws.sql("SELECT distinct_id FROM generations ORDER BY trace_id")
    assert g.distinct_id.tolist() == ["t1", "u2"]
    assert ws.sql("SELECT score FROM evaluations").score.tolist() == [-2.5]


@pytest.mark.parametrize(
    ("args", "kw", "message"),
    [
        (
            ["langfuse_scores.jsonl"],
            {},
            r"langfuse_scores\.jsonl has no key 'startTime'.*pass it as scores=",
        ),
        (["spanlens_requests.csv"], {}, r"no key 'startTime'.*use a Langfuse observations export"),
        ([], {"scores": "langfuse_observations.json"}, r"no key 'timestamp'.*pass it as the first"),
        (
            ["langfuse_observations.json"],
            {"scores": "../../data/posthog_events.csv"},
            r"posthog_events\.csv has no key 'name'",
        ),
    ],
)
def test_a_file_of_another_kind_is_an_error_not_a_file_of_rejects(ws, args, kw, message) -> None:
    # every row of it would be rejected ("startTime is missing"), an import of junk
    from promptab_nb.errors import MissingColumnError

    kw = {k: str(DATA / v) for k, v in kw.items()}
    with pytest.raises(MissingColumnError, match=message):
        ws.load_langfuse(*[str(DATA / a) for a in args], progress=False, **kw)
    assert len(ws.sql("SELECT * FROM imports")) == 0 and ws.counts()["generations"] == 0


def test_pass_threshold_without_scores_is_an_error(ws) -> None:
    with pytest.raises(InvalidArgumentError, match="pass_threshold applies to NUMERIC scores"):
        ws.load_langfuse(
            str(DATA / "langfuse_observations.json"), pass_threshold=0.7, progress=False
        )


def test_an_unpriced_generation_has_no_cost_not_a_zero_one(ws, tmp_path):
    # Langfuse writes totalCost = costDetails.total ?? 0: a model without a price has
    # costDetails {} and totalCost 0, which is not a free call.
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "traceId": "t"}
    path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "unpriced", "costDetails": {}, "totalCost": 0},
        {**obs, "id": "free", "costDetails": {"input": 0, "output": 0, "total": 0}, "totalCost": 0},
        {**obs, "id": "priced", "costDetails": {"total": 0.002}, "totalCost": 0.002},
        {**obs, "id": "v1", "calculatedTotalCost": 0.001},
        {**obs, "id": "no-cost"},
    ])  # fmt: skip
    accounted(ws.load_langfuse(path))
    g = ws.sql("SELECT uuid, cost_usd FROM generations")
    cost = dict(zip(g.uuid, g.cost_usd, strict=True))
    assert math.isnan(cost["unpriced"]) and math.isnan(cost["no-cost"])
    assert (cost["free"], cost["priced"], cost["v1"]) == (0.0, 0.002, 0.001)


def test_tokens_are_langfuses_input_and_output_usage_all_buckets_summed(ws, tmp_path):
    # Langfuse keeps usage buckets apart (the SDKs move cached tokens out of "input" and
    # reasoning tokens out of "output"); its input / output usage (v1 ``usage``) is the sum of
    # the keys starting with "input" / "output".
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "traceId": "t"}
    details = {"input": 2140, "input_cached_tokens": 1024, "output": 96,
               "output_reasoning_tokens": 310, "total": 3570}  # fmt: skip
    path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "v2", "usageDetails": details},
        {**obs, "id": "v1", "usage": {"input": 3164, "output": 406, "total": 3570}},
        {**obs, "id": "plain", "usageDetails": {"input": 5, "output": 7, "input_audio": None}},
        {**obs, "id": "bad", "usageDetails": {"input": 5, "input_cached_tokens": "many"}},
        {**obs, "id": "untold", "usageDetails": {"total": 12}},
        {**obs, "id": "text", "usageDetails": "n/a"},
    ])  # fmt: skip
    r = ws.load_langfuse(path)
    accounted(r)
    assert r.reasons == {"usageDetails.input is not a whole number >= 0": 1}
    g = ws.sql("SELECT uuid, input_tokens, output_tokens FROM generations").set_index("uuid")
    assert g.loc[["v2", "v1", "plain"]].values.tolist() == [[3164, 406], [3164, 406], [5, 7]]
    assert g.loc[["untold", "text"]].isna().all(axis=None)  # no input key: unknown, not 0


def test_a_prompt_version_written_as_a_float_is_the_same_version(ws, tmp_path):
    # promptVersion is an integer; a file that went through pandas (a column with gaps is float)
    # writes 3.0, which must not be a version apart from the API's 3.
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "traceId": "t",
           "promptName": "p"}  # fmt: skip
    path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "a", "promptVersion": 3}, {**obs, "id": "b", "promptVersion": 3.0},
        {**obs, "id": "c", "promptVersion": "4.00"}, {**obs, "id": "d", "promptVersion": "v2.0"},
    ])  # fmt: skip
    accounted(ws.load_langfuse(path))
    g = ws.sql("SELECT prompt_version FROM generations ORDER BY uuid").prompt_version
    assert g.tolist() == ["3", "3", "4", "v2.0"]


def test_a_given_latency_wins_over_end_time_before_start_time(ws, tmp_path):
    # A valid latency beside an endTime before startTime (clock skew between SDK and server) was
    # rejected as "endTime is not a finite number >= 0"; timeToFirstToken the same.
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "traceId": "t"}
    early = "2026-03-02T07:59:59Z"
    rows = [
        {**obs, "id": "a", "endTime": early, "latency": 1.5},
        {**obs, "id": "b", "completionStartTime": early, "timeToFirstToken": 0.3, "latency": 2},
        {**obs, "id": "c", "endTime": "2026-03-02T08:00:04Z"},  # no latency: end - start
        {**obs, "id": "d", "endTime": early},  # neither gives a latency
        {**obs, "id": "e", "endTime": "2026-03-02T08:00:04Z", "latency": -1},  # given, wrong
        {**obs, "id": "f", "completionStartTime": early},
    ]
    r = ws.load_langfuse(_jsonl(tmp_path / "obs.jsonl", rows))
    accounted(r)
    assert r.rows_read == 6 and r.loaded == {"generations": 3}
    assert r.reasons == {
        "endTime is not a finite number >= 0": 1,
        "latency is not a finite number >= 0": 1,
        "completionStartTime is not a finite number >= 0": 1,
    }
    g = ws.sql("SELECT uuid, latency_s, ttft_s FROM generations ORDER BY uuid")
    assert g.uuid.tolist() == ["a", "b", "c"]
    assert g.latency_s.tolist() == [1.5, 2.0, 4.0] and g.ttft_s[1] == 0.3


def test_cache_tokens_are_stored_so_a_recomputed_cost_prices_them_at_the_cache_rate(ws, tmp_path):
    # usageDetails keys starting with "input" are summed into the input tokens (as Langfuse's
    # inputUsage): their cache buckets are cache_read/write_tokens counted in input_tokens.
    # Anthropic's own keys (cache_read_input_tokens) are outside Langfuse's input usage.
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "traceId": "t"}
    path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "sdk", "usageDetails": {"input": 1116, "input_cached_tokens": 1024,
                                               "output": 96}},
        {**obs, "id": "lc", "usageDetails": {"input": 100, "input_cache_read": 900,
                                              "input_cache_creation": 50, "output": 5}},
        {**obs, "id": "anthropic", "usageDetails": {
            "input_tokens": 2, "cache_read_input_tokens": 10692,
            "cache_creation_input_tokens": 592, "output_tokens": 13}},
        {**obs, "id": "plain", "usageDetails": {"input": 5, "output": 7}},
        {**obs, "id": "v1", "usage": {"input": 5, "output": 7}},
    ])  # fmt: skip
    accounted(ws.load_langfuse(path))
    g = ws.sql(
        "SELECT uuid, input_tokens, cache_read_tokens, cache_write_tokens, cache_in_input "
        "FROM generations"
    ).set_index("uuid")
    g = g.astype(object).where(g.notna(), None)
    assert g.loc["sdk"].tolist() == [2140, 1024, None, True]
    assert g.loc["lc"].tolist() == [1050, 900, 50, True]
    assert g.loc["anthropic"].tolist() == [2, 10692, 592, False]
    assert g.loc[["plain", "v1"]].iloc[:, 1:].isna().all(axis=None)  # not said: unknown
    # cost="recompute" prices the sdk row's 1024 cached tokens at the cache-read rate
    p = pricing.model_price("openai", "gpt-4o")
    ws.sql("UPDATE generations SET model = 'gpt-4o', provider = 'openai'")
    cost, join = pricing.recomputed_cost("g", pricing.price_table(ws.engine))
    got = ws.sql(f"SELECT {cost} AS usd FROM generations g {join} WHERE g.uuid = 'sdk'").usd[0]
    want = (
        1116 * p.usd_per_input_token + 1024 * p.usd_per_cache_read_token
        + 96 * p.usd_per_output_token
    )  # fmt: skip
    assert got == pytest.approx(want, rel=1e-12)


def test_usage_or_cost_details_that_are_not_json_reject_the_row(ws, tmp_path):
    # A CSV written from Python (pandas' to_csv of the API's dicts) holds "{'input': 10}", not
    # JSON: the row loaded with no tokens and no cost, with nothing in rejects to say why.
    import csv

    head = ["id", "traceId", "type", "startTime", "latency", "usageDetails", "costDetails", "usage"]
    rows = [
        ["o1", "t", "GENERATION", "2026-03-02T08:00:00Z", "1", '{"input": 10, "output": 2}',
         '{"total": 0.5}', ""],
        ["o2", "t", "GENERATION", "2026-03-02T08:00:00Z", "1", "{'input': 10, 'output': 2}",
         '{"total": 0.5}', ""],
        ["o3", "t", "GENERATION", "2026-03-02T08:00:00Z", "1", '{"input": 10, "output": 2}',
         "{'total': 0.5}", ""],
        ["o4", "t", "GENERATION", "2026-03-02T08:00:00Z", "1", "", "",
         "{'input': 3, 'output': 1}"],
        ["o5", "t", "GENERATION", "2026-03-02T08:00:00Z", "1", "", "", ""],
    ]  # fmt: skip
    p = tmp_path / "obs.csv"
    with p.open("w", newline="") as fh:
        csv.writer(fh).writerows([head, *rows])
    r = ws.load_langfuse(p)
    accounted(r)
    assert r.reasons == {
        "usageDetails is not valid JSON": 1,
        "costDetails is not valid JSON": 1,
        "usage is not valid JSON": 1,
    }
    rej = ws.sql('SELECT source_row, "column" FROM rejects ORDER BY 1')
    assert rej.values.tolist() == [[2, "usageDetails"], [3, "costDetails"], [4, "usage"]]
    g = ws.sql("SELECT uuid, input_tokens, cost_usd FROM generations ORDER BY uuid")
    assert g.uuid.tolist() == ["o1", "o5"] and g.input_tokens[0] == 10


def test_a_trace_score_takes_the_user_of_its_traces_generations(ws, tmp_path):
    # A score on a trace (no observationId, Langfuse's most common kind) took the trace id as
    # its user even when the trace's generations name one: under a user-level experiment it
    # matched no exposed user and silently left pass_rate.
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "latency": 1.0}
    obs_path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "o1", "traceId": "t1", "userId": "u1"},
        {**obs, "id": "o2", "traceId": "t1", "userId": "u1"},
        {**obs, "id": "o3", "traceId": "t2", "userId": "u2"},
        {**obs, "id": "o4", "traceId": "t2", "userId": "u3"},  # two users: none is the trace's
        {**obs, "id": "o5", "traceId": "t3"},
    ])  # fmt: skip
    score = {"timestamp": "2026-03-02T08:00:01Z", "name": "ok", "dataType": "BOOLEAN", "value": 1}
    scores = _jsonl(tmp_path / "scores.jsonl", [
        {**score, "id": "s1", "traceId": "t1"},
        {**score, "id": "s2", "traceId": "t2"},
        {**score, "id": "s3", "traceId": "t3"},
        {**score, "id": "s4", "traceId": "t9"},
        {**score, "id": "s5", "traceId": "t1", "observationId": "o3"},  # the observation's user
    ])  # fmt: skip
    r = ws.load_langfuse(obs_path, scores=scores)
    accounted(r)
    e = ws.sql("SELECT uuid, distinct_id FROM evaluations ORDER BY uuid")
    assert e.distinct_id.tolist() == ["u1", "t2", "t3", "t9", "u2"]


def test_v1_usage_in_other_units_is_not_tokens(ws, tmp_path):
    # A v1 observation's usage has a unit (TOKENS, CHARACTERS, SECONDS, IMAGES, ...): the
    # characters of a text-to-speech call or the seconds of a transcription were read as
    # input / output tokens.
    obs = {"type": "GENERATION", "startTime": "2026-03-02T08:00:00Z", "traceId": "t"}
    path = _jsonl(tmp_path / "obs.jsonl", [
        {**obs, "id": "tok", "usage": {"input": 30, "output": 4, "unit": "TOKENS"}},
        {**obs, "id": "untold", "usage": {"input": 31, "output": 5}},
        {**obs, "id": "chars", "usage": {"input": 1200, "output": 0, "unit": "CHARACTERS"},
         "promptTokens": 1200, "completionTokens": 0},
        {**obs, "id": "secs", "usage": {"input": 62, "unit": "SECONDS"}, "promptTokens": 62},
    ])  # fmt: skip
    r = ws.load_langfuse(path)
    accounted(r)
    g = ws.sql("SELECT uuid, input_tokens, output_tokens FROM generations").set_index("uuid")
    assert g.loc[["tok", "untold"]].values.tolist() == [[30, 4], [31, 5]]
    assert g.loc[["chars", "secs"]].isna().all(axis=None)


def test_a_blob_storage_export_is_named_as_such(ws, tmp_path):
    # Langfuse's blob-storage export writes snake_case fields (start_time, trace_id, ...): the
    # error said "use a Langfuse observations export", which the user believed they had.
    from promptab_nb.errors import MissingColumnError

    row = {"id": "o1", "trace_id": "t", "type": "GENERATION",
           "start_time": "2024-05-29 13:46:19.963000"}  # fmt: skip
    with pytest.raises(MissingColumnError, match=r"blob.storage export.*snake_case.*API"):
        ws.load_langfuse(_jsonl(tmp_path / "obs.jsonl", [row]))


def _trace_scored_pair(tmp_path):
    """Observations of 40 users (one trace each, versions 1 / 2) and trace-level scores."""
    obs, scores = [], []
    for i in range(40):
        version, trace = 1 + i % 2, f"t{i}"
        for j in range(2):
            obs.append({"id": f"o{i}-{j}", "traceId": trace, "userId": f"u{i}", "latency": 1.0,
                        "type": "GENERATION", "startTime": f"2026-03-02T08:{i:02d}:0{j}Z",
                        "promptName": "p", "promptVersion": version})  # fmt: skip
        scores.append({"id": f"s{i}", "traceId": trace, "name": "ok", "dataType": "BOOLEAN",
                       "value": int(i % 3 != 0), "timestamp": f"2026-03-02T09:{i:02d}:00Z"})  # fmt: skip
    # a trace of two users keeps its trace id as the unit, whatever the order
    obs.append({**obs[0], "id": "o-two", "traceId": "t-two", "userId": "ua"})
    obs.append({**obs[0], "id": "o-two-b", "traceId": "t-two", "userId": "ub"})
    scores.append({**scores[0], "id": "s-two", "traceId": "t-two"})
    return _jsonl(tmp_path / "obs.jsonl", obs), _jsonl(tmp_path / "scores.jsonl", scores)


def test_scores_loaded_before_their_observations_get_the_traces_user(tmp_path):
    # Trace scores loaded in a call before their observations kept the trace id as their user
    # and never joined the user's arm: load order changed pass_rate's n (0 vs 40 units).
    from promptab_nb.workspace import Workspace

    obs, scores = _trace_scored_pair(tmp_path)
    tables = []
    for order in ("obs first", "scores first"):
        ws = Workspace()
        if order == "obs first":
            ws.load_langfuse(obs, progress=False)
            accounted(ws.load_langfuse(scores=scores, progress=False))
        else:
            ws.load_langfuse(scores=scores, progress=False)
            accounted(ws.load_langfuse(obs, progress=False))
        e = ws.sql("SELECT * EXCLUDE (import_id) FROM evaluations ORDER BY uuid")
        exp = ws.create_experiment("x", "p", {"a": "1", "b": "2"})
        res = exp.analyze(["pass_rate"]).to_pandas()
        tables.append((e, res))
        ws.close()
    (e1, r1), (e2, r2) = tables
    assert e1.set_index("uuid").loc["s-two", "distinct_id"] == "t-two"
    assert e1.set_index("uuid").loc["s1", "distinct_id"] == "u1"
    pd.testing.assert_frame_equal(e1, e2)
    pd.testing.assert_frame_equal(r1, r2)
    assert r1["n"].tolist() == [22, 20]  # the 40 scored users and ua, ub (no score of theirs)


def test_a_blob_storage_scores_export_is_an_error_not_a_file_of_rejects(ws, tmp_path):
    # Scores in the blob-storage shape have name and timestamp (the keys checked) but trace_id /
    # observation_id / data_type: every row was rejected ("traceId and observationId are
    # missing"), an import of junk with no word about the format.
    from promptab_nb.errors import MissingColumnError

    row = {"id": "s1", "timestamp": "2026-03-02T08:00:00Z", "name": "ok", "value": 1,
           "trace_id": "t1", "observation_id": "o1", "data_type": "BOOLEAN"}  # fmt: skip
    with pytest.raises(MissingColumnError, match=r"scores\.jsonl has no key 'traceId'.*blob"):
        ws.load_langfuse(scores=_jsonl(tmp_path / "scores.jsonl", [row]), progress=False)
    assert len(ws.sql("SELECT * FROM imports")) == 0


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("obs.json", '{"data": [], "meta": {"page": 1, "totalItems": 0}}', "observations"),
        ("obs.json", "[]", "observations"),
        ("obs.csv", "id,traceId,type,startTime,endTime\n", "observations"),
        ("scores.json", '{"data": []}', "scores"),
        ("scores.csv", "id,traceId,name,value,timestamp\n", "scores"),
    ],
)
def test_an_export_without_records_is_an_error_naming_the_file(ws, tmp_path, name, text, kind):
    # An API page with an empty data list (a filter that matched nothing, the wrong project)
    # loaded as "0 rows read" without a word; beside a good file, nothing is loaded.
    from promptab_nb.errors import DataError

    p = tmp_path / name
    p.write_text(text)
    args = {"observations": [DATA / "langfuse_observations.json", p]}
    if kind == "scores":
        args = {"scores": [DATA / "langfuse_scores.jsonl", p]}
    with pytest.raises(DataError, match=rf"{name}: holds no Langfuse {kind}.*export"):
        ws.load_langfuse(**args)
    assert ws.counts()["generations"] == ws.counts()["evaluations"] == 0
    assert ws.sql("SELECT count(*) AS n FROM imports").n[0] == 0


def test_values_of_the_wrong_json_type_reject_the_row_naming_the_key(ws, tmp_path):
    # Read as text, an id ["a"] loaded as the id '["a"]' (a user of its own), a version [3] as
    # version '[3]', true as user "true", a usageDetails list as no tokens, and an endTime that
    # is not a time as no latency: each without a word.
    obs = {
        "id": "o",
        "traceId": "t",
        "userId": "u",
        "type": "GENERATION",
        "model": "gpt",
        "startTime": "2026-03-02T08:00:00Z",
        "endTime": "2026-03-02T08:00:02Z",
        "promptName": "p",
        "promptVersion": 3,
        "usageDetails": {"input": 10, "output": 2},
    }
    bad = [
        ({"id": ["o", 1]}, "id is a JSON object or list, not an id"),
        ({"userId": {"id": "u"}}, "userId is a JSON object or list, not an id"),
        ({"traceId": ["t"], "userId": None}, "traceId is a JSON object or list, not an id"),
        ({"userId": True}, "userId is true/false, not an id"),
        ({"promptVersion": [3]}, "promptVersion is a JSON object or list, not a text"),
        ({"promptName": {"name": "p"}}, "promptName is a JSON object or list, not a text"),
        ({"providedModelName": ["gpt"]}, "model is a JSON object or list, not a text"),
        ({"model": ["gpt"]}, "model is a JSON object or list, not a text"),
        ({"level": ["ERROR"]}, "level is a JSON object or list, not a text"),
        ({"usageDetails": [10, 2]}, "usageDetails is a JSON list, not an object"),
        ({"endTime": "soon"}, "endTime is not a date-time between 2000-01-01 and 2200-01-01"),
        ({"completionStartTime": "x"},
         "completionStartTime is not a date-time between 2000-01-01 and 2200-01-01"),
    ]  # fmt: skip
    good = [
        {"userId": 12345},
        {"id": "[x", "promptVersion": "[v3]"},
        {"endTime": "soon", "latency": 2.0},
    ]  # a given latency wins, as documented
    rows = [{**obs, "id": f"o{i}", **kw} for i, (kw, _) in enumerate(bad)]
    rows += [{**obs, "id": f"g{i}", **kw} for i, kw in enumerate(good)]
    r = ws.load_langfuse(_jsonl(tmp_path / "obs.jsonl", rows))
    accounted(r)
    got = ws.sql("SELECT source_row, reason FROM rejects ORDER BY 1").values.tolist()
    assert got == [[i + 1, why] for i, (_, why) in enumerate(bad)]
    g = ws.sql("SELECT uuid, distinct_id, prompt_version, latency_s FROM generations ORDER BY 1")
    assert g.values.tolist() == [["[x", "u", "[v3]", 2.0], ["g0", "12345", "3", 2.0],
                                 ["g2", "u", "3", 2.0]]  # fmt: skip


def test_scores_of_the_wrong_json_type_reject_the_row_naming_the_key(ws, tmp_path):
    score = {
        "id": "s",
        "traceId": "t",
        "name": "q",
        "value": 1,
        "dataType": "NUMERIC",
        "timestamp": "2026-03-02T08:00:01Z",
    }
    bad = [
        ({"traceId": ["t"]}, "traceId is a JSON object or list, not an id"),
        ({"observationId": {"id": "o"}}, "observationId is a JSON object or list, not an id"),
        ({"name": ["q"]}, "name is a JSON object or list, not a text"),
        ({"dataType": ["NUMERIC"]}, "dataType is a JSON object or list, not a text"),
    ]
    rows = [{**score, "id": f"s{i}", **kw} for i, (kw, _) in enumerate(bad)] + [score]
    r = ws.load_langfuse(scores=_jsonl(tmp_path / "scores.jsonl", rows))
    accounted(r)
    got = ws.sql("SELECT source_row, reason FROM rejects ORDER BY 1").values.tolist()
    assert got == [[i + 1, why] for i, (_, why) in enumerate(bad)]
    assert r.loaded == {"evaluations": 1}


def test_a_compact_export_over_the_longest_line_is_an_error_saying_so(ws, tmp_path, monkeypatch):
    # A compact observations.json longer than the longest line read (8 MiB; 1 MiB here) loaded
    # as 1 row read, 1 rejected ("line is longer than ...") and 0 loaded: the whole export
    # set aside as one bad row.
    from promptab_nb.errors import DataError
    from promptab_nb.loaders import _read

    monkeypatch.setattr(_read, "MAX_LINE", 2**20)
    page = json.loads((DATA / "langfuse_observations.json").read_text())
    page["data"] = page["data"] * (2**21 // len(json.dumps(page["data"])) + 1)
    path = tmp_path / "observations.json"
    path.write_text(json.dumps(page))
    with pytest.raises(
        DataError, match=r"observations\.json: line 1 .*longer than 1 MiB.*json\.tool"
    ):
        ws.load_langfuse(path)
    assert ws.imports().empty
