"""Datasets: constructors, stable generated ids, and errors that name the item."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from promptab_nb.errors import DataError, InvalidArgumentError, NotFoundError
from promptab_nb.offline import Dataset

DATA = Path(__file__).parents[2] / "data" / "offline"


def test_flat_and_nested_records() -> None:
    ds = Dataset.from_records(
        [
            {"item_id": "a", "question": "1+1", "expected": "2", "topic": "sum"},
            {"item_id": "b", "variables": {"question": "2+2"}, "expected": "4",
             "metadata": {"topic": "sum"}},
        ],
        metadata_fields=["topic"],
    )  # fmt: skip
    assert ds["a"].variables == {"question": "1+1"}
    assert ds["a"].metadata == {"topic": "sum"}
    assert ds[1].variables == {"question": "2+2"} and ds[1].expected == "4"
    assert ds.ids == ("a", "b")
    with pytest.raises(NotFoundError, match="'zz'"):
        ds["zz"]


def test_generated_ids_are_stable_and_content_based() -> None:
    recs = [{"q": "x", "expected": 1}, {"q": "y", "expected": 1}]
    a, b = Dataset.from_records(recs), Dataset.from_records(list(reversed(recs)))
    assert set(a.ids) == set(b.ids)
    assert len(a.ids[0]) == 12 and a.ids[0] != a.ids[1]
    assert a.sha256 != b.sha256  # order is part of the fingerprint


def test_duplicate_ids_name_the_item() -> None:
    with pytest.raises(DataError, match=r"duplicate item_id 'a' \(items 0 and 2"):
        Dataset.from_records([{"item_id": "a", "q": 1}, {"item_id": "b", "q": 2},
                              {"item_id": "a", "q": 3}])  # fmt: skip
    with pytest.raises(DataError, match="identical"):
        Dataset.from_records([{"q": 1}, {"q": 1}])


def test_empty_and_missing_variables() -> None:
    with pytest.raises(DataError, match="empty"):
        Dataset.from_records([])
    with pytest.raises(DataError, match=r"item 'b' \(record 1\) has no variable 'question'"):
        Dataset.from_records(
            [{"item_id": "a", "question": "q"}, {"item_id": "b", "other": "q"}],
            variables=["question"],
        )
    with pytest.raises(DataError, match="record 0 is a str"):
        Dataset.from_records(["not a dict"])  # type: ignore[list-item]


def test_from_frames() -> None:
    pdf = pd.DataFrame({"item_id": ["a", "b"], "q": ["x", None], "expected": [1.0, float("nan")]})
    ds = Dataset.from_frame(pdf)
    assert ds["a"].expected == 1.0 and ds["b"].expected is None and ds["b"].variables["q"] is None
    ds2 = Dataset.from_frame(pl.DataFrame({"q": ["x", "y"], "expected": ["1", "2"]}))
    assert len(ds2) == 2
    assert list(ds2.to_pandas().columns) == ["item_id", "q", "expected"]
    with pytest.raises(InvalidArgumentError, match="pandas or polars"):
        Dataset.from_frame([1, 2])


def test_csv_and_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"item_id": 1, "q": "x"}) + "\n\n" + json.dumps({"q": "y"}) + "\n")
    ds = Dataset.from_jsonl(p)
    assert ds.name == "d.jsonl" and ds.ids[0] == "1" and len(ds) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": 1}\n{oops\n')
    with pytest.raises(DataError, match="line 2"):
        Dataset.from_jsonl(bad)
    with pytest.raises(DataError, match="does not exist"):
        Dataset.from_csv(tmp_path / "missing.csv")


def test_shipped_dataset_loads() -> None:
    ds = Dataset.from_csv(DATA / "word_problems.csv", metadata_fields=["category"])
    assert 100 <= len(ds) <= 300
    assert all(i.expected for i in ds) and "question" in ds[0].variables
    assert "category" in ds[0].metadata
    assert "200 items" in repr(ds) and "<table" in ds._repr_html_()


def test_files_saved_with_a_byte_order_mark_keep_their_id_column(tmp_path) -> None:
    # Excel saves "CSV UTF-8" with a BOM: the first header read as "\ufeffitem_id", so the ids
    # were silently replaced by content hashes and "\ufeffitem_id" became a template variable.
    csv_path = tmp_path / "excel.csv"
    csv_path.write_text("item_id,question,expected\nq1,2+2,4\nq2,3+3,6\n", encoding="utf-8-sig")
    ds = Dataset.from_csv(csv_path)
    assert ds.ids == ("q1", "q2") and ds[0].variables == {"question": "2+2"}
    jsonl_path = tmp_path / "bom.jsonl"
    jsonl_path.write_text('{"item_id": "q1", "question": "é"}\n', encoding="utf-8-sig")
    assert Dataset.from_jsonl(jsonl_path).ids == ("q1",)
