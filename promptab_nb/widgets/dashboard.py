"""The :class:`ResultsDashboard` widget: analyse a running experiment, then conclude it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as W

from .. import _html
from ..errors import PromptabError
from ..metrics import BUILTIN, DEFAULT
from ..options import (
    CORRECTION_NAMES,
    CORRECTIONS,
    COST_SOURCES,
    CUPED_DAYS,
    METHODS,
    UNITS,
    AnalysisOptions,
)
from ._common import LABEL, Tone, _Widget, code_box, frame, message, py, status
from ._over_time import OverTimeTab

if TYPE_CHECKING:
    from ..decision import Decision
    from ..experiments import Experiment
    from ..options import CostSource
    from ..results import ExperimentResult, Health

_DEFAULTS = AnalysisOptions()
_WINSOR: dict[str, tuple[float, float] | None] = {
    "off": None,
    "1st–99th pct": (1.0, 99.0),
    "0–99th pct": (0.0, 99.0),
    "0–99.9th pct": (0.0, 99.9),
}
_NO_CORRECTION = "none"
_NO_WINNER = "— choose —"
#: Decision card colours per action: background, border (as the report's card).
_DECISION: dict[str, tuple[str, str]] = {
    "ship": ("#e9f6ec", "#1b7f3b"),
    "dont_ship": ("#fbeaea", "#c0392b"),
    "keep_running": ("#fff6e0", "#8a5a00"),
    "no_effect": ("#eef2f7", "#3d4b5c"),
}
_ALPHAS = sorted({0.1, 0.05, 0.01, _DEFAULTS.alpha}, reverse=True)

# Health banner per tone: the worst flag's severity decides (error > warning > info > none).
_TONE: dict[str, Tone] = {"error": "error", "warning": "warn", "info": "neutral"}
_BANNER: dict[Tone, tuple[str, str, str]] = {  # background, border, heading
    "ok": ("#eef7ee", "#009e73", "ok"),
    "neutral": ("#eef7ee", "#009e73", "ok"),
    "warn": ("#fff4e5", "#e69f00", "check"),
    "error": ("#fdecea", "#d55e00", "do not trust yet"),
}


class ResultsDashboard(_Widget):
    """Analyse a running experiment: metrics, method, CUPED, winsorizing, correction, unit and
    cost (as exported or recomputed) controls; the forest plot, result table, health banner and
    effect over time (of the cost the verdict judged); Declare winner and Stop (with a
    confirmation step) and Export report.

    Parameters
    ----------
    exp
        The experiment (``ws.experiment(name)``).
    report_dir
        Folder for exported reports (default ``reports``).

    Attributes
    ----------
    result
        The latest :class:`~promptab_nb.results.ExperimentResult` (``None`` if analysis failed).
    code
        The ``exp.analyze(...)`` call behind the current view.
    """

    def __init__(self, exp: Experiment, *, report_dir: str | Path = "reports") -> None:
        self.exp = exp
        self.result: ExperimentResult | None = None
        # Why the controls' last analysis failed while ``result`` (from earlier controls) stays
        # on screen; None when the result on screen is the controls' own.
        self._stale: str | None = None
        self.report_path: Path | None = None
        self._pending: Callable[[], None] | None = None
        chosen = [m for m in (exp.metrics or DEFAULT) if m in BUILTIN]
        self.metrics = W.SelectMultiple(
            options=list(BUILTIN), value=tuple(chosen), description="metrics", rows=5, style=LABEL
        )
        self.method = W.ToggleButtons(
            options=list(METHODS), value=_DEFAULTS.method, description="method", style=LABEL
        )
        self.cuped = W.Checkbox(
            value=_DEFAULTS.cuped is not None,
            description=f"CUPED ({CUPED_DAYS:g} days)",
            indent=False,
        )
        winsor = next(k for k, v in _WINSOR.items() if v == _DEFAULTS.winsorize)
        self.winsorize = W.Dropdown(
            options=list(_WINSOR), value=winsor, description="winsorize", style=LABEL
        )
        self.correction = W.Dropdown(
            options=[(_NO_CORRECTION, _NO_CORRECTION)]
            + [(CORRECTION_NAMES[c], c) for c in CORRECTIONS],
            value=_DEFAULTS.correction or _NO_CORRECTION,
            description="correction",
            style=LABEL,
        )
        self.unit = W.Dropdown(options=list(UNITS), value=exp.unit, description="unit", style=LABEL)
        self.alpha = W.Dropdown(
            options=_ALPHAS, value=_DEFAULTS.alpha, description="alpha", style=LABEL
        )
        self.cost = W.Dropdown(
            options=list(COST_SOURCES), value=_DEFAULTS.cost, description="cost", style=LABEL
        )
        self._time = OverTimeTab(chosen)
        self.time_metric, self.time_note = self._time.metric, self._time.note
        self.banner = W.HTML()
        self.plot = W.Image(format="png", layout=W.Layout(max_width="760px"))
        self.table = W.HTML()
        self.time_plot = self._time.plot
        self.code_view = W.HTML()
        self.status = W.HTML()
        # Starts empty: the decision preselects the recommended arm only when it says ship
        # (never an arm that is significantly worse).
        arms = [(_NO_WINNER, ""), *[(k, k) for k in exp.variants]]
        self.winner = W.Dropdown(options=arms, value="", description="winner", style=LABEL)
        self.decision_view = W.HTML()
        self.decision: Decision | None = None
        self.declare_button = W.Button(description="Declare winner", icon="trophy")
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="warning")
        self.confirm_button = W.Button(description="Confirm", button_style="danger")
        self.cancel_button = W.Button(description="Cancel")
        self._confirm_box = W.HBox(
            [self.confirm_button, self.cancel_button], layout=W.Layout(display="none")
        )
        self.report_path_text = W.Text(
            value=str(Path(report_dir) / f"{exp.name}.html"), description="report", style=LABEL
        )
        self.export_button = W.Button(description="Export report", icon="file")
        self.declare_button.on_click(lambda _b: self._ask_declare())
        self.stop_button.on_click(
            lambda _b: self._ask(f"Stop {self.exp.name!r} without a winner?", self._stop)
        )
        self.confirm_button.on_click(lambda _b: self._confirm())
        self.cancel_button.on_click(lambda _b: self._cancel())
        self.export_button.on_click(lambda _b: self.export())
        for w in (self.metrics, self.method, self.cuped, self.winsorize, self.correction,
                  self.unit, self.alpha, self.cost):  # fmt: skip
            w.observe(lambda _c: self.refresh(), names="value")
        self.time_metric.observe(
            lambda _c: None if self._time.syncing else self._show_over_time(), names="value"
        )
        controls = W.VBox(
            [
                W.HBox([self.metrics, W.VBox([self.method, self.unit, self.alpha])]),
                W.HBox([self.cuped, self.winsorize, self.correction, self.cost]),
            ]
        )
        tabs = W.Tab(children=[W.VBox([self.plot]), self.table, self._time.box])
        for i, title in enumerate(["effects", "table", "over time"]):
            tabs.set_title(i, title)
        self.title_view = W.HTML()  # (set by refresh: the name follows exp.rename)
        self.widget = frame(
            [
                self.title_view,
                self.decision_view,
                controls,
                self.banner,
                tabs,
                self.code_view,
                W.HBox([self.winner, self.declare_button, self.stop_button, self._confirm_box]),
                W.HBox([self.report_path_text, self.export_button]),
                self.status,
            ]
        )
        self.refresh()

    # -- analysis ----------------------------------------------------------------------------------
    def options(self) -> AnalysisOptions:
        """The :class:`~promptab_nb.options.AnalysisOptions` of the current controls."""
        return AnalysisOptions(
            metrics=tuple(self.metrics.value) or None,
            unit=self.unit.value,
            method=self.method.value,
            alpha=self.alpha.value,
            cuped=bool(self.cuped.value),
            winsorize=_WINSOR[self.winsorize.value],
            correction=None if self.correction.value == _NO_CORRECTION else self.correction.value,
            cost=self.cost.value,
        )

    def to_code(self) -> str:
        """The ``exp.analyze(...)`` call behind the view; raises InvalidArgumentError for options
        ``exp.analyze`` refuses (CUPED with ``unit='request'``)."""
        return self.options().to_code("res = exp.analyze", exp=self.exp)

    @property
    def code(self) -> str:
        """Same as :meth:`to_code`."""
        return self.to_code()

    def refresh(self) -> ExperimentResult | None:
        """Re-run ``exp.analyze(...)`` with the current controls and redraw.

        A library error (no exposures, bad option) is shown in the status line; the previous
        result stays on screen, and the code box and :meth:`export` say it is not the controls'.
        """
        from .. import plots

        self.title_view.value = str(_html.el("b", f"Experiment {self.exp.name}"))
        try:
            options = self.options()  # (checks them: CUPED with unit='request' fails here)
        except PromptabError as err:
            self.code_view.value = code_box(f"# exp.analyze(...) not run: {message(err)}")
            self._failed(message(err))
            return None
        code = options.to_code("res = exp.analyze", exp=self.exp)
        self.code_view.value = code_box(code)
        metrics = list(self.metrics.value)
        if not metrics:
            self._failed("choose at least one metric")
            return None
        try:
            res = self.exp.analyze(options=options)
        except PromptabError as err:
            self.code_view.value = code_box(f"# failed: {message(err)}\n{code}")
            self._failed(message(err))
            return None
        self.result, self._stale = res, None
        self._time.forget()  # (the data may have grown since its kept results)
        self.plot.value = plots.to_png(plots.forest(res))
        self.table.value = res._repr_html_()
        self._banner(res.health)
        self._show_decision(res)
        self._time.choose_from(metrics)
        self._show_over_time()
        status(self.status, f"analysed {self.exp.name!r} ({self.exp.status})", "neutral")
        return res

    def _failed(self, why: str) -> None:
        """Show why the controls cannot be analysed (a result on screen is now stale)."""
        if self.result is not None:
            self._stale = why
            why += "\nthe result on screen is from the previous controls"
        status(self.status, why, "error")

    def _show_decision(self, res: ExperimentResult) -> None:
        """The decision card (``res.decision()``); a ship decision preselects its arm to win."""
        try:
            d = res.decision()
        except PromptabError as err:
            # (decide() says "no decision: ..." of a result with no unit: not said twice)
            why = str(err)[13:] if str(err).startswith("no decision: ") else message(err)
            self.decision_view.value = str(_html.el("div", f"No decision: {why}"))
            self.decision, self.winner.value = None, ""  # (no arm is recommended any more)
            return
        self.decision = d
        background, border = _DECISION[d.action]
        self.decision_view.value = str(
            _html.el(
                "div",
                _html.el("b", f"Decision: {d.headline}", style=f"color:{border};font-size:15px"),
                _html.el("ul", *[_html.el("li", r) for r in d.reasons], style="margin:2px 0"),
                style=f"background:{background};border:2px solid {border};border-radius:6px;"
                "padding:6px 10px;font-size:12px",
                class_=f"pab-decision {d.action}",
            )
        )
        self.winner.value = d.recommended if d.recommended else ""

    def _banner(self, health: Health) -> None:
        """Exposure, SRM and flag lines; the colour comes from the worst flag's severity."""
        lines = health.lines()
        severities = {f.severity for f in health.flags}
        if self.exp.is_expired and not health.has("expired"):
            # The end date passed after this result was computed (a long-open notebook).
            lines.append(f"⚠ ends_at {self.exp.ends_at:%Y-%m-%d} has passed")
            severities.add("warning")
        tone: Tone = "ok"
        for severity in ("info", "warning", "error"):
            if severity in severities:
                tone = _TONE[severity]
        background, border, heading = _BANNER[tone]
        self.banner.value = str(
            _html.el(
                "div",
                _html.el("b", "health: " + heading),
                *[_html.el("div", x) for x in lines],
                style=f"background:{background};border-left:4px solid {border};"
                "padding:4px 8px;font-size:12px",
                class_=f"pab-health {tone}",
            )
        )

    def _show_over_time(self) -> None:
        # the alpha, cost and unit of the verdict on screen (a refused re-analysis leaves that
        # one up, with its options, while the controls show the refused ones)
        shown = self.result.options if self.result is not None else None
        self._time.show(
            self.exp,
            metrics=self.metrics.value,
            alpha=shown.alpha if shown is not None else self.alpha.value,
            unit=shown.unit or self.exp.unit if shown is not None else self.unit.value,
            cost=shown.cost if shown is not None else self.cost.value,
        )

    @property
    def _shown_time(self) -> tuple[str, float, CostSource] | None:
        return self._time.shown

    # -- lifecycle with confirmation ---------------------------------------------------------------
    def _ask(self, question: str, action: Callable[[], None]) -> None:
        self._pending = action
        self._confirm_box.layout.display = "flex"
        status(self.status, question + " Click Confirm or Cancel.", "warn")

    def _ask_declare(self) -> None:
        if not self.winner.value:
            status(self.status, "choose the winner first", "error")
            return
        d = self.decision
        against = ""
        if d is not None and d.recommended != self.winner.value:
            against = f" The decision says {d.headline!r}."
        self._ask(
            f"Declare {self.winner.value!r} the winner of {self.exp.name!r}?{against}",
            self._declare,
        )

    def _cancel(self) -> None:
        self._pending = None
        self._confirm_box.layout.display = "none"
        status(self.status, "cancelled; nothing changed", "neutral")

    def _confirm(self) -> None:
        action, self._pending = self._pending, None
        self._confirm_box.layout.display = "none"
        if action is not None:
            action()

    def _declare(self) -> None:
        if not self.winner.value:
            status(self.status, "choose the winner first", "error")
            return
        try:
            self.exp = self.exp.declare_winner(self.winner.value)
        except PromptabError as err:
            status(self.status, message(err), "error")
            return
        status(self.status, f"{self.exp.name!r} concluded; winner {self.exp.winner!r} "
               f"(exp.declare_winner({py(self.exp.winner)}))", "ok")  # fmt: skip

    def _stop(self) -> None:
        try:
            self.exp = self.exp.stop()
        except PromptabError as err:
            status(self.status, message(err), "error")
            return
        status(self.status, f"{self.exp.name!r} stopped (exp.stop())", "ok")

    def export(self) -> Path | None:
        """Write the HTML report of the current result (``pab.report.write(res, path)``)."""
        if self.result is None:
            status(self.status, "no result to export yet", "error")
            return None
        from .. import report

        try:
            self.exp.refresh()  # (NotFoundError once ws.delete_experiment removed it)
            path = report.write(self.result, self.report_path_text.value, ws=self.exp.ws)
        except PromptabError as err:
            status(self.status, message(err), "error")
            return None
        self.report_path = Path(path)
        if self._stale is not None:
            # The controls changed and failed: the report is of the result on screen, not theirs.
            status(self.status, f"report written: {self.report_path.resolve()}, of the result "
                   f"on screen, analysed with the previous controls ({self.result.options.to_code()});"
                   f" the current ones failed: {self._stale}", "warn")  # fmt: skip
        else:
            status(self.status, f"report written: {self.report_path.resolve()}", "ok")
        return self.report_path

    def __repr__(self) -> str:
        try:
            code = self.to_code()
        except PromptabError as err:
            code = message(err)
        return (
            f"ResultsDashboard({self.exp.name!r}, status={self.exp.status}, "
            f"metrics={list(self.metrics.value)}, {code})"
        )


__all__ = ["ResultsDashboard"]
