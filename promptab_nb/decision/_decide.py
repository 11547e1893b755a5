"""From an analysis to a decision: ship, dont_ship, keep_running or no_effect (per arm and
overall), with the reasons in words. The tests are in :mod:`._tests`, the guardrail checks in
:mod:`._guardrails`, the planned sample and the MDE rule in :mod:`._progress`; the rules:

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
from typing import TYPE_CHECKING, Any

from .._format import is_missing, level_pct, pval
from ..errors import InvalidArgumentError
from ._design import ExperimentDesign, merge_design
from ._guardrails import arm_row, check_guardrails, effect_text
from ._progress import excludes_mde, progress_of
from ._result import ArmDecision, Decision, GuardrailCheck, Progress
from ._tests import holm_adjusted, improvement

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..results import ArmRow, ExperimentResult


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
    grows = [arm_row(res, goal.name, t) for t in treatments]
    tests = [improvement(r, goal) for r in grows]
    adj = holm_adjusted([p for p, _ in tests])
    # A goal declared one-sided toward its improvement is shipped on that test (the table's),
    # a regression still seen by the two-sided one.
    one_sided = _one_sided(res, goal)
    better = (
        holm_adjusted(
            [_better_p(r, p, sign, res) for r, (p, sign) in zip(grows, tests, strict=True)]
        )
        if one_sided
        else adj
    )
    rails = check_guardrails(res, design.guardrails, treatments, a)
    progress = progress_of(res, design, goal, treatments, a, one_sided=one_sided)
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
    effect = f"{goal.name} {effect_text(r, goal, rel)} ({side}{pval(shown)}{holm})"
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
        and (ruled := excludes_mde(r, goal, design.mde, res.alpha))
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
