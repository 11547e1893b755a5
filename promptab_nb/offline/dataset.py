"""Offline datasets: items with an id, template variables, an optional expected answer and metadata."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _html
from ..errors import DataError, InvalidArgumentError, NotFoundError

__all__ = ["Dataset", "Item"]


def _jsonable(value: Any) -> Any:
    """Plain-Python version of ``value`` (numpy scalars, NaN → None) for JSON and hashing."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(_jsonable(value), sort_keys=True, ensure_ascii=False, default=str)


def content_id(variables: Mapping[str, Any], expected: Any) -> str:
    """Stable id of an item without one: the first 12 hex digits of sha256 of its content."""
    text = _canonical({"variables": variables, "expected": expected})
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Item:
    """One dataset item.

    Attributes
    ----------
    item_id
        Unique id within the dataset (given, or a hash of the content when absent).
    variables
        Values for the prompt template's ``{{var}}`` placeholders.
    expected
        The reference answer scorers compare against (``None`` when there is none).
    metadata
        Anything else carried along (category, difficulty …); never rendered into prompts.
    """

    item_id: str
    variables: dict[str, Any]
    expected: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The item as plain JSON-able data."""
        return {
            "item_id": self.item_id,
            "variables": _jsonable(self.variables),
            "expected": _jsonable(self.expected),
            "metadata": _jsonable(self.metadata),
        }


@dataclass(frozen=True)
class Dataset:
    """An immutable, ordered collection of :class:`Item` with unique ids.

    Build one with :meth:`from_records`, :meth:`from_frame`, :meth:`from_csv` or
    :meth:`from_jsonl`. ``sha256`` fingerprints the content (ids, variables, expected answers),
    so a run records exactly which data it used.

    Examples
    --------
    >>> ds = Dataset.from_records([{"question": "2 + 2?", "expected": "4"}])
    >>> len(ds), ds[0].variables
    (1, {'question': '2 + 2?'})
    """

    items: tuple[Item, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.items:
            raise DataError(f"dataset{self._where(' ')} is empty: it needs at least one item")
        seen: dict[str, int] = {}
        for pos, item in enumerate(self.items):
            if item.item_id in seen:
                raise DataError(
                    f"duplicate item_id {item.item_id!r} (items {seen[item.item_id]} and {pos}"
                    f"{self._where()}). Give every item a unique item_id, or drop the duplicate; "
                    "ids generated from content collide only when two items are identical."
                )
            seen[item.item_id] = pos

    def _where(self, prefix: str = " of ") -> str:
        return f"{prefix}{self.name}" if self.name else ""

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        id_field: str = "item_id",
        expected_field: str = "expected",
        metadata_fields: Sequence[str] = (),
        variables: Sequence[str] | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Build a dataset from dicts.

        A record is either flat (``{"item_id": ..., "question": ..., "expected": ...}``: every
        key other than the id, expected and metadata fields is a variable) or nested
        (``{"item_id": ..., "variables": {...}, "expected": ..., "metadata": {...}}``).

        Parameters
        ----------
        records
            The items, in order.
        id_field, expected_field
            Keys holding the item id and the expected answer (both optional per record; a
            missing id is generated from the content and is stable across loads).
        metadata_fields
            Flat keys to keep as metadata rather than template variables.
        variables
            Variables every item must have; a record missing one is an error naming it.
        name
            A label for the dataset (file name by default for the file readers).

        Returns
        -------
        Dataset

        Raises
        ------
        DataError
            No records, a record that is not a mapping, a duplicate id, or a missing variable.
        """
        items: list[Item] = []
        meta_keys = set(metadata_fields)
        for pos, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise DataError(
                    f"record {pos} is a {type(rec).__name__}, expected a dict of fields"
                )
            rec = {str(k): _jsonable(v) for k, v in rec.items()}
            if isinstance(rec.get("variables"), Mapping):
                var = dict(rec["variables"])
                meta = dict(rec.get("metadata") or {})
            else:
                skip = {id_field, expected_field} | meta_keys
                var = {k: v for k, v in rec.items() if k not in skip and k != "metadata"}
                meta = {k: rec[k] for k in meta_keys if k in rec}
                if isinstance(rec.get("metadata"), Mapping):
                    meta.update(rec["metadata"])
            expected = rec.get(expected_field)
            raw_id = rec.get(id_field)
            if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
                item_id = content_id(var, expected)
            elif isinstance(raw_id, float) and raw_id.is_integer():
                # An integer id column with a gap is float in pandas: 1.0 is the id 1.
                item_id = str(int(raw_id))
            else:
                item_id = str(raw_id)
            if variables is not None:
                missing = [v for v in variables if v not in var]
                if missing:
                    raise DataError(
                        f"item {item_id!r} (record {pos}) has no variable {missing[0]!r} "
                        f"(found: {', '.join(var) or 'none'}). Add it, or drop the item."
                    )
            items.append(Item(item_id, var, expected, meta))
        if not items:
            raise DataError(
                f"dataset{' ' + name if name else ''} is empty: it needs at least one item"
            )
        return cls(tuple(items), name=name)

    @classmethod
    def from_frame(cls, frame: Any, **kwargs: Any) -> Dataset:
        """Build a dataset from a pandas or polars frame, one item per row.

        Columns are treated like the keys of flat records; see :meth:`from_records` for the
        keyword arguments.

        Raises
        ------
        InvalidArgumentError
            ``frame`` is neither a pandas nor a polars DataFrame.
        """
        if hasattr(frame, "to_dicts"):  # polars
            records = frame.to_dicts()
        elif hasattr(frame, "to_dict") and hasattr(frame, "columns"):  # pandas
            records = _pandas_records(frame)
        else:
            raise InvalidArgumentError(
                f"frame is a {type(frame).__name__}, expected a pandas or polars DataFrame"
            )
        return cls.from_records(records, **kwargs)

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> Dataset:
        """Read a CSV file (UTF-8, with or without a byte order mark) with a header row; every
        value is text (as a template renders it).

        Raises
        ------
        DataError
            The file does not exist or cannot be parsed.
        """
        path = Path(path)
        kwargs.setdefault("name", path.name)
        try:
            # utf-8-sig: a byte order mark (Excel's "CSV UTF-8") is not part of the first header.
            with path.open(newline="", encoding="utf-8-sig") as fh:
                records = _csv_records(path, fh)
        except FileNotFoundError as err:
            raise DataError(f"dataset file {path} does not exist") from err
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"cannot read {path} as CSV: {err}") from err
        # An empty cell is the only way a CSV says "no reference answer": not the answer "".
        expected_field = kwargs.get("expected_field", "expected")
        for rec in records:
            if rec.get(expected_field) == "":
                rec[expected_field] = None
        return cls.from_records(records, **kwargs)

    @classmethod
    def from_jsonl(cls, path: str | Path, **kwargs: Any) -> Dataset:
        """Read a JSON-lines file, one record (flat or nested) per line; blank lines are skipped.

        Raises
        ------
        DataError
            The file does not exist or a line is not a JSON object (the line number is named).
        """
        path = Path(path)
        kwargs.setdefault("name", path.name)
        records = []
        try:
            with path.open(encoding="utf-8-sig") as fh:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise DataError(f"{path} line {lineno} is not valid JSON: {err}") from err
                    if not isinstance(record, Mapping):
                        raise DataError(
                            f"{path} line {lineno} is a {type(record).__name__}, expected a JSON "
                            'object of fields ({"item_id": ..., "question": ...})'
                        )
                    records.append(record)
        except FileNotFoundError as err:
            raise DataError(f"dataset file {path} does not exist") from err
        return cls.from_records(records, **kwargs)

    @classmethod
    def _from_stored(cls, data: Mapping[str, Any]) -> Dataset:
        items = tuple(
            Item(
                i["item_id"], dict(i["variables"]), i.get("expected"), dict(i.get("metadata") or {})
            )
            for i in data["items"]
        )
        return cls(items, name=data.get("name"))

    # -- access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __getitem__(self, key: int | str) -> Item:
        """An item by position (``int``) or by ``item_id`` (``str``)."""
        if isinstance(key, str):
            for item in self.items:
                if item.item_id == key:
                    return item
            raise NotFoundError(f"no item {key!r} in dataset{' ' + self.name if self.name else ''}")
        return self.items[key]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.item_id for i in self.items)

    @property
    def sha256(self) -> str:
        """Fingerprint of the content: ids, variables and expected answers, in order."""
        h = hashlib.sha256()
        for item in self.items:
            h.update(_canonical([item.item_id, item.variables, item.expected]).encode())
            h.update(b"\n")
        return h.hexdigest()

    @property
    def has_expected(self) -> bool:
        return any(i.expected is not None for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        """Name, size, fingerprint and every item as JSON-able data (stored with each run)."""
        return {
            "name": self.name,
            "n_items": len(self),
            "sha256": self.sha256,
            "items": [i.to_dict() for i in self.items],
        }

    def to_pandas(self) -> Any:
        """One row per item: ``item_id``, one column per variable, ``expected``, metadata."""
        import pandas as pd

        rows = [
            {"item_id": i.item_id, **i.variables, "expected": i.expected, **i.metadata}
            for i in self.items
        ]
        return pd.DataFrame(rows)

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_pandas(self.to_pandas())

    def __repr__(self) -> str:
        var = sorted({k for i in self.items for k in i.variables})
        return (
            f"Dataset({self.name or 'unnamed'}: {len(self)} items, variables: {', '.join(var)}"
            f"{', with expected answers' if self.has_expected else ''})"
        )

    def _repr_html_(self) -> str:
        var = sorted({k for i in self.items for k in i.variables})
        header = ["item_id", *var, "expected"]
        rows = [
            [i.item_id, *[_short(i.variables.get(v)) for v in var], _short(i.expected)]
            for i in self.items[:5]
        ]
        caption = f"{self.name or 'Dataset'}: {len(self)} items"
        more = f"… {len(self) - 5} more" if len(self) > 5 else None
        return str(
            _html.el(
                "div", _html.table(header, rows, caption=caption), _html.el("p", more, class_="note")
                if more else None, class_="pab"
            )
        )  # fmt: skip


def _pandas_records(frame: Any) -> list[dict[str, Any]]:
    """The rows of a pandas frame as dicts, with an integer column that pandas made float to
    hold a missing value (ids, answers, counts: 4 → 4.0) given back its integers, so an
    expected answer 4 is not "4.0" to exact() nor a variable 3 "3.0" in the prompt."""
    import numpy as np
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype.kind != "f" or not values.isna().any():
            continue
        known = values.dropna().to_numpy()
        if known.size and np.all(np.isfinite(known)) and np.all(known == np.round(known)):
            ints = [None if v != v else int(v) for v in values.to_numpy()]
            out[col] = pd.Series(ints, index=out.index, dtype=object)
    records: list[dict[str, Any]] = out.to_dict(orient="records")
    return records


def _csv_records(path: Path, fh: Iterable[str]) -> list[dict[str, Any]]:
    """The rows of an open CSV file as dicts keyed by its header; blank lines are skipped.

    Raises
    ------
    DataError
        A header naming a column twice, or a row with more or fewer fields than the header
        (the file and the row's first line are named): ``csv.DictReader`` would keep the extra
        fields under the key None and fill the missing ones with None, both silently.
    """
    reader = csv.reader(fh)
    header = next(reader, None)
    if header is None:
        return []
    # "item_id, question, expected" typed by hand: the names, not ' question' (values are kept).
    header = [col.strip() for col in header]
    seen: set[str] = set()
    for col in header:
        if col in seen and col:
            raise DataError(
                f"{path} has a column named {col!r} twice in its header; rename or drop one"
            )
        seen.add(col)
    records = []
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(field.strip() for field in row):  # a blank line, or a spreadsheet's ",,"
            continue
        if len(row) != len(header):
            raise DataError(
                f"{path} line {start} has {len(row)} field{'s' if len(row) != 1 else ''}, "
                f"the header has {len(header)} ({', '.join(header)}); quote values that "
                "contain commas, and give every row one value per column (empty for none)"
            )
        for pos, (col, value) in enumerate(zip(header, row, strict=True), start=1):
            if not col and value.strip():
                raise DataError(
                    f"{path} line {start} has a value in column {pos}, which has no name in "
                    "the header; name the column or remove its values"
                )
        # Unnamed columns without values (a spreadsheet's trailing empty columns) are dropped.
        records.append({c: v for c, v in zip(header, row, strict=True) if c})
    return records


def _short(value: Any, width: int = 80) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
