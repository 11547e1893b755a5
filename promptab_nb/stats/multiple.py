"""Multiple-comparison corrections of p-values (Holm, Benjamini–Hochberg)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from .._checks import one_of
from ..errors import InvalidArgumentError


def adjust_pvalues(
    p: Sequence[float] | np.ndarray, method: Literal["holm", "bh"] = "holm"
) -> list[float]:
    """Adjust p-values for testing several metrics or variants at once.

    Parameters
    ----------
    p
        Unadjusted p-values, each in [0, 1].
    method
        ``"holm"`` (step-down Bonferroni; controls the family-wise error rate) or ``"bh"``
        (Benjamini–Hochberg step-up; controls the false discovery rate for independent or
        positively dependent tests).

    Returns
    -------
    list of float
        Adjusted p-values in the input order (equal to
        ``statsmodels.stats.multitest.multipletests(p, method="holm" | "fdr_bh")[1]``).
    """
    one_of(method, "method", ("holm", "bh"))
    arr = np.asarray(p, dtype=float).ravel()
    if arr.size == 0:
        return []
    if np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
        raise InvalidArgumentError(f"p == {list(arr)!r}: every p-value must be in [0, 1]")
    m = arr.size
    order = np.argsort(arr, kind="mergesort")
    sorted_p = arr[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * sorted_p)
    else:
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * sorted_p[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(v) for v in out]
