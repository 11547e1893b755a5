"""Ratio metrics (``sum(num) / sum(den)`` per arm) compared by the delta method over units."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ._types import Alternative, Comparison, RatioStats, RelMethod, _test_variance
from .means import Dist, _check_common, _compare_core, _finish, _method_name


def _ratio_var(n: Any, num: Any, num_sq: Any, den: Any, den_sq: Any, num_den: Any) -> Any:
    """Per-unit delta-method variance of ``num/den``: Var(M)/D² + M² Var(D)/D⁴ − 2 M Cov/D³.

    M and D are per-unit means; Var and Cov are sample (n − 1) estimates. Divide by ``n`` for
    the squared standard error of the ratio. Arrays welcome.
    """
    n = np.asarray(n, dtype=float)
    m, d = np.asarray(num) / n, np.asarray(den) / n
    vm = (np.asarray(num_sq) - num * m) / (n - 1)
    vd = (np.asarray(den_sq) - den * d) / (n - 1)
    cov = (np.asarray(num_den) - num * d) / (n - 1)
    return _ratio_var_moments(m, d, vm, vd, cov)


def _ratio_var_moments(m: Any, d: Any, vm: Any, vd: Any, cov: Any) -> Any:
    """:func:`_ratio_var` from the per-unit means ``m``, ``d`` of numerator and denominator,
    their sample variances and covariance: ``Var(N − R D) / D̄²`` with ``R = m/d``.

    Written as the variance of the linearized unit (one product by ``R``, not the expanded
    ``Var N/D² + …`` whose terms cancel when ``R`` is large)."""
    m, d = np.asarray(m, dtype=float), np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = m / d
        var = (vm - 2 * r * cov + r * r * vd) / (d * d)
    # Rounding can leave a perfectly determined ratio a hair below 0.
    return np.maximum(var, 0.0)


def _flat_share_variance(arm: RatioStats) -> float | None:
    """The per-unit variance of a share of events (integer totals, ``0 <= num <= den``) whose
    delta-method variance is 0 (every unit at the same rate, e.g. no errors at all): that of
    its pooled events with one event counted and one not added (Agresti & Caffo 2000),
    ``p̃ (1 − p̃) n / den`` with ``p̃ = (num + 1) / (den + 2)``. ``None`` for any other arm."""
    num, den = arm.num_total, arm.den_total
    whole = num == int(num) and den == int(den)
    if not (whole and 0 <= num <= den and den > 0):
        return None
    # (0, or rounding noise against the binomial variance at the observed rate)
    if arm.var > 1e-9 * (num / den) * (1 - num / den) * arm.n / den:
        return None
    p = (num + 1) / (den + 2)
    return p * (1 - p) * arm.n / den


def _flat_arms_note(arms: dict[str, object]) -> str | None:
    """:func:`_flat_note` of the arms (name → stats) that are flat shares of events (their
    variance is Agresti–Caffo's), ``None`` when there is none."""
    flat = [k for k, a in arms.items() if isinstance(a, RatioStats) and _flat_share_variance(a)]
    return _flat_note(flat) if flat else None


def _flat_note(names: list[str]) -> str:
    which = " and ".join(names)
    return (
        f"the rate of {which} does not vary across units (e.g. no events counted), so the "
        "delta method gives it no variance: it takes that of its pooled events with one "
        "counted and one not added (Agresti–Caffo), which ignores clustering"
    )


def ratio_test(
    control: RatioStats,
    treatment: RatioStats,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    rel_method: RelMethod = "delta",
    alternative: Alternative = "two-sided",
    equal_var: bool = False,
) -> Comparison:
    """Compare ratio metrics ``sum(num)/sum(den)`` of two arms (delta method), two-sided by default.

    Each arm's ratio ``R = mean(num)/mean(den)`` gets the per-unit delta-method variance
    ``(Var N − 2 R Cov(N, D) + R² Var D) / mean(D)²`` (sample moments over units, so clustering of
    requests within users is respected), then a Welch t test (``equal_var=False``, default) or
    a Student t test with pooled variance (``equal_var=True``) as if it were a mean.

    Use it for per-request rates under user assignment (errors per request, cost per
    generation). Estimate in the metric's unit (num unit per den unit) or, with ``relative``, the
    lift as a fraction (``rel_method`` as in :func:`welch`).

    An arm that is a share of events (integer totals, numerator <= denominator) at the same
    rate in every unit (e.g. no errors) has no delta-method variance; it takes the binomial
    variance of its pooled events with one event counted and one not added (Agresti–Caffo),
    and the note says so (that variance ignores clustering).
    """
    _check_common(alpha, alternative, rel_method)
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, RatioStats):
            raise InvalidArgumentError(f"{name} is a {type(arm).__name__}, must be RatioStats")
        if arm.den_total == 0:
            raise InvalidArgumentError(
                f"{name} has no denominator events ({name}.den_total == 0): the ratio is undefined"
            )
    mc, mt = control.mean, treatment.mean
    # (a flat share takes the Agresti–Caffo variance, as in sequential and bayes)
    (vc, _), (vt, _) = _test_variance(control), _test_variance(treatment)
    flat = _flat_arms_note({"control": control, "treatment": treatment})
    dist: Dist = "student" if equal_var else "welch"
    core = _compare_core(
        mc, vc, control.n, mt, vt, treatment.n, alpha=alpha, relative=relative,
        rel_method=rel_method, alternative=alternative, dist=dist,
    )  # fmt: skip
    note = None
    if relative and mc == 0:
        note = "control ratio is 0: the relative effect is undefined; use relative=False"
    elif flat:
        note = flat
    elif vc == 0 and vt == 0:
        note = "zero variance in both arms: the difference is exact (CI of width 0)"
    base = f"ratio delta method, {'student' if equal_var else 'welch'} t"
    return _finish(
        core, method=_method_name(base, relative, rel_method), relative=relative, alpha=alpha,
        alternative=alternative, note=note,
    )  # fmt: skip
