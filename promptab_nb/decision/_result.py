"""The decision objects: per-guardrail checks, per-arm decisions and the :class:`Decision`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._format import is_missing, pval
from .._render import Note, Rendered, Table

if TYPE_CHECKING:
    from ..results import ExperimentResult
    from ._design import ExperimentDesign

Action = Literal["ship", "dont_ship", "keep_running", "no_effect"]
Status = Literal["pass", "fail", "pending"]
#: Actions in the order a summary prefers them when arms disagree.
ACTIONS: tuple[Action, ...] = ("ship", "keep_running", "dont_ship", "no_effect")
#: What each action says to a person.
HEADLINE = {
    "ship": "Ship",
    "dont_ship": "Don't ship",
    "keep_running": "Keep running",
    "no_effect": "No effect",
}
#: The tone of each action on every surface (report card, dashboard, CLI).
TONE = {"ship": "good", "dont_ship": "bad", "keep_running": "neutral", "no_effect": "neutral"}


@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail on one treatment arm: ``status`` is ``pass`` (non-inferior at the margin,
    or no significant regression without a margin), ``fail`` (significantly worse than the
    margin) or ``pending``. p-values are Holm-adjusted across arms."""

    metric: str
    variant: str
    margin: str | None
    effect: str
    p_within: float
    p_beyond: float
    status: Status
    #: Why a ``pending`` check has no test (the row's note: its verdict withheld, nothing
    #: measured, ...); ``None`` otherwise.
    note: str | None = None

    def sentence(self) -> str:
        if self.margin is None:
            if self.status == "fail":
                return f"guardrail {self.metric} is significantly worse: {self.effect} ({pval(self.p_within)})"
            if self.status == "pending":
                shown = "; ".join(x for x in (self.effect, self.note) if x and x != "–")
                return f"guardrail {self.metric} has no test yet ({shown or '–'})"
            return f"guardrail {self.metric} shows no significant regression ({self.effect})"
        if self.status == "pass":
            return (
                f"guardrail {self.metric} is within its margin {self.margin}: {self.effect} "
                f"(non-inferiority {pval(self.p_within)})"
            )
        if self.status == "fail":
            return (
                f"guardrail {self.metric} is worse than its margin {self.margin}: {self.effect} "
                f"({pval(self.p_beyond)})"
            )
        test = f"no test: {self.note}" if self.note else f"non-inferiority {pval(self.p_within)}"
        return (
            f"guardrail {self.metric} not yet shown within its margin {self.margin}: "
            f"{self.effect} ({test})"
        )


def share_text(share: float) -> str:
    """A share of the planned sample as whole percent, rounded down: 0.996 → ``99%``, so a plan
    not yet reached never reads ``100%``."""
    return f"{math.floor(round(share * 100, 9))}%"


@dataclass(frozen=True)
class Progress:
    """Planned sample (units over all arms) from the MDE, the share of it reached, days still
    needed at ``rate`` units per day (NaN when the design has no MDE or no estimate yet, or
    the rate of new units is unknown; the
    planned units and days are ``inf``, the share 0, when the MDE is too small to detect with
    any sample)."""

    planned_units: float
    share: float
    days_needed: float
    rate: float

    def sentence(self) -> str:
        if is_missing(self.share):
            return "planned sample unknown (declare an mde)"
        if math.isinf(self.planned_units):
            return (
                "0% of the planned sample reached: the mde is too small to detect with any sample"
            )
        # (a plan beyond any traffic in words: an mde of 1e-150 s printed 301-digit numbers)
        planned = self.planned_units
        units = f"{math.ceil(planned):,}" if planned < 1e12 else f"{planned:.3g}"
        text = f"{share_text(self.share)} of the planned {units} units reached"
        if self.share < 1 and not is_missing(self.rate) and self.rate > 0:
            if self.days_needed > _CENTURY:
                return (
                    f"{text}; more than 100 years at {self.rate:,.0f} units/day: the mde is "
                    "too small for this traffic"
                )
            text += f"; about {self.days_needed:,.0f} more day(s) at {self.rate:,.0f} units/day"
        return text


#: Days in a century: a plan needing more reads "more than 100 years".
_CENTURY = 36_525


def _versus(res: ExperimentResult, goal: str, best: str, ships: list[str]) -> str:
    """Whether ``best``, the shipping arm with the largest improvement, beats the other
    shipping arms on ``goal`` (the pairwise tests of ``res.all_pairs``): "Ship b" read as "b
    is the winner" beside a c whose difference from b was far from significant."""
    others = [v for v in ships if v != best]
    pairs = {
        frozenset((p.a, p.b)): p for group in res.pairs if group.metric == goal for p in group.pairs
    }
    said = []
    for o in others:
        p = pairs.get(frozenset((best, o)))
        if p is None or is_missing(p.p_adjusted):
            said.append(f"not compared with {o}")
        elif p.significant:
            said.append(f"significantly better than {o} ({pval(p.p_adjusted)})")
        else:
            said.append(f"not significantly better than {o} ({pval(p.p_adjusted)})")
    return (
        f"{best} has the largest improvement of the arms that ship ({', '.join(ships)}); it is "
        + ", ".join(said)
        + f" in res.all_pairs({goal!r})"
    )


@dataclass(frozen=True)
class ArmDecision:
    """The decision on one treatment arm against the control."""

    variant: str
    action: Action
    goal_diff: float
    goal_rel_diff: float
    goal_p: float
    guardrails: tuple[GuardrailCheck, ...]
    reasons: tuple[str, ...]
    progress: Progress


@dataclass(frozen=True, repr=False)
class Decision(Rendered):
    """What to do with an experiment: ``action`` (``ship``, ``dont_ship``, ``keep_running`` or
    ``no_effect``), the ``recommended`` arm when shipping, the ``reasons`` in words and the
    per-arm detail (``arms``). Renders in Jupyter and prints in a terminal."""

    experiment: str
    control: str
    action: Action
    recommended: str | None
    reasons: tuple[str, ...]
    arms: tuple[ArmDecision, ...]
    design: ExperimentDesign
    alpha: float
    sequential: bool = False

    @classmethod
    def of(
        cls,
        res: ExperimentResult,
        design: ExperimentDesign,
        arms: tuple[ArmDecision, ...],
        alpha: float,
        note: str | None = None,
    ) -> Decision:
        actions = {a.action for a in arms}
        action: Action = next((x for x in ACTIONS if x in actions), "keep_running")
        ships = [a for a in arms if a.action == "ship"]
        best = None
        if ships:
            goal = res.metric(design.goal)  # type: ignore[arg-type]
            sign = 1 if goal.direction == "higher" else -1
            best = max(ships, key=lambda a: sign * a.goal_diff).variant
        # an experiment-wide line (a sample ratio mismatch) is said once, not once per arm
        reasons = list(dict.fromkeys(r for a in arms for r in a.reasons))
        if best is not None and len(ships) > 1:
            top = next(a for a in ships if a.variant == best).goal_diff
            tied = [a.variant for a in ships if a.goal_diff == top]
            if len(tied) > 1:
                # (max() took the first: "b has the largest improvement" of two equal ones)
                reasons.append(
                    f"{' and '.join(tied)} tie on the largest improvement of the arms that ship; "
                    f"{best} is recommended as the first listed"
                )
            else:
                reasons.append(_versus(res, design.goal, best, [a.variant for a in ships]))  # type: ignore[arg-type]
        if note:
            reasons.append(note)
        return cls(
            res.experiment, res.control, action, best, tuple(reasons), arms, design, alpha,
            res.options.sequential,
        )  # fmt: skip

    @property
    def headline(self) -> str:
        """One line: the action and, when shipping, the arm."""
        head = HEADLINE[self.action]
        return f"{head} {self.recommended}" if self.recommended else head

    @property
    def tone(self) -> str:
        return TONE[self.action]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (the CLI's ``--json``)."""
        return {
            "action": self.action,
            "recommended": self.recommended,
            "headline": self.headline,
            "reasons": list(self.reasons),
            "design": self.design.describe(),
            "arms": [
                {
                    "variant": a.variant,
                    "action": a.action,
                    "goal_p": a.goal_p,
                    "guardrails": [asdict(g) for g in a.guardrails],
                    "progress": asdict(a.progress),
                }
                for a in self.arms
            ],
        }

    def _records(self) -> list[dict[str, Any]]:
        return [
            {"variant": a.variant, "action": a.action, "goal_p": a.goal_p,
             "share_of_plan": a.progress.share, "days_needed": a.progress.days_needed}
            for a in self.arms
        ]  # fmt: skip

    def _table(self) -> Table:
        rows = []
        for a in self.arms:
            rows.append([a.variant, HEADLINE[a.action], pval(a.goal_p).removeprefix("p = ").removeprefix("p ")]
                        + ["; ".join(f"{g.metric} {g.status}" for g in a.guardrails) or "–",
                           "–" if is_missing(a.progress.share) else share_text(a.progress.share)])  # fmt: skip
        return Table(
            [
                "arm",
                "decision",
                "goal p (Holm)" if len(self.arms) > 1 else "goal p",
                "guardrails",
                "planned sample",
            ],
            rows,
            title=f"Decision: {self.headline}",
            before=[Note(tuple(self.reasons), css=f"verdict {self.tone}", bullets=True)],
            after=[Note(tuple(self.design.describe()), title="Design")],
        )
