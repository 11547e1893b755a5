"""Paired offline differences with clusters and repeats (Miller 2024, "Adding Error Bars to Evals").

* :func:`cluster_mean` — mean of per-item differences with a cluster-robust (CR1) standard error:
  items of one cluster (questions on one passage, turns of one conversation) are not independent,
  so the variance sums residuals within a cluster before squaring. The small-sample factor is
  ``G / (G − 1) · (n − 1) / (n − 1) = G / (G − 1)`` (``statsmodels`` OLS on a constant with
  ``cov_type="cluster"``), and the interval uses Student's t with ``G − 1`` degrees of freedom.
* :func:`variance_components` — with ``K >= 2`` repeats per item, splits the variance of the
  differences into between-item ``ω²`` and within-item (sampling) ``σ²`` parts (one-way random
  effects ANOVA, method of moments): ``Var(mean over K repeats) = ω² + σ²/K``.
* :func:`design_items` / :func:`design_power` — Miller's sample size
  ``n = (z₁₋α/₂ + z₁₋β)² (ω² + σ²/K) / δ²`` and its inverse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import check
from ..errors import InvalidArgumentError
from . import _dist
from ._types import _floats

__all__ = [
    "ClusteredMean",
    "VarianceComponents",
    "cluster_mean",
    "design_items",
    "design_power",
    "variance_components",
]


def _no_missing_ids(ids: np.ndarray, what: str) -> None:
    """Refuse ``None``/NaN cluster ids: a missing id is no cluster, and pooling the items
    without one as if they shared one would understate the SE."""
    import pandas as pd

    missing = np.flatnonzero(pd.isna(ids))
    if missing.size:
        shown = ", ".join(str(i) for i in missing[:5]) + (", …" if missing.size > 5 else "")
        raise InvalidArgumentError(
            f"clusters has {missing.size} missing ids ({what} {shown}); give every {what[:-1]} "
            "its cluster, or drop those without one"
        )


@dataclass(frozen=True)
class ClusteredMean:
    """Mean of paired differences with its cluster-robust SE.

    ``design_effect`` is ``(se / se_iid)²``: how many times the variance exceeds what independent
    items would give (1 = clusters do not matter). ``p_value`` tests mean 0, two-sided, with
    Student's t on ``df = n_clusters − 1``. ``note`` explains degenerate input: when the
    clusters' mean differences coincide the cluster-robust SE is 0 although the items vary, and
    ``p_value`` and ``ci`` are NaN (no verdict from a variance that measured nothing).
    """

    estimate: float
    se: float
    se_iid: float
    design_effect: float
    ci: tuple[float, float]
    p_value: float
    n: int
    n_clusters: int
    df: float
    alpha: float
    method: str = "paired t, cluster-robust SE (CR1, G/(G−1))"
    note: str | None = None


def cluster_mean(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[object] | np.ndarray,
    *,
    alpha: float = 0.05,
) -> ClusteredMean:
    """Mean of ``values`` (per-item differences) with a cluster-robust standard error.

    Parameters
    ----------
    values
        One paired difference per item (version − baseline, in the metric's unit).
    clusters
        The cluster of each item (any hashable labels).
    alpha
        Two-sided level; the CI has level ``1 − alpha``.

    Returns
    -------
    ClusteredMean
        The SE equals ``statsmodels`` ``OLS(values, ones).fit(cov_type="cluster")``; H1: the
        mean difference is not 0.

    Raises
    ------
    InvalidArgumentError
        Lengths differ, fewer than 2 values, or fewer than 2 clusters.

    Examples
    --------
    >>> r = cluster_mean([0.1, 0.3, -0.1, 0.2], ["a", "a", "b", "b"])
    >>> round(r.estimate, 3), r.n_clusters
    (0.125, 2)
    """
    import scipy.stats

    check(alpha, "alpha", gt=0, lt=1)
    d = _floats(values, "values") if np.ndim(values) <= 1 else np.asarray(values, dtype=float)
    g = np.asarray(clusters, dtype=object)
    if d.shape != g.shape or d.ndim != 1:
        raise InvalidArgumentError(
            f"values has {d.size} entries but clusters has {g.size}; give one cluster per item"
        )
    if d.size < 2 or not np.isfinite(d).all():
        raise InvalidArgumentError("values needs at least 2 finite differences")
    _no_missing_ids(g, "items")
    _, codes = np.unique(g.astype(str), return_inverse=True)
    n, n_g = d.size, int(codes.max()) + 1
    if n_g < 2:
        raise InvalidArgumentError(
            "clusters has one cluster; a cluster-robust SE needs two or more"
        )
    est = float(d.mean())
    sums = np.bincount(codes, weights=d - est, minlength=n_g)
    factor = n_g / (n_g - 1)
    se = math.sqrt(factor * float(np.sum(sums**2))) / n
    # A cluster sum of residuals is 0 up to rounding when it is within a few ulps of the sum of
    # the magnitudes it adds (0.1 + 0.3 − 2 · 0.2 gives 5.6e-17, not 0): a p of 3e-17 then.
    scale = np.bincount(codes, weights=np.abs(d) + abs(est), minlength=n_g)
    if se <= 4 * np.finfo(float).eps * math.sqrt(factor * float(np.sum(scale**2))) / n:
        se = 0.0
    sd = float(d.std(ddof=1))
    # rounding leaves an SD of a few ulps of the values (0.1 + 0.2 vs 0.3: 3e-17), not more:
    # 1e12 ± 1 is spread
    spread = sd > 16 * np.finfo(float).eps * float(np.max(np.abs(d)))
    se_iid = sd / math.sqrt(n) if spread else 0.0
    df = float(n_g - 1)
    q = float(_dist.t_isf(alpha / 2, df))
    note = None
    if se > 0:
        p = float(2 * scipy.stats.t.sf(abs(est) / se, df))
        ci = (est - q * se, est + q * se)
    elif spread:
        p, ci = math.nan, (math.nan, math.nan)
        note = (
            f"the cluster-robust SE is 0 over {n_g} clusters although the items' differences "
            "vary (the clusters' mean differences coincide): no p-value or CI; add clusters"
        )
    else:
        p, ci = (1.0 if est == 0 else 0.0), (est, est)
        note = "every item has the same difference: it is exact (CI of width 0)"
    deff = (se / se_iid) ** 2 if se_iid > 0 else math.nan
    return ClusteredMean(
        est, se, se_iid, deff, ci, min(p, 1.0) if p == p else p, n, n_g, df, alpha, note=note
    )


@dataclass(frozen=True)
class VarianceComponents:
    """Between-item ``between`` (ω²) and within-item ``within`` (σ², one call's sampling noise)
    variance of the paired differences, in the metric's unit squared, from ``n_items`` items ×
    ``repeats`` repeats. ``between`` is clipped at 0 (its moment estimate can be negative)."""

    between: float
    within: float
    n_items: int
    repeats: int

    def var_of_item_mean(self, repeats: int) -> float:
        """``ω² + σ²/K``: the variance of one item's mean difference over ``repeats`` calls."""
        return self.between + self.within / repeats

    @property
    def share_within(self) -> float:
        """Share of one call's variance that is sampling noise, σ² / (ω² + σ²)."""
        total = self.between + self.within
        return self.within / total if total > 0 else math.nan


def variance_components(matrix: Sequence[Sequence[float]] | np.ndarray) -> VarianceComponents:
    """Split the variance of an items × repeats matrix of paired differences.

    ``σ²`` is the mean of the per-item sample variances (``ddof=1``); ``ω²`` is the sample
    variance of the item means minus ``σ²/K`` (clipped at 0).

    Raises
    ------
    InvalidArgumentError
        Not a 2-D matrix with at least 2 items and 2 repeats, or missing values.
    """
    try:
        m = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"matrix must be numbers (items × repeats, every row as long): {err}"
        ) from None
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise InvalidArgumentError(
            f"matrix has shape {m.shape}; need items × repeats with at least 2 of each"
        )
    if not np.isfinite(m).all():
        raise InvalidArgumentError("matrix has missing values; keep items with every repeat")
    k = m.shape[1]
    within = float(m.var(axis=1, ddof=1).mean())
    between = max(float(m.mean(axis=1).var(ddof=1)) - within / k, 0.0)
    return VarianceComponents(between, within, m.shape[0], k)


def _z(alpha: float, power: float) -> float:
    return float(_dist.norm_isf(alpha / 2) + _dist.norm_ppf(power))


def design_items(
    components: VarianceComponents,
    repeats: int,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Items needed to detect a mean difference ``mde`` with ``repeats`` calls per item and version:
    ``ceil((z₁₋α/₂ + z₁₋β)² (ω² + σ²/K) / δ²)`` (at least 2)."""
    check(repeats, "repeats", ge=1, integer=True)
    check(alpha, "alpha", gt=0, lt=1)
    check(power, "power", gt=0, lt=1)
    check(mde, "mde")
    if not math.isfinite(mde):
        raise InvalidArgumentError(f"mde == {mde!r}, must be finite: the effect to detect")
    if mde == 0:
        raise InvalidArgumentError(f"mde == {mde!r}; the effect to detect must be non-zero")
    n = _z(alpha, power) ** 2 * components.var_of_item_mean(int(repeats)) / mde**2
    return max(2, math.ceil(n - 1e-9))


def design_power(
    components: VarianceComponents, n_items: int, repeats: int, mde: float, *, alpha: float = 0.05
) -> float:
    """Power of the two-sided z test of the mean difference at ``n_items`` × ``repeats`` (a
    probability; ``alpha`` for ``mde`` 0)."""
    check(n_items, "n_items", ge=1, integer=True)
    check(repeats, "repeats", ge=1, integer=True)
    check(alpha, "alpha", gt=0, lt=1)
    check(mde, "mde")
    if not math.isfinite(mde):
        raise InvalidArgumentError(f"mde == {mde!r}; the effect must be a finite number")

    var = components.var_of_item_mean(int(repeats))
    if var <= 0:  # no noise: any effect is seen; none is the false-positive rate, alpha
        return 1.0 if mde != 0 else float(alpha)
    shift = abs(mde) / math.sqrt(var / n_items)
    za = _dist.norm_isf(alpha / 2)
    return float(_dist.norm_cdf(shift - za) + _dist.norm_cdf(-shift - za))
