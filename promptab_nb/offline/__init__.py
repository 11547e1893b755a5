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

from ._run import OfflineRun, RunList
from .compare import LivePlan, MetricComparison, OfflineComparison
from .dataset import Dataset, Item
from .models import DemoModel, ModelOutputError, RetryableError, openai_compatible
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
    "DemoModel",
    "Item",
    "LivePlan",
    "MetricComparison",
    "ModelOutputError",
    "OfflineComparison",
    "OfflineRun",
    "PromptRegistry",
    "PromptVersion",
    "RetryableError",
    "RunList",
    "Score",
    "Scorer",
    "contains",
    "custom",
    "exact",
    "json_field_equals",
    "json_valid",
    "llm_judge",
    "numeric_close",
    "openai_compatible",
    "regex",
    "run_offline",
]
