"""One renderer for every result object: a table with lines around it, shown as HTML in Jupyter
(through :mod:`promptab_nb._html`) and as text in a terminal (through
:func:`promptab_nb._format.text_table`), and converted to pandas or polars from raw records.

A result class inherits :class:`Rendered`, is declared ``@dataclass(frozen=True, repr=False)``
(so the dataclass does not replace the mixin's ``__repr__``) and implements two methods:

* ``_table() -> Table``: the header and formatted rows, a title or caption, lines before the
  table (verdicts) and after it (health, notes);
* ``_records() -> list[dict] | DataFrame``: the raw values behind ``to_pandas()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from . import _html
from ._format import text_table

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

__all__ = ["Note", "Rendered", "Table"]


@dataclass(frozen=True)
class Note:
    """Lines shown around the table, styled by the CSS class ``css`` (``"verdict good"``,
    ``"health warn"``, ``"note"``). With a ``title`` the lines are indented under it in text;
    ``bullets`` renders them as an HTML list."""

    lines: tuple[str, ...]
    css: str = "note"
    title: str | None = None
    bullets: bool = False

    def html(self) -> _html.Markup:
        if self.title is None and not self.bullets and len(self.lines) == 1:
            return _html.el("div", self.lines[0], class_=self.css)
        head = _html.el("div", _html.el("b", self.title)) if self.title else None
        if self.bullets:
            body: Any = _html.el("ul", *[_html.el("li", line) for line in self.lines])
        else:
            body = [_html.el("div", line) for line in self.lines]
        return _html.el("div", head, body, class_=self.css)

    def text(self) -> list[str]:
        if self.title is None:
            return list(self.lines)
        return [self.title, *(f"  {line}" for line in self.lines)]


@dataclass(frozen=True)
class Table:
    """What a result shows.

    ``title`` heads both the text and the HTML; ``caption`` is the HTML table's caption and
    heads the text when there is no title. ``rows`` are formatted strings, one per header cell.
    ``text_columns`` keeps only those columns (by index) in the terminal, where width is short;
    the first ``left`` columns are left-aligned there.
    """

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    title: str | None = None
    caption: str | None = None
    before: Sequence[Note] = ()
    after: Sequence[Note] = ()
    text_columns: Sequence[int] | None = None
    left: int = 2

    def html(self) -> str:
        """The ``pab`` div with the shared style; every text is escaped by :func:`_html.el`."""
        title = _html.el("div", _html.el("b", self.title), class_="title") if self.title else None
        return str(
            _html.el(
                "div",
                _html.el("style", _html.Markup(_html.STYLE)),
                title,
                *[n.html() for n in self.before],
                _html.table(self.header, self.rows, caption=self.caption),
                *[n.html() for n in self.after],
                class_="pab",
            )
        )

    def text(self) -> str:
        """Plain text: the title (or caption), the lines before, the table, the lines after."""
        head = self.title or self.caption
        sections: list[list[str]] = [[head]] if head else []
        if self.before:
            sections.append([line for n in self.before for line in n.text()])
        keep = self.text_columns if self.text_columns is not None else range(len(self.header))
        if self.rows:
            header = [self.header[i] for i in keep]
            rows = [[row[i] for i in keep] for row in self.rows]
            sections.append(text_table(header, rows, left=self.left).splitlines())
        else:
            sections.append(["(no rows)"])
        if self.after:
            sections.append([line for n in self.after for line in n.text()])
        return "\n\n".join("\n".join(s) for s in sections)


class Rendered:
    """Mixin for result objects: ``to_pandas()``, ``to_polars()``, ``_repr_html_()`` and the
    terminal text, all from :meth:`_table` and :meth:`_records`.

    ``_columns`` are the columns of an empty ``to_pandas()`` frame (when there are no records).
    """

    __slots__ = ()

    _columns: ClassVar[tuple[str, ...]] = ()

    def _table(self) -> Table:
        """The display table (formatted strings) and the lines around it."""
        raise NotImplementedError

    def _records(self) -> list[dict[str, Any]] | pd.DataFrame:
        """The raw values behind :meth:`to_pandas`, one dict per row (or a DataFrame)."""
        raise NotImplementedError

    def to_pandas(self) -> pd.DataFrame:
        """The raw values as a pandas DataFrame, one row per table row."""
        import pandas as pd

        records = self._records()
        if isinstance(records, pd.DataFrame):
            return records
        if not records:
            return pd.DataFrame(columns=list(self._columns))
        return pd.DataFrame(records)

    def to_polars(self) -> pl.DataFrame:
        """:meth:`to_pandas` as a polars DataFrame."""
        import polars as pl

        return pl.from_pandas(self.to_pandas())

    def _repr_html_(self) -> str:
        return self._table().html()

    def __repr__(self) -> str:
        return self._table().text()

    def __str__(self) -> str:
        return self._table().text()
