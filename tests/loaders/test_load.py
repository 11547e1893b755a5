"""The load pipeline's error translation: the machine's limits are named as such, not as a bad file."""

from __future__ import annotations

import duckdb
import pytest

from promptab_nb.errors import DataError
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
