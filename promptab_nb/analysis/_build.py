"""Per-variant sufficient statistics → stats functions → result rows (no SQL here)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import stats as st
from .errors import PromptabError
from .metrics import QUANTILES
from .results import ArmRow, ExperimentResult, Health, OverTimeResult
from .stats import arms
from .stats.guards import guard

if TYPE_CHECKING:
    from .experiments import Experiment
    from .metrics import Metric

NAN = math.nan
SRM_MIN_UNITS = 100


def health(exp: Experiment, counts: dict[str, int], multi: int, multiple: str) -> Health:
    """Exposure counts, ``$multiple`` units, unknown variants, SRM, expiry, small arms."""
    exposed = {k: int(counts.get(k, 0)) for k in exp.variants}
    unknown = {k: int(v) for k, v in counts.items() if k not in exp.variants and k != "$multiple"}
    warnings: list[str] = []
    total = sum(exposed.values())
    srm_p = srm_chi2 = None
    srm_note = None
    if total < SRM_MIN_UNITS:
        srm_note = f"SRM check skipped: {total} exposed units (< {SRM_MIN_UNITS})"
    else:
        res = st.srm([exposed[k] for k in exp.variants], [exp.split[k] / 100 for k in exp.variants])
        srm_p, srm_chi2 = float(res.p_value), float(res.statistic)
        if res.mismatch:
            warnings.append(
                f"sample ratio mismatch: p = {srm_p:.2g} for the configured split "
                f"{'/'.join(f'{exp.split[k]:g}' for k in exp.variants)}; check the assignment "
                "(exp.audit()) before trusting the results"
            )
    if multi:
        share = multi / max(1, total + multi)
        warnings.append(
            f"{multi} unit(s) saw more than one variant ({share:.1%}); "
            + ("excluded ($multiple)" if multiple == "exclude" else "kept in their first variant")
        )
    if unknown:
        warnings.append(
            "exposures with variants not in the experiment were ignored: "
            + ", ".join(f"{k!r} ({v})" for k, v in unknown.items())
        )
    small = [k for k, v in exposed.items() if v < st.guards.MIN_UNITS_PER_ARM]
    if small:
        warnings.append(
            f"not enough data: {', '.join(small)} ha{'s' if len(small) == 1 else 've'} fewer than "
            f"{st.guards.MIN_UNITS_PER_ARM} exposed units; p-values are withheld"
        )
    if exp.is_expired:
        warnings.append(
            f"the experiment's planned end ({exp.ends_at:%Y-%m-%d}) has passed; "
            "declare a winner or stop it"
        )
    return Health(
        exposed=exposed,
        multiple=int(multi),
        unknown_variants=unknown,
        srm_p_value=srm_p,
        srm_statistic=srm_chi2,
        srm_note=srm_note,
        expired=exp.is_expired,
        warnings=tuple(warnings),
    )


def _arm(kind: str, m: Metric, mom: Any) -> Any:
    """Build the stats input of one arm, or None when it has too few units."""
    if kind == "quantile":
        return (
            _QuantileArm(np.asarray(mom, dtype=float), QUANTILES[m.agg])
            if mom and len(mom) >= 2
            else None
        )
    if mom is None or mom["n"] < 2:
        return None
    if kind == "cuped":
        return st.CovStats(int(mom["n"]), mom["y"], mom["y_sq"], mom["x"], mom["x_sq"], mom["xy"])
    if kind == "user" and m.kind == "ratio":
        return st.RatioStats(
            int(mom["n"]), mom["num"], mom["num_sq"], mom["den"], mom["den_sq"], mom["num_den"]
        )
    if kind == "request" and m.agg == "rate":
        return st.PropStats(int(mom["n"]), int(round(mom["sum"])))
    return st.MeanStats(int(mom["n"]), mom["sum"], mom["sum_sq"])


@dataclass(frozen=True)
class _QuantileArm:
    """One arm's event values for a quantile metric (exact CIs need the values)."""

    values: np.ndarray
    q: float

    @property
    def n(self) -> int:
        return int(self.values.size)


def _outcome(arm: st.CovStats) -> st.MeanStats:
    """The outcome moments of a CUPED arm, without the covariate."""
    return st.MeanStats(arm.n, arm.y_total, arm.y_total_sq)


def _arm_summary(arm: Any, alpha: float) -> tuple[float, float, float]:
    if isinstance(arm, _QuantileArm):
        ci = st.quantile_ci(arm.values, arm.q, alpha)
        return ci.estimate, ci.ci_low, ci.ci_high
    if isinstance(arm, st.CovStats):
        arm = _outcome(arm)
    if isinstance(arm, st.PropStats):
        lo, hi = arms.prop_ci(arm, alpha=alpha)
    elif isinstance(arm, st.RatioStats):
        if arm.den_total == 0:
            return NAN, NAN, NAN
        lo, hi = arms.ratio_ci(arm, alpha=alpha)
    else:
        lo, hi = arms.mean_ci(arm, alpha=alpha)
    return float(arm.mean), float(lo), float(hi)


def _test(kind: str, m: Metric, c: Any, t: Any, alpha: float, relative: bool) -> Any:
    if kind == "quantile":
        return st.quantile_test(c.values, t.values, c.q, alpha=alpha, relative=relative)
    if kind == "cuped":
        return st.cuped(c, t, alpha=alpha, relative=relative)
    if isinstance(c, st.RatioStats):
        return st.ratio_test(c, t, alpha=alpha, relative=relative)
    if isinstance(c, st.PropStats):
        return st.fisher_exact(c, t, alpha=alpha, relative=relative)
    return st.welch(c, t, alpha=alpha, relative=relative)


def _test_name(kind: str, arm: Any) -> str:
    if kind == "quantile":
        return "quantile order statistics"
    if kind == "cuped":
        return "cuped welch"
    if isinstance(arm, st.RatioStats):
        return "ratio delta method"
    if isinstance(arm, st.PropStats):
        return "fisher exact"
    return "welch"


def _compare(kind, m, c, t, *, alpha, relative, method, sequential, prior):  # noqa: ANN001, ANN202
    """Absolute and relative comparison (+ Bayesian / sequential) of one treatment."""
    out: dict[str, Any] = {}
    ab = _test(kind, m, c, t, alpha, False)
    out.update(diff=ab.estimate, diff_ci_low=ab.ci_low, diff_ci_high=ab.ci_high, p_value=ab.p_value)
    notes = [ab.note] if getattr(ab, "note", None) else []
    # Sequential and Bayesian analyses use the unadjusted outcome of CUPED arms.
    plain = (_outcome(c), _outcome(t)) if kind == "cuped" else (c, t)
    out["rel_diff"] = out["rel_ci_low"] = out["rel_ci_high"] = NAN
    if relative:
        try:
            rel = _test(kind, m, c, t, alpha, True)
            out.update(rel_diff=rel.estimate, rel_ci_low=rel.ci_low, rel_ci_high=rel.ci_high)
        except PromptabError as err:
            notes.append(f"no relative effect: {err}")
    if kind == "quantile" and (sequential or method == "bayesian"):
        notes.append("quantile metrics have no sequential or Bayesian version; fixed-horizon test")
    elif sequential:
        if isinstance(plain[0], st.RatioStats):
            notes.append("sequential test not available for ratio metrics; fixed-horizon p-value")
        else:
            sq = st.sequential(*plain, alpha=alpha)
            out.update(p_value=sq.p_value, diff_ci_low=sq.ci_low, diff_ci_high=sq.ci_high)
            out["test_suffix"] = " + sequential"
    if method == "bayesian" and kind != "quantile":
        b = st.bayes(*plain, relative=relative, prior=prior, ci_level=1 - alpha)
        out.update(
            # "Win" follows the metric's direction: for cost or latency a win is a decrease.
            chance_to_win=b.chance_to_win if m.direction == "higher" else 1 - b.chance_to_win,
            expected_loss=(
                b.expected_loss_treatment if m.direction == "higher" else b.expected_loss_control
            ),
            cred_low=b.ci_low,
            cred_high=b.ci_high,
        )
    out["note"] = "; ".join(n for n in notes if n) or None
    return out


def build_result(
    exp: Experiment,
    metrics: list[Metric],
    moments: dict[str, tuple[str, dict[str, dict[str, float]]]],
    health_: Health,
    *,
    unit: str,
    method: str,
    alpha: float,
    relative: bool,
    cuped: Any,
    winsorize: Any,
    correction: str | None,
    sequential: bool,
    multiple: str,
    start: Any,
    end: Any,
    prior: Any,
) -> ExperimentResult:
    rows: list[dict[str, Any]] = []
    control = exp.control
    for m in metrics:
        kind, mom = moments[m.name]
        arm_stats = {k: _arm(kind, m, mom.get(k)) for k in exp.variants}
        c = arm_stats[control]
        for key in exp.variants:
            a = arm_stats[key]
            n = (
                a.n
                if kind == "quantile" and a is not None
                else (
                    len(mom.get(key) or ())
                    if kind == "quantile"
                    else int(mom.get(key, {"n": 0})["n"])
                )
            )
            row: dict[str, Any] = dict(
                metric=m.name,
                variant=key,
                is_control=key == control,
                n=n,
                mean=NAN,
                mean_ci_low=NAN,
                mean_ci_high=NAN,
                diff=NAN,
                diff_ci_low=NAN,
                diff_ci_high=NAN,
                rel_diff=NAN,
                rel_ci_low=NAN,
                rel_ci_high=NAN,
                p_value=NAN,
                test=_test_name(kind, a if a is not None else c),
                significant=False,
                chance_to_win=NAN,
                expected_loss=NAN,
                cred_low=NAN,
                cred_high=NAN,
                note=None,
            )
            if a is not None:
                row["mean"], row["mean_ci_low"], row["mean_ci_high"] = _arm_summary(a, alpha)
            if key != control:
                if a is None or c is None:
                    row["note"] = "not enough units to compare (fewer than 2 in an arm)"
                else:
                    try:
                        res = _compare(
                            kind,
                            m,
                            c,
                            a,
                            alpha=alpha,
                            relative=relative,
                            method=method,
                            sequential=sequential,
                            prior=prior,
                        )
                    except PromptabError as err:
                        res = {"note": f"no comparison: {err}"}
                    suffix = res.pop("test_suffix", "")
                    row.update(res)
                    row["test"] += suffix
                    baseline = row_mean_of(rows, m.name, control)
                    g = guard(c.n, a.n, baseline)
                    if not g:
                        row["p_value"] = NAN
                        row["note"] = "; ".join(x for x in (row.get("note"), g.reason) if x)
            rows.append(row)
    _apply_correction(rows, correction)
    for r in rows:
        if method == "bayesian":
            ctw = r["chance_to_win"]
            r["significant"] = bool(
                not r["is_control"] and ctw == ctw and (ctw >= 1 - alpha or ctw <= alpha)
            )
        else:
            r["significant"] = bool(
                not r["is_control"] and r["p_value"] == r["p_value"] and r["p_value"] < alpha
            )
    methods = _methods(
        metrics,
        moments,
        unit=unit,
        method=method,
        relative=relative,
        cuped=cuped,
        winsorize=winsorize,
        correction=correction,
        sequential=sequential,
        multiple=multiple,
    )
    options = dict(
        unit=unit,
        method=method,
        alpha=alpha,
        relative=relative,
        cuped=cuped,
        winsorize=winsorize,
        correction=correction,
        sequential=sequential,
        multiple=multiple,
        start=start,
        end=end,
    )
    provenance = tuple(
        dict(
            zip(
                (
                    "file",
                    "format",
                    "sha256",
                    "rows_read",
                    "rows_loaded",
                    "rows_rejected",
                    "loaded_at",
                ),
                r,
                strict=True,
            )
        )
        for r in exp.ws._fetch(
            "SELECT file, format, sha256, rows_read, rows_loaded, rows_rejected, loaded_at "
            "FROM imports ORDER BY import_id"
        )
    )
    return ExperimentResult(
        experiment=exp.name,
        prompt_name=exp.prompt_name,
        flag_key=exp.flag_key,
        variants=dict(exp.variants),
        control=control,
        metrics=tuple(metrics),
        rows=tuple(ArmRow(**r) for r in rows),
        health=health_,
        methods=tuple(methods),
        options=options,
        provenance=provenance,
        computed_at=dt.datetime.now(dt.UTC),
    )


def row_mean_of(rows: list[dict[str, Any]], metric: str, variant: str) -> float | None:
    for r in rows:
        if r["metric"] == metric and r["variant"] == variant:
            return r["mean"]
    return None


def _apply_correction(rows: list[dict[str, Any]], correction: str | None) -> None:
    if correction is None:
        return
    idx = [i for i, r in enumerate(rows) if not r["is_control"] and r["p_value"] == r["p_value"]]
    if not idx:
        return
    adjusted = st.adjust_pvalues([rows[i]["p_value"] for i in idx], method=correction)
    adjusted = getattr(adjusted, "p_adjusted", adjusted)
    for i, p in zip(idx, adjusted, strict=True):
        rows[i]["p_value"] = float(p)


def _methods(
    metrics,
    moments,
    *,
    unit,
    method,
    relative,
    cuped,
    winsorize,
    correction,  # noqa: ANN001, ANN202
    sequential,
    multiple,
) -> list[str]:
    out = []
    for m in metrics:
        kind, _ = moments[m.name]
        if kind == "quantile":
            how = (
                f"difference of the {m.agg} over events with order-statistic CIs "
                "(Price–Bonett; ignores clustering by user)"
            )
        elif kind == "request":
            how = (
                "Fisher's exact test on the 2×2 table of events"
                if m.agg == "rate"
                else "Welch t test over events (ignores clustering by user)"
            )
        elif kind == "cuped":
            how = f"CUPED (pooled θ, {14 if cuped is True else cuped} days before exposure) + Welch"
        elif m.kind == "ratio":
            how = "ratio of sums per arm, delta-method variance over users"
        else:
            how = "Welch t test on per-user values"
        out.append(f"{m.name}: {how}")
    out.append(f"unit of analysis: {unit}; units exposed to several variants: {multiple}")
    if relative:
        out.append("relative effects: treatment / control − 1 with a delta-method CI (as PostHog)")
    if winsorize:
        out.append(
            f"winsorized per-unit values at the {winsorize[0]:g}th–{winsorize[1]:g}th "
            "percentiles pooled over arms"
        )
    if correction:
        out.append(
            {"holm": "Holm", "bh": "Benjamini–Hochberg"}[correction]
            + " correction across all metric × treatment comparisons"
        )
    if sequential:
        out.append("sequential: always-valid p-values and confidence sequences (safe to peek)")
    if method == "bayesian":
        out.append(
            "Bayesian: Gaussian posterior (flat prior unless given), chance to win, expected loss"
        )
    out.append("no p-value under 50 units per arm or with a zero baseline (as PostHog)")
    return out


def over_time(
    exp: Experiment, m: Metric, rows: list, *, alpha: float, relative: bool, freq: str
) -> OverTimeResult:
    """Cumulative comparison per period from per-(period, variant) sums."""
    by_period: dict[Any, dict[str, tuple]] = {}
    for r in rows:
        by_period.setdefault(r[0], {})[r[1]] = r
    out = []
    control = exp.control
    kind = "user"
    for period, arms_ in sorted(by_period.items()):

        def stats_of(r: tuple) -> Any:
            _, _, units, s, ss, d, dd, nd, _exposed = r
            if m.kind == "ratio":
                return _arm(
                    kind,
                    m,
                    dict(
                        n=units,
                        num=s or 0.0,
                        num_sq=ss or 0.0,
                        den=d or 0.0,
                        den_sq=dd or 0.0,
                        num_den=nd or 0.0,
                    ),
                )
            return _arm(kind, m, dict(n=units, sum=s or 0.0, sum_sq=ss or 0.0))

        c = stats_of(arms_[control]) if control in arms_ else None
        for key in exp.treatments:
            t = stats_of(arms_[key]) if key in arms_ else None
            rec = dict(
                period_end=period,
                variant=key,
                n_control=int(arms_[control][2]) if control in arms_ else 0,
                n_treatment=int(arms_[key][2]) if key in arms_ else 0,
                estimate=NAN,
                ci_low=NAN,
                ci_high=NAN,
                p_value=NAN,
            )
            if c is not None and t is not None:
                try:
                    ab = _test(kind, m, c, t, alpha, False)
                    shown = _test(kind, m, c, t, alpha, True) if relative else ab
                    rec.update(
                        estimate=shown.estimate,
                        ci_low=shown.ci_low,
                        ci_high=shown.ci_high,
                        p_value=ab.p_value,
                    )
                    if not isinstance(c, st.RatioStats):
                        sq = st.sequential(c, t, alpha=alpha)
                        rec.update(
                            diff=ab.estimate,
                            seq_ci_low=sq.ci_low,
                            seq_ci_high=sq.ci_high,
                            seq_p_value=sq.p_value,
                        )
                except PromptabError:
                    pass
            out.append(rec)
    return OverTimeResult(
        experiment=exp.name, metric=m, relative=relative, alpha=alpha, freq=freq, records=tuple(out)
    )
