"""Per-segment comparisons (``exp.analyze(..., by=...)``) and the heterogeneity test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._format import num, pval
from .._render import Note, Rendered, Table


@dataclass(frozen=True, repr=False)
class SegmentResult(Rendered):
    """The comparison within each segment of ``by``.

    ``rows``: one per (segment, metric, treatment) with ``n_control``, ``n_treatment``,
    ``diff`` (treatment − control, metric unit) and its CI, ``rel_diff``, ``p_value`` (the
    segment's own test), ``p_bh`` (Benjamini–Hochberg across the segments of that metric and
    treatment), ``low_power`` and ``power`` (at the goal's MDE when declared).
    ``heterogeneity``: per (metric, treatment) Cochran's Q, its ``df``, ``p_value`` (H1: the
    effect differs between segments) and I². ``units`` maps each metric to its unit (``"USD"``,
    ``"s"``, ``"%"``), in which the table shows ``diff`` (a rate's in percentage points);
    the analysis fills it from its metrics.
    """

    experiment: str
    by: str
    control: str
    alpha: float
    rows: tuple[dict[str, Any], ...]
    heterogeneity: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()
    units: dict[str, str] = field(default_factory=dict)

    def _records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def _table(self) -> Table:
        rows = [
            [
                str(r["segment"]),
                r["metric"],
                r["variant"],
                f"{r['n_control']:,} / {r['n_treatment']:,}",
                num(r["diff"], self._diff_unit(r["metric"]), signed=True),
                num(r["rel_diff"], "%", signed=True),
                pval(r["p_value"]),
                pval(r["p_bh"]),
                _flag(r),
            ]
            for r in self.rows
        ]
        het = [_het_line(h, self.alpha) for h in self.heterogeneity]
        return Table(
            [
                "segment",
                "metric",
                "variant",
                "n control / treatment",
                "Δ",
                "Δ %",
                "p-value",
                "p (BH)",
                "",
            ],  # fmt: skip
            rows,
            title=f"{self.experiment} by {self.by} (against {self.control})",
            after=[Note(tuple(het), title="Heterogeneity")]
            + ([Note(self.notes)] if self.notes else []),
        )

    def _diff_unit(self, metric: str) -> str:
        unit = self.units.get(metric, "")
        return "pp" if unit == "%" else unit

    def heterogeneity_frame(self) -> Any:
        """Cochran's Q per (metric, treatment) as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(list(self.heterogeneity))


def _flag(row: dict[str, Any]) -> str:
    """The last cell of a segment row: why it has no p-value (nothing measured, too few units,
    no comparison), else "low power" when it has little power."""
    if row["p_value"] != row["p_value"]:
        return str(row.get("note") or "no p-value")
    return "low power" if row["low_power"] else ""


def _het_line(h: dict[str, Any], alpha: float) -> str:
    head = f"{h['metric']} ({h['variant']}): "
    if h["df"] < 1:
        return head + "Cochran's Q not computed (fewer than two segments with a variance)"
    verdict = (
        "the effect differs between segments"
        if h["p_value"] < alpha
        else "no evidence that the effect differs between segments"
    )
    return (
        head + f"Cochran's Q = {h['q']:.2f}, df {h['df']}, {pval(h['p_value'])}, "
        f"I² {num(h['i2'], '%')} — {verdict}"
    )
