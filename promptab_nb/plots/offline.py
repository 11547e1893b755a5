"""Offline comparison figure: each version's paired difference from the baseline, per metric,
with the baseline's A/A noise band and ±MDE; ``OfflineComparison.plot()`` calls it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._format import num, pval
from ..errors import InvalidArgumentError
from ._forest import _draw_forest, _forest_legend, _Point
from ._theme import (
    BAND,
    REFERENCE,
    _diff_unit,
    _level_text,
    _missing,
    _short,
    new_figure,
    theme,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["offline_comparison"]


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
                    note=getattr(r, "note", None),
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
                aa=None if any(_missing(x) for x in aa) else aa,
                mde=None if _missing(rec.get("mde")) else rec.get("mde"),
                note=None if _missing(rec.get("note")) else rec.get("note"),
            )
        )
    baseline = str(frame["baseline"].iloc[0]) if "baseline" in cols and len(frame) else "baseline"
    return recs, alpha, baseline


# Inches per compared version in a metric's panel: room for its note beside the panel (two
# lines of 7.5 pt, the usual wrap), so notes of neighbouring versions do not overlap.
_PANEL_PER_VERSION = 0.7


def _panel_height(n_versions: int) -> float:
    """Inches per metric: the panel grows with the versions compared (one row each)."""
    return max(1.15, 0.5 + _PANEL_PER_VERSION * (n_versions - 1))


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
    # (a long prompt name, in every label, would run them off the figure: cut in the middle)
    base = _short(baseline)
    with theme():
        fig = new_figure(figsize or (7.5, 1.5 + _panel_height(len(versions)) * len(names)))
        axes = list(fig.subplots(len(names), 1, squeeze=False)[:, 0])
        for ax, name in zip(axes, names, strict=True):
            rows = [r for r in recs if r["metric"] == name]
            f, u = _diff_unit(rows[0]["unit"])
            pts = []
            for r in rows:
                sig = not _missing(r["p_value"]) and r["p_value"] < alpha
                note = f"{num(r['diff'], u if u == 'pp' else rows[0]['unit'], signed=True)}  {pval(r['p_value'])}"
                if r["improved"] is not None and not _missing(r["improved"]):
                    note += f"  {int(r['improved'])} items better, {int(r['regressed'])} worse"
                if _missing(r["diff"]):  # (not "–  p –", the formatted NaNs: why)
                    note = str(r["note"] or "")
                pts.append(
                    _Point(
                        r["version"],
                        versions.index(r["version"]) + 1,
                        math.nan if _missing(r["diff"]) else r["diff"] * f,
                        math.nan if _missing(r["lo"]) else r["lo"] * f,
                        math.nan if _missing(r["hi"]) else r["hi"] * f,
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
                ax.axvspan(aa[0] * f, aa[1] * f, color=BAND, alpha=0.5, lw=0, zorder=0)
            if rows[0]["mde"] is not None:
                for s in (-1, 1):
                    ax.axvline(s * rows[0]["mde"] * f, color=REFERENCE, ls=":", lw=0.9)
            _draw_forest(
                ax,
                [(label, pts)],
                xlabel=f"{name}: version − {base} ({u})" if u else f"{name}: version − {base}",
            )
        _forest_legend(
            fig, axes[-1], True, [(_short(v), i + 1) for i, v in enumerate(versions)], 1 - alpha
        )
        axes[0].set_title(
            f"Offline comparison vs {base} ({_level_text(1 - alpha)};"
            + ("\n" if len(base) > 16 else " ")
            + "grey: A/A noise, dotted: ±MDE)"
        )
        return fig
