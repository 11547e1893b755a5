"""Sums → variances: rounding-aware sample variances from raw or centred sums, and the checks
the sufficient-statistics types (:mod:`._types`) share."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check
from ..errors import InvalidArgumentError

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
        "build the arms with from_values, or pass centred= (the sum of squared deviations "
        "from the mean, e.g. var_samp · (n − 1))"
    )


def centred_sums(n: Any, shifted: Any, shifted_sq: Any) -> float | None:
    """``Σ(v − v̄)²`` from the sum and sum of squares of ``v − c`` (any reference ``c`` near the
    mean: the smaller ``|v̄ − c|``, the fewer digits cancel). ``None`` when those sums do not
    resolve it either (:func:`_variance_bound`) or are missing (SQL NULL: no values)."""
    if shifted is None or shifted_sq is None or not n or int(n) < 2:
        return None
    n, s, ss = int(n), float(shifted), float(shifted_sq)
    if not (math.isfinite(s) and math.isfinite(ss)) or _variance_bound(n, s, ss) is not None:
        return None
    return max(ss - s * s / n, 0.0)


def centred_cross(n: Any, a: Any, b: Any, ab: Any) -> float | None:
    """``Σ(a − ā)(b − b̄)`` from the sums of ``a − ca``, ``b − cb`` and of their products
    (``None`` when a sum is missing or not finite)."""
    if a is None or b is None or ab is None or not n or int(n) < 2:
        return None
    out = float(ab) - float(a) * float(b) / int(n)
    return out if math.isfinite(out) else None


def _centred_values(*cols: np.ndarray) -> list[np.ndarray]:
    """Each column minus its mean (a reference near every value: exact differences)."""
    return [c - c.mean() if c.size else c for c in cols]


def _check_centred(
    centred: Any, n: int, raw: list[tuple[float, float, str]]
) -> tuple[float, ...] | None:
    """``centred`` (second moments about the means) as floats. Its first ``len(raw)`` entries
    are sums of squared deviations, checked against the raw sums ``(total, total_sq, name)``
    within their rounding; any further ones are cross products (any sign)."""
    if centred is None:
        return None
    vals = tuple(centred) if isinstance(centred, tuple | list) else (centred,)
    out = tuple(_check_finite(v, "centred") for v in vals)
    for (total, total_sq, name), c in zip(raw, out, strict=False):
        if c < 0:
            raise InvalidArgumentError(
                f"centred == {c!r} for {name}: a sum of squared deviations must be >= 0"
            )
        ss = total_sq - total * total / n
        err = (n + 2) * np.finfo(float).eps * max(abs(total_sq), total * total / n)
        if abs(ss - c) > 4 * err + 1e-6 * max(abs(ss), c) + 1e-300:
            raise InvalidArgumentError(
                f"centred == {c!r} disagrees with {name} (which gives {ss!r} about the mean): "
                "pass the sum of squared deviations from the mean, Σ(v − mean)²"
            )
    return out


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


def shifted_total(n: Any, total: Any, shifted: Any, shift: Any) -> float:
    """The sum of ``n`` values from the sum ``shifted`` of the values minus ``shift`` (a value
    near their mean): ``n·shift + shifted`` carries the mean to the last digits, where a plain
    floating-point ``total`` (e.g. a database's running sum) drifts by ~``√n ε`` of it.
    ``float(total)`` (0 for NULL) when it is an integer below 2**53 (exact: counts stay
    integers), or ``shifted`` or ``shift`` is missing or not finite."""
    exact = float(total or 0.0)
    if shifted is None or shift is None or not n:
        return exact
    if exact.is_integer() and abs(exact) <= 2**53:
        return exact  # (an integer sum is exact already: counts stay integers)
    out = int(n) * float(shift) + float(shifted)
    return out if math.isfinite(out) else float(total or 0.0)
