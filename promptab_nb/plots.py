"""Figures for results: forest plot of lifts, means per arm, effect over time, distributions per
arm, power curves and offline comparisons.

Every function builds a new :class:`matplotlib.figure.Figure` (never through pyplot, so nothing
lingers or is shown) inside a local rc context, and returns it. Colours come from the
colour-blind-safe Okabe–Ito :data:`PALETTE`, control first; arms also differ by marker. CI bars say
their level and axes say their unit. Plots draw what a result holds: they run no SQL and compute
no statistics (except :func:`distribution`, which asks the experiment for its per-unit values).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ._checks import check, one_of
from ._format import num, pval
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from .metrics import Metric
    from .results import ExperimentResult, OverTimeResult

# Okabe & Ito (2008), "Color Universal Design"; blue for the control, then the contrasting hues.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue (control)
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
MARKERS: tuple[str, ...] = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h")
NEUTRAL = "#555555"

_THEME: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 120,
    "savefig.facecolor": "white",
    "lines.linewidth": 1.4,
}


def colour(i: int) -> str:
    """Colour of arm ``i`` (0 = control), cycling through :data:`PALETTE`."""
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str:
    """Marker of arm ``i`` (0 = control)."""
    return MARKERS[i % len(MARKERS)]


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes (for widgets and reports)."""
    buf = io.BytesIO()
    # The figures use constrained layout, so a "tight" bbox (a second full draw) is not needed.
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# -- units ---------------------------------------------------------------------------------------
def _scale(unit: str) -> tuple[float, str]:
    """(factor, axis unit) to draw values stored in ``unit``: fractions become percent."""
    if unit in ("%", "fraction"):
        return 100.0, "%"
    return 1.0, unit


def _diff_unit(unit: str) -> tuple[float, str]:
    """Differences of fractions are percentage points."""
    if unit in ("%", "fraction"):
        return 100.0, "pp"
    return 1.0, unit


def _with_unit(text: str, unit: str) -> str:
    if not unit or f"({unit})" in text:
        return text
    return f"{text} ({unit})"


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float | np.floating) and math.isnan(x))


def _prob(p: float) -> str:
    """A probability in percent, clamped so tiny tails read ``< 0.1 %``."""
    if p < 0.001:
        return "< 0.1 %"
    if p > 0.999:
        return "> 99.9 %"
    return num(p, "%")


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").subplots()


def _level_text(level: float) -> str:
    return f"{level:.0%} CI".replace("%", " %")


# -- forest ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Point:
    label: str
    arm: int  # palette index (0 = control)
    est: float
    lo: float
    hi: float
    significant: bool
    note: str


def _draw_forest(
    ax: Axes,
    groups: list[tuple[str, list[_Point]]],
    *,
    xlabel: str,
) -> None:
    """Draw groups of points (top to bottom) with CI bars, a zero line and right-hand notes."""
    yticks, ylabels = [], []
    notes = blended_transform_factory(ax.transAxes, ax.transData)
    y = 0.0
    for label, points in groups:
        k = len(points)
        offsets = np.linspace(0.22, -0.22, k) if k > 1 else np.zeros(1)
        for off, p in zip(offsets, points, strict=True):
            yy = y + off
            if _nan(p.est):
                ax.text(0, yy, "no estimate", ha="center", va="center", color=NEUTRAL, fontsize=7)
            else:
                lo = p.est - p.lo if not _nan(p.lo) else 0.0
                hi = p.hi - p.est if not _nan(p.hi) else 0.0
                c = colour(p.arm)
                ax.errorbar(
                    p.est,
                    yy,
                    xerr=[[max(lo, 0.0)], [max(hi, 0.0)]],
                    fmt=marker(p.arm),
                    color=c,
                    markerfacecolor=c if p.significant else "white",
                    markeredgewidth=1.4,
                    markersize=7,
                    capsize=3,
                    elinewidth=1.6,
                )
            ax.text(1.02, yy, p.note, transform=notes, ha="left", va="center", fontsize=7.5)
        yticks.append(y)
        ylabels.append(label)
        y -= 1.0
    ax.axvline(0, color="#222222", lw=0.9, zorder=1)
    ax.set_yticks(yticks, ylabels)
    ax.set_ylim(y + 0.5, 0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    # Keep the zero line in view even when every CI lies on one side.
    lo, hi = ax.get_xlim()
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_xlim(min(lo, -pad), max(hi, pad))


def _forest_legend(
    fig: Figure, ax: Axes, owned: bool, legend_arms: Sequence[tuple[str, int]], level: float
) -> None:
    """Arms by colour and marker, the CI level, and what filled and hollow points mean."""
    handles = [
        Line2D([], [], color=colour(i), marker=marker(i), ls="-", label=name)
        for name, i in legend_arms
    ]
    handles += [
        Line2D([], [], color=NEUTRAL, ls="-", lw=1.6, label=f"bars: {_level_text(level)}"),
        Line2D([], [], color=NEUTRAL, marker="o", ls="", label="filled: significant"),
        Line2D(
            [], [], color=NEUTRAL, marker="o", ls="", markerfacecolor="white", label="hollow: not"
        ),
    ]
    ncol = min(len(handles), 4)
    if owned:
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    else:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=ncol)


def _direction(m: Metric) -> str:
    return f"{m.direction} is better"


def forest(
    result: ExperimentResult,
    *,
    metrics: Sequence[str] | None = None,
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
        Names of the metrics to show (default all, in the result's order).
    relative
        Relative lift in percent (treatment / control − 1) on one shared axis; ``False`` draws
        the absolute difference in each metric's unit, one panel per metric.
    ax
        Draw into this axes (``relative=True`` or a single metric only).
    figsize
        Inches; default grows with the number of metrics.

    Returns
    -------
    Figure
        Points are filled when the difference is significant at the result's alpha, hollow
        otherwise; each metric is labelled with its unit and whether lower or higher is better.

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
    chosen = list(metrics) if metrics is not None else names
    unknown = [m for m in chosen if m not in names]
    if unknown or not chosen:
        raise InvalidArgumentError(
            f"metrics == {list(chosen)!r}: {unknown or 'empty'} not in the result; "
            f"metrics: {', '.join(names)}"
        )
    arms = list(result.variants)
    arm_index = {k: i for i, k in enumerate(arms)}
    treatments = arms[1:]
    legend_arms = [(f"{k} ({result.variants[k]})", arm_index[k]) for k in treatments]
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
            note = f"{text}  {pval(r.p_value)}" if not _nan(est) else (r.note or "no estimate")
            if result.options.get("method") == "bayesian" and not _nan(r.chance_to_win):
                # chance_to_win is P(effect > 0) whatever the metric's direction; say so.
                note = f"{text}  P(Δ > 0) {_prob(r.chance_to_win)}"
            out.append(
                _Point(
                    r.variant,
                    arm_index.get(r.variant, 1),
                    est * f if not _nan(est) else math.nan,
                    lo * f if not _nan(lo) else math.nan,
                    hi * f if not _nan(hi) else math.nan,
                    bool(r.significant),
                    note,
                )
            )
        return out

    with mpl.rc_context(_THEME):
        owned = ax is None
        if relative:
            height = 1.4 + 0.62 * len(chosen) * max(1, len(treatments) * 0.7)
            ax = _new_axes(ax, figsize or (7.5, max(2.8, height)))
            groups = []
            for name in chosen:
                m = result.metric(name)
                unit = _scale(m.unit)[1]
                groups.append((f"{_with_unit(name, unit)}\n{_direction(m)}", points(name, True)))
            _draw_forest(
                ax,
                groups,
                xlabel=f"relative difference vs {control} (%)",
            )
            _forest_legend(ax.figure, ax, owned, legend_arms, result.level)
            ax.set_title(f"{result.experiment}: lift vs control ({_level_text(result.level)})")
            return ax.figure  # type: ignore[return-value]
        if ax is not None and len(chosen) > 1:
            raise InvalidArgumentError(
                "ax with relative=False draws one metric; pass metrics=[name] or leave ax=None "
                "for one panel per metric"
            )
        if ax is None:
            fig = Figure(
                figsize=figsize or (7.5, 1.2 + 1.25 * len(chosen) + 0.4), layout="constrained"
            )
            axes = list(fig.subplots(len(chosen), 1, squeeze=False)[:, 0])
        else:
            axes = [ax]
        for a, name in zip(axes, chosen, strict=True):
            m = result.metric(name)
            u = _diff_unit(m.unit)[1]
            unit = _scale(m.unit)[1]
            _draw_forest(
                a,
                [(f"{_with_unit(name, unit)}\n{_direction(m)}", points(name, False))],
                xlabel=f"treatment − control ({u})",
            )
        _forest_legend(axes[0].figure, axes[-1], owned, legend_arms, result.level)
        axes[0].set_title(
            f"{result.experiment}: difference vs {control} ({_level_text(result.level)})"
        )
        return axes[0].figure  # type: ignore[return-value]


# -- means -------------------------------------------------------------------------------------------
def means(
    result: ExperimentResult,
    metric: str,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.5, 3.4),
) -> Figure:
    """Mean of ``metric`` per arm with its CI, control first.

    Parameters
    ----------
    result
        From ``exp.analyze(...)``.
    metric
        A metric name in the result.
    ax, figsize
        Axes to draw into, or the size of a new figure in inches.

    Returns
    -------
    Figure
        One point and CI bar per arm, labelled with the formatted mean.

    Raises
    ------
    InvalidArgumentError
        ``metric`` is not in the result.
    """
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
    with mpl.rc_context(_THEME):
        ax = _new_axes(ax, figsize)
        for x, r in enumerate(rows):
            i = arms.index(r.variant) if r.variant in arms else x
            if _nan(r.mean):
                continue
            lo = r.mean - r.mean_ci_low if not _nan(r.mean_ci_low) else 0.0
            hi = r.mean_ci_high - r.mean if not _nan(r.mean_ci_high) else 0.0
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
            ax.annotate(
                num(r.mean, m.unit),
                (x, r.mean * f),
                xytext=(10, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_xticks(
            range(len(rows)),
            [
                f"{r.variant}\n{result.variants.get(r.variant, '')}"
                + ("\n(control)" if r.is_control else "")
                + f"\nn = {r.n:,}"
                for r in rows
            ],
        )
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(_with_unit(m.description, unit))
        ax.set_title(f"{m.name} by arm ({_level_text(result.level)}; {_direction(m)})")
        return ax.figure  # type: ignore[return-value]


# -- over time -----------------------------------------------------------------------------------
def cumulative(
    result: OverTimeResult,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Cumulative effect over time with its CI, and the always-valid sequential band.

    Parameters
    ----------
    result
        From ``exp.analyze_over_time(metric)``.
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
    m = result.metric
    level = 1 - result.alpha
    has_seq = "seq_ci_low" in df.columns and bool(df["seq_ci_low"].notna().any())
    two_panels = has_seq and result.relative
    variants = list(dict.fromkeys(df["variant"])) if len(df) else []
    f_est, u_est = (100.0, "%") if result.relative else _diff_unit(m.unit)
    f_abs, u_abs = _diff_unit(m.unit)
    with mpl.rc_context(_THEME):
        fig = Figure(figsize=figsize or (7.5, 5.2 if two_panels else 3.4), layout="constrained")
        axes = list(fig.subplots(2 if two_panels else 1, 1, squeeze=False, sharex=True)[:, 0])
        top = axes[0]
        for j, v in enumerate(variants):
            d = df[df["variant"] == v].sort_values("period_end")
            x = d["period_end"].to_numpy()
            i = j + 1
            c = colour(i)
            top.fill_between(
                x,
                d["ci_low"].astype(float) * f_est,
                d["ci_high"].astype(float) * f_est,
                color=c,
                alpha=0.2,
                lw=0,
                label=f"{v}: {_level_text(level)}",
            )
            top.plot(
                x, d["estimate"].astype(float) * f_est, marker=marker(i), ms=4, color=c, label=v
            )
            if has_seq:
                seq_ax = axes[1] if two_panels else top
                if two_panels:
                    seq_ax.plot(
                        x, d["diff"].astype(float) * f_abs, marker=marker(i), ms=4, color=c, label=v
                    )
                seq_ax.plot(x, d["seq_ci_low"].astype(float) * f_abs, color=c, ls="--", lw=1)
                seq_ax.plot(
                    x,
                    d["seq_ci_high"].astype(float) * f_abs,
                    color=c,
                    ls="--",
                    lw=1,
                    label=f"{v}: always-valid {level:.0%} band".replace("%", " %"),
                )
        kind = "relative lift" if result.relative else "treatment − control"
        top.set_ylabel(f"{kind} ({u_est})")
        top.set_title(f"{m.name} over time (cumulative by {result.freq}; {_direction(m)})")
        for a in axes:
            a.axhline(0, color="#222222", lw=0.9)
            a.legend(loc="best", ncol=2)
        if two_panels:
            axes[1].set_ylabel(f"treatment − control ({u_abs})")
            axes[1].set_title("absolute difference with the sequential (always-valid) band")
        axes[-1].set_xlabel("end of period (UTC)")
        loc = mpl.dates.AutoDateLocator()
        axes[-1].xaxis.set_major_locator(loc)
        axes[-1].xaxis.set_major_formatter(mpl.dates.ConciseDateFormatter(loc))
        return fig


# -- distributions -------------------------------------------------------------------------------
def distribution(
    exp_or_values: Any,
    metric: str | Metric,
    *,
    log: bool = False,
    kind: Literal["hist", "ecdf"] = "hist",
    bins: int = 40,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.5, 3.4),
) -> Figure:
    """Per-arm distribution of a metric's per-unit values: histogram or ECDF.

    Parameters
    ----------
    exp_or_values
        An :class:`~promptab_nb.experiments.Experiment` (values from ``exp.unit_values(metric)``)
        or a frame with columns ``variant`` and ``value``.
    metric
        Metric name or :class:`~promptab_nb.metrics.Metric` (for the label and unit).
    log
        Logarithmic value axis (for heavy-tailed latency or cost); values ≤ 0 are left out and
        counted in the title.
    kind
        ``"hist"`` (share of units per bin, shared bins) or ``"ecdf"``.
    bins, ax, figsize
        Number of bins; axes to draw into or the size of a new figure in inches.

    Returns
    -------
    Figure

    Raises
    ------
    InvalidArgumentError
        Bad ``kind`` or ``bins``, or values without ``variant``/``value`` columns.
    """
    from .metrics import BUILTIN, resolve

    one_of(kind, "kind", ("hist", "ecdf"))
    check(bins, "bins", ge=2, integer=True)
    if hasattr(exp_or_values, "unit_values"):
        frame = exp_or_values.unit_values(metric)
        order = list(exp_or_values.variants)
        versions = dict(exp_or_values.variants)
    else:
        frame = exp_or_values
        order, versions = [], {}
    cols = getattr(frame, "columns", ())
    if "variant" not in cols or "value" not in cols:
        raise InvalidArgumentError(
            f"distribution needs a frame with columns 'variant' and 'value' (found: "
            f"{', '.join(map(str, cols)) or 'none'}); pass exp.unit_values(metric) or the experiment"
        )
    if not isinstance(metric, str):
        m = metric
    elif metric in BUILTIN:
        (m,) = resolve([metric])
    else:
        m = None
    name = m.name if m is not None else str(metric)
    unit = m.unit if m is not None else ""
    f, axis_unit = _scale(unit)
    seen = list(dict.fromkeys(frame["variant"].astype(str)))
    arms = [a for a in order if a in seen] + [a for a in seen if a not in order]
    values = {a: frame.loc[frame["variant"] == a, "value"].to_numpy(dtype=float) * f for a in arms}
    values = {a: v[np.isfinite(v)] for a, v in values.items()}
    dropped = 0
    if log:
        dropped = sum(int((v <= 0).sum()) for v in values.values())
        values = {a: v[v > 0] for a, v in values.items()}
    allv = np.concatenate(list(values.values())) if values else np.array([])
    with mpl.rc_context(_THEME):
        ax = _new_axes(ax, figsize)
        if allv.size == 0:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color=NEUTRAL)
        elif kind == "hist":
            lo, hi = float(allv.min()), float(allv.max())
            if hi <= lo:
                hi = lo + 1.0
            edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
            for a, v in values.items():
                i = arms.index(a) if not order else order.index(a) if a in order else len(order)
                weights = np.full(v.size, 1.0 / v.size) if v.size else None
                ax.hist(
                    v,
                    bins=edges,
                    weights=weights,
                    histtype="step",
                    lw=1.6,
                    color=colour(i),
                    label=_arm_label(a, versions, v.size),
                )
            ax.set_ylabel("share of units")
        else:
            for a, v in values.items():
                i = arms.index(a) if not order else order.index(a) if a in order else len(order)
                xs = np.sort(v)
                ys = np.arange(1, xs.size + 1) / max(xs.size, 1)
                ax.step(
                    xs, ys, where="post", color=colour(i), label=_arm_label(a, versions, v.size)
                )
            ax.set_ylabel("share of units ≤ value")
            ax.set_ylim(0, 1.02)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(_with_unit(f"{name} per unit", axis_unit) + (" — log scale" if log else ""))
        title = f"{name}: distribution per arm"
        if dropped:
            title += f" ({dropped:,} values ≤ 0 not shown)"
        ax.set_title(title)
        if arms:
            ax.legend(loc="best")
        return ax.figure  # type: ignore[return-value]


def _arm_label(arm: str, versions: Mapping[str, str], n: int) -> str:
    v = versions.get(arm)
    return f"{arm} ({v}), n = {n:,}" if v else f"{arm}, n = {n:,}"


# -- power -----------------------------------------------------------------------------------------
def _power_frame(n: Any, power: Any) -> pd.DataFrame:
    import pandas as pd

    if power is not None:
        return pd.DataFrame(
            {"n": np.asarray(n, dtype=float).ravel(), "power": np.asarray(power, float).ravel()}
        )
    if isinstance(n, pd.DataFrame):
        frame = n
    elif hasattr(n, "n") and hasattr(n, "power") and not callable(n.power):
        frame = pd.DataFrame({"n": np.ravel(n.n), "power": np.ravel(n.power)})
        for extra in ("power_ci_low", "power_ci_high"):
            if hasattr(n, extra):
                frame[extra] = np.ravel(getattr(n, extra))
    elif hasattr(n, "to_pandas"):
        frame = n.to_pandas()
    elif isinstance(n, Mapping):
        frame = pd.DataFrame(dict(n))
    else:
        raise InvalidArgumentError(
            f"power_curve got {type(n).__name__} without power; pass power_curve(n, power), an "
            "object with .n and .power, or a frame with columns 'n' and 'power'"
        )
    if "n" not in frame.columns and "n_total" in frame.columns:
        frame = frame.rename(columns={"n_total": "n"})
    if "n" not in frame.columns or "power" not in frame.columns:
        raise InvalidArgumentError(
            f"power_curve needs columns 'n' and 'power' (found: {', '.join(map(str, frame.columns))})"
        )
    return frame


def power_curve(
    n: Any,
    power: Sequence[float] | np.ndarray | None = None,
    *,
    target: float = 0.8,
    by: str | None = None,
    xlabel: str = "units in the experiment (all arms)",
    title: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.5, 3.4),
) -> Figure:
    """Power against sample size, with the target power and where each curve reaches it.

    Parameters
    ----------
    n
        Sample sizes (with ``power``), or an object with ``.n`` and ``.power`` attributes, or a
        frame (or anything with ``to_pandas()``) with columns ``n`` (or ``n_total``) and
        ``power``; optional ``power_ci_low``/``power_ci_high`` draw Monte-Carlo error bars.
    power
        Power (0–1) per sample size.
    target
        Target power drawn as a horizontal line (0.8 = 80 %).
    by
        Column of the frame that splits it into one curve per value (e.g. ``"mde"``); default
        the first of ``mde``, ``effect``, ``label`` present.
    xlabel, title, ax, figsize
        Labels, axes to draw into or the size of a new figure in inches.

    Returns
    -------
    Figure

    Examples
    --------
    >>> fig = power_curve([500, 1000, 2000], [0.35, 0.6, 0.88])
    >>> fig.axes[0].get_ylabel()
    'power (%)'
    """
    check(target, "target", gt=0, lt=1)
    frame = _power_frame(n, power)
    if by is None:
        by = next((c for c in ("mde", "effect", "label") if c in frame.columns), None)
    groups = list(frame.groupby(by, sort=False)) if by is not None else [(None, frame)]
    with mpl.rc_context(_THEME):
        ax = _new_axes(ax, figsize)
        for j, (key, g) in enumerate(groups):
            g = g.sort_values("n")
            x = g["n"].to_numpy(dtype=float)
            y = g["power"].to_numpy(dtype=float)
            i = j + 1 if len(groups) > 1 else 0
            label = f"{by} = {key}" if by is not None else "power"
            if {"power_ci_low", "power_ci_high"} <= set(g.columns):
                yerr = [
                    (y - g["power_ci_low"].to_numpy(float)) * 100,
                    (g["power_ci_high"].to_numpy(float) - y) * 100,
                ]
                ax.errorbar(
                    x, y * 100, yerr=yerr, fmt=marker(i) + "-", color=colour(i), ms=4, capsize=2,
                    label=label,
                )  # fmt: skip
            else:
                ax.plot(x, y * 100, marker=marker(i), ms=4, color=colour(i), label=label)
            reach = np.nonzero(y >= target)[0]
            if reach.size:
                k = int(reach[0])
                if k > 0 and y[k] > y[k - 1]:
                    xr = x[k - 1] + (target - y[k - 1]) * (x[k] - x[k - 1]) / (y[k] - y[k - 1])
                else:
                    xr = x[k]
                ax.axvline(xr, color=colour(i), ls=":", lw=1)
                ax.annotate(
                    f"≈{xr:,.0f}",
                    (xr, target * 100),
                    xytext=(4, -12),
                    textcoords="offset points",
                    fontsize=7.5,
                    color=colour(i),
                )
        ax.axhline(target * 100, color="#222222", lw=0.9, ls="--", label=f"target {target:.0%}")
        ax.set_ylim(0, 102)
        ax.set_ylabel("power (%)")
        ax.set_xlabel(xlabel)
        ax.set_title(title or "Power by sample size")
        ax.legend(loc="lower right")
        return ax.figure  # type: ignore[return-value]


# -- offline -------------------------------------------------------------------------------------------
def _offline_records(comparison: Any) -> tuple[list[dict[str, Any]], float, str]:
    """Normalise an OfflineComparison or a frame into plain records (diff and CI per row)."""
    alpha = float(getattr(comparison, "alpha", 0.05))
    if hasattr(comparison, "rows") and not hasattr(comparison, "columns"):
        recs = []
        for r in comparison.rows:
            recs.append(
                dict(
                    metric=r.metric,
                    version=r.version,
                    unit=r.unit,
                    diff=r.diff,
                    lo=r.diff_ci[0],
                    hi=r.diff_ci[1],
                    p_value=r.p_value,
                    higher=r.higher_is_better,
                    improved=r.improved,
                    regressed=r.regressed,
                    aa=r.aa_ci,
                    mde=r.mde,
                )
            )
        return recs, alpha, str(comparison.baseline)
    frame = comparison.to_pandas() if hasattr(comparison, "to_pandas") else comparison
    cols = set(getattr(frame, "columns", ()))
    lo_col = "diff_ci_low" if "diff_ci_low" in cols else "ci_low"
    hi_col = "diff_ci_high" if "diff_ci_high" in cols else "ci_high"
    need = {"metric", "version", "diff", lo_col, hi_col}
    if not need <= cols:
        raise InvalidArgumentError(
            f"offline_comparison needs an OfflineComparison or a frame with columns "
            f"{sorted(need)} (found: {', '.join(sorted(map(str, cols)))})"
        )
    recs = []
    for rec in frame.to_dict(orient="records"):
        aa = (rec.get("aa_ci_low"), rec.get("aa_ci_high"))
        recs.append(
            dict(
                metric=rec["metric"],
                version=rec["version"],
                unit=rec.get("unit", "") or "",
                diff=rec["diff"],
                lo=rec[lo_col],
                hi=rec[hi_col],
                p_value=rec.get("p_value", math.nan),
                higher=rec.get("higher_is_better"),
                improved=rec.get("improved"),
                regressed=rec.get("regressed"),
                aa=None if any(_nan(x) for x in aa) else aa,
                mde=None if _nan(rec.get("mde")) else rec.get("mde"),
            )
        )
    baseline = str(frame["baseline"].iloc[0]) if "baseline" in cols and len(frame) else "baseline"
    return recs, alpha, baseline


def offline_comparison(
    comparison: Any,
    *,
    metrics: Sequence[str] | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Paired differences (version − baseline) of an offline run, one panel per metric.

    Parameters
    ----------
    comparison
        From ``run.compare(baseline=...)``, or a frame with ``metric``, ``version``, ``diff``,
        ``diff_ci_low``/``diff_ci_high`` (or ``ci_low``/``ci_high``) and optionally ``unit``,
        ``p_value``, ``higher_is_better``, ``improved``, ``regressed``, ``aa_ci_low/high``, ``mde``.
    metrics
        Metric names to show (default all).
    figsize
        Inches; default grows with the number of metrics.

    Returns
    -------
    Figure
        Each version's difference with its CI (filled when p < alpha); the baseline's A/A noise
        band in grey and ±MDE as dotted lines when known; item counts improved / regressed.
    """
    recs, alpha, baseline = _offline_records(comparison)
    names = list(dict.fromkeys(r["metric"] for r in recs))
    if metrics is not None:
        unknown = [m for m in metrics if m not in names]
        if unknown:
            raise InvalidArgumentError(
                f"metrics {unknown} not in the comparison; metrics: {', '.join(names)}"
            )
        names = list(metrics)
    if not names:
        raise InvalidArgumentError("the comparison has no rows to plot")
    versions = list(dict.fromkeys(r["version"] for r in recs))
    with mpl.rc_context(_THEME):
        fig = Figure(figsize=figsize or (7.5, 1.0 + 1.15 * len(names) + 0.5), layout="constrained")
        axes = list(fig.subplots(len(names), 1, squeeze=False)[:, 0])
        for ax, name in zip(axes, names, strict=True):
            rows = [r for r in recs if r["metric"] == name]
            f, u = _diff_unit(rows[0]["unit"])
            pts = []
            for r in rows:
                sig = not _nan(r["p_value"]) and r["p_value"] < alpha
                note = f"{num(r['diff'], u if u == 'pp' else rows[0]['unit'], signed=True)}  {pval(r['p_value'])}"
                if r["improved"] is not None and not _nan(r["improved"]):
                    note += f"  {int(r['improved'])} items better, {int(r['regressed'])} worse"
                pts.append(
                    _Point(
                        r["version"],
                        versions.index(r["version"]) + 1,
                        r["diff"] * f,
                        r["lo"] * f,
                        r["hi"] * f,
                        sig,
                        note,
                    )
                )
            higher = rows[0]["higher"]
            label = name + (
                "\nhigher is better"
                if higher
                else "\nlower is better"
                if higher is not None
                else ""
            )
            aa = rows[0]["aa"]
            if aa is not None:
                ax.axvspan(aa[0] * f, aa[1] * f, color="#cccccc", alpha=0.5, lw=0, zorder=0)
            if rows[0]["mde"] is not None:
                for s in (-1, 1):
                    ax.axvline(s * rows[0]["mde"] * f, color="#999999", ls=":", lw=0.9)
            _draw_forest(
                ax,
                [(label, pts)],
                xlabel=f"{name}: version − {baseline} ({u})"
                if u
                else f"{name}: version − {baseline}",
            )
        _forest_legend(fig, axes[-1], True, [(v, i + 1) for i, v in enumerate(versions)], 1 - alpha)
        axes[0].set_title(
            f"Offline comparison vs {baseline} ({_level_text(1 - alpha)}; grey: A/A noise, "
            "dotted: ±MDE)"
        )
        return fig


__all__ = [
    "MARKERS",
    "PALETTE",
    "colour",
    "cumulative",
    "distribution",
    "forest",
    "marker",
    "means",
    "offline_comparison",
    "power_curve",
    "to_png",
]


def _register_notebook_display() -> None:
    """Show returned figures inline in Jupyter without importing pyplot (our figures are built
    with ``Figure(...)``, which IPython only renders once a PNG formatter is registered)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is not required
        return
    ip = get_ipython()
    if ip is None:
        return
    formatter = ip.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: to_png(fig))


_register_notebook_display()
