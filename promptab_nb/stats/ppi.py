"""Prediction-powered inference (PPI++, Angelopoulos, Duchi & Zrnic 2023) for a mean.

Many items carry a cheap judge label ``Ŷ``; a few also carry the human label ``Y``. The PPI++
estimate of the mean of ``Y`` is ``λ·mean(Ŷ on unlabelled) + mean(Y − λŶ on labelled)``: the
judge's mean corrected by its bias measured on the labelled items. ``λ`` (in [0, 1]) minimises
the variance; ``λ = 0`` is the human-only mean, ``λ = 1`` plain PPI. The interval is a normal
interval with ``SE² = λ² Var(Ŷ_unl)/N + Var(Y − λŶ)/n`` (population variances). Every number
equals ``ppi_py.ppi_mean_pointestimate`` / ``ppi_mean_ci`` with ``lam=None``.
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

__all__ = ["PPIMean", "ppi_mean"]


@dataclass(frozen=True)
class PPIMean:
    """PPI++ estimate of a mean with its CI, the classical (human-only) one beside it.

    ``lam`` is the power-tuning weight of the judge; ``correlation`` the judge–human
    correlation on the labelled items; ``effective_n`` the number of human labels a human-only
    estimate would need for the same SE.
    """

    estimate: float
    ci: tuple[float, float]
    se: float
    lam: float
    classical: float
    classical_ci: tuple[float, float]
    classical_se: float
    correlation: float
    n_labeled: int
    n_unlabeled: int
    alpha: float

    @property
    def effective_n(self) -> float:
        if self.se <= 0:
            return math.inf
        return self.n_labeled * (self.classical_se / self.se) ** 2


def _arr(x: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    a = _floats(x, name)
    if not np.isfinite(a).all():
        raise InvalidArgumentError(f"{name} has missing or infinite values")
    return a


def ppi_mean(
    y: Sequence[float] | np.ndarray,
    yhat: Sequence[float] | np.ndarray,
    yhat_unlabeled: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    lam: float | None = None,
) -> PPIMean:
    """PPI++ mean of the human labels ``y`` using judge labels on every item.

    Parameters
    ----------
    y, yhat
        Human and judge labels of the labelled items (same length, same order).
    yhat_unlabeled
        Judge labels of the items without a human label.
    alpha
        Two-sided level; the CI has level ``1 − alpha``.
    lam
        Fix the judge weight (``1``: plain PPI, ``0``: human labels only); default tuned.

    Returns
    -------
    PPIMean
        In the labels' unit (a fraction for pass/fail labels).

    Raises
    ------
    InvalidArgumentError
        Fewer than 2 labelled or 1 unlabelled item, lengths differ, or ``lam`` outside [0, 1].

    Examples
    --------
    >>> r = ppi_mean([1, 0, 1, 1], [1, 0, 1, 0], [1, 1, 0, 1, 0, 1])
    >>> round(r.estimate, 3) == round(r.classical, 3) or 0 <= r.lam <= 1
    True
    """

    check(alpha, "alpha", gt=0, lt=1)
    ya, ha, hu = _arr(y, "y"), _arr(yhat, "yhat"), _arr(yhat_unlabeled, "yhat_unlabeled")
    if ya.size != ha.size:
        raise InvalidArgumentError(f"y has {ya.size} labels but yhat has {ha.size}; pair them")
    if ya.size < 2 or hu.size < 1:
        raise InvalidArgumentError(
            f"{ya.size} labelled and {hu.size} unlabelled items; PPI needs >= 2 and >= 1"
        )
    n, big_n = ya.size, hu.size
    if lam is None:
        # Tune λ at the plain-PPI estimate (as ppi_py): λ = Cov(Y, Ŷ) / ((1 + n/N) Var(Ŷ)).
        theta = hu.mean() + (ya - ha).mean()
        g, gh = ya - theta, ha - theta
        cov = 2 * float(np.mean((g - g.mean()) * (gh - gh.mean())))
        var = float(np.var(np.concatenate([gh, hu - theta]), ddof=1))
        lam = 0.0 if var == 0 else float(np.clip(cov / (2 * (1 + n / big_n) * var), 0, 1))
    else:
        check(lam, "lam", ge=0, le=1)
    est = float(lam * hu.mean() + (ya - lam * ha).mean())
    se = math.sqrt((lam * hu).std() ** 2 / big_n + (ya - lam * ha).std() ** 2 / n)
    z = float(_dist.norm_isf(alpha / 2))
    c_est, c_se = float(ya.mean()), float(ya.std()) / math.sqrt(n)
    corr = float(np.corrcoef(ya, ha)[0, 1]) if ya.std() > 0 and ha.std() > 0 else math.nan
    return PPIMean(
        est, (est - z * se, est + z * se), se, float(lam), c_est,
        (c_est - z * c_se, c_est + z * c_se), c_se, corr, n, big_n, alpha,
    )  # fmt: skip
