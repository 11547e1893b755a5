"""The bridge from an offline run to a live A/B test: :func:`plan_live`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .. import stats
from .._checks import check
from .._format import num
from ..errors import InvalidArgumentError
from ._compare_result import _ALIASES, LivePlan
from ._paired import LeftOut, cell_reasons, left_out
from ._values import no_spread, pair_key, paired_values, result_column, values_frame

if TYPE_CHECKING:
    from ._run import OfflineRun
    from .prompts import PromptVersion


def plan_live(
    run: OfflineRun,
    metric: str,
    daily_users: float,
    split: float = 50,
    *,
    version: PromptVersion | str | int | None = None,
    baseline: PromptVersion | str | int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    shrink: float | None = 0.5,
) -> LivePlan:
    """Turn the offline effect on ``metric`` into a live A/B test's sample size and duration.

    Pass/fail scorers are planned as a proportion (the baseline's offline pass rate and the
    offline difference in pass rate, with its sign); scores, cost and latency as a mean with the
    baseline's per-item SD. Uses :func:`promptab_nb.stats.plan` (two-sided, absolute effect). Items left
    out of the effect (no value in one or both versions) and of the SD (no value in the
    baseline) are counted, with the reason, in the plan's fields and notes.

    Parameters
    ----------
    metric
        A scorer name, ``"cost_usd"``/``"cost"``, ``"latency_s"``/``"latency"`` or tokens.
    daily_users
        Users entering the live experiment per day (both arms).
    split
        Percent of those users who get the new version (the rest keep the baseline).
    version, baseline
        Which versions (default: the second and the first).
    alpha, power
        Of the live test.
    shrink
        Also plan for this fraction of the offline effect (None to skip).

    Raises
    ------
    InvalidArgumentError
        No offline difference to plan for, a pass rate of 0 or 1 (offline, or the version's
        after the effect), a metric that does not vary across items, or bad options.
    """
    check(daily_users, "daily_users", gt=0)
    check(split, "split", gt=0, lt=100)
    if shrink is not None:
        check(shrink, "shrink", gt=0, le=1)
    metric = _ALIASES.get(metric, metric)
    base = run._label(baseline) if baseline is not None else run.labels[0]
    if version is None:
        others = [v for v in run.labels if v != base]
        if not others:
            raise InvalidArgumentError("plan_live needs a run with two versions")
        ver = others[0]
    else:
        ver = run._label(version)
    from .compare import compare  # (compare.py re-exports plan_live)

    comp = compare(run, base, metrics=[metric], alpha=alpha, power=power)
    r = comp.row(metric, ver)
    effect = r.diff
    if effect == 0 or not math.isfinite(effect):
        raise InvalidArgumentError(
            f"{ver} and {base} do not differ on {metric} offline; there is no effect to plan for"
        )
    # What the effect (items in both versions) and the SD (the baseline's items) leave out.
    cells = cell_reasons(run, metric, result_column(metric), pair_key("item"))
    frame = values_frame(run, metric, "item")
    left = left_out(cells, base, ver, paired_values(frame, base, ver)[0].index, pairing="item")
    why = left.describe()
    notes = (
        [f"offline effect from {r.n_pairs} items with a value in both versions; {why}"]
        if why
        else []
    )
    sd: float | None = None
    sd_left: LeftOut | None = None
    if r.binary:
        if not 0 < r.baseline_mean < 1:
            raise InvalidArgumentError(
                f"baseline pass rate of {metric} is {r.baseline_mean:.0%} offline; a live plan "
                "needs 0 < p < 1"
            )
    else:
        own = frame[frame["version"] == base]
        values = own["value"].to_numpy(float)
        sd_left = left_out(
            cells, base, base, zip(own["item_id"], own["k"], strict=True), pairing="item"
        )
        why = sd_left.describe()
        if why:
            notes.append(f"SD of {metric} per item from {values.size} items of {base}; {why}")
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        if no_spread(sd, values):
            raise InvalidArgumentError(
                f"{metric} does not vary across items of {base} (SD {sd:.3g}); cannot plan a "
                "live test from it"
            )

    def make(e: float) -> stats.Plan:
        # Pass/fail scorers are planned as a proportion, everything else as a mean with its SD.
        # A rate's effect keeps its sign: its variance, hence the sample size, differs between a
        # rise and a fall of the same size (a mean's does not).
        return stats.plan(
            r.baseline_mean, mde=e if r.binary else abs(e), sd=sd,
            kind="proportion" if r.binary else "mean",
            daily_units=daily_users, relative=False, split=split / 100, alpha=alpha, power=power,
        )  # fmt: skip

    if r.binary and not 0 < r.baseline_mean + effect < 1:
        raise InvalidArgumentError(
            f"{ver} takes the pass rate of {metric} from {num(r.baseline_mean, '%')} to "
            f"{num(r.baseline_mean + effect, '%')} offline; a live plan needs a rate inside (0, 1): "
            "a version this different needs no live test to tell"
        )
    full = make(effect)
    shrunk = make(effect * shrink) if shrink is not None and shrink < 1 else None
    note = (
        "Offline effects often shrink live: the dataset is not your traffic, and a live metric "
        "per user is noisier than a score per item. Plan for the smaller effect, and treat the "
        "offline result as a reason to test, not as the answer."
    )
    return LivePlan(
        metric=metric, version=ver, baseline=base, baseline_value=r.baseline_mean,
        offline_effect=effect, unit=r.unit, daily_users=float(daily_users), split=float(split),
        plan=full, shrink=float(shrink or 1.0), shrunk=shrunk, note=note,
        n_dropped=left.n, dropped=left.reasons, sd_n_dropped=0 if sd_left is None else sd_left.n,
        sd_dropped=() if sd_left is None else sd_left.reasons, notes=tuple(notes),
    )  # fmt: skip
