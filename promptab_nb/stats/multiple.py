"""Multiple-comparison corrections of p-values (family-wise: Bonferroni, Šidák, Holm, Hochberg;
false discovery rate: Benjamini–Hochberg, Benjamini–Yekutieli)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from .._checks import one_of
from ..errors import InvalidArgumentError

Method = Literal["holm", "bh", "bonferroni", "sidak", "hochberg", "by"]
METHODS: tuple[Method, ...] = ("holm", "bh", "bonferroni", "sidak", "hochberg", "by")
#: The name of each method in ``statsmodels.stats.multitest.multipletests``.
STATSMODELS = {
    "holm": "holm",
    "bh": "fdr_bh",
    "bonferroni": "bonferroni",
    "sidak": "sidak",
    "hochberg": "simes-hochberg",
    "by": "fdr_by",
}


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: Method = "holm") -> list[float]:
    """Adjust p-values for testing several metrics or variants at once.

    Parameters
    ----------
    p
        Unadjusted p-values, each in [0, 1].
    method
        Family-wise error rate: ``"bonferroni"`` (``m p``), ``"sidak"`` (``1 − (1 − p)^m``,
        exact for independent tests), ``"holm"`` (step-down Bonferroni, any dependence) or
        ``"hochberg"`` (step-up; independent or positively dependent tests). False discovery
        rate: ``"bh"`` (Benjamini–Hochberg step-up; independent or positively dependent
        tests) or ``"by"`` (Benjamini–Yekutieli, BH × Σ 1/i; any dependence).

    Returns
    -------
    list of float
        Adjusted p-values in the input order (equal to
        ``statsmodels.stats.multitest.multipletests(p, method=STATSMODELS[method])[1]``).
    """
    one_of(method, "method", METHODS)
    try:
        arr = np.asarray(p, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"p == {p!r}: every p-value must be a number in [0, 1] ({err})"
        ) from None
    if arr.size == 0:
        return []
    if np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
        raise InvalidArgumentError(f"p == {list(arr)!r}: every p-value must be in [0, 1]")
    m = arr.size
    order = np.argsort(arr, kind="mergesort")
    sorted_p = arr[order]
    if method == "bonferroni":
        adj = m * sorted_p
    elif method == "sidak":
        with np.errstate(divide="ignore"):  # p = 1 gives log(0) = −inf, i.e. adjusted 1
            adj = -np.expm1(m * np.log1p(-np.minimum(sorted_p, 1.0)))
    elif method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * sorted_p)
    elif method == "hochberg":
        adj = np.minimum.accumulate((np.arange(m) + 1) * sorted_p[::-1])[::-1]
    else:
        scale = m / np.arange(m, 0, -1)
        if method == "by":
            scale = scale * np.sum(1.0 / np.arange(1, m + 1))
        adj = np.minimum.accumulate(scale * sorted_p[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(v) for v in out]
