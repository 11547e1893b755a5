"""Every pair of arms of one metric (:func:`all_pairs_of`), beside the rows against the
control (no SQL here)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..errors import PromptabError
from ..stats.guards import MIN_UNITS_PER_ARM
from . import _missing

if TYPE_CHECKING:
    from ..options import Correction
    from .estimators import Arm, Estimator


def all_pairs_of(
    est: Estimator, arms: dict[str, Arm], variants: Sequence[str], *, correction: Correction
) -> st.AllPairs:
    """Every pair of arms of one metric, in variant order: Welch t tests (the always-valid
    mSPRT under ``sequential``) on each arm's mean and
    the per-unit variance its test uses (:func:`~.estimators.arm_mean`: delta method for
    ratios, CUPED-adjusted, clustered for quantiles), two-sided, p-values adjusted across the
    pairs by ``correction``; differences in the metric's unit (percentage points for a rate).
    Arms under :data:`MIN_UNITS_PER_ARM` units are left out (as the main rows withhold their
    p-values) and named in ``note``, as are arms whose sums miss too many values
    (:func:`._missing.withheld`)."""
    from .estimators import arm_mean

    m = est.metric
    unit = "pp" if m.unit == "%" else m.unit
    alpha = est.options.alpha
    if arms and _missing.nothing_measured(est, *arms.values()):
        # (sums over no event in any arm: "$0 [$0, $0], p = 1" would be read, not measured)
        return st.AllPairs(m.name, unit, (), correction, alpha, _missing.NOTHING_MEASURED)
    kept: dict[str, Any] = {}
    small, missing, undefined = [], [], []
    for k in variants:
        a = arms.get(k)
        if a is None or a.stats is None or a.n < MIN_UNITS_PER_ARM:
            small.append(k)
        elif _missing.withheld(est, a):
            missing.append(k)
        else:
            try:
                kept[k] = arm_mean(est, a.stats)
            except PromptabError:  # no mean: a ratio whose denominators are all 0
                undefined.append(k)
    notes = []
    if undefined:
        notes.append(f"left out (no mean, e.g. no events to divide by): {', '.join(undefined)}")
    if small:
        notes.append(f"left out (fewer than {MIN_UNITS_PER_ARM} units): {', '.join(small)}")
    if missing:
        notes.append(
            f"left out (over {_missing.MAX_MISSING_SHARE:.0%} of events without a value, which "
            f"the sums would read as 0): {', '.join(missing)}"
        )
    note = "; ".join(notes) or None
    if len(kept) < 2:
        return st.AllPairs(m.name, unit, (), correction, alpha, note)
    try:
        res = st.all_pairs(
            kept,
            metric=m.name,
            unit=unit,
            alpha=alpha,
            correction=correction,
            sequential=est.options.sequential,
        )
    except PromptabError as err:
        return st.AllPairs(m.name, unit, (), correction, alpha, f"no comparison: {err}")
    return dataclasses.replace(res, note=note)
