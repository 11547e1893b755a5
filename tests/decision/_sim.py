"""Simulated experiments for the decision tests: per-arm sufficient statistics of normal
per-user values drawn exactly (mean ~ N, sum of squares from χ²), then the real result builder."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from promptab_nb import stats as st
from promptab_nb.analysis import _build
from promptab_nb.analysis.estimators import Arm, UserMean
from promptab_nb.decision import ExperimentDesign
from promptab_nb.metrics import BUILTIN
from promptab_nb.options import AnalysisOptions


def stub(design: ExperimentDesign, arms: tuple[str, ...] = ("control", "test")) -> Any:
    share = 100.0 / len(arms)
    return SimpleNamespace(
        name="sim", prompt_name=None, flag_key=None, variants={k: str(i) for i, k in enumerate(arms)},
        split={k: share for k in arms}, control=arms[0], is_expired=False, ends_at=None,
        design=design,
    )  # fmt: skip


def sums(
    rng: np.random.Generator, n: int, mean: float, sd: float, sims: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares of ``n`` normal values, ``sims`` times (exact distribution)."""
    xbar = rng.normal(mean, sd / np.sqrt(n), sims)
    ss = sd**2 * rng.chisquare(n - 1, sims)
    return n * xbar, ss + n * xbar**2


def result(
    exp: Any,
    metrics: dict[str, dict[str, tuple[int, float, float]]],
    missing: dict[str, dict[str, float]] | None = None,
    **options: Any,
):
    """An ExperimentResult from per-metric, per-arm (n, sum, sum of squares); ``missing``:
    metric → arm → the share of its events without a value (one event per unit)."""
    opts = AnalysisOptions(metrics=list(metrics), unit="user", **options)
    per_metric = []
    for name, arms in metrics.items():
        est = UserMean(BUILTIN[name], opts)
        share = (missing or {}).get(name, {})
        per_metric.append(
            (est, {k: Arm(n, st.MeanStats(n, float(s), float(q)), n, int(share.get(k, 0) * n))
                   for k, (n, s, q) in arms.items()})
        )  # fmt: skip
    counts = {k: n for k, (n, _, _) in next(iter(metrics.values())).items()}
    health = _build.health(exp, counts, 0, "exclude")
    return _build.build_result(exp, per_metric, health, opts, (), ())
