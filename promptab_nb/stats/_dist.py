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
# Past this many trials the log-gamma terms of a binomial pmf (~n log n) carry absolute errors
# of ~0.01 that cancel into a ~1 % pmf error (1e12 trials); scipy.stats.binom (Boost) does not.
_LGAMMA_MAX_N = 10**8


def norm_ppf(q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Quantile of the normal distribution (``scipy.stats.norm.ppf``)."""
    return loc + scale * special.ndtri(q)


def norm_isf(q: Any) -> Any:
    """Upper-tail quantile of the standard normal: the ``z`` with ``P(Z > z) = q``
    (``scipy.stats.norm.isf``).

    Critical values come from here, as ``norm_isf(alpha / 2)``: ``norm_ppf(1 - alpha / 2)``
    rounds ``1 - alpha / 2`` to 1.0 below alpha ~ 1e-16 and returns inf, and loses digits of
    ``alpha`` well before that (``1 - 1e-10`` keeps ~6 of them). The tail probability itself
    carries full precision down to the smallest float.
    """
    return 0.0 - special.ndtri(q)  # 0.0 - : the median is +0.0, not -0.0


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


def t_isf(q: Any, df: Any) -> Any:
    """Upper-tail quantile of Student's t: the ``t`` with ``P(T > t) = q`` (``scipy.stats.t.isf``).

    Critical values come from here, as ``t_isf(alpha / 2, df)``, for the reason given in
    :func:`norm_isf`.
    """
    q = np.asarray(q, dtype=float)
    upper = 0.0 - special.stdtrit(df, q)
    # stdtrit overflows to +inf (the wrong sign) far in the tail at moderate df (q = 1e-300 at
    # df = 5 or 11, where t ~ 1e60 or 5e27): there, invert P(T > t) = I_x(df/2, 1/2) / 2 with
    # x = df / (df + t²) directly.
    bad = (q > 0) & (q < 0.5) & ~(upper > 0)
    if np.any(bad):
        with np.errstate(divide="ignore", invalid="ignore"):
            x = special.betaincinv(np.asarray(df, dtype=float) / 2, 0.5, 2 * q)
            far = np.where(x > 0, np.sqrt(df * (1 - x) / x), np.inf)
        upper = np.where(bad, far, upper)
    out = np.where(q == 0, np.inf, np.where(q == 1, -np.inf, upper))
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


def _binom_pmf(k: float, n: int, p: float) -> float:
    """Binomial probability of ``k`` successes in ``n`` trials (``scipy.stats.binom.pmf``)."""
    if k < 0 or k > n:
        return 0.0
    if p in (0.0, 1.0):
        return float(k == (n if p == 1.0 else 0))
    if n > _LGAMMA_MAX_N:
        import scipy.stats

        return float(scipy.stats.binom.pmf(k, n, p))
    log = (
        special.gammaln(n + 1)
        - special.gammaln(k + 1)
        - special.gammaln(n - k + 1)
        + special.xlogy(k, p)
        + special.xlog1py(n - k, -p)
    )
    return float(math.exp(log))


def _binom_cdf(k: float, n: int, p: float) -> float:
    """P(X ≤ k) of a binomial (``scipy.stats.binom.cdf``)."""
    if k < 0:
        return 0.0
    # The regularized incomplete beta (Boost's, as scipy.stats.binom) is accurate in both
    # tails; special.bdtr loses ~1e-9 relative at n ~ 1e6.
    return 1.0 if k >= n else float(special.betainc(n - k, k + 1, 1 - p))


def _binom_sf(k: float, n: int, p: float) -> float:
    """P(X > k) of a binomial (``scipy.stats.binom.sf``)."""
    if k < 0:
        return 1.0
    return 0.0 if k >= n else float(special.betainc(k + 1, n - k, p))


def _search(a: Any, d: float, lo: float, hi: float) -> float:
    """The index ``i`` in ``[lo, hi]`` with ``a(i) <= d < a(i + 1)`` (``a`` ascending)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = a(mid)
        if value < d:
            lo = mid + 1
        elif value > d:
            hi = mid - 1
        else:
            return mid
    return lo if a(lo) <= d else lo - 1


def binom_test_p(k: int, n: int, p: float) -> float:
    """Two-sided p-value of the exact binomial test of ``k`` successes in ``n`` trials against
    success probability ``p`` (``scipy.stats.binomtest(k, n, p).pvalue``): the probability of
    every outcome no more likely than ``k`` (within a relative 1e-7, as scipy)."""
    d = _binom_pmf(k, n, p)
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _search(lambda x: -_binom_pmf(x, n, p), -d * rerr, math.ceil(p * n), n)
        y = n - ix + int(d * rerr == _binom_pmf(ix, n, p))
        pval = _binom_cdf(k, n, p) + _binom_sf(n - y, n, p)
    else:
        ix = _search(lambda x: _binom_pmf(x, n, p), d * rerr, 0, math.floor(p * n))
        y = ix + 1
        pval = _binom_cdf(y - 1, n, p) + _binom_sf(k - 1, n, p)
    return min(1.0, pval)
