"""The estimator base: where sums come from (:class:`Scope`), one arm (:class:`Arm`), the
:class:`Estimator` interface every metric kind implements, and helpers the kinds share.

The kinds themselves live in :mod:`promptab_nb.analysis.estimators` (means, ratios, CUPED,
per request) and :mod:`promptab_nb.analysis._quantile_estimators` (quantiles).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import stats as st
from ..stats import arms as arm_ci
from . import _scope

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..metrics import Metric
    from ..options import AnalysisOptions

NAN = float("nan")
MULTIPLE = _scope.MULTIPLE


@dataclass(frozen=True)
class Scope:
    """Where an estimator's sums come from: the engine, the experiment, the query parameters,
    the per-unit table and the metric's column index ``i`` in it (``n{i}``/``d{i}``)."""

    engine: Engine
    exp: Experiment
    params: dict[str, Any]
    units: str
    i: int
    design: _scope.Design = _scope.Design()


@dataclass(frozen=True)
class Arm:
    """One arm: its number of units (or events) and its statistics, ``None`` under 2 units.

    ``events`` and ``missing``: the arm's in-scope events of the metric's table and how many of
    them carry no value (an unpriced generation has no cost): missing is never read as zero.
    """

    n: int
    stats: Any
    events: int = 0
    missing: int = 0
    #: Why ``stats`` is ``None`` although the arm has units (sums that overflow).
    note: str | None = None
    #: The mean of an arm of one unit (``stats`` is ``None``), in the metric's unit: one
    #: observation has a mean, only its CI and a test need two. NaN otherwise, and where that
    #: one value has no mean (a rate whose unit has no denominator).
    mean: float = NAN


OVERFLOW_NOTE = (
    "the sums of this metric overflow (values near 1e308?): no statistics; "
    "fix the data or winsorize"
)


def make_arm(n: Any, build: Any, *sums: Any, mean: Callable[..., float] | None = None) -> Arm:
    """The arm of ``n`` units with sums ``sums``: its statistics ``build(n, *sums)`` from two
    units on; with one unit only its mean, ``mean(*sums)`` (the sums as floats)."""
    n = int(n or 0)
    if n >= 2 and not all(math.isfinite(float(x or 0.0)) for x in sums):
        # Absurd values (e.g. 1e308 USD) make float sums infinite: this metric cannot be
        # analysed, the others still can.
        return Arm(n, None, note=OVERFLOW_NOTE)
    if n == 1 and mean is not None:
        return Arm(1, None, mean=one_mean(mean, *(float(x or 0.0) for x in sums)))
    return Arm(n, build(n, *sums) if n >= 2 else None)


def one_mean(mean: Callable[..., float], *sums: float) -> float:
    """``mean(*sums)``, NaN where it is undefined (a zero denominator) or not finite."""
    try:
        value = float(mean(*sums))
    except ZeroDivisionError:
        return NAN
    return value if math.isfinite(value) else NAN


def first_sum(total: float, *_: float) -> float:
    """The mean of one unit whose first sum is its value (a sum, count or mean)."""
    return total


def with_missing(arms: dict[str, Arm], rows: list[tuple[Any, ...]]) -> dict[str, Arm]:
    """``arms`` with (variant, events, missing) rows attached."""
    out = dict(arms)
    for variant, events, missing in rows:
        if variant in out:
            a = out[variant]
            out[variant] = replace(a, events=int(events or 0), missing=int(missing or 0))
    return out


@dataclass(frozen=True)
class QuantileSample:
    """One arm's event values for a quantile metric (exact order-statistic CIs need them) and,
    per user, each value's user index (``clusters``)."""

    values: np.ndarray
    q: float
    clusters: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.values.size)


class Estimator:
    """Base class: per-arm statistics → arm summary and treatment-vs-control comparison."""

    #: Test name shown in the result rows.
    test_name: ClassVar[str] = ""
    #: Why no always-valid sequential test exists (``None``: it does); shown as a note.
    sequential_note: ClassVar[str | None] = None
    #: Why no Gaussian Bayesian analysis applies (``None``: it does); shown as a note.
    bayes_note: ClassVar[str | None] = None
    #: Whether ``options.winsorize`` clamps its values (per-unit or per-event sums, counts and
    #: means); rates, ratios and quantiles are never winsorized.
    winsorizes: ClassVar[bool] = False

    def __init__(self, metric: Metric, options: AnalysisOptions) -> None:
        self.metric = metric
        self.options = options

    # -- data ---------------------------------------------------------------------------
    def arms(self, scope: Scope) -> dict[str, Arm]:
        """Variant key → the arm's size and typed statistics (arms without units are absent)."""
        raise NotImplementedError

    # -- statistics ---------------------------------------------------------------------
    def summary(self, arm: Any) -> tuple[float, float, float]:
        """(mean, CI low, CI high) of one arm, in the metric's unit."""
        lo, hi = arm_ci.mean_ci(arm, alpha=self.options.alpha)
        return float(arm.mean), float(lo), float(hi)

    def test(self, c: Any, t: Any, *, relative: bool) -> Any:
        """The fixed-horizon test of treatment − control (relative: treatment / control − 1)."""
        return st.welch(
            c, t, alpha=self.options.alpha, relative=relative, alternative=self.alternative
        )

    def plain(self, arm: Any) -> Any:
        """The arm as the sequential and Bayesian functions take it."""
        return arm

    @property
    def alternative(self) -> Any:
        """The alternative hypothesis of this metric's test (``options.alternative``)."""
        return self.options.alternative_for(self.metric.name)

    def covariate_note(self, arms: dict[str, Arm]) -> str | None:
        """Why a variance reduction adjusted nothing on these ``arms`` (``None``: it did, or
        the estimator has none); added to the metric's methods line."""
        return None

    def methods_text(self) -> str:
        """The methods-section sentence, with the alternative when it is one-sided."""
        h1 = {"less": "<", "greater": ">"}.get(self.alternative)
        text = self._methods()
        if h1 and self.options.sequential and self.sequential_note is None:
            # the always-valid p-value and sequence replace the one-sided test's
            return (
                f"{text}; the sequential test is two-sided (the one-sided H1: treatment {h1} "
                "control applies to fixed-horizon tests only)"
            )
        if h1 and self.options.bayesian and type(self).bayes_note is None:
            # (the verdict and `significant` read the chance to be better either way)
            return (
                f"{text}; one-sided, H1: treatment {h1} control for the p-value; the Bayesian "
                "verdict reads the chance to be better in either direction"
            )
        return f"{text}; one-sided, H1: treatment {h1} control" if h1 else text

    def _methods(self) -> str:
        raise NotImplementedError


def linear(n: int, mean: float, var: float) -> st.MeanStats:
    """A :class:`MeanStats` with this mean and per-unit variance (a linearized arm), the
    variance kept exactly (``centred``; the raw sum of squares alone rounds it away when the
    mean is large against the spread)."""
    ss = (n - 1) * max(var, 0.0)
    return st.MeanStats(n, n * mean, ss + n * mean * mean, centred=ss)


def missing_rows(scope: Scope, metric: Metric) -> list[tuple[Any, ...]]:
    """(variant, events, events without a value) of a sum or mean metric, from the unit table."""
    if metric.agg not in ("sum", "mean"):
        return []
    t, x = f"t{scope.i}", f"x{scope.i}"
    return scope.engine.fetch(
        f"SELECT variant, sum({t}), sum({x}) FROM {scope.units} "
        f"WHERE variant <> '{MULTIPLE}' GROUP BY variant"
    )
