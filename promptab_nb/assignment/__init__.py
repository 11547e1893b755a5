"""PostHog-exact feature-flag assignment: rollout, multivariate variants and two-arm splits.

PostHog buckets an id with ``h(key, id, salt) = int(sha1(f"{key}.{id}{salt}")[:15], 16) / (2**60 - 1)``.
The id is in the rollout unless ``h(key, id, "") > rollout / 100``; its variant is the first of the
cumulative, half-open ranges ``[lo, lo + share / 100)`` (listed order, built by repeated float
addition) that holds ``h(key, id, "variant")``. This module reproduces that bit for bit and runs the
SHA-1 step vectorized in DuckDB, so a million ids take well under a second.

Inside: ``_hash`` (ids to text, the hash), this module (variants, ``assign``, ``split``, ``Flag``)
and ``_audit`` (logged exposures re-hashed).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check
from ..errors import InvalidArgumentError
from ._audit import AuditResult as AuditResult  # re-exported: audit() moved to _audit
from ._audit import audit as audit
from ._hash import _hashes, _to_arrow_ids

__all__ = ["Flag", "assign", "expected_variants", "split"]

VariantSpec = Mapping[str, float] | Sequence[str] | Sequence[tuple[str, float]]


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

        Uses ``key``, ``filters.multivariate.variants`` and the condition groups without
        property filters: PostHog serves an id the first group it matches, and every such group
        hashes the same ``h(key, id, "")``, so the rollout is the largest of theirs
        (``rollout_percentage`` null means 100 %). This is what PostHog serves an id that
        matches no property filter; groups with property filters are left out with a
        ``UserWarning``, and so is ``active: false`` / ``deleted: true`` (PostHog then serves
        no one; the Flag assigns as the flag did while active).

        Raises
        ------
        InvalidArgumentError
            Invalid JSON, no condition group without property filters, or what the hash alone
            cannot reproduce: a variant override on such a group, or holdout groups.

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
        if not isinstance(filters, Mapping):
            raise InvalidArgumentError(
                f"flag {key!r}: filters is a {type(filters).__name__}, must be a dict with 'groups'"
            )
        groups = filters.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
            raise InvalidArgumentError(
                f"flag {key!r}: filters.groups == {groups!r}, must be a list of condition "
                "groups (dicts with 'properties' and 'rollout_percentage')"
            )
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
        if filters.get("holdout_groups"):
            raise InvalidArgumentError(
                f"flag {key!r} has holdout groups (filters.holdout_groups), which keep their ids "
                "out of every variant; Flag cannot reproduce a holdout. Build "
                "Flag(key, variants, rollout) for the ids outside the holdout"
            )
        plain = [g for g in groups if not (g.get("properties") or [])]
        if not plain:
            raise InvalidArgumentError(
                f"flag {key!r} has no condition group without property filters (groups: "
                f"{len(groups)}); hashing alone cannot reproduce property targeting. Build "
                "Flag(key, variants, rollout) for the group you want"
            )
        keys = {k for k, _ in variants or []}
        for g in plain:
            # PostHog honours an override only if it names a variant (else it hashes as usual).
            if g.get("variant") and g["variant"] in keys:
                raise InvalidArgumentError(
                    f"flag {key!r} has a variant override: a condition group without property "
                    f"filters serves {g['variant']!r} to all its ids, whatever their variant "
                    "hash; Flag cannot reproduce that. Build Flag(key, variants, rollout) for "
                    "the ids you audit"
                )
        rollout = max(
            100.0 if g.get("rollout_percentage") is None
            else _check_rollout(g["rollout_percentage"], "filters.groups[].rollout_percentage")
            for g in plain
        )  # fmt: skip
        if flag_json.get("active") is False or flag_json.get("deleted") is True:
            state = "deleted" if flag_json.get("deleted") is True else "inactive"
            warnings.warn(
                f"flag {key!r} is {state}: PostHog serves it to no one now (False for every "
                "id); this Flag assigns ids as the flag did while it was active",
                UserWarning,
                stacklevel=2,
            )
        if len(plain) < len(groups):
            warnings.warn(
                f"flag {key!r}: {len(groups) - len(plain)} condition group(s) with property "
                "filters left out; hashing cannot see properties, so ids matching them may be "
                "served differently than this Flag assigns",
                UserWarning,
                stacklevel=2,
            )
        return cls(key, variants, rollout)  # type: ignore[arg-type]


def expected_variants(ids: Any, flag: Flag) -> np.ndarray:
    """What PostHog would assign each id under ``flag``: the reference for auditing exposures.

    Examples
    --------
    >>> expected_variants(["u1", "u2"], Flag("support-bot", ["control", "test"])).tolist()
    ['control', 'test']
    """
    return flag.assign(ids)
