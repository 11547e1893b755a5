"""The forest plot of a live experiment's effects (:func:`forest`) and the helpers the other
figures of a result share (means per arm in :mod:`._means`, the cumulative effect over time in
:mod:`._over_time`). They draw what the result holds and compute no statistics."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._format import num, pval
from ..errors import InvalidArgumentError
from ..options import CORRECTION_NAMES
from ._forest import _draw_forest, _forest_legend, _Point
from ._theme import (
    _diff_unit,
    _level_text,
    _missing,
    _scale,
    _short,
    _title_name,
    _with_unit,
    new_axes,
    new_figure,
    theme,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..metrics import Metric
    from ..results import ExperimentResult

__all__ = ["forest"]


def _method(result: ExperimentResult) -> str | None:
    """The analysis method; ``options`` is a mapping in older results, AnalysisOptions later."""
    opts: Any = result.options
    return opts.get("method") if isinstance(opts, Mapping) else getattr(opts, "method", None)


def _interval(result: ExperimentResult, metrics: Sequence[str]) -> str:
    """What the effects' bars of ``metrics`` are: ``CI``, ``confidence sequence`` (every row
    sequential) or ``CI or confidence sequence``."""
    kinds = (
        {result.effect_interval(m) for m in metrics}
        if hasattr(result, "effect_interval")
        else set()
    )
    if kinds == {"confidence sequence"}:
        return "confidence sequence"
    return "CI" if kinds <= {"CI"} else "CI or confidence sequence"


def _posterior(result: ExperimentResult, r: Any, rel: bool) -> bool:
    """The row has a Bayesian posterior (mean and credible interval) on the drawn scale: the
    relative one when the analysis was relative, else the absolute one."""
    opts: Any = result.options
    return (
        _method(result) == "bayesian"
        and not _missing(getattr(r, "cred_low", math.nan))
        and not _missing(getattr(r, "cred_mean", math.nan))
        and rel == bool(getattr(opts, "relative", True))
    )


def _all_posterior(result: ExperimentResult, metrics: Sequence[str], relative: bool) -> bool:
    """Every drawn treatment row of ``metrics`` is its posterior (the bars are credible
    intervals); a panel without a relative lift is drawn on the absolute scale."""
    rows = [r for r in result.rows if r.metric in metrics and not r.is_control]
    return bool(rows) and all(
        _posterior(result, r, relative and not _no_lift(result, r.metric)) for r in rows
    )


def _prob(p: float) -> str:
    """A probability in percent, clamped so tiny tails read ``< 0.1 %``."""
    if p < 0.001:
        return "< 0.1 %"
    if p > 0.999:
        return "> 99.9 %"
    return num(p, "%")


def direction_words(m: Metric) -> str:
    return f"{m.direction} is better"


#: The analysis' note on a sum withheld for missing values ("12.1% of an arm's generations are
#: unpriced (no cost) (> 5%): verdict withheld, ...", analysis/_missing.py).
_MISSING_NOTE = re.compile(r"([\d.]+)% of an arm's generations are (unpriced|without \S+)")


def _why_no_verdict(note: str | None) -> str:
    """Why a row with an estimate has no p-value, short enough to label its point: too many
    missing values read ``withheld: 12.1 % unpriced``; any other reason is its note's first
    clause that says why (``withheld: not enough units``)."""
    clauses = (note or "").split("; ")
    for clause in clauses:
        found = _MISSING_NOTE.search(clause)
        if found and "withheld" in clause:
            return f"withheld: {num(float(found[1]) / 100, '%')} {found[2]}"
    for clause in clauses:
        if clause.startswith("not enough units"):
            return "withheld: " + clause.split(":")[0]
    return f"withheld: {note}" if note else "withheld: no p-value"


def _no_lift(result: ExperimentResult, name: str) -> bool:
    """A treatment of metric ``name`` has a difference but no relative lift (zero baseline)."""
    return any(
        r.metric == name and not r.is_control and _missing(r.rel_diff) and not _missing(r.diff)
        for r in result.rows
    )


def _group_label(name: str, unit: str) -> str:
    """A metric's label beside its panel, wrapped so a long name does not squeeze the panel."""
    return textwrap.fill(_with_unit(name, unit), 28)


def forest(
    result: ExperimentResult,
    *,
    metrics: Sequence[str | Metric] | None = None,
    relative: bool = True,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot: each treatment's effect against the control with its CI, per metric.

    Parameters
    ----------
    result
        From ``exp.analyze(...)``.
    metrics
        The metrics to show, by name or as Metric objects (default all, in the result's order).
    relative
        Relative lift in percent (treatment / control − 1); ``False`` draws the absolute
        difference in each metric's unit. One panel per metric, each on its own scale, with the
        better side shaded green and the worse side red (by the metric's direction).
    ax
        Draw into this axes: relative lifts of every metric on one shared axis, or the absolute
        difference of a single metric.
    figsize
        Inches; default grows with the number of metrics.

    Returns
    -------
    Figure
        Points are filled when the difference is significant at the result's alpha, hollow
        otherwise; the label beside each point (effect and p-value, or the chance to be better)
        is green when significantly better, red when significantly worse; each metric is
        labelled with its unit and whether lower or higher is better.

    Raises
    ------
    InvalidArgumentError
        An unknown metric name, or ``ax`` with several absolute panels.

    Examples
    --------
    >>> fig = res.plot()  # doctest: +SKIP
    >>> fig.savefig("forest.png")  # doctest: +SKIP
    """
    names = [m.name for m in result.metrics]
    # (a Metric object stands for its name, as in exp.analyze([m]))
    chosen: list[str] = (
        [m if isinstance(m, str) else m.name for m in metrics] if metrics is not None else names
    )
    unknown = [m for m in chosen if m not in names]
    if unknown or not chosen:
        raise InvalidArgumentError(
            f"metrics == {list(chosen)!r}: {unknown or 'empty'} not in the result; "
            f"metrics: {', '.join(names)}"
        )
    arms = list(result.variants)
    arm_index = {k: i for i, k in enumerate(arms)}
    treatments = arms[1:]
    legend_arms = [
        (f"{_short(k)} ({_short(result.variants[k], 16)})", arm_index[k]) for k in treatments
    ]
    control = f"{result.control} ({result.variants.get(result.control, '')})"
    if result.control != "control":
        control = f"control {control}"

    def points(name: str, rel: bool) -> list[_Point]:
        m = result.metric(name)
        out = []
        for r in result.rows:
            if r.metric != name or r.is_control:
                continue
            if rel:
                f = 100.0
                est, lo, hi = r.rel_diff, r.rel_ci_low, r.rel_ci_high
                text = num(est, "%", signed=True)
            else:
                f, u = _diff_unit(m.unit)
                est, lo, hi = r.diff, r.diff_ci_low, r.diff_ci_high
                text = num(est, u if u == "pp" else m.unit, signed=True)
            if _posterior(result, r, rel):
                # the posterior the verdict and the chance to be better are of (with a prior
                # it is not the frequentist estimate: +17.2 % drawn beside a verdict of +6.8 %)
                est, lo, hi = r.cred_mean, r.cred_low, r.cred_high
                text = num(est, "%" if rel else (u if u == "pp" else m.unit), signed=True)
            note = f"{text}  {pval(r.p_value)}" if not _missing(est) else (r.note or "no estimate")
            if rel and _missing(est) and not _missing(r.diff):
                # no relative lift (a zero baseline) but a difference, maybe significant: give
                # it, where it cannot be drawn on a relative axis (its note said "absolute shown")
                du = _diff_unit(m.unit)[1]
                absolute = num(r.diff, du if du == "pp" else m.unit, signed=True)
                note = f"no relative lift; absolute {absolute}  {pval(r.p_value)}"
            if not _missing(est) and _missing(lo):
                # (a bare point would read as exact: e.g. a sequential lift while the control
                # mean is not yet told apart from 0)
                note = f"{note}  (no interval)"
            bayes = _method(result) == "bayesian" and not _missing(r.chance_to_win)
            if bayes:
                # chance_to_win is direction-aware: the chance that the arm is *better*.
                note = f"{text}  chance better {_prob(r.chance_to_win)}"
            # An estimate without a verdict (too many missing values, too few units) says why.
            withheld = not _missing(est) and _missing(r.p_value) and not bayes
            if withheld:
                note = f"{text}  {_why_no_verdict(r.note)}"
            tone = "neutral"
            if r.significant and not _missing(est) and not withheld:
                tone = "good" if (est < 0) == (m.direction == "lower") else "bad"
            out.append(
                _Point(
                    r.variant,
                    arm_index.get(r.variant, 1),
                    est * f if not _missing(est) else math.nan,
                    lo * f if not _missing(lo) else math.nan,
                    hi * f if not _missing(hi) else math.nan,
                    bool(r.significant),
                    note,
                    tone,
                    withheld,
                )
            )
        return out

    # (with a correction, p-values and the fill are adjusted, the bars are not)
    correction = getattr(result.options, "correction", None)
    adjusted = CORRECTION_NAMES.get(correction, correction) if correction else None
    # the bars are confidence sequences under sequential=True (as the result table says), and
    # the fill under method="bayesian" the chance to be better, which no correction adjusts
    interval = _interval(result, chosen)
    bayesian = _method(result) == "bayesian"
    if bayesian and _all_posterior(result, chosen, relative):
        interval = "credible interval"
    with theme():
        owned = ax is None
        if relative and ax is not None:
            # into the caller's axes: every metric on one shared relative axis
            height = 1.4 + 0.62 * len(chosen) * max(1, len(treatments) * 0.7)
            ax = new_axes(ax, figsize or (7.5, max(2.8, height)))
            groups = []
            for name in chosen:
                m = result.metric(name)
                unit = _scale(m.unit)[1]
                groups.append(
                    (f"{_group_label(name, unit)}\n{direction_words(m)}", points(name, True))
                )
            _draw_forest(
                ax,
                groups,
                xlabel=f"relative difference vs {control} (%)",
            )
            _forest_legend(ax.figure, ax, owned, legend_arms, result.level, adjusted=adjusted,
                           interval=interval, bayesian=bayesian)  # fmt: skip
            ax.set_title(
                f"{_title_name(result.experiment)}: lift vs control ({_level_text(result.level, interval)})",
                wrap=True,
            )
            return ax.figure  # type: ignore[return-value]
        if not relative and ax is not None and len(chosen) > 1:
            raise InvalidArgumentError(
                "ax with relative=False draws one metric; pass metrics=[name] or leave ax=None "
                "for one panel per metric"
            )
        if ax is None:
            # One panel per metric, each with its own scale: a +240 % error rate does not
            # squash a −2 % latency into a dot.
            rows_per = max(1, len(treatments))
            heights = [0.5 + 0.42 * rows_per for _ in chosen]
            fig = new_figure(figsize or (7.5, 1.3 + sum(heights)))
            axes = list(
                fig.subplots(len(chosen), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[
                    :, 0
                ]
            )
        else:
            axes = [ax]
        kinds = []
        for a, name in zip(axes, chosen, strict=True):
            m = result.metric(name)
            # A metric with a difference but no relative lift (a zero baseline) is drawn on its
            # absolute scale: on the relative one it read "no estimate", hiding e.g. a
            # significant +20 pp rise of an error rate that was 0 in the control.
            rel = relative and not _no_lift(result, name)
            kinds.append(rel)
            u = "%" if rel else _diff_unit(m.unit)[1]
            # a difference of a share is in percentage points: its panel says pp, not %
            unit = _scale(m.unit)[1] if rel else u
            kind = f"relative difference vs {control}" if rel else "treatment − control"
            label = f"{_group_label(name, unit)}\n{direction_words(m)}"
            if relative and not rel:
                label += "\n(no relative lift:\nabsolute difference)"
            _draw_forest(
                a,
                [(label, points(name, rel))],
                xlabel=f"{kind} ({u})",
                beside=True,
                better_left=m.direction == "lower",
            )
        # Relative panels share one unit (%): one label below them all. Absolute panels each
        # keep theirs (USD, s, pp), else the last panel's unit read as every panel's.
        for a in axes[:-1] if all(kinds) else ():
            a.set_xlabel("")
        _forest_legend(
            axes[0].figure, axes[-1], owned, legend_arms, result.level, tones=True,
            adjusted=adjusted, interval=interval, bayesian=bayesian,
        )  # fmt: skip
        what = "lift" if relative else "difference"
        axes[0].set_title(
            f"{_title_name(result.experiment)}: {what} vs {control} ({_level_text(result.level, interval)})",
            wrap=True,
        )
        return axes[0].figure
