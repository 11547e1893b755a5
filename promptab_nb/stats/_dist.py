"""The normal, Student t and chi-square functions of the analysis path, from ``scipy.special``.

They are the functions ``scipy.stats.norm``/``t``/``chi2`` call (``ndtri``, ``ndtr``,
``stdtrit``, ``stdtr``, ``chdtrc``), so the results are the same, but importing
``scipy.stats`` costs about 0.9 s and ``scipy.special`` about a third of that: a notebook's
first analysis (and every CLI run) waits less. Tests compare each one with ``scipy.stats``.
Modules that need more of ``scipy.stats`` import it inside the function that uses it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

_SQRT_2PI = math.sqrt(2 * math.pi)


def norm_ppf(q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Quantile of the normal distribution (``scipy.stats.norm.ppf``)."""
    return loc + scale * special.ndtri(q)


def norm_cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Normal CDF (``scipy.stats.norm.cdf``)."""
    return special.ndtr((np.asarray(x, dtype=float) - loc) / scale)


def norm_sf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Normal survival function, 1 − CDF without cancellation (``scipy.stats.norm.sf``)."""
    return special.ndtr((loc - np.asarray(x, dtype=float)) / scale)


def norm_pdf(x: Any) -> Any:
    """Standard normal density (``scipy.stats.norm.pdf``)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def t_ppf(q: Any, df: Any) -> Any:
    """Quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    q = np.asarray(q, dtype=float)
    out = np.where(q == 0, -np.inf, np.where(q == 1, np.inf, special.stdtrit(df, q)))
    return out[()]


def t_cdf(x: Any, df: Any) -> Any:
    """Student's t CDF (``scipy.stats.t.cdf``)."""
    return special.stdtr(df, x)


def t_sf(x: Any, df: Any) -> Any:
    """Student's t survival function (``scipy.stats.t.sf``)."""
    return special.stdtr(df, -np.asarray(x, dtype=float))


def chi2_sf(x: Any, df: Any) -> Any:
    """Chi-square survival function (``scipy.stats.chi2.sf``)."""
    return special.chdtrc(df, x)
