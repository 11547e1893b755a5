"""The tests a decision rests on, per (metric, treatment) row of a result.

- **improvement / regression**: the row's two-sided p-value before any correction (the
  fixed-horizon test, or the always-valid one under ``sequential=True``) and the sign of the
  absolute difference;
- **non-inferiority at a margin** ``M`` (how much worse the treatment may be): the one-sided test
  of ``H0: worse by ≥ M`` against ``H1: worse by < M`` (as Eppo and GrowthBook); the row's
  estimate and standard error on the margin's scale (absolute, or relative — on the log scale
  when the row's relative CI is a log-ratio CI, as Fisher's and the quantile test's are, and
  absolute at the control's mean when a zero treatment count leaves the log ratio undefined);
- **beyond the margin**: the mirror one-sided test, ``H1: worse by > M``.

A relative margin on a row whose relative interval is Fieller's (the delta-method one disagreed
with the test) is tested as Fieller's interval is built: ``μt − (1 + M)·μc`` against 0, with a
conservative variance.

Under ``sequential=True`` both margin tests use the always-valid mSPRT p-value of the shifted
difference (a relative margin becomes absolute at the control's mean), so looking every day keeps
the error rates. Multiplicity across treatment arms is handled by Holm in :mod:`._decide`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

from .._format import is_missing

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..results import ArmRow
    from ._design import Margin

NAN = math.nan
_Z = NormalDist()


def _sf(stat: float, df: float) -> float:
    """Upper tail of the t (``df``) or normal (``df`` NaN) distribution."""
    if is_missing(df) or df <= 0:
        return _Z.cdf(-stat)
    import scipy.special

    return float(scipy.special.stdtr(df, -stat))  # the t upper tail, as scipy.stats.t.sf


def msprt_p(x: float, var: float, tau2: float) -> float:
    """Always-valid p-value of ``H0: θ = 0`` for an estimate ``x`` with variance ``var`` under a
    normal mixture ``θ ~ N(0, tau2)`` (the statistic of :func:`promptab_nb.stats.sequential`)."""
    if var <= 0:
        return 1.0 if x == 0 else 0.0
    log_lr = 0.5 * math.log(var / (var + tau2)) + x * x * tau2 / (2 * var * (var + tau2))
    return min(1.0, math.exp(-log_lr))


@dataclass(frozen=True)
class Excess:
    """How much worse than the margin a treatment is: ``x`` (< 0: better than the margin) with
    standard error ``se`` and ``df`` (NaN: normal), or the sequential mixture ``tau2``."""

    x: float
    se: float
    df: float = NAN
    tau2: float = NAN

    def p_within(self) -> float:
        """One-sided p-value of H1: worse by less than the margin (non-inferior)."""
        return self._p(-self.x)

    def p_beyond(self) -> float:
        """One-sided p-value of H1: worse by more than the margin."""
        return self._p(self.x)

    def _p(self, toward: float) -> float:
        if is_missing(self.x) or is_missing(self.se):
            return NAN
        if not is_missing(self.tau2):
            # always valid; the two-sided mixture is used one-sidedly (conservative)
            return msprt_p(self.x, self.se**2, self.tau2) if toward > 0 else 1.0
        if self.se == 0:
            return 0.0 if toward > 0 else 1.0
        return _sf(toward / self.se, self.df)


def worse_sign(m: Metric) -> int:
    """+1 when an increase is worse (cost, latency, error rate), −1 when a decrease is."""
    return 1 if m.direction == "lower" else -1


#: Tests whose relative effect has a log-ratio standard error (Fisher's Katz CI, the quantile
#: tests), under ``sequential=True`` too (its ``rel_se`` is the fixed-horizon test's).
_LOG_RATIO_TESTS = ("fisher exact", "quantile")


def _log_scale(r: ArmRow) -> bool:
    """True when the row's ``rel_se`` (and its fixed-horizon relative CI) is on the log-ratio
    scale: known from its test, never for a Fieller interval (sequential, or a delta-method CI
    replaced because it disagreed with the test), else seen from a two-sided CI asymmetric
    around the estimate.
    (A one-sided CI has an infinite bound, so its shape cannot tell: Fisher's log SE was read
    as a linear one.)"""
    if r.test.startswith(_LOG_RATIO_TESTS):
        return True
    from ..analysis._build import FIELLER_MARK

    if not is_missing(r.seq_tau2) or FIELLER_MARK in (r.note or ""):
        # A Fieller interval (sequential, or where the delta-method CI disagreed with the test)
        # is lopsided too, beside a linear delta-method rel_se: its shape tells nothing here.
        return False
    lo, hi, est = r.rel_ci_low, r.rel_ci_high, r.rel_diff
    if any(is_missing(v) or math.isinf(v) for v in (lo, hi, est)):
        return False
    return abs((hi - est) - (est - lo)) > 1e-6 * max(hi - lo, 1e-300)


def excess(r: ArmRow, m: Metric, margin: Margin, control_mean: float) -> Excess:
    """The treatment's excess over the guardrail ``margin`` on ``m`` (see the module text)."""
    s = worse_sign(m)
    if not is_missing(r.seq_tau2):
        size = margin.size * abs(control_mean) if margin.relative else margin.size
        return Excess(s * r.diff - size, r.se, tau2=r.seq_tau2)
    if not margin.relative:
        return Excess(s * r.diff - size_abs(margin), r.se, r.df)
    if control_mean == 0 and not is_missing(r.diff):
        # a baseline of 0 has no relative lift: the margin is tested at the control's mean, 0,
        # as under sequential=True (a treatment with errors where the control had none kept
        # running "pending" for ever)
        return Excess(s * r.diff, r.se, r.df)
    if _log_scale(r):
        if r.rel_diff == -1 and control_mean > 0 and not is_missing(r.diff):
            # a zero treatment count: its log ratio is undefined, so the margin is tested at
            # the control's mean (as under sequential=True); it read "pending" whatever the
            # control's count, a treatment without one error or one pass alike
            return Excess(s * r.diff - margin.size * control_mean, r.se, r.df)
        if not 1 + r.rel_diff > 0 or not 1 + s * margin.size > 0:
            return Excess(NAN, NAN)
        bound = math.log1p(s * margin.size)
        return Excess(s * (math.log1p(r.rel_diff) - bound), r.rel_se, r.rel_df)
    if _fieller(r):
        # The table replaced the delta-method interval (it disagreed with the test) by Fieller's:
        # the margin tested on the delta-method SE "passed" beside an interval crossing it. The
        # test Fieller's interval inverts: μt − (1 + sM)·μc, whose variance vt + (1 + sM)²·vc is
        # at most the difference's times max(1, (1 + sM)²) (conservative, vt and vc unknown).
        # (an unbounded interval: the control's mean is not told from 0, every lift either side
        # of the margin may hold, so neither "within" nor "beyond" is shown)
        unbounded = is_missing(r.rel_ci_low) or is_missing(r.rel_ci_high)
        if unbounded or not control_mean > 0 or is_missing(r.diff) or is_missing(r.se):
            return Excess(NAN, NAN)
        widen = max(1.0, abs(1 + s * margin.size))
        return Excess(s * r.diff - margin.size * control_mean, r.se * widen, r.df)
    return Excess(s * r.rel_diff - margin.size, r.rel_se, r.rel_df)


def _fieller(r: ArmRow) -> bool:
    """The row's relative interval is Fieller's, not the delta method's its ``rel_se`` is of."""
    from ..analysis._build import FIELLER_MARK

    return FIELLER_MARK in (r.note or "")


def size_abs(margin: Margin) -> float:
    return margin.size


def improvement(r: ArmRow, m: Metric) -> tuple[float, int]:
    """(two-sided p-value before correction, +1 better / −1 worse / 0) of one row."""
    p = r.p_raw if not is_missing(r.p_raw) else r.p_value
    if is_missing(r.diff) or r.diff == 0:
        return p, 0
    return p, (1 if (r.diff > 0) == (m.direction == "higher") else -1)


def effect_se(
    r: ArmRow, relative: bool, alpha: float, *, two_sided: bool = True
) -> tuple[float, float]:
    """(estimate, SE) on the absolute or relative scale; the SE from the CI when a test
    reports none and the CI is a two-sided fixed-horizon one (``two_sided``; a one-sided CI's
    infinite bound made the SE infinite, and ``decision()`` raised OverflowError)."""
    if relative and not _log_scale(r):
        est, se, lo, hi = r.rel_diff, r.rel_se, r.rel_ci_low, r.rel_ci_high
    elif relative:
        return (math.log1p(r.rel_diff) if r.rel_diff > -1 else NAN), r.rel_se
    else:
        est, se, lo, hi = r.diff, r.se, r.diff_ci_low, r.diff_ci_high
    finite = not any(is_missing(v) or math.isinf(v) for v in (lo, hi))
    if is_missing(se) and two_sided and is_missing(r.seq_tau2) and finite:
        se = (hi - lo) / (2 * _Z.inv_cdf(1 - alpha / 2))
    return est, se


def holm_adjusted(ps: list[float]) -> list[float]:
    """Holm-adjusted p-values; NaN stays NaN and is not counted."""
    idx = [i for i, p in enumerate(ps) if not is_missing(p)]
    out = [math.nan] * len(ps)
    if not idx:
        return out
    from ..stats import adjust_pvalues

    adj = adjust_pvalues([ps[i] for i in idx], method="holm")
    adj = getattr(adj, "p_adjusted", adj)
    for i, p in zip(idx, adj, strict=True):
        out[i] = float(p)
    return out


def no_test_reason(r: ArmRow, p: float, *, relative: bool) -> str | None:
    """Why a check (of a ``relative`` margin or not) whose p-value is ``p`` has no test, in
    words; ``None`` when it has one."""
    if not is_missing(p):
        return None
    if r.note:
        return r.note
    if relative and is_missing(r.rel_diff):
        return "no relative effect to test the margin on: analyse with relative=True"
    return "no test"
