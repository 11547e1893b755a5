"""The "All pairs" section (experiments with more than two arms) and the total-impact lines of
a sum-like per-user metric; both read what the result holds (``res.pairs``,
``res.impacts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _html
from .._format import level_pct, num, pval
from .._html import Markup, el
from ..options import CORRECTION_NAMES

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..results import ExperimentResult


def _ci(lo: str, hi: str) -> Markup:
    return Markup(el("span", lo) + " to " + el("span", hi))


def pairs_section(res: ExperimentResult) -> Markup | None:
    """Every pair of arms per metric, p-values corrected across the pairs; only for
    experiments with more than two arms (with two, the metric tables are the one pair)."""
    if len(res.variants) <= 2 or not res.pairs:
        return None
    lvl = level_pct(res.level)
    correction = res.pairs[0].correction
    name = CORRECTION_NAMES.get(correction, correction)
    k = len(res.variants)
    seq = res.options.sequential
    intro = (
        f"Each pair of the {k} arms (b − a), not only each treatment against {res.control}: "
        + ("an always-valid mSPRT (safe to peek, as the analysis)" if seq else "a Welch t test")
        + " on the arms' means and the per-unit variance each metric's test uses (delta method "
        "for rates, CUPED-adjusted, clustered for quantiles), two-sided"
        + ("" if seq else " and fixed-horizon")
        + f"; p-values adjusted by {name} across the {k * (k - 1) // 2} pairs of each metric; "
        + (
            f"intervals are {lvl} confidence sequences."
            if seq
            else f"intervals are unadjusted {lvl} CIs."
        )
    )
    if res.options.bayesian:
        intro += " (The metric tables above use the analysis's Bayesian form.)"
    tables = []
    for p in res.pairs:
        m = res.metric(p.metric)
        rows = [
            [
                f"{x.b} − {x.a}",
                el("span", num(x.diff, p.unit, signed=True)),
                _ci(num(x.ci_low, p.unit, signed=True), num(x.ci_high, p.unit, signed=True)),
                el("span", pval(x.p_value)),
                el("span", pval(x.p_adjusted)),
                "yes" if x.significant else "no",
            ]
            for x in p.pairs
        ]
        tables.append(
            _html.table(
                ["pair", "Δ", f"Δ {lvl} CI", "p-value", f"p-value ({name})", "significant"],
                rows,
                caption=f"{p.metric}: {m.describe(res.options.unit or 'user')}, every pair of arms",
                class_="metric",
            )
        )
        if p.note:
            tables.append(el("div", f"{p.metric}: {p.note}", class_="note"))
        if len(p.pairs) != k * (k - 1) // 2:
            # an arm left out (no value): the correction ran over fewer pairs than said above
            n = len(p.pairs)
            tables.append(el("div", f"{p.metric}: {name} adjusts the {n} pair{'s' * (n != 1)} "
                                    "left, not all of them", class_="note"))  # fmt: skip
    return el(
        "section",
        el("h2", "All pairs"),
        el("div", intro, class_="note"),
        *tables,
        id="all-pairs",
    )


def impact_block(res: ExperimentResult, m: Metric) -> Markup | None:
    """The total impact of each treatment on ``m`` when it is a per-user sum (cost): one line
    per treatment and where the number of users comes from."""
    imp = next((x for x in res.impacts if x.metric == m.name), None)
    if imp is None:
        return None
    return el(
        "div",
        el("b", "Total impact over the period, if every user got the treatment"),
        el("ul", *[el("li", line) for line in imp.lines()]),
        el("div", f"Users reached over the period: {imp.describe_units()}.", class_="note"),
        class_="impact",
    )
