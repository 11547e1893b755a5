"""Segments (analysis/_segments.py): per-segment rows equal a direct computation, BH-adjusted
p-values equal statsmodels' multipletests(fdr_bh), Cochran's Q equals a hand computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

import promptab_nb as pab
from promptab_nb.analysis._segments import cochran_q

from ._scenarios import workspace

MODELS = ("gpt-4o", "claude", "mini", "tiny")
EFFECT = {"gpt-4o": 0.7, "claude": 1.0, "mini": 1.3, "tiny": 1.0}


@pytest.fixture(scope="module")
def seg(tmp_path_factory):
    rng = np.random.default_rng(3)
    values: dict[tuple[str, str], list[float]] = {}

    def users(arm: str, n: int) -> list[list[dict]]:
        out = []
        for i in range(n):
            model = MODELS[i % 3] if i < n - 6 else "tiny"  # a tiny fourth segment
            lat = float(rng.exponential(EFFECT[model] if arm == "test" else 1.0))
            values.setdefault((model, arm), []).append(lat)
            out.append([{"latency": lat, "$ai_model": model, "tier": model[:3]}])
        return out

    ws, exp = workspace(
        tmp_path_factory.mktemp("seg"),
        {"control": users("control", 306), "test": users("test", 306)},
        keep_properties=True,
    )
    yield exp, exp.analyze(["latency", "cost"], by="model"), values
    ws.close()


def test_segment_rows_equal_a_direct_welch(seg) -> None:
    _, res, values = seg
    rows = {r["segment"]: r for r in res.segments.rows if r["metric"] == "latency"}
    assert set(rows) == set(MODELS)
    for model, r in rows.items():
        c, t = np.array(values[(model, "control")]), np.array(values[(model, "test")])
        ref = scipy.stats.ttest_ind(t, c, equal_var=False)
        assert r["diff"] == pytest.approx(t.mean() - c.mean(), rel=1e-9)
        if model == "tiny":  # 6 units per arm: the p-value is withheld, as overall
            assert r["p_value"] != r["p_value"]
            continue
        assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-7)
        assert (r["n_control"], r["n_treatment"]) == (c.size, t.size)
    assert rows["tiny"]["low_power"] and not rows["gpt-4o"]["low_power"]
    # the differences are shown in their metric's unit (a cost difference read "+0.00239")
    assert res.segments.units == {"latency": "s", "cost": "USD"}
    assert all(r[4].endswith("s") for r in res.segments._table().rows if r[1] == "latency")


def test_bh_equals_statsmodels(seg) -> None:
    _, res, _ = seg
    for metric in ("latency", "cost"):
        sub = [
            r for r in res.segments.rows if r["metric"] == metric and r["p_value"] == r["p_value"]
        ]
        ref = multipletests([r["p_value"] for r in sub], method="fdr_bh")[1]
        assert [r["p_bh"] for r in sub] == pytest.approx(list(ref), rel=1e-12)


def test_cochran_q_equals_a_hand_computation(seg) -> None:
    _, res, _ = seg
    # segments with a withheld test (under 50 units per arm) do not enter Q
    sub = [r for r in res.segments.rows if r["metric"] == "latency" and r["se"] == r["se"]]
    assert len(sub) == 3
    theta = np.array([r["diff"] for r in sub])
    w = 1 / np.array([r["se"] for r in sub]) ** 2
    mean = (w * theta).sum() / w.sum()
    q = float((w * (theta - mean) ** 2).sum())
    (het,) = [h for h in res.segments.heterogeneity if h["metric"] == "latency"]
    assert het["q"] == pytest.approx(q, rel=1e-12)
    assert het["df"] == len(sub) - 1
    assert het["p_value"] == pytest.approx(scipy.stats.chi2.sf(q, len(sub) - 1), rel=1e-12)
    assert het["p_value"] < 0.01  # the effect truly differs: 0.7×, 1×, 1.3×
    assert "the effect differs between segments" in repr(res.segments)
    # a textbook case: three studies
    q3, df3, p3, i2 = cochran_q([0.1, 0.3, 0.5], [0.1, 0.1, 0.1])
    assert q3 == pytest.approx(8.0) and df3 == 2 and p3 == pytest.approx(np.exp(-4.0))
    assert i2 == pytest.approx(0.75)


def test_by_is_an_option_everywhere(seg) -> None:
    exp, res, _ = seg
    assert res.options.by == "model" and "by='model'" in res.options.to_code()
    assert exp.analyze(["latency"]).segments is None
    with pytest.raises(pab.InvalidArgumentError, match="did you mean 'model'"):
        exp.analyze(["latency"], by="modle")
    assert len(res.segments.to_pandas()) == len(res.segments.rows)


def test_a_posthog_property_is_a_segment(seg) -> None:
    exp, res, _ = seg
    by_prop = exp.analyze(["latency"], by="properties.tier")
    by_col = {r["segment"][:3]: r["diff"] for r in res.segments.rows if r["metric"] == "latency"}
    got = {r["segment"]: r["diff"] for r in by_prop.segments.rows}
    assert got == pytest.approx({k: v for k, v in by_col.items()})


def test_a_segment_without_a_p_value_says_why(seg) -> None:
    # the table showed "p –" and nothing else for a segment whose test was withheld
    _, res, _ = seg
    withheld = [r for r in res.segments.rows if r["p_value"] != r["p_value"]]
    assert withheld and all(r["note"] for r in withheld)
    text = str(res.segments)
    for r in withheld:
        assert r["note"] in text


def test_a_segment_holding_no_unit_of_any_arm_is_not_a_row(tmp_path) -> None:
    # Exposures with a variant not in the experiment (and $multiple units) are in the per-unit
    # table; without generations they formed a "(none)" segment of 0 / 0 units whose rows read
    # "not enough units to compare" for every metric, though no arm had a unit in it.
    from _events import FLAG, expo, gen, write

    events = []
    for a, variant in enumerate(("control", "test"), 1):
        for u in range(60):
            events += [expo(f"x{a}{u}", f"{variant}{u}", u, variant),
                       gen(f"g{a}{u}", f"{variant}{u}", u + 1, version=str(a))]  # fmt: skip
    events += [expo(f"z{u}", f"ghost{u}", u, "ghost") for u in range(5)]
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("e", "support", {"control": "1", "test": "2"}, flag_key=FLAG)
    seg = exp.analyze(["latency", "cost"], by="model").segments
    assert {r["segment"] for r in seg.rows} == {"gpt-4o-mini"}
    assert "(none)" not in str(seg)
    ws.close()
