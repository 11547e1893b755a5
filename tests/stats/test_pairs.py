"""All-pairs comparisons (Welch per pair, corrected like statsmodels) and total impact."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

import promptab_nb as pab
from promptab_nb.errors import InvalidArgumentError
from promptab_nb.stats import MeanStats, all_pairs, total_impact


def test_all_pairs_equal_scipy_and_statsmodels() -> None:
    rng = np.random.default_rng(3)
    values = {k: rng.lognormal(mu, 1, size=400) for k, mu in (("a", 0), ("b", 0.15), ("c", 0.3))}
    res = all_pairs({k: MeanStats.from_values(v) for k, v in values.items()}, correction="by")
    raw = [scipy.stats.ttest_ind(values[b], values[a], equal_var=False).pvalue
           for a, b in itertools.combinations(values, 2)]  # fmt: skip
    assert [p.p_value for p in res.pairs] == pytest.approx(raw, rel=1e-9)
    adj = multipletests(raw, method="fdr_by")[1]
    assert [p.p_adjusted for p in res.pairs] == pytest.approx(list(adj), rel=1e-9)
    assert [(p.a, p.b) for p in res.pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert "all pairs" in repr(res) and "<table" in res._repr_html_()
    assert len(res.to_pandas()) == 3
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        all_pairs({"a": MeanStats.from_values([1.0, 2.0])})


def test_sequential_pairs_use_the_always_valid_test() -> None:
    rng = np.random.default_rng(4)
    arms = {k: MeanStats.from_values(rng.normal(mu, 1, size=300)) for k, mu in
            (("a", 0.0), ("b", 0.1), ("c", 0.3))}  # fmt: skip
    res = all_pairs(arms, sequential=True)
    for p in res.pairs:
        ref = pab.stats.sequential(arms[p.a], arms[p.b])
        assert (p.p_value, p.ci_low, p.ci_high) == pytest.approx(
            (ref.p_value, ref.ci_low, ref.ci_high), rel=1e-12
        )
    fixed = all_pairs(arms)
    # a confidence sequence is wider than the fixed-horizon interval, its p-value larger
    assert all(
        s.ci_high - s.ci_low > f.ci_high - f.ci_low
        for s, f in zip(res.pairs, fixed.pairs, strict=True)
    )
    assert all(s.p_value >= f.p_value for s, f in zip(res.pairs, fixed.pairs, strict=True))
    assert "mSPRT" in repr(res) and "Welch" in repr(fixed)


def test_compare_all_on_a_three_arm_experiment(tmp_path) -> None:
    from _events import FLAG, expo, gen, write

    rng = np.random.default_rng(8)
    events = []
    arms = {"control": "1", "a": "2", "b": "3"}
    for u in range(450):
        key = list(arms)[u % 3]
        events.append(expo(f"e{u}", f"u{u}", u, key))
        for k in range(1 + u % 3):
            cost = float(rng.gamma(2, 0.01)) * (1.3 if key == "b" else 1.0)
            events.append(gen(f"g{u}_{k}", f"u{u}", u + k + 1, cost=cost, version=arms[key]))
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["parquet"], progress=False)
    exp = ws.create_experiment("three", "support", arms, flag_key=FLAG)
    res = exp.compare_all("cost")
    v = exp.unit_values("cost")
    for p in res.pairs:
        ref = scipy.stats.ttest_ind(v[v.variant == p.b].value, v[v.variant == p.a].value,
                                    equal_var=False)  # fmt: skip
        assert p.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    raw = [p.p_value for p in res.pairs]
    assert [p.p_adjusted for p in res.pairs] == pytest.approx(
        list(multipletests(raw, method="holm")[1]), rel=1e-12
    )
    assert len(exp.compare_all("error_rate", correction="bonferroni").pairs) == 3
    ws.close()


def test_total_impact_scales_the_effect_and_its_ci() -> None:
    imp = total_impact(-0.002, -0.003, -0.001, units=50_000, unit="USD")
    assert (imp.total, imp.total_ci_low, imp.total_ci_high) == pytest.approx((-100, -150, -50))
    assert "over 50,000 units" in repr(imp)
    with pytest.raises(InvalidArgumentError, match="units"):
        total_impact(1.0, 0.5, 1.5, units=-1)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        total_impact(float("nan"), 0.5, 1.5, units=1)
