"""Inputs (per-arm sufficient statistics) and the two-sample result shared by every test.

Sufficient statistics are what the metric SQL returns per arm: the number of units ``n``, the sum
of the per-unit values and the sum of their squares (plus cross products for ratio and CUPED
metrics). Variances are sample variances (``ddof=1``) except for proportions, whose per-unit
variance is ``p (1 - p)`` as in PostHog and GrowthBook.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from .. import _html
from .._checks import check
from .._format import level_pct, num, pval
from ..errors import InvalidArgumentError

Alternative = Literal["two-sided", "greater", "less"]
RelMethod = Literal["delta", "log", "divide"]

# Sums of squares are computed in floating point (often by a database); a variance that is
# negative by less than this relative amount is rounding noise and is clamped to 0.
_REL_TOL = 1e-9


def _variance(n: float, total: float, total_sq: float, name: str) -> float:
    """Sample variance (ddof=1) from sums; clamp rounding noise, raise on a clearly negative value."""
    ss = total_sq - total * total / n
    if ss < 0:
        if -ss <= _REL_TOL * max(abs(total_sq), total * total / n, 1e-300):
            return 0.0
        raise InvalidArgumentError(
            f"{name} == {total_sq!r} gives a negative variance ({ss / (n - 1):.6g}); "
            "sums of squares must be >= sum**2 / n. Check that it is the sum of squared values."
        )
    return ss / (n - 1)


def _variance_bound(n: int, total: float, total_sq: float) -> float | None:
    """``None`` when ``total_sq − total²/n`` resolves the sum of squared deviations; else an
    upper bound on the sample variance the sums leave possible.

    Values of 1e12 varying by 0.1 have a sum of squares (5e24) whose rounding (~1e9) swamps
    their squared deviations (0.1): the difference comes out 0, or any value up to the rounding.
    Integer sums below 2**53 are exact, so their variance is resolved whatever it is (0 too);
    otherwise a naive sum of ``n`` terms is off by at most ``(n − 1)`` ulps of it, so the
    computed value is trusted only above ``(n + 2) eps max(total_sq, total²/n)``.
    """
    if total == int(total) and total_sq == int(total_sq) and abs(total_sq) <= 2**53:
        return None
    err = (n + 2) * np.finfo(float).eps * max(abs(total_sq), total * total / n)
    ss = total_sq - total * total / n
    return None if ss > err else (max(ss, 0.0) + err) / (n - 1)


def _variance_note(names: list[str], bounds: list[float]) -> str:
    """The note of a test that used :func:`_variance_bound` for the arms ``names``."""
    sds = " and ".join(f"~{math.sqrt(b):.2g}" for b in bounds)
    which = " and ".join(names)
    its = "the variances of " + which + " are" if len(names) > 1 else f"the variance of {which} is"
    return (
        f"{its} below the rounding of the sums of squares (SD up to "
        f"{sds}, unresolved): the test used that upper bound, so p and the CI are conservative; "
        "subtract a reference value (e.g. the control mean) from the values before summing"
    )


def _floats(values: Any, name: str) -> np.ndarray:
    """``values`` as a flat float array; text or ragged input is a named error."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"{name} must be numbers (a flat sequence or 1-D array): {err}"
        ) from None


def _covariance(n: float, x_total: float, y_total: float, xy_total: float) -> float:
    return (xy_total - x_total * y_total / n) / (n - 1)


def _check_n(n: Any, name: str = "n") -> int:
    check(n, name, integer=True)
    if n <= 1:
        raise InvalidArgumentError(
            f"{name} == {n!r}, must be >= 2: a variance needs at least two units per arm"
        )
    return int(n)


def _check_finite(value: Any, name: str) -> float:
    check(value, name)
    if math.isinf(value):
        raise InvalidArgumentError(f"{name} == {value!r}, must be finite")
    return float(value)


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))
        object.__setattr__(self, "total", _check_finite(self.total, "total"))
        object.__setattr__(self, "total_sq", _check_finite(self.total_sq, "total_sq"))
        if self.total_sq < 0:
            raise InvalidArgumentError(f"total_sq == {self.total_sq!r}, must be >= 0")
        _variance(self.n, self.total, self.total_sq, "total_sq")

    @classmethod
    def from_values(cls, values: Iterable[float] | np.ndarray) -> MeanStats:
        """Sufficient statistics of a 1-D array of per-unit values."""
        x = _floats(values, "values")
        return cls(int(x.size), float(x.sum()), float((x * x).sum()))

    @classmethod
    def from_moments(cls, n: int, mean: float, var: float) -> MeanStats:
        """Build from a count, a mean and a sample variance (ddof=1)."""
        n = _check_n(n)
        check(var, "var", ge=0)
        return cls(n, mean * n, var * (n - 1) + n * mean * mean)

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def var(self) -> float:
        """Sample variance of the per-unit values (ddof=1)."""
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))
        for name in ("num_total", "num_total_sq", "den_total", "den_total_sq", "num_den_total"):
            object.__setattr__(self, name, _check_finite(getattr(self, name), name))
        _variance(self.n, self.num_total, self.num_total_sq, "num_total_sq")
        _variance(self.n, self.den_total, self.den_total_sq, "den_total_sq")

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
        from .ratio import _ratio_var

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))
        for name in ("y_total", "y_total_sq", "x_total", "x_total_sq", "xy_total"):
            object.__setattr__(self, name, _check_finite(getattr(self, name), name))
        _variance(self.n, self.y_total, self.y_total_sq, "y_total_sq")
        _variance(self.n, self.x_total, self.x_total_sq, "x_total_sq")

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
        return cls(
            int(ya.size),
            float(ya.sum()),
            float((ya * ya).sum()),
            float(xa.sum()),
            float((xa * xa).sum()),
            float((xa * ya).sum()),
        )

    @property
    def y_mean(self) -> float:
        return self.y_total / self.n

    @property
    def x_mean(self) -> float:
        return self.x_total / self.n

    @property
    def y_var(self) -> float:
        return _variance(self.n, self.y_total, self.y_total_sq, "y_total_sq")

    @property
    def x_var(self) -> float:
        return _variance(self.n, self.x_total, self.x_total_sq, "x_total_sq")

    @property
    def xy_cov(self) -> float:
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
    :class:`MeanStats` do not resolve it, the upper bound used instead (else ``None``)."""
    if isinstance(arm, MeanStats):
        bound = _variance_bound(arm.n, arm.total, arm.total_sq)
        if bound is not None:
            return bound, bound
    return float(arm.var), None  # type: ignore[attr-defined]
