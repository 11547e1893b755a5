"""The :class:`ExperimentBuilder` widget: set up a live experiment and see how long it needs."""

from __future__ import annotations

import datetime as dt
import inspect
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from .. import _html
from .._experiment_registry import check_split, create_experiment
from .._format import num
from ..errors import InvalidArgumentError, PromptabError
from ..metrics import BUILTIN, DEFAULT
from ..options import UNITS, AnalysisOptions
from ._common import LABEL, FormStatus, _rebalance, _Widget, code_box, frame, message, py

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..queries import DailyUnits, MetricBaseline
    from ..workspace import Workspace

# The unit ws.create_experiment uses when none is given: the code shows a unit only if it differs.
_DEFAULT_UNIT: str = inspect.signature(create_experiment).parameters["unit"].default
_TRAFFIC = {"exposures": "exposures of flag {key!r}", "generations": "users calling prompt {key!r}"}


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
        self._baselines: dict[tuple[str, str, str], MetricBaseline | None] = {}
        prompts = ws.prompt_names()
        first = prompts[0] if prompts else ""
        self.name = W.Text(
            value=name or (f"{first}-experiment" if first else ""),
            description="name",
            placeholder="e.g. support-bot-v2",
            style=LABEL,
        )
        self.prompt = W.Combobox(
            value=first,
            options=prompts,
            description="prompt",
            placeholder="prompt name ($ai_prompt_name)",
            ensure_option=False,
            style=LABEL,
        )
        self.n_variants = W.BoundedIntText(
            value=2, min=2, max=10, description="variants", style=LABEL
        )
        self.flag_key = W.Text(
            value=self._likely_flag(first),
            description="flag key",
            placeholder="PostHog flag (default: name)",
            style=LABEL,
        )
        self.unit = W.Dropdown(
            options=list(UNITS), value=_DEFAULT_UNIT, description="unit", style=LABEL
        )
        self.ends_at = W.DatePicker(description="ends at", style=LABEL)
        self.alpha = W.BoundedFloatText(
            value=AnalysisOptions().alpha, min=0.001, max=0.5, step=0.01, description="alpha",
            style=LABEL,
        )  # fmt: skip
        self.mde = W.BoundedFloatText(
            value=5.0, min=0.1, max=500, step=1, description="effect (%)", style=LABEL,
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
        self._status = FormStatus(self.status)  # (cleared or marked by any edit)
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
        self.widget = frame(
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
            ]
        )
        self._changed()

    # -- data the workspace has seen (ws query methods) ---------------------------------------
    def _likely_flag(self, prompt: str) -> str:
        """The flag most of the prompt's users were exposed to (empty when none)."""
        flags = self.ws.flags_for_prompt(prompt) if prompt else []
        return flags[0] if flags else ""

    def _version_names(self, prompt: str) -> list[str]:
        return self.ws.prompt_versions(prompt) if prompt else []

    # -- variant rows ----------------------------------------------------------------------------
    def _build_variant_rows(self, k: int) -> None:
        options = self._version_names(self.prompt.value)
        old_keys = [w.value for w in self.keys]
        old_versions = [w.value for w in self.versions]
        self.keys, self.versions, self.splits = [], [], []
        # ws.create_experiment's default, PostHog's "distribute equally" (33/33/34: the rest on
        # the last variant); 34/33/33 made the SRM test expect shares the flag never serves
        shares = [round(x) for x in check_split(None, [str(i) for i in range(k)]).values()]
        rows = []
        for i in range(k):
            default_key = "control" if i == 0 else ("test" if k == 2 else f"test_{i}")
            key = W.Text(
                value=old_keys[i] if i < len(old_keys) else default_key,
                layout=W.Layout(width="120px"),
            )
            if i < len(old_versions):
                version = old_versions[i]
            else:
                version = options[i] if i < len(options) else ""
            ver = W.Combobox(
                value=version,
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

    def _prompt_changed(self, change: dict[str, Any]) -> None:
        # The flag (and name) filled for the old prompt follow the new one; a typed one stays.
        old, new = str(change.get("old") or ""), str(change.get("new") or "")
        if self.flag_key.value.strip() == self._likely_flag(old):
            self.flag_key.value = self._likely_flag(new)
        if old and self.name.value.strip() == f"{old}-experiment":
            self.name.value = f"{new}-experiment" if new else ""
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
        """The ticked metric names."""
        return [m for m, cb in self.metric_boxes.items() if cb.value]

    def _kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"split": self.split}
        if self.flag_key.value.strip():
            kw["flag_key"] = self.flag_key.value.strip()
        if tuple(self.metrics) != DEFAULT:  # (none ticked: create refuses an empty list)
            kw["metrics"] = self.metrics
        if self.unit.value != _DEFAULT_UNIT:
            kw["unit"] = self.unit.value
        if self.ends_at.value is not None:
            kw["ends_at"] = self.ends_at.value.isoformat()
        return kw

    def to_code(self) -> str:
        """The ``ws.create_experiment(...)`` call that Create makes."""
        pairs = self._pairs()
        unique = len({k for k, _ in pairs}) == len(pairs)
        args = [
            py(self.name.value.strip()),
            py(self.prompt.value.strip() or None),
            py(dict(pairs)) if unique else py(pairs),
        ]
        args += [f"{k}={py(v)}" for k, v in self._kwargs().items()]
        return f"exp = ws.create_experiment({', '.join(args)})"

    @property
    def code(self) -> str:
        """Same as :meth:`to_code`."""
        return self.to_code()

    # -- estimate (ws.baseline_estimates + ws.daily_exposed_units → stats.power.plan) ------------
    def _baseline(self, metric: str, prompt: str, version: str) -> MetricBaseline | None:
        key = (metric, prompt, version)
        if key not in self._baselines:
            self._baselines[key] = self.ws.baseline_estimates(prompt, version, [metric]).get(metric)
        return self._baselines[key]

    def _traffic(self) -> DailyUnits | None:
        return self.ws.daily_exposed_units(
            flag_key=self.flag_key.value.strip() or self.name.value.strip(),
            prompt_name=self.prompt.value.strip(),
        )

    def _update_estimate(self) -> None:
        from ..stats.power import plan

        metrics = self.metrics
        if not metrics:
            self.estimate.value = "<i>choose a metric for the estimate</i>"
            return
        metric = metrics[0]
        control = self.versions[0].value.strip() if self.versions else ""
        try:
            base = self._baseline(metric, self.prompt.value.strip(), control)
            traffic = self._traffic()
        except PromptabError as err:
            self.estimate.value = str(_html.el("i", f"no estimate: {err}"))
            return
        if base is None or traffic is None:
            self.estimate.value = str(
                _html.el("i", "no estimate yet: load data for this prompt to see the traffic")
            )
            return
        # The control against its smallest treatment, the comparison that needs the most units,
        # at the Bonferroni alpha of all treatments; scaled to the traffic of every arm. (One
        # split for every treatment made [15, 15, 70] plan a control of 70 %.)
        shares = self.split
        control_share, smallest = shares[0], min(shares[1:])
        if control_share <= 0 or smallest <= 0:
            self.estimate.value = str(
                _html.el("i", "no estimate: every arm needs a share of traffic above 0 %")
            )
            return
        pair = (control_share + smallest) / 100
        try:
            p = plan(
                base.value, mde=self.mde.value / 100, daily_units=traffic.per_day * pair,
                sd=base.sd, relative=True, split=smallest / 100 / pair,
                alpha=self.alpha.value / (len(shares) - 1),
            )  # fmt: skip
        except PromptabError as err:
            self.estimate.value = str(_html.el("i", f"no estimate: {err}"))
            return
        n_total = math.ceil(p.n_total / pair)
        source = _TRAFFIC[traffic.source].format(key=traffic.key)
        text = (
            f"{metric}: to detect {num(self.mde.value / 100, '%', signed=True)} needs "
            f"{n_total:,} units (~{p.days} days at {traffic.per_day:,.0f}/day from {source}; "
            f"baseline {num(base.value, BUILTIN[metric].unit)} over {base.n:,} {base.per}s "
            f"of {control!r})"
        )
        tone = "neutral"
        end = self.ends_at.value
        if end is not None:
            days_left = (end - dt.date.today()).days
            if days_left < p.days:
                text += f" — ends at leaves only {days_left} days"
                tone = "warn"
        colour = "#8a5a00" if tone == "warn" else "#333"
        self.estimate.value = str(
            _html.el("span", text, style=f"font-size:12px;color:{colour}", class_="pab-estimate")
        )

    def _changed(self, _change: Any = None) -> None:
        if self._syncing:
            return
        self._status.edited()
        self.code_view.value = code_box(self.to_code())
        self._update_estimate()

    # -- action ------------------------------------------------------------------------------------
    def _check_versions(self) -> None:
        """A variant row left without a prompt version would make an arm no generation
        matches (the library takes any string): refuse it, naming the rows and the versions."""
        blank = [k or f"row {i + 1}" for i, (k, v) in enumerate(self._pairs()) if not v]
        if not blank:
            return
        seen = self._version_names(self.prompt.value.strip())
        choose = f"choose one of {', '.join(seen)}" if seen else "type the version"
        raise InvalidArgumentError(
            f"variant(s) {', '.join(blank)} have no prompt version; {choose} in the version "
            "box, or lower the number of variants"
        )

    def create(self) -> Experiment | None:
        """Call ``ws.create_experiment(...)`` with the chosen values (the Create button).

        A library error (invalid split, a running experiment on the prompt, …) is shown in the
        status line and nothing is created.
        """
        name = self.name.value.strip()
        prompt = self.prompt.value.strip() or None
        try:
            self._check_versions()
            exp = self.ws.create_experiment(name, prompt, self._pairs(), **self._kwargs())
        except PromptabError as err:
            self._status.show(message(err), "error")
            return None
        self.experiment = exp
        self._status.show(f"created {exp!r}", "ok")
        return exp

    def __repr__(self) -> str:
        return (
            f"ExperimentBuilder(name={self.name.value!r}, prompt={self.prompt.value!r}, "
            f"variants={self.variants}, split={self.split})"
        )


__all__ = ["ExperimentBuilder"]
