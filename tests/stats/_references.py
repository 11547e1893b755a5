"""Reference implementations written out from their papers, shared by the tests that check
promptab_nb against them."""

from __future__ import annotations


def newcombe_paired(both: int, b: int, c: int, neither: int, alpha: float = 0.05):
    """Newcombe's (1998, method 10) square-and-add interval for p(candidate) − p(baseline) of
    paired pass/fail outcomes (Fagerland, Lydersen & Laake 2017, ch. 8), written out from
    statsmodels' Wilson intervals: ``b`` regressions, ``c`` improvements."""
    from statsmodels.stats.proportion import proportion_confint

    n = both + b + c + neither
    pa, pb = (both + b) / n, (both + c) / n
    la, ua = proportion_confint(both + b, n, alpha, method="wilson")
    lb, ub = proportion_confint(both + c, n, alpha, method="wilson")
    margins = (both + b) * (c + neither) * (both + c) * (b + neither)
    cross = both * neither - b * c
    if margins == 0 or 0 <= cross <= n / 2:
        psi = 0.0
    else:
        psi = (cross - n / 2 if cross > n / 2 else cross) / margins**0.5
    est = pb - pa
    lo = est - ((pb - lb) ** 2 + (ua - pa) ** 2 - 2 * psi * (pb - lb) * (ua - pa)) ** 0.5
    hi = est + ((pa - la) ** 2 + (ub - pb) ** 2 - 2 * psi * (pa - la) * (ub - pb)) ** 0.5
    return max(-1.0, lo), min(1.0, hi)
