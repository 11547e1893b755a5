"""Power, minimum detectable effect, sample size and experiment duration.

Means: Welch t test power from the noncentral t (both arms share the baseline variance),
as tea-tasting and G*Power do. Proportions: the classic normal formula (pooled SE under H0,
unpooled under H1; Fleiss without continuity correction). Several treatment arms are each
compared with control at a Bonferroni-corrected ``alpha / (arms − 1)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .. import _html
from .._checks import check, one_of
from .._format import level_pct, num
from ..errors import InvalidArgumentError
from ._types import Alternative

Kind = Literal["mean", "proportion"]


def _finite(value: Any, name: str, fix: str = "") -> None:
    """Reject an infinite ``value`` (``check`` has already rejected NaN and non-numbers)."""
    if not math.isfinite(float(value)):
        raise InvalidArgumentError(f"{name} == {value!r}, must be finite{fix}")


def _nct_sf(crit: float, df: float, nc: float) -> float:
    """``scipy.stats.nct.sf``, which returns NaN past a noncentrality of ~1e6 (an effect of
    1e10 SDs of the mean): the tail is then all (``nc`` above ``crit``) or nothing."""
    import scipy.stats

    out = float(scipy.stats.nct.sf(crit, df, nc))
    if math.isnan(out) and not math.isnan(nc):
        return 1.0 if nc > crit else 0.0
    return out


@dataclass(frozen=True)
class _Design:
    kind: Kind
    baseline: float | None
    sd: float | None
    relative: bool
    alpha: float
    alternative: str
    share_c: float
    share_t: float
    arms: int


def _design(
    kind: Kind | None,
    baseline: float | None,
    sd: float | None,
    relative: bool,
    alpha: float,
    alternative: str,
    split: float | None,
    arms: int,
) -> _Design:
    check(alpha, "alpha", gt=0, lt=1)
    one_of(alternative, "alternative", ("two-sided", "greater", "less"))
    check(arms, "arms", ge=2, integer=True)
    if kind is None:
        kind = "mean" if sd is not None else "proportion"
    one_of(kind, "kind", ("mean", "proportion"))
    if kind == "proportion":
        if baseline is None:
            raise InvalidArgumentError(
                "baseline is required for a proportion: the control rate, e.g. 0.12"
            )
        check(baseline, "baseline", gt=0, lt=1)
        if sd is not None:
            raise InvalidArgumentError(
                "sd is given for a proportion; its variance follows from baseline"
            )
    else:
        if sd is None:
            raise InvalidArgumentError(
                "sd is required for a mean metric: the per-unit standard deviation"
            )
        check(sd, "sd", gt=0)
        _finite(sd, "sd", ": the per-unit standard deviation of the metric")
        if relative:
            if baseline is None:
                raise InvalidArgumentError(
                    "baseline (the control mean) is required when relative=True"
                )
            check(baseline, "baseline")
            _finite(baseline, "baseline", ": the control mean")
            if baseline == 0:
                raise InvalidArgumentError(
                    "baseline == 0: a relative effect is undefined; use relative=False"
                )
    share_t = 1 / arms if split is None else split
    check(share_t, "split", gt=0, lt=1)
    share_c = 1 - (arms - 1) * share_t
    if share_c <= 0:
        raise InvalidArgumentError(
            f"split == {split!r} leaves no traffic for control with {arms} arms; must be < {1 / (arms - 1):.3g}"
        )
    return _Design(kind, baseline, sd, relative, alpha, alternative, share_c, share_t, int(arms))


def _effect(d: _Design, mde: float) -> float:
    """The effect as treatment − control in the metric's unit, with its sign: a one-sided
    alternative fixes the sign, a two-sided one keeps the sign of ``mde`` (a proportion's
    variance, hence the power, differs between a rise and a fall of the same size)."""
    e = mde * d.baseline if d.relative else mde  # type: ignore[operator]
    if d.alternative == "less":
        return -abs(e)
    if d.alternative == "greater":
        return abs(e)
    return e


def _rate_error(d: _Design, mde: float, p2: float) -> InvalidArgumentError:
    side = "" if d.alternative == "two-sided" else f" (signed by alternative={d.alternative!r})"
    if d.relative:
        how = f"baseline × (1 + mde) == {d.baseline:g} × (1 {'+' if p2 >= d.baseline else '−'} {abs(mde):g}) = {p2:g} (relative mde{side})"  # type: ignore[operator]
        limit = f"{-1:g} < mde < {(1 - d.baseline) / d.baseline:g}"  # type: ignore[operator]
    else:
        how = f"baseline + mde == {d.baseline:g} {'+' if p2 >= d.baseline else '−'} {abs(mde):g} = {p2:g} (absolute mde{side})"  # type: ignore[operator]
        limit = f"{-d.baseline:g} < mde < {1 - d.baseline:g}"  # type: ignore[operator]
    return InvalidArgumentError(
        f"{how}: baseline + effect must be inside (0, 1) for a rate; use {limit}"
    )


def _check_mde(d: _Design, mde: float) -> None:
    check(mde, "mde")
    _finite(mde, "mde", ": the effect to detect")
    if d.kind == "proportion":
        p2 = d.baseline + _effect(d, mde)  # type: ignore[operator]
        if not 0 < p2 < 1:
            raise _rate_error(d, mde, p2)


def _power(d: _Design, mde: float, n_total: float) -> float:
    """Power of one treatment-vs-control comparison with ``n_total`` units over all arms."""
    import scipy.stats

    n_c, n_t = n_total * d.share_c, n_total * d.share_t
    alpha = d.alpha / (d.arms - 1)
    two = d.alternative == "two-sided"
    effect = _effect(d, mde)
    if d.kind == "mean":
        # In units of the SD (sd ** 2 and the squared variances of the mean overflowed at
        # sd 1e100): the per-arm shares of the variance of the difference give Welch's df.
        ic, it = 1 / n_c, 1 / n_t
        wc, wt = ic / (ic + it), it / (ic + it)
        df = 1 / (wc * wc / (n_c - 1) + wt * wt / (n_t - 1))
        nc = abs(effect) / d.sd / math.sqrt(ic + it)  # type: ignore[operator]
        # Upper-tail quantiles by isf: 1 − alpha/2 rounds to 1.0 (a critical value of inf,
        # power 0) for alpha below ~1e-16, e.g. a strict alpha split over many arms.
        crit = scipy.stats.t.isf(alpha / 2 if two else alpha, df)
        out = _nct_sf(crit, df, nc)
        if two:
            # P(T' < −crit | nc) = P(T' > crit | −nc): scipy's cdf gave NaN in this far tail.
            out += _nct_sf(crit, df, -nc)
        return float(out)
    p1 = d.baseline
    p2 = p1 + effect  # type: ignore[operator]
    if not 0 < p2 < 1:
        raise _rate_error(d, mde, p2)
    pbar = (n_c * p1 + n_t * p2) / (n_c + n_t)  # type: ignore[operator]
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
    se1 = math.sqrt(p1 * (1 - p1) / n_c + p2 * (1 - p2) / n_t)  # type: ignore[operator]
    z = scipy.stats.norm.isf(alpha / 2 if two else alpha)
    return float(scipy.stats.norm.cdf((abs(p2 - p1) - z * se0) / se1))  # type: ignore[operator]


def power(
    baseline: float | None = None,
    *,
    mde: float,
    n_total: int,
    sd: float | None = None,
    kind: Kind | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    split: float | None = None,
    arms: int = 2,
    alternative: Alternative = "two-sided",
) -> float:
    """Probability of detecting an effect of size ``mde`` with ``n_total`` units over all arms.

    Parameters
    ----------
    baseline
        Control mean (metric unit) or control rate (fraction). Required for proportions and
        for relative effects.
    mde
        Effect to detect: absolute (metric unit, or fraction for rates) or, with ``relative``,
        a relative lift (0.05 = +5 %). Its sign matters for proportions: ``-0.01`` plans for a
        drop (e.g. a lower error rate), whose variance differs from a rise's.
    n_total
        Units in the experiment, all arms together.
    sd
        Per-unit standard deviation for a mean metric (its presence selects ``kind="mean"``).
    split
        Traffic share of each treatment arm (default ``1/arms``); control gets the rest.
    arms
        Number of arms including control; each treatment is tested at ``alpha/(arms − 1)``.
    alternative
        ``"two-sided"`` (default) or one-sided ``"greater"``/``"less"``.
    """
    d = _design(kind, baseline, sd, relative, alpha, alternative, split, arms)
    _check_mde(d, mde)
    check(n_total, "n_total", gt=0)
    _finite(n_total, "n_total", ": the units in the experiment")
    if min(n_total * d.share_c, n_total * d.share_t) <= 1:
        raise InvalidArgumentError(f"n_total == {n_total!r} leaves an arm with <= 1 unit")
    return _power(d, mde, n_total)


@dataclass(frozen=True)
class SampleSize:
    """Units needed: per control arm, per treatment arm, in total (and the unrounded total)."""

    n_control: int
    n_treatment: int
    n_total: int
    n_total_real: float
    arms: int = 2
    note: str | None = None

    def __repr__(self) -> str:
        note = f"; {self.note}" if self.note else ""
        return (
            f"SampleSize({self.n_total:,} units: {self.n_control:,} control, "
            f"{self.n_treatment:,} per treatment arm × {self.arms - 1}{note})"
        )


def _min_n(d: _Design) -> float:
    """The smallest total the power formula takes: at least 2 units in every arm."""
    return 2.0 / min(d.share_c, d.share_t) + 1


def _solve_n(d: _Design, mde: float, target: float) -> float:
    import scipy.optimize

    def gap(n: float) -> float:
        return _power(d, mde, n) - target

    lo = _min_n(d)
    if gap(lo) >= 0:
        return lo
    hi = lo * 2
    while gap(hi) < 0:
        hi *= 2
        if hi > 1e13:
            raise InvalidArgumentError(
                f"mde == {mde!r} is too small to detect with any realistic sample"
            )
    return float(scipy.optimize.brentq(gap, lo, hi, xtol=1e-9, rtol=1e-13))


def sample_size(
    baseline: float | None = None,
    *,
    mde: float,
    sd: float | None = None,
    kind: Kind | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    split: float | None = None,
    arms: int = 2,
    alternative: Alternative = "two-sided",
) -> SampleSize:
    """Units needed to detect ``mde`` with probability ``power`` (arguments as in :func:`power`).

    Solves power(n) = ``power`` for the real total, then rounds each arm up.
    """
    d = _design(kind, baseline, sd, relative, alpha, alternative, split, arms)
    _check_mde(d, mde)
    if mde == 0:
        raise InvalidArgumentError("mde == 0: no sample size detects a zero effect")
    check(power, "power", gt=0, lt=1)
    n = _solve_n(d, mde, power)
    n_c, n_t = math.ceil(n * d.share_c - 1e-9), math.ceil(n * d.share_t - 1e-9)
    note = None
    if n == _min_n(d):
        note = (
            f"the smallest design already has power >= {power:g} for mde {mde:g}: "
            "this is the minimum sample, not a solution of the power equation"
        )
    return SampleSize(n_c, n_t, n_c + (d.arms - 1) * n_t, n, d.arms, note)


def mde(
    baseline: float | None = None,
    *,
    n_total: int,
    sd: float | None = None,
    kind: Kind | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    split: float | None = None,
    arms: int = 2,
    alternative: Alternative = "two-sided",
) -> float:
    """Smallest effect detected with probability ``power`` given ``n_total`` units.

    Absolute (metric unit, or fraction for rates) or relative lift when ``relative``;
    proportions look for an increase (a decrease when ``alternative="less"``).
    """
    import scipy.optimize

    d = _design(kind, baseline, sd, relative, alpha, alternative, split, arms)
    check(power, "power", gt=0, lt=1)
    check(n_total, "n_total", gt=0)
    _finite(n_total, "n_total", ": the units in the experiment")
    if min(n_total * d.share_c, n_total * d.share_t) <= 1:
        raise InvalidArgumentError(f"n_total == {n_total!r} leaves an arm with <= 1 unit")
    if d.kind == "proportion":
        room = (d.baseline if d.alternative == "less" else 1 - d.baseline) * (1 - 1e-12)  # type: ignore[operator]
        hi = room / d.baseline if relative else room  # type: ignore[operator]
    else:
        # from the SD's scale (an effect of 1 is 1e10 SDs at sd 1e-10: scipy's NaN), in the
        # unit of mde (relative: a fraction of the baseline)
        hi = d.sd / (abs(d.baseline) if relative else 1.0)  # type: ignore[operator,arg-type]
        while _power(d, hi, n_total) < power:
            hi *= 2
    if _power(d, hi, n_total) < power:
        raise InvalidArgumentError(
            f"n_total == {n_total!r} cannot reach power {power} for any effect"
        )
    floor = _power(d, 1e-12 * hi, n_total)
    if floor >= power:
        # Even a zero effect is "detected" this often (alpha / (arms − 1), about half that for
        # a two-sided rate): no effect solves the power equation.
        raise InvalidArgumentError(
            f"power == {power!r} is not above {floor:.3g}, the power of a zero effect at "
            f"alpha == {alpha!r}{f' over {d.arms - 1} comparisons' if d.arms > 2 else ''}; "
            "ask for a higher power (0.8 is usual)"
        )
    return float(
        scipy.optimize.brentq(
            lambda e: _power(d, e, n_total) - power, 1e-12 * hi, hi, xtol=1e-15 * hi, rtol=1e-13
        )
    )


@dataclass(frozen=True)
class Plan:
    """Sample size and duration of a planned experiment (from :func:`plan`)."""

    kind: str
    baseline: float | None
    sd: float | None
    mde: float
    relative: bool
    alpha: float
    power: float
    arms: int
    split: float
    n_control: int
    n_treatment: int
    n_total: int
    daily_units: float
    days: int
    alternative: str = "two-sided"
    note: str | None = None

    def _effect(self) -> str:
        if self.relative:
            return num(self.mde, "%", signed=True)
        return num(self.mde, "pp" if self.kind == "proportion" else "", signed=True)

    def __repr__(self) -> str:
        return (
            f"Plan: {self.n_total:,} units ({self.n_control:,} control, {self.n_treatment:,} per "
            f"treatment arm), {self.days} day{'s' if self.days != 1 else ''} at {self.daily_units:,.0f} "
            f"units/day to detect {self._effect()} with {level_pct(self.power)} power at alpha {self.alpha:g}"
            + ("" if self.alternative == "two-sided" else f" ({self.alternative}, one-sided)")
            + (f"; {self.note}" if self.note else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        rows = [
            ["metric", self.kind],
            [
                "baseline",
                "–"
                if self.baseline is None
                else num(self.baseline, "%" if self.kind == "proportion" else ""),
            ],
            ["effect to detect", self._effect()],
            [f"alpha ({self.alternative})", f"{self.alpha:g}"],
            ["power", f"{level_pct(self.power)}"],
            ["arms", str(self.arms)],
            ["units per control arm", f"{self.n_control:,}"],
            ["units per treatment arm", f"{self.n_treatment:,}"],
            ["units in total", f"{self.n_total:,}"],
            ["days", f"{self.days} at {self.daily_units:,.0f} units/day"],
        ]
        return str(
            _html.el(
                "div", _html.table(["", "value"], rows, caption="Experiment plan"), class_="pab"
            )
        )


def plan(
    baseline: float | None = None,
    *,
    mde: float,
    daily_units: float,
    sd: float | None = None,
    kind: Kind | None = None,
    relative: bool = True,
    split: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    alternative: Alternative = "two-sided",
) -> Plan:
    """Plan an experiment: units per arm, total units and days needed.

    Parameters
    ----------
    baseline
        Control mean (metric unit) or rate (fraction).
    mde
        Effect to detect, a relative lift by default (0.05 = +5 %).
    daily_units
        Units entering the experiment per day, all arms together.
    sd
        Per-unit standard deviation for a mean metric; omit for a proportion.
    split, alpha, power, arms
        As in :func:`sample_size`.
    alternative
        H1 of the planned test: ``"two-sided"`` (default), ``"greater"`` or ``"less"``.

    Returns
    -------
    Plan
        ``days = ceil(n_total / daily_units)``.

    Examples
    --------
    >>> plan(0.12, mde=0.10, daily_units=2000).days
    13
    """
    check(daily_units, "daily_units", gt=0)
    _finite(daily_units, "daily_units", ": the units entering the experiment per day")
    size = sample_size(
        baseline, mde=mde, sd=sd, kind=kind, relative=relative, alpha=alpha, power=power,
        split=split, arms=arms, alternative=alternative,
    )  # fmt: skip
    d = _design(kind, baseline, sd, relative, alpha, alternative, split, arms)
    return Plan(
        d.kind, baseline, sd, mde, relative, alpha, power, d.arms, d.share_t,
        size.n_control, size.n_treatment, size.n_total, float(daily_units),
        math.ceil(size.n_total / daily_units), alternative, size.note,
    )  # fmt: skip
