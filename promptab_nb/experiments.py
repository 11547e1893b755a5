"""Experiment records and their lifecycle: running → concluded (with a winner) or stopped.

The record (:class:`Experiment`) is in this module; creating, finding and listing them in a
workspace is in :mod:`promptab_nb._experiment_registry`.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from . import _html
from .errors import (
    ExperimentStateError,
    InvalidArgumentError,
)
from .options import (
    Alternative,
    AltPairs,
    AnalysisOptions,
    Correction,
    CostSource,
    Method,
    Multiple,
    Unit,
)

if TYPE_CHECKING:
    import pandas as pd

    from .decision import DesignChange, ExperimentDesign
    from .metrics import Metric
    from .planning import DataPlan
    from .results import ExperimentResult, MannWhitneyResult, OverTimeResult
    from .stats.bayes import GaussianPrior
    from .stats.pairs import AllPairs
    from .workspace import Workspace

Status = Literal["running", "concluded", "stopped"]
AssignedBy = Literal["flag", "version", "arm"]
ASSIGNED_BY: tuple[AssignedBy, ...] = ("flag", "version", "arm")
#: How each assignment source reads, for health, methods, report and CLI.
SOURCE_TEXT: dict[str, str] = {
    "flag": "PostHog $feature_flag_called exposures of flag {flag!r}",
    "version": "the prompt version of each generation",
    "arm": "the arm recorded on each generation",
}
_DEFAULTS = AnalysisOptions()
MAX_VARIANTS = 10
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _known_keywords(
    method: Callable[Concatenate[Experiment, _P], _R],
) -> Callable[Concatenate[Experiment, _P], _R]:
    """``method`` raising :class:`InvalidArgumentError` for a keyword it does not take, naming
    it with the closest one it does (Python's TypeError said only "unexpected keyword"), and
    :class:`NotFoundError` when the experiment was deleted (:meth:`Experiment._stored`)."""
    names = [p for p in inspect.signature(method).parameters if p != "self"]

    @functools.wraps(method)
    def checked(self: Experiment, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            from ._checks import did_you_mean

            raise InvalidArgumentError(
                f"Experiment.{method.__name__}() has no argument {unknown[0]!r}"
                f"{did_you_mean(unknown[0], names)} (its arguments: {', '.join(names)})"
            )
        self._stored()
        return method(self, *args, **kwargs)

    return checked


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_distinct_arms(name: str, variants: Mapping[str, str], assigned_by: str) -> None:
    """Raise :class:`InvalidArgumentError` when, assigned by version or arm, two variants name
    the same version (or arm): a unit's version is its arm, so their units could not be told
    apart (every unit went to the first, the other read n = 0)."""
    if assigned_by == "flag":
        return
    what = "arm" if assigned_by == "arm" else "prompt version"
    seen: dict[str, str] = {}
    for key, value in variants.items():
        if value in seen:
            raise InvalidArgumentError(
                f"variants {seen[value]!r} and {key!r} of experiment {name!r} are both "
                f"{what} {value!r}; assigned by {assigned_by}, a unit's {what} is its "
                f"arm, so one {what} cannot be two arms. Give each variant its own {what}, "
                "or assign by a flag (flag_key=...) for an A/A test of one version"
            )
        seen[value] = key


@dataclass(frozen=True)
class Experiment:
    """A prompt experiment stored in a workspace.

    ``variants`` maps variant key → prompt version (the first is the control) and ``split`` the
    variant key → percent of traffic. Status changes go through :meth:`declare_winner` and
    :meth:`stop`, which persist the change and update this object (the one a notebook holds),
    so ``exp.status`` is always the stored status after them; they also return it.
    :meth:`rename` does the same for ``name``; once ``ws.delete_experiment`` removed the record,
    every method raises :class:`NotFoundError`.

    Examples
    --------
    >>> import promptab_nb as pab
    >>> ws = pab.Workspace()
    >>> exp = ws.create_experiment("bot-v2", "bot", {"control": "v1", "test": "v2"})
    >>> _ = exp.declare_winner("test")
    >>> exp.status, exp.winner
    ('concluded', 'test')
    """

    ws: Workspace
    id: int
    name: str
    prompt_name: str | None
    flag_key: str | None
    variants: dict[str, str]
    split: dict[str, float]
    unit: Unit
    metrics: tuple[str, ...] | None
    rollout: float
    status: Status
    created_at: dt.datetime
    ends_at: dt.datetime | None
    concluded_at: dt.datetime | None
    winner: str | None
    assigned_by: AssignedBy = "flag"
    #: Goal, guardrails and MDE (:class:`~promptab_nb.decision.ExperimentDesign`), if declared.
    design: ExperimentDesign | None = None

    @property
    def control(self) -> str:
        """Key of the control variant (the first)."""
        return next(iter(self.variants))

    @property
    def treatments(self) -> list[str]:
        """Keys of the non-control variants."""
        return list(self.variants)[1:]

    @property
    def is_expired(self) -> bool:
        """True when ``ends_at`` has passed and the experiment is still running."""
        return self.status == "running" and self.ends_at is not None and self.ends_at < now()

    # -- lifecycle ------------------------------------------------------------------------
    def _stored(self) -> Status:
        """The stored status; :class:`NotFoundError` when ``ws.delete_experiment`` removed the
        record (this object outlives it, and its id is never given to another experiment)."""
        rows = self.ws.engine.fetch("SELECT status FROM experiments WHERE id = ?", [self.id])
        if not rows:
            from ._experiment_registry import deleted

            raise deleted(self.ws, self.id, self.name)
        return rows[0][0]

    def _transition(self, status: Status, winner: str | None = None) -> Experiment:
        current = self._stored()
        if current != "running":
            raise ExperimentStateError(
                f"experiment {self.name!r} is {current}; only a running experiment can be "
                f"{'concluded' if status == 'concluded' else 'stopped'}"
            )
        at = now()
        with self.ws.transaction() as con:
            con.execute(
                "UPDATE experiments SET status = $s, winner = $w, concluded_at = $at WHERE id = $id",
                {"s": status, "w": winner, "at": at, "id": self.id},
            )
        # The record a notebook holds is the experiment: keep it true after a status change.
        for name, value in (("status", status), ("winner", winner), ("concluded_at", at)):
            object.__setattr__(self, name, value)
        return self

    def declare_winner(self, variant: str) -> Experiment:
        """Conclude the experiment with ``variant`` as the winner.

        Returns
        -------
        Experiment
            This object, now ``concluded`` with ``winner`` and ``concluded_at`` (UTC) set.

        Raises
        ------
        InvalidArgumentError
            ``variant`` is not one of the experiment's variant keys.
        ExperimentStateError
            The experiment is not running.
        """
        if not isinstance(variant, str) or variant not in self.variants:
            from ._checks import did_you_mean

            raise InvalidArgumentError(
                f"winner {variant!r} is not a variant of {self.name!r}; "
                f"choose one of {list(self.variants)}{did_you_mean(str(variant), self.variants)}"
            )
        return self._transition("concluded", winner=variant)

    def stop(self) -> Experiment:
        """Stop the experiment without a winner; returns this object, now ``stopped``."""
        return self._transition("stopped")

    def rename(self, new_name: str) -> Experiment:
        """Rename the experiment; the change is logged with its time (:meth:`design_changes`,
        shown in the report). The flag key stays: the PostHog flag keeps its key.

        ``new_name`` is checked as :meth:`Workspace.create_experiment` checks a name: non-empty,
        no surrounding spaces, and no other experiment's name, even in another case or Unicode
        form. Renaming to the current name does nothing. Any status can be renamed.

        Returns
        -------
        Experiment
            This object, with the new ``name``.

        Raises
        ------
        InvalidArgumentError
            ``new_name`` is not a valid name, or another experiment has it.
        NotFoundError
            The experiment was deleted (``ws.delete_experiment``).
        """
        from ._experiment_registry import rename_experiment

        return rename_experiment(self, new_name)

    def set_design(self, **changes: Any) -> ExperimentDesign:
        """Change the decision design (``goal``, ``guardrails``, ``mde``, ``power``); each
        changed part is logged with its time (:meth:`design_changes`, shown in the report).
        See :class:`~promptab_nb.decision.ExperimentDesign` for the forms of margins."""
        from .decision import set_design

        self._stored()
        return set_design(self, **changes)

    def design_changes(self) -> list[DesignChange]:
        """Changes made after creation (design parts and renames, ``field == "name"``),
        oldest first."""
        from .decision import design_changes

        self._stored()
        return design_changes(self)

    def refresh(self) -> Experiment:
        """Re-read the record from the workspace (changes made by another process or object)
        into this object; returns it."""
        from ._experiment_registry import get_experiment

        self._stored()
        fresh = get_experiment(self.ws, self.id)
        for f in fields(self):
            object.__setattr__(self, f.name, getattr(fresh, f.name))
        return self

    # -- analysis -------------------------------------------------------------------------
    @_known_keywords
    def analyze(
        self,
        metrics: Sequence[str | Metric] | str | Metric | None = None,
        *,
        unit: Unit | None = _DEFAULTS.unit,
        method: Method = _DEFAULTS.method,
        alpha: float = _DEFAULTS.alpha,
        relative: bool = _DEFAULTS.relative,
        cuped: bool | float | None = _DEFAULTS.cuped,
        winsorize: tuple[float, float] | None = _DEFAULTS.winsorize,
        correction: Correction | None = _DEFAULTS.correction,
        sequential: bool = _DEFAULTS.sequential,
        multiple: Multiple = _DEFAULTS.multiple,
        start: dt.datetime | dt.date | str | None = _DEFAULTS.start,
        end: dt.datetime | dt.date | str | None = _DEFAULTS.end,
        prior: GaussianPrior | None = _DEFAULTS.prior,
        by: str | None = _DEFAULTS.by,
        cost: CostSource = _DEFAULTS.cost,
        alternative: Alternative | Mapping[str, Alternative] | AltPairs | None = (
            _DEFAULTS.alternative
        ),
        options: AnalysisOptions | None = None,
    ) -> ExperimentResult:
        """Compare every treatment with the control on each metric.

        The per-unit rows are kept in the workspace (the last few queries), so analysing again
        with other options, or after reopening a file workspace, skips the heavy query.

        Parameters
        ----------
        metrics
            Names of built-in metrics (``cost``, ``latency``, ``error_rate``, ``pass_rate``,
            ``latency_p95``, ``tokens_out``, ``tokens_in``, ``requests``) or :class:`Metric`
            objects; default the experiment's metrics, else cost, latency, error_rate and
            pass_rate.
        unit
            ``"user"`` (default: the experiment's unit): per-user values, Welch for means and
            the delta method for rates; ``"request"``: each generation/evaluation is a unit,
            Welch for means and Fisher's exact test for rates.
        method
            ``"frequentist"`` or ``"bayesian"`` (adds chance to win and expected loss).
        alpha
            Two-sided significance level; intervals are ``1 − alpha``.
        relative
            Also report the relative difference (treatment / control − 1, delta method).
        cuped
            ``True`` (14 days) or a number of days before exposure used as the covariate.
        winsorize
            ``(lower_pct, upper_pct)`` percentiles pooled over all arms, of per-unit values.
        correction
            ``"holm"`` or ``"bh"`` across all metric × treatment comparisons.
        sequential
            Always-valid p-values and confidence sequences (safe to peek).
        multiple
            ``"exclude"`` units exposed to two variants, or keep their ``"first_seen"`` one.
        start, end
            Only exposures and events in ``[start, end)`` (UTC).
        prior
            Gaussian prior on the effect for ``method="bayesian"`` (default flat).
        by
            Segment by a generations or exposures column (``"model"``) or a kept PostHog
            property (``"properties.$geoip_country_code"``); ``res.segments`` holds the
            per-segment rows (BH-adjusted p-values, low-power flags) and Cochran's Q.
        cost
            ``"source"`` (the exported cost; unpriced generations are counted, never free) or
            ``"recompute"`` (from provider, model and tokens with ``genai-prices``).
        alternative
            One-sided tests: ``"less"`` (H1: treatment − control < 0) or ``"greater"`` for every
            metric, or per metric, e.g. ``{"cost": "less"}``; default two-sided.
        options
            An :class:`~promptab_nb.options.AnalysisOptions` to start from; the other keyword
            arguments that differ from their defaults override it.

        Returns
        -------
        ExperimentResult
            One row per (metric, variant) plus health checks; ``res.options`` holds the
            options used (``res.options.to_code()`` reproduces the call).

        Raises
        ------
        NotFoundError
            The experiment's flag has no exposures in the workspace.
        InvalidArgumentError
            An unknown metric or an option out of range.
        """
        from .analysis import run
        from .options import options_of

        opts = options_of(
            options,
            metrics=metrics,
            unit=unit,
            method=method,
            alpha=alpha,
            relative=relative,
            cuped=cuped,
            winsorize=winsorize,
            correction=correction,
            sequential=sequential,
            multiple=multiple,
            start=start,
            end=end,
            prior=prior,
            by=by,
            cost=cost,
            alternative=alternative,
        )
        return run(self, opts)

    @_known_keywords
    def mde(
        self,
        metrics: Sequence[str | Metric] | str | Metric | None = None,
        *,
        power: float = 0.8,
        alpha: float = _DEFAULTS.alpha,
        cuped: bool | float | None = _DEFAULTS.cuped,
        relative: bool = True,
    ) -> list[DataPlan]:
        """The minimum detectable effect of the units collected so far, per metric.

        Welch's t test with ``power`` at ``alpha`` (two-sided) over the units one comparison
        holds now (the control and its smallest treatment), the per-unit variance being the
        control arm's as its test uses it (delta method
        for ratios, CUPED-adjusted with ``cuped``, clustered for quantiles). See
        :func:`promptab_nb.plan` to size an experiment instead.

        Returns
        -------
        list of DataPlan
            ``mde`` in the metric's unit, ``mde_rel`` as a fraction of the control mean.
        """
        from .planning import experiment_plans

        return experiment_plans(
            self, metrics, cuped=cuped, power=power, alpha=alpha, relative=relative
        )

    @_known_keywords
    def compare_all(
        self,
        metric: str | Metric,
        *,
        correction: Correction = "holm",
        alpha: float = _DEFAULTS.alpha,
        cuped: bool | float | None = _DEFAULTS.cuped,
    ) -> AllPairs:
        """Every pair of arms on ``metric`` (for more than two arms), p-values corrected.

        Welch t tests on each arm's mean and the variance its test uses (delta method for
        ratios, CUPED-adjusted with θ pooled over all arms, clustered for quantiles),
        two-sided, p-values adjusted across pairs by ``correction`` (Holm by default). Arms
        with fewer units than the minimum sample (50) are left out and named in ``note``.
        ``exp.analyze(...).all_pairs(metric)`` gives the same pairs for the analysis's options.

        Returns
        -------
        AllPairs
            One :class:`~promptab_nb.stats.pairs.Pair` per pair of arms, in variant order;
            differences and CIs in the metric's unit (percentage points for rates).
        """
        from .analysis import compare_all

        return compare_all(self, metric, correction=correction, alpha=alpha, cuped=cuped)

    @_known_keywords
    def mann_whitney(
        self,
        metric: str | Metric,
        *,
        alternative: Alternative | Mapping[str, Alternative] | None = None,
        multiple: Multiple = _DEFAULTS.multiple,
        start: dt.datetime | dt.date | str | None = None,
        end: dt.datetime | dt.date | str | None = None,
        cost: CostSource = _DEFAULTS.cost,
    ) -> MannWhitneyResult:
        """Mann–Whitney U (Wilcoxon rank-sum) of each treatment against the control on the
        per-unit values of ``metric`` (those of :meth:`unit_values` that have a value).

        Missing is not zero: a user priced nowhere (every generation unpriced; its cost is NaN
        in :meth:`unit_values`) is left out, not ranked as $0, and the note counts the users
        left out per arm (``"users priced nowhere (control 2, test 0) are left out"``, after
        :meth:`analyze`'s unpriced share); a partly priced user ranks by the sum of its priced
        generations. The same holds for any per-user sum whose column a user lacks. Over the 5 %
        unpriced share that withholds :meth:`analyze`'s p-value, the test is withheld too
        (``None``, its note says why).

        A test of a shift in distribution, robust to the heavy tails of cost and latency (not a
        test of means). The workspace's engine computes each arm pair's rank sum and tie term
        (average ranks for ties) in SQL; no unit's value is read into Python. The p-value is the
        normal approximation with tie and continuity corrections, equal to
        ``scipy.stats.mannwhitneyu(treatment, control, method="asymptotic")``.

        Parameters
        ----------
        metric
            A built-in metric name or a :class:`Metric` (not a quantile: it has no per-unit
            value).
        alternative
            ``"two-sided"`` (default), ``"greater"`` (H1: the treatment's values tend to be
            larger) or ``"less"``; or a mapping metric → alternative as :meth:`analyze` takes,
            whose entry for ``metric`` applies (two-sided when it has none).
        multiple, start, end, cost
            As in :meth:`analyze` (``cost="recompute"`` ranks the cost an analysis with that
            option judged).

        Returns
        -------
        MannWhitneyResult
            Per treatment: U (pairs), the probability of superiority P(T > C) + ½ P(T = C)
            (a fraction; 0.5 = no difference), z and the p-value; ``res["test"]`` is one test,
            ``res.to_pandas()`` the table.

        Examples
        --------
        >>> exp.mann_whitney("cost", alternative="less")  # doctest: +SKIP
        """
        from .analysis import mann_whitney
        from .metrics import resolve
        from .options import options_of

        (m,) = resolve([metric])
        alt = options_of(None, alternative=alternative).alternative_for(m.name)
        return mann_whitney(
            self, m, alternative=alt, multiple=multiple, start=start, end=end, cost=cost
        )

    @_known_keywords
    def analyze_over_time(
        self,
        metric: str | Metric,
        *,
        freq: Literal["day", "hour", "week"] = "day",
        alpha: float = _DEFAULTS.alpha,
        relative: bool = _DEFAULTS.relative,
        multiple: Multiple = _DEFAULTS.multiple,
        cost: CostSource = _DEFAULTS.cost,
        start: dt.datetime | dt.date | str | None = None,
        end: dt.datetime | dt.date | str | None = None,
        unit: Unit | None = None,
    ) -> OverTimeResult:
        """Cumulative estimate per day; see :func:`promptab_nb.analysis.analyze_over_time`.
        ``multiple``, ``cost``, ``start`` and ``end`` as in :meth:`analyze`; ``unit``
        ``"user"`` or ``"request"`` (each event a unit, as ``analyze(unit=...)``); default: the
        experiment's unit, as :meth:`analyze`.

        Each record's ``note`` says why its p-value is withheld; ``missing_share`` (the larger
        share of the two arms' generations without a value by the period's end, e.g.
        unpriced; NaN where :meth:`analyze` does not count them) and ``missing_note`` (:meth:`analyze`'s words for it, ``"3.3% of an arm's
        generations are unpriced (no cost)"``; ``None`` at 0) say a share that keeps the
        p-value, as :meth:`analyze`'s note does. The table shows the share in an ``unpriced``
        (or ``missing``) column when any period has one."""
        from .analysis import analyze_over_time

        return analyze_over_time(
            self,
            metric,
            freq=freq,
            alpha=alpha,
            relative=relative,
            multiple=multiple,
            cost=cost,
            start=start,
            end=end,
            unit=unit,
        )

    @_known_keywords
    def units(
        self, variant: str | None = None, *, multiple: Multiple = _DEFAULTS.multiple
    ) -> pd.DataFrame:
        """Which unit was in which variant (``$multiple`` included), with first exposure time;
        ``variant`` keeps one variant's units (a key neither configured nor logged is an error,
        not an empty frame)."""
        from .analysis import assigned_units

        df = assigned_units(self, multiple=multiple)
        if variant is None:
            return df
        logged = set(df["variant"])
        if not isinstance(variant, str) or (variant not in self.variants and variant not in logged):
            from ._checks import did_you_mean

            raise InvalidArgumentError(
                f"variant {variant!r} is neither a variant of {self.name!r} nor logged for its "
                f"units (variants: {', '.join(map(repr, self.variants))}; logged: "
                f"{', '.join(map(repr, sorted(logged))) or 'none'})"
                f"{did_you_mean(str(variant), [*self.variants, *logged])}"
            )
        return df[df["variant"] == variant].reset_index(drop=True)

    @_known_keywords
    def unit_values(
        self,
        metric: str | Metric,
        *,
        multiple: Multiple = _DEFAULTS.multiple,
        start: dt.datetime | dt.date | str | None = None,
        end: dt.datetime | dt.date | str | None = None,
        cost: CostSource = _DEFAULTS.cost,
    ) -> pd.DataFrame:
        """Per-unit values of one metric: columns ``unit, variant, value, num, den`` (the
        units its test counts; a rate's unit without a denominator has ``value`` NaN, and so
        has a sum's unit whose every event lacks a value: a user whose every generation is
        unpriced has no cost, not $0); see
        :func:`promptab_nb.analysis.unit_values`. ``multiple``, ``start``, ``end`` and
        ``cost`` as in :meth:`analyze`."""
        from .analysis import unit_values

        return unit_values(self, metric, multiple=multiple, start=start, end=end, cost=cost)

    def cost_audit(self, *, tolerance: float = 0.01) -> pd.DataFrame:
        """Where the export's cost and the cost recomputed with genai-prices disagree, per
        (provider, model); see :func:`promptab_nb.pricing.cost_audit`."""
        from .pricing import cost_audit

        self._stored()
        return cost_audit(self, tolerance=tolerance)

    def audit(self, *, examples: int = 5, flag: Any = None) -> Any:
        """Re-hash logged exposures with the flag's configuration (``flag``: PostHog's own
        definition, ``Flag.from_posthog(...)``, when it lists the variants in another order);
        see :func:`assignment.audit`."""
        from .assignment import audit

        self._stored()
        return audit(self, examples=examples, flag=flag)

    @property
    def source_text(self) -> str:
        """Where each unit's arm comes from, in words (health, methods, report, CLI)."""
        return "arms from " + SOURCE_TEXT[self.assigned_by].format(flag=self.flag_key)

    # -- display --------------------------------------------------------------------------
    def _source_repr(self) -> str:
        return f"flag={self.flag_key!r}" if self.assigned_by == "flag" else f"by={self.assigned_by}"

    def _variants_text(self) -> str:
        """``control=v1 (50 %), test=v2 (50 %)``."""
        return ", ".join(f"{k}={v} ({self.split[k]:g} %)" for k, v in self.variants.items())

    def _row(self) -> dict[str, Any]:
        """The experiment as data (``to_pandas`` and ``promptab experiments list --json``)."""
        return {
            "id": self.id,
            "name": self.name,
            "prompt_name": self.prompt_name,
            "flag_key": self.flag_key,
            "variants": dict(self.variants),
            "split": dict(self.split),
            "rollout": self.rollout,
            "unit": self.unit,
            "metrics": list(self.metrics) if self.metrics is not None else None,
            "assigned_by": self.assigned_by,
            "status": self.status,
            "winner": self.winner,
            "created_at": self.created_at,
            "ends_at": self.ends_at,
            "concluded_at": self.concluded_at,
        }

    def __repr__(self) -> str:
        extra = f", winner={self.winner!r}" if self.winner else ""
        exp = " (expired)" if self.is_expired else ""
        # (a flag served to part of the ids: the audit and the impact projection use it)
        rollout = f", rollout {self.rollout:g} %" if self.rollout < 100 else ""
        return (
            f"Experiment({self.name!r}, prompt={self.prompt_name!r}, "
            f"{self._source_repr()}, {self._variants_text()}{rollout}, unit={self.unit}, "
            f"{self.status}{exp}{extra})"
        )

    def _repr_html_(self) -> str:
        r = {**self._row(), "variants": self._variants_text(), "rollout": f"{self.rollout:g} %"}
        del r["split"]  # (in the variants' text)
        if self.metrics is not None:
            r["metrics"] = ", ".join(self.metrics)
        rows = [[k, "" if v is None else str(v)] for k, v in r.items()]
        return _html.el(
            "div",
            _html.el("style", _html.Markup(_html.STYLE)),
            _html.table(["field", "value"], rows, caption=f"Experiment {self.name}"),
            class_="pab",
        )


def __getattr__(name: str) -> Any:
    # create/get/list live in the registry module; kept importable from here.
    from . import _experiment_registry as registry

    if name in registry.__all__:
        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MAX_VARIANTS", "Experiment", "Status"]
