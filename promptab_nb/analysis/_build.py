"""Per-arm statistics (from the estimators) → result rows, methods, the result (no SQL here).

The parts it assembles live beside it: the health check (:mod:`._health`), relative intervals
that agree with their test (:mod:`._relative`), every pair of arms (:mod:`._all_pairs`) and
the total impact (:mod:`._impact`)."""

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
from ..results import ArmRow, ExperimentResult, Health
from ..results._rows import SEQUENTIAL_SUFFIX
from ..stats.guards import MIN_UNITS_PER_ARM, guard
from . import _missing
from ._all_pairs import all_pairs_of
from ._health import health as health  # (re-exported: callers use _build.health)
from ._impact import total_impact_of
from ._relative import FIELLER_MARK, agree_relative_interval, float_or_nan, relative_sequence

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..options import AnalysisOptions, Correction
    from .estimators import Arm, Estimator

NAN = math.nan
_Z = NormalDist()


def _compare(est: Estimator, c: Any, t: Any) -> dict[str, Any]:
    """Absolute and relative comparison (+ Bayesian / sequential) of one treatment."""
    o = est.options
    ab = est.test(c, t, relative=False)
    out: dict[str, Any] = dict(
        diff=ab.estimate,
        diff_ci_low=ab.ci_low,
        diff_ci_high=ab.ci_high,
        p_value=ab.p_value,
        se=float_or_nan(getattr(ab, "se", NAN)),
        df=float_or_nan(ab.df),
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
                rel_se=float_or_nan(getattr(rel, "se", NAN)),
                rel_df=float_or_nan(rel.df),
            )
        except PromptabError as err:
            notes.append(f"no relative effect: {err}")
    if out["rel_diff"] == out["rel_diff"] and not (o.sequential and est.sequential_note is None):
        notes += agree_relative_interval(est, c, t, ab, out)
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
            seq_rel = relative_sequence(*plain, sq.tau2, o.alpha)
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


def _chance_better(diff: float, se: float, direction: str) -> float:
    if not (diff == diff and se == se) or se < 0:
        return NAN
    exact = 1.0 if diff > 0 else (0.0 if diff < 0 else 0.5)  # zero variance: certain
    p_up = exact if se == 0 else _Z.cdf(diff / se)
    return p_up if direction == "higher" else 1 - p_up


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
    delta-method CI disagreed with the p-value, :func:`agree_relative_interval`); ``notes``:
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
