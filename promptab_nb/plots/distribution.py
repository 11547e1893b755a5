"""Per-arm distribution of a metric's per-unit values (histogram or ECDF).

The figure draws values it is given; fetching them is the experiment's job
(``exp.unit_values(metric)``), so a plot never runs SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._checks import check, one_of
from ..errors import InvalidArgumentError
from ._theme import NEUTRAL, _arm_legend_label, _scale, _with_unit, colour, new_axes, theme

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..metrics import Metric

__all__ = ["distribution"]


def _values_frame(values: Any, metric: str | Metric) -> Any:
    """The frame to draw, or an error that says how to get it."""
    name = metric if isinstance(metric, str) else getattr(metric, "name", str(metric))
    if hasattr(values, "unit_values"):
        raise InvalidArgumentError(
            f"distribution takes per-unit values, not {type(values).__name__}: pass "
            f"plots.distribution(exp.unit_values({name!r}), {name!r}, variants=exp.variants)"
        )
    cols = getattr(values, "columns", ())
    if "variant" not in cols or "value" not in cols:
        raise InvalidArgumentError(
            f"distribution needs a frame with columns 'variant' and 'value' (found: "
            f"{', '.join(map(str, cols)) or 'none'}); pass exp.unit_values({name!r})"
        )
    return values


def distribution(
    values: Any,
    metric: str | Metric,
    *,
    variants: Mapping[str, str] | None = None,
    log: bool = False,
    kind: Literal["hist", "ecdf"] = "hist",
    bins: int = 40,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.5, 3.4),
) -> Figure:
    """Per-arm distribution of a metric's per-unit values: histogram or ECDF.

    Parameters
    ----------
    values
        Per-unit values, a pandas frame with columns ``variant`` and ``value`` (and ``unit``),
        as returned by ``exp.unit_values(metric)``.
    metric
        Metric name or :class:`~promptab_nb.metrics.Metric` (for the label and unit).
    variants
        Arm → prompt version (e.g. ``exp.variants``): orders and colours the arms, control
        first, and names each arm's version in the legend.
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
        Bad ``kind`` or ``bins``, values without ``variant``/``value`` columns, or an
        experiment instead of its values.

    Examples
    --------
    >>> fig = plots.distribution(exp.unit_values("latency"), "latency",
    ...                          variants=exp.variants, log=True)  # doctest: +SKIP
    """
    from ..metrics import BUILTIN, resolve

    one_of(kind, "kind", ("hist", "ecdf"))
    check(bins, "bins", ge=2, integer=True)
    frame = _values_frame(values, metric)
    order = list(variants or {})
    versions = dict(variants or {})
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
    per_arm = {a: frame.loc[frame["variant"] == a, "value"].to_numpy(dtype=float) * f for a in arms}
    # (a unit without a value, e.g. every call unpriced, is counted in the title, not drawn)
    missing = sum(int((~np.isfinite(v)).sum()) for v in per_arm.values())
    per_arm = {a: v[np.isfinite(v)] for a, v in per_arm.items()}
    dropped = 0
    if log:
        dropped = sum(int((v <= 0).sum()) for v in per_arm.values())
        per_arm = {a: v[v > 0] for a, v in per_arm.items()}
    allv = np.concatenate(list(per_arm.values())) if per_arm else np.array([])

    def arm_colour(a: str) -> str:
        i = arms.index(a) if not order else order.index(a) if a in order else len(order)
        return colour(i)

    with theme():
        ax = new_axes(ax, figsize)
        if allv.size == 0:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color=NEUTRAL)
        elif kind == "hist":
            lo, hi = float(allv.min()), float(allv.max())
            if hi <= lo:
                hi = lo + 1.0
            edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
            for a, v in per_arm.items():
                weights = np.full(v.size, 1.0 / v.size) if v.size else None
                ax.hist(
                    v,
                    bins=list(edges),
                    weights=weights,
                    histtype="step",
                    lw=1.6,
                    color=arm_colour(a),
                    label=_arm_legend_label(a, versions, v.size),
                )
            ax.set_ylabel("share of units", wrap=True)
        else:
            for a, v in per_arm.items():
                xs = np.sort(v)
                ys = np.arange(1, xs.size + 1) / max(xs.size, 1)
                ax.step(
                    xs,
                    ys,
                    where="post",
                    color=arm_colour(a),
                    label=_arm_legend_label(a, versions, v.size),
                )
            ax.set_ylabel("share of units ≤ value", wrap=True)
            ax.set_ylim(0, 1.02)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(
            _with_unit(f"{name} per unit", axis_unit) + (" — log scale" if log else ""), wrap=True
        )
        title = f"{name}: distribution per arm"
        hidden = [f"{missing:,} unit{'s' * (missing != 1)} without a value"] if missing else []
        hidden += [f"{dropped:,} values ≤ 0"] if dropped else []
        if hidden:
            title += f" ({' and '.join(hidden)} not shown)"
        ax.set_title(title, wrap=True)
        if ax.get_legend_handles_labels()[0]:  # (nothing drawn: no legend, no warning)
            ax.legend(loc="best")
        return ax.figure  # type: ignore[return-value]
