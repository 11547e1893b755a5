"""Plan the next offline run: how many items and repeats reach the power at the least cost.

From a run with two or more repeats, the paired differences' variance splits into between-item
``ω²`` and within-item ``σ²`` (:func:`promptab_nb.stats.variance_components`). Miller's
``n = (z₁₋α/₂ + z₁₋β)² (ω² + σ²/K) / δ²`` gives a first guess of the items needed at ``K``
repeats, raised to the smallest ``n`` at which the paired t test (noncentral t on ``n − 1`` df,
the test :func:`~promptab_nb.offline.OfflineRun.compare` runs) reaches the power; each design
costs ``n·K`` calls per version at the per-call cost and latency measured in the run, plus
``cost_per_item_usd`` per item (writing or labelling it). Repeats pay off when items are scarce
(``max_items``, default the dataset's size) or expensive. The chosen design is re-checked by
simulation: items resampled from the run, their repeats resampled from each item's own spread.
The split uses the items with a value in every repeat of both versions; the others are counted,
with the reason, in the plan's ``n_dropped`` / ``dropped`` and notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import stats
from .._checks import check
from .._format import num
from .._render import Note, Rendered, Table
from ..errors import InvalidArgumentError
from ..stats._dist import t_isf
from ._compare_result import _ALIASES
from ._paired import (
    cell_reasons,
    repeat_differences,
    repeat_frame,
    repeats_left_out,
    variance_split,
)
from ._values import in_unit_range

if TYPE_CHECKING:
    from ._run import OfflineRun

__all__ = ["Design", "DesignPlan", "plan", "simulate_design"]

_RESULT_COLUMNS = {
    "cost_usd": "cost_usd",
    "latency_s": "latency_s",
    "output_tokens": "output_tokens",
}


@dataclass(frozen=True)
class Design:
    """``items`` × ``repeats`` per version: model calls (both versions), cost in USD, wall time
    in seconds at the planned concurrency, and the design's power (two-sided paired t test of
    the item means: noncentral t on ``items − 1`` df)."""

    repeats: int
    items: int
    calls: int
    cost_usd: float
    seconds: float
    power: float


@dataclass(frozen=True, repr=False)
class DesignPlan(Rendered):
    """Items and repeats for detecting ``mde`` on ``metric`` (from :func:`plan`).

    ``chosen`` is the cheapest design that reaches ``power`` within ``max_items`` (and the
    budget); when none does, the most powerful affordable one, with ``reaches_power`` False.
    ``simulated_power`` (± ``simulated_se``) re-checks ``chosen`` by resampling the run.
    ``n_dropped`` items missed a repeat in one or both versions and are not in ``components``
    (``dropped`` counts them by reason: ``("model error in v2 only", 1)``, …).
    """

    metric: str
    version: str
    baseline: str
    mde: float
    alpha: float
    power: float
    components: stats.VarianceComponents
    cost_per_call: float
    latency_s: float
    max_items: int
    budget_usd: float | None
    designs: tuple[Design, ...]
    chosen: Design
    reaches_power: bool
    simulated_power: float
    simulated_se: float
    n_sims: int
    seed: int | None
    notes: tuple[str, ...] = field(default=())
    n_dropped: int = 0
    dropped: tuple[tuple[str, int], ...] = ()

    def summary(self) -> str:
        c = self.chosen
        head = "reaches" if self.reaches_power else "does NOT reach"
        return (
            f"{c.items} items × {c.repeats} repeats ({c.calls:,} calls, {num(c.cost_usd, 'USD')}, "
            f"≈ {num(c.seconds, 's')}) {head} {self.power:.0%} power for {self.mde:+g} on "
            f"{self.metric} (formula {c.power:.1%}, simulation {self.simulated_power:.1%} ± "
            f"{self.simulated_se:.1%})"
        )

    def _records(self) -> list[dict[str, Any]]:
        return [dict(d.__dict__, chosen=d == self.chosen) for d in self.designs]

    def _table(self) -> Table:
        rows = [
            [f"{d.repeats}", f"{d.items:,}", f"{d.calls:,}", num(d.cost_usd, "USD"),
             num(d.seconds, "s"), f"{d.power:.1%}", "◀" if d == self.chosen else ""]
            for d in self.designs
        ]  # fmt: skip
        vc = self.components
        lines = [
            f"variance of one paired difference: ω² = {num(vc.between)} between items, "
            f"σ² = {num(vc.within)} within (from {vc.n_items} items × {vc.repeats} repeats)",
            f"per call (both versions): {num(self.cost_per_call, 'USD')}, "
            f"{num(self.latency_s, 's')}; items capped at {self.max_items:,}"
            + (f"; budget {num(self.budget_usd, 'USD')}" if self.budget_usd is not None else ""),
            *self.notes,
        ]
        return Table(
            ["repeats", "items", "calls", "cost", "time", "power", "chosen"],
            rows,
            caption=(
                f"Offline design for {self.metric}: {self.version} vs {self.baseline}, "
                f"δ = {self.mde:+g}, alpha {self.alpha:g}"
            ),
            before=[
                Note((self.summary(),), css="verdict " + ("good" if self.reaches_power else "bad"))
            ],  # fmt: skip
            after=[Note(tuple(lines))],
            left=0,
        )


def simulate_design(
    matrix: np.ndarray,
    items: int,
    repeats: int,
    mde: float,
    *,
    alpha: float = 0.05,
    n_sims: int = 2000,
    seed: int | np.random.Generator | None = 0,
) -> tuple[float, float]:
    """Power of the paired t test at ``items`` × ``repeats`` by resampling an items × repeats
    matrix of observed differences (recentred on ``mde``): items with replacement, their centres
    shrunk to the between-item variance, repeats drawn from each item's own residuals (rescaled
    for their degrees of freedom). Returns (power, Monte-Carlo SE)."""

    rng = np.random.default_rng(seed)
    m = np.asarray(matrix, dtype=float)
    k_obs = m.shape[1]
    vc = stats.variance_components(m)
    means = m.mean(axis=1)
    centre = means - means.mean()
    spread = centre.var(ddof=1)
    shrink = math.sqrt(vc.between / spread) if spread > 0 else 0.0
    resid = (m - means[:, None]) * math.sqrt(k_obs / (k_obs - 1))
    crit = float(t_isf(alpha / 2, items - 1))
    hits = 0
    chunk = max(1, 4_000_000 // (items * repeats))
    for start in range(0, n_sims, chunk):
        s = min(chunk, n_sims - start)
        pick = rng.integers(0, m.shape[0], (s, items))
        cols = rng.integers(0, k_obs, (s, items, repeats))
        noise = resid[pick[:, :, None], cols].mean(axis=2)
        d = mde + shrink * centre[pick] + noise
        sd = d.std(axis=1, ddof=1)
        t = np.divide(d.mean(axis=1), sd / math.sqrt(items), out=np.zeros(s), where=sd > 0)
        hits += int(np.sum(np.abs(t) > crit))
    p = hits / n_sims
    return p, math.sqrt(p * (1 - p) / n_sims)


def plan(
    run: OfflineRun,
    mde: float,
    *,
    power: float = 0.8,
    budget_usd: float | None = None,
    metric: str | None = None,
    version: str | None = None,
    baseline: str | None = None,
    alpha: float = 0.05,
    max_repeats: int = 10,
    max_items: int | None = None,
    cost_per_item_usd: float = 0.0,
    concurrency: int = 8,
    n_sims: int = 2000,
    seed: int | None = 0,
) -> DesignPlan:
    """Items × repeats reaching ``power`` for a paired difference ``mde`` at the least cost.

    Parameters
    ----------
    run
        A run with two or more repeats (it measures ω², σ², cost and latency per call).
    mde
        The difference to detect, in the metric's unit (a fraction for pass rates: 0.05 is
        5 pp).
    power, alpha
        Of the two-sided paired test (H1: the versions differ).
    budget_usd
        Spend at most this (USD); when no design within it reaches the power, the most powerful
        affordable design is chosen and the plan says it falls short.
    metric, version, baseline
        Default: the first scorer, the second and the first version.
    max_repeats, max_items
        Designs considered (items default to the dataset's size: more need new items).
    cost_per_item_usd
        Cost of one more item (writing, labelling), on top of the model calls.
    concurrency
        Calls in flight, for the wall-time estimate.
    n_sims, seed
        Simulation re-check of the chosen design.

    Raises
    ------
    InvalidArgumentError
        A run with one repeat, no variation, or bad options.
    """
    check(power, "power", gt=0, lt=1)
    check(alpha, "alpha", gt=0, lt=1)
    check(max_repeats, "max_repeats", ge=1, integer=True)
    if max_items is not None:
        check(max_items, "max_items", ge=2, integer=True)
    check(concurrency, "concurrency", ge=1, integer=True)
    check(cost_per_item_usd, "cost_per_item_usd", ge=0)
    check(n_sims, "n_sims", ge=100, integer=True)
    if seed is not None:
        check(seed, "seed", ge=0, integer=True)
    if budget_usd is not None:
        check(budget_usd, "budget_usd", gt=0)
    check(mde, "mde")
    if not mde or not math.isfinite(mde):
        raise InvalidArgumentError(f"mde == {mde!r}; give the difference to detect (non-zero)")
    if len(run.labels) < 2:
        raise InvalidArgumentError(
            f"run {run.run_id} has one version ({run.labels[0]}); plan needs two to compare"
        )
    if run.repeats < 2:
        raise InvalidArgumentError(
            "plan needs a run with repeats >= 2 to split item and repeat variance; "
            "re-run with ws.run_offline(..., repeats=3)"
        )
    base = run._label(baseline) if baseline is not None else run.labels[0]
    ver = run._label(version) if version is not None else next(v for v in run.labels if v != base)
    if ver == base:
        raise InvalidArgumentError(
            f"version and baseline are both {base}; pick two different versions of "
            f"{', '.join(run.labels)}"
        )
    name = (
        _ALIASES.get(metric, metric) if metric else (run.scorers[0] if run.scorers else "cost_usd")
    )
    col = _RESULT_COLUMNS.get(name)
    if col is None and name not in run.scorers:
        from .._checks import did_you_mean

        known = [*run.scorers, *_RESULT_COLUMNS]
        raise InvalidArgumentError(
            f"unknown metric {name!r}; this run has {', '.join(known)}{did_you_mean(name, known)}"
        )
    if col is None and abs(mde) > 1 and in_unit_range(run, name):
        # Scores are in [0, 1], so two versions differ by at most 1.
        raise InvalidArgumentError(
            f"mde == {mde!r} on {name}, whose values are in [0, 1]: two versions differ by at "
            "most 1; give the difference as a fraction (0.05 for 5 percentage points)"
        )
    d = repeat_differences(repeat_frame(run, name, col), base, ver)
    m = d.to_numpy(float)
    left = repeats_left_out(cell_reasons(run, name, col, "repeat_idx"), base, ver, d.index)
    why = left.describe()
    vc = variance_split(m) if len(d) else None
    if vc is None:
        raise InvalidArgumentError(
            f"{name}: {len(d)} of {left.n_units} items have a value in every repeat of {base} "
            f"and {ver} (2 needed to split the variance)" + (f"; {why}" if why else "")
        )
    if vc.var_of_item_mean(1) == 0:
        raise InvalidArgumentError(f"{name}: the paired differences do not vary; nothing to plan")
    ((cost, lat),) = run._ws.engine.fetch(
        "SELECT avg(cost_usd), avg(latency_s) FROM offline_results "
        "WHERE run_id = ? AND version IN (?, ?) AND error IS NULL",
        [run.run_id, base, ver],
    )
    notes: list[str] = []
    if why:
        notes.append(f"variance split (every repeat in both versions): {why}")
    if cost is None:
        if budget_usd is not None and not cost_per_item_usd:
            # Every design would cost $0 and meet any budget, however many calls it makes.
            raise InvalidArgumentError(
                f"the run recorded no cost (its model reports none), so budget_usd == "
                f"{budget_usd!r} cannot be applied: every design would cost $0. Leave budget_usd "
                "out (designs are then ranked by model calls), or give cost_per_item_usd"
            )
        notes.append("the run recorded no cost: designs are ranked by model calls")
    per_call = float(cost or 0.0)
    lat = float(lat or 0.0)
    cap = int(max_items) if max_items is not None else run.n_items
    designs = []
    for k in range(1, int(max_repeats) + 1):
        n = _t_items(vc, k, mde, alpha, power, cap)
        designs.append(_design(vc, n, k, mde, alpha, per_call, cost_per_item_usd, lat, concurrency))
    if budget_usd is not None:
        designs = [_afford(d, vc, budget_usd, mde, alpha, per_call, cost_per_item_usd, lat,
                           concurrency) for d in designs]  # fmt: skip
    designs = [d for d in designs if d.items >= 2]
    if not designs:
        raise InvalidArgumentError(f"budget_usd == {budget_usd!r} does not pay for 2 items")

    def price(d: Design) -> tuple[float, int]:
        return (d.cost_usd if cost is not None or cost_per_item_usd else d.calls, d.calls)

    reaching = [d for d in designs if d.power >= power - 1e-12]
    chosen = min(reaching, key=price) if reaching else max(designs, key=lambda d: d.power)
    if not reaching:
        why = "the budget" if budget_usd is not None else f"{cap:,} items"
        notes.append(f"no design within {why} reaches {power:.0%}; raise max_items or the budget")
    sim, se = simulate_design(m, chosen.items, chosen.repeats, mde, alpha=alpha, n_sims=n_sims,
                              seed=seed)  # fmt: skip
    return DesignPlan(
        metric=name, version=ver, baseline=base, mde=float(mde), alpha=alpha, power=power,
        components=vc, cost_per_call=2 * per_call, latency_s=lat, max_items=cap,
        budget_usd=budget_usd, designs=tuple(designs), chosen=chosen,
        reaches_power=bool(reaching), simulated_power=sim, simulated_se=se, n_sims=n_sims,
        seed=seed, notes=tuple(notes), n_dropped=left.n, dropped=left.reasons,
    )  # fmt: skip


def _t_power(vc: stats.VarianceComponents, n: int, k: int, mde: float, alpha: float) -> float:
    """Power of the two-sided paired t test of ``n`` item means of ``k`` repeats each (noncentral
    t on ``n − 1`` df); the z test's (:func:`promptab_nb.stats.design_power`) overstates it at
    few items (86.6 % where the t test has 0 at 2 items)."""
    import scipy.stats

    if n < 2:
        return 0.0
    var = vc.var_of_item_mean(k)
    if var <= 0:
        return 1.0
    df = n - 1
    crit = float(t_isf(alpha / 2, df))
    ncp = abs(mde) / math.sqrt(var / n)
    right = float(scipy.stats.nct.sf(crit, df, ncp))
    # The wrong-sign tail is tiny and scipy returns NaN for it once it underflows: 0 then.
    wrong = float(scipy.stats.nct.cdf(-crit, df, ncp))
    if not math.isfinite(right):  # far past any power asked for
        return stats.design_power(vc, n, k, mde, alpha=alpha)
    return min(1.0, right + (wrong if wrong >= 0 else 0.0))


def _t_items(
    vc: stats.VarianceComponents, k: int, mde: float, alpha: float, power: float, cap: int
) -> int:
    """The fewest items (at most ``cap``) at which :func:`_t_power` reaches ``power``: from the
    z test's count, a lower bound, upwards."""
    n = min(stats.design_items(vc, k, mde, alpha=alpha, power=power), cap)
    while n < cap and _t_power(vc, n, k, mde, alpha) < power - 1e-12:
        n += 1
    return n


def _design(
    vc: stats.VarianceComponents, n: int, k: int, mde: float, alpha: float, per_call: float,
    per_item: float, lat: float, concurrency: int,
) -> Design:  # fmt: skip
    calls = 2 * n * k
    return Design(
        k,
        n,
        calls,
        calls * per_call + n * per_item,
        calls * lat / concurrency,
        _t_power(vc, n, k, mde, alpha),
    )


def _afford(
    d: Design, vc: stats.VarianceComponents, budget: float, mde: float, alpha: float,
    per_call: float, per_item: float, lat: float, concurrency: int,
) -> Design:  # fmt: skip
    if d.cost_usd <= budget:
        return d
    unit = 2 * d.repeats * per_call + per_item
    n = min(d.items, int(budget // unit)) if unit > 0 else d.items
    return _design(vc, n, d.repeats, mde, alpha, per_call, per_item, lat, concurrency)
