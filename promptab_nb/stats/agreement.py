"""Agreement between raters (an LLM judge and people): Cohen's κ, Krippendorff's α, and the
sensitivity and specificity of a pass/fail judge against human labels.

Pure functions over label arrays; the judge-facing result is
:func:`promptab_nb.offline.judge_agreement`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import check
from ..errors import InvalidArgumentError
from ._dist import norm_isf

__all__ = ["Kappa", "cohens_kappa", "confusion", "krippendorff_alpha"]


@dataclass(frozen=True)
class Kappa:
    """Cohen's κ of two raters with its asymptotic SE (Fleiss, Cohen & Everitt 1969) and a
    normal CI bounded to [−1, 1]; ``observed`` and ``expected`` are the agreement shares it
    compares. ``note`` says why the SE and CI are withheld (NaN) when they are."""

    kappa: float
    se: float
    ci: tuple[float, float]
    observed: float
    expected: float
    n: int
    note: str | None = None


def _missing(v: object) -> bool:
    """None, NaN, or pandas' NA (whose ``!=`` has no truth value)."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except TypeError:
        return True


def confusion(
    a: Sequence[object] | np.ndarray, b: Sequence[object] | np.ndarray
) -> tuple[list[object], np.ndarray]:
    """Categories (sorted) and the table ``T[i, j]`` = items rated ``cat[i]`` by ``a`` and
    ``cat[j]`` by ``b``."""
    aa, bb = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if aa.shape != bb.shape:
        raise InvalidArgumentError(f"a has {aa.size} labels but b has {bb.size}; pair them")
    for name, labels in (("a", aa), ("b", bb)):
        # Missing is not a category (None and NaN were counted as ratings).
        gaps = [i for i, v in enumerate(labels.tolist()) if _missing(v)]
        if gaps:
            raise InvalidArgumentError(
                f"{name} has no label at position {gaps[0]} ({len(gaps)} missing in all); "
                "leave out the items a rater did not label"
            )
    cats = sorted(set(aa.tolist()) | set(bb.tolist()), key=lambda c: (str(type(c)), c))
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, ([index[x] for x in aa], [index[x] for x in bb]), 1)
    return cats, table


def cohens_kappa(
    a: Sequence[object] | np.ndarray,
    b: Sequence[object] | np.ndarray,
    *,
    alpha: float = 0.05,
    names: tuple[str, str] = ("a", "b"),
) -> Kappa:
    """Cohen's κ = (p_o − p_e) / (1 − p_e) of two raters over the same items.

    Equals ``statsmodels.stats.inter_rater.cohens_kappa(table)`` (κ and its SE); the normal CI
    is bounded to [−1, 1]. H0 for the CI's reading: agreement no better than chance (κ = 0).
    When the asymptotic SE is 0 (a rater gives one category, so κ is 0 whatever the other
    says; or every item agrees, or none does) a CI of width 0 would claim certainty from any
    number of items: the SE and CI are NaN and ``note`` says why. ``names`` name the raters in
    that note.

    Raises
    ------
    InvalidArgumentError
        Lengths differ, no items, bad ``alpha``, or one category only (κ undefined).
    """
    check(alpha, "alpha", gt=0, lt=1)
    cats, t = confusion(a, b)
    n = float(t.sum())
    if n == 0:
        raise InvalidArgumentError("no items to compare")
    p = t / n
    rows, cols = p.sum(1), p.sum(0)
    po, pe = float(np.trace(p)), float(rows @ cols)
    if pe >= 1:
        raise InvalidArgumentError("both raters use one category only: κ is undefined")
    k = (po - pe) / (1 - pe)
    term_a = float(np.sum(np.diag(p) * (1 - (rows + cols) * (1 - k)) ** 2))
    off = p * (cols[:, None] + rows[None, :]) ** 2
    np.fill_diagonal(off, 0)
    term_b = (1 - k) ** 2 * float(off.sum())
    term_c = (k - pe * (1 - k)) ** 2
    se = math.sqrt(max(term_a + term_b - term_c, 0.0) / (1 - pe) ** 2 / n)
    note = None
    for name, margin in zip(names, (rows, cols), strict=True):
        if np.count_nonzero(margin) == 1:
            only = cats[int(np.flatnonzero(margin)[0])]
            note = (
                f"{name} gives one category only ({only!r}) over {int(n)} items: κ is 0 "
                "whatever the other rater says; no CI"
            )
            break
    if note is None and not se > 0:
        what = "every item agrees" if po == 1 else "no item agrees" if po == 0 else "SE is 0"
        note = f"{what} over {int(n)} items: the asymptotic SE of κ is 0; no CI"
    if note is not None:
        return Kappa(k, math.nan, (math.nan, math.nan), po, pe, int(n), note)
    z = float(norm_isf(alpha / 2))
    ci = (max(-1.0, k - z * se), min(1.0, k + z * se))
    return Kappa(k, se, ci, po, pe, int(n))


def krippendorff_alpha(ratings: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Krippendorff's α for nominal labels: raters × items, ``NaN`` where a rater gave none.

    ``α = 1 − D_o / D_e`` from the coincidence matrix; items with fewer than two labels are left
    out. Equals ``krippendorff.alpha(ratings, level_of_measurement="nominal")``.

    Raises
    ------
    InvalidArgumentError
        Not 2-D, or fewer than two labelled values in any item.
    """
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 2:
        raise InvalidArgumentError(f"ratings has shape {r.shape}; need raters × items")
    values = np.unique(r[~np.isnan(r)])
    if values.size == 0:
        raise InvalidArgumentError("ratings has no labels")
    # counts[u, c]: raters who put item u in category c
    counts = np.stack([(r == v).sum(axis=0) for v in values], axis=1).astype(float)
    m_u = counts.sum(axis=1)
    keep = m_u >= 2
    if not keep.any():
        raise InvalidArgumentError("no item has labels from two raters")
    counts, m_u = counts[keep], m_u[keep]
    # Coincidences o[c, k] = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1)
    weighted = counts / (m_u - 1)[:, None]
    o = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_o = o.sum() - np.trace(o)
    d_e = (n * n - float(n_c @ n_c)) / (n - 1)
    if d_e == 0:
        return 1.0 if d_o == 0 else math.nan
    return float(1 - d_o / d_e)
