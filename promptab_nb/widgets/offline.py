"""The :class:`OfflineViewer` widget: browse an offline run's items, outputs and scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as W

from .. import _html
from .._format import is_missing
from ..errors import PromptabError
from ._common import LABEL, _Widget, frame, message, py, status

if TYPE_CHECKING:
    from ..offline import OfflineComparison, OfflineRun

_FILTERS = ("all", "regressed", "improved", "errors")
_CELL = "border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left"


class OfflineViewer(_Widget):
    """Browse an offline run: items with each version's output side by side, their scores, filters
    (regressed / improved / errors) and the paired comparison summary.

    Parameters
    ----------
    run
        An :class:`~promptab_nb.offline.OfflineRun` (``ws.run_offline(...)``).
    baseline
        Version label to compare against (default the run's first version).

    Attributes
    ----------
    comparison
        ``run.compare(baseline=...)`` for the chosen baseline.
    """

    def __init__(self, run: OfflineRun, *, baseline: str | None = None) -> None:
        self.run = run
        labels = list(run.labels)
        self.baseline = W.Dropdown(
            options=labels, value=baseline or labels[0], description="baseline", style=LABEL
        )
        others = [x for x in labels if x != self.baseline.value]
        self.version = W.Dropdown(
            options=others, value=others[0] if others else None, description="version", style=LABEL
        )
        self.filter = W.ToggleButtons(
            options=list(_FILTERS), value="all", description="show", style=LABEL
        )
        self.items = W.Select(options=[], rows=10, layout=W.Layout(width="260px"))
        self.prev_button = W.Button(description="◀", layout=W.Layout(width="40px"))
        self.next_button = W.Button(description="▶", layout=W.Layout(width="40px"))
        self.detail = W.HTML()
        self.summary = W.HTML()
        self.status = W.HTML()
        self.comparison: OfflineComparison | None = None
        # Why the comparison failed (kept in the status line: browsing still works without it).
        self._error: str | None = None
        self._frame = run.side_by_side()
        errors = run.errors()
        self._error_items = set(errors["item_id"].astype(str)) if len(errors) else set()
        self.baseline.observe(self._baseline_changed, names="value")
        self.version.observe(lambda _c: self._filter_items(), names="value")
        self.filter.observe(lambda _c: self._filter_items(), names="value")
        self.items.observe(lambda _c: self._show_item(), names="value")
        self.prev_button.on_click(lambda _b: self._step(-1))
        self.next_button.on_click(lambda _b: self._step(1))
        self.widget = frame(
            [
                W.HTML(
                    str(_html.el("b", f"Offline run {getattr(run, 'name', '')} [{run.run_id}]"))
                ),
                W.HBox([self.baseline, self.version]),
                self.summary,
                self.filter,
                W.HBox(
                    [
                        W.VBox([self.items, W.HBox([self.prev_button, self.next_button])]),
                        self.detail,
                    ]
                ),
                self.status,
            ]
        )
        self._compare()
        self._filter_items()

    @property
    def code(self) -> str:
        """The calls behind the view."""
        return f"cmp = run.compare(baseline={py(self.baseline.value)})\nitems = run.side_by_side()"

    def _compare(self) -> None:
        try:
            self.comparison = self.run.compare(baseline=self.baseline.value)
        except PromptabError as err:
            self.comparison = None
            self._error = message(err)
            status(self.status, self._error, "error")
            self.summary.value = ""
            return
        self._error = None
        self.summary.value = self.comparison._repr_html_()

    def _status(self, text: str) -> None:
        """Show ``text``, after the comparison's error when it failed (that stays visible)."""
        if self._error:
            status(self.status, f"{self._error}\n{text}", "error")
        else:
            status(self.status, text, "neutral")

    def _baseline_changed(self, _change: Any) -> None:
        others = [x for x in self.run.labels if x != self.baseline.value]
        self.version.options = others
        self.version.value = others[0] if others else None
        self._compare()
        self._filter_items()

    def _score_col(self, label: str) -> str | None:
        scorers = list(self.run.scorers)
        return f"{label} {scorers[0]}" if scorers else None

    def _filter_items(self) -> None:
        df = self._frame
        ids = df["item_id"].astype(str)
        mode = self.filter.value
        base_col = self._score_col(self.baseline.value)
        ver_col = self._score_col(self.version.value) if self.version.value else None
        why = None
        if mode == "errors":
            keep = ids.isin(self._error_items)
        elif mode in ("regressed", "improved"):
            if base_col and ver_col and base_col in df.columns and ver_col in df.columns:
                # Direction of the first scorer's per-item mean (higher score is better).
                delta = df[ver_col].astype(float) - df[base_col].astype(float)
                keep = delta < 0 if mode == "regressed" else delta > 0
            else:
                # No direction to tell: not every item (the filter showed them all as if so).
                keep = ids != ids
                why = (
                    "no scorer: the run scored no output, so no item is told "
                    f"{mode}; score it (run_offline(..., scorers=[...]))"
                    if not self.run.scorers
                    else f"no other version to compare {self.baseline.value} with"
                )
        else:
            keep = ids == ids
        chosen = list(ids[keep.to_numpy()])
        self.items.options = chosen
        if chosen:
            self.items.value = chosen[0]
            self._status(f"{len(chosen)} of {len(ids)} items ({mode})")
        else:
            self.detail.value = ""
            self._status(why or f"no items are {mode}")

    def _step(self, k: int) -> None:
        opts = list(self.items.options)
        if not opts:
            return
        i = opts.index(self.items.value) if self.items.value in opts else 0
        self.items.value = opts[(i + k) % len(opts)]

    def _show_item(self) -> None:
        item = self.items.value
        if item is None:
            return
        row = self._frame[self._frame["item_id"].astype(str) == item].iloc[0]
        labels = list(self.run.labels)
        version_cols = {c for c in row.index for lab in labels if str(c).startswith(f"{lab} ")}
        inputs = [(c, row[c]) for c in row.index if c not in version_cols and c != "item_id"]
        head = [_html.el("th", "", style=_CELL)] + [
            _html.el("th", lab, style=_CELL) for lab in labels
        ]
        outputs = [
            _html.el(
                "td",
                _html.el(
                    "pre",
                    _text(row.get(f"{lab} output")),
                    style="white-space:pre-wrap;margin:0;font-size:12px",
                ),
                style=_CELL,
            )
            for lab in labels
        ]
        body = [_html.el("tr", _html.el("th", "output", style=_CELL), *outputs)]
        for scorer in self.run.scorers:
            scores = [
                _html.el("td", _score(row.get(f"{lab} {scorer}")), style=_CELL) for lab in labels
            ]
            body.append(_html.el("tr", _html.el("th", scorer, style=_CELL), *scores))
        self.detail.value = str(
            _html.el(
                "div",
                _html.el("div", _html.el("b", f"item {item}"), class_="pab-item"),
                *[_html.el("div", _html.el("b", f"{k}: "), _short(v)) for k, v in inputs],
                _html.el(
                    "table",
                    _html.el("tr", *head),
                    *body,
                    style="border-collapse:collapse;margin-top:4px",
                ),
                style="font-size:12px;max-width:640px",
            )
        )

    def __repr__(self) -> str:
        return (
            f"OfflineViewer(run={self.run.run_id!r}, baseline={self.baseline.value!r}, "
            f"items={len(self.items.options)})"
        )


def _text(x: object) -> str:
    return "" if is_missing(x) else str(x)


def _score(x: Any) -> str:
    return "–" if is_missing(x) else f"{float(x):.2f}"


def _short(x: object, width: int = 300) -> str:
    s = _text(x)
    return s if len(s) <= width else s[: width - 1] + "…"


__all__ = ["OfflineViewer"]
