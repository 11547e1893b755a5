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


def test_csv_rows_with_the_wrong_number_of_fields_name_file_and_line(tmp_path: Path) -> None:
    # A row with an extra field became a template variable named 'None' holding a list, and a
    # short row left its last columns None, rendered as empty text into the prompt: both
    # silently, where the file is malformed at a line the user can find.
    extra = tmp_path / "extra.csv"
    extra.write_text("item_id,question,expected\na,q1,1\nb,q2,2,oops\n")
    with pytest.raises(DataError, match=r"extra\.csv line 3 has 4 fields.*header has 3"):
        Dataset.from_csv(extra)
    short = tmp_path / "short.csv"
    short.write_text('item_id,question,expected\na,"q1\nwith a newline",1\nb\n')
    with pytest.raises(DataError, match=r"short\.csv line 4 has 1 field.*header has 3"):
        Dataset.from_csv(short)


def test_csv_duplicate_header_is_an_error(tmp_path: Path) -> None:
    # Two columns named 'question': the second silently replaced the first in every item.
    p = tmp_path / "dup.csv"
    p.write_text("item_id,question,question,expected\na,x,y,1\n")
    with pytest.raises(DataError, match=r"dup\.csv.*'question' twice"):
        Dataset.from_csv(p)


def test_csv_empty_expected_cell_is_no_expected_answer(tmp_path: Path) -> None:
    # An empty cell in the expected column was the expected answer '': exact() then passed an
    # empty output. A CSV has no other way to say "no reference answer".
    p = tmp_path / "e.csv"
    p.write_text("item_id,question,expected\na,q1,\nb,q2,2\n")
    ds = Dataset.from_csv(p)
    assert ds["a"].expected is None and ds["b"].expected == "2"


def test_jsonl_line_that_is_not_an_object_names_file_and_line(tmp_path: Path) -> None:
    # It said 'record 1 is a list' (the position among non-blank lines), naming neither the file
    # nor its line.
    p = tmp_path / "arr.jsonl"
    p.write_text('{"q": "x"}\n\n[1, 2]\n')
    with pytest.raises(DataError, match=r"arr\.jsonl line 3 is a list"):
        Dataset.from_jsonl(p)


def test_whole_number_ids_of_a_float_column_keep_their_integer_form() -> None:
    # pandas stores an integer id column with a gap as float: ids 1, 2 became '1.0', '2.0', so
    # human labels and joins keyed on 1 and 2 no longer matched the items.
    frame = pd.DataFrame({"item_id": [1, 2, None], "q": ["a", "b", "c"]})
    assert frame["item_id"].dtype == float
    ds = Dataset.from_frame(frame)
    assert ds.ids[:2] == ("1", "2") and len(ds.ids[2]) == 12  # the gap gets a content id
    assert Dataset.from_records([{"item_id": 2.5, "q": "x"}]).ids == ("2.5",)


def test_csv_header_names_are_stripped_of_spaces(tmp_path: Path) -> None:
    # "item_id, question, expected" (a space after each comma, as typed by hand) made the
    # variables ' question' and ' expected': no expected answers, so the run had no scorer and
    # compared cost and latency only, without a word.
    p = tmp_path / "spaced.csv"
    p.write_text("item_id, question, expected\na, 2+2,4\n")
    ds = Dataset.from_csv(p)
    assert ds[0].variables == {"question": " 2+2"} and ds[0].expected == "4"


def test_integer_columns_with_a_gap_keep_their_integers(tmp_path: Path) -> None:
    # pandas stores an integer column with a missing value as float: an expected answer 4
    # became 4.0, so exact() failed the output "4", and a variable 3 rendered as "3.0".
    from promptab_nb.offline import exact

    frame = pd.DataFrame({"item_id": ["a", "b"], "n": [3, None], "expected": [4, None]})
    assert frame["expected"].dtype == float
    ds = Dataset.from_frame(frame)
    assert ds["a"].expected == 4 and type(ds["a"].expected) is int
    assert (
        ds["a"].variables["n"] == 3 and ds["b"].expected is None and ds["b"].variables["n"] is None
    )
    assert exact()("4", ds["a"]).passed is True
    real = Dataset.from_frame(pd.DataFrame({"x": [0.5, None]}))  # real floats stay floats
    assert real[0].variables["x"] == 0.5


def test_csv_trailing_empty_columns_are_ignored(tmp_path: Path) -> None:
    # Spreadsheets export trailing empty columns ("…,expected,,"): the two unnamed columns were a
    # duplicate header, and one was a variable named ''. Unnamed columns with values are an error.
    p = tmp_path / "excel.csv"
    p.write_text("item_id,question,expected,,\na,2+2,4,,\nb,3+3,6,,\n")
    ds = Dataset.from_csv(p)
    assert ds[0].variables == {"question": "2+2"} and ds[1].expected == "6"
    bad = tmp_path / "unnamed.csv"
    bad.write_text("item_id,question,\na,2+2,oops\n")
    with pytest.raises(
        DataError, match=r"unnamed\.csv line 2 has a value in column 3, which has no name"
    ):
        Dataset.from_csv(bad)


def test_csv_rows_of_empty_fields_are_skipped(tmp_path: Path) -> None:
    # Spreadsheets end exports with rows of commas (",,"): each became an item with an empty
    # question, sent to the model and scored.
    p = tmp_path / "tail.csv"
    p.write_text("item_id,question,expected\na,2+2,4\n,,\n , ,\n")
    assert Dataset.from_csv(p).ids == ("a",)
