"""Figures for results: forest plot of lifts, means per arm, effect over time, distributions per
arm, power curves, simulation studies and offline comparisons.

Every function builds a new :class:`PabFigure` (a matplotlib ``Figure``, never through pyplot,
so nothing lingers or is shown) inside the one :func:`theme`, and returns it. Colours come from
the colour-blind-safe Okabe–Ito :data:`PALETTE`, control first; arms also differ by marker. CI
bars say their level and axes say their unit. Plots draw what they are given: they run no SQL
and compute no statistics.

Importing this package changes no global state: rcParams stay as they were and no IPython
formatter is registered; a returned :class:`PabFigure` shows inline through its own
``_repr_png_``.

Modules: ``experiment`` (forest, means, cumulative), ``exposures`` (daily exposures per
arm), ``distribution``, ``planning`` (power
curve and simulation studies), ``offline``; the shared look is in ``_theme``.
"""

from __future__ import annotations

from ._means import means
from ._over_time import cumulative
from ._theme import MARKERS, PALETTE, THEME, PabFigure, colour, marker, theme, to_png
from .distribution import distribution
from .experiment import forest
from .exposures import daily_exposures
from .offline import offline_comparison
from .pairwise import pairwise_ranking
from .planning import aa_study, peeking_study, power_curve, power_study

__all__ = [
    "MARKERS",
    "PALETTE",
    "THEME",
    "PabFigure",
    "aa_study",
    "colour",
    "cumulative",
    "daily_exposures",
    "distribution",
    "forest",
    "marker",
    "means",
    "offline_comparison",
    "pairwise_ranking",
    "peeking_study",
    "power_curve",
    "power_study",
    "theme",
    "to_png",
]
