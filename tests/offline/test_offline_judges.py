"""Issue 19 in the offline layer: clusters, repeats and the planner, exact McNemar when repeats
agree, judge agreement, PPI++ with human labels, and pairwise preference."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from _offline_fakes import id_dataset
from ppi_py import ppi_mean_ci
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

import promptab_nb as pab
from promptab_nb.errors import DataError, InvalidArgumentError
from promptab_nb.offline import DemoJudge, DemoModel, judge_agreement
from promptab_nb.offline.planning import simulate_design
from promptab_nb.stats import VarianceComponents, design_items

V1 = ("math", "Answer with the number only: {{q}}")
V2 = ("math", "Think step by step, then give the answer on the last line: {{q}}")
V3 = ("math", "Be concise. {{q}}")


def _dataset(passages: int = 15, per: int = 4) -> pab.offline.Dataset:
    rng = np.random.default_rng(0)
    recs = []
    for p in range(passages):
        for q in range(per):
            a, b = (int(x) for x in rng.integers(1, 50, 2))
            recs.append({"item_id": f"p{p:02d}q{q}", "q": f"{a}+{b}", "expected": str(a + b),
                         "passage": f"P{p}"})  # fmt: skip
    return pab.offline.Dataset.from_records(recs, metadata_fields=["passage"])


@pytest.fixture()
def run(ws):
    return ws.run_offline(_dataset(), [V1, V2], DemoModel(seed=3), repeats=3, progress=False,
                          scorers=[pab.offline.contains()])  # fmt: skip


def _item_diffs(run, metric: str = "contains") -> pd.DataFrame:
    s = run.scores()
    s = s[s["scorer"] == metric].groupby(["version", "item_id"])["value"].mean().unstack(0)
    return (s[run.labels[1]] - s[run.labels[0]]).rename("d").reset_index()


def test_cluster_robust_row_equals_statsmodels(run) -> None:
    r = run.compare(cluster="passage").row("contains")
    d = _item_diffs(run)
    groups = d["item_id"].str[:3]
    ref = sm.OLS(d["d"].to_numpy(), np.ones(len(d))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]}, use_t=True
    )
    assert r.diff == pytest.approx(ref.params[0], abs=1e-12)
    assert r.diff_ci == pytest.approx(tuple(ref.conf_int()[0]), abs=1e-9)
    assert r.p_value == pytest.approx(ref.pvalues[0], abs=1e-9)
    assert r.n_clusters == 15 and r.design_effect is not None
    assert "cluster-robust" in r.method
    iid = sm.OLS(d["d"].to_numpy(), np.ones(len(d))).fit()
    assert r.design_effect == pytest.approx((ref.bse[0] / iid.bse[0]) ** 2, rel=1e-9)


def test_missing_cluster_is_named(ws) -> None:
    ds = pab.offline.Dataset.from_records(
        [{"q": "1+1", "expected": "2"}, {"q": "2+2", "expected": "4"}]
    )
    run = ws.run_offline(ds, [V1, V2], DemoModel(), repeats=1, progress=False)
    with pytest.raises(InvalidArgumentError, match="passage"):
        run.compare(cluster="passage")


def test_variance_split_and_plan(run) -> None:
    r = run.compare().row("contains")
    assert r.var_between is not None and r.var_within is not None and r.var_within > 0
    plan = run.plan(mde=0.15, max_items=2000, n_sims=2000)
    vc = plan.components
    assert vc.between == pytest.approx(r.var_between) and vc.within == pytest.approx(r.var_within)
    c = plan.chosen
    assert plan.reaches_power and c.power >= 0.8
    # Sized for the paired t test compare() runs (statsmodels' power), not the z test's n.
    from statsmodels.stats.power import TTestPower

    effect = 0.15 / vc.var_of_item_mean(c.repeats) ** 0.5
    assert c.items == math.ceil(TTestPower().solve_power(effect, power=0.8, alpha=0.05))
    assert c.items >= design_items(vc, c.repeats, 0.15)
    # Per-call cost only: K = 1 is cheapest ((ω² + σ²/K)·K grows with K).
    assert c.repeats == 1
    assert abs(plan.simulated_power - c.power) < 0.03 + 2 * plan.simulated_se
    # Scarce items make repeats worth it; a per-item cost does too.
    capped = run.plan(mde=0.15, max_items=c.items // 2 + 10, n_sims=500)
    assert capped.chosen.repeats > 1 or not capped.reaches_power
    assert "items ×" in repr(plan) and "◀" in plan._repr_html_()
    assert plan.to_pandas()["chosen"].sum() == 1


def test_plan_budget_falls_short_and_says_so(run) -> None:
    plan = run.plan(mde=0.05, budget_usd=0.001, n_sims=200)
    assert not plan.reaches_power and plan.chosen.cost_usd <= 0.001
    assert any("budget" in n for n in plan.notes)
    with pytest.raises(InvalidArgumentError, match="repeats >= 2"):
        pab.Workspace().run_offline(_dataset(2, 2), [V1, V2], DemoModel(), repeats=1,
                                    progress=False).plan(mde=0.1)  # fmt: skip


@pytest.mark.parametrize(
    ("omega2", "sigma2", "k"), [(0.02, 0.2, 1), (0.02, 0.2, 4), (0.05, 0.1, 2)]
)
def test_planned_design_reaches_power_in_simulation(omega2: float, sigma2: float, k: int) -> None:
    """Normal items × repeats with known ω², σ²: Miller's n gives 80 % ± 3 pp (2,000 runs)."""
    rng = np.random.default_rng(5)
    vc = VarianceComponents(omega2, sigma2, 0, k)
    n = design_items(vc, k, 0.1)
    # a large pilot with exactly these components, resampled by the planner's simulator
    pilot = rng.normal(0, np.sqrt(omega2), (3000, 1)) + rng.normal(0, np.sqrt(sigma2), (3000, 4))
    power, se = simulate_design(pilot, n, k, 0.1, n_sims=2000, seed=1)
    print(f"ω²={omega2}, σ²={sigma2}, K={k}: n={n}, simulated power {power:.3f} ± {se:.3f}")
    assert abs(power - 0.8) <= 0.03


def test_agreeing_repeats_use_exact_mcnemar(ws) -> None:
    answers = {("A", i): "yes" if k % 3 else "no" for k, i in enumerate("abcdefghijklmnopqrst")}
    answers |= {("B", i): "yes" if k % 5 else "no" for k, i in enumerate("abcdefghijklmnopqrst")}

    def model(prompt: str) -> str:
        prefix, item = prompt.split(" ", 1)
        return answers[(prefix, item)]

    ds = pab.offline.Dataset.from_records([{"item_id": i, "id": i, "expected": "yes"}
                                           for i in "abcdefghijklmnopqrst"])  # fmt: skip
    run = ws.run_offline(ds, [("t", "A {{id}}"), ("t", "B {{id}}")], model, repeats=3,
                         progress=False)  # fmt: skip
    comp = run.compare(metrics=["exact"], interval="clopper-pearson")
    r = comp.row("exact")
    a = np.array([k % 3 != 0 for k in range(20)])
    b = np.array([k % 5 != 0 for k in range(20)])
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    assert r.method == "mcnemar exact"
    assert r.p_value == pytest.approx(sm_mcnemar(table, exact=True).pvalue, rel=1e-12)
    from statsmodels.stats.proportion import proportion_confint

    assert r.baseline_ci == pytest.approx(proportion_confint(a.sum(), 20, method="beta"))


def test_judge_agreement_matches_references() -> None:
    rng = np.random.default_rng(2)
    human = rng.random(200) < 0.6
    judge = np.where(rng.random(200) < 0.85, human, ~human)
    a = judge_agreement(judge, human)
    table = pd.crosstab(judge, human).to_numpy()
    assert a.kappa.kappa == pytest.approx(sm_kappa(table).kappa, abs=1e-12)
    tp, fn = np.sum(judge & human), np.sum(~judge & human)
    assert a.sensitivity == pytest.approx(tp / (tp + fn))
    assert a.human_rates[1] == pytest.approx(human.mean())
    assert "Cohen's kappa" in repr(a) and "<table" in a._repr_html_()
    # several people with missing labels: α over judge + raters
    import krippendorff

    raters = pd.DataFrame({"ann": human.astype(float), "bob": np.where(rng.random(200) < 0.9,
                           human, ~human).astype(float)})  # fmt: skip
    raters.loc[raters.index[::4], "bob"] = np.nan
    multi = judge_agreement(pd.Series(judge), raters)
    ref = krippendorff.alpha(reliability_data=np.vstack([judge.astype(float), raters["ann"],
                             raters["bob"]]), level_of_measurement="nominal")  # fmt: skip
    assert multi.alpha_krippendorff == pytest.approx(ref, abs=1e-12) and multi.n_raters == 3


def _human_labels(run, n: int, flip: float, seed: int = 0) -> pd.DataFrame:
    """'Human' labels: the contains score at repeat 0 on the first n items, flipped at rate flip."""
    rng = np.random.default_rng(seed)
    s = run.scores()
    s = s[(s["repeat_idx"] == 0) & (s["scorer"] == "contains")]
    s = s[s["item_id"].isin(sorted(s["item_id"].unique())[:n])]
    label = np.where(rng.random(len(s)) < flip, 1 - s["value"], s["value"])
    return pd.DataFrame({"item_id": s["item_id"], "version": s["version"], "label": label})


def test_ppi_compare_equals_ppi_python(run) -> None:
    human = _human_labels(run, 25, 0.0)
    comp = run.compare(metrics=["contains"], human_labels=human)
    ppi = comp.ppi
    assert ppi is not None
    judge = run.scores()
    judge = judge[judge["scorer"] == "contains"].groupby(["version", "item_id"])["value"].mean()
    h = human.set_index(["version", "item_id"])["label"]
    v0, v1 = run.labels
    lab = sorted(human["item_id"].unique())
    unl = [i for i in run.dataset.ids if i not in lab]
    for v in (v0, v1):
        y = h[v].reindex(lab).to_numpy(float)
        lo, hi = ppi_mean_ci(y, judge[v].reindex(lab).to_numpy(float),
                             judge[v].reindex(unl).to_numpy(float), alpha=0.05)  # fmt: skip
        assert ppi.row(v, "pass rate").ci == pytest.approx((lo[0], hi[0]), abs=1e-6)
    yd = (h[v1].reindex(lab) - h[v0].reindex(lab)).to_numpy(float)
    jd = judge[v1] - judge[v0]
    lo, hi = ppi_mean_ci(yd, jd.reindex(lab).to_numpy(float), jd.reindex(unl).to_numpy(float),
                         alpha=0.05)  # fmt: skip
    row = ppi.row(v1)
    assert row.ci == pytest.approx((lo[0], hi[0]), abs=1e-6) and row.method == "PPI++"
    assert "PPI++" in repr(comp) and "PPI++" in ppi._repr_html_()


def test_ppi_falls_back_when_judge_is_weak(run) -> None:
    human = _human_labels(run, 30, 0.5, seed=4)  # labels unrelated to the judge
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ppi = run.compare(metrics=["contains"], human_labels=human).ppi
    assert ppi is not None
    fell = [r for r in ppi.rows if r.method == "human labels only"]
    assert fell and all(r.lam == 0 and r.estimate == pytest.approx(r.human_only) for r in fell)
    assert any("too weak" in str(w.message) for w in caught)
    assert any("too weak" in n for n in ppi.notes)


def test_pairwise_with_demo_judge(ws) -> None:
    res = ws.run_pairwise(_dataset(10, 4), [V1, V2, V3], DemoJudge(position_bias=0.3),
                          model=DemoModel(seed=3), progress=False, n_boot=300)  # fmt: skip
    assert res.n_items == 40 and res.n_judgments == 40 * 3 * 2
    assert res.first_slot_share is not None and res.first_slot_share > 0.5
    assert res.first_slot_p is not None and res.first_slot_p < 0.05  # position bias detected
    assert (res.ci_low <= res.strengths + 1e-12).all() and (
        res.strengths <= res.ci_high + 1e-12
    ).all()
    wr = res.win_rates()
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose((wr.to_numpy() + wr.to_numpy().T)[off], 1.0)
    assert res.ranking[0] == "math@v2"  # step by step answers right more often
    fig = res.plot()
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 3 and "strength" in ax.get_xlabel()
    assert "position bias" in repr(res) and res.to_pandas()["rank"].tolist()


def test_pairwise_strengths_equal_choix_on_the_win_counts(ws) -> None:
    import choix

    run = ws.run_offline(_dataset(8, 4), [V1, V2, V3], DemoModel(seed=2), repeats=1,
                         progress=False)  # fmt: skip
    res = ws.run_pairwise(run, judge=DemoJudge(seed=1), progress=False, n_boot=200)
    # Rebuild the outcome of each (item, pair) from the raw judgments: orders that disagree tie.
    j = res.judgments.assign(
        pair=lambda f: [tuple(sorted(p)) for p in zip(f["first"], f["second"], strict=True)],
        winner=lambda f: np.where(f["verdict"] == "A", f["first"],
                                  np.where(f["verdict"] == "B", f["second"], "tie")),
    )  # fmt: skip
    idx = {v: i for i, v in enumerate(res.versions)}
    data: list[tuple[int, int]] = []
    for (_, (x, y)), g in j.groupby(["item_id", "pair"]):
        got = set(g["winner"])
        w = got.pop() if len(got) == 1 else "tie"
        if w == "tie":
            data += [(idx[x], idx[y]), (idx[y], idx[x])]
        else:
            data += [(idx[w], idx[y if w == x else x])] * 2
    ref = choix.ilsr_pairwise(3, data, tol=1e-14, max_iter=10_000)
    np.testing.assert_allclose(res.strengths, ref - ref.mean(), atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="judge"):
        ws.run_pairwise(run)


def _pair_judge(prompt: str) -> str:
    """Prefers the output with the later letter (C > B > A) in either slot; raises on i001,
    replies without a verdict on i002 when t@v1's output (``A …``) is in slot A, ties on i004."""
    item = re.search(r"id: (\w+)", prompt).group(1)  # type: ignore[union-attr]
    a = prompt.split("Response A:")[1].split("Response B:")[0].strip()
    b = prompt.split("Response B:")[1].split("Which response")[0].strip()
    if item == "i001":
        raise RuntimeError("judge down")
    if item == "i002" and a.startswith("A "):
        return "I cannot tell"
    if item == "i004":
        return "TIE"
    return "A" if a > b else "B"


@pytest.mark.filterwarnings("ignore:.*calls failed")
def test_pairwise_counts_what_it_leaves_out_with_the_reason(ws) -> None:
    # t@v3 fails on i003: only its two pairs lose that item (t@v1 vs t@v2 still judge it). The
    # judge fails on every order of i001 (left out of all three pairs) and gives no verdict on
    # i002 when t@v1 is shown first (decided by the other order alone). i004 ties everywhere.
    def model(prompt: str) -> str:
        if prompt == "C i003":
            raise RuntimeError("boom")
        return prompt

    versions = [("t", "A {{id}}"), ("t", "B {{id}}"), ("t", "C {{id}}")]
    run = ws.run_offline(id_dataset(6), versions, model, repeats=1, scorers=[], progress=False)
    res = ws.run_pairwise(run, judge=_pair_judge, progress=False, n_boot=200)
    assert res.n_items == 6
    # 6 items × 3 pairs × 2 orders, less i003's 4 calls without a t@v3 output; 8 calls failed.
    assert len(res.judgments) == 32 and res.n_judgments == 24
    assert res.judgments["reason"].value_counts().to_dict() == {"judge error": 6,
                                                              "no verdict in reply": 2}  # fmt: skip
    assert res.n_dropped == 5
    assert dict(res.dropped) == {
        "t@v1 vs t@v3: model error in t@v3 only": 1, "t@v2 vs t@v3: model error in t@v3 only": 1,
        "t@v1 vs t@v2: judge error in both orders": 1,
        "t@v1 vs t@v3: judge error in both orders": 1,
        "t@v2 vs t@v3: judge error in both orders": 1,
    }  # fmt: skip
    assert res.n_one_order == 2
    left = (
        "t@v1 vs t@v3: 2 of 6 items left out: 1 model error in t@v3 only, "
        "1 judge error in both orders"
    )
    one = (
        "t@v1 vs t@v2: 1 of 5 items judged in one order only: 1 no verdict in reply with t@v1 first"
    )
    assert left in res.notes and one in res.notes
    assert left in repr(res) and one in res._repr_html_()
    # Ties were already counted: i004 in its three pairs, the orders always agreeing.
    assert res.ties == 3 and res.consistency == 1.0
    assert res.ranking == ["t@v3", "t@v2", "t@v1"]


def test_pairwise_with_nothing_left_out_says_nothing(ws) -> None:
    run = ws.run_offline(_dataset(3, 2), [V1, V2], DemoModel(seed=2), repeats=1,
                         progress=False)  # fmt: skip
    res = ws.run_pairwise(run, judge=DemoJudge(seed=1), progress=False, n_boot=100)
    assert res.n_dropped == 0 and res.dropped == () and res.n_one_order == 0
    assert not any("left out" in n or "one order" in n for n in res.notes)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("A", "A"), ("b", "B"), (" TIE. ", "TIE"), ("**B**", "B"), ("[[A]]", "A"),
        ("It is a tie", "TIE"), ("Neither is better: a tie.", "TIE"), ("A tie.", "TIE"),
        ("Response B is better.", "B"), ("B's answer wins", "B"), ("I prefer A", "A"),
        # naming both, or only an article, is no verdict (counted), never a guess
        ("A is better than B", None), ("Answer: a", None), ("no idea", None),
    ],
)  # fmt: skip
def test_a_reply_gives_the_verdict_it_names_and_an_article_is_not_a_vote(reply, verdict):
    from promptab_nb.offline.pairwise import _verdict

    assert _verdict(reply) == verdict


def test_judge_agreement_counts_the_items_it_leaves_out() -> None:
    from promptab_nb.errors import DataError

    # Lists of different lengths were paired by position and the extra labels dropped silently.
    with pytest.raises(DataError, match=r"judge has 7 labels but human has 4"):
        judge_agreement([1, 0, 1, 1, 0, 1, 0], [1, 0, 1, 0])
    # Series pair by index; every item left out of κ is counted with its reason.
    judge = pd.Series([1, 0, 1, 1, None, 0], index=list("abcdef"))
    human = pd.DataFrame({"ann": [1, 0, 0, None, 1, 1, 1], "bob": [1, 0, 1, None, 1, 0, 0]},
                         index=list("abcdefz"))  # fmt: skip
    a = judge_agreement(judge, human)
    # a, b: agree; c: ann 0 vs bob 1 (tied); d: no human label; e: no judge label;
    # f: ann 1 vs bob 0 (tied); z: people only, not in the judge's labels.
    assert a.n == 2
    assert dict(a.dropped) == {"human raters tied": 2, "no human label": 1, "no judge label": 2}
    assert a.n_dropped == 5
    left = "5 of 7 items left out of κ: 2 human raters tied, 2 no judge label, 1 no human label"
    assert left in repr(a)
    assert "left out of κ" in a._repr_html_()
    full = judge_agreement([1, 0, 1, 0], [1, 0, 0, 0])
    assert full.n_dropped == 0 and full.dropped == () and "left out" not in repr(full)
    # A list against a Series of people's labels pairs by position, not by the Series' index.
    mixed = judge_agreement([1, 0, 1, 0], pd.Series([1, 0, 0, 0], index=list("wxyz")))
    assert mixed.n == 4 and mixed.kappa.kappa == pytest.approx(full.kappa.kappa)


def test_the_ci_label_keeps_the_levels_decimals() -> None:
    # alpha=0.025 was labelled "98% CI" and alpha=0.001 "100% CI"
    judge = [1, 0, 1, 1, 0, 1, 0, 1, 1, 0] * 3
    human = [1, 0, 1, 0, 0, 1, 0, 1, 1, 1] * 3
    assert "97.5% CI" in str(judge_agreement(judge, human, alpha=0.025))
    assert "99.9% CI" in judge_agreement(judge, human, alpha=0.001)._repr_html_()


def test_kappa_ci_stays_within_kappas_range() -> None:
    # κ is at most 1, but its Wald CI ran past it: [0.10, 1.10] for 3 of 4 labels agreeing
    # over three categories, [−0.01, 1.24] for a binary 4 of 5.
    a = judge_agreement(["a", "b", "c", "a"], ["a", "b", "b", "a"])
    assert a.kappa.kappa == pytest.approx(0.6) and a.kappa.ci[1] == 1.0
    assert a.kappa.ci[0] == pytest.approx(0.6 - (1.1019957157561553 - 0.6))
    b = judge_agreement([1, 0, 1, 0, 1], [1, 0, 0, 0, 1])
    assert b.kappa.ci[1] == 1.0 and -1 <= b.kappa.ci[0] < b.kappa.kappa
    assert "1.24" not in repr(b)


def test_judge_and_human_labels_that_share_no_category_are_an_error() -> None:
    # True/False against "pass"/"fail" (or "PASS" against "pass") were four categories that never
    # matched: κ = 0, "slight or none" agreement, for labels that agree on every item.
    with pytest.raises(DataError, match=r"share no category.*judge: 0, 1.*people: 'fail', 'pass'"):
        judge_agreement([True, False, True, True], ["pass", "fail", "pass", "fail"])
    with pytest.raises(DataError, match=r"share no category"):
        judge_agreement(["PASS", "FAIL", "PASS"], ["pass", "fail", "pass"])


def test_pairwise_over_one_item_has_no_bootstrap_ci(ws) -> None:
    # Resampling one item gives it back every time: the CIs were [1.96, 1.96], certainty from a
    # single judged item.
    ds = pab.offline.Dataset.from_records([{"q": "1+1", "expected": "2"}])
    res = pab.offline.run_pairwise(ws, ds, [V1, V2], DemoJudge(), model=DemoModel(),
                                   progress=False)  # fmt: skip
    assert res.n_items == 1
    assert np.isnan(res.ci_low).all() and np.isnan(res.ci_high).all()
    assert any("1 item" in n and "no bootstrap CI" in n for n in res.notes)
    assert "<table" in res._repr_html_() and "–" in repr(res)


@pytest.mark.parametrize(
    ("judge", "human", "why"),
    [
        ([1] * 8, [1, 1, 1, 0, 1, 0, 1, 1], "the judge gives one category only (1)"),
        ([1, 0, 1, 1, 0], [1, 0, 1, 1, 0], "every item agrees over 5 items"),
    ],
)
def test_kappa_without_a_ci_says_why(judge, human, why) -> None:
    # A judge that always passes, or perfect agreement on 5 items, has an asymptotic SE of 0:
    # the CI was [0, 0] / [1, 1] in stats, and after the range clip here [−1.00, 1.00] (max(−1,
    # NaN) is −1). Now "–" with the reason.
    a = judge_agreement(judge, human)
    assert np.isnan(a.kappa.ci[0]) and a.kappa.note is not None and why in a.kappa.note
    text = repr(a)
    assert why in text and "[−1.00, 1.00]" not in text and "[0, 0]" not in text
    row = next(r for r in a._records() if r["measure"] == "Cohen's kappa")
    assert row["ci_low"] is None and row["ci_high"] is None
    assert why in a._repr_html_()
