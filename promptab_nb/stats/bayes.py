"""Gaussian Bayesian comparison of two arms: chance to win, credible interval, expected loss."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .. import _html
from .._checks import check
from .._format import level_pct, num
from ..errors import InvalidArgumentError
from . import _dist
from ._types import MeanStats, PropStats, RatioStats, _test_variance, _variance_note
from .means import _compare_core
from .ratio import _flat_arms_note


@dataclass(frozen=True)
class GaussianPrior:
    """Normal prior on the effect (relative lift as a fraction, or absolute in the metric unit)."""

    mean: float = 0.0
    variance: float = 1.0

    def __post_init__(self) -> None:
        check(self.mean, "prior.mean")
        check(self.variance, "prior.variance", gt=0)
        for name, value in (("prior.mean", self.mean), ("prior.variance", self.variance)):
            if math.isinf(value):
                raise InvalidArgumentError(
                    f"{name} == {value!r}, must be finite (for a flat prior pass prior=None)"
                )


@dataclass(frozen=True)
class BayesResult:
    """Posterior of the effect ``treatment − control`` (or the relative lift when ``relative``).

    ``chance_to_win`` = P(effect > 0). ``expected_loss_treatment`` = E[max(0, −effect)], what
    shipping treatment costs on average if it is worse; ``expected_loss_control`` = E[max(0, effect)].
    """

    estimate: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    expected_loss_control: float
    expected_loss_treatment: float
    posterior_sd: float
    relative: bool
    ci_level: float
    prior: GaussianPrior | None = None
    method: str = "gaussian bayesian"
    note: str | None = None

    @property
    def ci(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    def __repr__(self) -> str:
        unit = "%" if self.relative else ""
        est = num(self.estimate, unit, signed=True)
        lo, hi = num(self.ci_low, unit, signed=True), num(self.ci_high, unit, signed=True)
        return (
            f"{self.method}: {est} [{lo}, {hi}] ({level_pct(self.ci_level)} credible), "
            f"chance to win {self.chance_to_win:.1%}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        unit = "%" if self.relative else ""
        row = [
            num(self.estimate, unit, signed=True),
            f"[{num(self.ci_low, unit, signed=True)}, {num(self.ci_high, unit, signed=True)}]",
            f"{self.chance_to_win:.1%}",
            num(self.expected_loss_treatment, unit),
        ]
        header = [
            "effect",
            f"{level_pct(self.ci_level)} credible interval",
            "chance to win",
            "loss if shipped",
        ]
        return str(_html.el("div", _html.table(header, [row], caption=self.method), class_="pab"))


def _normal_loss(mu: float, sd: float) -> tuple[float, float]:
    """E[max(0, X)] and E[max(0, −X)] for X ~ N(mu, sd²)."""
    if sd == 0:
        return max(mu, 0.0), max(-mu, 0.0)
    z = mu / sd
    pdf = _dist.norm_pdf(z)
    return sd * pdf + mu * _dist.norm_cdf(z), sd * pdf - mu * _dist.norm_cdf(-z)


def bayes(
    control: MeanStats | PropStats | RatioStats,
    treatment: MeanStats | PropStats | RatioStats,
    *,
    relative: bool = True,
    prior: GaussianPrior | None = None,
    ci_level: float = 0.95,
) -> BayesResult:
    """Gaussian Bayesian comparison of treatment against control (PostHog's method).

    The likelihood of the effect is normal with the frequentist estimate and SE: relative lift
    ``(mt − mc)/|mc|`` with its delta-method variance (default, as PostHog), or the absolute
    difference. With ``prior=None`` (flat, improper) the posterior equals the likelihood and
    the credible interval equals a normal confidence interval. A :class:`GaussianPrior` on the
    same scale is combined by precision weighting.

    Returns
    -------
    BayesResult
        Posterior mean, equal-tailed credible interval at ``ci_level``, chance to win
        P(effect > 0) (higher is better; use ``1 − chance_to_win`` when lower is better),
        expected loss of shipping each arm, in the effect's unit.

    Raises
    ------
    InvalidArgumentError
        ``ci_level`` outside (0, 1), an arm of an unsupported type, or a ratio arm whose
        denominator sums to 0.
    """
    check(ci_level, "ci_level", gt=0, lt=1)
    if prior is not None and not isinstance(prior, GaussianPrior):
        raise InvalidArgumentError(
            f"prior is a {type(prior).__name__}, must be GaussianPrior or None"
        )
    arms, names, bounds = [], [], []
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, MeanStats | PropStats | RatioStats):
            raise InvalidArgumentError(
                f"{name} is a {type(arm).__name__}, must be MeanStats, PropStats or RatioStats"
            )
        if isinstance(arm, RatioStats) and arm.den_total == 0:
            raise InvalidArgumentError(
                f"{name} has no denominator events ({name}.den_total == 0): the ratio is undefined"
            )
        var, bound = _test_variance(arm)
        if bound is not None:
            names.append(name)
            bounds.append(bound)
        arms.append((arm.mean, var, arm.n))
    (mc, vc, nc), (mt, vt, nt) = arms
    if relative and mc == 0:
        nan = math.nan
        undefined = "control mean is 0: the relative effect is undefined; use relative=False"
        return BayesResult(
            nan, nan, nan, nan, nan, nan, nan, relative, ci_level, prior, note=undefined
        )
    core = _compare_core(mc, vc, nc, mt, vt, nt, alpha=1 - ci_level, relative=relative)
    mu, sd = float(core.estimate), float(core.se)
    note: str | None = _variance_note(names, bounds) if names else None
    note = note or _flat_arms_note({"control": control, "treatment": treatment})
    if prior is not None:
        if sd == 0:
            note = "zero variance: the data determine the effect; the prior is ignored"
        else:
            precision = 1 / prior.variance + 1 / sd**2
            mu = (prior.mean / prior.variance + mu / sd**2) / precision
            sd = math.sqrt(1 / precision)
    if sd == 0:
        note = note or "zero variance in both arms: the effect is known exactly"
        ctw = 1.0 if mu > 0 else (0.0 if mu < 0 else 0.5)
        lo = hi = mu
    else:
        ctw = float(_dist.norm_sf(0, loc=mu, scale=sd))
        # from the tail probability: (1 + ci_level) / 2 rounds (off-centre near level 1)
        half = float(_dist.norm_isf((1 - ci_level) / 2)) * sd
        lo, hi = mu - half, mu + half
    loss_c, loss_t = _normal_loss(mu, sd)
    method = "gaussian bayesian" + (", relative (delta method)" if relative else "")
    method += ", flat prior" if prior is None else ", gaussian prior"
    return BayesResult(
        mu,
        float(lo),
        float(hi),
        ctw,
        float(loss_c),
        float(loss_t),
        sd,
        relative,
        ci_level,
        prior,
        method,
        note,
    )
