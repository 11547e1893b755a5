"""Paired comparison: p-values equal statsmodels/scipy on the same pairs; noise floor and MDE on
a model with a known flip rate; side-by-side, live plan, rendering and plots."""

from __future__ import annotations

import math
import threading
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from _offline_fakes import AlternatingModel, CountingModel, id_dataset, ids
from matplotlib.figure import Figure
from stats._references import newcombe_paired
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.power import TTestPower

import promptab_nb as pab
from promptab_nb import stats
from promptab_nb.errors import InvalidArgumentError

A, B = ("t", "A {{id}}"), ("t", "B {{id}}")


def _mcnemar_run(ws, both: int, a_only: int, b_only: int, neither: int):
    n = both + a_only + b_only + neither
    items = ids(n)
    answers = {}
    for k, item in enumerate(items):
        a_pass = k < both + a_only
        b_pass = k < both or both + a_only <= k < both + a_only + b_only
        answers[("A", item)] = "yes" if a_pass else "no"
        answers[("B", item)] = "yes" if b_pass else "no"
    return ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), repeats=1,
                          progress=False)  # fmt: skip


def test_mcnemar_equals_statsmodels(ws) -> None:
    run = _mcnemar_run(ws, both=20, a_only=4, b_only=11, neither=5)
    r = run.compare().row("exact")
    ref = sm_mcnemar([[20, 4], [11, 5]], exact=True)
    assert r.method == "mcnemar exact"
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert (r.improved, r.regressed, r.unchanged) == (11, 4, 25)
    assert r.diff == pytest.approx((11 - 4) / 40)
    assert r.baseline_mean == pytest.approx(24 / 40) and r.mean == pytest.approx(31 / 40)
    lo, hi = scipy.stats.binomtest(24, 40).proportion_ci(method="wilson")
    assert r.baseline_ci == pytest.approx((lo, hi))
    assert r.aa_flip_rate is None  # repeats=1: no noise floor
    assert any("repeats=1" in n for n in run.compare().notes)


class ValueModel:
    """Returns ``base[(prefix, item)] + 0.01 k`` on the k-th call of a prompt."""

    def __init__(self, base: dict[tuple[str, str], float]) -> None:
        self.base, self.seen, self.lock = base, Counter(), threading.Lock()
        self.model_id = "values"

    def __call__(self, prompt: str) -> dict:
        prefix, item = prompt.split(" ", 1)
        with self.lock:
            k = self.seen[prompt]
            self.seen[prompt] += 1
        value = self.base[(prefix, item)] + 0.01 * k
        return {"text": f"{value:.4f}", "input_tokens": 5, "output_tokens": 1 + k,
                "cost_usd": value / 1000}  # fmt: skip


def test_paired_t_and_wilcoxon_equal_scipy(ws) -> None:
    rng = np.random.default_rng(5)
    n = 40
    xa = rng.uniform(0.1, 0.7, n)
    xb = np.clip(xa + rng.normal(0.05, 0.1, n), 0.0, 0.95)
    base = {("A", i): float(a) for i, a in zip(ids(n), xa, strict=True)}
    base |= {("B", i): float(b) for i, b in zip(ids(n), xb, strict=True)}
    score = pab.offline.custom(lambda out: float(out), name="quality")
    run = ws.run_offline(id_dataset(n), [A, B], ValueModel(base), scorers=[score], repeats=3,
                         concurrency=1, progress=False)  # fmt: skip
    comp = run.compare()
    r = comp.row("quality")
    # Per-item means computed independently of the SQL aggregation.
    sc = run.scores()
    means = sc.groupby(["version", "item_id"])["value"].mean().unstack(0)
    x, y = means["t@v1"].to_numpy(), means["t@v2"].to_numpy()
    ref_t = scipy.stats.ttest_rel(y, x)
    assert r.method == "paired t" and not r.binary
    assert r.p_value == pytest.approx(ref_t.pvalue, rel=1e-9)
    assert r.diff == pytest.approx(float(np.mean(y - x)))
    ci = ref_t.confidence_interval(0.95)
    assert r.diff_ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert r.p_wilcoxon == pytest.approx(scipy.stats.wilcoxon(y, x).pvalue, rel=1e-9)
    # Costs are compared the same way, lower is better.
    cost = comp.row("cost")
    assert cost.higher_is_better is False and cost.verdict in ("better", "worse", "inconclusive")
    cost_means = run.results().groupby(["version", "item_id"])["cost_usd"].mean().unstack(0)
    ref_c = scipy.stats.ttest_rel(cost_means["t@v2"], cost_means["t@v1"])
    assert cost.p_value == pytest.approx(ref_c.pvalue, rel=1e-9)
    boot = run.compare(bootstrap=True, n_boot=500, seed=1).row("quality")
    assert boot.method.startswith("paired bootstrap") and boot.diff == pytest.approx(r.diff)
    # pairing="repeat" pairs cells: 3 × n pairs.
    assert run.compare(pairing="repeat").row("quality").n_pairs == 3 * n


def test_noise_floor_and_mde_on_known_flip_rate(ws) -> None:
    n = 30
    flaky = set(ids(n)[:9])  # 30 % of items flip between any two repeats
    model = AlternatingModel(flaky)
    run = ws.run_offline(id_dataset(n), [A, B], model, repeats=2, concurrency=1, progress=False)
    r = run.compare().row("exact")
    assert r.aa_flip_rate == pytest.approx(0.3)
    sc = run.scores()
    base = sc[sc["version"] == "t@v1"].pivot(index="item_id", columns="repeat_idx", values="value")
    r0, r1 = base[0].to_numpy(), base[1].to_numpy()
    assert np.sum(r0 != r1) == 9
    ci = scipy.stats.ttest_rel(r1, r0).confidence_interval(0.95)
    assert r.aa_ci == pytest.approx((ci.low, ci.high))
    # Both versions flip on the same items: no paired difference, zero SD → no MDE.
    assert r.diff == 0 and r.verdict == "inconclusive" and r.mde is None


def test_alpha_at_or_above_power_compares_without_an_mde(ws) -> None:
    # compare(alpha=0.9) failed: the MDE at 80 % power is undefined when power <= alpha, but the
    # comparison itself (diff, CI, p) is; the MDE is left out with a note saying why.
    n = 30
    answers = {("B", i): "no" for i in ids(n)[::3]}
    run = ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), progress=False)
    cmp = run.compare(alpha=0.9)
    r = cmp.row("exact")
    assert r.mde is None and r.p_value == run.compare().row("exact").p_value
    assert any("no MDE" in note and "power 0.8" in note for note in cmp.notes)
    assert cmp.row("exact").verdict == "worse"


def test_an_mde_beyond_a_scores_range_is_left_out(ws) -> None:
    # Three items: the paired t needs a difference of about 2.4 (240 pp) for 80 % power, which a
    # pass rate cannot differ by; it was printed as such. None, with a note; repeats=2 so the
    # per-item means vary and the t test (not McNemar) is used.
    n = 3
    answers = {("B", ids(n)[0]): "no"}
    run = ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), repeats=2,
                         progress=False)  # fmt: skip
    r = run.compare().row("exact")
    assert r.mde is None and "no difference within the score's range" in (r.note or "")
    d = np.array([-1.0, 0.0, 0.0])
    assert TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8) * d.std(ddof=1) > 1


def test_mde_matches_power_formula(ws) -> None:
    n = 60
    answers = {("B", i): "no" for i in ids(n)[::3]}  # B fails on a third of the items
    answers |= {("A", i): "no" for i in ids(n)[1::12]}
    run = ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), repeats=2,
                         progress=False)  # fmt: skip
    r = run.compare().row("exact")
    sc = run.scores().groupby(["version", "item_id"])["value"].mean().unstack(0)
    d = (sc["t@v2"] - sc["t@v1"]).to_numpy()
    sd = d.std(ddof=1)
    assert r.mde == pytest.approx(TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8) * sd)
    z = scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)
    assert r.mde == pytest.approx(z * sd / math.sqrt(n), rel=0.05)
    assert r.verdict == "worse" and r.regressed == 20 and r.improved == 5
    assert r.aa_flip_rate == 0.0 and r.aa_ci == (0.0, 0.0)


@pytest.mark.parametrize("n", [4, 8, 12])
def test_mde_is_the_paired_t_mde_on_few_items(ws, n) -> None:
    # The MDE came from the two-sample design at 2n units (t on 2n − 2 df instead of n − 1):
    # 15 % too small at 5 items, 6 % at 10, 34 % at 3 (a 4-item row said 1.09 SD, not 1.68).
    answers = {("B", i): "no" for i in ids(n)[::2]} | {("A", i): "no" for i in ids(n)[1::3]}
    run = ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), repeats=1,
                         progress=False)  # fmt: skip
    r = run.compare(power=0.9, alpha=0.1).row("exact")
    sc = run.scores().pivot(index="item_id", columns="version", values="value")
    sd = (sc["t@v2"] - sc["t@v1"]).std(ddof=1)
    want = TTestPower().solve_power(nobs=n, alpha=0.1, power=0.9) * sd
    if want > 1:  # 4 items: 188 pp, beyond what a pass rate can differ by, so none is stated
        assert r.mde is None and "no difference within the score's range" in r.note
    else:
        assert r.mde == pytest.approx(want, rel=1e-6)


def test_verdict_side_by_side_and_live_plan(ws) -> None:
    run = _mcnemar_run(ws, both=50, a_only=3, b_only=22, neither=25)
    comp = run.compare()
    assert comp.verdict == "better" and comp.primary == "exact"
    assert "better" in repr(comp) and "t@v2 vs t@v1" in comp.headline()
    frame = comp.to_pandas()
    assert {"metric", "version", "diff", "diff_ci_low", "p_value", "verdict"} <= set(frame.columns)
    assert comp.to_polars().height == len(frame)
    with pytest.raises(InvalidArgumentError, match="unknown metric"):
        run.compare(metrics=["accuracy"])
    with pytest.raises(InvalidArgumentError, match="not in run"):
        run.compare(baseline="t@v9")
    assert run.compare(baseline=2).baseline == "t@v2"

    sbs = run.side_by_side()
    assert list(sbs.columns) == ["item_id", "id", "expected", "t@v1 output", "t@v1 exact",
                                 "t@v2 output", "t@v2 exact"]  # fmt: skip
    assert len(sbs) == 100 and len(run.side_by_side(changed=True)) == 25

    plan = run.plan_live("exact", daily_users=1000, split=50)
    r = comp.row("exact")
    ref = stats.plan(r.baseline_mean, mde=abs(r.diff), kind="proportion", relative=False,
                     split=0.5, daily_units=1000)  # fmt: skip
    assert plan.plan == ref and plan.shrunk.n_total > plan.plan.n_total
    assert "shrink" in plan.note and f"{ref.days} day" in repr(plan)
    assert "<table" in plan._repr_html_() and len(plan.to_pandas()) == 2
    assert list(plan.to_pandas().columns) == ["scenario", "effect", "n_control", "n_treatment",
                                              "n_total", "days"]  # fmt: skip
    assert plan.summary() in repr(plan) and plan.note in repr(plan)
    text = repr(comp)
    assert text.startswith("Paired comparison vs t@v1: 100 items") and comp.headline() in text
    assert "A/A diff CI" in comp._repr_html_() and "A/A diff CI" not in text  # narrow terminal
    with pytest.raises(InvalidArgumentError, match="split == 100"):
        run.plan_live("exact", daily_users=1000, split=100)


def test_html_escapes_and_plot(ws) -> None:
    evil = ("<script>x</script>", "A {{id}}")
    run = ws.run_offline(id_dataset(12), [evil, ("ok", "B {{id}}")],
                         CountingModel({("B", "i001"): "<b>no</b>"}), repeats=2,
                         progress=False)  # fmt: skip
    comp = run.compare()
    for html in (comp._repr_html_(), run._repr_html_()):
        assert "<script>x" not in html and "&lt;script&gt;x" in html
    fig = comp.plot()
    assert isinstance(fig, Figure)
    # exact and latency (the fake model reports no tokens or cost, so those have no rows)
    assert len(fig.axes) == len({r.metric for r in comp.rows}) == 2
    assert "pp" in fig.axes[0].get_xlabel() and "(s)" in fig.axes[1].get_xlabel()


def test_graded_score_with_pass_flag_is_not_mcnemar(ws) -> None:
    # A score in [0, 1] that also carries a pass flag (score >= 0.5) is a score: the paired t on
    # the scores, with the estimate and its CI on the same quantity, not McNemar on the flags.
    n = 12
    rng = np.random.default_rng(3)
    xa = np.round(rng.uniform(0.05, 0.8, n), 3)
    xb = np.round(np.clip(xa + rng.uniform(0.0, 0.3, n), 0.0, 0.95), 3)
    value = {("A", i): float(a) for i, a in zip(ids(n), xa, strict=True)}
    value |= {("B", i): float(b) for i, b in zip(ids(n), xb, strict=True)}

    def graded(output: str, expected: str, item) -> pab.offline.Score:
        v = value[(output.split(" ")[0], item.item_id)]
        return pab.offline.Score(v, v >= 0.5)

    model = CountingModel({k: f"{k[0]} {k[1]}" for k in value})
    run = ws.run_offline(id_dataset(n), [A, B], model, scorers=[graded], repeats=1,
                         progress=False)  # fmt: skip
    r = run.compare().row("graded")
    ref = scipy.stats.ttest_rel(xb, xa)
    assert r.method == "paired t" and not r.binary
    assert r.diff == pytest.approx(float(np.mean(xb - xa)), rel=1e-12)
    assert r.diff_ci[0] <= r.diff <= r.diff_ci[1]
    ci = ref.confidence_interval(0.95)
    assert r.diff_ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.p_wilcoxon == pytest.approx(scipy.stats.wilcoxon(xb, xa).pvalue, rel=1e-9)
    # The baseline mean's CI is a t interval on the scores, not Wilson on round(sum).
    half = scipy.stats.t.ppf(0.975, n - 1) * xa.std(ddof=1) / np.sqrt(n)
    assert r.baseline_ci == pytest.approx((xa.mean() - half, xa.mean() + half), rel=1e-9)


def _judge(output: str, expected: str, item) -> float | None:
    """A graded scorer that raises on i003 and is not applicable (None) on i004."""
    if item.item_id == "i003":
        raise ValueError("cannot judge")
    if item.item_id == "i004":
        return None
    return 0.9 if output == "yes" else 0.2


def _judge_pass(output: str, expected: str, item) -> bool | None:
    """The pass/fail twin of ``_judge``."""
    score = _judge(output, expected, item)
    return None if score is None else score > 0.5


@pytest.mark.filterwarnings("ignore:.*calls failed")
@pytest.mark.parametrize(
    ("repeats", "options"),
    [
        (1, {}),
        (1, {"pairing": "repeat"}),
        (2, {}),
        (2, {"pairing": "repeat"}),
        (2, {"bootstrap": True, "n_boot": 200}),
        (1, {"cluster": "id"}),
    ],
)
def test_every_unit_left_out_is_counted_with_its_reason(ws, repeats, options) -> None:
    # i001: the model fails for both versions; i002: only for B; i003: the scorers fail for both;
    # i004: the scorers say "not applicable" for both. B answers "no" on three items.
    answers: dict = {("A", "i001"): RuntimeError("boom"), ("B", "i001"): RuntimeError("boom"),
                     ("B", "i002"): RuntimeError("boom")}  # fmt: skip
    answers |= {("B", i): "no" for i in ("i005", "i006", "i007")}
    run = ws.run_offline(id_dataset(12), [A, B], CountingModel(answers),
                         scorers=[_judge, _judge_pass], repeats=repeats,
                         progress=False)  # fmt: skip
    comp = run.compare(**options)
    pairs = options.get("pairing") == "repeat"
    units, word = (12 * repeats, "(item, repeat) pairs") if pairs else (12, "items")
    r = repeats if pairs else 1  # units per item
    expected = {"model error in both versions": r, "model error in t@v2 only": r,
                "scorer error in both versions": r, "not applicable in both versions": r}  # fmt: skip
    for metric in ("_judge", "_judge_pass"):
        row = comp.row(metric)
        assert row.binary is (metric == "_judge_pass")
        assert row.n_dropped == 4 * r and row.n_pairs + row.n_dropped == units
        assert dict(row.dropped) == expected
        text = f"{metric}, t@v2: {4 * r} of {units} {word} left out: "
        assert any(n.startswith(text) for n in comp.notes)
        assert f"{r} model error in both versions" in row.note
        assert f"{r} scorer error in both versions" in row.note
    # Latency has a value wherever the call worked: only the two failed items are left out.
    lat = comp.row("latency")
    assert lat.n_dropped == 2 * r and lat.n_pairs == units - 2 * r
    assert dict(lat.dropped) == {"model error in both versions": r, "model error in t@v2 only": r}
    # The notes are what a user sees: in the text and the HTML rendering, and in the frame.
    assert f"_judge, t@v2: {4 * r} of {units} {word} left out" in repr(comp)
    assert "not applicable in both versions" in comp._repr_html_()
    frame = comp.to_pandas().set_index("metric")
    assert frame.loc["_judge", "n_dropped"] == 4 * r
    assert f"{r} scorer error in both versions" in frame.loc["_judge", "dropped"]
    assert comp.to_polars().height == len(frame)
    # The demo-less fake reports no cost: nothing compared, and the note says why.
    assert any(n.startswith("cost_usd: no values in any version") and "no cost_usd reported" in n
               for n in comp.notes)  # fmt: skip


def test_no_comparison_still_counts_what_was_left_out(ws) -> None:
    # Only i000 has a score in both versions: fewer than two pairs, so no row, but a note that
    # counts the other items and says why each is missing.
    def only_first(output: str, expected: str, item) -> bool:
        if item.item_id != "i000":
            raise ValueError("cannot judge")
        return True

    v3 = ("t", "C {{id}}")
    run = ws.run_offline(id_dataset(5), [A, B, v3], CountingModel(), scorers=[only_first],
                         repeats=1, progress=False)  # fmt: skip
    comp = run.compare()
    with pytest.raises(InvalidArgumentError, match="no comparison of metric 'only_first'"):
        comp.row("only_first")
    for v in ("t@v2", "t@v3"):
        assert (
            f"only_first, {v}: no comparison, 1 of 5 items with a value in both versions "
            "(2 needed); 4 of 5 items left out: 4 scorer error in both versions"
        ) in comp.notes


class _FirstCallFails:
    """Fails the first call of each prompt in ``fail`` (so one repeat of it: repeat 0 at
    ``concurrency=1``); answers "no" to the prompts in ``no``, else "yes"."""

    def __init__(self, fail: set[str], no: frozenset[str] = frozenset()) -> None:
        self.fail, self.no, self.seen, self.lock = fail, no, Counter(), threading.Lock()
        self.model_id = "first-call-fails"

    def __call__(self, prompt: str) -> str:
        with self.lock:
            self.seen[prompt] += 1
            first = self.seen[prompt] == 1
        if first and prompt in self.fail:
            raise RuntimeError("boom")
        return "no" if prompt in self.no else "yes"


@pytest.mark.filterwarnings("ignore:.*calls failed")
def test_repeats_without_a_value_are_counted(ws) -> None:
    # B fails one of the two repeats of i001: by item, i001 is compared on its other repeat
    # (and the note says so); by repeat, the (i001, repeat) pair is left out.
    model = _FirstCallFails({"B i001"})
    run = ws.run_offline(id_dataset(6), [A, B], model, repeats=2, concurrency=1,
                         progress=False)  # fmt: skip
    by_item = run.compare()
    row = by_item.row("exact")
    assert row.n_pairs == 6 and row.n_dropped == 0 and row.dropped == ()
    assert (
        "exact, t@v2: 1 cells (item, repeat) without a value left out of their item's mean: "
        "1 model error in t@v2"
    ) in by_item.notes
    by_repeat = run.compare(pairing="repeat").row("exact")
    assert by_repeat.n_pairs == 11 and by_repeat.dropped == (("model error in t@v2 only", 1),)


@pytest.mark.filterwarnings("ignore:.*calls failed", "ignore:.*too weak")
def test_ppi_counts_items_without_a_judge_value(ws) -> None:
    answers: dict = {("A", "i001"): RuntimeError("boom"), ("B", "i001"): RuntimeError("boom"),
                     ("B", "i002"): RuntimeError("boom")}  # fmt: skip
    answers |= {("B", i): "no" for i in ("i005", "i006", "i007")}
    run = ws.run_offline(id_dataset(12), [A, B], CountingModel(answers), scorers=[_judge_pass],
                         repeats=1, progress=False)  # fmt: skip
    # People label items i000–i009 in both versions, i001–i004 included (no judge value there).
    human = pd.DataFrame(
        [{"item_id": i, "version": v, "label": int(not (v == "t@v2" and i in {"i005", "i006"}))}
         for i in ids(10) for v in run.labels]
    )  # fmt: skip
    comp = run.compare(metrics=["_judge_pass"], human_labels=human)
    assert comp.ppi is not None
    assert comp.ppi.row("t@v2").n_labeled == 6  # i000, i005–i009
    diff_note = (
        "difference of t@v2, judge _judge_pass: 4 of 12 items left out: 1 model error in both "
        "versions, 1 model error in t@v2 only, 1 scorer error in both versions, 1 not applicable "
        "in both versions (4 human labels on them unused)"
    )
    base_note = (
        "pass rate of t@v1, judge _judge_pass: 3 of 12 items left out: 1 model error in t@v1, "
        "1 scorer error in t@v1, 1 not applicable in t@v1 (3 human labels on them unused)"
    )
    assert diff_note in comp.ppi.notes and base_note in comp.ppi.notes
    assert diff_note in repr(comp)


@pytest.mark.filterwarnings("ignore:.*calls failed")
def test_noise_floor_and_variance_split_count_the_items_they_leave_out(ws) -> None:
    # Repeat 0 fails for A on i001 and i003 and for B on i002 and i003. The A/A floor (repeat 0
    # vs repeat 1 of A) leaves out i001 and i003; the variance split, which needs every repeat of
    # both versions, leaves out i001, i002 and i003. B answers "no" on i004 and i005.
    model = _FirstCallFails(
        {"A i001", "A i003", "B i002", "B i003"}, no=frozenset({"B i004", "B i005"})
    )
    run = ws.run_offline(id_dataset(8), [A, B], model, repeats=2, concurrency=1,
                         progress=False)  # fmt: skip
    errors = run.results().dropna(subset=["error"])
    assert set(errors["repeat_idx"]) == {0}  # the failures are all in repeat 0
    comp = run.compare(metrics=["exact"])
    row = comp.row("exact")
    # The floor is still computed on the 6 complete items (none flips) ...
    assert row.aa_flip_rate == 0.0 and row.aa_ci == (0.0, 0.0)
    # ... and says which items it left out, and why.
    assert row.aa_n_dropped == 2 and row.aa_dropped == (("model error in repeat 0 only", 2),)
    assert row.var_n_dropped == 3
    assert dict(row.var_dropped) == {"model error in t@v1 only": 1, "model error in t@v2 only": 1,
                                     "model error in both versions": 1}  # fmt: skip
    aa = (
        "exact: A/A noise floor of t@v1 (repeat 0 vs repeat 1): 2 of 8 items left out: "
        "2 model error in repeat 0 only"
    )
    var = (
        "exact, t@v2: variance split (every repeat in both versions): 3 of 8 items left out: "
        "1 model error in t@v1 only, 1 model error in t@v2 only, 1 model error in both versions"
    )
    assert aa in comp.notes and var in comp.notes
    assert aa in repr(comp) and var in comp._repr_html_()
    assert "A/A noise floor of t@v1 (repeat 0 vs repeat 1): 2 of 8 items" in row.note
    assert "variance split (every repeat in both versions): 3 of 8 items" in row.note
    frame = comp.to_pandas().set_index("metric")
    assert frame.loc["exact", "aa_n_dropped"] == 2 and frame.loc["exact", "var_n_dropped"] == 3
    assert frame.loc["exact", "aa_dropped"] == "2 model error in repeat 0 only"
    # The run's planner takes the same variance split, from the same 5 items, and says so.
    plan = run.plan(mde=0.3, n_sims=200)
    assert plan.components.n_items == 5
    assert plan.n_dropped == 3 and dict(plan.dropped) == dict(row.var_dropped)
    assert var.removeprefix("exact, t@v2: ") in plan.notes
    assert "3 of 8 items left out" in repr(plan)


@pytest.mark.filterwarnings("ignore:.*calls failed")
def test_no_noise_floor_says_which_items_it_lacked(ws) -> None:
    # Repeat 0 of A fails on i000 and i001: one item (i002) has both repeats, so no A/A floor.
    model = _FirstCallFails({"A i000", "A i001"})
    run = ws.run_offline(id_dataset(3), [A, B], model, repeats=2, concurrency=1,
                         progress=False)  # fmt: skip
    comp = run.compare(metrics=["exact"])
    row = comp.row("exact")
    assert row.aa_flip_rate is None and row.aa_ci is None
    assert row.aa_n_dropped == 2 and row.aa_dropped == (("model error in repeat 0 only", 2),)
    assert (
        "exact: no A/A noise floor for t@v1, 1 of 3 items with a value in repeats 0 and 1 "
        "(2 needed); 2 of 3 items left out: 2 model error in repeat 0 only"
    ) in comp.notes


class _CostModel:
    """Answers "yes" at a cost of ``cost[(prefix, item)]`` USD; prompts in ``fail`` raise."""

    def __init__(self, cost: dict[tuple[str, str], float], fail: set[str]) -> None:
        self.cost, self.fail = cost, fail
        self.model_id = "cost"

    def __call__(self, prompt: str) -> dict:
        if prompt in self.fail:
            raise RuntimeError("boom")
        prefix, item = prompt.split(" ", 1)
        return {"text": "yes", "input_tokens": 5, "output_tokens": 1,
                "cost_usd": self.cost[(prefix, item)]}  # fmt: skip


@pytest.mark.filterwarnings("ignore:.*calls failed")
def test_live_plan_counts_the_items_its_sd_and_effect_leave_out(ws) -> None:
    # A fails on i001 and i002, B on i003: the SD (A's items) comes from 10 of 12 items, the
    # offline effect (items in both versions) from 9.
    n = 12
    rng = np.random.default_rng(2)
    cost = {("A", i): float(x) for i, x in zip(ids(n), rng.uniform(0.01, 0.02, n), strict=True)}
    cost |= {("B", i): 0.8 * cost[("A", i)] for i in ids(n)}
    run = ws.run_offline(id_dataset(n), [A, B], _CostModel(cost, {"A i001", "A i002", "B i003"}),
                         repeats=1, progress=False)  # fmt: skip
    plan = run.plan_live("cost", daily_users=1000)
    r = run.compare(metrics=["cost"]).row("cost")
    a = np.array([cost[("A", i)] for i in ids(n) if i not in ("i001", "i002")])
    ref = stats.plan(r.baseline_mean, mde=abs(r.diff), sd=float(a.std(ddof=1)), kind="mean",
                     relative=False, split=0.5, daily_units=1000)  # fmt: skip
    assert plan.plan == ref  # the numbers are unchanged; what they leave out is now said
    assert plan.sd_n_dropped == 2 and plan.sd_dropped == (("model error in t@v1", 2),)
    assert plan.n_dropped == 3 == r.n_dropped and plan.dropped == r.dropped
    sd_note = (
        "SD of cost_usd per item from 10 items of t@v1; 2 of 12 items left out: "
        "2 model error in t@v1"
    )
    effect_note = (
        "offline effect from 9 items with a value in both versions; 3 of 12 items left out: "
        "2 model error in t@v1 only, 1 model error in t@v2 only"
    )
    assert plan.notes == (effect_note, sd_note)
    assert sd_note in repr(plan) and effect_note in plan._repr_html_()


def test_a_comparison_records_the_call_that_makes_it_again(ws) -> None:
    run = _mcnemar_run(ws, both=30, a_only=3, b_only=12, neither=15)
    assert run.compare().to_code() == "run.compare()"
    comp = run.compare(2, metrics=["exact", "latency"], alpha=0.1, bootstrap=True, n_boot=300)
    code = comp.to_code()
    assert code == (
        "run.compare('t@v2', metrics=['exact', 'latency'], alpha=0.1, bootstrap=True, n_boot=300)"
    )
    again = eval(code, {"run": run})  # noqa: S307 - the code under test
    pd.testing.assert_frame_equal(again.to_pandas(), comp.to_pandas())
    labels = pd.DataFrame({"item_id": ids(30)[:20], "version": "t@v1", "label": 1})
    with_labels = run.compare(human_labels=labels)
    assert with_labels.to_code() == "run.compare(human_labels=human_labels)"
    assert with_labels.to_code(human_labels=None) == "run.compare()"


def test_a_live_plan_for_a_drop_in_pass_rate_plans_for_the_drop(ws) -> None:
    # The effect's sign was dropped: a fall from 20 % to 10 % was planned as a rise to 30 %
    # (another sample size), and a fall from 70 % as a rise past 100 % (an error about "mde").
    n = 100
    answers = {("A", i): "no" for i in ids(n)[20:]}
    answers |= {("B", i): "no" for i in ids(n)[10:]}
    run = ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), repeats=1,
                         progress=False)  # fmt: skip
    plan = run.plan_live("exact", daily_users=1000)
    ref = stats.plan(0.2, mde=-0.1, kind="proportion", relative=False, split=0.5,
                     daily_units=1000)  # fmt: skip
    assert plan.offline_effect == pytest.approx(-0.1) and plan.plan == ref
    wrong = stats.plan(0.2, mde=0.1, kind="proportion", relative=False, split=0.5,
                       daily_units=1000)  # fmt: skip
    assert wrong.n_total != ref.n_total  # the two plans differ: the sign matters
    assert plan.shrunk == stats.plan(0.2, mde=-0.05, kind="proportion", relative=False,
                                     split=0.5, daily_units=1000)  # fmt: skip
    # (other prompts than above: the fake model's answers are cached by prompt)
    falls = {("C", i): "no" for i in ids(n)[70:]} | {("D", i): "no" for i in ids(n)}
    run2 = ws.run_offline(id_dataset(n), [("u", "C {{id}}"), ("u", "D {{id}}")],
                          CountingModel(falls), repeats=1, progress=False)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=r"u@v2 takes the pass rate of exact from "
                                                   r"70.0 % to 0.0 % offline"):  # fmt: skip
        run2.plan_live("exact", daily_users=1000)


@pytest.mark.filterwarnings("ignore:.*calls failed")
def test_a_live_plan_on_a_cost_that_varies_only_by_rounding_says_so(ws) -> None:
    # 0.3 and 0.1 + 0.2 differ by 5.6e-17: the SD was not 0, and the sample-size solver failed
    # with scipy's ValueError ("function value ... is NaN").
    n = 10
    cost = {("A", i): (0.3 if k % 2 else 0.1 + 0.2) for k, i in enumerate(ids(n))}
    cost |= {("B", i): 0.2 for i in ids(n)}
    run = ws.run_offline(id_dataset(n), [A, B], _CostModel(cost, set()), repeats=1,
                         progress=False)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="cost_usd does not vary across items"):
        run.plan_live("cost", daily_users=1000)
    assert run.compare(metrics=["cost"]).row("cost").mde is None  # no MDE of 1e-17 USD


def test_metrics_and_versions_are_named_plainly(ws) -> None:
    run = ws.run_offline(id_dataset(5), [A, B, ("t", "C {{id}}")], CountingModel(), repeats=1,
                         progress=False)  # fmt: skip
    # metrics=[] was an IndexError; a lone name was read letter by letter ("unknown metric 'e'").
    with pytest.raises(InvalidArgumentError, match=r"metrics is empty"):
        run.compare(metrics=[])
    assert [r.metric for r in run.compare(metrics="exact").rows] == ["exact", "exact"]
    # A prompt name shared by every version was "not in run".
    with pytest.raises(InvalidArgumentError, match=r"'t' names 3 versions of run .*t@v1, t@v2, "
                                                   r"t@v3; pass one of those labels"):  # fmt: skip
        run.compare(baseline="t")


def test_a_ci_that_disagrees_with_the_test_is_said(ws) -> None:
    # McNemar's CI is an approximation (Newcombe's interval) and its p-value exact: with 5
    # improvements and no regression in 100 items the CI [+0.34 pp, +9.57 pp] excludes 0 while
    # p = 0.0625. The verdict follows the test; the comparison says why the CI looks otherwise.
    run = _mcnemar_run(ws, both=46, a_only=0, b_only=5, neither=49)
    comp = run.compare(metrics=["exact"])
    r = comp.row("exact")
    assert r.diff_ci[0] > 0 and r.p_value == pytest.approx(0.0625) and r.verdict == "inconclusive"
    note = (
        "exact, t@v2: the 95% CI of the difference excludes 0 but p = 0.062 by mcnemar exact: "
        "the verdict follows the test (the CI is an approximation)"
    )
    assert note in comp.notes and note.removeprefix("exact, t@v2: ") in r.note
    other = pab.Workspace()  # the fake model's answers are cached by prompt
    agree = _mcnemar_run(other, both=20, a_only=3, b_only=12, neither=5).compare(metrics=["exact"])
    assert agree.row("exact").verdict == "better"  # CI and p-value agree: nothing to say
    assert not any("verdict follows the test" in n for n in agree.notes)


def test_the_headline_counts_pairs_when_it_pairs_repeats(ws) -> None:
    answers = {("B", i): "no" for i in ids(12)[:4]}
    run = ws.run_offline(id_dataset(12), [A, B], CountingModel(answers), repeats=2,
                         progress=False)  # fmt: skip
    text = run.compare(pairing="repeat", metrics=["exact"]).headline()
    assert "0 (item, repeat) pairs improved, 8 regressed" in text and "items improved" not in text
    assert "MDE at 24 (item, repeat) pairs" in text
    assert "0 items improved, 4 regressed" in run.compare(metrics=["exact"]).headline()


def test_interval_labels_keep_the_level_s_decimals(ws) -> None:
    # alpha = 0.001 is a 99.9 % CI: "{:.0%}" labelled it "100% CI" (and alpha = 0.025 "98%")
    run = _mcnemar_run(ws, both=50, a_only=3, b_only=22, neither=25)
    for alpha, lvl in ((0.001, "99.9%"), (0.025, "97.5%")):
        comp = run.compare(metrics=["exact"], alpha=alpha)
        assert f"({lvl} CI)" in comp.headline()
        html = comp._repr_html_()
        assert f"diff [{lvl} CI]" in html and "100% CI" not in html and "98% CI" not in html


@pytest.mark.parametrize(
    "table", [(0, 0, 10, 0), (0, 0, 3, 7), (20, 4, 11, 5), (46, 0, 4, 50), (5, 9, 0, 6)]
)
def test_mcnemar_rows_use_newcombes_interval_not_wald(ws, table) -> None:
    # The CI of a McNemar row was a Wald interval: 10 of 10 items improved gave "+100 pp
    # [+100 pp, +100 pp]", certainty from 10 items, and 3 improved of 10 with none regressed a CI
    # [+1.6 pp, +58.4 pp] excluding 0 beside p = 0.25. Newcombe's square-and-add interval
    # (Wilson-based, what Fagerland et al. recommend for paired proportions) replaces it.
    run = _mcnemar_run(ws, *table)
    r = run.compare(metrics=["exact"]).row("exact")
    assert r.method == "mcnemar exact"
    assert r.diff_ci == pytest.approx(newcombe_paired(*table), abs=1e-12)
    assert -1 <= r.diff_ci[0] <= r.diff <= r.diff_ci[1] <= 1
    if table == (0, 0, 10, 0):
        assert r.diff_ci[0] < 0.7
    if table == (0, 0, 3, 7):
        assert r.diff_ci[0] < 0 < r.diff_ci[1] and r.verdict == "inconclusive"


def test_one_cluster_is_named_by_the_compare_argument(ws) -> None:
    # It said "clusters has one cluster", naming an argument of a stats function the user never
    # called, not cluster='passage' nor the cluster every item is in.
    ds = pab.offline.Dataset.from_records(
        [{"item_id": f"i{k}", "id": f"i{k}", "expected": "yes", "passage": "p0"} for k in range(6)],
        metadata_fields=["passage"],
    )
    run = ws.run_offline(ds, [A, B], CountingModel(), repeats=1, progress=False)
    with pytest.raises(
        InvalidArgumentError, match=r"cluster == 'passage' puts all 6 items in one cluster \('p0'\)"
    ):
        run.compare(cluster="passage")


def test_cis_of_scores_stay_within_what_a_score_can_be(ws) -> None:
    # A pass rate's difference is within [−1, 1] and a mean score within [0, 1], but the
    # cluster-robust t on 1 df (2 clusters) gave a difference CI of [−1.48, +0.64], and a paired t
    # over 3 items can run past 1 too.
    answers = {("B", i): "no" for i in ids(4)[::2]}  # both items of passage p0 fail in B
    ds = pab.offline.Dataset.from_records(
        [{"item_id": i, "id": i, "expected": "yes", "passage": f"p{k % 2}"}
         for k, i in enumerate(ids(4))], metadata_fields=["passage"],
    )  # fmt: skip
    run = ws.run_offline(ds, [A, B], CountingModel(answers), repeats=1, progress=False)
    for kwargs in ({"cluster": "passage"}, {}):
        r = run.compare(metrics=["exact"], **kwargs).row("exact")
        assert -1 <= r.diff_ci[0] <= r.diff <= r.diff_ci[1] <= 1
        assert 0 <= r.ci[0] <= r.mean <= r.ci[1] <= 1
        assert 0 <= r.baseline_ci[0] <= r.baseline_ci[1] <= 1
    raw = run.compare(metrics=["exact"], cluster="passage").row("exact")
    assert raw.diff_ci[0] == -1.0  # clipped: the t interval reached below −1


def test_the_aa_interval_of_a_score_stays_within_minus_1_and_1(ws) -> None:
    # Repeat 1 − repeat 0 of a pass/fail score is within [−1, 1]; the paired t over 3 items gave
    # an A/A interval of [−177 pp, +110 pp].
    run = ws.run_offline(id_dataset(3), [A, B], AlternatingModel({ids(3)[0]}), repeats=2,
                         progress=False)  # fmt: skip
    r = run.compare(metrics=["exact"]).row("exact")
    assert r.aa_ci is not None and -1 <= r.aa_ci[0] < r.aa_ci[1] <= 1
    assert r.aa_ci[0] == -1.0


def test_a_metric_named_twice_is_compared_once_and_a_negative_seed_is_named(ws) -> None:
    # metrics=["exact", "exact"] (or "latency" beside "latency_s") gave each row twice, as two
    # comparisons; seed=-1 raised numpy's bare "expected non-negative integer".
    run = _mcnemar_run(ws, both=5, a_only=1, b_only=3, neither=1)
    comp = run.compare(metrics=["exact", "latency", "exact", "latency_s"])
    assert [r.metric for r in comp.rows] == ["exact", "latency_s"]
    with pytest.raises(InvalidArgumentError, match=r"seed == -1, must be >= 0"):
        run.compare(bootstrap=True, seed=-1)
    with pytest.raises(InvalidArgumentError, match=r"seed == -1, must be >= 0"):
        pab.offline.run_pairwise(ws, run, judge=pab.offline.DemoJudge(), seed=-1, progress=False)


def test_a_cluster_robust_se_of_0_from_varying_items_withholds_the_verdict(ws) -> None:
    # Two passages whose mean differences coincide give a cluster-robust SE of exactly 0 although
    # the items' differences vary (−1, −1, 0, 0): the row said "worse", p = 0, CI [−50 pp, −50
    # pp] from 4 items. The SE is an artefact of too few clusters: no p-value, no verdict.
    answers = {("B", i): "no" for i in ids(4)[:2]}  # one failing item in each passage
    ds = pab.offline.Dataset.from_records(
        [{"item_id": i, "id": i, "expected": "yes", "passage": f"p{k % 2}"}
         for k, i in enumerate(ids(4))], metadata_fields=["passage"],
    )  # fmt: skip
    run = ws.run_offline(ds, [A, B], CountingModel(answers), repeats=1, progress=False)
    comp = run.compare(metrics=["exact"], cluster="passage")
    r = comp.row("exact")
    assert r.verdict == "inconclusive" and math.isnan(r.p_value)
    assert all(math.isnan(x) for x in r.diff_ci)
    assert "cluster-robust SE is 0" in r.note and r.diff == -0.5
    assert any(n.startswith("exact, t@v2: the cluster-robust SE is 0") for n in comp.notes)


def _passages_moving_together(
    rng: np.random.Generator,
) -> tuple[pab.offline.Dataset, dict[str, str], dict]:
    """36 items in 6 passages of 6, about half the passages "hard" (B answers "no" on 90 % of
    their items): (dataset with a ``passage`` field, item → passage, B's wrong answers)."""
    items = ids(36)
    passage = {i: f"p{k // 6}" for k, i in enumerate(items)}
    hard = {f"p{k}" for k in range(6) if rng.random() < 0.5}
    answers = {("B", i): "no" for i in items if passage[i] in hard and rng.random() < 0.9}
    ds = pab.offline.Dataset.from_records(
        [{"item_id": i, "id": i, "expected": "yes", "passage": passage[i]} for i in items],
        metadata_fields=["passage"],
    )
    return ds, passage, answers


def test_the_mde_of_a_clustered_row_is_that_of_its_cluster_robust_test(ws) -> None:
    # The MDE of a cluster="passage" row was the independent-items paired t's (n − 1 df, the
    # items' SD), though the row's test is the cluster-robust t on G − 1 df: 34 items in 6
    # passages that move together were said to detect effects of half the size they can.

    rng = np.random.default_rng(3)
    ds, passage, answers = _passages_moving_together(rng)
    answers |= {("A", i): "no" for i in ids(36) if rng.random() < 0.2}
    run = ws.run_offline(ds, [A, B], CountingModel(answers), repeats=1, progress=False)
    r = run.compare(metrics=["exact"], cluster="passage").row("exact")
    import statsmodels.api as sm

    sc = run.scores().pivot(index="item_id", columns="version", values="value")
    d = (sc["t@v2"] - sc["t@v1"]).to_numpy()
    groups = pd.factorize(pd.Series([passage[i] for i in sc.index]))[0]
    se = sm.OLS(d, np.ones(d.size)).fit(cov_type="cluster", cov_kwds={"groups": groups}).bse[0]
    g = r.n_clusters
    ref = TTestPower().solve_power(nobs=g, alpha=0.05, power=0.8) * math.sqrt(g) * se
    assert g == 6 and r.mde == pytest.approx(ref, rel=1e-6)


def test_a_bootstrap_over_few_pairs_is_studentized(ws) -> None:
    # The percentile bootstrap was anti-conservative over few pairs (a 95 % CI covered 89-91 %
    # at 10 normal pairs) and rows under 30 pairs advised the paired t instead; the studentized
    # CI of stats.paired_bootstrap covers ~95 % there (tests/stats/test_paired.py).
    answers = {("B", i): "no" for i in ids(10)[:3]}
    run = ws.run_offline(id_dataset(10), [A, B], CountingModel(answers), repeats=1,
                         progress=False)  # fmt: skip
    comp = run.compare(metrics=["latency"], bootstrap=True, seed=4)
    r = comp.row("latency_s")
    assert r.method == "paired bootstrap (studentized CI)"
    assert "too narrow" not in (r.note or "") and not any("bootstrap" in n for n in comp.notes)
    x = run.results().pivot(index="item_id", columns="version", values="latency_s")
    ref = stats.paired_bootstrap(x["t@v1"], x["t@v2"], n_boot=2000, seed=4)
    assert r.diff_ci == pytest.approx(ref.ci, abs=1e-12) and r.p_value == ref.p_value


def test_a_clustered_row_has_no_wilcoxon_p_value(ws) -> None:
    # The Wilcoxon p-value "reported alongside" a cluster="passage" row treated the items as
    # independent, the very assumption the row's cluster-robust test drops: 2.7e-06 beside a
    # clustered p of 0.026.
    ds, _, answers = _passages_moving_together(np.random.default_rng(3))
    grade = pab.offline.custom(lambda o: 0.2 if o == "no" else 0.9, name="grade", kind="score")
    run = ws.run_offline(ds, [A, B], CountingModel(answers), scorers=[grade], repeats=1,
                         progress=False)  # fmt: skip
    assert run.compare(metrics=["grade"]).row("grade").p_wilcoxon is not None
    assert run.compare(metrics=["grade"], cluster="passage").row("grade").p_wilcoxon is None


def _graded_run(ws, a: list[float], b: list[float]):
    """One graded score per item: version t@v1 scores ``a``, t@v2 scores ``b``."""
    n = len(a)
    answers = {("A", i): str(v) for i, v in zip(ids(n), a, strict=True)}
    answers.update({("B", i): str(v) for i, v in zip(ids(n), b, strict=True)})
    grade = pab.offline.custom(lambda o: float(o), name="grade", kind="score")
    return ws.run_offline(id_dataset(n), [A, B], CountingModel(answers), scorers=[grade],
                          repeats=1, progress=False)  # fmt: skip


def test_a_tiny_alpha_gives_finite_intervals_and_returns(ws) -> None:
    # At alpha = 1e-20, t.ppf(1 − alpha/2) is inf: the MDE's search for the noncentrality
    # doubled its bracket for ever (compare() never returned), and the means' CIs were infinite.
    a, b = [0.2, 0.3, 0.5, 0.1, 0.4], [0.7, 0.9, 0.6, 0.5, 0.8]
    r = _graded_run(ws, a, b).compare(metrics=["grade"], alpha=1e-20).row("grade")
    d = np.subtract(b, a)
    half = scipy.stats.t.isf(5e-21, 4) * scipy.stats.sem(d)
    assert r.diff_ci == pytest.approx((max(-1.0, d.mean() - half), min(1.0, d.mean() + half)))
    half_b = scipy.stats.t.isf(5e-21, 4) * scipy.stats.sem(b)
    assert r.ci == pytest.approx((max(0.0, np.mean(b) - half_b), min(1.0, np.mean(b) + half_b)))
    assert r.verdict == "inconclusive"
    assert r.mde is None or math.isfinite(r.mde)


def test_differences_at_rounding_level_are_no_difference(ws) -> None:
    # Scores 0.1 + 0.2 and 0.3 (a computed score, the same answer) differ by 5.6e-17 on every
    # item: the row read "worse — −0.00 pp [−0.00 pp, −0.00 pp], p < 0.001" with 0 items
    # regressed. Differences at rounding level are 0.
    r = _graded_run(ws, [0.1 + 0.2] * 6, [0.3] * 6).compare(metrics=["grade"]).row("grade")
    assert r.verdict == "inconclusive" and r.p_value == 1.0 and r.diff == 0.0
    assert r.unchanged == 6
    # A real difference between tiny scores is kept.
    tiny = _graded_run(ws, [1e-20, 2e-20, 3e-20, 1e-20], [2e-20, 3e-20, 5e-20, 2e-20])
    assert tiny.compare(metrics=["grade"]).row("grade").diff == pytest.approx(1.25e-20)


def test_pairs_that_all_differ_alike_use_the_sign_test(ws) -> None:
    # Every item 0.25 higher in t@v2: the paired t had no spread to measure and gave p = 0,
    # "better, +25.00 pp [+25.00 pp, +25.00 pp], p < 0.001" from 2 items. With no spread the
    # p-value is the exact sign test's (2 items: 0.5; 6 items: 2/64) and the CI is withheld.
    comp = _graded_run(ws, [0.25, 0.5], [0.5, 0.75]).compare(metrics=["grade"])
    two = comp.row("grade")
    # The row's note reaches the notes the printed table shows.
    assert "grade, t@v2: every pair differs by the same +25.00 pp" in repr(comp)
    assert two.p_value == pytest.approx(0.5) and two.verdict == "inconclusive"
    assert math.isnan(two.diff_ci[0]) and math.isnan(two.diff_ci[1])
    assert "sign test" in two.note and "+25.00 pp" in two.note
    a = [0.0, 0.25, 0.5, 0.25, 0.0, 0.5]
    six = _graded_run(ws, a, [v + 0.25 for v in a]).compare(metrics=["grade"]).row("grade")
    assert six.p_value == pytest.approx(2 / 64) and six.verdict == "better"
    assert six.method == "exact sign test"
