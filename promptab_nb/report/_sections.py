"""The verdict and the per-metric sections of the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _html
from .._format import arm_label, is_missing, level_pct, num, pval
from .._html import Markup, el
from ..errors import PromptabError
from ._pairs import impact_block

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..metrics import Metric
    from ..results import ArmRow, ExperimentResult
    from ._figures import Figures


def subtitle(res: ExperimentResult, exp: Experiment | None) -> str:
    """Prompt, flag, arms, unit, interval level and status, in one line."""
    arms = ", ".join(f"{arm_label(k, res.control)} = {v}" for k, v in res.variants.items())
    parts = [
        f"Prompt {res.prompt_name or '(any)'}",
        f"flag {res.flag_key or '(none: assigned by prompt version)'}",
        f"variants {arms}",
        f"unit: {res.options.unit}",
        f"{level_pct(res.level)} intervals",
    ]
    if exp is not None:
        parts.append(f"status {exp.status}" + (f", winner {exp.winner}" if exp.winner else ""))
    return " · ".join(parts)


def renames(exp: Experiment | None) -> Markup | None:
    """``Renamed from 'a' to 'b' on 2026-12-01 09:30 UTC, from 'b' to ...``: the experiment's
    renames (``exp.design_changes()``, field ``name``), oldest first; ``None`` without any. A
    rename is history, not a design change: it is shown whether or not there is a decision."""
    import json

    if exp is None:
        return None
    done = [
        f"from {json.loads(c.old)!r} to {json.loads(c.new)!r} on {c.changed_at:%Y-%m-%d %H:%M} UTC"
        for c in exp.design_changes()
        if c.field == "name" and c.old is not None and c.new is not None
    ]
    if not done:
        return None
    return el("div", "Renamed " + ", ".join(done), class_="sub history")


def _interval_words(res: ExperimentResult, metric: str | None = None) -> str:
    """The effects' intervals in words, plural: ``confidence intervals``, ``confidence
    sequences`` (sequential), or both; ``credible intervals`` where the forest draws every
    treatment's posterior (``method="bayesian"``, relative)."""
    treated = [r for r in res.rows if not r.is_control and metric in (None, r.metric)]
    o = res.options
    if o.bayesian and o.relative and treated and not any(is_missing(r.cred_low) for r in treated):
        return "credible intervals"
    return {
        "CI": "confidence intervals",
        "confidence sequence": "confidence sequences",
    }.get(res.effect_interval(metric), "confidence intervals or sequences")


# -- summary ---------------------------------------------------------------------------------------
def _pairs(res: ExperimentResult) -> list[tuple[ArmRow, str, str]]:
    """(treatment row, sentence, tone) in row order."""
    treat = [r for r in res.rows if not r.is_control]
    return [(r, text, tone) for r, (text, tone) in zip(treat, res.verdicts(), strict=True)]


def _headline(res: ExperimentResult) -> str:
    """One clause per treatment: the metrics it is better and worse on, else no difference;
    a metric whose verdict was withheld (no p-value) is named as having no verdict, never
    counted as "no significant difference"."""
    pairs = _pairs(res)
    none = "no clear difference" if res.options.bayesian else "no significant difference"
    parts = []
    for t in list(res.variants)[1:]:
        arm = [(r, tone) for r, _, tone in pairs if r.variant == t]
        withheld = [r.metric for r, _ in arm if is_missing(r.p_value)]
        better = [r.metric for r, tone in arm if tone == "good"]
        worse = [r.metric for r, tone in arm if tone == "bad"]
        tested = len(arm) - len(withheld)
        if worse and better:
            word = f"{t}: better on {', '.join(better)} but worse on {', '.join(worse)}"
        elif worse:
            word = f"{t}: worse than {res.control} on {', '.join(worse)}"
        elif better:
            word = f"{t}: better than {res.control} on {', '.join(better)}"
            word += ", no tested metric worse" if withheld else ", no metric worse"
        elif tested:
            word = f"{t}: {none} from {res.control} on {tested} metric(s)"
        else:
            word = f"{t}: no verdict on {', '.join(withheld)}"
        if withheld and tested:
            word += f", no verdict on {', '.join(withheld)}"
        parts.append(word)
    return "; ".join(parts) or "no treatment to compare"


def summary_section(res: ExperimentResult, figures: Figures) -> Markup:
    """The verdict: a headline, one sentence per comparison, health warnings, the forest plot."""
    items = [el("li", text, class_=f"verdict {tone} tone-{tone}") for _, text, tone in _pairs(res)]
    # Health has one block (its section); here only a pointer when something needs a look.
    serious = [f for f in res.health.flags if f.severity != "info"]
    warn = (
        el(
            "div",
            el("b", "Check before trusting the numbers: "),
            f"{len(serious)} health warning(s) — ",
            el("a", "see Health checks", href="#health"),
            class_="health warn",
        )
        if serious
        else None
    )
    forest = figures.make(
        "forest",
        res,
        alt=(
            f"Forest plot of the {'relative' if res.options.relative else 'absolute'} "
            f"effect of each treatment against {res.control} per metric, with "
            f"{level_pct(res.level)} {_interval_words(res)}"
        ),
        caption="Effects of each treatment against the control, one panel per metric on its "
        "own scale; the green side of zero is better for that metric, the red side worse; "
        "filled points are significant.",
    )
    return el(
        "section",
        el("h2", "Verdict"),
        el(
            "div",
            el("div", _headline(res), class_="headline"),
            el("ul", *items, class_="verdicts"),
            class_="summary",
        ),
        warn,
        forest,
        id="verdict",
    )


# -- per metric ------------------------------------------------------------------------------------
# The report's metric table has one metric per section and the absolute difference's CI, so its
# columns are not those of res.table_header(); the numbers go through the same _format.num.
def _metric_header(res: ExperimentResult, m: Metric) -> list[str]:
    lvl = level_pct(res.level)
    # the effects' intervals are confidence sequences under sequential=True (an arm's mean
    # keeps its fixed-horizon CI), as the result table names them
    fx = f"{lvl} {res.effect_interval(m.name)}"
    head = [
        "variant",
        "n (units)",
        "mean",
        f"mean {lvl} CI",
        "Δ absolute",
        f"Δ {fx}",
        "Δ relative",
        f"Δ relative {fx}",
        "p-value",
        "chance to be better",
    ]
    return head


def _ci(lo: str, hi: str) -> Markup:
    """``lo to hi`` that wraps only between the two bounds; ``–`` when neither bound exists
    (an arm of one unit, a zero baseline): ``– to –`` read as a range."""
    if lo == hi == "–":
        return el("span", "–")
    return Markup(el("span", lo) + " to " + el("span", hi))


def _metric_rows(res: ExperimentResult, m: Metric) -> list[list[Markup]]:
    """Formatted rows of one metric; the same numbers as ``res.to_pandas()``."""
    du = "pp" if m.unit == "%" else m.unit
    out = []
    for r in res.rows:
        if r.metric != m.name:
            continue
        row: list[str | Markup] = [
            arm_label(r.variant, res.control),
            f"{r.n:,}",
            num(r.mean, m.unit),
            _ci(num(r.mean_ci_low, m.unit), num(r.mean_ci_high, m.unit)),
        ]
        if r.is_control:
            row += [""] * 5
        else:
            row += [
                num(r.diff, du, signed=True),
                _ci(num(r.diff_ci_low, du, signed=True), num(r.diff_ci_high, du, signed=True)),
                num(r.rel_diff, "%", signed=True),
                _ci(num(r.rel_ci_low, "%", signed=True), num(r.rel_ci_high, "%", signed=True)),
                pval(r.p_value),
            ]
        row.append("" if r.is_control else num(r.chance_to_win, "%"))
        # Cells never break inside a number; a CI breaks only between its bounds.
        out.append([x if isinstance(x, Markup) else el("span", x) for x in row])
    return out


def _tests(res: ExperimentResult, m: Metric) -> str:
    names = dict.fromkeys(r.test for r in res.rows if r.metric == m.name and not r.is_control)
    return ", ".join(names) or "–"


def _cumulative(
    res: ExperimentResult, m: Metric, exp: Experiment, figures: Figures
) -> Markup | None:
    try:
        # the curve of the cost the verdict judged (exported or recomputed from tokens), over
        # the analysis' window and per its unit
        ot = exp.analyze_over_time(
            m,
            alpha=res.alpha,
            relative=res.options.relative,
            multiple=res.options.multiple,
            cost=res.options.cost,
            start=res.options.start,
            end=res.options.end,
            unit=res.options.unit or exp.unit,
        )
    except PromptabError:
        return None
    if not ot.records:
        return None
    return figures.make(
        "cumulative",
        ot,
        alt=(
            f"Cumulative effect on {m.describe(res.options.unit or 'user')} over time, "
            "each treatment against "
            f"{res.control}, with {level_pct(res.level)} confidence intervals"
        ),
        caption="Cumulative estimate at the end of each day (do not stop at the first "
        "significant day unless the analysis is sequential).",
    )


def metric_section(
    res: ExperimentResult,
    m: Metric,
    exp: Experiment | None,
    figures: Figures,
    over_time: bool,
) -> Markup:
    """One metric: its verdicts, table, notes, total impact (sums per user), means per arm and
    the effect over time."""
    sentences = [
        el("li", text, class_=f"verdict {tone} tone-{tone}")
        for r, text, tone in _pairs(res)
        if r.metric == m.name
    ]
    notes = [
        el("li", f"{r.variant}: {r.note}")
        for r in res.rows
        if r.metric == m.name and r.note and not r.is_control
    ]
    better = "lower" if m.direction == "lower" else "higher"
    label = m.describe(res.options.unit or "user")
    means = figures.make(
        "means",
        res,
        m.name,
        alt=f"Mean {label} per variant with {level_pct(res.level)} confidence intervals",
        caption=f"Mean per variant ({better} is better).",
    )
    cumulative: Any = None
    if over_time and exp is not None and figures.has("cumulative"):
        cumulative = _cumulative(res, m, exp, figures)
    return el(
        "section",
        el("h2", f"{m.name}: {label}"),
        el(
            "div",
            f"{better.capitalize()} is better · unit: {m.unit or 'count'} · "
            f"{m.agg} of {m.source}.{m.column} per unit · test: {_tests(res, m)}",
            class_="note",
        ),
        el("ul", *sentences, class_="verdicts") if sentences else None,
        _html.table(
            _metric_header(res, m),
            _metric_rows(res, m),
            caption=f"{m.name}: means and differences against {res.control}",
            class_="metric",
        ),
        # adjusted p-values beside unadjusted intervals, said as the result's own tables say it
        el("div", note, class_="note") if (note := res.correction_note()) else None,
        el("ul", *notes, class_="note") if notes else None,
        impact_block(res, m),
        means,
        cumulative,
        id=f"metric-{m.name}",
    )
