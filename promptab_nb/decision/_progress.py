"""How far a running experiment is from its planned sample (fixed-horizon or mSPRT), and whether
its goal's CI already excludes the MDE (``no_effect``)."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

from .._format import is_missing
from ._design import ExperimentDesign, Margin
from ._guardrails import arm_row
from ._result import Progress
from ._tests import effect_se, worse_sign

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..results import ArmRow, ExperimentResult


_Z = NormalDist()


def progress_of(
    res: ExperimentResult, design: ExperimentDesign, goal: Metric, treatments: list[str],
    alpha: float, *, one_sided: bool = False,
) -> dict[str, Progress]:  # fmt: skip
    """Share of the planned sample reached and days still needed, per treatment arm."""
    mde = design.mde
    total = sum(res.health.exposed.values())
    days = sorted({d for d, _, _ in res.daily})
    span = (days[-1] - days[0]).days + 1 if days else 0
    rate = sum(n for _, _, n in res.daily) / span if span else math.nan
    out = {}
    # Bonferroni across arms, or across every metric × treatment comparison when the analysis
    # corrects for them (ship needs the table's corrected p: the plan at alpha / 2 over two
    # metrics reached "100 %" at 71 % power)
    family = len(res.variants) - 1
    if res.options.correction and not res.options.bayesian:
        tested = sum(1 for r in res.rows if not r.is_control and not is_missing(r.p_value))
        family = max(family, tested)
    tails = 1 if one_sided else 2
    z = _Z.inv_cdf(1 - alpha / (tails * max(family, 1))) + _Z.inv_cdf(design.power)
    for t in treatments:
        if mde is None:
            out[t] = Progress(math.nan, math.nan, math.nan, rate)
            continue
        r = arm_row(res, goal.name, t)
        two_sided = res.options.alternative_for(goal.name) == "two-sided"
        _, se = effect_se(r, mde.relative, res.alpha, two_sided=two_sided)
        size = mde.size
        if mde.relative and not is_missing(r.rel_se) and _is_log(r):
            # the improvement as a log ratio, in the goal's better direction: -10 % on latency
            # is log(0.9), not log(1.1) (which planned a 22 % larger sample)
            ratio = 1 - worse_sign(goal) * mde.size
            size = abs(math.log(ratio)) if ratio > 0 else math.nan
        if is_missing(se) or se <= 0 or total <= 0 or is_missing(size):
            out[t] = Progress(math.nan, math.nan, math.nan, rate)
            continue
        if not math.isfinite(se):
            out[t] = Progress(math.nan, math.nan, math.nan, rate)
            continue
        # planned / current units, as a product: ``** 2`` raised OverflowError for an MDE of
        # 1e-300 (inf: no sample detects it), and 1 / factor ZeroDivisionError for one of 1e300
        # (0: any sample does)
        if res.options.sequential and r.seq_tau2 > 0 and not is_missing(r.se) and r.se > 0:
            factor = _msprt_factor(
                size / se, r.seq_tau2 / (r.se * r.se), alpha / max(family, 1), design.power
            )
        else:
            # (z <= 0, a power below the level: no sample is needed; its square planned one)
            ratio = se * max(z, 0.0) / size
            factor = ratio * ratio
        planned = factor * total
        share = min(1.0, 1 / factor) if factor > 0 else 1.0
        left = max(0.0, planned - total)
        if math.isinf(left):
            needed = math.inf
        elif left == 0:
            needed = 0
        else:
            # (unknown without a rate of new units: 0 read as "no more days")
            needed = math.ceil(left / rate) if rate and rate > 0 else math.nan
        out[t] = Progress(planned, share, float(needed), rate)
    return out


def _msprt_factor(z_now: float, tau_ratio: float, alpha: float, power: float) -> float:
    """How many times the current sample one look at the mSPRT needs to detect an effect
    that is ``z_now`` current standard errors from 0 with ``power`` (0 when any sample does,
    inf when none does).

    The mixture test rejects when ``|d| / SE`` exceeds
    ``b = √((1 + 1/ρ) (2 log(1/alpha) + log(1 + ρ)))``, ``ρ = τ² / SE²`` (``tau_ratio`` now,
    growing with the sample as ``SE²`` shrinks), so the sample solves
    ``z_now √f − b(f) = Φ⁻¹(power)``. Its boundary is wider than the fixed-horizon test's,
    so the sample is larger (the fixed-horizon plan gave it 35 % power, not 80 %, at a 5 % MDE).
    """
    if is_missing(tau_ratio) or tau_ratio <= 0 or math.isinf(tau_ratio):
        return math.nan
    z_power, log_level = _Z.inv_cdf(power), 2 * math.log(1 / alpha)
    log_tau = math.log(tau_ratio)

    def gap(log_f: float) -> float:  # power gap at f = e^log_f (increasing in log_f)
        log_rho = log_tau + log_f  # (in logs: ρ itself over- or underflows at the ends)
        if log_rho < -700:
            return -math.inf
        log1p_rho = (
            log_rho + math.log1p(math.exp(-log_rho))
            if log_rho > 0
            else (math.log1p(math.exp(log_rho)))
        )
        b = math.sqrt((1 + math.exp(-log_rho)) * (log_level + log1p_rho))
        return z_now * math.exp(log_f / 2) - b - z_power

    lo, hi = -700.0, 700.0  # f from 1e-304 to 1e304: beyond, no or any sample
    if gap(hi) < 0:
        return math.inf
    if gap(lo) >= 0:
        return 0.0
    for _ in range(200):  # bisection on log f, to the last bits
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) < 0 else (lo, mid)
    return math.exp(hi)


def _is_log(r: ArmRow) -> bool:
    from ._tests import _log_scale

    return _log_scale(r)


def excludes_mde(r: ArmRow, goal: Metric, mde: Margin, alpha: float) -> str | None:
    """What rules out an improvement as large as the MDE (a template of ``level`` and
    ``goal``): the goal's CI, or, when a one-sided CI toward improvement leaves the bound on
    that side infinite, the one-sided ``1 - alpha`` bound from the estimate and its SE (it
    never excluded the MDE, and the arm kept running for ever); ``None`` when nothing does."""
    better = -worse_sign(goal)  # +1: higher is better
    if mde.relative:
        lo, hi = r.rel_ci_low, r.rel_ci_high
    else:
        lo, hi = r.diff_ci_low, r.diff_ci_high
    if is_missing(lo) or is_missing(hi):
        return None
    best = hi if better > 0 else -lo
    if not math.isinf(best):
        return "{level} CI of {goal} excludes" if best < mde.size else None
    est, se = effect_se(r, mde.relative, alpha, two_sided=False)
    if is_missing(est) or is_missing(se) or math.isinf(se):
        return None
    bound = est + better * _Z.inv_cdf(1 - alpha) * se
    if mde.relative and _is_log(r):
        bound = math.expm1(bound)
    return "one-sided {level} bound of {goal} rules out" if better * bound < mde.size else None
