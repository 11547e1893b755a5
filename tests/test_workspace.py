from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from _events import expo, gen, write

import promptab_nb as pab


def test_tables_and_frames_out() -> None:
    ws = pab.Workspace()
    assert isinstance(ws.table("generations"), pd.DataFrame)
    assert isinstance(ws.table("generations", as_="polars"), pl.DataFrame)
    assert isinstance(ws.table("generations", as_="arrow"), pa.Table)
    assert list(ws.table("exposures").columns)[:6] == [
        "uuid",
        "ts",
        "distinct_id",
        "person_id",
        "flag_key",
        "variant",
    ]
    with pytest.raises(pab.NotFoundError, match="no table 'nope'"):
        ws.table("nope")
    with pytest.raises(pab.InvalidArgumentError, match="as_"):
        ws.table("generations", as_="excel")  # type: ignore[arg-type]
    assert ws.sql("SELECT ? + 1 AS x", [1])["x"][0] == 2
    assert ws.sql("SELECT $a AS x", {"a": "it's"})["x"][0] == "it's"
    with pytest.raises(pab.InvalidArgumentError, match="query failed"):
        ws.sql("SELEKT 1")


def test_file_workspace_persists_and_reopens(tmp_path, export_paths) -> None:
    path = tmp_path / "ws.duckdb"
    with pab.Workspace(path) as ws:
        ws.load_posthog(export_paths["parquet"], progress=False)
        exp = ws.create_experiment(
            "persist", "support", {"control": "1", "test": "2"}, flag_key="prompt-test"
        )
        exp.declare_winner("test")
        counts = ws.counts()
    with pab.Workspace(path) as ws2:
        assert ws2.counts() == counts
        again = ws2.experiment("persist")
        assert again.status == "concluded" and again.winner == "test"
        assert again.concluded_at is not None


def test_three_formats_load_identical_tables(export_paths) -> None:
    frames = {}
    for fmt, path in export_paths.items():
        ws = pab.Workspace()
        report = ws.load_posthog(path, keep_properties=True, progress=False)
        assert report.rows_rejected == 0, report.reasons
        frames[fmt] = {
            t: ws.sql(f"SELECT * EXCLUDE (import_id) FROM {t} ORDER BY uuid")
            for t in ("exposures", "generations", "evaluations")
        }
    for t in ("exposures", "generations", "evaluations"):
        a = frames["parquet"][t]
        for fmt in ("jsonl", "csv"):
            b = frames[fmt][t]
            if t == "generations":  # JSON text differs in key order/spacing only
                a2 = a.assign(properties=a["properties"].map(json.loads))
                b2 = b.assign(properties=b["properties"].map(json.loads))
                pd.testing.assert_frame_equal(a2, b2)
            else:
                pd.testing.assert_frame_equal(a, b)


def test_properties_json_is_kept_only_when_asked(export_paths) -> None:
    ws = pab.Workspace()
    ws.load_posthog(export_paths["parquet"], progress=False)
    props = ws.sql("SELECT count(properties) AS n, count(latency_s) AS lat FROM generations")
    assert props.n[0] == 0 and props.lat[0] > 0
    ws2 = pab.Workspace()
    ws2.load_posthog(export_paths["parquet"], keep_properties=True, progress=False)
    row = ws2.sql("SELECT properties, latency_s FROM generations WHERE latency_s > 0 LIMIT 1")
    assert json.loads(row.properties[0])["$ai_latency"] == row.latency_s[0]


def test_load_report_accounts_for_every_row(export_paths) -> None:
    ws = pab.Workspace()
    r = ws.load_posthog(export_paths["jsonl"], progress=False)
    assert r.rows_read == r.rows_loaded + r.rows_rejected + r.rows_duplicate
    assert r.loaded["exposures"] > 0 and r.loaded["generations"] > 0
    assert "posthog" in repr(r) and "<table" in r._repr_html_()
    again = ws.load_posthog(export_paths["jsonl"], progress=False)
    assert again.rows_loaded == 0 and again.rows_duplicate == again.rows_read
    # the same events from another format are recognised by uuid
    third = ws.load_posthog(export_paths["csv"], progress=False)
    assert third.rows_loaded == 0
    assert len(ws.imports()) == 3


def test_posthog_semantics(tmp_path) -> None:
    events = [
        gen("ok", "u1", 0),
        gen("err", "u1", 1, error=True),
        gen("sdk", "u1", 2, **{"$ai_http_status": 0}),
        gen(
            "cost_parts",
            "u1",
            3,
            cost=None,
            **{"$ai_input_cost_usd": 0.25, "$ai_output_cost_usd": 0.5},
        ),
        # one part priced: the other is 0 only where its tokens are 0 (missing is not zero)
        gen("in_only", "u1", 4, cost=None, **{"$ai_input_cost_usd": 0.25, "$ai_output_tokens": 9}),
        gen(
            "in_no_out", "u1", 5, cost=None, **{"$ai_input_cost_usd": 0.25, "$ai_output_tokens": 0}
        ),
        expo("e1", "u1", 0, "control"),
    ]
    for e in events[3:6]:
        e["properties"].pop("$ai_total_cost_usd")
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["jsonl"], progress=False)
    g = ws.table("generations").set_index("uuid")
    assert not g.loc["ok", "is_error"] and g.loc["err", "is_error"] and g.loc["sdk", "is_error"]
    assert g.loc["cost_parts", "cost_usd"] == pytest.approx(0.75)
    assert pd.isna(g.loc["in_only", "cost_usd"]) and g.loc["in_no_out", "cost_usd"] == 0.25
    assert g.loc["ok", "latency_s"] == 1.0 and g.loc["ok", "prompt_version"] == "1"


@pytest.mark.parametrize("column", ["event", "distinct_id", "timestamp", "properties"])
@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_missing_required_column(tmp_path, column, fmt) -> None:
    paths = write([gen("a", "u1", 0), expo("e", "u1", 0, "control")], tmp_path)
    path = paths[fmt]
    if fmt == "parquet":
        pd.read_parquet(path).drop(columns=[column]).to_parquet(path)
    elif fmt == "csv":
        pd.read_csv(path).drop(columns=[column]).to_csv(path, index=False)
    else:
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        path.write_text(
            "\n".join(json.dumps({k: v for k, v in d.items() if k != column}) for d in lines)
        )
    ws = pab.Workspace()
    with pytest.raises(pab.MissingColumnError, match=f"{path.name} has no column '{column}'"):
        ws.load_posthog(path, progress=False)
    assert ws.counts()["generations"] == 0 and ws.counts()["imports"] == 0


def test_missing_file_and_unknown_format(tmp_path) -> None:
    ws = pab.Workspace()
    with pytest.raises(pab.DataError, match="file not found: .*nope.parquet"):
        ws.load_posthog(tmp_path / "nope.parquet")
    odd = tmp_path / "events.xlsx"
    odd.write_text("x")
    with pytest.raises(pab.UnknownFormatError, match="events.xlsx: unknown format .xlsx"):
        ws.load_posthog(odd)
    with pytest.raises(pab.DataError, match="no file matches"):
        ws.load_posthog(str(tmp_path / "*.parquet"))


def test_bad_rows_go_to_rejects_and_the_rest_loads(tmp_path) -> None:
    events = [
        gen("good", "u1", 0),
        gen("neg", "u1", 1, latency=-2.0),
        gen("text", "u1", 2, latency="fast"),
        gen("nan", "u1", 3, latency=float("nan")),
        expo("e1", "u1", 0, "control"),
        {**gen("bad_ts", "u1", 4), "timestamp": "yesterday"},
    ]
    paths = write(events, tmp_path)
    # a row whose properties are not JSON (CSV keeps the text as is)
    csv = paths["csv"]
    df = pd.read_csv(csv)
    df.loc[0, "properties"] = "{not json"
    df.to_csv(csv, index=False)
    ws = pab.Workspace()
    r = ws.load_posthog(csv, progress=False)
    rej = ws.rejects()
    reasons = dict(zip(rej["source_row"], rej["reason"], strict=True))
    assert reasons[1] == "properties is not valid JSON"
    assert reasons[2] == "properties.$ai_latency is not a number >= 0"
    assert reasons[3] == "properties.$ai_latency is not a number >= 0"
    assert reasons[6] == "timestamp is missing or not a date-time"
    assert set(rej["column"]) >= {"properties", "properties.$ai_latency", "timestamp"}
    assert r.rows_read == 6 and r.rows_loaded + r.rows_rejected == 6
    assert r.loaded["exposures"] == 1
    # NaN in JSON (Python writes NaN) is rejected too in JSONL
    ws2 = pab.Workspace()
    r2 = ws2.load_posthog(paths["jsonl"], progress=False)
    assert r2.loaded["generations"] == 1 and r2.rows_rejected == 4


def test_repr_is_cheap_and_informative() -> None:
    ws = pab.Workspace()
    assert repr(ws).startswith("Workspace(:memory:")


def test_a_version_1_file_gets_the_new_columns(tmp_path) -> None:
    import duckdb

    from promptab_nb import schema

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    old = [(c, t) for c, t in schema.TABLES["experiments"] if c not in ("assigned_by", "design")]
    con.execute(f"CREATE TABLE experiments ({', '.join(f'{c} {t}' for c, t in old)})")
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.close()
    with pab.Workspace(path) as ws:
        cols = ws.table("experiments").columns
        assert {"assigned_by", "design"} <= set(cols)
        exp = ws.create_experiment("x", "p", {"control": "v1", "test": "v2"})
        assert ws.experiment("x") == exp
        version = ws.sql("SELECT value FROM meta WHERE key = 'schema_version'").iloc[0, 0]
        assert version == str(schema.SCHEMA_VERSION)


def test_a_version_2_file_keeps_loading(tmp_path) -> None:
    # imports gained `call` in version 3: an older file gets it and takes new loads
    import duckdb

    from promptab_nb import schema

    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    old = [(c, t) for c, t in schema.TABLES["imports"] if c != "call"]
    con.execute(f"CREATE TABLE imports ({', '.join(f'{c} {t}' for c, t in old)})")
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.close()
    data = Path(__file__).resolve().parent.parent / "data" / "spanlens_requests.csv"
    with pab.Workspace(path) as ws:
        ws.load_spanlens(data, progress=False)
        (call,) = ws.sql("SELECT call FROM imports").call
        assert call == f"ws.load_spanlens({str(data)!r})"


def _settings(ws: pab.Workspace) -> tuple[str, str]:
    return ws.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]


def test_duckdb_defaults_are_sized_for_a_laptop(tmp_path, monkeypatch) -> None:
    import tempfile

    from promptab_nb.loaders import _context

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ws = pab.Workspace()
    limit, temp = _settings(ws)
    mib = float(limit.split()[0]) if limit.endswith("MiB") else float(limit.split()[0]) * 1024
    assert mib <= _context.MEMORY_CAP / 2**20
    # freed memory goes back to the OS early (DuckDB's default waits for a 512 MiB bulk free)
    flush = ws.sql("SELECT current_setting('allocator_bulk_deallocation_flush_threshold') AS v")
    assert flush.v[0] == "16.0 MiB"
    # spills go to a promptab folder of the system temp folder, not the notebook's folder
    assert Path(temp).parent == tmp_path and Path(temp).name.startswith("promptab_")
    ws.close()
    assert not Path(temp).exists()


def test_default_memory_limit_follows_the_machine() -> None:
    from promptab_nb.loaders import default_memory_limit

    gib = 2**30
    assert default_memory_limit(64 * gib) == "512MiB"  # capped
    assert default_memory_limit(gib) == "256MiB"  # a quarter
    assert default_memory_limit(256 * 2**20) == "128MiB"  # floor
    assert default_memory_limit().endswith("MiB")


def test_duckdb_settings_can_be_overridden(tmp_path) -> None:
    spill = tmp_path / "spill"
    ws = pab.Workspace(memory_limit="1GB", temp_directory=spill, threads=1)
    limit, temp = _settings(ws)
    assert limit in ("953.6 MiB", "1.0 GB", "1000.0 MB") and Path(temp) == spill
    assert ws.con.execute("SELECT current_setting('threads')").fetchall()[0][0] == 1
    ws.close()


def test_a_spilling_query_cleans_its_folder_on_close(tmp_path) -> None:
    spill = tmp_path / "spill"
    ws = pab.Workspace(memory_limit="64MB", temp_directory=spill, threads=1)
    ws.con.execute(
        "SELECT count(*) FROM (SELECT md5(range::VARCHAR) s FROM range(3000000) ORDER BY s)"
    ).fetchall()
    ws.close()
    assert not spill.exists()


def test_a_file_open_twice_in_one_process_says_so(tmp_path) -> None:
    # as re-running a notebook cell does: name the cause and the fix, then reopening works
    path = tmp_path / "w.duckdb"
    first = pab.Workspace(path)
    with pytest.raises(pab.errors.WorkspaceInUseError, match="already open in this process"):
        pab.Workspace(path)
    first.close()
    with pab.Workspace(path) as again:
        assert again.counts()["generations"] == 0


def test_a_closed_workspace_says_so(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    with pab.Workspace(path) as ws:
        exp = ws.create_experiment("x", "p", {"control": "v1", "test": "v2"})
    for use in (ws.counts, lambda: ws.sql("SELECT 1"), lambda: ws.table("generations"),
                lambda: exp.analyze(["cost"])):  # fmt: skip
        with pytest.raises(
            pab.errors.InvalidArgumentError, match=r"workspace .*w\.duckdb.* is closed"
        ):
            use()
    assert repr(ws).endswith(": closed)")
    ws.close()  # again: nothing


def test_a_version_3_file_gets_the_cache_columns_and_recomputes_cost(tmp_path) -> None:
    # generations gained the cache-token columns in version 4, appended as a new file has them
    import duckdb

    from promptab_nb import schema

    path = tmp_path / "v3.duckdb"
    con = duckdb.connect(str(path))
    new = {"cache_read_tokens", "cache_write_tokens", "cache_in_input"}
    old = [(c, t) for c, t in schema.TABLES["generations"] if c not in new]
    con.execute(f"CREATE TABLE generations ({', '.join(f'{c} {t}' for c, t in old)})")
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    con.close()
    with pab.Workspace(path) as ws:
        assert ws.table("generations").columns.tolist() == schema.columns("generations")
        data = Path(__file__).resolve().parent.parent / "data" / "posthog_events.jsonl"
        ws.load_posthog(data, progress=False)
        exp = ws.create_experiment("x", "support-bot", {"control": "v1", "test": "v2"})
        pytest.importorskip("genai_prices")
        assert exp.analyze(["cost"], cost="recompute").rows[0].n > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threads": 0}, "threads == 0, must be >= 1"),
        ({"threads": -1}, "threads == -1, must be >= 1"),
        ({"threads": 1.5}, "threads == 1.5, must be an integer"),
        ({"threads": "two"}, "threads == 'two', must be a number"),
        ({"memory_limit": "lots"}, "memory_limit == 'lots'.*e.g. '2GB'"),
        ({"memory_limit": 2}, "memory_limit == 2.*e.g. '2GB'"),
        ({"memory_limit": "-1GB"}, "memory_limit == '-1GB'.*e.g. '2GB'"),
        ({"memory_limit": "0GB"}, "memory_limit == '0GB'.*e.g. '2GB'"),
        ({"memory_limit": "1"}, "memory_limit == '1'.*e.g. '2GB'"),
        ({"memory_limit": "1KB"}, "memory_limit == '1KB' is too small"),
        ({"memory_limit": ""}, "memory_limit == ''.*e.g. '2GB'"),
    ],
)
def test_duckdb_settings_are_checked(kwargs, match) -> None:
    # threads=0 silently meant every core, 1.5 one thread, -1GB DuckDB's 80 % of the machine;
    # the others blamed the file ('cannot open workspace None ... Is it a promptab_nb DuckDB
    # file?') or raised Python's ValueError
    with pytest.raises(pab.InvalidArgumentError, match=match):
        pab.Workspace(**kwargs)


def test_duckdb_memory_limit_takes_its_units() -> None:
    for limit in ("512MiB", "1.5GB", "10 mb", "50%"):
        pab.Workspace(memory_limit=limit).close()


def test_a_transaction_inside_a_transaction_says_so() -> None:
    # create_experiment (or a load) inside `with ws.transaction():` raised DuckDB's
    # TransactionException 'cannot start a transaction within a transaction'
    ws = pab.Workspace()
    with (
        pytest.raises(pab.InvalidArgumentError, match="already inside ws.transaction()"),
        ws.transaction(),
    ):
        ws.create_experiment("a", "p", {"control": "1", "test": "2"})
    assert len(ws.experiments()) == 0  # the outer block rolled back
    with ws.transaction():  # and the workspace is usable again
        pass
    ws.create_experiment("a", "p", {"control": "1", "test": "2"})
    assert len(ws.experiments()) == 1


def test_a_path_under_home_is_expanded(tmp_path, monkeypatch) -> None:
    # pab.Workspace("~/ab.duckdb") failed with "Cannot open file ~/ab.duckdb: No such file or
    # directory" (or made a folder named '~'), where pandas and the shell read ~ as home
    monkeypatch.setenv("HOME", str(tmp_path))
    with pab.Workspace("~/ab.duckdb") as ws:
        assert ws.path == str(tmp_path / "ab.duckdb")
    assert (tmp_path / "ab.duckdb").is_file()
