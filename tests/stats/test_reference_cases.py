"""Every stored reference case (GrowthBook, PostHog, tea-tasting, Spotify confidence) in one test.

Each case is checked against ``expected`` at the case's own tolerance, and against
``recomputed``/``verified_recomputation`` (an independent scipy re-implementation of the same
method) to 1e-9 relative.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from _events import shared_reference

from promptab_nb.stats import (
    MeanStats,
    PropStats,
    RatioStats,
    bayes,
    chi_square,
    cuped,
    fisher_exact,
    mde,
    power,
    ratio_test,
    sample_size,
    srm,
    welch,
    ztest_proportions,
)
from promptab_nb.stats._types import CovStats

REF = shared_reference()
STATS_CASES = json.loads((REF / "stats" / "cases.json").read_text())
POSTHOG = json.loads((REF / "posthog" / "stats_cases.json").read_text())

SKIPS: dict[str, str] = {
    "case_12": (
        "case_12 is tea-tasting's CUPAC on a ratio-of-means metric with a ratio covariate "
        "(θ from delta-method covariances of four per-unit variables, normal quantiles). Our "
        "cuped() adjusts a per-unit outcome with a per-unit covariate (CovStats) as GrowthBook/"
        "PostHog do; a ratio-CUPED needs a 4-variable input type that the design does not have."
    ),
}

# Recomputed keys that are a different method from ours (compared to ``expected`` only).
RECOMPUTED_OTHER_METHOD = {
    # Spotify's n_total recomputation uses the normal approximation; ours is G*Power's
    # noncentral t, recorded under n_total_gpower_style_noncentral_t (which we compare).
    ("case_28", "n_total"),
}


def _inf(v: Any) -> float:
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf}[v]
    return float(v)


def _moments_mean(arm: dict[str, Any], col: str) -> MeanStats:
    return MeanStats.from_moments(arm["count"], arm["mean"][col], arm["var"][col])


def _cov(arm: dict[str, Any], a: str, b: str) -> float:
    return arm["cov"].get(f"{a}|{b}", arm["cov"].get(f"{b}|{a}"))


def _ratio_from_moments(arm: dict[str, Any], num: str, den: str) -> RatioStats:
    n = arm["count"]
    mn, md = arm["mean"][num], arm["mean"][den]
    vn, vd = arm["var"][num], arm["var"][den]
    c = _cov(arm, num, den)
    return RatioStats(
        n,
        mn * n,
        vn * (n - 1) + n * mn * mn,
        md * n,
        vd * (n - 1) + n * md * md,
        c * (n - 1) + n * mn * md,
    )


def _ci(res: Any) -> list[float]:
    return [res.ci_low, res.ci_high]


def _growthbook(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]

    def arm(a: dict[str, Any]) -> MeanStats | PropStats:
        if "sum_squares" in a:
            return MeanStats(a["n"], a["sum"], a["sum_squares"])
        return PropStats(a["n"], a["sum"])

    r = welch(
        arm(i["control"]),
        arm(i["treatment"]),
        alpha=i["alpha"],
        relative=i["difference_type"] == "relative",
        alternative=i["alternative"],
    )
    return {
        "point_estimate": r.estimate,
        "ci": _ci(r),
        "se": r.se,
        "p_value": r.p_value,
        "df": r.df,
    }


def _tea_props(i: dict[str, Any]) -> tuple[PropStats, PropStats]:
    return PropStats(i["control"]["n"], i["control"]["x"]), PropStats(
        i["treatment"]["n"], i["treatment"]["x"]
    )


def _tea_ztest(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    c, t = _tea_props(i)
    kw = dict(
        alpha=1 - i["confidence_level"],
        pooled="both" if i["equal_var"] else "none",
        correction=i["correction"],
    )
    a = ztest_proportions(c, t, **kw)
    r = ztest_proportions(c, t, relative=True, rel_method="log", **kw)
    return {
        "effect_size": a.estimate,
        "effect_size_ci": _ci(a),
        "rel_effect_size_ci": _ci(r),
        "pvalue": a.p_value,
    }


def _tea_two_sample(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    alt = i["alternative"]
    alpha = 1 - i["confidence_level"]
    if "numer" in i:
        c = _ratio_from_moments(i["control"], i["numer"], i["denom"])
        t = _ratio_from_moments(i["treatment"], i["numer"], i["denom"])
        kw = dict(alpha=alpha, alternative=alt, equal_var=i["equal_var"])
        a = ratio_test(c, t, **kw)
        r = ratio_test(c, t, relative=True, rel_method="log", **kw)
    else:
        c, t = _moments_mean(i["control"], "orders"), _moments_mean(i["treatment"], "orders")
        a = welch(c, t, alpha=alpha, alternative=alt)
        r = welch(c, t, alpha=alpha, alternative=alt, relative=True, rel_method="log")
    return {
        "control": c.mean,
        "treatment": t.mean,
        "effect_size": a.estimate,
        "effect_size_ci": _ci(a),
        "rel_effect_size": r.estimate,
        "rel_effect_size_ci": _ci(r),
        "pvalue": a.p_value,
        "statistic": a.statistic,
    }


def _spotify_welch(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    c = MeanStats(i["control"]["n"], i["control"]["sum"], i["control"]["sum_squares"])
    t = MeanStats(i["treatment"]["n"], i["treatment"]["sum"], i["treatment"]["sum_squares"])
    alpha = 1 - i["interval_size"]
    a = welch(c, t, alpha=alpha)
    r = welch(c, t, alpha=alpha, relative=True, rel_method="divide")
    return {
        "difference": a.estimate,
        "ci": _ci(a),
        "p_value": a.p_value,
        "rel_difference": r.estimate,
        "rel_ci": _ci(r),
        "df": a.df,
    }


def _spotify_chi2(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    c, t = _tea_props(i)
    alpha = 1 - i["interval_size"]
    a = ztest_proportions(c, t, alpha=alpha)
    r = ztest_proportions(c, t, alpha=alpha, relative=True, rel_method="divide")
    return {
        "difference": a.estimate,
        "ci": _ci(a),
        "p_value": a.p_value,
        "rel_difference": r.estimate,
        "rel_ci": _ci(r),
    }


def _srm_case(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    if isinstance(i["observed_units"], list):
        res = srm(i["observed_units"], i["expected_weights"])
        return {"p_value": res.p_value, "statistic": res.statistic}
    obs = [i["observed_units"]["control"], i["observed_units"]["treatment"]]
    shares = [1.0, i["expected_ratio_treatment_to_control"]]
    kw: dict[str, Any] = {
        "srm_exact_binomial": {"method": "binomial"},
        "srm_chi_square_gof": {},
        "srm_normal_continuity_corrected": {"correction": True},
    }[case["method"]]
    return {"pvalue": srm(obs, shares, **kw).p_value}


def _cuped_case(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]

    def arm(a: dict[str, Any]) -> CovStats:
        return CovStats(
            a["n"],
            a["post"]["sum"],
            a["post"]["sum_squares"],
            a["pre"]["sum"],
            a["pre"]["sum_squares"],
            a["post_pre_sum_of_products"],
        )

    r = cuped(arm(i["control"]), arm(i["treatment"]), relative=i["difference_type"] == "relative")
    return {"point_estimate": r.estimate, "se": r.se, "theta": r.theta}


def _tea_power(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    assert i["ratio"] == 1
    common = dict(sd=math.sqrt(i["sample_var"]), alpha=i["alpha"], alternative=i["alternative"])
    m = case["method"]
    if m.startswith("sample_size"):
        s = sample_size(i["sample_mean"], mde=i["effect_size"], power=i["power"], **common)
        return {"n_obs": s.n_total, "n_obs_real": s.n_total_real}
    if m.startswith("mde"):
        base = dict(n_total=i["n_obs"], power=i["power"], **common)
        return {
            "effect_size": mde(i["sample_mean"], **base),
            "rel_effect_size": mde(i["sample_mean"], relative=True, **base),
        }
    pw = power(
        i["sample_mean"], mde=i["rel_effect_size"], relative=True, n_total=i["n_obs"], **common
    )
    return {"power": pw}


def _spotify_size(case: dict[str, Any]) -> dict[str, Any]:
    i = case["input"]
    assert i["allocation"] == [0.5, 0.5] and i["two_sided"]
    if "baseline_variance" in i:
        s = sample_size(
            mde=i["absolute_mde"],
            sd=math.sqrt(i["baseline_variance"]),
            alpha=i["alpha"],
            power=i["power"],
        )
        return {"n_total": s.n_total, "n_total_gpower_style_noncentral_t": s.n_total}
    s = sample_size(
        i["baseline_proportion"], mde=i["absolute_mde"], alpha=i["alpha"], power=i["power"]
    )
    # The recomputation records the unrounded classic-formula total (same method as ours).
    return {"n_total": s.n_total, "_unrounded": {"n_total": s.n_total_real}}


def _fisher(case: dict[str, Any]) -> dict[str, Any]:
    c, t = _tea_props(case["input"])
    return {"pvalue": fisher_exact(c, t, alternative=case["input"]["alternative"]).p_value}


def _chi2(case: dict[str, Any]) -> dict[str, Any]:
    c, t = _tea_props(case["input"])
    return {"pvalue": chi_square(c, t, correction=case["input"]["correction"]).p_value}


DISPATCH = {
    "welch_t_relative_delta_linear": _growthbook,
    "welch_t_absolute": None,  # resolved by source below (GrowthBook or Spotify)
    "welch_t_relative_delta_linear_proportion": _growthbook,
    "welch_t_relative_delta_linear_one_sided": _growthbook,
    "welch_t_absolute_one_sided": _growthbook,
    "srm_chi_square_gof": _srm_case,
    "srm_exact_binomial": _srm_case,
    "srm_normal_continuity_corrected": _srm_case,
    "cuped_relative_estimate": _cuped_case,
    "welch_t_absolute_and_relative_logdelta": _tea_two_sample,
    "student_t_ratio_delta_method_one_sided": _tea_two_sample,
    "sample_size_welch_t_noncentral": _tea_power,
    "mde_welch_t_noncentral": _tea_power,
    "power_welch_t_noncentral_one_sided": _tea_power,
    "fisher_exact_two_sided": _fisher,
    "fisher_exact_one_sided": _fisher,
    "chi_square_2x2_yates": _chi2,
    "two_proportion_z_test_pooled": _tea_ztest,
    "two_proportion_z_test_unpooled_continuity_corrected": _tea_ztest,
    "welch_t_absolute_and_relative_divided": _spotify_welch,
    "two_proportion_chi_square_with_wald_ci": _spotify_chi2,
    "sample_size_two_sample_means": _spotify_size,
    "sample_size_two_proportions": _spotify_size,
}


def _compute_stats_case(case: dict[str, Any]) -> dict[str, Any]:
    fn = DISPATCH[case["method"]]
    if fn is None:
        fn = _spotify_welch if case["source"].startswith("spotify") else _growthbook
    return fn(case)


def _close(
    got: Any, want: Any, *, rel: float = 0.0, abs_: float = 0.0, interval_rel: bool = False
) -> bool:
    if isinstance(want, list):
        wants = [_inf(w) for w in want]
        scale = max((abs(w) for w in wants if math.isfinite(w)), default=1.0)
        for g, w in zip(got, wants, strict=True):
            if math.isinf(w):
                if g != w:
                    return False
            elif abs(g - w) > (rel * scale if interval_rel else rel * abs(w)) + abs_:
                return False
        return True
    return abs(float(got) - _inf(want)) <= rel * abs(_inf(want)) + abs_


def _assert_expected(
    case_id: str, got: dict[str, Any], expected: dict[str, Any], tol: dict[str, Any]
) -> None:
    for key, want in expected.items():
        if key.startswith("_"):
            continue
        assert key in got, f"{case_id}: no value computed for {key}"
        if tol["type"] == "abs":
            ok = _close(got[key], want, abs_=tol["value"])
        else:
            ok = _close(
                got[key],
                want,
                rel=tol["value"],
                interval_rel=True,
                abs_=1e-8 if want == 0.0 else 0.0,
            )
        assert ok, f"{case_id}.{key}: got {got[key]}, expected {want} ({tol})"


def _assert_recomputed(case_id: str, got: dict[str, Any], recomputed: dict[str, Any]) -> int:
    checked = 0
    for key, want in recomputed.items():
        if key not in got or (case_id, key) in RECOMPUTED_OTHER_METHOD:
            continue
        assert _close(got[key], want, rel=1e-9, abs_=1e-15), (
            f"{case_id}.{key}: {got[key]} vs recomputed {want}"
        )
        checked += 1
    return checked


@pytest.mark.parametrize("case", STATS_CASES + POSTHOG["cases"], ids=lambda c: c["id"])
def test_reference_case(case: dict[str, Any]) -> None:
    if case["id"] in SKIPS:
        pytest.skip(SKIPS[case["id"]])
    if "input" in case:
        got = _compute_stats_case(case)
        _assert_expected(case["id"], got, case["expected"], case["tolerance"])
        unrounded = got.pop("_unrounded", {})
        n = _assert_recomputed(case["id"], {**got, **unrounded}, case.get("recomputed", {}))
        assert n >= 1 or not case.get("recomputed")
        return
    # PostHog engine cases: assertAlmostEqual(places=4) means |diff| < 5e-5.
    tol = {"type": "abs", "value": 5e-5}

    def arm(a: dict[str, Any]) -> MeanStats | PropStats | RatioStats:
        if a["type"] == "SampleMeanStatistic":
            return MeanStats(a["n"], a["sum"], a["sum_squares"])
        if a["type"] == "ProportionStatistic":
            return PropStats(a["n"], a["sum"])
        m, d = a["m_statistic"], a["d_statistic"]
        return RatioStats(
            a["n"], m["sum"], m["sum_squares"], d["sum"], d["sum_squares"], a["m_d_sum_of_products"]
        )

    c, t = arm(case["control"]), arm(case["treatment"])
    if case["method"] == "bayesian":
        b = bayes(c, t, relative=True, ci_level=case["ci_level"])
        got = {
            "effect_size": b.estimate,
            "credible_interval": [b.ci_low, b.ci_high],
            "chance_to_win": b.chance_to_win,
        }
    else:
        fn = ratio_test if isinstance(c, RatioStats) else welch
        r = fn(c, t, alpha=case["alpha"], relative=True)
        got = {
            "point_estimate": r.estimate,
            "ci": _ci(r),
            "p_value": r.p_value,
            "df": r.df,
            "t": r.statistic,
        }
    _assert_expected(case["id"], got, case["expected"], tol)
    assert _assert_recomputed(case["id"], got, case["verified_recomputation"]) >= 3
