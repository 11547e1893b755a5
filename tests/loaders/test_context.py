"""Per-load context: unique temp-table names, a temp folder per load, concurrent loads, cleanup
after success, failure and SIGKILL. The temp root is always a tmp_path (never the real /tmp)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import _events as E
import pandas as pd
import pytest

from promptab_nb.errors import MissingColumnError
from promptab_nb.loaders import _context, _load
from promptab_nb.loaders._context import LoadContext, remove_stale_dirs, temp_root
from promptab_nb.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path, monkeypatch):
    """The system temp folder, as the loaders see it, is an empty folder of this test."""
    d = tmp_path / "systemp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    assert temp_root() == d
    return d


def _export(directory: Path, stem: str, n_gen: int) -> dict[str, Path]:
    events = [E.expo(f"{stem}-e", "u1", 0, "control")]
    events += [E.gen(f"{stem}-g{i}", f"u{i}", i + 1) for i in range(n_gen)]
    return E.write(events, directory, stem)


def _temp_objects(ws: Workspace) -> list[str]:
    return [
        r[0]
        for r in ws.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
        ).fetchall()
    ]


# -- names ------------------------------------------------------------------------------------
def test_two_contexts_have_different_quoted_temp_table_names():
    a, b = LoadContext(), LoadContext()
    assert a.t("lines") != b.t("lines")
    assert a.t("lines") == f'"_pab_lines_{a.suffix}"'
    assert a.name("gen") != b.name("gen")
    assert a.stage("generations") == a.name("gen")


def test_sql_template_and_allow_list():
    ctx = LoadContext()
    assert ctx.sql("SELECT * FROM {rec} JOIN {pre} USING (x)") == (
        f"SELECT * FROM {ctx.t('rec')} JOIN {ctx.t('pre')} USING (x)"
    )
    with pytest.raises(AssertionError, match="unknown temp table"):
        ctx.t("not_a_table")


def test_temp_dir_is_lazy_named_after_the_process_and_removed_on_close(root):
    ctx = LoadContext()
    assert list(root.iterdir()) == []
    d = ctx.temp_dir()
    assert d.parent == root and d.name.startswith(f"promptab_{os.getpid()}_")
    assert ctx.temp_dir() == d  # created once
    (d / "rows.parquet").write_bytes(b"x")
    ctx.close(None)  # type: ignore[arg-type]  # nothing registered: the connection is unused
    assert not d.exists()


# -- two loads at once ------------------------------------------------------------------------
def test_two_workspaces_load_at_the_same_time(tmp_path, root, monkeypatch):
    """Both loads are staged (their CSV rows in their temp folders) before either commits, then
    one commits while the other waits: with one shared list of temp files, the first to finish
    deleted the other's rows ("No files found that match the pattern .../rows.parquet")."""
    files = [_export(tmp_path / "a", "a", 3)["csv"], _export(tmp_path / "b", "b", 5)["csv"]]
    start, staged = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=60)
    looked, one_at_a_time = threading.Barrier(2, timeout=60), threading.Lock()
    looked_dirs = threading.Barrier(2, timeout=60)
    seen: dict[int, tuple[str, list[Path]]] = {}
    real_finish = _load.finish

    def finish(con, ctx, *args, **kwargs):
        staged.wait()  # both loads are mid-way here
        ctx.temp_dir()  # as a wide CSV's fold does: each load asks for its folder
        looked_dirs.wait()
        seen[threading.get_ident()] = (ctx.name("lines"), sorted(root.iterdir()))
        looked.wait()
        with one_at_a_time:
            return real_finish(con, ctx, *args, **kwargs)

    monkeypatch.setattr(_load, "finish", finish)
    reports: dict[int, object] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with Workspace() as ws:
                start.wait()
                reports[i] = ws.load_posthog(files[i], progress=False)
                assert ws.counts()["generations"] == (3, 5)[i]
                assert _temp_objects(ws) == []
        except BaseException as err:  # reported below, with the thread's traceback
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    assert reports[0].loaded == {"exposures": 1, "generations": 3, "evaluations": 0}  # type: ignore[attr-defined]
    assert reports[1].loaded == {"exposures": 1, "generations": 5, "evaluations": 0}  # type: ignore[attr-defined]
    names = [name for name, _ in seen.values()]
    assert len(set(names)) == 2
    # While both were staged, each had its own folder.
    assert all(len(dirs) == 2 for _, dirs in seen.values())
    assert list(root.iterdir()) == []


# -- nothing survives -------------------------------------------------------------------------
def test_nothing_survives_a_successful_load(tmp_path, root):
    paths = _export(tmp_path, "ok", 4)
    with Workspace() as ws:
        for fmt in ("csv", "jsonl", "parquet"):
            ws.load_posthog(paths[fmt], progress=False)
        assert ws.counts()["generations"] == 4
        assert _temp_objects(ws) == []
    assert list(root.iterdir()) == []


def test_nothing_survives_a_failed_load(tmp_path, root):
    bad = tmp_path / "bad.csv"
    bad.write_text("uuid,event,distinct_id,timestamp\nx,$ai_generation,u1,2026-03-01\n")
    frame = E.write([E.gen("g1", "u1", 1)], tmp_path / "f")["parquet"]
    with Workspace() as ws:
        with pytest.raises(MissingColumnError, match="properties"):
            ws.load_posthog(bad, progress=False)
        assert _temp_objects(ws) == []
        assert ws.counts()["generations"] == 0
        # A frame load that fails (unknown column) unregisters its frame too.
        df = pd.read_parquet(frame)
        with pytest.raises(MissingColumnError):
            ws.load_frame(df, columns={"ts": "no_such_column"})
        assert _temp_objects(ws) == []  # registered frames are temporary views
    assert list(root.iterdir()) == []


_CHILD = """
import sys, tempfile, time
tempfile.tempdir = sys.argv[1]
from promptab_nb.loaders import _posthog_read
from promptab_nb.workspace import Workspace

real = _posthog_read.read_csv_rows

def read_then_hang(con, ctx, path, compression, **kw):
    header = real(con, ctx, path, compression, **kw)
    print("staged", ctx.temp_dir(), flush=True)
    time.sleep(120)
    return header

_posthog_read.read_csv_rows = read_then_hang
Workspace().load_posthog(sys.argv[2], progress=False)
"""


def test_a_killed_loads_folder_is_removed_by_the_next_load(tmp_path, root):
    csv = _export(tmp_path, "k", 3)["csv"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), str(csv)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line[:1] == ["staged"], child.stderr.read() if child.stderr else line
        dead = Path(line[1])
        assert dead.parent == root and dead.name.startswith(f"promptab_{child.pid}_")
        assert dead.is_dir()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    # A live process's folder (this one's: another thread's load) and foreign folders stay.
    mine = root / f"promptab_{os.getpid()}_0123abcd"
    mine.mkdir()
    foreign = root / "promptab_k3j_2x9a"  # the old mkdtemp naming: no owner known
    foreign.mkdir()
    with Workspace() as ws:
        ws.load_posthog(csv, progress=False)
        assert ws.counts()["generations"] == 3
    assert not dead.exists()
    assert sorted(root.iterdir()) == sorted([mine, foreign])


def test_remove_stale_dirs_keeps_live_processes(root):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        finished = subprocess.Popen([sys.executable, "-c", "pass"])
        finished.wait(timeout=30)
        live = root / f"promptab_{sleeper.pid}_00000000"
        dead = root / f"promptab_{finished.pid}_ffffffff"
        not_a_dir = root / f"promptab_{finished.pid}_aaaaaaaa"
        live.mkdir()
        dead.mkdir()
        (dead / "rows.parquet").write_bytes(b"x")
        not_a_dir.write_text("a file, not ours to remove")
        assert remove_stale_dirs() == [dead]
        assert live.exists() and not dead.exists() and not_a_dir.exists()
    finally:
        sleeper.kill()
        sleeper.wait(timeout=30)


def test_alive():
    assert _context._alive(os.getpid())
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(timeout=30)
    assert not _context._alive(p.pid)
