"""The load pipeline: its error translation (the machine's limits are named as such, not as a bad
file), and the files' hashing on a thread while they load."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import duckdb
import pytest

from promptab_nb.errors import DataError
from promptab_nb.loaders import _files
from promptab_nb.loaders._load import wrap_errors


def _raise(err: Exception) -> None:
    with wrap_errors("events.jsonl", "jsonl"):
        raise err


def test_full_spill_disk_names_the_disk_and_the_fix() -> None:
    err = duckdb.IOException(
        'IO Error: Could not write file "/tmp/x/duckdb_temp_1.tmp": No space left on device'
    )
    with pytest.raises(DataError) as info:
        _raise(err)
    msg = str(info.value)
    assert msg.startswith("events.jsonl: the disk holding DuckDB's spill files is full")
    assert "temp_directory=" in msg and "Nothing was loaded" in msg
    assert "truncated" not in msg  # not blamed on the file
    assert info.value.__cause__ is err


def test_out_of_memory_names_the_limit_and_the_fix() -> None:
    with pytest.raises(DataError, match=r"events.jsonl: DuckDB ran out of memory .*memory_limit="):
        _raise(duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 4.0 MiB"))


def test_other_duckdb_errors_still_point_at_the_file() -> None:
    with pytest.raises(DataError, match=r"cannot read as jsonl: .*not truncated"):
        _raise(duckdb.InvalidInputException("Malformed JSON at byte 3"))
    with pytest.raises(DataError, match=r"cannot read as jsonl: IO Error: Permission denied"):
        _raise(duckdb.IOException("IO Error: Permission denied"))


# -- files are hashed on a thread while they load ------------------------------------------------
def _two_exports(tmp_path: Path) -> list[Path]:
    from _events import synthetic_events, write

    a = write(synthetic_events(users=30, seed=1), tmp_path / "a")
    b = write(synthetic_events(users=30, seed=2), tmp_path / "b")
    return [a["parquet"], b["csv"]]


def test_each_file_is_reported_with_the_sha256_of_its_bytes(ws, tmp_path: Path) -> None:
    files = _two_exports(tmp_path)
    report = ws.load_posthog(files, progress=False)
    want = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert [f.sha256 for f in report.files] == want
    stored = ws.con.execute("SELECT sha256 FROM imports ORDER BY import_id").fetchall()
    assert [s for (s,) in stored] == want


def test_a_file_that_cannot_be_hashed_fails_the_load_naming_it(
    ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _two_exports(tmp_path)
    real = _files.sha256

    def flaky(path: Path) -> str:
        if path == files[1]:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(_files, "sha256", flaky)
    with pytest.raises(DataError, match=r"b/events\.csv: cannot load \(PermissionError"):
        ws.load_posthog(files, progress=False)
    # the first file, staged and inserted before the second failed, is rolled back with it
    assert ws.con.execute("SELECT count(*) FROM imports").fetchall() == [(0,)]
    assert ws.con.execute("SELECT count(*) FROM generations").fetchall() == [(0,)]


def test_a_failed_load_cancels_the_hashing_of_the_files_it_did_not_reach(
    ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptab_nb.loaders import _load

    first, second = _two_exports(tmp_path)
    third = tmp_path / "c.parquet"
    third.write_bytes(first.read_bytes())
    started, release = threading.Event(), threading.Event()
    real = _files.sha256

    def slow(path: Path) -> str:
        started.set()
        release.wait(10)  # holds the hashing thread on the first file
        return real(path)

    submitted = []
    later = _files.sha256_later

    def recorded(path: Path):
        submitted.append(later(path))
        return submitted[-1]

    monkeypatch.setattr(_files, "sha256", slow)
    monkeypatch.setattr(_files, "sha256_later", recorded)
    rows = _load.prepare_paths([first, second, third], source="posthog")
    assert submitted == []  # hashing starts with the load

    def stage(con, ctx, item):
        # fail once the first file's hashing is under way (a job not started yet is cancelled
        # too, which made this test depend on the thread's timing)
        started.wait(10)
        raise duckdb.InvalidInputException("Malformed file")

    try:
        with pytest.raises(DataError, match=r"a/events\.parquet: cannot read as parquet"):
            _load.load_all(ws, rows, source="posthog", stage=stage, progress=False)
        assert len(submitted) == 3
        assert submitted[1].cancelled() and submitted[2].cancelled()
    finally:
        release.set()
    assert submitted[0].result(timeout=30) == hashlib.sha256(first.read_bytes()).hexdigest()


@pytest.mark.parametrize("lib", ["pandas", "polars", "arrow"])
def test_a_frame_load_error_speaks_of_the_frame_not_of_a_file(lib) -> None:
    # A DuckDB error while loading a frame said "cannot read as pandas: ... Check that the file
    # is complete (not truncated) and really is an export in this format": there is no file.
    with pytest.raises(DataError) as info, wrap_errors(f"<{lib} frame>", lib):
        raise duckdb.ConversionException("Conversion Error: Could not convert 'x' to DOUBLE")
    msg = str(info.value)
    assert msg.startswith(f"<{lib} frame>: cannot read the {lib} frame: Conversion Error")
    assert "file" not in msg and "truncated" not in msg
    assert "column" in msg and "columns=" in msg


def test_a_frame_out_of_memory_says_to_load_it_in_slices() -> None:
    # "load the export in smaller files", of a frame
    with pytest.raises(DataError) as info, wrap_errors("<pandas frame>", "pandas"):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 4.0 MiB")
    msg = str(info.value)
    assert "memory_limit=" in msg and "slices" in msg and "files" not in msg


def test_an_existing_file_whose_name_has_glob_characters_is_that_file(tmp_path: Path) -> None:
    # 'ex[1].parquet' was always read as a pattern (matching 'ex1.parquet'), so the file itself
    # could not be loaded: "no file matches"; a literal path that exists is that path.
    import promptab_nb as pab

    data = Path(__file__).resolve().parents[2] / "data" / "posthog_events.parquet"
    odd = tmp_path / "ex[1].parquet"
    odd.write_bytes(data.read_bytes())
    assert _files.resolve(odd) == [odd]
    assert _files.resolve(str(tmp_path / "ex?1?.parquet")) == [odd]  # still a pattern
    ws = pab.Workspace()
    assert (
        ws.load_posthog(odd, progress=False).rows_read
        == ws.load_posthog(data, progress=False).rows_read
    )
