"""Offline experiments: run prompt versions over a dataset with a model, score, compare paired.

>>> import promptab_nb as pab
>>> ws = pab.Workspace()
>>> ds = pab.offline.Dataset.from_records([{"q": "2+2", "expected": "4"}, {"q": "3+3", "expected": "6"}])
>>> run = ws.run_offline(ds, [("math", "{{q}}"), ("math", "Think step by step: {{q}}")],
...                      pab.offline.DemoModel(), progress=False)
>>> run.repeats
3
"""

from __future__ import annotations

from ._ppi import PPIComparison, PPIRow, ppi_compare
from ._promptfoo import from_promptfoo
from ._run import OfflineRun, RunList
from .compare import LivePlan, MetricComparison, OfflineComparison
from .dataset import Dataset, Item
from .judges import JudgeAgreement, judge_agreement
from .models import DemoModel, ModelOutputError, RetryableError, openai_compatible
from .pairwise import DemoJudge, PairwiseResult, run_pairwise
from .planning import Design, DesignPlan, plan
from .prompts import PromptRegistry, PromptVersion
from .runner import run_offline
from .scorers import (
    Score,
    Scorer,
    contains,
    custom,
    exact,
    json_field_equals,
    json_valid,
    llm_judge,
    numeric_close,
    regex,
)

__all__ = [
    "Dataset",
    "DemoJudge",
    "DemoModel",
    "Design",
    "DesignPlan",
    "Item",
    "JudgeAgreement",
    "LivePlan",
    "MetricComparison",
    "ModelOutputError",
    "OfflineComparison",
    "OfflineRun",
    "PPIComparison",
    "PPIRow",
    "PairwiseResult",
    "PromptRegistry",
    "PromptVersion",
    "RetryableError",
    "RunList",
    "Score",
    "Scorer",
    "contains",
    "custom",
    "exact",
    "from_promptfoo",
    "json_field_equals",
    "json_valid",
    "judge_agreement",
    "llm_judge",
    "numeric_close",
    "openai_compatible",
    "plan",
    "ppi_compare",
    "regex",
    "run_offline",
    "run_pairwise",
]
