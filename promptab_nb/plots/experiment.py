"""Figures of a live experiment's result: forest plot of the effects, means per arm, and the
cumulative effect over time. They draw what the result holds and compute no statistics."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib import dates as mdates
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .._format import level_pct, num, pval
from ..errors import InvalidArgumentError
from ..options import CORRECTION_NAMES
from ..stats.guards import MIN_UNITS_PER_ARM
from ._forest import _draw_forest, _forest_legend, _Point
from ._theme import (
    NEUTRAL,
    ZERO,
    _diff_unit,
    _level_text,
    _missing,
    _scale,
    _short,
    _title_name,
    _with_unit,
    colour,
    marker,
    new_axes,
    new_figure,
    theme,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..metrics import Metric
    from ..results import ExperimentResult, OverTimeResult

__all__ = ["cumulative", "forest", "means"]


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


def _direction(m: Metric) -> str:
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
                groups.append((f"{_group_label(name, unit)}\n{_direction(m)}", points(name, True)))
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
            label = f"{_group_label(name, unit)}\n{_direction(m)}"
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


# -- means ----------------------------------------------------------------------------------------
def means(
    result: ExperimentResult,
    metric: str | Metric,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Mean of ``metric`` per arm with its CI, control first.

    Parameters
    ----------
    result
        From ``exp.analyze(...)``.
    metric
        A metric of the result, by name or as the :class:`~promptab_nb.metrics.Metric`.
    ax, figsize
        Axes to draw into, or the size of a new figure in inches (default 5.5 wide, wider
        with more than six arms).

    Returns
    -------
    Figure
        One point and CI bar per arm, labelled with the formatted mean.

    Raises
    ------
    InvalidArgumentError
        ``metric`` is not in the result.
    """
    if not isinstance(metric, str):
        # a Metric stands for its name, as in analyze; another of the same name is not found
        metric = metric.name if metric in result.metrics else repr(metric)
    try:
        m = result.metric(metric)
    except KeyError:
        raise InvalidArgumentError(
            f"metric {metric!r} is not in the result; metrics: "
            f"{', '.join(x.name for x in result.metrics)}"
        ) from None
    rows = [r for r in result.rows if r.metric == metric]
    arms = list(result.variants)
    rows.sort(key=lambda r: arms.index(r.variant) if r.variant in arms else len(arms))
    f, unit = _scale(m.unit)
    with theme():
        # ~0.8 inch per arm keeps the tick labels (name, version, n) apart
        ax = new_axes(ax, figsize or (max(5.5, 1.0 + 0.8 * len(rows)), 3.4))
        for x, r in enumerate(rows):
            i = arms.index(r.variant) if r.variant in arms else x
            if _missing(r.mean):
                # an empty column would read as a failed plot: say that this arm has no mean
                why = (r.note or "").split(": ")[0] if not r.is_control else ""
                ax.text(
                    x,
                    0.5,
                    "no mean" + (f"\n{textwrap.fill(why, 22)}" if why else ""),
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=NEUTRAL,
                )
                continue
            lo = r.mean - r.mean_ci_low if not _missing(r.mean_ci_low) else 0.0
            hi = r.mean_ci_high - r.mean if not _missing(r.mean_ci_high) else 0.0
            ax.errorbar(
                x,
                r.mean * f,
                yerr=[[lo * f], [hi * f]],
                fmt=marker(i),
                color=colour(i),
                markersize=8,
                capsize=4,
                elinewidth=1.6,
                label=f"{r.variant}",
            )
            # (a mean without an interval, e.g. of one unit, is no estimate to compare by)
            no_ci = _missing(r.mean_ci_low) and _missing(r.mean_ci_high)
            ax.annotate(
                num(r.mean, m.unit) + ("\nno CI" if no_ci else ""),
                (x, r.mean * f),
                xytext=(10, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_xticks(
            range(len(rows)),
            [
                # a long name wraps (and is cut in the middle) instead of running into the next
                "\n".join(textwrap.wrap(_short(r.variant, 24), 12) or [""])
                + f"\n{_short(result.variants.get(r.variant, ''), 12)}"
                + ("\n(control)" if r.is_control else "")
                + f"\nn = {r.n:,}"
                for r in rows
            ],
        )
        ax.set_xlim(-0.6, len(rows) - 0.4)
        if all(_missing(r.mean) for r in rows):
            ax.set_yticks([])  # (nothing drawn: matplotlib's empty 0 to 1 is a scale of nothing)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(_with_unit(m.describe(result.options.unit or "user"), unit), wrap=True)
        ax.set_title(f"{m.name} by arm ({_level_text(result.level)}; {_direction(m)})", wrap=True)
        return ax.figure  # type: ignore[return-value]


# -- over time ------------------------------------------------------------------------------------
def _bar(ax: Axes, x: Any, est: Any, lo: Any, hi: Any, f: float, c: str) -> None:
    """The interval of a single period as an error bar (a shade or band needs two points)."""
    e, low, high = (float(v.iloc[0]) * f for v in (est, lo, hi))
    if not any(math.isnan(v) for v in (e, low, high)):
        ax.errorbar(x, [e], yerr=[[e - low], [high - e]], color=c, alpha=0.45, capsize=3,
                    fmt="none")  # fmt: skip


def _why_no_period(result: OverTimeResult, total: int, min_units: int) -> str:
    """Why the figure over time draws nothing: no period, too few units, or no estimate."""
    if not total:
        return "no period to draw: no exposed unit in the analysis' window"
    enough = [r for r in result.records if min(r["n_control"], r["n_treatment"]) >= min_units]
    if min_units and not enough:
        return (
            f"no period yet with {min_units:,} units in both arms (the periods before it swing "
            "on noise); min_units=0 draws every period"
        )
    return "no estimate in any period: " + _first_note(result)


def _first_note(result: OverTimeResult, variant: str | None = None) -> str:
    """The first note of the result's records (of ``variant`` only when given)."""
    notes = [
        r["note"]
        for r in result.records
        if r.get("note") and (variant is None or r.get("variant") == variant)
    ]
    return str(notes[0]) if notes else "nothing measured"


def cumulative(
    result: OverTimeResult,
    *,
    min_units: int = MIN_UNITS_PER_ARM,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Cumulative effect over time with its CI, and the always-valid sequential band.

    Parameters
    ----------
    result
        From ``exp.analyze_over_time(metric)``.
    min_units
        Periods start once both arms hold this many units (default 50, the minimum under
        which no p-value is shown); ``0`` draws every period.
    figsize
        Inches.

    Returns
    -------
    Figure
        The estimate at the end of each period with its fixed-horizon CI (shaded). When the
        result carries a sequential confidence sequence (absolute scale), it is drawn around the
        absolute difference — on the same panel for an absolute result, else on a second panel.
    """
    df = result.to_pandas()
    total = len(df)
    if len(df) and min_units:
        # Early periods with a handful of units swing wildly and invite stopping on noise.
        df = df[(df["n_control"] >= min_units) & (df["n_treatment"] >= min_units)]
    m = result.metric
    level = 1 - result.alpha
    has_estimate = bool(len(df)) and bool(df["estimate"].astype(float).notna().any())
    # (the sequential band is around the absolute difference, which a period without a
    # relative lift, e.g. a control mean of 0, still has)
    has_seq = bool(len(df)) and "seq_ci_low" in df.columns and bool(df["seq_ci_low"].notna().any())
    two_panels = has_seq and result.relative
    # (nothing to draw at all: no line, legend key nor zero line, only why; see below)
    variants = list(dict.fromkeys(df["variant"])) if has_estimate or has_seq else []
    arms = list(dict.fromkeys(r["variant"] for r in result.records))  # before the filter
    f_est, u_est = (100.0, "%") if result.relative else _diff_unit(m.unit)
    f_abs, u_abs = _diff_unit(m.unit)
    with theme():
        fig = new_figure(figsize or (7.5, 5.2 if two_panels else 3.4))
        axes = list(fig.subplots(2 if two_panels else 1, 1, squeeze=False, sharex=True)[:, 0])
        top = axes[0]
        blank: list[str] = []
        drawn: list[tuple[str, int]] = []
        for v in variants:
            d = df[df["variant"] == v].sort_values("period_end")
            x = d["period_end"].to_numpy()
            i = arms.index(v) + 1  # (its place among every arm: the forest's colour for it)
            c = colour(i)
            with_est = bool(d["estimate"].astype(float).notna().any())
            with_seq = has_seq and bool(d["seq_ci_low"].astype(float).notna().any())
            if not with_est and not with_seq:
                # nothing to draw: no legend key for it, the figure says why below
                blank.append(f"{v}: " + _first_note(result, v))
                continue
            drawn.append((v, i))
            single = len(d) == 1  # (a shade or a band between points would have no width)
            if with_est:
                if single:
                    _bar(top, x, d["estimate"], d["ci_low"], d["ci_high"], f_est, c)
                top.fill_between(
                    x,
                    d["ci_low"].astype(float) * f_est,
                    d["ci_high"].astype(float) * f_est,
                    color=c,
                    alpha=0.2,
                    lw=0,
                )
                top.plot(x, d["estimate"].astype(float) * f_est, marker=marker(i), ms=4, color=c)
            if with_seq:
                seq_ax = axes[1] if two_panels else top
                if two_panels:
                    seq_ax.plot(x, d["diff"].astype(float) * f_abs, marker=marker(i), ms=4, color=c)
                    if single:
                        _bar(seq_ax, x, d["diff"], d["seq_ci_low"], d["seq_ci_high"], f_abs, c)
                seq_ax.plot(x, d["seq_ci_low"].astype(float) * f_abs, color=c, ls="--", lw=1)
                seq_ax.plot(x, d["seq_ci_high"].astype(float) * f_abs, color=c, ls="--", lw=1)
        kind = "relative lift" if result.relative else "treatment − control"
        top.set_ylabel(f"{kind} ({u_est})", wrap=True)
        top.set_title(
            f"{m.name} over time (cumulative by {result.freq}; {_direction(m)})", wrap=True
        )
        for a in axes if drawn else ():
            a.axhline(0, color=ZERO, lw=0.9)
        if drawn:  # (no arm with a value: no legend, no warning)
            # One key per arm plus what the shade and the dashes are, below the panels: two or
            # three keys per arm inside them covered the curves and ran off the figure.
            keys: list[Artist] = [
                Line2D([], [], color=colour(i), marker=marker(i), ms=4, label=_short(v))
                for v, i in drawn
            ]
            keys.append(Patch(color=NEUTRAL, alpha=0.2, lw=0, label=f"shade: {_level_text(level)}"))
            if has_seq:
                band = f"dashed: always-valid {level_pct(level, spaced=True)} band"
                keys.append(Line2D([], [], color=NEUTRAL, ls="--", lw=1, label=band))
            fig.legend(handles=keys, loc="outside lower center", ncol=min(4, len(keys)))
        if two_panels:
            axes[1].set_ylabel(f"treatment − control ({u_abs})", wrap=True)
            axes[1].set_title(
                "absolute difference with the sequential (always-valid) band", wrap=True
            )
        axes[-1].set_xlabel("end of period (UTC)", wrap=True)
        if drawn and not has_estimate:
            # e.g. a control mean of 0: no lift to draw, the absolute difference is below
            top.set_yticks([])
            top.text(0.5, 0.5, "no relative lift in any period (the control's mean is 0): the "
                     "absolute difference is drawn below", transform=top.transAxes,
                     ha="center", va="center", color=NEUTRAL)  # fmt: skip
        if not drawn:
            # An empty date axis would run over 1 January 1970: say why nothing is drawn.
            for a in axes:
                a.set_xticks([])
                a.set_yticks([])
            top.text(
                0.5,
                0.5,
                textwrap.fill(_why_no_period(result, total, min_units), 80),
                transform=top.transAxes,
                ha="center",
                va="center",
                color=NEUTRAL,
            )
            return fig
        if blank:
            top.text(
                0.01,
                0.01,
                textwrap.fill("no estimate: " + "; ".join(blank), 100),
                transform=top.transAxes,
                ha="left",
                va="bottom",
                fontsize=7,
                color=NEUTRAL,
            )
        ends = pd.to_datetime(df["period_end"]).drop_duplicates()
        if len(ends) == 1:
            # one period: matplotlib would span two years each side of it
            axes[-1].set_xlim(
                ends.iloc[0] - pd.Timedelta(days=1), ends.iloc[0] + pd.Timedelta(days=1)
            )
        loc = mdates.AutoDateLocator()
        axes[-1].xaxis.set_major_locator(loc)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        return fig
