"""Frames in: pandas, polars and Arrow, with the same checks as files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from promptab_nb.errors import DataError, InvalidArgumentError, MissingColumnError

from .conftest import accounted

COLS = {
    "ts": "when",
    "distinct_id": "user",
    "latency_s": "lat",
    "cost_usd": "cost",
    "is_error": "err",
}


def _df():
    return pd.DataFrame({
        "when": pd.to_datetime(["2026-03-01 10:00", "2026-03-01T11:00+02:00", "2026-03-01 12:00"], format="mixed", utc=True),
        "user": ["u1", "u2", "u3"], "lat": [1.5, 2.0, -1.0], "cost": [0.01, 0.02, 0.03],
        "err": [False, True, False],
    })  # fmt: skip


@pytest.mark.parametrize("convert", [lambda d: d, pl.from_pandas, pa.Table.from_pandas])
def test_frames_load_with_rejects_and_dedupe(ws, convert):
    df = convert(_df())
    r = ws.load_frame(df, kind="generations", columns=COLS)
    accounted(r)
    assert r.loaded == {"generations": 2} and r.reasons == {
        "latency_s is not a finite number >= 0": 1
    }
    g = ws.sql("SELECT * FROM generations ORDER BY ts")
    assert g.latency_s.tolist() == [2.0, 1.5] and str(g.ts[0]) == "2026-03-01 09:00:00+00:00"
    assert ws.load_frame(df, kind="generations", columns=COLS).rows_loaded == 0


def test_evaluations_and_exposures(ws):
    ev = pd.DataFrame(
        {
            "ts": ["2026-03-01T10:00:00Z"] * 2,
            "distinct_id": ["a", "b"],
            "passed": [True, None],
            "score": [np.nan, np.nan],
            "uuid": ["e1", "e2"],
        }
    )
    r = ws.load_frame(ev, kind="evaluations")
    assert r.loaded == {"evaluations": 1} and r.reasons == {"passed and score are missing": 1}
    ex = pa.table(
        {"t": ["2026-03-01T10:00:00Z"], "u": ["a"], "flag_key": ["f"], "variant": ["test"]}
    )
    r = ws.load_frame(ex, kind="exposures", columns={"ts": "t", "distinct_id": "u"})
    assert ws.sql("SELECT variant FROM exposures").variant.tolist() == ["test"]


def test_bad_arguments(ws):
    with pytest.raises(InvalidArgumentError, match="not a column of generations"):
        ws.load_frame(_df(), kind="generations", columns={"latency": "lat"})
    with pytest.raises(MissingColumnError, match="no column 'nope'"):
        ws.load_frame(_df(), kind="generations", columns={**COLS, "model": "nope"})
    with pytest.raises(MissingColumnError, match="'distinct_id'"):
        ws.load_frame(_df(), kind="generations", columns={"ts": "when"})
    with pytest.raises(InvalidArgumentError, match="kind"):
        ws.load_frame(_df(), kind="spans")
    with pytest.raises(InvalidArgumentError, match="expected a pandas"):
        ws.load_frame([1, 2], kind="generations")


def test_evaluations_without_applicable_are_applicable(ws):
    ev = pd.DataFrame({"uuid": ["e1", "e2"], "ts": "2026-03-01T10:00:00Z", "distinct_id": "a",
                       "passed": [True, False]})  # fmt: skip
    ws.load_frame(ev, kind="evaluations")
    ev = pd.DataFrame({"uuid": ["e3", "e4", "e5"], "ts": "2026-03-01T10:00:00Z", "distinct_id": "a",
                       "passed": True, "applicable": [None, False, True]})  # fmt: skip
    ws.load_frame(ev, kind="evaluations")
    e = ws.sql("SELECT uuid, applicable FROM evaluations ORDER BY uuid")
    assert e.applicable.tolist() == [True, True, True, False, True]


def test_a_frame_column_may_feed_two_canonical_columns(ws):
    df = pd.DataFrame({"uuid": ["a"], "ts": ["2026-03-02T08:00:00Z"], "trace_id": ["tr-1"]})
    ws.load_frame(df, columns={"distinct_id": "trace_id"})
    g = ws.sql("SELECT distinct_id, trace_id FROM generations")
    assert (g.distinct_id[0], g.trace_id[0]) == ("tr-1", "tr-1")


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_nested_properties_are_json_and_bad_text_is_rejected(ws, lib):
    props = [{"country": "FR", "s": "it's"}, {"country": None, "s": None}, None]
    df = pd.DataFrame({"uuid": ["a", "b", "c"], "ts": "2026-03-02T08:00:00Z",
                       "distinct_id": "u", "properties": props})  # fmt: skip
    r = ws.load_frame(df if lib == "pandas" else pl.from_pandas(df))
    assert r.rows_loaded == 3
    g = ws.sql("SELECT properties FROM generations ORDER BY uuid").properties.tolist()
    assert [json.loads(p) for p in g[:2]] == props[:2] and pd.isna(g[2])
    texts = ['{"b": 2}', "not json", "[1, 2]", "3", ""]
    df = pd.DataFrame({"uuid": list("vwxyz"), "ts": "2026-03-02T08:00:00Z", "distinct_id": "u",
                       "properties": texts})  # fmt: skip
    r = ws.load_frame(df)
    accounted(r)
    assert r.loaded == {"generations": 2} and r.reasons == {
        "properties is not valid JSON": 1,
        "properties is not a JSON object": 2,
    }


def test_no_id_texts_are_missing_ids(ws):
    df = pd.DataFrame({"uuid": ["null", "null", " None", "x"], "ts": "2026-03-02T08:00:00Z",
                       "distinct_id": ["u1", "u2", "undefined", "  "], "person_id": "nan",
                       "latency_s": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    r = ws.load_frame(df)
    accounted(r)
    assert r.loaded == {"generations": 2} and r.rows_duplicate == 0
    assert r.reasons == {'distinct_id is missing (or "null"/"undefined")': 2}
    g = ws.sql("SELECT uuid, person_id FROM generations ORDER BY distinct_id")
    assert "null" not in set(g.uuid) and g.person_id.isna().all()


def test_the_digest_is_stable_so_a_reload_adds_nothing(ws):
    # Enough rows for DuckDB to scan the frame on several threads.
    n = 300_000
    df = pd.DataFrame({"uuid": np.arange(n).astype(str), "ts": pd.Timestamp("2026-03-02", tz="UTC"),
                       "distinct_id": np.where(np.arange(n) % 1000 == 0, None, "u"),
                       "latency_s": np.linspace(0, 1, n)})  # fmt: skip
    first = ws.load_frame(df)
    assert first.rows_rejected == 300
    again = ws.load_frame(df)
    assert again.files[0].sha256 == first.files[0].sha256
    assert again.rows_loaded == 0 and again.rows_rejected == 0 and again.rows_duplicate == n
    assert ws.sql("SELECT count(*) AS n FROM rejects").n[0] == 300
    shuffled = df.sample(frac=1, random_state=0)  # the same rows: the same load
    assert ws.load_frame(shuffled).files[0].sha256 == first.files[0].sha256
    other = df.assign(latency_s=df.latency_s.where(df.index != 7, 0.5))
    assert ws.load_frame(other).files[0].sha256 != first.files[0].sha256


def test_properties_dicts_of_different_shapes_are_json(ws):
    # pandas hands DuckDB dicts whose values differ in type as their Python repr ("{'a': 's'}")
    # and turns {"n": 1} beside {"n": "x"} into {"n": "1"}: real event properties differ so.
    props = [{"a": {"b": 1}, "n": 1}, {"a": "s", "n": "x"}, {}, {"list": [1, None]}, None]
    df = pd.DataFrame({"uuid": list("vwxyz"), "ts": "2026-03-02T08:00:00Z", "distinct_id": "u",
                       "properties": props})  # fmt: skip
    r = ws.load_frame(df)
    accounted(r)
    assert r.loaded == {"generations": 5} and r.reasons == {}
    g = ws.sql("SELECT properties FROM generations ORDER BY uuid").properties.tolist()
    assert [json.loads(p) for p in g[:4]] == props[:4] and pd.isna(g[4])
    assert ws.load_frame(df).rows_duplicate == 5


def test_a_float_prompt_version_is_a_whole_version(ws):
    # A pandas column of versions with a gap is float: 3.0 is version "3", as in the files.
    df = pd.DataFrame({"uuid": list("abc"), "ts": "2026-03-02T08:00:00Z", "distinct_id": "u",
                       "prompt_version": [3, None, 4]})  # fmt: skip
    assert df.prompt_version.dtype == float
    accounted(ws.load_frame(df))
    g = ws.sql("SELECT prompt_version FROM generations ORDER BY uuid").prompt_version
    assert g[0] == "3" and g[2] == "4" and pd.isna(g[1])


def test_float_ids_are_the_ids_the_files_have(ws):
    # A pandas column of numeric user ids with a gap is float: user 1.0 was stored as "1.0", so
    # the generations of user 1 never met the exposures a file logged for "1".
    df = pd.DataFrame({"uuid": list("abc"), "ts": "2026-03-02T08:00:00Z",
                       "distinct_id": [1, 2, 3], "person_id": [10, None, 12.5]})  # fmt: skip
    assert df.person_id.dtype == float
    accounted(ws.load_frame(df))
    g = ws.sql("SELECT distinct_id, person_id FROM generations ORDER BY uuid")
    assert g.distinct_id.tolist() == ["1", "2", "3"]
    assert g.person_id[0] == "10" and pd.isna(g.person_id[1]) and g.person_id[2] == "12.5"


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_epoch_number_timestamps_fail_with_the_fix(ws, lib):
    # Every row was rejected as "ts is not a date-time": the unit of a number (s, ms, µs) cannot
    # be told safely, so the load stops, naming the column and the conversion.
    from promptab_nb.errors import DataError

    df = pd.DataFrame({"uuid": ["a", "b"], "when": [1772438400, 1772438460], "distinct_id": "u"})
    with pytest.raises(DataError, match=r"column 'when' \(for 'ts'\) holds numbers .*unit='s'"):
        ws.load_frame(df if lib == "pandas" else pl.from_pandas(df), columns={"ts": "when"})
    assert ws.counts()["generations"] == 0 and len(ws.imports()) == 0


@pytest.mark.parametrize("lib", ["pandas", "polars", "arrow"])
def test_nan_in_a_float_column_is_missing_and_infinity_is_rejected(ws, lib):
    # pandas' NaN loaded as NULL but polars' and Arrow's NaN rejected the whole row ("cost_usd is
    # not a finite number >= 0"): a NaN of a frame's float column is missing, in every library.
    nan, inf = float("nan"), float("inf")
    df = pd.DataFrame({"uuid": list("abcde"), "ts": pd.Timestamp("2026-03-02T08:00:00Z"),
                       "distinct_id": "u", "latency_s": [1.0, 2.0, 3.0, nan, 5.0],
                       "cost_usd": [0.1, nan, inf, 0.4, -inf],
                       "prompt_version": [3.0, nan, 4.0, 4.0, 4.0]})  # fmt: skip
    frame = {"pandas": df, "polars": pl.from_pandas(df, nan_to_null=False),
             "arrow": pl.from_pandas(df, nan_to_null=False).to_arrow()}[lib]  # fmt: skip
    r = ws.load_frame(frame)
    accounted(r)
    assert r.rows_read == 5 and r.loaded == {"generations": 3}
    assert r.reasons == {"cost_usd is not a finite number >= 0": 2}  # +inf, -inf
    g = ws.sql("SELECT uuid, cost_usd, latency_s, prompt_version FROM generations ORDER BY uuid")
    assert g.uuid.tolist() == ["a", "b", "d"]
    assert g.cost_usd[0] == 0.1 and pd.isna(g.cost_usd[1]) and g.cost_usd[2] == 0.4
    assert pd.isna(g.latency_s[2]) and pd.isna(g.prompt_version[1])  # not "nan"


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_a_timedelta_latency_is_seconds(ws, lib):
    # end - start is a Timedelta (polars: Duration) column, which DuckDB reads as INTERVAL: every
    # row was rejected as "latency_s is not a finite number >= 0".
    start = pd.to_datetime(["2026-03-02T08:00:00Z"] * 4)
    end = start + pd.to_timedelta([1.5, 0.25, None, -2.0], unit="s")
    df = pd.DataFrame({"uuid": list("abcd"), "ts": start, "distinct_id": "u",
                       "latency_s": end - start,
                       "ttft_s": pd.to_timedelta([0.2] * 4, unit="s")})  # fmt: skip
    r = ws.load_frame(df if lib == "pandas" else pl.from_pandas(df))
    accounted(r)
    assert r.rows_read == 4 and r.loaded == {"generations": 3}
    assert r.reasons == {"latency_s is not a finite number >= 0": 1}  # a negative duration
    g = ws.sql("SELECT latency_s, ttft_s FROM generations ORDER BY uuid")
    assert g.latency_s[:2].tolist() == [1.5, 0.25] and pd.isna(g.latency_s[2])
    assert g.ttft_s.tolist() == pytest.approx([0.2] * 3)


def test_columns_the_load_does_not_read_do_not_stop_it(ws):
    # The whole frame was scanned: one column DuckDB cannot read (a pandas Period, interval,
    # complex or sparse column, unrelated to the load) failed every load of the frame with
    # "cannot read as pandas: Not implemented Error ... Check that the file is complete".
    df = _df().assign(
        month=pd.period_range("2026-03", periods=3, freq="M"),
        z=np.array([1 + 2j, 3j, 0j]),
        bucket=pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3]),
    )
    r = ws.load_frame(df, columns=COLS)
    accounted(r)
    assert r.loaded == {"generations": 2}
    assert ws.load_frame(df, columns=COLS).rows_loaded == 0  # the same frame: a no-op
    # a column it reads, of a type DuckDB cannot read, is an error naming the column
    with pytest.raises(DataError, match=r"column 'month' .*period\[M\]"):
        ws.load_frame(df, columns={**COLS, "variant": "month"})


def test_pandas_column_labels_that_are_not_text(ws):
    # A frame read with header=None has the labels 0, 1, ...: columns={"ts": 0} failed with
    # "has no column 0 (found: 0, 1)", as DuckDB names them "0", "1".
    df = pd.DataFrame({0: pd.to_datetime(["2026-03-01"], utc=True), 1: ["u1"], 2: [0.5]})
    r = ws.load_frame(df, columns={"ts": 0, "distinct_id": 1, "latency_s": 2})
    accounted(r)
    assert ws.sql("SELECT distinct_id, latency_s FROM generations").values.tolist() == [["u1", 0.5]]
    with pytest.raises(MissingColumnError, match=r"no column 3 for 'model'"):
        ws.load_frame(df, columns={"ts": 0, "distinct_id": 1, "model": 3})


def test_a_column_label_that_appears_twice_is_an_error(ws):
    # pandas allows two columns labelled alike (a concat or merge gone wrong): the load took
    # one of them, silently, as the user of every row.
    df = pd.DataFrame(
        [["2026-03-01T10:00:00Z", "u1", "u2", 1]], columns=["ts", "user", "user", "n"]
    )
    with pytest.raises(DataError, match=r"column 'user' appears twice"):
        ws.load_frame(df, columns={"distinct_id": "user"})
    assert ws.counts()["generations"] == 0
    dup_other = pd.DataFrame(
        [["2026-03-01T10:00:00Z", "u1", 1, 2]], columns=["ts", "user", "n", "n"]
    )
    assert ws.load_frame(dup_other, columns={"distinct_id": "user"}).rows_loaded == 1


def test_arrow_batches_and_readers_load(ws):
    # The frame is scanned twice (its digest, then its rows): a RecordBatchReader, read once,
    # failed the load with DuckDB's "already been consumed ... Check that the file is complete".
    t = pa.table(
        {"ts": ["2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"], "distinct_id": ["a", "b"]}
    )
    assert ws.load_frame(t.to_reader()).rows_loaded == 2
    assert ws.load_frame(t.to_batches()[0]).rows_duplicate == 2  # the same rows
    with pytest.raises(InvalidArgumentError, match="ChunkedArray"):
        ws.load_frame(t.column("ts"))
    with pytest.raises(InvalidArgumentError, match=r"Series.*to_frame"):
        ws.load_frame(pd.Series([1]))
    with pytest.raises(InvalidArgumentError, match=r"LazyFrame.*collect"):
        ws.load_frame(pl.DataFrame({"ts": ["2026-03-01T10:00:00Z"], "distinct_id": ["a"]}).lazy())


def test_columns_in_a_pandas_index_are_read(ws):
    # A frame indexed by its ids (df.set_index("uuid")) or keyed by a column of the map: the
    # index was not scanned, so the uuids were replaced by content hashes (two calls with the
    # same content and two uuids became one, the other "already loaded") and a mapped index
    # was "no column".
    df = pd.DataFrame({
        "uuid": ["g1", "g2"], "ts": ["2026-03-01T10:00:00Z"] * 2, "distinct_id": ["a", "a"],
        "arm": ["control", "test"],
    }).set_index("uuid")  # fmt: skip
    r = ws.load_frame(df.drop(columns="arm"))
    accounted(r)
    assert r.rows_loaded == 2
    assert sorted(ws.sql("SELECT uuid FROM generations").uuid) == ["g1", "g2"]
    r = ws.load_frame(df.reset_index().set_index(["uuid", "arm"]), columns={"variant": "arm"})
    assert r.rows_duplicate == 2  # the same uuids
    ws2 = type(ws)()
    ws2.load_frame(df.reset_index().set_index(["uuid", "arm"]), columns={"variant": "arm"})
    assert ws2.sql("SELECT variant FROM generations ORDER BY uuid").variant.tolist() == [
        "control",
        "test",
    ]
    ws2.close()


def test_float_variants_are_the_variants_the_files_have(ws):
    # A pandas column of numeric arms with a gap is float: arm 1 was stored as "1.0", so its
    # exposures never met the experiment's variant "1" (nor the generations a file logged).
    ex = pd.DataFrame({"uuid": list("abc"), "ts": "2026-03-02T08:00:00Z", "distinct_id": "u",
                       "flag_key": "f", "variant": [0, 1, None]})  # fmt: skip
    assert ex.variant.dtype == float
    accounted(ws.load_frame(ex, kind="exposures"))
    assert ws.sql("SELECT variant FROM exposures ORDER BY uuid").variant.tolist() == ["0", "1"]
    gen = ex.drop(columns="flag_key").assign(variant=[1.0, 0.5, 2.0])
    accounted(ws.load_frame(gen))
    assert ws.sql("SELECT variant FROM generations ORDER BY uuid").variant.tolist() == [
        "1",
        "0.5",
        "2",
    ]


def test_a_not_applicable_evaluation_needs_no_verdict(ws):
    # An N/A evaluation (applicable False) has no pass/fail by nature: it was rejected as
    # "passed and score are missing", where the PostHog loader keeps it (out of pass_rate).
    ev = pd.DataFrame({"uuid": ["e1", "e2", "e3"], "ts": "2026-03-01T10:00:00Z",
                       "distinct_id": "a", "passed": [True, None, None],
                       "applicable": [True, False, True]})  # fmt: skip
    r = ws.load_frame(ev, kind="evaluations")
    accounted(r)
    assert r.reasons == {"passed and score are missing": 1}
    e = ws.sql("SELECT uuid, passed, applicable FROM evaluations ORDER BY uuid")
    assert e.uuid.tolist() == ["e1", "e2"] and e.applicable.tolist() == [True, False]


def test_rows_alike_in_a_frame_without_ids_are_all_loaded(ws):
    # Without a uuid column a row's id is a hash of its content, so two calls alike in every
    # loaded column (same user, same second, same rounded latency) were one: the second was
    # counted "already loaded" on a fresh workspace and left out of every metric.
    df = pd.DataFrame({"ts": ["2026-03-02T08:00:00Z"] * 3 + ["2026-03-02T08:00:01Z"],
                       "distinct_id": "u", "latency_s": [1.5, 1.5, 1.5, 2.0]})  # fmt: skip
    r = ws.load_frame(df)
    accounted(r)
    assert (r.rows_loaded, r.rows_duplicate) == (4, 0)
    again = ws.load_frame(df.iloc[::-1])  # the same rows, in another order: a no-op
    assert (again.rows_loaded, again.rows_duplicate) == (0, 4)
    more = ws.load_frame(pd.concat([df, df.iloc[:1]]))  # one more copy of the first row
    assert (more.rows_loaded, more.rows_duplicate) == (1, 4)
    assert ws.counts()["generations"] == 5
    # rows with their own uuid are deduplicated by it, as before
    ids = df.assign(uuid=["a", "a", "b", "c"])
    r = type(ws)().load_frame(ids)
    assert (r.rows_loaded, r.rows_duplicate) == (3, 1)


def test_judge_verdicts_of_generations_need_no_user_column(ws):
    # An LLM judge's output is (generation uuid, verdict): a frame of it without distinct_id
    # was a MissingColumnError, though its unit is the evaluated generation's (as a Langfuse
    # score with only an observationId). A row without its id is rejected.
    gen = pd.DataFrame({"uuid": ["g1"], "ts": ["2026-03-01T10:00:00Z"], "distinct_id": ["u1"]})
    ws.load_frame(gen)
    ev = pd.DataFrame({"uuid": ["e1", "e2"], "ts": "2026-03-01T10:00:01Z",
                       "target_uuid": ["g1", None], "passed": [True, False]})  # fmt: skip
    r = ws.load_frame(ev, kind="evaluations")
    assert r.loaded == {"evaluations": 1}
    assert r.reasons == {'target_uuid is missing (or "null"/"undefined")': 1}
    assert ws.sql("SELECT target_uuid FROM evaluations").target_uuid.tolist() == ["g1"]
    with pytest.raises(MissingColumnError, match="'distinct_id' or 'target_uuid'"):
        ws.load_frame(ev.drop(columns="target_uuid"), kind="evaluations")
