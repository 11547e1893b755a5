"""Peeking study: checking a fixed-horizon test daily vs the always-valid sequential test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check
from .._format import num
from .._render import Rendered, Table
from ..errors import InvalidArgumentError
from ._sources import (
    Test,
    _bar,
    _check_common,
    _check_effect,
    _compare,
    _moments,
    _rng,
    _se,
    _source,
    _test_name,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, eq=False, repr=False)
class PeekingResult(Rendered):
    """What daily peeking does to the false-positive rate, fixed-horizon vs sequential test.

    ``fixed_horizon`` rejects only at the final look (the plan); ``peeking`` rejects when the
    fixed-horizon test is significant at any look; ``sequential`` when the always-valid mSPRT
    is (``promptab_nb.stats.sequential``). ``*_by_look`` are cumulative rejection rates.
    """

    metric: str
    test: str
    n_per_arm: int
    looks: int
    effect: float
    alpha: float
    n_sims: int
    seed: int | None
    fixed_horizon: float
    peeking: float
    sequential: float
    peeking_by_look: np.ndarray
    sequential_by_look: np.ndarray

    def _rows(self) -> list[tuple[str, str, str]]:
        return [
            (name, num(rate, "%"), num(_se(rate, self.n_sims), "%"))
            for name, rate in (
                ("fixed horizon, final look only", self.fixed_horizon),
                (f"fixed-horizon test at any of {self.looks} looks", self.peeking),
                (f"sequential (mSPRT) at any of {self.looks} looks", self.sequential),
            )
        ]

    def _records(self) -> list[dict[str, Any]]:
        """Rejection rate and Monte-Carlo SE per procedure."""
        rates = {"fixed_horizon": self.fixed_horizon, "peeking": self.peeking,
                 "sequential": self.sequential}  # fmt: skip
        return [
            {"procedure": k, "rejection_rate": r, "mc_se": _se(r, self.n_sims)}
            for k, r in rates.items()
        ]

    def _table(self) -> Table:
        what = "false-positive rate" if self.effect == 0 else "rejection rate (power)"
        caption = (
            f"Peeking — {self.metric}, {self.test}, {self.n_per_arm:,} per arm, {self.looks} looks, "
            f"{what} at α = {self.alpha:g} ({self.n_sims:,} experiments, seed {self.seed})"
        )
        header = ["procedure", "rejection rate", "Monte-Carlo SE"]
        return Table(header, self._rows(), caption=caption, left=1)

    def plot(self, *, figsize: tuple[float, float] = (6, 3.5)) -> Figure:
        """Cumulative rejection rate by look, peeking vs sequential, with α for reference
        (:func:`promptab_nb.plots.peeking_study`)."""
        from ..plots import peeking_study

        return peeking_study(self, figsize=figsize)


def peeking(
    metric: str = "latency",
    n_per_arm: int = 1000,
    *,
    looks: int = 14,
    effect: float = 0.0,
    n_sims: int = 10_000,
    test: Test | None = None,
    alpha: float = 0.05,
    tune_n: int | None = None,
    baseline: float | None = None,
    sigma: float | None = None,
    values: Sequence[float] | np.ndarray | None = None,
    from_experiment: Any = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = True,
) -> PeekingResult:
    """Simulate checking an experiment ``looks`` times (e.g. daily) as users accrue.

    Users arrive evenly: look ``k`` sees ``k/looks`` of ``n_per_arm`` per arm. With ``effect``
    0 (A/A) the rates are false-positive rates: the fixed-horizon test checked at every look
    rejects far more often than ``alpha``; the sequential test stays at or below ``alpha``.

    Parameters
    ----------
    metric, n_per_arm, n_sims, test, alpha, baseline, sigma, values, from_experiment, seed, progress
        As in :func:`aa`; ``n_per_arm`` is the final (planned) size.
    looks
        Number of looks, evenly spaced (14 = daily over two weeks).
    effect
        True effect, as in :func:`power` (0 = A/A).
    tune_n
        Units per arm where the sequential test's confidence sequence is tightest; default
        ``n_per_arm``.

    Returns
    -------
    PeekingResult
        Rejection rates of the three procedures with Monte-Carlo SEs, and by look.
    """
    from ..stats.sequential import _best_ratio, _msprt_core

    src = _source(
        metric, baseline=baseline, sigma=sigma, values=values, from_experiment=from_experiment
    )
    test_name = _test_name(test, src)
    check(n_per_arm, "n_per_arm", ge=2, integer=True)
    check(looks, "looks", ge=1, integer=True)
    _check_effect(effect, src)
    _check_common(n_sims, alpha)
    n = int(n_per_arm)
    if int(looks) * 2 > n:
        raise InvalidArgumentError(f"looks == {looks} needs n_per_arm >= {2 * int(looks)}, got {n}")
    tune = n if tune_n is None else int(check(tune_n, "tune_n", ge=1, integer=True))
    rng, seed_value = _rng(seed)
    bounds = np.floor(np.arange(1, int(looks) + 1) * n / int(looks)).astype(np.int64)
    counts = bounds.astype(float)
    ratio = _best_ratio(alpha)
    fixed = 0
    peek_first = np.zeros(int(looks), dtype=np.int64)
    seq_first = np.zeros(int(looks), dtype=np.int64)
    batch = src.batch(n)
    with _bar(int(n_sims), progress, "peeking study") as bar:
        for start in range(0, int(n_sims), batch):
            b = min(batch, int(n_sims) - start)
            sc, ssc = src.draw(rng, b, bounds, 0.0)
            st, sst = src.draw(rng, b, bounds, effect)
            core = _compare(
                test_name, src, counts, sc, ssc, st, sst, alpha=alpha, relative=False,
                effect=effect,
            )  # fmt: skip
            sig = np.asarray(core.p_value) < alpha
            fixed += int(sig[:, -1].sum())
            mc, vc, mt, vt = _moments(src, counts, sc, ssc, st, sst, effect)
            unit_var = vc + vt
            tau2 = np.where(unit_var > 0, ratio * unit_var / tune, 1.0)
            p_seq, _, _ = _msprt_core(mt - mc, vc / counts + vt / counts, tau2, alpha)
            seq = p_seq < alpha
            for first, hits in ((peek_first, sig), (seq_first, seq)):
                any_hit = hits.any(axis=1)
                first += np.bincount(hits.argmax(axis=1)[any_hit], minlength=int(looks))
            bar.update(b)
    total = int(n_sims)
    return PeekingResult(
        metric=src.label,
        test=test_name,
        n_per_arm=n,
        looks=int(looks),
        effect=float(effect),
        alpha=float(alpha),
        n_sims=total,
        seed=seed_value,
        fixed_horizon=fixed / total,
        peeking=float(peek_first.sum() / total),
        sequential=float(seq_first.sum() / total),
        peeking_by_look=np.cumsum(peek_first) / total,
        sequential_by_look=np.cumsum(seq_first) / total,
    )
