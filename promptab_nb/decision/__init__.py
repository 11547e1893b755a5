"""Decisions: an experiment's goal, guardrails and MDE (:class:`ExperimentDesign`) turn its
analysis into ship / dont_ship / keep_running / no_effect (:class:`Decision`).

``res.decision()`` is the entry point; the report, the dashboard and the CLI show the same
object. The rules are in :mod:`._decide`, the tests in :mod:`._tests`.
"""

from __future__ import annotations

from ._decide import decide, decision_of
from ._design import (
    DesignChange,
    ExperimentDesign,
    Margin,
    design_changes,
    parse_margin,
    set_design,
)
from ._guardrails import guardrail_checks, regression_checks
from ._result import (
    ACTIONS,
    HEADLINE,
    TONE,
    Action,
    ArmDecision,
    Decision,
    GuardrailCheck,
    Progress,
)

__all__ = [
    "ACTIONS",
    "HEADLINE",
    "TONE",
    "Action",
    "ArmDecision",
    "Decision",
    "DesignChange",
    "ExperimentDesign",
    "GuardrailCheck",
    "Margin",
    "Progress",
    "decide",
    "decision_of",
    "design_changes",
    "guardrail_checks",
    "parse_margin",
    "regression_checks",
    "set_design",
]
