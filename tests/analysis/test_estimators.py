"""Each estimator: its per-arm sums equal a pandas computation, its test equals scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import promptab_nb as pab
from promptab_nb.analysis import _scope
from promptab_nb.analysis.estimators import (
    Quantile,
    RequestMean,
    RequestProportion,
    Scope,
    UserCuped,
    UserMean,
    UserRatio,
    estimator_for,
)
from promptab_nb.engines.base import Engine
from promptab_nb.metrics import BUILTIN
from promptab_nb.options import AnalysisOptions


@pytest.mark.parametrize(
    ("metric", "options", "cls"),
    [
        ("cost", {}, UserMean),
        ("latency", {}, UserMean),
        ("requests", {}, UserMean),
        ("error_rate", {}, UserRatio),
        ("pass_rate", {}, UserRatio),
        ("cost", {"cuped": True}, UserCuped),
        ("error_rate", {"cuped": True}, UserRatio),  # ratio metrics have no CUPED yet
        ("latency", {"unit": "request"}, RequestMean),
        ("error_rate", {"unit": "request"}, RequestProportion),
        ("latency_p95", {}, Quantile),
        ("latency_p95", {"unit": "request"}, Quantile),
    ],
)
def test_estimator_for_picks_one_class_per_kind(metric: str, options: dict, cls: type) -> None:
    opts = AnalysisOptions(**{"unit": "user", **options})
    est = estimator_for(BUILTIN[metric], opts)
    assert type(est) is cls
    assert est.test_name and est.methods_text()


def _scope_of(exp, metric: str, options: AnalysisOptions):
    opts = options.resolved(exp)
    m = BUILTIN[metric]
    params = _scope.params(exp, None, None, "exclude")
    return opts, m, params, _scope.per_unit_sql(exp, [m])


def _arms(exp, metric: str, **options):
    opts, m, params, sql = _scope_of(exp, metric, AnalysisOptions(**options))
    est = estimator_for(m, opts)
    with exp.ws.engine.unit_rows(sql, params) as table:
        return est, est.arms(Scope(exp.ws.engine, exp, params, table, 0))


def test_the_workspace_engine_implements_the_protocol(loaded) -> None:
    ws, _ = loaded
    assert isinstance(ws.engine, Engine)
    assert ws.engine.provenance()[0]["rows_loaded"] > 0


@pytest.mark.parametrize("metric", ["cost", "latency"])
def test_user_mean_sums_equal_unit_values_and_welch_equals_scipy(loaded, metric: str) -> None:
    _, exp = loaded
    est, arms = _arms(exp, metric)
    values = exp.unit_values(metric)
    for key in exp.variants:
        v = values.loc[values.variant == key, "value"].to_numpy(float)
        assert arms[key].n == v.size
        assert arms[key].stats.total == pytest.approx(v.sum(), rel=1e-12)
        assert arms[key].stats.total_sq == pytest.approx((v * v).sum(), rel=1e-12)
    c, t = (values.loc[values.variant == k, "value"] for k in ("control", "test"))
    ref = scipy.stats.ttest_ind(t, c, equal_var=False)
    res = est.test(arms["control"].stats, arms["test"].stats, relative=False)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.estimate == pytest.approx(t.mean() - c.mean(), rel=1e-12)


def test_user_mean_winsorizes_at_pooled_percentiles(loaded) -> None:
    _, exp = loaded
    _, arms = _arms(exp, "cost", winsorize=(0, 90))
    v = exp.unit_values("cost")
    hi = np.quantile(v["value"], 0.9)
    for key in exp.variants:
        w = np.minimum(v.loc[v.variant == key, "value"].to_numpy(float), hi)
        assert arms[key].stats.total == pytest.approx(w.sum(), rel=1e-9)


def test_user_ratio_sums_equal_unit_values(loaded) -> None:
    _, exp = loaded
    _, arms = _arms(exp, "error_rate")
    units = exp.units()
    values = exp.unit_values("error_rate")
    for key in exp.variants:
        part = values[values.variant == key]
        s = arms[key].stats
        assert arms[key].n == int((units.variant == key).sum())  # every exposed unit
        assert s.num_total == pytest.approx(part["num"].sum())
        assert s.den_total == pytest.approx(part["den"].sum())


def test_request_proportion_equals_fisher_on_the_event_table(loaded) -> None:
    _, exp = loaded
    est, arms = _arms(exp, "error_rate", unit="request")
    c, t = arms["control"].stats, arms["test"].stats
    table = [[t.successes, t.n - t.successes], [c.successes, c.n - c.successes]]
    ref = scipy.stats.fisher_exact(table)
    assert est.test(c, t, relative=False).p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert est.summary(c)[0] == pytest.approx(c.successes / c.n)


def test_request_mean_counts_every_generation(loaded) -> None:
    ws, exp = loaded
    _, arms = _arms(exp, "latency", unit="request")
    res = exp.analyze(["latency"], unit="request")
    assert [r.n for r in res.rows] == [arms[k].n for k in exp.variants]
    assert sum(a.n for a in arms.values()) <= len(ws.table("generations"))


def test_quantile_sample_holds_the_event_values(loaded) -> None:
    _, exp = loaded
    est, arms = _arms(exp, "latency_p95")
    c = arms["control"].stats
    assert c.q == 0.95 and c.n == arms["control"].n
    mean, lo, hi = est.summary(c)
    assert lo <= mean <= hi
    assert mean == pytest.approx(np.quantile(c.values, 0.95), rel=0.05)


def test_cuped_plain_arm_is_the_unadjusted_outcome(loaded) -> None:
    _, exp = loaded
    est, arms = _arms(exp, "cost", cuped=True)
    _, plain = _arms(exp, "cost")
    for key in exp.variants:
        p = est.plain(arms[key].stats)
        assert p.n == plain[key].n
        assert p.total == pytest.approx(plain[key].stats.total, rel=1e-12)


def test_small_arms_have_no_statistics(tmp_path) -> None:
    from _events import FLAG, expo, gen, write

    events = [
        expo("e1", "u1", 0, "control"),
        gen("g1", "u1", 1, cost=1.0),
        expo("e2", "u2", 0, "test"),
        gen("g2", "u2", 1, cost=2.0),
    ]
    ws = pab.Workspace()
    ws.load_posthog(write(events, tmp_path)["jsonl"], progress=False)
    exp = ws.create_experiment("x", "support", {"control": "1", "test": "2"}, flag_key=FLAG)
    _, arms = _arms(exp, "cost")
    assert {k: (a.n, a.stats) for k, a in arms.items()} == {"control": (1, None), "test": (1, None)}
