"""The analysis of one experiment."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .._format import arm_label, is_missing, level_pct, md, num, pval
from .._render import Note, Rendered, Table
from ..options import CORRECTION_NAMES
from ._impact import TotalImpact
from ._rows import BAYES_COLUMNS, COLUMNS, SEQUENTIAL_SUFFIX, ArmRow, Health
from ._segments import SegmentResult

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    from matplotlib.figure import Figure

    from ..decision import Decision, ExperimentDesign
    from ..metrics import Metric
    from ..options import AnalysisOptions
    from ..stats.pairs import AllPairs


@dataclass(frozen=True, repr=False)
class ExperimentResult(Rendered):
    """The analysis of one experiment: rows per (metric, variant), health and methods.

    Renders (``_repr_html_``, ``print``) as its verdicts, the metric table of
    :meth:`table_header` / :meth:`table_rows`, the health check and the methods.
    """

    experiment: str
    prompt_name: str | None
    flag_key: str | None
    variants: dict[str, str]
    control: str
    metrics: tuple[Metric, ...]
    rows: tuple[ArmRow, ...]
    health: Health
    methods: tuple[str, ...]
    options: AnalysisOptions
    provenance: tuple[dict[str, Any], ...] = ()
    computed_at: dt.datetime | None = None
    #: The experiment's decision design (goal, guardrails, MDE) when it declared one.
    design: ExperimentDesign | None = None
    #: (day, variant, units first exposed that day), for the planned-sample progress and plot.
    daily: tuple[tuple[dt.date, str, int], ...] = ()
    #: Per-segment comparisons and heterogeneity (``exp.analyze(by=...)``), else ``None``.
    segments: SegmentResult | None = None
    #: Per metric, every pair of arms compared (:meth:`all_pairs`).
    pairs: tuple[AllPairs, ...] = ()
    #: Per sum-like per-user metric, each treatment's total impact (:meth:`total_impact`).
    impacts: tuple[TotalImpact, ...] = ()
    #: The experiment's id in its workspace (the report finds its record by it: the name can
    #: change after the analysis, and another experiment can take the old one).
    experiment_id: int | None = None

    @property
    def alpha(self) -> float:
        """Two-sided significance level of the tests."""
        return self.options.alpha

    @property
    def level(self) -> float:
        """Confidence level of the intervals (``1 − alpha``)."""
        return 1 - self.alpha

    def effect_interval(self, metric: str | None = None) -> str:
        """What the intervals of the effects (Δ, Δ %) of ``metric`` (default: every metric)
        are: ``"confidence sequence"`` when every treatment row's test is sequential
        (always valid, safe to peek), ``"CI"`` when none is (fixed horizon), else ``"CI or
        confidence sequence"`` (a quantile metric stays fixed-horizon under
        ``sequential=True``; its row's note says so)."""
        kinds = {
            _is_sequential(r)
            for r in self.rows
            if not r.is_control and (metric is None or r.metric == metric)
        }
        if kinds == {True}:
            return "confidence sequence"
        return "CI or confidence sequence" if True in kinds else "CI"

    def metric(self, name: str) -> Metric:
        """The analysed metric called ``name`` (``KeyError`` if it was not analysed)."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def _analysed(self, metric: str) -> None:
        from ..errors import InvalidArgumentError

        if metric not in {m.name for m in self.metrics}:
            raise InvalidArgumentError(
                f"metric {metric!r} is not among the analysed metrics "
                f"({', '.join(x.name for x in self.metrics)})"
            )

    def all_pairs(self, metric: str) -> AllPairs:
        """Every pair of arms on ``metric`` (for experiments with more than two arms).

        Welch t tests on each arm's mean and the per-unit variance its test uses (delta method
        for ratios, CUPED-adjusted, clustered for quantiles), two-sided and fixed-horizon,
        p-values adjusted across the pairs by the analysis's ``correction`` (Holm when it has
        none); differences in the metric's unit (percentage points for rates). Arms under the
        minimum sample are left out, as the main rows withhold their p-values. The same
        numbers as ``exp.compare_all(metric, correction=...)``.

        Raises
        ------
        InvalidArgumentError
            ``metric`` was not analysed.
        """
        self._analysed(metric)
        return next(p for p in self.pairs if p.metric == metric)

    def total_impact(self, metric: str, *, units: float | None = None) -> TotalImpact:
        """The total effect of shipping each treatment on a sum-like per-user metric (cost,
        tokens, requests): the difference per user and its CI times the users the change would
        reach over the analysed period.

        Parameters
        ----------
        metric
            An analysed metric summed per user (``cost``: USD per user).
        units
            The users to scale to (e.g. a month's active users); default every unit the
            experiment exposed (all arms) divided by the share of traffic it received (its
            rollout).

        Returns
        -------
        TotalImpact
            Per treatment: ``total`` and its CI in the metric's unit (USD), and the per-user
            effect it scales.

        Raises
        ------
        InvalidArgumentError
            ``metric`` was not analysed, or is not a per-user sum or count (a mean, rate or
            quantile has no total).
        """
        from ..errors import InvalidArgumentError

        self._analysed(metric)
        found = next((x for x in self.impacts if x.metric == metric), None)
        if found is None:
            m = self.metric(metric)
            raise InvalidArgumentError(
                f"metric {metric!r} ({m.agg} per {self.options.unit}) has no total impact: only "
                "a per-user sum or count (cost, tokens, requests) adds up over users"
            )
        return found if units is None else found.with_units(units)

    # -- conversion -----------------------------------------------------------------------
    def to_pandas(self, *, details: bool = False) -> pd.DataFrame:
        """One row per (metric, variant) with the columns of :data:`COLUMNS` (plus the
        Bayesian columns for ``method="bayesian"``; ``details=True`` adds everything)."""
        import pandas as pd

        cols = list(COLUMNS)
        if self.options.bayesian or details:
            cols += BAYES_COLUMNS
        if details:
            cols += ["note"]
        df = pd.DataFrame([asdict(r) for r in self.rows])
        if df.empty:
            return pd.DataFrame(columns=cols)
        df = df[cols]
        control = df["is_control"]
        for c in (
            "diff",
            "diff_ci_low",
            "diff_ci_high",
            "rel_diff",
            "rel_ci_low",
            "rel_ci_high",
            "p_value",
        ):
            df.loc[control, c] = float("nan")
        return df.reset_index(drop=True)

    def to_polars(self, *, details: bool = False) -> pl.DataFrame:
        """:meth:`to_pandas` as a polars DataFrame."""
        import polars as pl

        return pl.from_pandas(self.to_pandas(details=details))

    def _records(self) -> pd.DataFrame:
        return self.to_pandas()

    # -- words ----------------------------------------------------------------------------
    def verdicts(self) -> list[tuple[str, str]]:
        """One plain-language sentence per (metric, treatment), with a tone: good/bad/neutral."""
        out: list[tuple[str, str]] = []
        for r in self.rows:
            if r.is_control:
                continue
            m = self.metric(r.metric)
            out.append(_verdict(r, m, self.control, self.level, self.options))
        return out

    def row_notes(self) -> tuple[str, ...]:
        """``"<metric>, <variant>: <note>"`` for each treatment row that has a p-value and a
        note (an interval replaced, a caution on the test): a row without a p-value gives its
        note in its verdict sentence instead."""
        return tuple(
            f"{r.metric}, {r.variant}: {r.note}"
            for r in self.rows
            if r.note and not r.is_control and not is_missing(r.p_value)
        )

    def correction_note(self) -> str | None:
        """The line that says the table's p-values are adjusted and its intervals are not, when
        the analysis has a multiple-testing ``correction`` (``None`` without one)."""
        c = self.options.correction
        if not c:
            return None
        kind = "confidence sequences" if self.options.sequential else "CIs"
        text = (
            f"p-values are {CORRECTION_NAMES.get(c, c)}-adjusted across all metric × treatment "
            f"comparisons; intervals are unadjusted {level_pct(self.level)} {kind}, so one can "
            "exclude 0 beside a p-value that is not significant"
        )
        if self.options.bayesian:
            # (the verdicts and `significant` come from the posterior, which no correction
            # touches: "probably lowers" can stand beside an adjusted p that is not significant)
            text += (
                "; the Bayesian verdicts (chance to be better) are not adjusted, so one can "
                "stand beside an adjusted p-value that is not significant"
            )
        return text

    def to_markdown(self) -> str:
        """A Markdown summary for a pull-request comment."""
        lines = [f"### Experiment {md(self.experiment)}", ""]
        lines += [f"- {md(text)}" for text, _ in self.verdicts()]
        lines += [
            "",
            f"| metric | variant | n | mean (CI) | Δ relative ({self.effect_interval()}) | p |",
            "|---|---|---:|---|---|---:|",
        ]
        for r in self.rows:
            m = self.metric(r.metric)
            mean = _md_estimate(r.mean, r.mean_ci_low, r.mean_ci_high, m.unit, signed=False)
            rel = _md_estimate(r.rel_diff, r.rel_ci_low, r.rel_ci_high, "%", signed=True)
            lines.append(
                f"| {md(r.metric)} | {md(arm_label(r.variant, self.control))} | {r.n:,} | "
                f"{mean} | {'–' if r.is_control else rel}"
                + f" | {'–' if r.is_control else pval(r.p_value).removeprefix('p ').removeprefix('= ')} |"
            )
        if row_notes := self.row_notes():
            lines += ["", *(f"- {md(note)}" for note in row_notes)]
        if note := self.correction_note():
            lines += ["", md(note)]
        lines += ["", "**Health**: " + "; ".join(md(x) for x in self.health.lines())]
        return "\n".join(lines) + "\n"

    # -- the metric table ----------------------------------------------------------------
    def table_header(self) -> list[str]:
        """Column titles of the metric table, matching :meth:`table_rows` cell for cell.

        ``metric, variant, n, mean, <level> CI, Δ, Δ %, Δ % <level> CI, p-value`` (and
        ``chance to be better``, direction-aware). This table is the one the notebook view,
        the HTML report, the CLI and the dashboard show.
        """
        lvl = level_pct(self.level)
        head = [
            "metric",
            "variant",
            "n",
            "mean",
            f"{lvl} CI",
            "Δ",
            "Δ %",
            f"Δ % {lvl} {self.effect_interval()}",
            "p-value",
        ]
        head.append("chance to be better")
        return head

    def table_rows(self) -> list[list[str]]:
        """One row of formatted strings per (metric, variant), one cell per :meth:`table_header`
        column: numbers carry their unit (``$0.0132``, ``1.84 s``, ``+3.2 %``, ``p = 0.012``);
        differences are in percentage points for percentage metrics; the control's difference
        cells are empty.
        """
        out = []
        for r in self.rows:
            m = self.metric(r.metric)
            diff_unit = "pp" if m.unit == "%" else m.unit
            ctl = r.is_control
            row = [
                m.name,
                arm_label(r.variant, self.control),
                f"{r.n:,}",
                num(r.mean, m.unit),
                f"{num(r.mean_ci_low, m.unit)} to {num(r.mean_ci_high, m.unit)}",
                "" if ctl else num(r.diff, diff_unit, signed=True),
                "" if ctl else num(r.rel_diff, "%", signed=True),
                ""
                if ctl
                else f"{num(r.rel_ci_low, '%', signed=True)} to {num(r.rel_ci_high, '%', signed=True)}",
                "" if ctl else pval(r.p_value),
            ]
            row.append("" if ctl else num(r.chance_to_win, "%"))
            out.append(row)
        return out

    def _table(self) -> Table:
        health_css = "health" if self.health.ok else "health warn"
        return Table(
            self.table_header(),
            self.table_rows(),
            title=(
                f"Experiment {self.experiment} — control {self.control}, unit {self.options.unit}, "
                + (
                    f"{level_pct(self.level)} credible intervals in the verdicts"
                    if self.options.bayesian
                    else f"{level_pct(self.level)} CI"
                )
                + {
                    "CI": "",
                    "confidence sequence": f", {level_pct(self.level)} confidence sequences "
                    "for the effects",
                }.get(
                    self.effect_interval(),
                    f", {level_pct(self.level)} confidence sequences for the sequential effects",
                )
            ),
            before=[Note((text,), css=f"verdict {tone}") for text, tone in self.verdicts()],
            after=[
                *([Note(row_notes)] if (row_notes := self.row_notes()) else []),
                *([Note((note,))] if (note := self.correction_note()) else []),
                Note(tuple(self.health.lines()), css=health_css, title="Assignment health"),
                Note(("Methods: " + "; ".join(self.methods),)),
            ],
        )

    # -- display --------------------------------------------------------------------------
    def plot(self, **kwargs: Any) -> Figure:
        """Forest plot of the effects with their CIs (:func:`promptab_nb.plots.forest`)."""
        from ..plots import forest

        return forest(self, **kwargs)

    # -- decisions ------------------------------------------------------------------------
    def decision(self, **design: Any) -> Decision:
        """What to do: ship, dont_ship, keep_running or no_effect, with the reasons.

        Uses the experiment's design (``goal``, ``guardrails``, ``mde`` given to
        ``ws.create_experiment`` or ``exp.set_design``); keyword arguments of the same names
        replace parts of it for this call. Without a goal, the first metric is the goal and the
        others block only on a significant regression. See :mod:`promptab_nb.decision`.

        Examples
        --------
        >>> res.decision().action  # doctest: +SKIP
        'keep_running'
        >>> res.decision(goal="pass_rate", guardrails={"cost": "+5%"}).headline  # doctest: +SKIP
        'Ship test'
        """
        from ..decision import decision_of

        return decision_of(self, **design)

    def regressions(self, metric: str) -> list[ArmRow]:
        """Treatment rows significantly worse than the control on ``metric``, by the same tests
        as :meth:`decision` (what ``promptab analyze --fail-on-regression`` gates on).

        Direction-aware: an increase of a lower-is-better metric (cost, latency, error rate) or
        a decrease of a higher-is-better one (pass rate). A guardrail of the design with a
        margin regresses when it is significantly worse than its margin (one-sided); any other
        metric when it is significantly worse at all (two-sided p-value before any
        correction). Holm across treatment arms; the same frequentist (or, with
        ``sequential=True``, always-valid) tests whatever the method.

        Raises
        ------
        InvalidArgumentError
            ``metric`` was not analysed (the message lists the analysed metrics).
        """
        from ..errors import InvalidArgumentError

        try:
            self.metric(metric)
        except KeyError as err:
            raise InvalidArgumentError(
                f"metric {metric!r} is not among the analysed metrics "
                f"({', '.join(x.name for x in self.metrics)})"
            ) from err
        from ..decision import guardrail_checks

        d = self.design
        margin = d.guardrails.get(metric) if d is not None and metric != d.goal else None
        checks = guardrail_checks(self, {metric: margin})
        return [
            self._row(metric, variant)
            for variant, arm_checks in checks.items()
            if any(g.status == "fail" for g in arm_checks)
        ]

    def _row(self, metric: str, variant: str) -> ArmRow:
        return next(r for r in self.rows if r.metric == metric and r.variant == variant)


def _md_estimate(est: float, lo: float, hi: float, unit: str, *, signed: bool) -> str:
    """A Markdown cell ``est (lo – hi)``; without an interval only the estimate, so that a
    missing one is ``–``, not ``– (– – –)``."""
    text = num(est, unit, signed=signed)
    if is_missing(lo) and is_missing(hi):
        return text
    return f"{text} ({num(lo, unit, signed=signed)} – {num(hi, unit, signed=signed)})"


def _is_sequential(r: ArmRow) -> bool:
    """Whether the row's effect intervals are confidence sequences (its test is sequential)."""
    return r.test.endswith(SEQUENTIAL_SUFFIX)


def _excludes_zero(lo: float, hi: float) -> bool:
    """True when the interval ``lo`` to ``hi`` lies wholly on one side of 0."""
    return bool(lo > 0 or hi < 0)


def _verdict(
    r: ArmRow, m: Metric, control: str, level: float, options: AnalysisOptions
) -> tuple[str, str]:
    label = m.describe(options.unit or "user")
    lvl = level_pct(level, spaced=True)
    if is_missing(r.p_value):
        why = r.note or "no p-value"
        return f"{r.variant} vs {control} on {label}: no verdict ({why})", "neutral"
    # (under sequential the relative lift has no interval: the absolute sequence is shown)
    use_rel = options.relative and not is_missing(r.rel_diff) and not is_missing(r.rel_ci_low)
    if use_rel and _excludes_zero(r.rel_ci_low, r.rel_ci_high) != r.significant:
        # The relative interval is the delta method's, not the test's: it can exclude 0 beside
        # p = 0.080 (a confidence sequence of -74.5 % to -8.3 %, whose absolute one is -1.94 pp
        # to +0.07 pp). The sentence then shows the interval of the test behind the verdict.
        use_rel = _excludes_zero(r.diff_ci_low, r.diff_ci_high) != r.significant
    if use_rel:
        est, lo, hi, unit = r.rel_diff, r.rel_ci_low, r.rel_ci_high, "%"
    else:
        est, lo, hi, unit = (
            r.diff,
            r.diff_ci_low,
            r.diff_ci_high,
            ("pp" if m.unit == "%" else m.unit),
        )
    p = pval(r.p_value, options.alpha)
    bayes = options.bayesian and not is_missing(r.chance_to_win)
    if bayes:
        p = f"chance to be better {num(r.chance_to_win, '%')}"
        if not is_missing(r.cred_low):
            # the posterior: its mean and credible interval, relative when the analysis is
            # (as PostHog); with a prior both differ from the frequentist estimate
            lo, hi = r.cred_low, r.cred_high
            est = r.cred_mean if not is_missing(r.cred_mean) else est
            unit = "%" if options.relative else ("pp" if m.unit == "%" else m.unit)
        lvl = lvl + " credible interval"
    else:
        lvl = lvl + (" confidence sequence" if _is_sequential(r) else " CI")
    if r.significant:
        word = "lowers" if est < 0 else "raises"
        if bayes:
            word = "probably " + word
        a, b = (-hi, -lo) if est < 0 else (lo, hi)
        better = (est < 0) == (m.direction == "lower")
        text = (
            f"{r.variant} {word} {label} by {num(abs(est), unit)} "
            f"({lvl} {num(a, unit)} to {num(b, unit)}, {p})"
        )
        return text + (" — better" if better else " — worse"), ("good" if better else "bad")
    head = "no clear difference" if bayes else "no significant difference"
    return (
        f"{head} in {label}: {r.variant} vs {control} "
        f"{num(est, unit, signed=True)} ({lvl} {num(lo, unit, signed=True)} to "
        f"{num(hi, unit, signed=True)}, {p})",
        "neutral",
    )
