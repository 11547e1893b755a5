"""Notebook widgets (ipywidgets): :class:`ExperimentBuilder`, :class:`ResultsDashboard` and
:class:`OfflineViewer`.

Widgets are thin: every button is a public call you could type (each widget shows it in
``.code``), they hold no statistics, and a bad input shows a readable message in the widget's
status line and changes nothing. Display one by leaving it last in a cell; ``.widget`` is the
underlying ipywidgets box.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from . import _html
from ._format import num
from .errors import PromptabError
from .metrics import BUILTIN, DEFAULT
from .options import AnalysisOptions

if TYPE_CHECKING:
    from .experiments import Experiment
    from .results import ExperimentResult, OverTimeResult
    from .workspace import Workspace

_WIDE = W.Layout(width="auto")
_LABEL = {"description_width": "110px"}


def _status(box: W.HTML, text: str, tone: str = "neutral") -> None:
    """Show a one-line message (``tone``: ok / error / neutral) in a status HTML widget."""
    colours = {"ok": "#1a7f37", "error": "#b3261e", "neutral": "#444444", "warn": "#8a5a00"}
    box.value = str(
        _html.el(
            "div",
            text,
            style=f"color:{colours.get(tone, '#444')};white-space:pre-wrap;font-size:13px",
            class_=f"pab-status {tone}",
        )
    )


def _message(err: BaseException) -> str:
    """The library's own message, without a traceback, named by the error class."""
    return f"{type(err).__name__}: {err}"


def _py(value: Any) -> str:
    """A Python literal for generated code (strings double-quoted like the docs)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_py(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _code_box(code: str) -> str:
    return str(
        _html.el(
            "pre",
            code,
            style="background:#f6f8fa;padding:6px 8px;border-radius:4px;font-size:12px;"
            "white-space:pre-wrap;margin:4px 0",
            class_="pab-code",
        )
    )


def _rebalance(values: list[int], moved: int, total: int = 100) -> list[int]:
    """Integer shares summing to ``total`` after share ``moved`` changed: the others keep their
    proportions (largest remainder), each at least 0."""
    k = len(values)
    if k == 1:
        return [total]
    v = min(max(values[moved], 0), total)
    rest = total - v
    others = [i for i in range(k) if i != moved]
    weights = [max(values[i], 0) for i in others]
    s = sum(weights)
    raw = [rest / len(others)] * len(others) if s == 0 else [rest * w / s for w in weights]
    floor = [math.floor(x) for x in raw]
    left = rest - sum(floor)
    order = sorted(range(len(others)), key=lambda j: raw[j] - floor[j], reverse=True)
    for j in order[:left]:
        floor[j] += 1
    out = list(values)
    out[moved] = v
    for j, i in enumerate(others):
        out[i] = floor[j]
    return out


class _Widget:
    """Display through the wrapped ipywidgets box."""

    widget: W.Box

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# ---------------------------------------------------------------------------------------------
class ExperimentBuilder(_Widget):
    """Set up a live experiment: prompt, versions, split, metrics, unit, end date, alpha and flag,
    with a live sample-size estimate; **Create** calls ``ws.create_experiment(...)``.

    Parameters
    ----------
    ws
        The workspace. Prompt names and versions are offered from its data (``generations``)
        and its prompt registry; traffic for the estimate comes from its exposures.
    name
        Initial experiment name.

    Attributes
    ----------
    experiment
        The created :class:`~promptab_nb.experiments.Experiment` (``None`` until Create works).
    code
        The equivalent ``ws.create_experiment(...)`` call.

    Examples
    --------
    >>> builder = pab.widgets.ExperimentBuilder(ws)  # doctest: +SKIP
    >>> builder.prompt.value = "support-bot"; builder.create_button.click()  # doctest: +SKIP
    >>> builder.experiment.split  # doctest: +SKIP
    {'control': 50.0, 'test': 50.0}
    """

    def __init__(self, ws: Workspace, *, name: str = "") -> None:
        self.ws = ws
        self.experiment: Experiment | None = None
        self._syncing = False
        self._plan_cache: dict[tuple[Any, ...], tuple[float | None, float | None, str]] = {}
        prompts = self._prompt_names()
        first = prompts[0] if prompts else ""
        self.name = W.Text(
            value=name or (f"{first}-experiment" if first else ""),
            description="name",
            placeholder="e.g. support-bot-v2",
            style=_LABEL,
        )
        self.prompt = W.Combobox(
            value=first,
            options=prompts,
            description="prompt",
            placeholder="prompt name ($ai_prompt_name)",
            ensure_option=False,
            style=_LABEL,
        )
        self.n_variants = W.BoundedIntText(
            value=2, min=2, max=10, description="variants", style=_LABEL
        )
        self.flag_key = W.Text(
            value=self._likely_flag(first),
            description="flag key",
            placeholder="PostHog flag (default: name)",
            style=_LABEL,
        )
        self.unit = W.Dropdown(
            options=["user", "request"], value="user", description="unit", style=_LABEL
        )
        self.ends_at = W.DatePicker(description="ends at", style=_LABEL)
        self.alpha = W.BoundedFloatText(
            value=0.05, min=0.001, max=0.5, step=0.01, description="alpha", style=_LABEL
        )
        self.mde = W.BoundedFloatText(
            value=5.0, min=0.1, max=500, step=1, description="effect (%)", style=_LABEL,
            tooltip="relative effect to detect, in percent",
        )  # fmt: skip
        self.metric_boxes = {
            m: W.Checkbox(
                value=m in DEFAULT, description=m, indent=False, layout=W.Layout(width="120px")
            )
            for m in BUILTIN
        }
        self.keys: list[W.Text] = []
        self.versions: list[W.Combobox] = []
        self.splits: list[W.IntSlider] = []
        self._variant_box = W.VBox()
        self.estimate = W.HTML()
        self.status = W.HTML()
        self.code_view = W.HTML()
        self.create_button = W.Button(description="Create", button_style="primary", icon="check")
        self.create_button.on_click(lambda _b: self.create())
        self._build_variant_rows(2)
        for w in (self.name, self.flag_key, self.unit, self.ends_at, self.alpha, self.mde):
            w.observe(self._changed, names="value")
        for cb in self.metric_boxes.values():
            cb.observe(self._changed, names="value")
        self.prompt.observe(self._prompt_changed, names="value")
        self.n_variants.observe(self._n_changed, names="value")
        self.widget = W.VBox(
            [
                W.HTML("<b>New prompt experiment</b>"),
                W.HBox(
                    [
                        W.VBox([self.name, self.prompt, self.flag_key]),
                        W.VBox([self.unit, self.ends_at, self.alpha]),
                    ]
                ),
                self.n_variants,
                self._variant_box,
                W.HTML("metrics"),
                W.HBox(list(self.metric_boxes.values()), layout=W.Layout(flex_flow="row wrap")),
                W.HBox([self.mde, self.estimate]),
                self.code_view,
                W.HBox([self.create_button, self.status]),
            ],
            layout=W.Layout(border="1px solid #ddd", padding="8px"),
        )
        self._changed()

    # -- data the workspace has seen ------------------------------------------------------------
    def _prompt_names(self) -> list[str]:
        df = self.ws.sql(
            """SELECT prompt_name FROM (
                   SELECT prompt_name, count(*) AS n FROM generations
                   WHERE prompt_name IS NOT NULL GROUP BY prompt_name
                   UNION ALL
                   SELECT prompt_name, 0 AS n FROM prompts GROUP BY prompt_name)
               GROUP BY prompt_name ORDER BY max(n) DESC, prompt_name"""
        )
        return [str(x) for x in df["prompt_name"]]

    def _likely_flag(self, prompt: str) -> str:
        """The flag most of the prompt's users were exposed to (empty when none)."""
        if not prompt:
            return ""
        df = self.ws.sql(
            """SELECT e.flag_key FROM exposures e
               JOIN (SELECT DISTINCT coalesce(person_id, distinct_id) AS u FROM generations
                     WHERE prompt_name = $p) g ON coalesce(e.person_id, e.distinct_id) = g.u
               GROUP BY e.flag_key ORDER BY count(DISTINCT g.u) DESC, e.flag_key LIMIT 1""",
            {"p": prompt},
        )
        return str(df["flag_key"].iloc[0]) if len(df) else ""

    def _version_names(self, prompt: str) -> list[str]:
        if not prompt:
            return []
        df = self.ws.sql(
            """SELECT prompt_version AS v FROM generations
               WHERE prompt_name = $p AND prompt_version IS NOT NULL
               UNION SELECT CAST(version AS VARCHAR) FROM prompts WHERE prompt_name = $p""",
            {"p": prompt},
        )
        return sorted((str(x) for x in df["v"]), key=_natural)

    # -- variant rows ----------------------------------------------------------------------------
    def _build_variant_rows(self, k: int) -> None:
        options = self._version_names(self.prompt.value)
        old_keys = [w.value for w in self.keys]
        old_versions = [w.value for w in self.versions]
        self.keys, self.versions, self.splits = [], [], []
        shares = [100 // k + (1 if i < 100 % k else 0) for i in range(k)]
        rows = []
        for i in range(k):
            default_key = "control" if i == 0 else ("test" if k == 2 else f"test_{i}")
            key = W.Text(
                value=old_keys[i] if i < len(old_keys) else default_key,
                layout=W.Layout(width="120px"),
            )
            ver = W.Combobox(
                value=old_versions[i]
                if i < len(old_versions)
                else (options[i] if i < len(options) else ""),
                options=options,
                placeholder="prompt version",
                ensure_option=False,
                layout=W.Layout(width="150px"),
            )
            sl = W.IntSlider(
                value=shares[i], min=0, max=100, description="%", style={"description_width": "20px"},
                continuous_update=False, layout=W.Layout(width="280px"),
            )  # fmt: skip
            sl.observe(self._split_moved(i), names="value")
            key.observe(self._changed, names="value")
            ver.observe(self._changed, names="value")
            self.keys.append(key)
            self.versions.append(ver)
            self.splits.append(sl)
            tag = "control" if i == 0 else f"treatment {i}"
            rows.append(W.HBox([W.Label(tag, layout=W.Layout(width="90px")), key, ver, sl]))
        self._variant_box.children = rows

    def _split_moved(self, i: int) -> Callable[[dict[str, Any]], None]:
        def handler(_change: dict[str, Any]) -> None:
            if self._syncing:
                return
            self._syncing = True
            try:
                new = _rebalance([s.value for s in self.splits], i)
                for s, v in zip(self.splits, new, strict=True):
                    s.value = v
            finally:
                self._syncing = False
            self._changed()

        return handler

    def _n_changed(self, change: dict[str, Any]) -> None:
        self._build_variant_rows(int(change["new"]))
        self._changed()

    def _prompt_changed(self, _change: dict[str, Any]) -> None:
        options = self._version_names(self.prompt.value)
        for i, ver in enumerate(self.versions):
            ver.options = options
            if ver.value not in options:
                ver.value = options[i] if i < len(options) else ""
        self._changed()

    # -- state -----------------------------------------------------------------------------------
    @property
    def variants(self) -> dict[str, str]:
        """Variant key → prompt version, as chosen (control first)."""
        return dict(self._pairs())

    def _pairs(self) -> list[tuple[str, str]]:
        # Pairs, not a dict: a repeated key must reach the library (which names it), not vanish.
        return [
            (k.value.strip(), v.value.strip())
            for k, v in zip(self.keys, self.versions, strict=True)
        ]

    @property
    def split(self) -> list[int]:
        """Percent of traffic per variant (always sums to 100)."""
        return [s.value for s in self.splits]

    @property
    def metrics(self) -> list[str]:
        return [m for m, cb in self.metric_boxes.items() if cb.value]

    def _kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"split": self.split}
        if self.flag_key.value.strip():
            kw["flag_key"] = self.flag_key.value.strip()
        if self.metrics and tuple(self.metrics) != DEFAULT:
            kw["metrics"] = self.metrics
        if self.unit.value != "user":
            kw["unit"] = self.unit.value
        if self.ends_at.value is not None:
            kw["ends_at"] = self.ends_at.value.isoformat()
        return kw

    def to_code(self) -> str:
        """The ``ws.create_experiment(...)`` call that Create makes."""
        pairs = self._pairs()
        unique = len({k for k, _ in pairs}) == len(pairs)
        args = [
            _py(self.name.value.strip()),
            _py(self.prompt.value.strip() or None),
            _py(dict(pairs)) if unique else _py(pairs),
        ]
        args += [f"{k}={_py(v)}" for k, v in self._kwargs().items()]
        return f"exp = ws.create_experiment({', '.join(args)})"

    @property
    def code(self) -> str:
        """Same as :meth:`to_code`."""
        return self.to_code()

    # -- estimate ---------------------------------------------------------------------------------
    def _observed(
        self, metric: str, prompt: str, version: str
    ) -> tuple[float | None, float | None, str]:
        """Baseline (mean or rate) and per-user sd of ``metric`` seen for the control version."""
        key = (metric, prompt, version)
        if key in self._plan_cache:
            return self._plan_cache[key]
        m = BUILTIN[metric]
        out: tuple[float | None, float | None, str] = (None, None, "")
        if m.source == "generations":
            agg = {"sum": f"sum({m.column})", "mean": f"avg({m.column})", "count": "count(*)"}.get(
                m.agg
            )
            if m.agg == "rate":
                row = self.ws.engine.fetch(
                    f"SELECT avg(CAST({m.column} AS DOUBLE)), count(*) FROM generations "
                    "WHERE prompt_name = $p AND prompt_version = $v",
                    {"p": prompt, "v": version},
                )[0]
                if row[1]:
                    out = (float(row[0]), None, f"{row[1]:,} generations")
            elif agg:
                row = self.ws.engine.fetch(
                    f"""SELECT avg(x), stddev_samp(x), count(*) FROM (
                          SELECT coalesce(person_id, distinct_id) AS u, {agg} AS x FROM generations
                          WHERE prompt_name = $p AND prompt_version = $v GROUP BY u)""",
                    {"p": prompt, "v": version},
                )[0]
                if row[2] and row[2] > 1 and row[1]:
                    out = (float(row[0]), float(row[1]), f"{row[2]:,} users")
        else:
            row = self.ws.engine.fetch(
                f"SELECT avg(CAST({m.column} AS DOUBLE)), count(*) FROM evaluations WHERE applicable"
            )[0]
            if row[1]:
                out = (float(row[0]), None, f"{row[1]:,} evaluations")
        self._plan_cache[key] = out
        return out

    def _daily_units(self) -> tuple[float | None, str]:
        flag = self.flag_key.value.strip() or self.name.value.strip()
        row = self.ws.engine.fetch(
            """SELECT count(DISTINCT coalesce(person_id, distinct_id)),
                      greatest(date_diff('second', min(ts), max(ts)) / 86400.0, 1)
               FROM exposures WHERE flag_key = $f""",
            {"f": flag},
        )[0]
        if row[0]:
            return row[0] / row[1], f"exposures of flag {flag!r}"
        row = self.ws.engine.fetch(
            """SELECT count(DISTINCT coalesce(person_id, distinct_id)),
                      greatest(date_diff('second', min(ts), max(ts)) / 86400.0, 1)
               FROM generations WHERE prompt_name = $p""",
            {"p": self.prompt.value.strip()},
        )[0]
        if row[0]:
            return row[0] / row[1], f"users calling prompt {self.prompt.value.strip()!r}"
        return None, ""

    def _update_estimate(self) -> None:
        from .stats.power import plan

        metrics = self.metrics
        if not metrics:
            self.estimate.value = "<i>choose a metric for the estimate</i>"
            return
        metric = metrics[0]
        control = self.versions[0].value.strip() if self.versions else ""
        try:
            baseline, sd, seen = self._observed(metric, self.prompt.value.strip(), control)
            daily, source = self._daily_units()
        except PromptabError as err:
            self.estimate.value = str(_html.el("i", f"no estimate: {err}"))
            return
        if baseline is None or daily is None:
            self.estimate.value = str(
                _html.el("i", "no estimate yet: load data for this prompt to see the traffic")
            )
            return
        shares = self.split
        treat = min(shares[1:]) / 100 if len(shares) > 1 else 0.5
        try:
            p = plan(
                baseline, mde=self.mde.value / 100, daily_units=daily, sd=sd, relative=True,
                split=treat, alpha=self.alpha.value, arms=len(shares),
            )  # fmt: skip
        except PromptabError as err:
            self.estimate.value = str(_html.el("i", f"no estimate: {err}"))
            return
        text = (
            f"{metric}: to detect {num(self.mde.value / 100, '%', signed=True)} needs "
            f"{p.n_total:,} units (~{p.days} days at {daily:,.0f}/day from {source}; "
            f"baseline {num(baseline, BUILTIN[metric].unit)} over {seen} of {control!r})"
        )
        end = self.ends_at.value
        tone = "neutral"
        if end is not None:
            days_left = (end - dt.date.today()).days
            if days_left < p.days:
                text += f" — ends at leaves only {days_left} days"
                tone = "warn"
        self.estimate.value = str(
            _html.el(
                "span",
                text,
                style=f"font-size:12px;color:{'#8a5a00' if tone == 'warn' else '#333'}",
            )
        )

    def _changed(self, _change: Any = None) -> None:
        if self._syncing:
            return
        self.code_view.value = _code_box(self.to_code())
        self._update_estimate()

    # -- action ------------------------------------------------------------------------------------
    def create(self) -> Experiment | None:
        """Call ``ws.create_experiment(...)`` with the chosen values (the Create button).

        A library error (invalid split, a running experiment on the prompt, …) is shown in the
        status line and nothing is created.
        """
        name = self.name.value.strip()
        prompt = self.prompt.value.strip() or None
        try:
            exp = self.ws.create_experiment(name, prompt, self._pairs(), **self._kwargs())
        except PromptabError as err:
            _status(self.status, _message(err), "error")
            return None
        self.experiment = exp
        _status(self.status, f"created {exp!r}", "ok")
        return exp

    def __repr__(self) -> str:
        return (
            f"ExperimentBuilder(name={self.name.value!r}, prompt={self.prompt.value!r}, "
            f"variants={self.variants}, split={self.split})"
        )


# ---------------------------------------------------------------------------------------------
_WINSOR = {
    "off": None,
    "1st–99th pct": (1.0, 99.0),
    "0–99th pct": (0.0, 99.0),
    "0–99.9th pct": (0.0, 99.9),
}


class ResultsDashboard(_Widget):
    """Analyse a running experiment: metrics, method, CUPED, winsorizing, correction and unit
    controls; the forest plot, result table, health banner and effect over time; Declare winner
    and Stop (with a confirmation step) and Export report.

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
        self.report_path: Path | None = None
        self._over_time: dict[tuple[str, float], OverTimeResult] = {}
        self._shown_time: tuple[str, float] | None = None
        self._pending: Callable[[], None] | None = None
        metric_names = list(BUILTIN)
        chosen = [m for m in (exp.metrics or DEFAULT) if m in BUILTIN]
        self.metrics = W.SelectMultiple(
            options=metric_names, value=tuple(chosen), description="metrics", rows=5, style=_LABEL
        )
        self.method = W.ToggleButtons(
            options=["frequentist", "bayesian"],
            value="frequentist",
            description="method",
            style=_LABEL,
        )
        self.cuped = W.Checkbox(value=False, description="CUPED (14 days)", indent=False)
        self.winsorize = W.Dropdown(
            options=list(_WINSOR), value="off", description="winsorize", style=_LABEL
        )
        self.correction = W.Dropdown(
            options=[("none", "none"), ("Holm", "holm"), ("Benjamini–Hochberg", "bh")], value="none",
            description="correction", style=_LABEL,
        )  # fmt: skip
        self.unit = W.Dropdown(
            options=["user", "request"], value=exp.unit, description="unit", style=_LABEL
        )
        self.alpha = W.Dropdown(
            options=[0.1, 0.05, 0.01], value=0.05, description="alpha", style=_LABEL
        )
        self.time_metric = W.Dropdown(
            options=chosen,
            value=chosen[0] if chosen else None,
            description="over time",
            style=_LABEL,
        )
        self.banner = W.HTML()
        self.plot = W.Image(format="png", layout=W.Layout(max_width="760px"))
        self.table = W.HTML()
        self.time_plot = W.Image(format="png", layout=W.Layout(max_width="760px"))
        self.code_view = W.HTML()
        self.status = W.HTML()
        self.winner = W.Dropdown(
            options=list(exp.variants),
            value=exp.treatments[0] if exp.treatments else exp.control,
            description="winner",
            style=_LABEL,
        )
        self.declare_button = W.Button(description="Declare winner", icon="trophy")
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="warning")
        self.confirm_button = W.Button(description="Confirm", button_style="danger")
        self.cancel_button = W.Button(description="Cancel")
        self._confirm_box = W.HBox(
            [self.confirm_button, self.cancel_button], layout=W.Layout(display="none")
        )
        self.report_path_text = W.Text(
            value=str(Path(report_dir) / f"{exp.name}.html"), description="report", style=_LABEL
        )
        self.export_button = W.Button(description="Export report", icon="file")
        self.declare_button.on_click(
            lambda _b: self._ask(
                f"Declare {self.winner.value!r} the winner of {exp.name!r}?", self._declare
            )
        )
        self.stop_button.on_click(
            lambda _b: self._ask(f"Stop {exp.name!r} without a winner?", self._stop)
        )
        self.confirm_button.on_click(lambda _b: self._confirm())
        self.cancel_button.on_click(lambda _b: self._cancel())
        self.export_button.on_click(lambda _b: self.export())
        for w in (
            self.metrics,
            self.method,
            self.cuped,
            self.winsorize,
            self.correction,
            self.unit,
            self.alpha,
        ):
            w.observe(self._options_changed, names="value")
        self.time_metric.observe(lambda _c: self._show_over_time(), names="value")
        controls = W.VBox(
            [
                W.HBox([self.metrics, W.VBox([self.method, self.unit, self.alpha])]),
                W.HBox([self.cuped, self.winsorize, self.correction]),
            ]
        )
        tabs = W.Tab(
            children=[W.VBox([self.plot]), self.table, W.VBox([self.time_metric, self.time_plot])]
        )
        for i, title in enumerate(["effects", "table", "over time"]):
            tabs.set_title(i, title)
        self.widget = W.VBox(
            [
                W.HTML(str(_html.el("b", f"Experiment {exp.name}"))),
                controls,
                self.banner,
                tabs,
                self.code_view,
                W.HBox([self.winner, self.declare_button, self.stop_button, self._confirm_box]),
                W.HBox([self.report_path_text, self.export_button]),
                self.status,
            ],
            layout=W.Layout(border="1px solid #ddd", padding="8px"),
        )
        self.refresh()

    # -- analysis ----------------------------------------------------------------------------------
    def options(self) -> AnalysisOptions:
        """The :class:`~promptab_nb.options.AnalysisOptions` of the current controls."""
        return AnalysisOptions(
            metrics=list(self.metrics.value) or None,
            unit=self.unit.value,
            method=self.method.value,
            alpha=self.alpha.value,
            cuped=bool(self.cuped.value),
            winsorize=_WINSOR[self.winsorize.value],
            correction=None if self.correction.value == "none" else self.correction.value,
        )

    def to_code(self) -> str:
        """The ``exp.analyze(...)`` call behind the view."""
        return self.options().to_code("res = exp.analyze", exp=self.exp)

    @property
    def code(self) -> str:
        return self.to_code()

    def refresh(self) -> ExperimentResult | None:
        """Re-run ``exp.analyze(...)`` with the current controls and redraw.

        A library error (no exposures, bad option) is shown in the status line; the previous
        result stays on screen.
        """
        from . import plots

        self.code_view.value = _code_box(self.to_code())
        metrics = list(self.metrics.value)
        if not metrics:
            _status(self.status, "choose at least one metric", "error")
            return None
        try:
            res = self.exp.analyze(options=self.options())
        except PromptabError as err:
            _status(self.status, _message(err), "error")
            return None
        self.result = res
        fig = plots.forest(res)
        self.plot.value = plots.to_png(fig)
        self.table.value = res._repr_html_()
        self._banner(res)
        self.time_metric.options = metrics
        if self.time_metric.value not in metrics:
            self.time_metric.value = metrics[0]
        self._show_over_time()
        _status(self.status, f"analysed {self.exp.name!r} ({self.exp.status})", "neutral")
        return res

    def _banner(self, res: ExperimentResult) -> None:
        h = res.health
        warn = not h.ok or self.exp.is_expired
        lines = list(h.lines())
        if self.exp.is_expired and not any("expired" in x or "ends_at" in x for x in lines):
            lines.append(f"⚠ ends_at {self.exp.ends_at:%Y-%m-%d} has passed")
        style = (
            "background:#fff4e5;border-left:4px solid #e69f00;padding:4px 8px;font-size:12px"
            if warn
            else "background:#eef7ee;border-left:4px solid #009e73;padding:4px 8px;font-size:12px"
        )
        self.banner.value = str(
            _html.el(
                "div",
                _html.el("b", "health: " + ("check" if warn else "ok")),
                *[_html.el("div", x) for x in lines],
                style=style,
                class_="pab-health",
            )
        )

    def _show_over_time(self) -> None:
        from . import plots

        metric = self.time_metric.value
        if not metric:
            return
        key = (metric, float(self.alpha.value))
        if key not in self._over_time:
            try:
                self._over_time[key] = self.exp.analyze_over_time(metric, alpha=self.alpha.value)
            except PromptabError as err:
                _status(self.status, _message(err), "error")
                return
        if key != self._shown_time:
            self.time_plot.value = plots.to_png(plots.cumulative(self._over_time[key]))
            self._shown_time = key

    def _options_changed(self, _change: Any = None) -> None:
        self.refresh()

    # -- lifecycle with confirmation ---------------------------------------------------------------
    def _ask(self, question: str, action: Callable[[], None]) -> None:
        self._pending = action
        self._confirm_box.layout.display = "flex"
        _status(self.status, question + " Click Confirm or Cancel.", "warn")

    def _cancel(self) -> None:
        self._pending = None
        self._confirm_box.layout.display = "none"
        _status(self.status, "cancelled; nothing changed", "neutral")

    def _confirm(self) -> None:
        action, self._pending = self._pending, None
        self._confirm_box.layout.display = "none"
        if action is not None:
            action()

    def _declare(self) -> None:
        try:
            self.exp = self.exp.declare_winner(self.winner.value)
        except PromptabError as err:
            _status(self.status, _message(err), "error")
            return
        _status(self.status, f"{self.exp.name!r} concluded; winner {self.exp.winner!r} "
                f"(exp.declare_winner({_py(self.exp.winner)}))", "ok")  # fmt: skip

    def _stop(self) -> None:
        try:
            self.exp = self.exp.stop()
        except PromptabError as err:
            _status(self.status, _message(err), "error")
            return
        _status(self.status, f"{self.exp.name!r} stopped (exp.stop())", "ok")

    def export(self) -> Path | None:
        """Write the HTML report of the current result (``pab.report.write(res, path)``)."""
        if self.result is None:
            _status(self.status, "no result to export yet", "error")
            return None
        try:
            from . import report
        except ImportError as err:  # pragma: no cover - report module missing
            _status(self.status, f"report module unavailable: {err}", "error")
            return None
        try:
            path = report.write(self.result, self.report_path_text.value, ws=self.exp.ws)
        except PromptabError as err:
            _status(self.status, _message(err), "error")
            return None
        self.report_path = Path(path)
        _status(self.status, f"report written: {Path(path).resolve()}", "ok")
        return self.report_path

    def __repr__(self) -> str:
        return (
            f"ResultsDashboard({self.exp.name!r}, status={self.exp.status}, "
            f"metrics={list(self.metrics.value)}, {self.to_code()})"
        )


# ---------------------------------------------------------------------------------------------
_FILTERS = ("all", "regressed", "improved", "errors")


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

    def __init__(self, run: Any, *, baseline: str | None = None) -> None:
        self.run = run
        labels = list(run.labels)
        self.baseline = W.Dropdown(
            options=labels, value=baseline or labels[0], description="baseline", style=_LABEL
        )
        others = [x for x in labels if x != self.baseline.value]
        self.version = W.Dropdown(
            options=others, value=others[0] if others else None, description="version", style=_LABEL
        )
        self.filter = W.ToggleButtons(
            options=list(_FILTERS), value="all", description="show", style=_LABEL
        )
        self.items = W.Select(options=[], rows=10, layout=W.Layout(width="260px"))
        self.prev_button = W.Button(description="◀", layout=W.Layout(width="40px"))
        self.next_button = W.Button(description="▶", layout=W.Layout(width="40px"))
        self.detail = W.HTML()
        self.summary = W.HTML()
        self.status = W.HTML()
        self.comparison: Any = None
        self._frame = run.side_by_side()
        errors = run.errors()
        self._error_items = set(errors["item_id"].astype(str)) if len(errors) else set()
        self.baseline.observe(self._baseline_changed, names="value")
        self.version.observe(lambda _c: self._filter_items(), names="value")
        self.filter.observe(lambda _c: self._filter_items(), names="value")
        self.items.observe(lambda _c: self._show_item(), names="value")
        self.prev_button.on_click(lambda _b: self._step(-1))
        self.next_button.on_click(lambda _b: self._step(1))
        self.widget = W.VBox(
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
            ],
            layout=W.Layout(border="1px solid #ddd", padding="8px"),
        )
        self._compare()
        self._filter_items()

    @property
    def code(self) -> str:
        """The calls behind the view."""
        return f"cmp = run.compare(baseline={_py(self.baseline.value)})\nitems = run.side_by_side()"

    def _compare(self) -> None:
        try:
            self.comparison = self.run.compare(baseline=self.baseline.value)
        except PromptabError as err:
            _status(self.status, _message(err), "error")
            self.summary.value = ""
            return
        self.summary.value = self.comparison._repr_html_()

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
        if mode == "errors":
            keep = ids.isin(self._error_items)
        elif mode in ("regressed", "improved") and base_col and ver_col:
            # Direction of the first scorer's per-item mean (higher score is better).
            delta = df[ver_col].astype(float) - df[base_col].astype(float)
            keep = delta < 0 if mode == "regressed" else delta > 0
        else:
            keep = ids == ids
        chosen = list(ids[keep.to_numpy()])
        self.items.options = chosen
        if chosen:
            self.items.value = chosen[0]
            _status(self.status, f"{len(chosen)} of {len(ids)} items ({mode})", "neutral")
        else:
            self.detail.value = ""
            _status(self.status, f"no items are {mode}", "neutral")

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
        cell = "border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left"
        head = [_html.el("th", "", style=cell)] + [
            _html.el("th", lab, style=cell) for lab in labels
        ]
        body = [
            _html.el(
                "tr",
                _html.el("th", "output", style=cell),
                *[
                    _html.el(
                        "td",
                        _html.el(
                            "pre",
                            ""
                            if _missing(row.get(f"{lab} output"))
                            else str(row.get(f"{lab} output")),
                            style="white-space:pre-wrap;margin:0;font-size:12px",
                        ),
                        style=cell,
                    )
                    for lab in labels
                ],
            )
        ]
        for scorer in self.run.scorers:
            body.append(
                _html.el(
                    "tr",
                    _html.el("th", scorer, style=cell),
                    *[
                        _html.el("td", _fmt_score(row.get(f"{lab} {scorer}")), style=cell)
                        for lab in labels
                    ],
                )
            )
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
        return f"OfflineViewer(run={self.run.run_id!r}, baseline={self.baseline.value!r}, items={len(self.items.options)})"


def _natural(text: str) -> list[Any]:
    """Sort key putting v2 before v10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _fmt_score(x: Any) -> str:
    return "–" if _missing(x) else f"{float(x):.2f}"


def _short(x: Any, width: int = 300) -> str:
    s = "" if _missing(x) else str(x)
    return s if len(s) <= width else s[: width - 1] + "…"


__all__ = ["ExperimentBuilder", "OfflineViewer", "ResultsDashboard"]
