"""Guardrail checks of a decision: each guardrail's non-inferiority test at its margin (Holm
across arms), and the regression checks the CLI's ``--fail-on-regression`` reads."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .._format import is_missing, num
from ..errors import InvalidArgumentError
from ._design import Margin
from ._result import GuardrailCheck, Status
from ._tests import Excess, excess, holm_adjusted, improvement, no_test_reason

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..results import ArmRow, ExperimentResult


def arm_row(res: ExperimentResult, metric: str, variant: str) -> ArmRow:
    for r in res.rows:
        if r.metric == metric and r.variant == variant:
            return r
    raise KeyError((metric, variant))


def effect_text(r: ArmRow, m: Metric, relative: bool) -> str:
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
    return check_guardrails(res, rails, list(res.variants)[1:], a)


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


def check_guardrails(
    res: ExperimentResult, rails: dict[str, Margin | None], treatments: list[str], alpha: float
) -> dict[str, list[GuardrailCheck]]:
    out: dict[str, list[GuardrailCheck]] = {t: [] for t in treatments}
    for name, margin in rails.items():
        m = res.metric(name)
        control = arm_row(res, name, res.control)
        rows = [arm_row(res, name, t) for t in treatments]
        if margin is None:
            tests = [improvement(r, m) for r in rows]
            adj = holm_adjusted([p for p, _ in tests])
            for t, r, (_, sign), p in zip(treatments, rows, tests, adj, strict=True):
                bad = p < alpha and sign < 0
                status: Status = "fail" if bad else ("pass" if not is_missing(p) else "pending")
                out[t].append(
                    GuardrailCheck(name, t, None, effect_text(r, m, True), p, math.nan, status,
                                   no_test_reason(r, p, relative=False))
                )  # fmt: skip
            continue
        exc: list[Excess] = [excess(r, m, margin, control.mean) for r in rows]
        within = holm_adjusted([e.p_within() for e in exc])
        beyond = holm_adjusted([e.p_beyond() for e in exc])
        for t, r, pw, pb in zip(treatments, rows, within, beyond, strict=True):
            status_: Status = "pass" if pw < alpha else ("fail" if pb < alpha else "pending")
            out[t].append(
                GuardrailCheck(name, t, margin.text, effect_text(r, m, margin.relative), pw, pb,
                               status_, no_test_reason(r, pw, relative=margin.relative))
            )  # fmt: skip
    return out
