"""Mann–Whitney U of each treatment against the control on per-unit values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._format import arm_label, num, pval
from .._render import Note, Rendered, Table
from ._over_time import cost_text

if TYPE_CHECKING:
    from ..options import CostSource
    from ..stats.mannwhitney import MannWhitney

_H1 = {
    "two-sided": "H1: the treatment's per-{unit} values tend to differ from the control's "
    "(two-sided)",
    "greater": "H1: the treatment's per-{unit} values tend to be larger (one-sided)",
    "less": "H1: the treatment's per-{unit} values tend to be smaller (one-sided)",
}


@dataclass(frozen=True, repr=False)
class MannWhitneyResult(Rendered):
    """Mann–Whitney U of every treatment against the control on one metric's per-unit values
    (``exp.mann_whitney(metric)``), from rank sums the engine computed.

    ``tests`` maps each treatment to its :class:`~promptab_nb.stats.MannWhitney` (``None`` when
    an arm has fewer than 2 units with a value; ``notes`` says why). ``result["test"]`` is one
    test. P-values are not adjusted across treatments. ``cost`` is the cost option the values
    were read with (``"source"`` as exported, ``"recompute"`` priced from tokens).
    """

    experiment: str
    metric: str
    control: str
    #: ``"user"`` or ``"request"``: what one value is.
    unit: str
    alternative: str
    tests: dict[str, MannWhitney | None]
    notes: dict[str, str]
    cost: CostSource = "source"

    _columns = ("variant", "n_control", "n_treatment", "u", "prob_superiority", "statistic",
                "p_value", "alternative", "method", "note")  # fmt: skip

    def __getitem__(self, variant: str) -> MannWhitney | None:
        """The test of one treatment (``KeyError`` for a variant that is not a treatment)."""
        return self.tests[variant]

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for variant, t in self.tests.items():
            row: dict[str, Any] = dict.fromkeys(self._columns, float("nan"))
            row.update(variant=variant, alternative=self.alternative, method=None, note=None)
            if t is not None:
                row.update(t.to_dict())
                row.update(n_control=t.n_control, n_treatment=t.n_treatment)
            row["note"] = self.notes.get(variant)
            out.append({k: row[k] for k in self._columns})
        return out

    def _table(self) -> Table:
        rows = []
        for variant, t in self.tests.items():
            if t is None:
                rows.append([arm_label(variant, self.control), "–", "–", "–", "–", "–", "–"])
                continue
            rows.append(
                [
                    arm_label(variant, self.control),
                    f"{t.n_control:,}",
                    f"{t.n_treatment:,}",
                    f"{t.u:,.1f}",
                    num(t.prob_superiority, "%"),
                    num(t.statistic, signed=True),
                    pval(t.p_value),
                ]
            )
        methods = {t.method for t in self.tests.values() if t is not None}
        after = [
            _H1[self.alternative].format(unit=self.unit)
            + f"; P(T > C): the chance that a random treatment {self.unit}'s value exceeds a "
            f"random control {self.unit}'s (ties count ½; 50 % = no difference)",
            "Method: Mann–Whitney U (Wilcoxon rank-sum), ranks pooled over the control and each "
            f"treatment, {', '.join(sorted(methods)) or 'normal approximation'}; p-values not "
            f"adjusted across treatments; {cost_text(self.cost)}. For arms of 8 or fewer values "
            "without ties, pab.stats.mann_whitney on exp.unit_values(...) gives the exact p-value.",
        ]
        after += [f"{k}: {v}" for k, v in self.notes.items()]
        return Table(
            ["variant", f"n {self.control}", "n variant", "U", "P(T > C)", "z", "p-value"],
            rows,
            title=f"{self.metric}: Mann–Whitney U per {self.unit}, each treatment vs "
            f"{self.control}",
            after=[Note(tuple(after))],
            left=1,
        )
