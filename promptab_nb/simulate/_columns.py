"""Arrow string and timestamp columns built from numpy without a Python loop over rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _fixed_width(chars: np.ndarray) -> pa.Array:
    """Arrow strings from an (n, width) uint8 array of ASCII codes, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).reshape(-1)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


_HEX_PAIRS = np.array(
    [int.from_bytes(f"{i:02x}".encode(), "little") for i in range(256)], dtype="<u2"
)


def _uuid4(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random version-4 UUID strings drawn from ``rng`` (deterministic for a seed)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexs = _HEX_PAIRS[raw].view(np.uint8)  # (n, 32) ASCII hex digits
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8] = hexs[:, 0:8]
    out[:, 9:13] = hexs[:, 8:12]
    out[:, 14:18] = hexs[:, 12:16]
    out[:, 19:23] = hexs[:, 16:20]
    out[:, 24:36] = hexs[:, 20:32]
    return _fixed_width(out)


def _user_ids(index: np.ndarray, width: int) -> pa.Array:
    """``user-000123``-style distinct ids for integer user indexes."""
    prefix = np.frombuffer(b"user-", dtype=np.uint8)
    chars = np.empty((len(index), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = prefix
    rest = index.astype(np.int64)
    for pos in range(width - 1, -1, -1):
        chars[:, len(prefix) + pos] = 48 + rest % 10
        rest //= 10
    return _fixed_width(chars)


def _pick(values: Sequence[Any], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``values[index]`` as an Arrow array, null where ``mask`` is false."""
    arr = pc.take(pa.array(list(values)), pa.array(index.astype(np.int32)))
    if mask is None:
        return arr
    return pc.if_else(pa.array(mask), arr, pa.nulls(len(arr), arr.type))


def _const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def _masked(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    return pa.array(values, mask=~mask)


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype(np.int64), type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


# ---------------------------------------------------------------------------------------------
# one chunk of users
