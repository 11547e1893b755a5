"""CUPED's pre-exposure covariate is attributed to units as the post-exposure scope attributes
events: through the distinct_id → person_id pairs, and evaluations through the evaluated
generation's unit and time. Each estimate equals an independent pandas / scipy computation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from _events import FLAG, T0, evaluation, expo, gen, write

import promptab_nb as pab
from promptab_nb.analysis import _scope

WINDOW = pd.Timedelta(days=14)  # cuped=True


def _workspace(events: list[dict[str, Any]], directory: Path) -> Any:
    ws = pab.Workspace()
    ws.load_posthog(write(events, directory)["parquet"], progress=False)
    return ws, ws.create_experiment("x", "support", {"control": "1", "test": "2"}, flag_key=FLAG)


def _welch(c: pd.DataFrame, t: pd.DataFrame, col: str) -> dict[str, float]:
    res = scipy.stats.ttest_ind(t[col], c[col], equal_var=False)
    lo, hi = res.confidence_interval(0.95)
    return {"diff": t[col].mean() - c[col].mean(), "lo": lo, "hi": hi, "p": res.pvalue}


def _cuped_ref(per: pd.DataFrame) -> dict[str, float]:
    """CUPED of ``y`` on ``x`` (θ pooled over both arms), then Welch's t test."""
    theta = np.cov(per.x, per.y, ddof=1)[0, 1] / per.x.var(ddof=1)
    adj = per.assign(adj=per.y - theta * per.x)
    return _welch(adj[adj.v == "control"], adj[adj.v == "test"], "adj") | {"theta": theta}


def _linear(num: pd.Series, den: pd.Series) -> pd.Series:
    """Per-unit linearisation of sum(num)/sum(den) (delta method)."""
    return (num - num.mean() / den.mean() * den) / den.mean()


def _ratio_cuped_ref(per: pd.DataFrame) -> dict[str, float]:
    """Ratio CUPED (tea-tasting's RatioOfMeans with covariates): θ = Cov(R, R_pre) / Var(R_pre)
    on the pooled units, each arm R − θ (R_pre − R̄_pre) with the delta-method variance."""
    r, r_pre = _linear(per.num, per.den), _linear(per.num_pre, per.den_pre)
    theta = np.cov(r, r_pre, ddof=1)[0, 1] / r_pre.var(ddof=1)
    x_mean = per.num_pre.sum() / per.den_pre.sum()
    out = {}
    for key in ("control", "test"):
        a = per[per.v == key]
        ra, rpa = _linear(a.num, a.den), _linear(a.num_pre, a.den_pre)
        value = a.num.sum() / a.den.sum() - theta * (a.num_pre.sum() / a.den_pre.sum() - x_mean)
        var = ra.var() + theta**2 * rpa.var() - 2 * theta * np.cov(ra, rpa, ddof=1)[0, 1]
        out[key] = (value, var / len(a), len(a) - 1)
    (mc, vc, dc), (mt, vt, dt) = out["control"], out["test"]
    se = np.sqrt(vc + vt)
    df = (vc + vt) ** 2 / (vc**2 / dc + vt**2 / dt)
    half = scipy.stats.t.ppf(0.975, df) * se
    diff = mt - mc
    p = 2 * scipy.stats.t.sf(abs(diff) / se, df)
    return {"diff": diff, "lo": diff - half, "hi": diff + half, "p": p, "theta": theta}


def _assert_row(row: Any, ref: dict[str, float]) -> None:
    got = (row.diff, row.diff_ci_low, row.diff_ci_high, row.p_value)
    assert got == pytest.approx((ref["diff"], ref["lo"], ref["hi"], ref["p"]), rel=1e-9)


# -- identity map -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def merged_ids(tmp_path_factory: pytest.TempPathFactory):
    """Exposures carry person_id, generations only the distinct_id; each user's level drives
    cost and errors both before and after exposure."""
    rng = np.random.default_rng(3)
    events, rows = [], []
    for u in range(600):
        v, did = ("test", "control")[u % 2], f"d{u}"
        level = rng.lognormal(0, 0.7)
        p_err = float(np.clip(0.05 + 0.1 * rng.gamma(1.5, 1.0), 0, 0.9))
        x = expo(f"e{u}", did, 1000 + u, v)
        x["person_id"] = f"P{u}"
        events.append(x)
        for k in range(3):
            cost = float(level * 0.01 * rng.lognormal(0, 0.2))
            err = bool(rng.random() < p_err)
            events.append(gen(f"pre{u}_{k}", did, 1000 + u - 100 - k, cost=cost, error=err))
            rows.append((f"P{u}", v, "pre", cost, err))
        for k in range(int(rng.integers(1, 4))):
            cost = float(level * 0.01 * rng.lognormal(0, 0.2)) * (0.9 if v == "test" else 1)
            err = bool(rng.random() < p_err + (0.03 if v == "test" else 0))
            ver = "2" if v == "test" else "1"
            events.append(
                gen(f"g{u}_{k}", did, 1000 + u + k + 1, cost=cost, error=err, version=ver)
            )
            rows.append((f"P{u}", v, "post", cost, err))
    ws, exp = _workspace(events, tmp_path_factory.mktemp("ids"))
    # Per person (the exposure's person_id): outcome after exposure, covariate before it.
    df = pd.DataFrame(rows, columns=["unit", "v", "when", "cost", "err"])
    post, pre = df[df.when == "post"].groupby("unit"), df[df.when == "pre"].groupby("unit")
    per = df.groupby("unit").v.first().to_frame()
    per = per.assign(
        y=post.cost.sum(), x=pre.cost.sum(), num=post.err.sum(), den=post.err.count(),
        num_pre=pre.err.sum(), den_pre=pre.err.count(),
    ).fillna(0)  # fmt: skip
    yield exp, per
    ws.close()


def test_cuped_reads_the_covariate_through_the_identity_map(merged_ids) -> None:
    exp, per = merged_ids
    assert _scope.needs_identity_map(exp.ws.engine)
    ref = _cuped_ref(per)
    assert ref["theta"] > 0.5  # the pre-period cost predicts the outcome
    plain = exp.analyze(["cost"], relative=False).rows[1]
    row = exp.analyze(["cost"], cuped=True, relative=False).rows[1]
    _assert_row(row, ref)
    # Before the fix the covariate matched no unit: θ = 0, the plain Welch result.
    assert row.diff_ci_high - row.diff_ci_low < 0.7 * (plain.diff_ci_high - plain.diff_ci_low)


def test_ratio_cuped_reads_the_covariate_through_the_identity_map(merged_ids) -> None:
    exp, per = merged_ids
    ref = _ratio_cuped_ref(per)
    row = exp.analyze(["error_rate"], cuped=True, relative=False).rows[1]
    assert ref["theta"] > 0.1
    _assert_row(row, ref)


# -- evaluations attributed to the evaluated generation ---------------------------------------
def _judged(who: str, lag: bool, directory: Path) -> tuple[Any, Any, pd.DataFrame]:
    """400 users, 4 generations before exposure and 3 after, each evaluated. ``who`` sends the
    evaluations (the user's own id or a judge's); with ``lag`` the pre-exposure generations
    are made 1 minute before exposure and judged 1 minute after it."""
    rng = np.random.default_rng(11)
    events, rows = [], []
    for u in range(400):
        v, user = ("test", "control")[u % 2], f"u{u}"
        ver, t = ("2" if v == "test" else "1"), 2000 + u * 3
        q = rng.beta(2, 1)
        sender = user if who == "user" else "judge-bot"
        events.append(expo(f"e{u}", user, t, v))
        for k in range(4):
            made, judged = (t - 1, t + 1) if lag else (t - 60 - k, t - 50 - k)
            ok = bool(rng.random() < q)
            events.append(gen(f"pre{u}_{k}", user, made, version=ver))
            events.append(evaluation(f"vp{u}_{k}", sender, judged, f"pre{u}_{k}", ok))
            rows.append((user, v, "pre", T0 + pd.Timedelta(minutes=made), ok))
        for k in range(3):
            ok = bool(rng.random() < min(1, q * (1.05 if v == "test" else 1)))
            events.append(gen(f"g{u}_{k}", user, t + k + 1, version=ver))
            events.append(evaluation(f"v{u}_{k}", sender, t + k + 2, f"g{u}_{k}", ok))
            rows.append((user, v, "post", T0 + pd.Timedelta(minutes=t + k + 1), ok))
    ws, exp = _workspace(events, directory)
    df = pd.DataFrame(rows, columns=["unit", "v", "when", "gen_ts", "ok"])
    post, pre = df[df.when == "post"].groupby("unit"), df[df.when == "pre"].groupby("unit")
    per = df.groupby("unit").v.first().to_frame()
    per = per.assign(
        num=post.ok.sum(), den=post.ok.count(), num_pre=pre.ok.sum(), den_pre=pre.ok.count()
    ).fillna(0)
    return ws, exp, per


@pytest.mark.parametrize(
    ("who", "lag"),
    [
        pytest.param("user", False, id="own-id"),
        pytest.param("judge", False, id="judge-id"),
        pytest.param("judge", True, id="judged-after-exposure"),
    ],
)
def test_pass_rate_cuped_attributes_evaluations_to_the_evaluated_generation(
    tmp_path: Path, who: str, lag: bool
) -> None:
    ws, exp, per = _judged(who, lag, tmp_path)
    try:
        ref = _ratio_cuped_ref(per)
        assert ref["theta"] > 0.3  # each user's pass probability carries over
        row = exp.analyze(["pass_rate"], cuped=True, relative=False).rows[1]
        _assert_row(row, ref)
        plain = exp.analyze(["pass_rate"], relative=False).rows[1]
        assert row.diff_ci_high - row.diff_ci_low < plain.diff_ci_high - plain.diff_ci_low
    finally:
        ws.close()


def test_ratio_cuped_reference_equals_tea_tasting(tmp_path: Path) -> None:
    """The hand-written ratio CUPED reference above is tea-tasting's."""
    tt = pytest.importorskip("tea_tasting")
    ws, _, per = _judged("user", False, tmp_path)
    ws.close()
    ours = _ratio_cuped_ref(per)
    ref = tt.Experiment(m=tt.RatioOfMeans("num", "den", "num_pre", "den_pre")).analyze(
        per.rename(columns={"v": "variant"}).reset_index(), control="control"
    )["m"]
    assert ours["diff"] == pytest.approx(ref.effect_size, rel=1e-9)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours["lo"] == pytest.approx(ref.effect_size_ci_lower, rel=1e-9)


# -- the covariate measures what the outcome measures -------------------------------------------
@pytest.fixture(scope="module")
def two_prompts(tmp_path_factory: pytest.TempPathFactory):
    """The experiment is on prompt "support"; each user also calls a prompt "triage" whose cost
    and errors are noise. The covariate is the support prompt's cost / errors before exposure:
    summed over both prompts it predicts little."""
    rng = np.random.default_rng(5)
    events, rows = [], []
    for u in range(600):
        v, user = ("test", "control")[u % 2], f"u{u}"
        level = rng.lognormal(0, 0.7)
        p_err = float(np.clip(0.05 + 0.1 * rng.gamma(1.5, 1.0), 0, 0.9))
        ver = "2" if v == "test" else "1"
        events.append(expo(f"e{u}", user, 1000 + u, v))
        for k in range(3):
            cost, err = float(level * 0.01 * rng.lognormal(0, 0.2)), bool(rng.random() < p_err)
            events.append(gen(f"pre{u}_{k}", user, 1000 + u - 100 - k, cost=cost, error=err))
            rows.append((user, v, "pre", cost, err))
            noise, coin = float(0.05 * rng.lognormal(0, 1)), bool(rng.random() < 0.5)
            events.append(
                gen(
                    f"tpre{u}_{k}", user, 1000 + u - 90 - k, cost=noise, error=coin, prompt="triage"
                )
            )
        for k in range(int(rng.integers(1, 4))):
            cost = float(level * 0.01 * rng.lognormal(0, 0.2)) * (0.9 if v == "test" else 1)
            err = bool(rng.random() < p_err + (0.03 if v == "test" else 0))
            events.append(
                gen(f"g{u}_{k}", user, 1000 + u + k + 1, cost=cost, error=err, version=ver)
            )
            rows.append((user, v, "post", cost, err))
            noise = float(0.05 * rng.lognormal(0, 1))
            events.append(gen(f"tg{u}_{k}", user, 1000 + u + k + 1, cost=noise, prompt="triage"))
    ws, exp = _workspace(events, tmp_path_factory.mktemp("prompts"))
    df = pd.DataFrame(rows, columns=["unit", "v", "when", "cost", "err"])
    post, pre = df[df.when == "post"].groupby("unit"), df[df.when == "pre"].groupby("unit")
    per = df.groupby("unit").v.first().to_frame()
    per = per.assign(
        y=post.cost.sum(), x=pre.cost.sum(), num=post.err.sum(), den=post.err.count(),
        num_pre=pre.err.sum(), den_pre=pre.err.count(),
    ).fillna(0)  # fmt: skip
    yield exp, per
    ws.close()


def test_cuped_covariate_reads_only_the_experiments_prompt(two_prompts) -> None:
    exp, per = two_prompts
    assert exp.prompt_name == "support"
    ref = _cuped_ref(per)
    assert ref["theta"] > 0.5
    row = exp.analyze(["cost"], cuped=True, relative=False).rows[1]
    # Before the fix the covariate also summed the triage prompt's cost (θ ≈ 0.03): the
    # adjusted difference and its CI were those of a covariate the outcome does not measure.
    _assert_row(row, ref)


def test_ratio_cuped_covariate_reads_only_the_experiments_prompt(two_prompts) -> None:
    exp, per = two_prompts
    ref = _ratio_cuped_ref(per)
    assert ref["theta"] > 0.1
    row = exp.analyze(["error_rate"], cuped=True, relative=False).rows[1]
    _assert_row(row, ref)


def test_cuped_covariate_uses_the_recomputed_cost(tmp_path: Path) -> None:
    """cost="recompute": the outcome is priced from tokens, so is the covariate. The export's
    own cost is noise here; the tokens carry each user's level."""
    genai_prices = pytest.importorskip("genai_prices")
    per_token = [
        float(genai_prices.calc_price(genai_prices.Usage(**{kind: 1000}), "gpt-4o-mini",
                                      provider_id="openai").total_price) / 1000
        for kind in ("input_tokens", "output_tokens")
    ]  # fmt: skip
    rng = np.random.default_rng(8)
    events, rows = [], []
    for u in range(600):
        v, user = ("test", "control")[u % 2], f"u{u}"
        level = rng.lognormal(0, 0.7)
        events.append(expo(f"e{u}", user, 1000 + u, v))
        posts = int(rng.integers(1, 4))
        for k in range(3 + posts):
            after = k >= 3
            scale = level * (0.9 if after and v == "test" else 1.0)
            tin, tout = (max(1, round(scale * m * rng.lognormal(0, 0.2))) for m in (400, 150))
            minutes = 1000 + u + k - 2 if after else 1000 + u - 100 - k
            raw = float(0.01 * rng.lognormal(0, 0.5))  # the export's cost: unrelated to tokens
            tokens = {"$ai_input_tokens": tin, "$ai_output_tokens": tout}
            ver = "2" if after and v == "test" else "1"
            events.append(gen(f"g{u}_{k}", user, minutes, cost=raw, version=ver, **tokens))
            usd = tin * per_token[0] + tout * per_token[1]
            rows.append((user, v, "post" if after else "pre", usd))
    ws, exp = _workspace(events, tmp_path)
    try:
        df = pd.DataFrame(rows, columns=["unit", "v", "when", "usd"])
        per = df.groupby("unit").v.first().to_frame()
        per = per.assign(
            y=df[df.when == "post"].groupby("unit").usd.sum(),
            x=df[df.when == "pre"].groupby("unit").usd.sum(),
        ).fillna(0)
        ref = _cuped_ref(per)
        assert ref["theta"] > 0.5
        plain = exp.analyze(["cost"], cost="recompute", relative=False).rows[1]
        assert plain.diff == pytest.approx(
            _welch(per[per.v == "control"], per[per.v == "test"], "y")["diff"], rel=1e-9
        )
        row = exp.analyze(["cost"], cuped=True, cost="recompute", relative=False).rows[1]
        # Before the fix the covariate was the export's cost (noise): θ ≈ 0, no variance reduced.
        _assert_row(row, ref)
        assert row.diff_ci_high - row.diff_ci_low < 0.7 * (plain.diff_ci_high - plain.diff_ci_low)
    finally:
        ws.close()


def test_cuped_winsorizes_the_outcome(merged_ids) -> None:
    # cuped=True with winsorize=(0, 90) ignored the winsorizing (the result equalled plain
    # CUPED) while the methods said the per-unit values were winsorized.
    exp, per = merged_ids
    hi = np.quantile(per.y, 0.9)
    ref = _cuped_ref(per.assign(y=per.y.clip(upper=hi)))
    row = exp.analyze(["cost"], cuped=True, winsorize=(0, 90), relative=False).rows[1]
    _assert_row(row, ref)
    plain = exp.analyze(["cost"], cuped=True, relative=False).rows[1]
    assert row.p_value != pytest.approx(plain.p_value, rel=1e-6)


@pytest.mark.parametrize("metric", ["cost", "error_rate"])
def test_cuped_without_pre_exposure_data_says_it_adjusted_nothing(tmp_path: Path, metric) -> None:
    # No unit had an event before its exposure: θ = 0 and the CUPED numbers equal the
    # unadjusted ones, while the methods said "CUPED (pooled θ, 14 days before exposure)" as
    # if the variance had been reduced.
    rng = np.random.default_rng(5)
    events = []
    for u in range(120):
        arm = u % 2
        events.append(expo(f"x{u}", f"u{u}", u, ("control", "test")[arm]))
        events.append(gen(f"g{u}", f"u{u}", u + 1, version=str(arm + 1),
                          cost=float(rng.gamma(2, 0.01)), error=bool(rng.random() < 0.3)))  # fmt: skip
    ws, exp = _workspace(events, tmp_path)
    cuped, plain = exp.analyze([metric], cuped=True), exp.analyze([metric])
    assert cuped.rows[1].diff_ci_low == pytest.approx(plain.rows[1].diff_ci_low, rel=1e-9)
    (line,) = [m for m in cuped.methods if m.startswith(f"{metric}:")]
    assert "adjusted nothing" in line, line
    ws.close()
