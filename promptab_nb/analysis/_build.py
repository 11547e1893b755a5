"""Per-arm statistics (from the estimators) → result rows, health, methods (no SQL here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..errors import PromptabError
from ..options import CORRECTION_NAMES
from ..results import ArmRow, ExperimentResult, Health, HealthFlag, TotalImpact
from ..results._rows import SEQUENTIAL_SUFFIX
from ..stats._types import _test_variance
from ..stats.guards import MIN_UNITS_PER_ARM, guard
from . import _missing

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..metrics import Metric
    from ..options import AnalysisOptions, Correction
    from .estimators import Arm, Estimator

NAN = math.nan
_Z = NormalDist()
SRM_MIN_UNITS = 100
#: Share of units exposed to several variants above which the health check warns.
MULTIPLE_WARN_SHARE = 0.05


def health(
    exp: Experiment,
    counts: dict[str, int],
    multi: int,
    multiple: str,
    window: tuple[Any, Any] = (None, None),
) -> Health:
    """Exposure counts, ``$multiple`` units, unknown variants, SRM, expiry, small arms; no unit
    at all (``window``: the analysis' ``start`` and ``end``, named when they are why)."""
    exposed = {k: int(counts.get(k, 0)) for k in exp.variants}
    unknown = {k: int(v) for k, v in counts.items() if k not in exp.variants and k != "$multiple"}
    flags: list[HealthFlag] = []
    total = sum(exposed.values())
    if total == 0:
        start, end = window
        bounds = [f"{name} {t:%Y-%m-%d %H:%M} UTC" for name, t in (("start", start),
                  ("end", end)) if t is not None]  # fmt: skip
        flags.append(
            HealthFlag(
                "no_units",
                "error",
                "no unit of any arm is in scope"
                + (
                    f" in the analysis window ({', '.join(bounds)}): widen or drop it"
                    if bounds
                    else ": check the flag key and the variant keys"
                )
                + (f" ({multi:,} unit(s) saw several variants)" if multi else ""),
            )
        )
    srm_p = srm_chi2 = None
    srm_note = srm_method = None
    if total < SRM_MIN_UNITS:
        srm_note = f"SRM check skipped: {total} exposed units (< {SRM_MIN_UNITS})"
    else:
        # Two arms: the exact binomial test (no large-sample approximation); more: χ².
        res = st.srm(
            [exposed[k] for k in exp.variants],
            [exp.split[k] / 100 for k in exp.variants],
            method="binomial" if len(exp.variants) == 2 else "chisquare",
        )
        srm_p, srm_chi2, srm_method = float(res.p_value), float(res.statistic), res.method
        if res.mismatch:
            flags.append(
                HealthFlag(
                    "srm",
                    "error",
                    f"sample ratio mismatch: p = {srm_p:.2g} ({srm_method}) for the configured "
                    "split "
                    f"{'/'.join(f'{exp.split[k]:g}' for k in exp.variants)}; check the "
                    "assignment (exp.audit()) before trusting the results",
                )
            )
    if multi:
        share = multi / max(1, total + multi)
        flags.append(
            HealthFlag(
                "multiple",
                # A few contaminated units are normal (shared devices, re-bucketing) and are
                # excluded; only a large share can bias the comparison.
                "warning" if share > MULTIPLE_WARN_SHARE else "info",
                f"{multi} unit(s) saw more than one variant ({share:.1%}); "
                + (
                    "excluded ($multiple)"
                    if multiple == "exclude"
                    else "kept in their first variant"
                ),
            )
        )
    if unknown:
        flags.append(
            HealthFlag(
                "unknown_variants",
                "warning",
                "exposures with variants not in the experiment were ignored: "
                + ", ".join(
                    f"{k!r} ({v}{_near_variant(k, exp.variants)})" for k, v in unknown.items()
                ),
            )
        )
    small = [k for k, v in exposed.items() if v < MIN_UNITS_PER_ARM]
    if small:
        flags.append(
            HealthFlag(
                "small_arms",
                "warning",
                f"not enough data: {', '.join(small)} ha{'s' if len(small) == 1 else 've'} "
                f"fewer than {MIN_UNITS_PER_ARM} exposed units; p-values are withheld",
            )
        )
    if exp.is_expired and exp.ends_at is not None:
        flags.append(
            HealthFlag(
                "expired",
                "warning",
                f"the experiment's planned end ({exp.ends_at:%Y-%m-%d}) has passed; "
                "declare a winner or stop it",
            )
        )
    return Health(
        exposed=exposed,
        multiple=int(multi),
        unknown_variants=unknown,
        srm_p_value=srm_p,
        srm_statistic=srm_chi2,
        srm_note=srm_note,
        srm_method=srm_method,
        expired=exp.is_expired,
        flags=tuple(flags),
    )


def _near_variant(key: str, variants: Any) -> str:
    """``"; the experiment's variant 'test' differs only in case or spaces"`` when ``key`` (an
    exposure's variant not in the experiment) is one of ``variants`` written otherwise: that
    arm's exposures were ignored, not missing."""
    near = [v for v in variants if v != key and v.strip().casefold() == key.strip().casefold()]
    if not near:
        return ""
    return f"; the experiment's variant {near[0]!r} differs only in case or spaces"


def _compare(est: Estimator, c: Any, t: Any) -> dict[str, Any]:
    """Absolute and relative comparison (+ Bayesian / sequential) of one treatment."""
    o = est.options
    ab = est.test(c, t, relative=False)
    out: dict[str, Any] = dict(
        diff=ab.estimate,
        diff_ci_low=ab.ci_low,
        diff_ci_high=ab.ci_high,
        p_value=ab.p_value,
        se=_num(getattr(ab, "se", NAN)),
        df=_num(ab.df),
    )
    # The decision's tests (promptab_nb.decision) read the two-sided p-value before any
    # correction: a one-sided test toward improvement cannot see a regression.
    out["p_raw"] = ab.p_value
    if est.alternative != "two-sided":
        import copy

        two = copy.copy(est)
        two.options = o.replace(alternative=None)
        out["p_raw"] = two.test(c, t, relative=False).p_value
    notes = [ab.note] if getattr(ab, "note", None) else []
    # Chance to be better beside every frequentist result (as PostHog and GrowthBook show it):
    # the flat-prior normal posterior of the difference, in the metric's better direction.
    out["chance_to_win"] = _chance_better(ab.estimate, out["se"], est.metric.direction)
    out["rel_diff"] = out["rel_ci_low"] = out["rel_ci_high"] = NAN
    if o.relative:
        try:
            rel = est.test(c, t, relative=True)
            out.update(
                rel_diff=rel.estimate,
                rel_ci_low=rel.ci_low,
                rel_ci_high=rel.ci_high,
                rel_se=_num(getattr(rel, "se", NAN)),
                rel_df=_num(rel.df),
            )
        except PromptabError as err:
            notes.append(f"no relative effect: {err}")
    if out["rel_diff"] == out["rel_diff"] and not (o.sequential and est.sequential_note is None):
        notes += _test_relative_interval(est, c, t, ab, out)
    plain = (est.plain(c), est.plain(t))
    skipped = [
        est.sequential_note if o.sequential else None,
        est.bayes_note if o.bayesian else None,
    ]
    notes += list(dict.fromkeys(n for n in skipped if n))
    if o.sequential and est.sequential_note is None:
        sq = st.sequential(*plain, alpha=o.alpha)
        out.update(
            p_value=sq.p_value,
            p_raw=sq.p_value,
            diff_ci_low=sq.ci_low,
            diff_ci_high=sq.ci_high,
            se=sq.se,
            seq_tau2=sq.tau2,
            # The chance to be better read off the fixed-horizon SE is not safe to peek at.
            chance_to_win=NAN,
        )
        # The relative lift's interval is a confidence sequence too, and the one the test
        # inverts: the fixed-horizon CI beside an always-valid p-value excluded 0 at p = 0.18,
        # and the delta-method sequence -52.6 % to -7.4 % beside p = 0.081.
        seq_rel = (NAN, NAN)
        if out["rel_diff"] == out["rel_diff"]:
            seq_rel = _relative_sequence(*plain, sq.tau2, o.alpha)
            if seq_rel[0] != seq_rel[0]:
                notes.append(
                    "no relative interval yet: the sequence cannot tell the control mean "
                    "from 0 (the absolute interval holds)"
                )
        out["rel_ci_low"], out["rel_ci_high"] = seq_rel
        out["test_suffix"] = SEQUENTIAL_SUFFIX
    if o.bayesian and est.bayes_note is None:
        b = st.bayes(*plain, relative=o.relative, prior=o.prior, ci_level=o.level)
        higher = est.metric.direction == "higher"
        out.update(
            # "Win" follows the metric's direction: for cost or latency a win is a decrease.
            chance_to_win=b.chance_to_win if higher else 1 - b.chance_to_win,
            expected_loss=b.expected_loss_treatment if higher else b.expected_loss_control,
            cred_mean=b.estimate,
            cred_low=b.ci_low,
            cred_high=b.ci_high,
        )
    out["note"] = "; ".join(n for n in notes if n) or None
    return out


#: The row notes when the fixed-horizon relative interval is not the delta method's (both name
#: :data:`FIELLER_MARK`, which :func:`build_result` looks for to say so in the methods).
FIELLER_MARK = "the test of the difference (Fieller)"
FIELLER_NOTE = f"relative CI from {FIELLER_MARK}: the delta-method CI disagreed with the p-value"
FIELLER_UNBOUNDED_NOTE = (
    f"no relative CI: the delta-method CI disagreed with the p-value and {FIELLER_MARK} "
    "cannot tell the control mean from 0 (the absolute interval holds)"
)


def _test_relative_interval(
    est: Estimator, c: Any, t: Any, ab: Any, out: dict[str, Any]
) -> list[str]:
    """Make the fixed-horizon relative interval in ``out`` agree with the test ``ab``.

    The delta-method interval (PostHog's) is kept when it excludes 0 exactly when the test of
    the difference rejects (``p < alpha``, before any correction). When they disagree — the
    sample's error_rate read +74.1 % (−23.5 % to +171.6 %) beside p = 0.043 — and the test is a
    z or t test (its p-value is that of ``estimate / se`` at its df), the interval becomes the
    set of lifts that same test does not reject (:func:`_relative_fieller`), which excludes 0
    exactly when ``p < alpha``. Returns the row notes to add (none when nothing changed).
    """
    o = est.options
    lo, hi, p = out["rel_ci_low"], out["rel_ci_high"], ab.p_value
    if not (lo == lo and hi == hi and p == p) or (not lo <= 0 <= hi) == (p < o.alpha):
        return []
    crit = _critical_value(ab, o.alpha)
    if crit is None:
        return []
    from .estimators import arm_mean

    try:
        ac, at = arm_mean(est, c), arm_mean(est, t)
    except PromptabError:
        return []
    # the per-arm variances of the difference, scaled to the test's own SE (they are the
    # same for every z/t estimator; the scale only guards a pooled θ or the like)
    # (the variance the test used: the upper bound where the sums do not resolve it)
    a, b = _test_variance(at)[0] / at.n, _test_variance(ac)[0] / ac.n
    se2 = float(ab.se) ** 2
    if not (a + b > 0 and math.isfinite(a + b)):
        return []
    scale = se2 / (a + b)
    ends = _relative_fieller(
        float(ac.mean), float(at.mean), a * scale, b * scale, crit, ab.alternative
    )
    out["rel_ci_low"], out["rel_ci_high"] = ends
    return [FIELLER_UNBOUNDED_NOTE if ends[0] != ends[0] else FIELLER_NOTE]


def _critical_value(ab: Any, alpha: float) -> float | None:
    """The critical value of the z (``df`` None) or Welch t test ``ab`` at ``alpha`` (one-sided
    quantile for a one-sided test); ``None`` when ``ab``'s p-value is not that of
    ``estimate / se`` at its df (Fisher's exact test, order statistics, …)."""
    from ..stats import _dist

    se, est, p, df = (_num(getattr(ab, k, None)) for k in ("se", "estimate", "p_value", "df"))
    if not (se > 0 and math.isfinite(se) and est == est and p == p):
        return None
    normal = df != df
    if not normal and not df > 0:
        return None
    z = est / se
    sf = _dist.norm_sf if normal else (lambda x: _dist.t_sf(x, df))
    side = getattr(ab, "alternative", "two-sided")
    expect = {"two-sided": 2 * sf(abs(z)), "greater": sf(z), "less": sf(-z)}.get(side)
    if expect is None or not math.isclose(min(1.0, float(expect)), p, rel_tol=1e-6, abs_tol=1e-12):
        return None
    prob = 1 - alpha / 2 if side == "two-sided" else 1 - alpha
    return float(_dist.norm_ppf(prob) if normal else _dist.t_ppf(prob, df))


def _relative_fieller(
    mc: float, mt: float, a: float, b: float, crit: float, alternative: str
) -> tuple[float, float]:
    """The lifts ``L = (mt − mc)/|mc|`` (a fraction) that the z/t test of ``mt − ρ·mc``
    (``ρ = 1 + L·sign(mc)``, squared SE ``a + ρ² b``: ``a`` the treatment's, ``b`` the
    control's squared SE) does not reject at critical value ``crit`` — Fieller's interval.
    At ``L = 0`` that is the test of the difference, so it excludes 0 exactly when that test
    rejects. One-sided: the same side is infinite as for the test (``greater``: upper).
    ``(NaN, NaN)`` when the set is not one interval (the control mean is not told apart from
    0 at this level) or ``mc`` is 0.
    """
    if not all(math.isfinite(x) for x in (mc, mt, a, b, crit)) or mc == 0:
        return NAN, NAN
    sign, base = math.copysign(1.0, mc), abs(mc)
    diff, q2 = mt - mc, crit * crit

    def stat(lift: float) -> float:
        rho = 1 + sign * lift
        num, se = diff - base * lift, math.sqrt(a + rho * rho * b)
        if se == 0:  # (a treatment without variance, at ratio 0: the lift is exact there)
            return 0.0 if num == 0 else math.copysign(math.inf, num)
        return num / se

    def accepted(lift: float) -> bool:
        z = stat(lift)
        if alternative == "greater":
            return z <= crit
        if alternative == "less":
            return z >= -crit
        return abs(z) <= crit

    # (diff − base·L)² = q² (a + (1 + sign·L)² b), a quadratic in L
    qa = base * base - q2 * b
    qb = -2 * (diff * base + q2 * b * sign)
    qc = diff * diff - q2 * (a + b)
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return NAN, NAN  # unbounded both ways (or everything): |mc| within crit SEs of 0
    root = math.sqrt(disc)
    # (the numerically stable pair of roots)
    q = -0.5 * (qb + math.copysign(root, qb))
    # (q = 0 only when qb = qc = 0: a double root at 0, e.g. no variance and no difference)
    r1, r2 = sorted((q / qa, qc / q)) if q != 0 else (0.0, 0.0)
    lo = r1 if not accepted(r1 - 1 - abs(r1)) else -math.inf
    hi = r2 if not accepted(r2 + 1 + abs(r2)) else math.inf
    if lo == -math.inf and hi == math.inf:
        return NAN, NAN
    return lo, hi


def _relative_sequence(c: Any, t: Any, tau2: float, alpha: float) -> tuple[float, float]:
    """The (1 − ``alpha``) confidence sequence of the relative lift ``(mt − mc)/|mc|`` (a
    fraction) that :func:`promptab_nb.stats.sequential` inverts, Fieller's way.

    A ratio ``ρ = mt/mc`` is inside when the mSPRT of ``mt − ρ·mc`` (variance
    ``vt/nt + ρ² vc/nc``, mixture ``tau2`` scaled like the per-unit variance ``vt + ρ² vc``)
    does not reject at ``alpha``. At ``ρ = 1`` that is the test of the difference itself, so
    the interval excludes 0 exactly when the always-valid ``p < alpha``; for the true ``ρ`` it
    is a mixture martingale, so the set is a confidence sequence like the absolute one.
    ``(NaN, NaN)`` when the control mean is 0 or the set is unbounded (the control mean is
    not told apart from 0 at this look).
    """
    # the variances the sequential test used (the upper bound where the sums do not resolve one)
    vc, vt = _test_variance(c)[0], _test_variance(t)[0]
    mc, mt, vc, vt = (float(x) for x in (c.mean, t.mean, vc, vt))
    nc, nt = float(c.n), float(t.n)
    if not all(math.isfinite(x) for x in (mc, mt, vc, vt, tau2)) or mc == 0 or tau2 <= 0:
        return NAN, NAN
    sign, unit = math.copysign(1.0, mc), vc + vt
    if unit == 0:  # no variance: the lift is exact
        lift = (mt - mc) / abs(mc)
        return lift, lift
    bound = math.log(1 / alpha)

    def excess(rho: float) -> float:
        """log mixture likelihood ratio − log(1/alpha) of ``ρ``: > 0 outside the sequence."""
        var = vt / nt + rho * rho * vc / nc
        if var == 0:
            return math.inf if mt != rho * mc else -bound
        t2 = tau2 * (vt + rho * rho * vc) / unit
        d = mt - rho * mc
        return 0.5 * math.log(var / (var + t2)) + d * d * t2 / (2 * var * (var + t2)) - bound

    import scipy.optimize

    centre = mt / mc
    step = max(abs(centre), math.sqrt(vt / nt + vc / nc) / abs(mc), 1e-12)
    ends = []
    for way in (-1.0, 1.0):
        inner, outer = centre, centre + way * step
        for _ in range(60):
            if excess(outer) > 0:
                break
            inner, outer = outer, centre + 2 * (outer - centre)
        else:
            return NAN, NAN  # unbounded on this side
        ends.append(scipy.optimize.brentq(excess, inner, outer, xtol=1e-14, rtol=1e-12))
    lo, hi = sorted(sign * (rho - 1) for rho in ends)
    return lo, hi


def _chance_better(diff: float, se: float, direction: str) -> float:
    if not (diff == diff and se == se) or se < 0:
        return NAN
    exact = 1.0 if diff > 0 else (0.0 if diff < 0 else 0.5)  # zero variance: certain
    p_up = exact if se == 0 else _Z.cdf(diff / se)
    return p_up if direction == "higher" else 1 - p_up


def _num(x: Any) -> float:
    return NAN if x is None else float(x)


# Every number of a row starts as NaN ("does not apply"), read off ArmRow's float fields.
_NUMBERS = tuple(f.name for f in dataclasses.fields(ArmRow) if f.type == "float")


def _empty_row(metric: str, key: str, control: str, n: int, test: str) -> dict[str, Any]:
    row: dict[str, Any] = dict(metric=metric, variant=key, is_control=key == control, n=n)
    for col in _NUMBERS:
        row[col] = NAN
    row.update(test=test, significant=False, note=None)
    return row


def metric_rows(est: Estimator, arms: dict[str, Arm], exp: Experiment) -> list[dict[str, Any]]:
    """The rows of one metric: the control first, then each treatment against it."""
    rows: list[dict[str, Any]] = []
    control = exp.control
    c = arms[control].stats if control in arms else None
    baseline = None
    # (a sum with no event in any arm: each arm's mean of sums over no event would read 0)
    none = _missing.nothing_measured(est, *arms.values())
    for key in exp.variants:
        arm = arms.get(key)
        a = arm.stats if arm is not None else None
        row = _empty_row(est.metric.name, key, control, arm.n if arm else 0, est.test_name)
        if a is not None and _missing.unmeasured(est, arm):
            row["note"] = _missing.unmeasured_note(est, {key: arm})  # (its mean would read 0)
        elif arm is not None and none:
            row["note"] = _missing.NOTHING_MEASURED
        elif a is not None:
            row["mean"], row["mean_ci_low"], row["mean_ci_high"] = est.summary(a)
        elif arm is not None and not _missing.unmeasured(est, arm):
            row["mean"] = arm.mean  # one unit: its mean, no CI (NaN when it has none)
        if key == control:
            baseline = row["mean"]
        elif arm is None or a is None or c is None:
            why = [x.note for x in (arms.get(control), arm) if x is not None and x.note]
            row["note"] = why[0] if why else "not enough units to compare (fewer than 2 in an arm)"
        else:
            try:
                res = _compare(est, c, a)
            except PromptabError as err:
                res = {"note": f"no comparison: {err}"}
            row["test"] += res.pop("test_suffix", "")
            row.update(res)
            # (the arms' units: a quantile's statistics hold its events)
            _guard(row, arms[control].n, arm.n, baseline, est.options.relative)
            _missing.guard_row(row, est, arms, control)
        rows.append(row)
    return rows


def _guard(row: dict[str, Any], n_c: int, n_t: int, baseline: Any, relative: bool) -> None:
    """PostHog's guards on one treatment row: under the minimum sample every verdict (p-value
    and chance to be better) is withheld; a zero baseline only makes the *relative* lift
    undefined — the absolute difference and its test stand."""
    notes = [row.get("note")]
    g = guard(n_c, n_t)
    if not g:
        for col in _missing.VERDICT_COLUMNS:
            row[col] = NAN
        notes.append(g.reason)
    elif baseline == 0 and relative:
        for col in ("rel_diff", "rel_ci_low", "rel_ci_high", "rel_se"):
            row[col] = NAN
        if row.get("diff") == row.get("diff"):  # (a failed comparison has no absolute either)
            notes.append(
                "baseline is 0 in control: the relative lift is undefined (absolute shown)"
            )
    row["note"] = "; ".join(dict.fromkeys(x for x in notes if x)) or None


def _apply_correction(rows: list[dict[str, Any]], correction: Correction | None) -> None:
    if correction is None:
        return
    idx = [i for i, r in enumerate(rows) if not r["is_control"] and r["p_value"] == r["p_value"]]
    if not idx:
        return
    adjusted = st.adjust_pvalues([rows[i]["p_value"] for i in idx], method=correction)
    adjusted = getattr(adjusted, "p_adjusted", adjusted)
    for i, p in zip(idx, adjusted, strict=True):
        rows[i]["p_value"] = float(p)


def _significance(rows: list[dict[str, Any]], options: AnalysisOptions) -> None:
    alpha = options.alpha
    for r in rows:
        if r["is_control"]:
            r["significant"] = False
        elif options.bayesian and r["chance_to_win"] == r["chance_to_win"]:
            ctw = r["chance_to_win"]
            r["significant"] = bool(ctw >= 1 - alpha or ctw <= alpha)
        else:
            # Frequentist, or a metric without a Bayesian form (quantiles): its p-value decides.
            p = r["p_value"]
            r["significant"] = bool(p == p and p < alpha)


def methods(
    estimators: list[Estimator],
    options: AnalysisOptions,
    fieller: Sequence[str] = (),
    notes: dict[str, str] | None = None,
) -> list[str]:
    """The methods section: one line per metric (from its estimator), then the options;
    ``fieller``: the metrics whose fixed-horizon relative interval is Fieller's (the
    delta-method CI disagreed with the p-value, :func:`_test_relative_interval`); ``notes``:
    per metric, a sentence added to its line (a CUPED that adjusted nothing)."""
    notes = notes or {}
    out = [
        f"{e.metric.name}: {e.methods_text()}"
        + (f"; {notes[e.metric.name]}" if e.metric.name in notes else "")
        for e in estimators
    ]
    out.append(
        f"unit of analysis: {options.unit}; units exposed to several variants: {options.multiple}"
    )
    if options.relative:
        text = (
            "relative effects: treatment / control − 1 with a confidence sequence that inverts "
            "the sequential test (Fieller)"
            if options.sequential
            else "relative effects: treatment / control − 1 with a delta-method CI (as PostHog)"
        )
        if fieller:
            text += (
                f"; for {', '.join(dict.fromkeys(fieller))} that CI disagreed with the p-value, "
                "so the relative CI there is the set of lifts the test of the difference does "
                "not reject (Fieller), which excludes 0 exactly when p < alpha"
            )
        out.append(text)
    if options.winsorize:
        out.append(_winsor_text(estimators, options.winsorize))
    if options.correction:
        out.append(
            CORRECTION_NAMES[options.correction]
            + " correction across all metric × treatment comparisons"
        )
    if options.sequential:
        out.append("sequential: always-valid p-values and confidence sequences (safe to peek)")
    if options.prior is not None and not options.bayesian:
        out.append(
            f"the prior is not used (method={options.method!r}): it applies to "
            "method='bayesian' only"
        )
    if options.bayesian:
        prior = options.prior
        if prior is None:
            used = "flat prior"
        else:
            scale = "relative lift (fraction)" if options.relative else "difference (metric unit)"
            used = (
                f"Gaussian prior on the {scale}: mean {prior.mean:g}, variance {prior.variance:g}"
            )
        out.append(f"Bayesian: Gaussian posterior ({used}), chance to win, expected loss")
    out.append(
        f"no p-value or chance to be better under {MIN_UNITS_PER_ARM} units per arm (as PostHog); "
        "no relative lift with a zero baseline (the absolute difference is still tested)"
    )
    return out


def _winsor_text(estimators: list[Estimator], pct: tuple[float, float]) -> str:
    """The methods line of ``winsorize=pct`` naming the metrics it clamps: only per-unit (or
    per-event) sums, counts and means are winsorized; rates and ratios (ratio of sums, Fisher)
    and quantiles never are, so ``winsorize`` leaves their numbers unchanged."""

    def clamps(e: Estimator) -> bool:
        return e.winsorizes and e.metric.agg != "rate"

    done = [e.metric.name for e in estimators if clamps(e)]
    kept = [e.metric.name for e in estimators if not clamps(e)]
    lo, hi = pct
    if not done:
        return (
            f"no metric winsorized ({lo:g}th–{hi:g}th percentiles asked): rates, ratios and "
            f"quantiles are never winsorized ({', '.join(kept)})"
        )
    text = (
        f"winsorized per-unit values of {', '.join(done)} at the {lo:g}th–{hi:g}th "
        "percentiles pooled over arms"
    )
    if kept:
        text += f"; not winsorized: {', '.join(kept)} (rates, ratios and quantiles never are)"
    return text


def build_result(
    exp: Experiment,
    per_metric: list[tuple[Estimator, dict[str, Arm]]],
    health_: Health,
    options: AnalysisOptions,
    provenance: tuple[dict[str, Any], ...],
    daily: Sequence[tuple[Any, ...]] = (),
) -> ExperimentResult:
    """The :class:`ExperimentResult` of the estimators' per-arm statistics; ``daily`` holds
    (day, variant, units first exposed that day) rows of :data:`DAILY_SQL`."""
    rows: list[dict[str, Any]] = []
    for est, arms in per_metric:
        rows += metric_rows(est, arms, exp)
    _apply_correction(rows, options.correction)
    _significance(rows, options)
    estimators = [e for e, _ in per_metric]
    fieller = [r["metric"] for r in rows if FIELLER_MARK in (r["note"] or "")]
    covariate = {
        est.metric.name: note for est, arms in per_metric if (note := est.covariate_note(arms))
    }
    pair_correction: Correction = options.correction or "holm"
    pairs = tuple(
        all_pairs_of(est, arms, list(exp.variants), correction=pair_correction)
        for est, arms in per_metric
    )
    impacts = tuple(
        imp
        for est, arms in per_metric
        if (imp := total_impact_of(est, arms, rows, health_, exp, options)) is not None
    )
    return ExperimentResult(
        experiment=exp.name,
        prompt_name=exp.prompt_name,
        flag_key=exp.flag_key,
        variants=dict(exp.variants),
        control=exp.control,
        metrics=tuple(e.metric for e in estimators),
        rows=tuple(ArmRow(**r) for r in rows),
        health=health_,
        methods=tuple(methods(estimators, options, fieller, covariate)),
        options=options,
        provenance=provenance,
        computed_at=dt.datetime.now(dt.UTC),
        design=getattr(exp, "design", None),
        daily=daily_exposures(daily, exp),
        pairs=pairs,
        impacts=impacts,
        experiment_id=getattr(exp, "id", None),
    )


def all_pairs_of(
    est: Estimator, arms: dict[str, Arm], variants: Sequence[str], *, correction: Correction
) -> st.AllPairs:
    """Every pair of arms of one metric, in variant order: Welch t tests (the always-valid
    mSPRT under ``sequential``) on each arm's mean and
    the per-unit variance its test uses (:func:`~.estimators.arm_mean`: delta method for
    ratios, CUPED-adjusted, clustered for quantiles), two-sided, p-values adjusted across the
    pairs by ``correction``; differences in the metric's unit (percentage points for a rate).
    Arms under :data:`MIN_UNITS_PER_ARM` units are left out (as the main rows withhold their
    p-values) and named in ``note``, as are arms whose sums miss too many values
    (:func:`._missing.withheld`)."""
    from .estimators import arm_mean

    m = est.metric
    unit = "pp" if m.unit == "%" else m.unit
    alpha = est.options.alpha
    if arms and _missing.nothing_measured(est, *arms.values()):
        # (sums over no event in any arm: "$0 [$0, $0], p = 1" would be read, not measured)
        return st.AllPairs(m.name, unit, (), correction, alpha, _missing.NOTHING_MEASURED)
    kept: dict[str, Any] = {}
    small, missing, undefined = [], [], []
    for k in variants:
        a = arms.get(k)
        if a is None or a.stats is None or a.n < MIN_UNITS_PER_ARM:
            small.append(k)
        elif _missing.withheld(est, a):
            missing.append(k)
        else:
            try:
                kept[k] = arm_mean(est, a.stats)
            except PromptabError:  # no mean: a ratio whose denominators are all 0
                undefined.append(k)
    notes = []
    if undefined:
        notes.append(f"left out (no mean, e.g. no events to divide by): {', '.join(undefined)}")
    if small:
        notes.append(f"left out (fewer than {MIN_UNITS_PER_ARM} units): {', '.join(small)}")
    if missing:
        notes.append(
            f"left out (over {_missing.MAX_MISSING_SHARE:.0%} of events without a value, which "
            f"the sums would read as 0): {', '.join(missing)}"
        )
    note = "; ".join(notes) or None
    if len(kept) < 2:
        return st.AllPairs(m.name, unit, (), correction, alpha, note)
    try:
        res = st.all_pairs(
            kept,
            metric=m.name,
            unit=unit,
            alpha=alpha,
            correction=correction,
            sequential=est.options.sequential,
        )
    except PromptabError as err:
        return st.AllPairs(m.name, unit, (), correction, alpha, f"no comparison: {err}")
    return dataclasses.replace(res, note=note)


def impact_applies(metric: Metric, options: AnalysisOptions) -> bool:
    """Whether a total impact means something: a per-user sum or count (cost, tokens,
    requests), whose effect per user times users is the total change."""
    return options.unit == "user" and metric.kind == "mean" and metric.agg in ("sum", "count")


def total_impact_of(
    est: Estimator,
    arms: dict[str, Arm],
    rows: Sequence[dict[str, Any]],
    health_: Health,
    exp: Experiment,
    options: AnalysisOptions,
) -> TotalImpact | None:
    """The total impact of each treatment on a sum-like per-user ``metric``
    (:func:`impact_applies`, else ``None``): the difference against the control per user and
    its CI (the rows' ``diff`` and ``diff_ci_*``) times the users the change would reach over
    the period — every exposed unit (all arms; ``$multiple`` units included once) divided by
    the experiment's share of traffic (``exp.rollout`` percent). A treatment whose arm or
    control misses too many values (:func:`._missing.withheld`) gets no total: the sums would
    read the missing values as 0."""
    metric = est.metric
    if not impact_applies(metric, options):
        return None
    # With multiple="first_seen" the $multiple units are already counted in their first arm.
    extra = health_.multiple if options.multiple == "exclude" else 0
    exposed = sum(health_.exposed.values()) + extra
    share = float(getattr(exp, "rollout", 100.0) or 100.0)
    units = exposed / (share / 100)
    impacts: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for r in rows:
        if r["metric"] != metric.name or r["is_control"]:
            continue
        d, lo, hi = r["diff"], r["diff_ci_low"], r["diff_ci_high"]
        if _missing.withheld(est, arms.get(exp.control)) or _missing.withheld(
            est, arms.get(r["variant"])
        ):
            impacts[r["variant"]] = None
            notes[r["variant"]] = (
                f"over {_missing.MAX_MISSING_SHARE:.0%} of an arm's events have no value; the "
                "sums would read them as 0"
            )
            continue
        if any(math.isnan(x) for x in (d, lo, hi)):
            impacts[r["variant"]] = None
            notes[r["variant"]] = r["note"] or "no difference to scale"
            continue
        impacts[r["variant"]] = st.total_impact(d, lo, hi, units=units, unit=metric.unit)
    return TotalImpact(
        metric=metric.name,
        unit=metric.unit,
        per="user",
        level=options.level,
        units=units,
        exposed=exposed,
        traffic_share=share,
        impacts=impacts,
        notes=notes,
        interval="confidence sequence" if options.sequential else "CI",
    )


#: Units first exposed per day and arm, from the per-unit table ``{table}`` (absurd
#: timestamps left out: they are not days anyone can read).
DAILY_SQL = """
    SELECT CAST(date_trunc('day', first_ts) AS DATE) AS day, variant, count(*)
    FROM {table}
    WHERE variant <> '$multiple' AND first_ts > TIMESTAMPTZ '1900-01-01 00:00:00+00'
      AND first_ts < TIMESTAMPTZ '9000-01-01 00:00:00+00'
    GROUP BY 1, 2 ORDER BY 1, 2
"""


def daily_exposures(
    rows: Sequence[tuple[Any, ...]], exp: Experiment
) -> tuple[tuple[dt.date, str, int], ...]:
    """(day, variant, units) for the experiment's variants, in day order."""
    out = []
    for day, variant, n in rows:
        if variant in exp.variants and day is not None:
            d = day.date() if isinstance(day, dt.datetime) else day
            out.append((d, str(variant), int(n)))
    return tuple(sorted(out))
