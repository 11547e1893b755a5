"""The dashboard's over-time tab: the cumulative effect of one metric
(``exp.analyze_over_time(metric, alpha=..., cost=..., unit=...)``, the cost and unit the analysis
judged), with a caption of what the tab leaves out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as W

from .. import _html
from ..errors import PromptabError
from ..metrics import BUILTIN
from ._common import COLOURS, LABEL, message

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..options import CostSource, Unit
    from ..results import OverTimeResult


def timed(metrics: Sequence[str]) -> list[str]:
    """The metrics with an over-time view: every one but the quantiles over events."""
    return [m for m in metrics if BUILTIN[m].kind != "quantile"]


class OverTimeTab:
    """The metric dropdown, a caption and the plot; results are kept per (metric, alpha,
    cost) of the unit last shown (:attr:`unit`)."""

    def __init__(self, metrics: Sequence[str]) -> None:
        options = timed(metrics)
        self.metric = W.Dropdown(
            options=options,
            value=options[0] if options else None,
            description="over time",
            style=LABEL,
        )
        #: What the tab leaves out (quantiles) and why it shows no plot.
        self.note = W.HTML()
        self.plot = W.Image(format="png", layout=W.Layout(max_width="760px"))
        self.box = W.VBox([self.metric, self.note, self.plot])
        self.results: dict[tuple[str, float, CostSource], OverTimeResult] = {}
        self.shown: tuple[str, float, CostSource] | None = None
        #: The unit of analysis of :attr:`results` (``"user"`` or ``"request"``).
        self.unit: Unit = "user"
        self.syncing = False  # True while choose_from() swaps the options

    def forget(self) -> None:
        """Drop the kept results (a new analysis may read data loaded since)."""
        self.results, self.shown = {}, None

    def choose_from(self, metrics: Sequence[str]) -> None:
        """Offer the over-time views of ``metrics``, keeping the chosen one if still offered."""
        options = timed(metrics)
        if list(self.metric.options) == options:
            return
        keep = self.metric.value if self.metric.value in options else None
        # New options reset the value to the first one: restore the user's choice, and let the
        # caller draw once rather than for each intermediate value.
        self.syncing = True
        try:
            self.metric.options = options
            if keep is not None:
                self.metric.value = keep
        finally:
            self.syncing = False

    def show(
        self,
        exp: Experiment,
        *,
        metrics: Sequence[str],
        alpha: float,
        unit: Unit,
        cost: CostSource = "source",
    ) -> None:
        """Draw the chosen metric per ``unit`` (its cost as the analysis read it: ``cost``); on
        an error clear the plot (it never shows another metric) and keep the message in the
        caption, where a later status line cannot hide it."""
        from .. import plots

        lines = []
        skipped = [m for m in metrics if m not in timed([m])]
        if skipped:
            lines.append(
                f"not shown: {', '.join(skipped)} (a quantile over events has no cumulative form)"
            )
        if unit != self.unit:  # the kept results are of the other unit
            self.results, self.shown, self.unit = {}, None, unit
        metric = self.metric.value
        key = (metric, float(alpha), cost)
        error = None
        if metric and key not in self.results:
            try:
                self.results[key] = exp.analyze_over_time(metric, alpha=alpha, cost=cost, unit=unit)
            except PromptabError as err:
                error = message(err)
        tone = "error" if error else "warn"
        self.note.value = str(
            _html.el(
                "div",
                *[_html.el("div", x) for x in [*lines, error] if x],
                style=f"color:{COLOURS[tone]};font-size:12px",
            )
            if lines or error
            else ""
        )
        if not metric or error:
            self.plot.value, self.shown = b"", None
        elif key != self.shown:
            self.plot.value = plots.to_png(plots.cumulative(self.results[key]))
            self.shown = key


__all__: list[str] = []
