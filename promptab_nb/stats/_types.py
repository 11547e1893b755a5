"""Inputs (per-arm sufficient statistics) and the two-sample result shared by every test.

Sufficient statistics are what the metric SQL returns per arm: the number of units ``n``, the sum
of the per-unit values and the sum of their squares (plus cross products for ratio and CUPED
metrics). Variances are sample variances (``ddof=1``) except for proportions, whose per-unit
variance is ``p (1 - p)`` as in PostHog and GrowthBook.

``total_sq − total²/n`` loses ~``(mean/sd)²`` of the variance's digits (values of 1e8 ± 1 lose
all of them), so each type optionally carries ``centred``: its second moments about the arm's
means (``Σ(v − v̄)²``, and the centred cross products), which ``from_values``, ``from_moments``
and the analysis SQL fill in from sums of values minus a reference near the mean
(:func:`centred_sums`). Variances and covariances are read from them when given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from .. import _html
from .._checks import check
from .._format import level_pct, num, pval
from ..errors import InvalidArgumentError

# (re-exported: tests and other modules import these from here)
from ._sums import (  # noqa: F401
    _REL_TOL,
    _centred_values,
    _check_centred,
    _check_finite,
    _check_n,
    _covariance,
    _floats,
    _variance,
    _variance_bound,
    _variance_note,
    centred_cross,
    centred_sums,
)

Alternative = Literal["two-sided", "greater", "less"]
RelMethod = Literal["delta", "log", "divide"]


@dataclass(frozen=True)
class MeanStats:
    """One arm of a mean metric: ``n`` units, sum and sum of squares of the per-unit values.

    Raises :class:`InvalidArgumentError` for ``n <= 1``, non-finite sums, or a sum of squares
    that implies a clearly negative variance (tiny negatives from rounding are clamped to 0).

    Examples
    --------
    >>> MeanStats.from_values([1.0, 2.0, 4.0]).mean
    2.3333333333333335
    """

    n: int
    total: float
    total_sq: float
    #: ``Σ(v − mean)²`` when known (``from_values``, ``from_moments``, the analysis SQL): the
    #: variance is then ``centred / (n − 1)``, free of the cancellation in the raw sums.
    centred: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))
        object.__setattr__(self, "total", _check_finite(self.total, "total"))
        object.__setattr__(self, "total_sq", _check_finite(self.total_sq, "total_sq"))
        if self.total_sq < 0:
            raise InvalidArgumentError(f"total_sq == {self.total_sq!r}, must be >= 0")
        raw = [(self.total, self.total_sq, "total_sq")]
        c = _check_centred(self.centred, self.n, raw)
        object.__setattr__(self, "centred", None if c is None else c[0])
        if c is None:
            _variance(self.n, self.total, self.total_sq, "total_sq")

    @classmethod
    def from_values(cls, values: Iterable[float] | np.ndarray) -> MeanStats:
        """Sufficient statistics of a 1-D array of per-unit values (with their centred sum of
        squares, so the variance keeps its digits whatever the mean)."""
        x = _floats(values, "values")
        (d,) = _centred_values(x)
        c = centred_sums(x.size, float(d.sum()), float((d * d).sum()))
        return cls(int(x.size), float(x.sum()), float((x * x).sum()), centred=c)

    @classmethod
    def from_moments(cls, n: int, mean: float, var: float) -> MeanStats:
        """Build from a count, a mean and a sample variance (ddof=1), kept exactly."""
        n = _check_n(n)
        check(var, "var", ge=0)
        return cls(n, mean * n, var * (n - 1) + n * mean * mean, centred=var * (n - 1))

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def var(self) -> float:
        """Sample variance of the per-unit values (ddof=1)."""
        if self.centred is not None:
            return self.centred / (self.n - 1)
        return _variance(self.n, self.total, self.total_sq, "total_sq")

    @property
    def sd(self) -> float:
        return math.sqrt(self.var)


@dataclass(frozen=True)
class PropStats:
    """One arm of a proportion metric: ``successes`` of ``n`` units.

    The per-unit variance is ``p (1 - p)`` (no ``n - 1`` correction), as in PostHog and GrowthBook.
    """

    n: int
    successes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))
        check(self.successes, "successes", ge=0, integer=True)
        if self.successes > self.n:
            raise InvalidArgumentError(
                f"successes == {self.successes!r}, must be <= n == {self.n}: "
                "count each unit at most once"
            )
        object.__setattr__(self, "successes", int(self.successes))

    @property
    def mean(self) -> float:
        return self.successes / self.n

    @property
    def var(self) -> float:
        p = self.mean
        return p * (1.0 - p)

    @property
    def sd(self) -> float:
        return math.sqrt(self.var)


def _init_pair(arm: Any, names: tuple[str, str, str, str, str], what: str) -> None:
    """Check and normalise an arm of two per-unit variables: ``n``, its five sums ``names``
    (total and sum of squares of each variable, then the cross products) and ``centred``
    (``what`` names its three moments in the error)."""
    object.__setattr__(arm, "n", _check_n(arm.n))
    for name in names:
        object.__setattr__(arm, name, _check_finite(getattr(arm, name), name))
    raw = [(getattr(arm, names[i]), getattr(arm, names[i + 1]), names[i + 1]) for i in (0, 2)]
    c = _check_centred(arm.centred, arm.n, raw)
    if c is not None and len(c) != 3:
        raise InvalidArgumentError(f"centred has {len(c)} values; need 3 ({what})")
    object.__setattr__(arm, "centred", c)
    if c is None:
        for total, total_sq, name in raw:
            _variance(arm.n, total, total_sq, name)


@dataclass(frozen=True)
class RatioStats:
    """One arm of a ratio metric ``sum(num) / sum(den)`` over ``n`` units.

    ``num_*`` and ``den_*`` are sums and sums of squares of the per-unit numerator and
    denominator, ``num_den_total`` the sum of their per-unit products.
    """

    n: int
    num_total: float
    num_total_sq: float
    den_total: float
    den_total_sq: float
    num_den_total: float
    #: ``(Σ(N − N̄)², Σ(D − D̄)², Σ(N − N̄)(D − D̄))`` when known: the variances and covariance
    #: are then read from them, free of the cancellation in the raw sums.
    centred: tuple[float, float, float] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        _init_pair(
            self, ("num_total", "num_total_sq", "den_total", "den_total_sq", "num_den_total"),
            "num, den, cross",
        )  # fmt: skip

    @classmethod
    def from_values(
        cls, num: Iterable[float] | np.ndarray, den: Iterable[float] | np.ndarray
    ) -> RatioStats:
        """Sufficient statistics of per-unit numerators ``num`` and denominators ``den`` (with
        their centred second moments)."""
        a, b = _floats(num, "num"), _floats(den, "den")
        if a.shape != b.shape:
            raise InvalidArgumentError(f"num has {a.size} values but den has {b.size}; pair them")
        cov = CovStats.from_values(a, b)  # (y = num, x = den: the same five sums)
        c = cov.centred
        return cls(
            cov.n, cov.y_total, cov.y_total_sq, cov.x_total, cov.x_total_sq, cov.xy_total,
            centred=None if c is None else (c[0], c[1], c[2]),
        )  # fmt: skip

    @property
    def num_mean(self) -> float:
        return self.num_total / self.n

    @property
    def den_mean(self) -> float:
        return self.den_total / self.n

    @property
    def mean(self) -> float:
        """The ratio ``sum(num) / sum(den)`` (NaN when the denominator sums to 0)."""
        return self.num_total / self.den_total if self.den_total != 0 else math.nan

    @property
    def var(self) -> float:
        """Per-unit delta-method variance of the ratio (divide by ``n`` for its squared SE)."""
        from .ratio import _ratio_var, _ratio_var_moments

        if self.centred is not None:
            vn, vd, cov = (c / (self.n - 1) for c in self.centred)
            return float(_ratio_var_moments(self.num_mean, self.den_mean, vn, vd, cov))
        return float(
            _ratio_var(
                self.n,
                self.num_total,
                self.num_total_sq,
                self.den_total,
                self.den_total_sq,
                self.num_den_total,
            )
        )


@dataclass(frozen=True)
class CovStats:
    """One arm of a CUPED metric: outcome ``y`` and pre-period covariate ``x`` sums per unit."""

    n: int
    y_total: float
    y_total_sq: float
    x_total: float
    x_total_sq: float
    xy_total: float
    #: ``(Σ(y − ȳ)², Σ(x − x̄)², Σ(x − x̄)(y − ȳ))`` when known: the variances and covariance
    #: are then read from them, free of the cancellation in the raw sums.
    centred: tuple[float, float, float] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        _init_pair(
            self, ("y_total", "y_total_sq", "x_total", "x_total_sq", "xy_total"), "y, x, cross"
        )

    @classmethod
    def from_values(
        cls, y: Iterable[float] | np.ndarray, x: Iterable[float] | np.ndarray
    ) -> CovStats:
        """Sufficient statistics of per-unit outcomes ``y`` and covariates ``x``."""
        ya, xa = _floats(y, "y"), _floats(x, "x")
        if ya.shape != xa.shape:
            raise InvalidArgumentError(
                f"y has {ya.size} values but x has {xa.size}; pair them per unit"
            )
        dy, dx = _centred_values(ya, xa)
        sy, sx = float(dy.sum()), float(dx.sum())
        vy = centred_sums(ya.size, sy, float((dy * dy).sum()))
        vx = centred_sums(ya.size, sx, float((dx * dx).sum()))
        cxy = centred_cross(ya.size, sx, sy, float((dx * dy).sum()))
        resolved = vy is not None and vx is not None and cxy is not None
        return cls(
            int(ya.size),
            float(ya.sum()),
            float((ya * ya).sum()),
            float(xa.sum()),
            float((xa * xa).sum()),
            float((xa * ya).sum()),
            centred=(vy, vx, cxy) if resolved else None,  # type: ignore[arg-type]
        )

    @property
    def y_mean(self) -> float:
        return self.y_total / self.n

    @property
    def x_mean(self) -> float:
        return self.x_total / self.n

    @property
    def y_var(self) -> float:
        if self.centred is not None:
            return self.centred[0] / (self.n - 1)
        return _variance(self.n, self.y_total, self.y_total_sq, "y_total_sq")

    @property
    def x_var(self) -> float:
        if self.centred is not None:
            return self.centred[1] / (self.n - 1)
        return _variance(self.n, self.x_total, self.x_total_sq, "x_total_sq")

    @property
    def xy_cov(self) -> float:
        if self.centred is not None:
            return self.centred[2] / (self.n - 1)
        return _covariance(self.n, self.x_total, self.y_total, self.xy_total)


@dataclass(frozen=True)
class Comparison:
    """Result of a two-sample comparison of treatment against control.

    ``estimate`` is ``treatment − control`` in the metric's unit, or the relative lift
    ``treatment / control − 1`` (a fraction) when ``relative`` is true. ``ci_low``/``ci_high``
    bound it at level ``1 − alpha`` (one-sided bounds are infinite). ``p_value`` tests no
    difference against ``alternative``. ``note`` explains degenerate input.
    """

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    statistic: float
    df: float | None
    method: str
    relative: bool
    alpha: float
    se: float = math.nan
    alternative: str = "two-sided"
    note: str | None = None

    @property
    def ci(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    @property
    def significant(self) -> bool:
        return bool(self.p_value < self.alpha)

    def _unit(self) -> str:
        return "%" if self.relative else ""

    def __repr__(self) -> str:
        unit = self._unit()
        est = num(self.estimate, unit, signed=True)
        lo, hi = num(self.ci_low, unit, signed=True), num(self.ci_high, unit, signed=True)
        text = f"{self.method}: {est} [{lo}, {hi}] ({level_pct(1 - self.alpha)} CI), {pval(self.p_value)}"
        return text + (f" — {self.note}" if self.note else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_polars(self) -> Any:
        import polars as pl

        return pl.DataFrame([self.to_dict()])

    def _repr_html_(self) -> str:
        unit = self._unit()
        row = [
            self.method,
            num(self.estimate, unit, signed=True),
            f"[{num(self.ci_low, unit, signed=True)}, {num(self.ci_high, unit, signed=True)}]",
            pval(self.p_value),
        ]
        header = [
            "method",
            "relative lift" if self.relative else "difference",
            f"{level_pct(1 - self.alpha)} CI",
            "p",
        ]
        body = _html.table(header, [row], caption=self.note)
        return str(_html.el("div", body, class_="pab"))


def _test_variance(arm: object) -> tuple[float, float | None]:
    """The per-unit variance a test should use for ``arm`` and, when the sums of a
    :class:`MeanStats` do not resolve it, the upper bound used instead (else ``None``); a flat
    share of events, Agresti–Caffo's (:func:`~promptab_nb.stats.ratio._flat_share_variance`)."""
    if isinstance(arm, MeanStats) and arm.centred is None:
        bound = _variance_bound(arm.n, arm.total, arm.total_sq)
        if bound is not None:
            return bound, bound
    if isinstance(arm, RatioStats):
        from .ratio import _flat_share_variance

        flat = _flat_share_variance(arm)
        if flat is not None:
            return flat, None
    return float(arm.var), None  # type: ignore[attr-defined]
