"""All-pairs comparisons of several arms (corrected) and the total impact of an effect."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .. import _html
from .._checks import check
from .._format import level_pct, num, pval
from ..errors import InvalidArgumentError
from ._types import MeanStats
from .means import welch
from .multiple import Method, adjust_pvalues


@dataclass(frozen=True)
class Pair:
    """``b − a`` of one pair of arms: difference (metric unit), CI, raw and adjusted p-value."""

    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True)
class AllPairs:
    """Every pair of arms compared (Welch's t on the arms' test variances, or the always-valid
    mSPRT when ``sequential``); p-values adjusted across the pairs by ``correction``. Intervals
    are unadjusted ``1 − alpha`` CIs (confidence sequences when ``sequential``); ``unit`` is the
    differences' unit (``"pp"`` for a rate). ``note`` says which arms were left out."""

    metric: str
    unit: str
    pairs: tuple[Pair, ...]
    correction: str
    alpha: float
    note: str | None = None
    sequential: bool = False

    @property
    def test(self) -> str:
        """The test of each pair, in words."""
        return "always-valid mSPRT" if self.sequential else "Welch t test"

    def __repr__(self) -> str:
        lines = [f"{self.metric}: all pairs ({self.test}), {self.correction}-adjusted p-values"]
        for p in self.pairs:
            lo, hi = num(p.ci_low, self.unit, signed=True), num(p.ci_high, self.unit, signed=True)
            star = " *" if p.significant else ""
            lines.append(
                f"  {p.b} − {p.a}: {num(p.diff, self.unit, signed=True)} [{lo}, {hi}], "
                f"{pval(p.p_adjusted)}{star}"
            )
        if self.note:
            lines.append(f"  ({self.note})")
        return "\n".join(lines)

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame([asdict(p) for p in self.pairs])

    def _repr_html_(self) -> str:
        head = ["pair", "Δ", f"{level_pct(1 - self.alpha)} CI", "p", f"p ({self.correction})"]
        rows = [
            [f"{p.b} − {p.a}", num(p.diff, self.unit, signed=True),
             f"[{num(p.ci_low, self.unit)}, {num(p.ci_high, self.unit)}]", pval(p.p_value),
             pval(p.p_adjusted)]
            for p in self.pairs
        ]  # fmt: skip
        note = _html.el("div", self.note, class_="note") if self.note else None
        table = _html.table(head, rows, caption=self.metric)
        return str(_html.el("div", table, note, class_="pab"))


def all_pairs(
    arms: Mapping[str, MeanStats],
    *,
    metric: str = "",
    unit: str = "",
    alpha: float = 0.05,
    correction: Method = "holm",
    sequential: bool = False,
) -> AllPairs:
    """Compare every pair of arms (``b − a`` in the given order), two-sided Welch t tests with
    p-values adjusted across the ``k (k − 1) / 2`` pairs (Holm by default; any method of
    :func:`adjust_pvalues`). Arms are :class:`MeanStats`, or linearized arms whose variance is
    the one their test uses (see :func:`promptab_nb.analysis.estimators.arm_moments`).
    ``sequential=True`` uses the always-valid mSPRT of :func:`.sequential.sequential` for every
    pair (confidence sequences, p-values valid under peeking), as a sequential analysis must.

    Returns
    -------
    AllPairs
        One :class:`Pair` per pair: difference and CI in ``unit``, raw and adjusted p-values.
    """
    check(alpha, "alpha", gt=0, lt=1)
    if len(arms) < 2:
        raise InvalidArgumentError(f"arms has {len(arms)} arm(s); all pairs need at least 2")
    from .sequential import sequential as msprt

    test = msprt if sequential else welch
    raw = [(a, b, test(arms[a], arms[b], alpha=alpha)) for a, b in itertools.combinations(arms, 2)]
    adj = adjust_pvalues([r.p_value for *_, r in raw], correction)
    pairs = tuple(
        Pair(a, b, r.estimate, r.ci_low, r.ci_high, r.p_value, p, bool(p < alpha))
        for (a, b, r), p in zip(raw, adj, strict=True)
    )
    return AllPairs(metric, unit, pairs, correction, alpha, sequential=sequential)


@dataclass(frozen=True)
class Impact:
    """Total impact: the per-unit effect times the units it applies to, with its CI."""

    per_unit: float
    ci_low: float
    ci_high: float
    units: float
    total: float
    total_ci_low: float
    total_ci_high: float
    unit: str = ""

    def __repr__(self) -> str:
        lo, hi = num(self.total_ci_low, self.unit), num(self.total_ci_high, self.unit)
        return (
            f"total impact {num(self.total, self.unit, signed=True)} [{lo}, {hi}] over "
            f"{self.units:,.0f} units ({num(self.per_unit, self.unit, signed=True)} per unit)"
        )


def total_impact(
    diff: float, ci_low: float, ci_high: float, *, units: float, unit: str = ""
) -> Impact:
    """The effect scaled to ``units`` units (GrowthBook's scaled impact): ``diff × units``.

    ``diff`` and its CI are treatment − control per unit (e.g. USD per user); ``units`` the
    population the change would reach over the period (e.g. every exposed user of the
    experiment divided by its traffic share). The CI scales with it (``units`` taken as known).
    """
    check(units, "units", ge=0)
    for name, v in (("diff", diff), ("ci_low", ci_low), ("ci_high", ci_high)):
        if math.isnan(v):
            raise InvalidArgumentError(f"{name} is NaN: no effect to scale")
    return Impact(diff, ci_low, ci_high, units, diff * units, ci_low * units, ci_high * units,
                  unit)  # fmt: skip


__all__ = ["AllPairs", "Impact", "Pair", "all_pairs", "total_impact"]
