"""An arm's CI for a rate with no variation across users (e.g. no errors): the delta method's
interval has width 0 ("0.0 % to 0.0 %" for 0 errors in 240 requests); it is Wilson's on the
arm's pooled events instead (which ignores clustering by user, and says so)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from promptab_nb import stats as st
from promptab_nb.analysis.estimators import UserRatio
from promptab_nb.metrics import resolve
from promptab_nb.options import AnalysisOptions


def _estimator(cls: type = UserRatio, **options: object) -> UserRatio:
    return cls(resolve(["error_rate"])[0], AnalysisOptions(**options))


@pytest.mark.parametrize("errors", [0, 240])
def test_a_rate_without_variation_gets_the_wilson_interval_of_its_events(errors: int) -> None:
    den = np.full(80, 3.0)
    arm = st.RatioStats.from_values(den * errors / 240, den)
    mean, lo, hi = _estimator().summary(arm)
    ref = proportion_confint(errors, 240, alpha=0.05, method="wilson")
    assert mean == errors / 240
    assert (lo, hi) == pytest.approx(ref, rel=1e-12, abs=1e-15)
    assert hi - lo > 0.015  # (0 of 240: 0 to 1.6 %, not 0.0 % to 0.0 %)
    mean99, lo99, hi99 = _estimator(alpha=0.01).summary(arm)
    assert hi99 - lo99 > hi - lo


def test_the_methods_line_says_so_only_when_it_applies() -> None:
    from promptab_nb.analysis._estimator_base import Arm

    none = st.RatioStats.from_values(np.zeros(80), np.full(80, 3.0))
    some = st.RatioStats.from_values(np.r_[np.zeros(79), 1.0], np.full(80, 3.0))
    est = _estimator()
    note = est.covariate_note({"a": Arm(80, none), "b": Arm(80, some)})
    assert note is not None and "Wilson" in note and "clustering" in note
    assert est.covariate_note({"a": Arm(80, some), "b": Arm(80, some)}) is None


@pytest.mark.parametrize("rate", [0.002, 0.005])
def test_coverage_of_the_arm_interval_for_rare_events(rate: float) -> None:
    # 80 users with 1–5 requests each, per-user error probabilities Beta-distributed around
    # `rate`: no errors at all in 31–62 % of the arms. The zero-width interval covered the true
    # rate in 38 % (0.2 %) and 69 % (0.5 %) of arms; with Wilson's for those arms, ≥ 99 %.
    rng = np.random.default_rng(0)
    est, sims, covered = _estimator(), 1000, 0
    for _ in range(sims):
        den = rng.integers(1, 6, 80).astype(float)
        num = rng.binomial(den.astype(int), rng.beta(0.5, 0.5 * (1 - rate) / rate, 80))
        _, lo, hi = est.summary(st.RatioStats.from_values(num.astype(float), den))
        covered += lo <= rate <= hi
    assert covered / sims >= 0.95, covered / sims


@pytest.mark.parametrize("cuped", [None, 14.0])
def test_analyze_shows_the_wilson_interval_of_an_arm_without_errors(tmp_path, cuped) -> None:
    from ._scenarios import workspace

    ws, exp = workspace(
        tmp_path,
        {
            "control": [[{}] * 3 for _ in range(80)],  # 0 errors in 240 requests
            "test": [[{"error": u % 10 == 0}, {}, {}] for u in range(80)],
        },
    )
    try:
        res = exp.analyze(["error_rate"], cuped=cuped)
        control = res.rows[0]
        ref = proportion_confint(0, 240, alpha=0.05, method="wilson")
        assert (control.mean_ci_low, control.mean_ci_high) == pytest.approx(ref, abs=1e-15)
        line = next(m for m in res.methods if m.startswith("error_rate"))
        assert "control does not vary across users" in line and "clustering" in line
    finally:
        ws.close()
