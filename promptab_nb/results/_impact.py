"""Total impact: each treatment's per-unit effect scaled to the units it would reach."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._format import level_pct, num
from .._render import Note, Rendered, Table

if TYPE_CHECKING:
    from ..stats.pairs import Impact


@dataclass(frozen=True, repr=False)
class TotalImpact(Rendered):
    """The total effect of shipping each treatment, for a sum-like per-user metric (cost).

    ``impacts[variant]`` is the :class:`~promptab_nb.stats.Impact`: the difference against the
    control per unit (e.g. USD per user) and its CI, times ``units``, the units the change would
    reach over the analysed period. By default ``units = exposed / (traffic_share / 100)``:
    every unit the experiment exposed (all arms, units that saw several variants included)
    divided by the share of traffic the experiment's arms received (its rollout), as
    GrowthBook's scaled impact. ``None`` (with a ``notes`` entry) when the arm has no
    difference to scale.
    """

    metric: str
    #: The metric's unit (``"USD"``); totals are in it, differences per ``per``.
    unit: str
    #: What one unit is (``"user"``).
    per: str
    level: float
    units: float
    exposed: int
    #: Percent of all traffic the experiment's arms received (the flag's rollout).
    traffic_share: float
    impacts: dict[str, Impact | None]
    notes: dict[str, str] = dataclasses.field(default_factory=dict)
    #: How ``units`` was chosen, in words (set when given by hand).
    basis: str | None = None
    #: What the intervals are: ``"CI"``, or ``"confidence sequence"`` when the difference's
    #: test is sequential (always valid).
    interval: str = "CI"

    _columns = ("variant", "per_unit", "ci_low", "ci_high", "units", "total", "total_ci_low",
                "total_ci_high")  # fmt: skip

    def __getitem__(self, variant: str) -> Impact | None:
        """The impact of one treatment (``KeyError`` for a variant that is not a treatment)."""
        return self.impacts[variant]

    def describe_units(self) -> str:
        """Where ``units`` comes from, in words."""
        if self.basis:
            return self.basis
        return (
            f"{self.units:,.0f} {self.per}s = {self.exposed:,} exposed in the experiment (all "
            f"arms) ÷ {self.traffic_share:g} % of traffic in it"
        )

    def lines(self) -> list[str]:
        """One sentence per treatment: the total with its CI and the per-unit effect."""
        out = []
        lvl = level_pct(self.level)
        for variant, imp in self.impacts.items():
            if imp is None:
                out.append(f"{variant}: no total impact ({self.notes.get(variant, 'no effect')})")
                continue
            out.append(
                f"{variant}: {num(imp.total, self.unit, signed=True)} in total ({lvl} "
                f"{self.interval} "
                f"{num(imp.total_ci_low, self.unit, signed=True)} to "
                f"{num(imp.total_ci_high, self.unit, signed=True)}) = "
                f"{num(imp.per_unit, self.unit, signed=True)} per {self.per} × "
                f"{imp.units:,.0f} {self.per}s"
            )
        return out

    def with_units(self, units: float, *, basis: str | None = None) -> TotalImpact:
        """The same effects scaled to ``units`` units instead (e.g. a month's users)."""
        from ..stats.pairs import total_impact

        impacts = {
            k: None
            if imp is None
            else total_impact(imp.per_unit, imp.ci_low, imp.ci_high, units=units, unit=self.unit)
            for k, imp in self.impacts.items()
        }
        text = basis or f"{units:,.0f} {self.per}s (given)"
        return dataclasses.replace(self, units=float(units), impacts=impacts, basis=text)

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for variant, imp in self.impacts.items():
            row: dict[str, Any] = dict.fromkeys(self._columns, float("nan"))
            row["variant"] = variant
            if imp is not None:
                row.update({k: getattr(imp, k) for k in self._columns[1:]})
            out.append(row)
        return out

    def _table(self) -> Table:
        lvl = level_pct(self.level)
        rows = []
        for variant, imp in self.impacts.items():
            if imp is None:
                rows.append([variant, "–", "–", "–", "–"])
                continue
            u = self.unit
            rows.append(
                [
                    variant,
                    num(imp.per_unit, u, signed=True),
                    f"{num(imp.ci_low, u, signed=True)} to {num(imp.ci_high, u, signed=True)}",
                    num(imp.total, u, signed=True),
                    f"{num(imp.total_ci_low, u, signed=True)} to "
                    f"{num(imp.total_ci_high, u, signed=True)}",
                ]
            )
        after = [f"units reached over the period: {self.describe_units()}"]
        after += [f"{k}: {v}" for k, v in self.notes.items()]
        return Table(
            [
                "variant",
                f"Δ per {self.per}",
                f"{lvl} {self.interval}",
                "total impact",
                f"total {lvl} {self.interval}",
            ],
            rows,
            title=f"{self.metric}: total impact if every {self.per} got the treatment",
            after=[Note(tuple(after))],
            left=1,
        )
