"""Cumulative estimates per period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._format import level_pct, num, pval
from .._render import Note, Rendered, Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics import Metric
    from ..options import CostSource, Unit

_COST = {
    "source": "cost as exported",
    "recompute": "cost recomputed from provider, model and tokens (cost='recompute')",
}


def cost_text(cost: str) -> str:
    """How an analysis read each generation's cost (its ``cost`` option), in words."""
    return _COST.get(cost, f"cost {cost!r}")


def _share(record: dict[str, Any]) -> float:
    """The record's ``missing_share``; 0 when absent, NaN where it is not counted."""
    share = record.get("missing_share")
    return 0.0 if share is None else float(share)


def _share_text(record: dict[str, Any]) -> str:
    """``"3.3%"`` as the record's ``missing_note`` words it; empty where it is not counted."""
    share = _share(record)
    return "" if share != share else f"{share:.1%}"


@dataclass(frozen=True, repr=False)
class OverTimeResult(Rendered):
    """Cumulative estimates per period (one row per period × treatment).

    Each record has ``period_end``, ``variant``, ``n_control``, ``n_treatment``, ``estimate``,
    ``ci_low``, ``ci_high``, ``p_value``, ``note`` (why the p-values are withheld, as
    ``analyze`` withholds them: under the minimum sample, or sums missing too many values),
    ``missing_share`` (the larger share of the two arms' events without a value by the
    period's end, e.g. unpriced generations; NaN where ``analyze`` does not count them) and
    ``missing_note`` (``analyze``'s words for that share, ``"3.3% of an arm's generations are
    unpriced (no cost)"``; ``None`` at 0), which says a share that keeps the p-value as
    ``analyze``'s note does. The table shows the share in a column (``unpriced`` for cost,
    else ``missing``) when any period has one. Estimates are relative (fractions) when
    ``relative``, else in the metric's unit. ``unit`` and ``cost`` are the analysis' options
    (what one value is; the cost it read).
    """

    experiment: str
    metric: Metric
    relative: bool
    alpha: float
    freq: str
    records: tuple[dict[str, Any], ...]
    #: ``"user"`` or ``"request"`` (each event a unit): the unit of analysis.
    unit: Unit = "user"
    #: ``"source"`` (as exported) or ``"recompute"`` (priced from tokens): the cost read.
    cost: CostSource = "source"

    # (the columns of an empty frame: a window with no period still has them)
    _columns = ("period_end", "variant", "n_control", "n_treatment", "estimate", "ci_low",
                "ci_high", "p_value", "note", "missing_share", "missing_note")  # fmt: skip

    def _records(self) -> list[dict[str, Any]]:
        return list(self.records)

    def _table(self) -> Table:
        # a difference of two rates is in percentage points (as analyze() shows it), so that
        # "+1.3 %" is never a difference that reads as a relative lift
        unit = "%" if self.relative else ("pp" if self.metric.unit == "%" else self.metric.unit)
        noted = any(r.get("note") for r in self.records)
        # the share analyze() notes beside a p-value it keeps (the note column withholds one)
        missing = any(_share(r) > 0 for r in self.records)
        rows = [
            [
                f"{r['period_end']:%Y-%m-%d %H:%M}",
                r["variant"],
                f"{r['n_control']:,}",
                f"{r['n_treatment']:,}",
                num(r["estimate"], unit, signed=True),
                f"{num(r['ci_low'], unit, signed=True)} to {num(r['ci_high'], unit, signed=True)}",
                pval(r["p_value"]),
                *([_share_text(r)] if missing else []),
                *([r.get("note") or ""] if noted else []),
            ]
            for r in self.records
        ]
        cost = self.metric.column == "cost_usd"
        name, what = ("unpriced" if cost else "missing"), self.metric.missing_words
        header = ["period end", "variant", "n control", "n treatment", "effect",
                  f"{level_pct(1 - self.alpha)} CI", "p-value", *([name] if missing else []),
                  *(["note"] if noted else [])]  # fmt: skip
        caption = f"{self.metric.name} over time (cumulative, by {self.freq})"
        after = [Note((f"unit of analysis: {self.unit}; {cost_text(self.cost)}",))]
        if missing:
            after.insert(0, Note((
                f"{name}: the larger share of an arm's generations that are {what} by the "
                "period's end, as analyze() notes it",
            )))  # fmt: skip
        return Table(header, rows, caption=caption, after=after)

    def plot(self, **kwargs: Any) -> Figure:
        """Cumulative effect per period with its CI (:func:`promptab_nb.plots.cumulative`)."""
        from ..plots import cumulative

        return cumulative(self, **kwargs)
