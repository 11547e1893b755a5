"""PostHog's bucketing hash for many ids: ids to Arrow text, then SHA-1 in DuckDB or Python.

``h(key, id, salt) = int(sha1(f"{key}.{id}{salt}")[:15], 16) / (2**60 - 1)``, reproduced bit for bit;
:mod:`promptab_nb.assignment` turns the hashes into rollout and variant decisions.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidArgumentError

# PostHog's __LONG_SCALE__: the largest 15-hex-digit number, as a float (== 2.0**60).
_LONG_SCALE = float(0xFFFFFFFFFFFFFFF)

# The 15 leading hex digits of the SHA-1 as an exact 60-bit integer; the float division happens in
# numpy so that it is the same IEEE operation as PostHog's `int / float`.
_HASH_ROLLOUT = """
    SELECT ('0x' || substr(sha1($prefix || id), 1, 15))::UBIGINT AS h_rollout
    FROM promptab_ids
"""
_HASH_VARIANT = """
    SELECT ('0x' || substr(sha1($prefix || id || 'variant'), 1, 15))::UBIGINT AS h_variant
    FROM promptab_ids
"""
_HASH_BOTH = """
    SELECT ('0x' || substr(sha1($prefix || id), 1, 15))::UBIGINT AS h_rollout,
           ('0x' || substr(sha1($prefix || id || 'variant'), 1, 15))::UBIGINT AS h_variant
    FROM promptab_ids
"""

_SMALL = 1000  # up to this many ids hash in Python: a DuckDB round trip costs ~3 ms
_LOCK = threading.Lock()
_CONNECTION: tuple[int, Any] | None = None  # (pid, duckdb connection): never reuse one across fork


def _connection() -> Any:
    global _CONNECTION
    if _CONNECTION is None or _CONNECTION[0] != os.getpid():
        import duckdb

        con = duckdb.connect(":memory:")
        # Results must line up with the input ids row for row.
        con.execute("SET preserve_insertion_order = true")
        _CONNECTION = (os.getpid(), con)
    return _CONNECTION[1]


# ----------------------------------------------------------------------------------------------
# ids → Arrow strings, exactly as PostHog's f"{id}" would render them


def _python_strings(values: Iterable[Any]) -> pa.Array:
    out = []
    missing = []
    na = _pd_na()
    for i, v in enumerate(values):
        if v is None or v is na or (isinstance(v, float) and math.isnan(v)):
            missing.append(i)
        else:
            out.append(v if isinstance(v, str) else str(v))
    if missing:
        raise _missing_ids(len(missing), missing[0])
    return pa.array(out, type=pa.string())


def _missing_ids(count: int, first: int) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"ids has {count} missing value(s) (first at position {first}); "
        "drop or fill missing ids before assigning"
    )


def _pd_na() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return object()
    return pd.NA


def _arrow_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Convert an Arrow array to strings; integers through Arrow, everything else through str()."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = pc.cast(arr, t.value_type)
        t = arr.type
    if arr.null_count:
        raise _missing_ids(arr.null_count, int(pc.index(pc.is_null(arr), True).as_py()))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr
    if pa.types.is_integer(t):  # Arrow prints integers exactly as Python's str(int)
        return pc.cast(arr, pa.string())
    # Floats, booleans, dates...: Arrow's text differs from Python's (1e+16 vs 1e16), use str().
    return _python_strings(arr.to_pylist())


def _to_arrow_ids(ids: Any) -> pa.Array | pa.ChunkedArray:
    """The ids as Arrow text, each as PostHog's ``f"{id}"`` renders it."""
    try:
        return _ids_as_text(ids)
    except UnicodeError:  # a lone surrogate ('\ud800'), which has no UTF-8 bytes to hash
        first = next(
            ((i, str(v)) for i, v in enumerate(ids) if isinstance(v, str) and not _utf8_ok(v)),
            None,
        )
        where = "" if first is None else f" (first at position {first[0]}: {first[1]!r})"
        raise InvalidArgumentError(
            f"ids holds text that is not valid Unicode{where}: a lone surrogate has no UTF-8 "
            "bytes, so PostHog cannot hash it either. Repair the ids (e.g. decode the JSON "
            "they came from with errors='replace') before assigning"
        ) from None


def _utf8_ok(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _ids_as_text(ids: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(ids, str | bytes):
        raise InvalidArgumentError(
            f"ids == {ids!r} is a single value; pass a collection of ids, e.g. [{ids!r}]"
        )
    if isinstance(ids, pa.Array | pa.ChunkedArray):
        return _arrow_strings(ids)
    if hasattr(ids, "columns"):  # a whole table: iterating it would hash the column names
        raise InvalidArgumentError(
            f"ids is a {type(ids).__name__} (a table); pass one column, e.g. df['distinct_id']"
        )
    module = type(ids).__module__.split(".")[0]
    if module == "polars":
        return _arrow_strings(ids.to_arrow())
    if module == "pandas":
        try:
            arrow = pa.array(ids, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return _python_strings(ids)
        if pa.types.is_binary(arrow.type) or pa.types.is_large_binary(arrow.type):
            return _python_strings(ids)  # (str and bytes mixed: Arrow encodes the str too)
        return _arrow_strings(arrow)
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise InvalidArgumentError(
                f"ids has shape {ids.shape}, must be one-dimensional; pass a column or .ravel() it"
            )
        if ids.dtype.kind in "iuU":
            return _arrow_strings(pa.array(ids))
        return _python_strings(ids.tolist())
    if not isinstance(ids, Iterable):
        raise InvalidArgumentError(
            f"ids == {ids!r} is not a collection; pass a list, numpy array, or pandas/polars Series"
        )
    values = ids if isinstance(ids, list | tuple) else list(ids)
    try:  # fast path: every id is already a str (or an int)
        # (types inferred, not pa.string(): that decoded bytes, b"ab" → "ab", where an id is
        # hashed as str(id), "b'ab'", as PostHog's f"{id}" and the numpy and pandas paths do)
        arrow = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return _python_strings(values)
    if not (pa.types.is_string(arrow.type) or pa.types.is_integer(arrow.type)):
        # str() of the ids themselves: bytes (str and bytes mixed are all binary to Arrow),
        # floats, decimals, dates... as Python renders them
        return _python_strings(values)
    return _arrow_strings(arrow)


def _hashes_python(
    ids: list[str], key: str, *, rollout: bool, variant: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """PostHog's per-id code; cheaper than a DuckDB round trip (~3 ms) for a handful of ids."""

    def h(salt: str) -> np.ndarray:
        return np.array(
            [
                int(hashlib.sha1(f"{key}.{i}{salt}".encode()).hexdigest()[:15], 16) / _LONG_SCALE
                for i in ids
            ],
            dtype=np.float64,
        )

    return (h("") if rollout else None), (h("variant") if variant else None)


def _hashes(
    ids: pa.Array | pa.ChunkedArray, key: str, *, rollout: bool, variant: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """PostHog's h(key, id, "") and h(key, id, "variant") for every id, as float64 arrays.

    Raises
    ------
    InvalidArgumentError
        ``key`` holds a lone surrogate: it has no UTF-8 bytes to hash (PostHog's SDK hashes the
        UTF-8 of ``f"{key}.{id}"``, so it cannot hash it either).
    """
    if not _utf8_ok(key):
        raise InvalidArgumentError(
            f"flag_key == {key!r} is not valid Unicode: a lone surrogate has no UTF-8 bytes, so "
            "PostHog cannot hash it either. Pass the flag's key as PostHog shows it"
        )
    if len(ids) <= _SMALL:
        return _hashes_python(ids.to_pylist(), key, rollout=rollout, variant=variant)
    query = _HASH_BOTH if rollout and variant else _HASH_ROLLOUT if rollout else _HASH_VARIANT
    table = pa.table({"id": ids})
    with _LOCK:
        con = _connection()
        con.register("promptab_ids", table)
        try:
            cols = con.execute(query, {"prefix": f"{key}."}).fetchnumpy()
        finally:
            con.unregister("promptab_ids")
    out: list[np.ndarray | None] = []
    for name, wanted in (("h_rollout", rollout), ("h_variant", variant)):
        if wanted:
            ints = np.asarray(cols[name], dtype=np.uint64)
            # < 2**60, so the uint64 → float64 conversion is the same correctly rounded one as
            # Python's float(int); the division is then the same IEEE operation as PostHog's.
            out.append(ints.astype(np.float64) / _LONG_SCALE)
        else:
            out.append(None)
    return out[0], out[1]
