"""Helpers for calibration by simulation: A/A false-positive rate and CI coverage at their nominal levels.

Vectorized: each study draws per-arm sufficient statistics for thousands of experiments with
numpy and runs them through the same array engine the scalar functions use. A rate passes
when it is within 3 Monte-Carlo standard errors of its target. Rare events (2 %) are studied
from 1,000 units per arm (20 expected events): below that no large-sample test is calibrated.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 0.05
RESULTS: dict[str, tuple[float, float]] = {}


def mc_se(rate: float, sims: int) -> float:
    return math.sqrt(rate * (1 - rate) / sims)


def assert_calibrated(
    name: str, fpr: float, coverage: float, sims: int, *, conservative: bool = False
) -> None:
    RESULTS[name] = (fpr, coverage)
    print(
        f"{name}: FPR {fpr:.4f}, coverage {coverage:.4f} ({sims} sims, 3 SE = {3 * mc_se(ALPHA, sims):.4f})"
    )
    tol = 3 * mc_se(ALPHA, sims)
    assert fpr <= ALPHA + tol, f"{name}: FPR {fpr}"
    assert coverage >= 1 - ALPHA - tol, f"{name}: coverage {coverage}"
    if not conservative:
        assert fpr >= ALPHA - tol, f"{name}: FPR {fpr}"
        assert coverage <= 1 - ALPHA + tol, f"{name}: coverage {coverage}"


def lognormal_sums(
    rng: np.random.Generator, sims: int, n: int, scale: float = 1.0
) -> tuple[np.ndarray, ...]:
    out_s, out_ss = np.empty(sims), np.empty(sims)
    rows = max(1, 4_000_000 // n)
    for start in range(0, sims, rows):
        stop = min(sims, start + rows)
        x = rng.lognormal(0.0, 1.0, size=(stop - start, n)) * scale
        out_s[start:stop], out_ss[start:stop] = x.sum(axis=1), (x * x).sum(axis=1)
    return out_s, out_ss


def moments_of(s: np.ndarray, ss: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    return s / n, (ss - s * s / n) / (n - 1)
