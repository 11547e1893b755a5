"""PostHog-exact feature-flag assignment: rollout, multivariate variants and two-arm splits.

PostHog buckets an id with ``h(key, id, salt) = int(sha1(f"{key}.{id}{salt}")[:15], 16) / (2**60 - 1)``.
The id is in the rollout unless ``h(key, id, "") > rollout / 100``; its variant is the first of the
cumulative, half-open ranges ``[lo, lo + share / 100)`` (listed order, built by repeated float
addition) that holds ``h(key, id, "variant")``. This module reproduces that bit for bit and runs the
SHA-1 step vectorized in DuckDB, so a million ids take well under a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._checks import check
from .errors import InvalidArgumentError

__all__ = ["Flag", "assign", "expected_variants", "split"]

VariantSpec = Mapping[str, float] | Sequence[str] | Sequence[tuple[str, float]]

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
    try:  # fast path: every id is already a str
        arrow = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
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
    """PostHog's h(key, id, "") and h(key, id, "variant") for every id, as float64 arrays."""
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


# ----------------------------------------------------------------------------------------------
# variants


def _equal_shares(n: int) -> list[int]:
    """PostHog's "distribute equally": round(100 / n) each, the rounding error on the last one."""
    each = math.floor(100 / n + 0.5)  # JavaScript's Math.round (halves go up), not Python's round
    return [each] * (n - 1) + [100 - each * (n - 1)]


def _normalize_variants(variants: Any, name: str = "variants") -> tuple[tuple[str, float], ...]:
    if isinstance(variants, str | bytes):
        raise InvalidArgumentError(
            f"{name} == {variants!r}, must be a list of variant keys or a dict key → percent, "
            f"e.g. {{'control': 50, 'test': 50}}"
        )
    if isinstance(variants, Mapping):
        pairs = list(variants.items())
    elif isinstance(variants, Iterable):
        items = list(variants)
        if items and all(isinstance(v, str) for v in items):
            if len(items) > 100:
                raise InvalidArgumentError(
                    f"{name} has {len(items)} keys; equal shares exist for at most 100 variants. "
                    "Pass a dict key → percent instead"
                )
            pairs = list(zip(items, _equal_shares(len(items)), strict=True))
        elif all(isinstance(v, tuple | list) and len(v) == 2 for v in items):
            pairs = [(k, s) for k, s in items]
        else:
            raise InvalidArgumentError(
                f"{name} == {variants!r}, must be a list of variant keys or a dict key → percent"
            )
    else:
        raise InvalidArgumentError(
            f"{name} == {variants!r}, must be None (on/off flag), a list of variant keys or "
            "a dict key → percent"
        )
    if not pairs:
        raise InvalidArgumentError(
            f"{name} is empty; pass at least one variant, e.g. {{'control': 50, 'test': 50}}, "
            "or variants=None for an on/off flag"
        )
    seen: set[str] = set()
    out = []
    for k, share in pairs:
        if not isinstance(k, str) or not k:
            raise InvalidArgumentError(f"{name} has variant key {k!r}; keys must be non-empty text")
        if k in seen:
            raise InvalidArgumentError(
                f"{name} lists the variant key {k!r} twice; give each variant a distinct key"
            )
        seen.add(k)
        out.append((k, check(share, f"{name}[{k!r}] (percent of traffic)", ge=0, le=100)))
    total = math.fsum(s for _, s in out)
    if abs(total - 100) > 1e-9:
        listing = ", ".join(f"{k!r}: {s}" for k, s in out)
        raise InvalidArgumentError(
            f"{name} shares sum to {total:g} %, must sum to 100 % ({{{listing}}}); "
            "adjust the percentages or pass a list of keys for equal shares"
        )
    return tuple(out)


def _lookup_table(variants: tuple[tuple[str, float], ...]) -> np.ndarray:
    """Upper ends of PostHog's variant ranges, built by the same repeated float addition."""
    value_min = 0.0
    ends = []
    for _, share in variants:
        value_max = value_min + share / 100
        ends.append(value_max)
        value_min = value_max
    return np.array(ends, dtype=np.float64)


def _check_key(flag_key: Any) -> str:
    if not isinstance(flag_key, str) or not flag_key:
        raise InvalidArgumentError(
            f"flag_key == {flag_key!r}, must be the flag's key as non-empty text, e.g. 'support-bot'"
        )
    return flag_key


def _check_rollout(rollout: Any, name: str = "rollout") -> float:
    return check(rollout, f"{name} (percent of ids in the flag)", ge=0, le=100)


def _assign(
    ids: Any, key: str, variants: tuple[tuple[str, float], ...] | None, rollout: float
) -> np.ndarray:
    arrow = _to_arrow_ids(ids)
    n = len(arrow)
    # h <= 1.0 always, so a 100 % rollout never needs the rollout hash.
    need_rollout = rollout < 100 and n > 0
    need_variant = variants is not None and n > 0
    h_rollout, h_variant = (
        _hashes(arrow, key, rollout=need_rollout, variant=need_variant)
        if need_rollout or need_variant
        else (None, None)
    )
    enabled = (
        h_rollout <= rollout / 100 if h_rollout is not None else np.ones(n, dtype=bool)
    )  # PostHog: out unless h > rollout / 100
    if variants is None:
        return enabled
    if n == 0:
        return np.empty(0, dtype=object)
    assert h_variant is not None  # need_variant is true here: variants given and n > 0
    # First range [lo, hi) holding h is the first hi > h, since the ends never decrease.
    index = np.searchsorted(_lookup_table(variants), h_variant, side="right")
    # PostHog answers `True` (enabled, no variant) when h falls past the last range, which float
    # rounding of the range ends can allow with probability ~1e-16.
    keys = np.array([k for k, _ in variants] + [True], dtype=object)
    out = keys[index]
    out[~enabled] = None
    return out


# ----------------------------------------------------------------------------------------------
# public API


def assign(
    ids: Any,
    flag_key: str,
    *,
    variants: VariantSpec | None = None,
    rollout: float = 100.0,
) -> np.ndarray:
    """Assign ids to a feature flag exactly as PostHog does.

    Parameters
    ----------
    ids
        Distinct ids (or group keys): an iterable of str/int, a numpy array, or a pandas/polars
        Series. Each id is hashed as ``str(id)``; missing values raise.
    flag_key
        The PostHog flag key.
    variants
        ``None`` for an on/off flag; a list of variant keys for PostHog's equal split (3 keys →
        33 / 33 / 34 %); or a dict variant key → share of traffic in percent, summing to 100.
        Order matters: ranges are laid out in the order given.
    rollout
        Percentage of ids (0–100) in the flag at all; ids outside it get ``None`` / ``False``.

    Returns
    -------
    numpy.ndarray
        On/off flag: a bool array. Multivariate: an object array of variant keys, ``None`` for ids
        outside the rollout (and, like PostHog, ``True`` in the ~1e-16-probability case that float
        rounding leaves the hash past the last range).

    Raises
    ------
    InvalidArgumentError
        Empty variants, duplicate keys, negative shares or shares not summing to 100, a rollout
        outside [0, 100], or a missing id.

    Examples
    --------
    >>> assign(["distinct_id_0", "distinct_id_1"], "simple-flag", rollout=45).tolist()
    [False, True]
    >>> assign(["u1", "u2", "u3"], "support-bot", variants={"control": 50, "test": 50}).tolist()
    ['control', 'test', 'control']
    """
    key = _check_key(flag_key)
    shares = None if variants is None else _normalize_variants(variants)
    return _assign(ids, key, shares, _check_rollout(rollout))


def split(ids: Any, key: str, *, b_percent: float = 50, rollout: float = 100.0) -> np.ndarray:
    """Two-arm traffic split: ``"test"`` gets ``b_percent`` % of ids, ``"control"`` the rest.

    The same PostHog hash as :func:`assign`; ``split(ids, key, b_percent=b)`` equals
    ``assign(ids, key, variants={"control": 100 - b, "test": b})``.

    Parameters
    ----------
    ids
        Distinct ids, as for :func:`assign`.
    key
        The flag key.
    b_percent
        Share of traffic for ``"test"``, in percent, from 1 to 99.
    rollout
        Percentage of ids (0–100) in the experiment at all; the others get ``None``.

    Returns
    -------
    numpy.ndarray
        Object array of ``"control"`` / ``"test"`` (``None`` outside the rollout).

    Raises
    ------
    InvalidArgumentError
        ``b_percent`` outside [1, 99] or a bad rollout / id.

    Examples
    --------
    >>> split(["u1", "u2", "u3"], "support-bot", b_percent=50).tolist()
    ['control', 'test', 'control']
    """
    k = _check_key(key)
    try:
        check(b_percent, "b_percent", ge=1, le=99)
    except InvalidArgumentError as err:
        raise InvalidArgumentError(
            f"{err} (the percentage of traffic for 'test'; e.g. b_percent=10 sends 10 % to test)"
        ) from None
    shares = (("control", 100 - b_percent), ("test", b_percent))
    return _assign(ids, k, shares, _check_rollout(rollout))


@dataclass(frozen=True)
class Flag:
    """A PostHog feature flag: key, variants with their shares, and rollout.

    Parameters
    ----------
    key
        The flag key.
    variants
        ``None`` (on/off flag), a list of keys (PostHog's equal split), a dict key → percent, or
        a sequence of ``(key, percent)`` pairs. Stored as a tuple of ``(key, percent)`` pairs.
    rollout
        Percentage of ids (0–100) in the flag.

    Examples
    --------
    >>> flag = Flag("support-bot", {"control": 50, "test": 50})
    >>> flag.assign(["u1", "u2", "u3"]).tolist()
    ['control', 'test', 'control']
    >>> flag.shares
    {'control': 50, 'test': 50}
    """

    key: str
    variants: VariantSpec | None = None
    rollout: float = 100.0

    def __post_init__(self) -> None:
        _check_key(self.key)
        if self.variants is not None:
            object.__setattr__(self, "variants", _normalize_variants(self.variants))
        _check_rollout(self.rollout)

    @property
    def shares(self) -> dict[str, float] | None:
        """Variant key → share of traffic in percent; ``None`` for an on/off flag."""
        return None if self.variants is None else dict(self.variants)  # type: ignore[arg-type]

    def assign(self, ids: Any) -> np.ndarray:
        """Variant (or on/off value) for each id; see :func:`assign`."""
        variants = self.variants  # normalized in __post_init__
        return _assign(ids, self.key, variants, self.rollout)  # type: ignore[arg-type]

    @classmethod
    def from_posthog(cls, flag_json: Mapping[str, Any] | str) -> Flag:
        """Read a PostHog flag definition (as returned by its API, a dict or JSON text).

        Uses ``key``, the rollout of the first condition group without property filters
        (``rollout_percentage`` null means 100 %), and ``filters.multivariate.variants``.

        Examples
        --------
        >>> Flag.from_posthog('''{"key": "simple-flag", "filters": {"groups":
        ...     [{"properties": [], "rollout_percentage": 45}]}}''')
        Flag(key='simple-flag', variants=None, rollout=45)
        """
        if isinstance(flag_json, str | bytes):
            try:
                flag_json = json.loads(flag_json)
            except json.JSONDecodeError as err:
                raise InvalidArgumentError(
                    f"flag_json is not valid JSON ({err}); pass the flag definition dict or its "
                    "JSON text"
                ) from err
        if not isinstance(flag_json, Mapping):
            raise InvalidArgumentError(
                f"flag_json is a {type(flag_json).__name__}, must be a PostHog flag definition "
                "(a dict with 'key' and 'filters')"
            )
        key = flag_json.get("key")
        filters = flag_json.get("filters") or {}
        groups = filters.get("groups") or []
        plain = [g for g in groups if not (g.get("properties") or [])]
        if not plain:
            raise InvalidArgumentError(
                f"flag {key!r} has no condition group without property filters (groups: "
                f"{len(groups)}); hashing alone cannot reproduce property targeting. Build "
                "Flag(key, variants, rollout) for the group you want"
            )
        rollout = plain[0].get("rollout_percentage")
        raw = (filters.get("multivariate") or {}).get("variants") or None
        variants = None
        if raw is not None:
            try:
                variants = [(v["key"], v["rollout_percentage"]) for v in raw]
            except (KeyError, TypeError) as err:
                raise InvalidArgumentError(
                    f"flag {key!r}: every filters.multivariate.variants[] entry needs 'key' and "
                    f"'rollout_percentage' (missing {err})"
                ) from err
        return cls(key, variants, 100.0 if rollout is None else rollout)  # type: ignore[arg-type]


def expected_variants(ids: Any, flag: Flag) -> np.ndarray:
    """What PostHog would assign each id under ``flag``: the reference for auditing exposures.

    Examples
    --------
    >>> expected_variants(["u1", "u2"], Flag("support-bot", ["control", "test"])).tolist()
    ['control', 'test']
    """
    return flag.assign(ids)


@dataclass(frozen=True)
class AuditResult:
    """Logged exposures re-hashed with the flag's configuration.

    ``matches`` + ``mismatches`` = ``checked`` ids (distinct ids whose logged variant is one of
    the experiment's variants); ``unknown`` counts logged variants that are not configured. The
    logged value stays the truth (overrides and targeting exist), so a mismatch is a warning.
    """

    flag_key: str
    checked: int
    matches: int
    mismatches: int
    unknown: dict[str, int]
    examples: tuple[tuple[str, str, str], ...]  # (distinct_id, logged, expected)

    @property
    def match_rate(self) -> float:
        return self.matches / self.checked if self.checked else float("nan")

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.examples), columns=["distinct_id", "logged", "expected"])

    def __repr__(self) -> str:
        lines = [
            f"AuditResult({self.flag_key!r}): {self.checked:,} ids checked, {self.matches:,} match, "
            f"{self.mismatches:,} mismatch"
            + (f", unknown variants {self.unknown}" if self.unknown else "")
        ]
        lines += [f"  {d}: logged {lg!r}, expected {ex!r}" for d, lg, ex in self.examples]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from . import _html

        return _html.el(
            "div",
            _html.el("style", _html.Markup(_html.STYLE)),
            _html.el("div", repr(self).splitlines()[0]),
            _html.table(
                ["distinct_id", "logged", "expected"], self.examples, caption="mismatch examples"
            )
            if self.examples
            else None,
            class_="pab",
        )


def audit(exp: Any, *, examples: int = 5) -> AuditResult:
    """Re-hash an experiment's logged ``$feature_flag_called`` exposures (by ``distinct_id``, as
    PostHog hashes) with its flag key, split and rollout, and count agreements.

    Returns
    -------
    AuditResult
        Matches, mismatches (with up to ``examples`` examples) and unknown logged variants.
    """
    if not exp.flag_key:
        raise InvalidArgumentError(
            f"experiment {exp.name!r} has no flag_key; there are no logged exposures to audit"
        )
    rows = exp.ws.engine.fetch(
        """SELECT distinct_id, arg_min(variant, ts) FROM exposures WHERE flag_key = ?
           GROUP BY distinct_id ORDER BY distinct_id""",
        [exp.flag_key],
    )
    ids = [r[0] for r in rows]
    logged = np.array([r[1] for r in rows], dtype=object)
    known = np.isin(logged, list(exp.variants))
    unknown: dict[str, int] = {}
    for v in logged[~known]:
        unknown[str(v)] = unknown.get(str(v), 0) + 1
    flag = Flag(exp.flag_key, list(exp.split.items()), exp.rollout)
    expected = (
        flag.assign([i for i, k in zip(ids, known, strict=True) if k])
        if known.any()
        else np.array([])
    )
    logged_known = logged[known]
    ok = expected == logged_known
    bad = np.flatnonzero(~ok)[:examples]
    known_ids = [i for i, k in zip(ids, known, strict=True) if k]
    return AuditResult(
        flag_key=exp.flag_key,
        checked=int(known.sum()),
        matches=int(ok.sum()),
        mismatches=int((~ok).sum()),
        unknown=unknown,
        examples=tuple((known_ids[i], str(logged_known[i]), str(expected[i])) for i in bad),
    )
