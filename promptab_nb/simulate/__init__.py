"""Synthetic PostHog-shaped traffic with known effects, and A/A, power and peeking studies.

``traffic`` writes exports (Parquet, JSON lines, CSV) that the loaders read like real ones and
returns the truth an analysis should recover. The studies run thousands of simulated
experiments at once (vectorized numpy) and report error rates with their Monte-Carlo error.
"""

from __future__ import annotations

from ._params import DEFAULT_BASELINE
from ._peeking import PeekingResult, peeking
from ._studies import AAResult, PowerResult, aa, power
from ._traffic import traffic
from ._truth import SimulationTruth

__all__ = [
    "DEFAULT_BASELINE",
    "AAResult",
    "PeekingResult",
    "PowerResult",
    "SimulationTruth",
    "aa",
    "peeking",
    "power",
    "traffic",
]
