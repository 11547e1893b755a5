from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from _events import shared_reference
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import promptab_nb.assignment as assignment
import promptab_nb.assignment._hash as assignment_hash
from promptab_nb.assignment import Flag, assign, expected_variants, split
from promptab_nb.errors import InvalidArgumentError

# Small inputs hash in Python, large ones in DuckDB; the cross-checks run each through both.
PATHS = pytest.mark.parametrize("path", ["python", "duckdb"])


@contextmanager
def hash_path(path: str) -> Iterator[None]:
    saved = assignment_hash._SMALL
    assignment_hash._SMALL = 10**9 if path == "python" else -1
    try:
        yield
    finally:
        assignment_hash._SMALL = saved


REFERENCE = shared_reference() / "posthog"


# PostHog's own code (posthog-python feature_flags.py), kept literal as the reference.
def ph_hash(key: str, distinct_id: str, salt: str = "") -> float:
    hash_key = f"{key}.{distinct_id}{salt}"
    hash_val = int(hashlib.sha1(hash_key.encode("utf-8")).hexdigest()[:15], 16)
    return hash_val / float(0xFFFFFFFFFFFFFFF)


def ph_assign(
    ids: list[str], key: str, variants: list[tuple[str, float]] | None, rollout: float
) -> list[object]:
    table = []
    value_min = 0
    for vkey, share in variants or []:
        value_max = value_min + share / 100
        table.append((value_min, value_max, vkey))
        value_min = value_max
    out: list[object] = []
    for i in ids:
        if ph_hash(key, i) > rollout / 100:
            out.append(False if variants is None else None)
            continue
        if variants is None:
            out.append(True)
            continue
        h = ph_hash(key, i, salt="variant")
        match = next((k for lo, hi, k in table if lo <= h < hi), None)
        out.append(match or True)
    return out


def load(name: str) -> dict:
    return json.loads((REFERENCE / f"flag_consistency_{name}.json").read_text())


# ------------------------------------------------------------------------------------------------
# golden vectors


@PATHS
def test_golden_simple_flag(path: str) -> None:
    case = load("simple")
    flag = Flag.from_posthog(case["flag"])
    assert flag.variants is None and flag.rollout == 45
    with hash_path(path):
        got = flag.assign(case["distinct_ids"])
    assert got.dtype == bool
    assert got.tolist() == case["expected"]
    assert len(case["expected"]) == 1000


@PATHS
def test_golden_multivariate_flag(path: str) -> None:
    case = load("multivariate")
    flag = Flag.from_posthog(json.dumps(case["flag"]))  # JSON text works too
    assert flag.rollout == 55
    assert [k for k, _ in flag.variants] == [
        v["key"] for v in case["flag"]["filters"]["multivariate"]["variants"]
    ]  # type: ignore[union-attr]
    with hash_path(path):
        got = flag.assign(case["distinct_ids"])
    # PostHog answers False for ids outside the rollout; we answer None.
    expected = [None if e is False else e for e in case["expected"]]
    assert got.dtype == object
    assert got.tolist() == expected
    assert len(expected) == 1000


def test_golden_through_assign_and_expected_variants() -> None:
    case = load("multivariate")
    variants = {
        v["key"]: v["rollout_percentage"]
        for v in case["flag"]["filters"]["multivariate"]["variants"]
    }
    got = assign(case["distinct_ids"], "multivariate-flag", variants=variants, rollout=55)
    flag = Flag.from_posthog(case["flag"])
    assert got.tolist() == expected_variants(case["distinct_ids"], flag).tolist()


# ------------------------------------------------------------------------------------------------
# vectorized == PostHog's per-id code

ids_text = st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=60)
flag_keys = st.text(min_size=1, max_size=20)
tricky = st.sampled_from(
    ["'", '"', ";", "'; DROP TABLE x; --", "\\", "$prefix", "\x00", "é", "🙂", "日本"]
)


@PATHS
@settings(max_examples=150, deadline=None)
@given(ids=ids_text, key=flag_keys, rollout=st.floats(0, 100), extra=st.lists(tricky, max_size=5))
def test_matches_reference_on_arbitrary_text(
    path: str, ids: list[str], key: str, rollout: float, extra: list[str]
) -> None:
    ids = ids + extra + [a + b for a, b in zip(extra, ids, strict=False)]
    variants = [("control", 33), ("a", 33), ("b", 34)]
    with hash_path(path):
        assert_same_text(ids, key, variants, rollout)


def assert_same_text(
    ids: list[str], key: str, variants: list[tuple[str, float]], rollout: float
) -> None:
    assert assign(ids, key, variants=dict(variants), rollout=rollout).tolist() == ph_assign(
        ids, key, variants, rollout
    )
    assert assign(ids, key, rollout=rollout).tolist() == ph_assign(ids, key, None, rollout)


@PATHS
@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=50),
    shares=st.lists(st.integers(0, 10), min_size=1, max_size=12),
)
@example(ids=[0], shares=[2, 4, 4, 4, 4, 4, 0])  # the rest rounds to -1.4e-14
def test_matches_reference_on_int_ids_and_uneven_shares(
    path: str, ids: list[int], shares: list[int]
) -> None:
    total = sum(shares)
    if total == 0:
        shares, total = [1], 1
    # Percentages with awkward floats that still sum to 100 within 1e-9. The last one is the
    # rest, which rounding can make -1.4e-14 when its share is 0 (shares [2, 4, 4, 4, 4, 4, 0]):
    # a negative percent is rightly refused, so it is clamped to 0 (still within 1e-9 of 100).
    pct = [100 * s / total for s in shares]
    pct[-1] = max(0.0, 100 - math.fsum(pct[:-1]))
    variants = [(f"v{i}", p) for i, p in enumerate(pct)]
    str_ids = [str(i) for i in ids]
    expected = ph_assign(str_ids, "flag", variants, 70.0)
    with hash_path(path):
        assert assign(ids, "flag", variants=variants, rollout=70.0).tolist() == expected
        got = assign(np.array(ids, dtype=object), "flag", variants=variants, rollout=70.0)
    assert got.tolist() == expected


def test_matches_reference_on_100k_random_ids() -> None:
    rng = np.random.default_rng(7)
    ids = [f"user-{x:x}" for x in rng.integers(0, 2**62, size=100_000)]
    variants = [("control", 50), ("test", 20), ("x", 20), ("y", 5), ("z", 5)]
    got = assign(ids, "big-flag", variants=dict(variants), rollout=63.5)
    assert got.tolist() == ph_assign(ids, "big-flag", variants, 63.5)


@PATHS
def test_hash_values_are_bit_identical(path: str) -> None:
    # Compare the floats themselves, not just the assignment they lead to.
    from promptab_nb.assignment._hash import _hashes, _to_arrow_ids

    rng = np.random.default_rng(1)
    ids = [str(x) for x in rng.integers(0, 2**63, size=20_000)] + ["", "é", "a" * 1000]
    with hash_path(path):
        h_rollout, h_variant = _hashes(_to_arrow_ids(ids), "k", rollout=True, variant=True)
    assert h_rollout is not None and h_variant is not None
    assert h_rollout.tolist() == [ph_hash("k", i) for i in ids]
    assert h_variant.tolist() == [ph_hash("k", i, "variant") for i in ids]


@pytest.mark.parametrize(
    "make",
    [
        list,
        tuple,
        lambda xs: iter(xs),
        np.array,
        lambda xs: np.array(xs, dtype=np.int32),
        lambda xs: np.array(xs, dtype=np.uint64),
        pd.Series,
        lambda xs: pd.Series(xs, dtype="Int64"),
        lambda xs: pd.Series(xs).astype("category"),
        pd.Index,
        pl.Series,
        pa.array,
        lambda xs: pa.chunked_array([xs[:3], xs[3:]]),
    ],
)
@PATHS
def test_id_containers_agree(make, path: str) -> None:  # type: ignore[no-untyped-def]
    ints = [0, 1, 7, 42, 1234567, 99, 3]
    expected = ph_assign([str(i) for i in ints], "k", [("a", 50), ("b", 50)], 80)
    with hash_path(path):
        assert assign(make(ints), "k", variants=["a", "b"], rollout=80).tolist() == expected


@pytest.mark.parametrize(
    "make",
    [
        list,
        np.array,
        pd.Series,
        pl.Series,
        lambda xs: pl.Series(xs, dtype=pl.Categorical),
        pa.array,
        lambda xs: pa.array(xs, type=pa.large_string()),
        lambda xs: pd.Series(xs, dtype="string[pyarrow]"),
    ],
)
@PATHS
def test_string_containers_agree(make, path: str) -> None:  # type: ignore[no-untyped-def]
    ids = [f"distinct_id_{i}" for i in range(50)] + ["é", "日本"]
    expected = ph_assign(ids, "k", [("a", 50), ("b", 50)], 80)
    with hash_path(path):
        assert assign(make(ids), "k", variants=["a", "b"], rollout=80).tolist() == expected


@PATHS
def test_non_string_ids_use_python_str(path: str) -> None:
    ids = [1.0, 1e16, 2.5, True, "x"]
    floats = [1.0, 1e16, 2.5]
    with hash_path(path):
        expected = ph_assign([str(i) for i in ids], "k", None, 50)
        assert assign(ids, "k", rollout=50).tolist() == expected
        expected = ph_assign([str(i) for i in floats], "k", None, 50)
        assert assign(np.array(floats), "k", rollout=50).tolist() == expected
        assert assign(pl.Series(floats), "k", rollout=50).tolist() == expected


def test_empty_ids() -> None:
    assert assign([], "k").shape == (0,)
    assert assign([], "k").dtype == bool
    assert assign([], "k", variants=["a", "b"], rollout=50).dtype == object


def test_full_rollout_boolean_is_all_true() -> None:
    assert assign(["a", "b"], "k").tolist() == [True, True]


def test_zero_rollout_keeps_only_zero_hashes() -> None:
    # PostHog excludes h > 0, so 0 % keeps nobody unless the hash is exactly 0.
    ids = [str(i) for i in range(2000)]
    assert not assign(ids, "k", rollout=0).any()
    assert all(v is None for v in assign(ids, "k", variants=["a", "b"], rollout=0))


def test_equal_shares_follow_posthog_ui() -> None:
    from promptab_nb.assignment import _equal_shares

    assert _equal_shares(2) == [50, 50]
    assert _equal_shares(3) == [33, 33, 34]
    assert _equal_shares(6) == [17, 17, 17, 17, 17, 15]
    assert _equal_shares(7) == [14, 14, 14, 14, 14, 14, 16]
    assert _equal_shares(8) == [13, 13, 13, 13, 13, 13, 13, 9]  # Math.round(12.5) == 13
    assert Flag("k", ["a", "b", "c"]).shares == {"a": 33, "b": 33, "c": 34}


@PATHS
def test_ids_past_last_range_are_true_like_posthog(path: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Float rounding can leave a ~1e-16 gap before 1.0; widen it to see PostHog's `True` answer.
    monkeypatch.setattr(assignment, "_lookup_table", lambda _: np.array([0.3, 0.6]))
    ids = [str(i) for i in range(2000)]
    with hash_path(path):
        got = assign(ids, "k", variants={"a": 50, "b": 50}, rollout=80)
    expected = ph_assign(ids, "k", [("a", 30), ("b", 30)], 80)
    assert got.tolist() == expected
    assert True in expected and None in expected


# ------------------------------------------------------------------------------------------------
# properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=flag_keys,
    low=st.floats(0, 100),
    high=st.floats(0, 100),
    shares=st.sampled_from([[50, 50], [33, 33, 34], [10, 20, 30, 40], [100]]),
)
def test_raising_rollout_keeps_ids_and_variants(
    key: str, low: float, high: float, shares: list[int]
) -> None:
    low, high = sorted((low, high))
    ids = [f"u{i}" for i in range(500)]
    variants = {f"v{i}": s for i, s in enumerate(shares)}
    before = assign(ids, key, variants=variants, rollout=low)
    after = assign(ids, key, variants=variants, rollout=high)
    was_in = np.array([v is not None for v in before])
    assert (before[was_in] == after[was_in]).all()
    assert (assign(ids, key, rollout=low) <= assign(ids, key, rollout=high)).all()


@pytest.mark.parametrize(
    ("variants", "rollout"),
    [
        ({"control": 50, "test": 50}, 100),
        ({"a": 50, "b": 20, "c": 20, "d": 5, "e": 5}, 40),
        ({"a": 90, "b": 10}, 75),
    ],
)
def test_shares_converge(variants: dict[str, float], rollout: float) -> None:
    n = 200_000
    ids = np.arange(n)
    got = assign(ids, "converge", variants=variants, rollout=rollout)
    p_in = rollout / 100
    n_in = int(sum(v is not None for v in got))
    if rollout < 100:
        assert abs(n_in / n - p_in) <= 4 * math.sqrt(p_in * (1 - p_in) / n)
    values, counts = np.unique(got[got != None].astype(str), return_counts=True)  # noqa: E711
    observed = dict(zip(values.tolist(), counts.tolist(), strict=True))
    for k, share in variants.items():
        p = share / 100
        assert abs(observed.get(k, 0) / n_in - p) <= 4 * math.sqrt(p * (1 - p) / n_in), k


# ------------------------------------------------------------------------------------------------
# split


@pytest.mark.parametrize("b", [1, 10, 33.5, 50, 70, 99])
def test_split_equals_assign(b: float) -> None:
    ids = [f"user_{i}" for i in range(5000)]
    got = split(ids, "exp", b_percent=b)
    assert got.tolist() == assign(ids, "exp", variants={"control": 100 - b, "test": b}).tolist()
    assert set(got.tolist()) == {"control", "test"}


def test_split_with_rollout() -> None:
    ids = [f"user_{i}" for i in range(2000)]
    got = split(ids, "exp", b_percent=20, rollout=30)
    assert (
        got.tolist()
        == assign(ids, "exp", variants={"control": 80, "test": 20}, rollout=30).tolist()
    )


@pytest.mark.parametrize("b", [0, 0.5, 99.5, 100, -5, float("nan"), "50", None, True])
def test_split_bad_b_percent(b: object) -> None:
    with pytest.raises(InvalidArgumentError, match="b_percent"):
        split(["a"], "exp", b_percent=b)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Flag


def test_flag_direct_and_normalized() -> None:
    a = Flag("k", {"control": 50, "test": 50}, 80)
    b = Flag("k", [("control", 50), ("test", 50)], 80)
    c = Flag("k", ["control", "test"], 80)
    assert a == b == c
    assert hash(a) == hash(b)
    assert a.variants == (("control", 50), ("test", 50))
    assert a.shares == {"control": 50, "test": 50}
    ids = [str(i) for i in range(300)]
    assert (
        a.assign(ids).tolist()
        == assign(ids, "k", variants={"control": 50, "test": 50}, rollout=80).tolist()
    )
    with pytest.raises(AttributeError):
        a.rollout = 10  # type: ignore[misc]


def test_flag_from_posthog_reads_the_groups_without_properties() -> None:
    with pytest.warns(UserWarning, match="property filters left out"):
        flag = Flag.from_posthog(
            {
                "key": "f",
                "filters": {
                    "groups": [
                        {"properties": [{"key": "email", "value": "x"}], "rollout_percentage": 10},
                        {"properties": [], "rollout_percentage": None},
                        {"properties": [], "rollout_percentage": 5},
                    ]
                },
            }
        )
    assert flag == Flag("f", None, 100.0)


def ph_match(flag: dict, distinct_id: str) -> object:
    """posthog-python's match_feature_flag_properties for an id that matches no property."""
    filters = flag["filters"]
    variants = (filters.get("multivariate") or {}).get("variants") or []
    conditions = sorted(filters["groups"], key=lambda c: 0 if c.get("variant") else 1)
    for c in conditions:
        if c.get("properties"):
            continue  # an id without properties matches no property filter
        r = c.get("rollout_percentage")
        if r is not None and ph_hash(flag["key"], distinct_id) > r / 100:
            continue
        if not variants:
            return True
        h = ph_hash(flag["key"], distinct_id, salt="variant")
        lo = 0.0
        for v in variants:
            hi = lo + v["rollout_percentage"] / 100
            if lo <= h < hi:
                return v["key"]
            lo = hi
        return True
    return False


@pytest.mark.parametrize("rollouts", [[20, 60], [60, 20], [5, None], [0, 35, 10]])
@pytest.mark.parametrize("multivariate", [False, True])
def test_flag_from_posthog_serves_the_union_of_its_plain_groups(
    rollouts: list[float | None], multivariate: bool
) -> None:
    # PostHog serves an id the first condition group it matches: every plain group hashes the
    # same h(key, id, ""), so the flag is on for h <= the largest rollout (null = 100 %). The
    # first group alone served 19 % instead of PostHog's 61 % for groups [20, 60].
    flag_json: dict = {
        "key": "f",
        "filters": {"groups": [{"properties": [], "rollout_percentage": r} for r in rollouts]},
    }
    if multivariate:
        flag_json["filters"]["multivariate"] = {
            "variants": [
                {"key": "control", "rollout_percentage": 50},
                {"key": "test", "rollout_percentage": 50},
            ]
        }
    flag = Flag.from_posthog(flag_json)
    ids = [f"user-{i}" for i in range(3000)]
    got = flag.assign(ids).tolist()
    expected = [ph_match(flag_json, i) for i in ids]
    if multivariate:
        expected = [None if e is False else e for e in expected]
    assert got == expected


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        # a variant override serves 'test' to the group's ids whatever their variant hash
        (
            {
                "groups": [{"properties": [], "rollout_percentage": 30, "variant": "test"}],
                "multivariate": {
                    "variants": [
                        {"key": "control", "rollout_percentage": 50},
                        {"key": "test", "rollout_percentage": 50},
                    ]
                },
            },
            "variant override",
        ),
        # a holdout group keeps its ids out of every variant
        (
            {
                "groups": [{"properties": [], "rollout_percentage": 100}],
                "holdout_groups": [
                    {"properties": [], "rollout_percentage": 10, "variant": "holdout-1"}
                ],
                "multivariate": {
                    "variants": [
                        {"key": "control", "rollout_percentage": 50},
                        {"key": "test", "rollout_percentage": 50},
                    ]
                },
            },
            "holdout",
        ),
        ({"groups": [None]}, "groups"),
        ({"groups": {"a": 1}}, "groups"),
        ("x", "filters"),
    ],
)
def test_flag_from_posthog_refuses_what_hashing_cannot_reproduce(
    filters: object, match: str
) -> None:
    # These were read silently as a plain 50/50 flag (or crashed with AttributeError).
    with pytest.raises(InvalidArgumentError, match=match):
        Flag.from_posthog({"key": "f", "filters": filters})


@pytest.mark.parametrize(
    ("state", "word"), [({"active": False}, "inactive"), ({"deleted": True}, "deleted")]
)
def test_flag_from_posthog_says_an_inactive_flag_serves_no_one(state: dict, word: str) -> None:
    # PostHog answers False for every id of an inactive or deleted flag; this was read silently
    # as a flag serving 45 % of ids.
    flag_json = {"key": "f", **state, "filters": {"groups": [{"rollout_percentage": 45}]}}
    with pytest.warns(UserWarning, match=f"is {word}: PostHog serves it to no one"):
        flag = Flag.from_posthog(flag_json)
    assert flag == Flag("f", None, 45)


def test_flag_from_posthog_says_property_groups_are_left_out() -> None:
    flag_json = {
        "key": "f",
        "filters": {
            "groups": [
                {"properties": [{"key": "email", "value": "x"}], "rollout_percentage": 100},
                {"properties": [], "rollout_percentage": 40},
            ]
        },
    }
    with pytest.warns(UserWarning, match="1 condition group.*property filters"):
        flag = Flag.from_posthog(flag_json)
    assert flag == Flag("f", None, 40)


@pytest.mark.parametrize(
    ("flag_json", "match"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "must be a PostHog flag definition"),
        ({"key": "f", "filters": {"groups": []}}, "no condition group"),
        (
            {"key": "f", "filters": {"groups": [{"properties": [{"key": "x"}]}]}},
            "no condition group",
        ),
        (
            {"key": "f", "filters": {"groups": [{}], "multivariate": {"variants": [{"key": "a"}]}}},
            "rollout_percentage",
        ),
        ({"filters": {"groups": [{}]}}, "flag_key"),
        ({"key": "f", "filters": {"groups": [{"rollout_percentage": 120}]}}, "rollout"),
    ],
)
def test_flag_from_posthog_errors(flag_json: object, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        Flag.from_posthog(flag_json)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("variants", "match"),
    [
        ({}, "variants is empty"),
        ([], "variants is empty"),
        (["a", "a"], "twice"),
        ([("a", 50), ("a", 50)], "twice"),
        ({"a": 50, "b": 40}, "sum to 90"),
        ({"a": 50, "b": 50.000001}, "must sum to 100"),
        ({"a": 120, "b": -20}, ">= 0|<= 100"),
        ({"a": -10, "b": 110}, "must be >= 0"),
        ({"a": "50", "b": 50}, "must be a number"),
        ({"a": float("nan"), "b": 50}, "NaN"),
        ({"": 100}, "non-empty"),
        ({1: 100}, "non-empty text"),
        ("control", "list of variant keys"),
        (5, "must be None"),
        ([1, 2], "list of variant keys"),
        ([f"v{i}" for i in range(101)], "at most 100"),
    ],
)
def test_bad_variants(variants: object, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match) as info:
        assign(["a"], "k", variants=variants)  # type: ignore[arg-type]
    assert "variants" in str(info.value)
    with pytest.raises(InvalidArgumentError, match=match):
        Flag("k", variants)  # type: ignore[arg-type]


def test_shares_within_tolerance_are_accepted() -> None:
    assign(["a"], "k", variants={"a": 100 / 3, "b": 100 / 3, "c": 100 / 3})
    assign(["a"], "k", variants={"a": 0, "b": 100})


def test_many_variants_allowed() -> None:
    keys = [f"v{i}" for i in range(25)]
    assert set(assign([str(i) for i in range(5000)], "k", variants=keys).tolist()) == set(keys)


@pytest.mark.parametrize("rollout", [-1, 100.5, float("nan"), "50", None])
def test_bad_rollout(rollout: object) -> None:
    with pytest.raises(InvalidArgumentError, match="rollout"):
        assign(["a"], "k", rollout=rollout)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="rollout"):
        Flag("k", None, rollout)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", None, 5])
def test_bad_flag_key(key: object) -> None:
    with pytest.raises(InvalidArgumentError, match="flag_key"):
        assign(["a"], key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        ("user_1", "single value"),
        (5, "not a collection"),
        (["a", None, "b"], "1 missing value.*first at position 1"),
        ([1.0, float("nan")], "1 missing value.*first at position 1"),
        (pd.Series(["a", None]), "missing"),
        (pd.Series([1, None], dtype="Int64"), "missing"),
        (pl.Series(["a", None, None]), "2 missing"),
        (pa.array([1, None]), "first at position 1"),
        (np.zeros((2, 2)), "one-dimensional"),
        (pd.DataFrame({"distinct_id": ["a"]}), "pass one column"),
        (pl.DataFrame({"distinct_id": ["a"]}), "pass one column"),
        (pa.table({"distinct_id": ["a"]}), "pass one column"),
    ],
)
def test_bad_ids(ids: object, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        assign(ids, "k", variants=["a", "b"])


def test_ids_with_a_lone_surrogate_are_named() -> None:
    # json.loads keeps a lone '\\ud800', which has no UTF-8 bytes: it raised UnicodeEncodeError.
    bad = "b" + chr(0xD800)
    for ids, position in (
        (["a", bad], 1),
        (np.array(["a", bad] * 600), 1),
        (pd.Series([bad], dtype=object, index=[5]), 0),
    ):
        with pytest.raises(InvalidArgumentError, match=f"not valid Unicode.*position {position}"):
            assign(ids, "k", variants=["a", "b"])


@pytest.mark.parametrize("n", [3, 2_000])  # the Python path and the DuckDB one
def test_a_flag_key_with_a_lone_surrogate_is_named(n: int) -> None:
    # It raised UnicodeEncodeError (Python path) or DuckDB's InvalidInputException: a lone
    # surrogate has no UTF-8 bytes, so PostHog's SDK (which hashes the UTF-8) cannot hash it.
    key = "flag-" + chr(0xD800)
    with pytest.raises(InvalidArgumentError, match=r"flag_key == 'flag-\\ud800'.*UTF-8"):
        assign([f"u{i}" for i in range(n)], key, variants=["a", "b"])


def test_bytes_ids_are_hashed_as_str_whatever_the_container() -> None:
    # each id is hashed as str(id), as PostHog's f"{id}": [b"ab"] was decoded to "ab" by the
    # list fast path, while the same ids in a numpy or pandas column hashed "b'ab'"
    import numpy as np
    import pandas as pd

    from promptab_nb.assignment._hash import _to_arrow_ids

    ids = [b"ab", b"user-1"]
    want = [str(b) for b in ids]
    for container in (ids, tuple(ids), np.array(ids), pd.Series(ids, dtype=object)):
        assert _to_arrow_ids(container).to_pylist() == want, type(container)
    mixed = ["a", b"b"]  # Arrow reads both as binary: 'a' hashed as "b'a'"
    for container in (mixed, pd.Series(mixed, dtype=object)):
        assert _to_arrow_ids(container).to_pylist() == ["a", "b'b'"], type(container)
    assert (
        assignment.assign(ids, "f", variants=["a", "b"]).tolist()
        == assignment.assign(want, "f", variants=["a", "b"]).tolist()
    )
