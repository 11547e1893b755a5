"""From an analysis to a decision: ship, dont_ship, keep_running or no_effect (per arm and
overall), with the reasons in words. The tests are in :mod:`._tests`; the rules:

- **ship**: the goal improves significantly (two-sided at ``alpha``, or one-sided when the
  analysis declares the goal's alternative toward its improvement; Holm across treatment arms)
  and the result table agrees (its p-value, after the analysis' correction across metrics or
  under its one-sided alternative, is below ``alpha``; under ``method="bayesian"`` the chance
  to be better is at least ``1 - alpha``), and every guardrail passes its non-inferiority test
  at its margin (one-sided at ``alpha``, Holm across arms), with no health error (sample ratio
  mismatch);
- **dont_ship**: the goal worsens significantly, or a guardrail is significantly worse than its
  margin (a guardrail without a margin, and every other analysed metric: significantly worse at
  all);
- **no_effect**: the planned sample is reached and the goal's CI excludes the MDE (a one-sided
  CI toward improvement: the one-sided bound from the estimate and its SE);
- **keep_running**: anything else, with the share of the planned sample reached and the days
  still needed at the observed daily exposure rate.

The planned sample is the one that detects the MDE with the design's power at ``alpha``
(Bonferroni across arms, as :func:`promptab_nb.stats.sample_size`, or across every metric ×
treatment comparison when the analysis corrects for them), using the *observed*
variance: the current standard error scaled by ``1/√n``. Under ``sequential=True`` it is the
sample at which one look at the always-valid (mSPRT) test reaches that power, with the row's
mixture variance: the test checked continuously reaches it no later.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from .._format import is_missing, level_pct, num, pval
from ..errors import InvalidArgumentError
from ._design import ExperimentDesign, Margin, merge_design
from ._result import ArmDecision, Decision, GuardrailCheck, Progress, Status
from ._tests import Excess, effect_se, excess, improvement, worse_sign

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..results import ArmRow, ExperimentResult


_Z = NormalDist()


def _holm(ps: list[float]) -> list[float]:
    """Holm-adjusted p-values; NaN stays NaN and is not counted."""
    idx = [i for i, p in enumerate(ps) if not is_missing(p)]
    out = [math.nan] * len(ps)
    if not idx:
        return out
    from ..stats import adjust_pvalues

    adj = adjust_pvalues([ps[i] for i in idx], method="holm")
    adj = getattr(adj, "p_adjusted", adj)
    for i, p in zip(idx, adj, strict=True):
        out[i] = float(p)
    return out


def default_design(res: ExperimentResult) -> tuple[ExperimentDesign, str | None]:
    """The result's design, or the first analysed metric that is not a declared guardrail as
    the goal and the others as guardrails that only block on a significant regression (with a
    note saying so).

    Raises
    ------
    InvalidArgumentError
        No goal is declared and every analysed metric is a declared guardrail.
    """
    d = res.design
    if d is not None and d.goal:
        return d, None
    names = [m.name for m in res.metrics]
    rails = dict(d.guardrails) if d is not None else {}
    # A declared guardrail keeps its margin: made the goal too, a cost within its +5 % margin
    # but significantly higher read "worsens the goal: don't ship" beside "guardrail cost pass".
    free = [n for n in names if n not in rails]
    if not free:
        raise InvalidArgumentError(
            f"no goal declared and every analysed metric ({', '.join(names)}) is a guardrail: "
            "declare the goal with exp.set_design(goal=...) (--goal on the command line), or "
            "analyse the metric the treatment must improve too"
        )
    goal = free[0]
    rails.update({n: None for n in names if n != goal and n not in rails})
    which = "the first metric" if goal == names[0] else "the first metric that is not a guardrail"
    note = (
        f"no goal declared: {goal} ({which}) is the goal; declare one with "
        "exp.set_design(goal=..., guardrails=..., mde=...)"
    )
    return ExperimentDesign(goal, rails, None), note


def _row(res: ExperimentResult, metric: str, variant: str) -> ArmRow:
    for r in res.rows:
        if r.metric == metric and r.variant == variant:
            return r
    raise KeyError((metric, variant))


def _effect_text(r: ArmRow, m: Metric, relative: bool) -> str:
    if relative and not is_missing(r.rel_diff):
        return num(r.rel_diff, "%", signed=True)
    return num(r.diff, "pp" if m.unit == "%" else m.unit, signed=True)


def guardrail_checks(
    res: ExperimentResult, rails: dict[str, Margin | None], alpha: float | None = None
) -> dict[str, list[GuardrailCheck]]:
    """Treatment arm → its checks of the guardrails ``rails`` (metric → margin, or ``None``: no
    significant regression at all), at ``alpha`` (default: the result's). A row whose verdict
    the analysis withheld (under the minimum sample, too many missing values) is ``pending``.

    Raises
    ------
    InvalidArgumentError
        A metric of ``rails`` was not analysed (it was a raw ``KeyError``), or ``alpha`` is not
        in (0, 1).
    """
    from .._checks import check

    if alpha is not None:
        check(alpha, "alpha", gt=0, lt=1)
    a = res.alpha if alpha is None else float(alpha)
    analysed = [m.name for m in res.metrics]
    missing = [n for n in rails if n not in analysed]
    if missing:
        raise InvalidArgumentError(
            f"guardrail metric(s) {missing} were not analysed ({', '.join(analysed)}); "
            f"analyse them: exp.analyze({list(dict.fromkeys(analysed + missing))!r})"
        )
    return _guardrails(res, rails, list(res.variants)[1:], a)


def regression_checks(res: ExperimentResult, metric: str) -> list[GuardrailCheck]:
    """Each treatment arm's check of ``metric`` as :meth:`ExperimentResult.regressions` makes it
    (the design's margin when ``metric`` is one of its guardrails, else any significant
    regression): ``fail`` is a regression; a check whose ``p_within`` is NaN has no test (the
    analysis withheld the row's verdict, or a relative margin has no relative effect), so
    whether the arm regressed is not known.

    Raises
    ------
    InvalidArgumentError
        ``metric`` was not analysed.
    """
    d = res.design
    margin = d.guardrails.get(metric) if d is not None and metric != d.goal else None
    return [c for checks in guardrail_checks(res, {metric: margin}).values() for c in checks]


def _guardrails(
    res: ExperimentResult, rails: dict[str, Margin | None], treatments: list[str], alpha: float
) -> dict[str, list[GuardrailCheck]]:
    out: dict[str, list[GuardrailCheck]] = {t: [] for t in treatments}
    for name, margin in rails.items():
        m = res.metric(name)
        control = _row(res, name, res.control)
        rows = [_row(res, name, t) for t in treatments]
        if margin is None:
            tests = [improvement(r, m) for r in rows]
            adj = _holm([p for p, _ in tests])
            for t, r, (_, sign), p in zip(treatments, rows, tests, adj, strict=True):
                bad = p < alpha and sign < 0
                status: Status = "fail" if bad else ("pass" if not is_missing(p) else "pending")
                out[t].append(
                    GuardrailCheck(name, t, None, _effect_text(r, m, True), p, math.nan, status,
                                   _no_test(r, p, relative=False))
                )  # fmt: skip
            continue
        exc: list[Excess] = [excess(r, m, margin, control.mean) for r in rows]
        within = _holm([e.p_within() for e in exc])
        beyond = _holm([e.p_beyond() for e in exc])
        for t, r, pw, pb in zip(treatments, rows, within, beyond, strict=True):
            status_: Status = "pass" if pw < alpha else ("fail" if pb < alpha else "pending")
            out[t].append(
                GuardrailCheck(name, t, margin.text, _effect_text(r, m, margin.relative), pw, pb,
                               status_, _no_test(r, pw, relative=margin.relative))
            )  # fmt: skip
    return out


def _no_test(r: ArmRow, p: float, *, relative: bool) -> str | None:
    """Why a check (of a ``relative`` margin or not) whose p-value is ``p`` has no test, in
    words; ``None`` when it has one."""
    if not is_missing(p):
        return None
    if r.note:
        return r.note
    if relative and is_missing(r.rel_diff):
        return "no relative effect to test the margin on: analyse with relative=True"
    return "no test"


def _progress(
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
        r = _row(res, goal.name, t)
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


def _excludes_mde(r: ArmRow, goal: Metric, mde: Margin, alpha: float) -> str | None:
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


def decide(
    res: ExperimentResult, design: ExperimentDesign | None = None, *, alpha: float | None = None
) -> Decision:
    """The decision of ``res`` under ``design`` (default: the experiment's); see the module.

    Raises
    ------
    InvalidArgumentError
        The goal or a guardrail was not analysed (the message lists the analysed metrics),
        ``alpha`` is not in (0, 1), or no unit of any arm is in the analysis (health error
        ``no_units``: a window after the data, a wrong flag or variant key).
    """
    if alpha is not None:
        from .._checks import check

        check(alpha, "alpha", gt=0, lt=1)
    # Nothing was measured: "keep running" (what the rules give) read as if more days would
    # decide it, where the window or the experiment's keys have to change.
    empty = next((f for f in res.health.flags if f.code == "no_units"), None)
    if empty is not None:
        raise InvalidArgumentError(f"no decision: {empty.message}")
    note = None
    if design is None or not design.goal:
        if design is not None:
            res = _with_design(res, design)
        design, note = default_design(res)
    a = res.alpha if alpha is None else float(alpha)
    analysed = [m.name for m in res.metrics]
    missing = [n for n in design.metrics if n not in analysed]
    if missing:
        raise InvalidArgumentError(
            f"the design's metric(s) {missing} were not analysed ({', '.join(analysed)}); "
            f"analyse them: exp.analyze({list(dict.fromkeys(analysed + missing))!r})"
        )
    # Every other analysed metric guards against a significant regression, declared or not.
    extra = {n: None for n in analysed if n != design.goal and n not in design.guardrails}
    if extra:
        design = ExperimentDesign(
            design.goal, {**design.guardrails, **extra}, design.mde, design.power
        )
    goal = res.metric(design.goal)  # type: ignore[arg-type]
    treatments = list(res.variants)[1:]
    grows = [_row(res, goal.name, t) for t in treatments]
    tests = [improvement(r, goal) for r in grows]
    adj = _holm([p for p, _ in tests])
    # A goal declared one-sided toward its improvement is shipped on that test (the table's),
    # a regression still seen by the two-sided one.
    one_sided = _one_sided(res, goal)
    better = (
        _holm([_better_p(r, p, sign, res) for r, (p, sign) in zip(grows, tests, strict=True)])
        if one_sided
        else adj
    )
    rails = _guardrails(res, design.guardrails, treatments, a)
    progress = _progress(res, design, goal, treatments, a, one_sided=one_sided)
    srm = [f.message for f in res.health.flags if f.severity == "error"]
    arms = []
    for t, r, (_, sign), p, pb in zip(treatments, grows, tests, adj, better, strict=True):
        arms.append(
            _arm(t, r, goal, sign, (p, pb, one_sided), a, rails[t], progress[t], design, srm, res)
        )
    return Decision.of(res, design, tuple(arms), a, note)


def _one_sided(res: ExperimentResult, goal: Metric) -> bool:
    """The goal's fixed-horizon test is one-sided toward its improvement (``alternative="less"``
    on a lower-is-better metric, ``"greater"`` on a higher-is-better one)."""
    alt = res.options.alternative_for(goal.name)
    return not res.options.sequential and alt == (
        "less" if goal.direction == "lower" else "greater"
    )


def _better_p(r: ArmRow, p: float, sign: int, res: ExperimentResult) -> float:
    """The one-sided p-value toward improvement before any correction: the table's when it
    made no correction, else half the two-sided one's (the other half without one)."""
    if not res.options.correction and not is_missing(r.p_value):
        return r.p_value
    if is_missing(p):
        return math.nan
    return p / 2 if sign > 0 else 1 - p / 2


def _with_design(res: ExperimentResult, design: ExperimentDesign) -> ExperimentResult:
    import dataclasses

    return dataclasses.replace(res, design=design)


def _arm(
    t: str, r: ArmRow, goal: Metric, sign: int, ps: tuple[float, float, bool], alpha: float,
    rails: list[GuardrailCheck], prog: Progress, design: ExperimentDesign, errors: list[str],
    res: ExperimentResult,
) -> ArmDecision:  # fmt: skip
    # p: two-sided (Holm); p_better: the test toward improvement (one-sided when declared so)
    p, p_better, one_sided = ps
    rel = design.mde.relative if design.mde else res.options.relative
    better, worse = p_better < alpha and sign > 0, p < alpha and sign < 0
    on_one_side = one_sided and not worse  # (a regression is told by the two-sided test)
    shown = p_better if on_one_side else p
    side = "one-sided " if on_one_side else ""
    holm = ", Holm across arms" if len(res.variants) > 2 else ""  # (one arm: nothing to adjust)
    effect = f"{goal.name} {_effect_text(r, goal, rel)} ({side}{pval(shown)}{holm})"
    failed = [g for g in rails if g.status == "fail"]
    pending = [g for g in rails if g.status == "pending"]
    # The table's verdict on the goal binds too: "Ship test" stood beside a goal row the table
    # called not significant (after a Bonferroni correction across metrics, or a chance to be
    # better of 88 % under a sceptical prior).
    held = _table_withholds(r, res, alpha) if better else None
    if held:
        better = False
    reasons = []
    # Every sentence names its arm, the arm's goal line first: with several treatments the
    # guardrail and progress lines read as another arm's.
    if worse or failed:
        action = "dont_ship"
        if worse:
            reasons.append(f"{t} worsens the goal: {effect}")
        elif better:
            reasons.append(f"{t} improves the goal, but a guardrail fails: {effect}")
        elif held:
            reasons.append(f"{t} improves the goal ({effect}), but {held}")
        elif is_missing(p):
            reasons.append(f"{t}: no test of {goal.name} yet ({r.note or 'not enough data'})")
        else:
            reasons.append(f"{t}: the goal is not significantly better: {effect}")
        reasons += [f"{t}: {g.sentence()}" for g in failed]
        reasons += [f"results not trusted: {e}" for e in errors]
    elif better and not pending and not errors:
        action = "ship"
        reasons.append(f"{t} improves the goal: {effect}")
        reasons += [f"{t}: {g.sentence()}" for g in rails]
        if not res.options.sequential and prog.share < 1:
            reasons.append(
                f"{t}: caution: {prog.sentence()}; a fixed-horizon test read before its planned "
                "sample overstates significance (analyse with sequential=True to stop early)"
            )
    elif (
        design.mde is not None
        and prog.share >= 1
        and not better
        and not is_missing(p)  # (a withheld verdict concludes nothing)
        and not errors
        and (ruled := _excludes_mde(r, goal, design.mde, res.alpha))
    ):
        action = "no_effect"
        reasons.append(
            f"{t}: the planned sample is reached and the {ruled.format(level=level_pct(res.level), goal=goal.name)} "
            f"an improvement of {design.mde.text} ({effect})"
        )  # fmt: skip
    else:
        action = "keep_running"
        if better:
            reasons.append(f"{t} improves the goal: {effect}")
        elif held:
            reasons.append(f"{t} improves the goal ({effect}), but {held}")
        elif is_missing(p):
            reasons.append(f"{t}: no test of {goal.name} yet ({r.note or 'not enough data'})")
        else:
            reasons.append(f"{t}: the goal is not significantly better yet: {effect}")
        reasons += [f"{t}: {g.sentence()}" for g in pending]
        reasons += [f"results not trusted: {e}" for e in errors]
        if not is_missing(prog.share):
            reasons.append(f"{t}: {prog.sentence()}")
        elif (
            design.mde is not None
            and design.mde.relative
            and is_missing(r.rel_diff)
            and not is_missing(p)  # (a withheld arm's goal line says why already)
        ):
            # a relative MDE has no relative SE to plan on nor a relative CI to rule it out:
            # this arm could never reach "no effect", and nothing said so
            reasons.append(
                f"{t}: planned sample unknown: the mde {design.mde.text} is relative and "
                f"{goal.name} has no relative effect ({r.note or 'analyse with relative=True'})"
            )
    return ArmDecision(t, action, r.diff, r.rel_diff, shown, tuple(rails), tuple(reasons), prog)  # type: ignore[arg-type]


def _table_withholds(r: ArmRow, res: ExperimentResult, alpha: float) -> str | None:
    """Why the result table does not call the goal row ``r`` significant at ``alpha`` though
    the decision's two-sided test does (as the table's ``significant`` is set: the Bayesian
    chance to be better, else the row's p-value after the analysis' correction and under its
    alternative), in words; ``None`` when it agrees."""
    o = res.options
    if o.bayesian and not is_missing(r.chance_to_win):
        if r.chance_to_win >= 1 - alpha:
            return None
        return (
            f"the result table does not call it significant: its chance to beat "
            f"{res.control} is {r.chance_to_win:.1%}, under {level_pct(1 - alpha)} "
            "(method='bayesian')"
        )
    if is_missing(r.p_value) or r.p_value < alpha:
        return None
    from ..options import CORRECTION_NAMES

    why = []
    if o.correction:
        why.append(
            f"{CORRECTION_NAMES.get(o.correction, o.correction)} correction across all "
            "metric × treatment comparisons"
        )
    alt = o.alternative_for(r.metric)
    if alt != "two-sided" and not o.sequential:
        why.append(f"one-sided test, H1: {alt}")
    return (
        f"the result table does not call it significant ({pval(r.p_value)}"
        + "".join(f", {w}" for w in why)
        + ")"
    )


#: The keyword arguments of ``res.decision(...)``: the design's parts, and the level.
_DECISION_ARGS = ("goal", "guardrails", "mde", "power", "alpha")


def decision_of(res: ExperimentResult, **design: Any) -> Decision:
    """``res.decision(goal=..., guardrails=..., mde=..., power=..., alpha=...)``: the given
    design parts replace the result's design; ``alpha`` (default: the result's) is the level of
    the decision's tests.

    Raises
    ------
    InvalidArgumentError
        An unknown keyword (it was a raw ``TypeError``), or a design part out of range.
    """
    from .._checks import did_you_mean

    unknown = [k for k in design if k not in _DECISION_ARGS]
    if unknown:
        raise InvalidArgumentError(
            f"decision() got an unknown argument {unknown[0]!r}"
            f"{did_you_mean(unknown[0], _DECISION_ARGS)} (it takes "
            f"{', '.join(_DECISION_ARGS)})"
        )
    alpha = design.pop("alpha", None)
    if alpha is not None:
        from .._checks import check

        check(alpha, "alpha", gt=0, lt=1)
    if not design:
        return decide(res, res.design, alpha=alpha)
    return decide(res, ExperimentDesign.build(**merge_design(res.design, design)), alpha=alpha)
