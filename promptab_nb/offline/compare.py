"""Paired comparison of prompt versions from an offline run, and the bridge to a live test.

Items are the unit of analysis: both versions answered the same items, so every test is paired.
By default repeats are averaged per item first (in DuckDB), giving one value per (version,
item); ``pairing="repeat"`` pairs (item, repeat) cells instead, which treats repeats of one item
as independent and so overstates the evidence when items differ in difficulty.

Test choice (documented choice for pass/fail scorers). A scorer is pass/fail when every stored
value is 0 or 1 with a pass flag; a graded score that also carries a flag (``Score(0.7, True)``)
is analysed as a score, so the estimate and its CI are both on the mean score:

* pass/fail with one outcome per pair (``repeats=1``, or ``pairing="repeat"``): **exact
  McNemar** on the discordant pairs; the difference is the change in pass rate, with
  Newcombe's square-and-add CI for paired proportions (Wilson-based; a Wald CI has width 0
  when every item improves).
* pass/fail with repeats that all agree on every item (each item's outcome is binary): **exact
  McNemar**, not a paired t on 0/1 values.
* pass/fail with repeats averaged: each item's **pass fraction** is a score in [0, 1] and the
  **paired t** test compares them (majority voting would throw away the repeats' information);
  Wilcoxon signed-rank is reported alongside.
* scores, cost (USD), latency (s) and output tokens: **paired t** (Wilcoxon alongside);
  ``bootstrap=True`` makes the paired bootstrap the primary test.
* ``cluster="passage"``: a **cluster-robust** paired t (CR1) replaces all of the above, since
  items of one cluster are not independent; each row gets its design effect.

A unit (item, or (item, repeat) pair) without a value in one or both versions (the model call
failed, the scorer failed or was not applicable, the model reported no cost or tokens) is left
out of that row's pairs and counted in its ``n_dropped`` and ``dropped`` and in the notes, with
the reason on each side; so are repeats left out of an item's mean under ``pairing="item"``.

With two or more repeats each row also splits the variance of the paired differences into
between-item and within-item parts (:func:`promptab_nb.stats.variance_components`), the input
of :func:`promptab_nb.offline.plan`. The split needs every repeat of an item in both versions:
items missing one are counted in ``var_n_dropped`` / ``var_dropped`` and the notes.

The A/A noise floor compares repeat 0 with repeat 1 of the *baseline*: the share of items whose
pass/fail outcome flips, and the paired-t CI of repeat 1 − repeat 0. Items without a value in
repeat 0 or 1 are counted in ``aa_n_dropped`` / ``aa_dropped`` and the notes. The MDE is the
smallest paired difference detectable with ``power`` at this number of items by the paired t
test (noncentral t on ``n − 1`` df, with the SD of the per-item differences); with ``cluster=``
by the cluster-robust t test (``G − 1`` df, its SE).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import stats
from .._checks import check, one_of
from .._format import level_pct, num, pval
from ..errors import InvalidArgumentError
from ..stats._dist import t_isf
from ._compare_result import (
    _ALIASES,
    Interval,
    LivePlan,
    MetricComparison,
    OfflineComparison,
    Pairing,
    Verdict,
    _fmt,
)
from ._paired import (
    LeftOut,
    aa_left_out,
    cell_reasons,
    cluster_of,
    left_out,
    repeat_differences,
    repeat_frame,
    repeats_left_out,
    variance_split,
)
from ._side_by_side import side_by_side

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun
    from .prompts import PromptVersion

__all__ = [
    "LivePlan",
    "MetricComparison",
    "OfflineComparison",
    "compare",
    "plan_live",
    "side_by_side",
]

# Built-in run metrics: column in offline_results, unit, higher is better.
_RUN_METRICS: dict[str, tuple[str, str, bool]] = {
    "cost_usd": ("cost_usd", "USD", False),
    "latency_s": ("latency_s", "s", False),
    "output_tokens": ("output_tokens", "tokens", False),
}

_SCORE_VALUES = """
    SELECT version, item_id, {key} AS k, avg(value) AS value,
           -- pass/fail only when every value is 0/1: a graded score with a pass flag is a score
           bool_and(passed IS NOT NULL AND value IN (0, 1)) AS binary
    FROM offline_scores
    WHERE run_id = $run AND scorer = $scorer AND value IS NOT NULL
    GROUP BY ALL
"""

_RESULT_VALUES = """
    SELECT version, item_id, {key} AS k, avg({col}) AS value, false AS binary
    FROM offline_results
    WHERE run_id = $run AND error IS NULL AND {col} IS NOT NULL
    GROUP BY ALL
"""

_AA_SCORES = """
    SELECT item_id, repeat_idx, value
    FROM offline_scores
    WHERE run_id = $run AND scorer = $scorer AND version = $version AND value IS NOT NULL
      AND repeat_idx IN (0, 1)
"""

_AA_RESULTS = """
    SELECT item_id, repeat_idx, {col} AS value
    FROM offline_results
    WHERE run_id = $run AND version = $version AND error IS NULL AND {col} IS NOT NULL
      AND repeat_idx IN (0, 1)
"""


def _mean_ci(
    values: np.ndarray,
    binary_single: bool,
    alpha: float,
    interval: Interval = "wilson",
    groups: list[object] | None = None,
) -> tuple[float, float, float]:
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(values.mean())
    if groups is not None:
        lo, hi = stats.cluster_mean(values, groups, alpha=alpha).ci
        return m, lo, hi
    if binary_single:
        lo, hi = stats.proportion_ci(round(values.sum()), n, alpha=alpha, method=interval)
        return m, lo, hi
    if n < 2:
        return m, math.nan, math.nan
    half = float(t_isf(alpha / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return m, m - half, m + half


def _paired_mde(d: np.ndarray, alpha: float, power: float) -> float | None:
    """Smallest mean of the paired differences ``d`` that the two-sided paired t test at
    ``alpha`` detects with ``power`` over ``d.size`` pairs (in ``d``'s unit; None with fewer than
    3 pairs or no spread): the noncentral t on ``n − 1`` df with noncentrality ``δ√n / SD``."""
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    if d.size < 3 or _no_spread(sd, d):
        return None
    return _detectable(sd / math.sqrt(d.size), d.size - 1, alpha, power)


def _detectable(se: float, df: int, alpha: float, power: float) -> float | None:
    """Smallest mean difference a two-sided t test of standard error ``se`` (> 0) on ``df``
    degrees of freedom detects with ``power`` at ``alpha``: ``se`` times the noncentrality that
    reaches ``power``. (Solved in SEs and rescaled: the noncentral t is unreliable at tiny SDs,
    USD per call.) None where scipy's noncentral t cannot say (NaN far in the tail: a critical
    value of 1e10 at alpha = 1e-20 and 2 df), and None when ``power <= alpha``: a zero effect
    already has power ``alpha``, so no smallest effect exists (:func:`compare` says so)."""
    if power <= alpha:
        return None
    import scipy.optimize

    crit = float(t_isf(alpha / 2, df))

    def short(ncp: float) -> float:
        # The wrong-sign tail is below alpha / 2 and shrinks; scipy returns NaN for it once
        # it is tiny (n = 100 at one SD), so it counts as 0 then.
        wrong = float(scipy.stats.nct.cdf(-crit, df, ncp))
        return power - float(scipy.stats.nct.sf(crit, df, ncp)) - (wrong if wrong >= 0 else 0.0)

    hi = 1.0
    while (gap := short(hi)) > 0 and hi < 2.0**60:  # power rises with the noncentrality
        hi *= 2
    if not gap <= 0:  # NaN, or no noncentrality reaches the power
        return None
    try:
        return se * float(scipy.optimize.brentq(short, 0.0, hi, xtol=1e-12))
    except (ValueError, RuntimeError):  # a NaN inside the bracket
        return None


def _zero_se_note(n_clusters: int) -> str:
    return (
        f"the cluster-robust SE is 0 over {n_clusters} clusters although the items' differences "
        "vary: no p-value, CI or verdict; add clusters"
    )


def _clip(
    estimate: tuple[float, float, float], low: float, high: float
) -> tuple[float, float, float]:
    """``(estimate, lo, hi)`` with the bounds clipped to ``[low, high]`` (NaN stays NaN)."""
    m, lo, hi = estimate
    return m, (max(lo, low) if lo == lo else lo), (min(hi, high) if hi == hi else hi)


def _clustered_mde(c: stats.ClusteredMean, alpha: float, power: float) -> float | None:
    """Smallest mean difference the cluster-robust t test (``c.se``, ``G − 1`` df) detects with
    ``power`` at ``alpha`` (None with fewer than 3 clusters or an SE of 0): the independent-items
    MDE would claim the precision of items that move together."""
    if c.n_clusters < 3 or not c.se > 0:
        return None
    return _detectable(c.se, c.n_clusters - 1, alpha, power)


def _no_spread(sd: float, values: np.ndarray) -> bool:
    """Whether ``sd`` is 0 up to floating-point rounding of ``values`` (0.1 + 0.2 vs 0.3 gives an
    SD of 1e-17, which the power and sample-size formulas would take for real spread)."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return not sd > 1e-9 * scale


def _key(pairing: Pairing) -> str:
    return "repeat_idx" if pairing == "repeat" else "0"


def _column(metric: str) -> str | None:
    """The offline_results column of a run metric (from the allow-list, never user text)."""
    return _RUN_METRICS[metric][0] if metric in _RUN_METRICS else None


def _frame(run: OfflineRun, metric: str, pairing: Pairing) -> pd.DataFrame:
    key, col = _key(pairing), _column(metric)
    if col is not None:
        query = _RESULT_VALUES.format(key=key, col=col)
        return run._ws.sql(query, {"run": run.run_id})
    return run._ws.sql(_SCORE_VALUES.format(key=key), {"run": run.run_id, "scorer": metric})


def _pairs(frame: pd.DataFrame, baseline: str, version: str) -> tuple[pd.DataFrame, bool]:
    """Units (index ``item_id``, ``k``) with a value in both versions, one column per version,
    and whether every value of the two versions is pass/fail."""
    import pandas as pd

    sub = frame[frame["version"].isin([baseline, version])]
    if sub.empty:
        empty = pd.MultiIndex.from_tuples([], names=["item_id", "k"])
        return pd.DataFrame(columns=[baseline, version], index=empty), False
    binary = bool(sub["binary"].all())
    wide = sub.pivot(index=["item_id", "k"], columns="version", values="value")
    for col in (baseline, version):
        if col not in wide.columns:
            wide[col] = np.nan
    return wide.dropna(), binary


class _AA(NamedTuple):
    """The baseline's A/A noise floor: flip rate, CI, and the items it left out (None with one
    repeat)."""

    flip: float | None
    ci: tuple[float, float] | None
    left: LeftOut | None = None
    n: int = 0

    def note(self, metric: str, baseline: str) -> str | None:
        """What the floor left out, or why there is none (None when it left nothing out)."""
        why = None if self.left is None else self.left.describe()
        if self.left is not None and self.ci is None:
            return (
                f"{metric}: no A/A noise floor for {baseline}, {self.n} of {self.left.n_units} "
                "items with a value in repeats 0 and 1 (2 needed)" + (f"; {why}" if why else "")
            )
        if why is None:
            return None
        return f"{metric}: A/A noise floor of {baseline} (repeat 0 vs repeat 1): {why}"


def _aa(
    run: OfflineRun, metric: str, baseline: str, binary: bool, alpha: float,
    cells: pd.DataFrame | None,
) -> _AA:  # fmt: skip
    """The noise floor; ``cells`` are :func:`cell_reasons` by repeat (None with one repeat)."""
    if run.repeats < 2 or cells is None:
        return _AA(None, None)
    if metric in _RUN_METRICS:
        query = _AA_RESULTS.format(col=_RUN_METRICS[metric][0])
        frame = run._ws.sql(query, {"run": run.run_id, "version": baseline})
    else:
        frame = run._ws.sql(_AA_SCORES, {"run": run.run_id, "scorer": metric, "version": baseline})
    wide = frame.pivot(index="item_id", columns="repeat_idx", values="value")
    wide = wide.dropna() if {0, 1} <= set(wide.columns) else wide.iloc[:0]
    left = aa_left_out(cells, baseline, wide.index)
    if len(wide) < 2:
        return _AA(None, None, left, len(wide))
    r0, r1 = wide[0].to_numpy(float), wide[1].to_numpy(float)
    flip = float(np.mean(r0 != r1)) if binary else None
    if np.all(r0 == r1):
        return _AA(flip, (0.0, 0.0), left, len(wide))
    t = stats.paired_t(r0, r1, alpha=alpha)
    if not _in_unit(run, metric):
        return _AA(flip, t.ci, left, len(wide))
    _, lo, hi = _clip((0.0, *t.ci), -1.0, 1.0)  # two scores in [0, 1] differ by at most 1
    return _AA(flip, (lo, hi), left, len(wide))


def _in_unit(run: OfflineRun, metric: str) -> bool:
    """Whether every stored value of scorer ``metric`` is in [0, 1] (always, for a scorer of
    ``run_offline``; an imported promptfoo score need not be), so its CIs can be clipped there."""
    if metric in _RUN_METRICS:
        return False
    ((inside,),) = run._ws.engine.fetch(
        "SELECT coalesce(bool_and(value BETWEEN 0 AND 1), true) FROM offline_scores "
        "WHERE run_id = ? AND scorer = ? AND value IS NOT NULL",
        [run.run_id, metric],
    )
    return bool(inside)


def _variance_split(
    frame: pd.DataFrame, cells: pd.DataFrame, baseline: str, version: str
) -> tuple[stats.VarianceComponents | None, LeftOut]:
    """Between- and within-item variance of ``version − baseline`` over the items with every
    repeat in both versions, and the items it left out (``frame``: :func:`repeat_frame`;
    ``cells``: :func:`cell_reasons` by repeat)."""
    d = repeat_differences(frame, baseline, version)
    vc = variance_split(d.to_numpy(float)) if len(d) else None
    return vc, repeats_left_out(cells, baseline, version, d.index)


def _verdict(diff: float, p: float, alpha: float, higher_is_better: bool) -> Verdict:
    if not p < alpha or diff == 0:
        return "inconclusive"
    good = diff > 0 if higher_is_better else diff < 0
    return "better" if good else "worse"


def _one(
    run: OfflineRun,
    complete: pd.DataFrame,
    binary: bool,
    left: LeftOut,
    metric: str,
    baseline: str,
    version: str,
    *,
    pairing: Pairing,
    alpha: float,
    power: float,
    bootstrap: bool,
    n_boot: int,
    seed: int | None,
    aa: _AA,
    clusters: dict[str, object] | None = None,
    interval: Interval = "wilson",
    split: tuple[stats.VarianceComponents | None, LeftOut] | None = None,
) -> tuple[MetricComparison, str | None]:
    unit, hib = (
        (_RUN_METRICS[metric][1], _RUN_METRICS[metric][2]) if metric in _RUN_METRICS
        else ("fraction", True)
    )  # fmt: skip
    x, y = complete[baseline].to_numpy(float), complete[version].to_numpy(float)
    # Differences at rounding level (0.1 + 0.2 vs 0.3: 5.6e-17) are none: every pair 5.6e-17
    # apart read "worse, p < 0.001" with no item regressed.
    y = np.where(np.abs(y - x) <= 1e-12 * np.maximum(np.abs(x), np.abs(y)), x, y)
    n = x.size
    # One pass/fail outcome per pair → McNemar; pass fractions of several repeats → paired t.
    # When every item's repeats agree the pass fraction is 0 or 1: still one outcome per pair.
    agree = bool(np.isin(x, (0.0, 1.0)).all() and np.isin(y, (0.0, 1.0)).all())
    single = binary and (pairing == "repeat" or run.repeats == 1 or agree)
    ids = complete.index.get_level_values("item_id")
    groups = None if clusters is None else [clusters[str(i)] for i in ids]
    # A CI stays within what the metric can be: a score in [0, 1], a cost, latency or token
    # count >= 0 (a t interval on few items or clusters runs past it).
    unit_scores = _in_unit(run, metric)
    low, top = (0.0, 1.0) if unit_scores else (
        (0.0, math.inf) if metric in _RUN_METRICS else (-math.inf, math.inf)
    )  # fmt: skip
    bm, blo, bhi = _clip(_mean_ci(x, single, alpha, interval, groups), low, top)
    vm, vlo, vhi = _clip(_mean_ci(y, single, alpha, interval, groups), low, top)
    d = y - x
    up, down = int((d > 1e-12).sum()), int((d < -1e-12).sum())
    improved, regressed = (up, down) if hib else (down, up)
    unchanged = n - up - down
    clustered = None if groups is None else stats.cluster_mean(d, groups, alpha=alpha)
    if clustered is not None:
        test = _as_comparison(clustered)
        sd = float(d.std(ddof=1)) if n > 1 else 0.0
        if not clustered.se > 0 and not _no_spread(sd, d):
            # Clusters whose mean differences coincide (2 passages at −0.5 each) give an SE of 0
            # though the items vary: an artefact of too few clusters, not certainty.
            test = dataclasses.replace(
                test, ci_low=math.nan, ci_high=math.nan, p_value=math.nan, statistic=math.nan,
                note=_zero_se_note(clustered.n_clusters),
            )  # fmt: skip
    elif single:
        both = int(((x == 1) & (y == 1)).sum())
        test = stats.mcnemar(down, up, n=n, both=both, alpha=alpha)
    elif bootstrap:
        test = stats.paired_bootstrap(x, y, n_boot=n_boot, seed=seed, alpha=alpha)
    else:
        test = stats.paired_t(x, y, alpha=alpha)
    if not single and clustered is None and n >= 2 and d.any():
        sd_d = float(d.std(ddof=1))
        if _no_spread(sd_d, d):
            # Every pair differs by the same amount: the t test (and the bootstrap) has no
            # spread to measure and said p = 0 ("better" from 2 items). The exact sign test
            # needs none: n of n pairs one way has p = 2 / 2^n.
            test = dataclasses.replace(
                test, p_value=min(1.0, 2.0 * 0.5**n), ci_low=math.nan, ci_high=math.nan,
                statistic=float(n), df=None, method="exact sign test",
                note=f"every pair differs by the same {_fmt(float(d.mean()), unit, diff=True)}: "
                "no spread for a t test or its CI; p from the exact sign test "
                f"({n} of {n} pairs one way)",
            )  # fmt: skip
    # Wilcoxon treats items as independent: not alongside a cluster-robust test.
    p_w = None if single or clustered is not None else stats.wilcoxon(x, y, alpha=alpha).p_value
    diff = float(d.mean())
    if unit_scores:  # two scores in [0, 1] differ by at most 1
        _, lo, hi = _clip((diff, float(test.ci_low), float(test.ci_high)), -1.0, 1.0)
        test = dataclasses.replace(test, ci_low=lo, ci_high=hi)
    notes = [test.note] if test.note else []
    clash = _ci_clash((float(test.ci_low), float(test.ci_high)), float(test.p_value),
                      test.method, alpha)  # fmt: skip
    if clash:
        notes.append(clash)
    why = left.describe()
    if why:
        notes.append(why)
    aa_note = aa.note(metric, baseline)
    if aa_note:
        notes.append(aa_note.removeprefix(f"{metric}: "))
    vc, var_left = split if split is not None else (None, None)
    var_note = _split_note(var_left)
    if var_note:
        notes.append(var_note)
    mde = _paired_mde(d, alpha, power) if clustered is None else _clustered_mde(
        clustered, alpha, power)  # fmt: skip
    if unit_scores and mde is not None and mde > 1:
        # Scores in [0, 1] differ by at most 1: no possible difference reaches the power.
        notes.append(
            f"no MDE: no difference within the score's range (100 pp at most) reaches "
            f"{power:.0%} power at {n} pairs"
        )
        mde = None
    row = MetricComparison(
        metric=metric, version=version, baseline=baseline, unit=unit, binary=binary,
        higher_is_better=hib, n_pairs=n, n_dropped=left.n, baseline_mean=bm,
        baseline_ci=(blo, bhi), mean=vm, ci=(vlo, vhi), diff=diff,
        diff_ci=(float(test.ci_low), float(test.ci_high)), p_value=float(test.p_value),
        method=test.method, p_wilcoxon=p_w, improved=improved, regressed=regressed,
        unchanged=unchanged, aa_flip_rate=aa.flip, aa_ci=aa.ci,
        mde=mde,
        verdict=_verdict(diff, test.p_value, alpha, hib),
        note="; ".join(notes) or None,
        n_clusters=None if clustered is None else clustered.n_clusters,
        design_effect=None if clustered is None else clustered.design_effect,
        var_between=None if vc is None else vc.between,
        var_within=None if vc is None else vc.within, dropped=left.reasons,
        aa_n_dropped=0 if aa.left is None else aa.left.n,
        aa_dropped=() if aa.left is None else aa.left.reasons,
        var_n_dropped=0 if var_left is None else var_left.n,
        var_dropped=() if var_left is None else var_left.reasons,
    )  # fmt: skip
    return row, test.note


def _ci_clash(ci: tuple[float, float], p: float, method: str, alpha: float) -> str | None:
    """Why the CI and the p-value seem to disagree, when they do (None when they agree).

    The verdict follows the p-value; some CIs only approximate the test (McNemar's Newcombe CI
    beside its exact p-value), so near the edge the CI can exclude 0 while p >= alpha, or the
    other way round."""
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(p)):
        return None
    excludes = lo > 0 or hi < 0
    if excludes == (p < alpha):
        return None
    what = "excludes" if excludes else "includes"
    return (
        f"the {level_pct(1 - alpha)} CI of the difference {what} 0 but {pval(p)} by {method}: "
        "the verdict follows the test (the CI is an approximation)"
    )


def _split_note(left: LeftOut | None) -> str | None:
    why = None if left is None else left.describe()
    return f"variance split (every repeat in both versions): {why}" if why else None


def _as_comparison(c: stats.ClusteredMean) -> stats.Comparison:
    stat = c.estimate / c.se if c.se > 0 else math.nan
    return stats.Comparison(
        c.estimate, c.ci[0], c.ci[1], c.p_value, stat, c.df,
        f"paired t, cluster-robust SE ({c.n_clusters} clusters, CR1 G/(G−1), t on G−1 df)",
        False, c.alpha, c.se, "two-sided", None,
    )  # fmt: skip


def compare(
    run: OfflineRun,
    baseline: PromptVersion | str | int | None = None,
    *,
    metrics: Sequence[str] | None = None,
    pairing: Pairing = "item",
    alpha: float = 0.05,
    power: float = 0.8,
    bootstrap: bool = False,
    n_boot: int = 2000,
    seed: int | None = 0,
    cluster: str | None = None,
    interval: Interval = "wilson",
    human_labels: Any = None,
) -> OfflineComparison:
    """Compare every version of ``run`` with ``baseline``, paired by item.

    Parameters
    ----------
    run
        An :class:`~promptab_nb.offline.OfflineRun`.
    baseline
        The reference version (object, label ``"name@v1"``, name or number); default the first.
    metrics
        Scorer names and/or ``"cost_usd"``, ``"latency_s"``, ``"output_tokens"`` (aliases
        ``cost``, ``latency``, ``tokens``); default every scorer then those three.
    pairing
        ``"item"`` (repeats averaged per item first) or ``"repeat"`` (pairs of cells).
    alpha
        Two-sided significance level; CIs have level ``1 − alpha``.
    power
        Power at which the MDE is stated.
    bootstrap, n_boot, seed
        Use the paired bootstrap (``n_boot`` resamples, ``seed``) instead of the paired t for
        non-McNemar metrics.
    cluster
        An item metadata (or variable) column grouping dependent items (questions of one
        passage, turns of one conversation): the paired differences and the means then get
        cluster-robust SEs (CR1, small-sample factor ``G/(G−1)``, t on ``G − 1`` df) and each
        row reports the design effect against the unclustered SE.
    interval
        CI of pass rates with one outcome per item: ``"wilson"`` or ``"clopper-pearson"``.
    human_labels
        A frame with ``item_id``, ``version`` and ``label`` (pass = 1) for a subset of items:
        ``comparison.ppi`` then holds PPI++ pass rates and differences that use every judge
        label of the primary scorer plus these human labels (see
        :func:`promptab_nb.offline.ppi_compare`).

    Returns
    -------
    OfflineComparison
        Per (metric, version): means with CIs, the paired difference with CI and p-value
        (H1: the versions differ), improved / regressed / unchanged counts, the A/A noise floor,
        the MDE, a verdict, and with repeats the between- and within-item variance of the
        differences (``var_between``, ``var_within``). Pass/fail metrics whose per-item outcome
        is binary (one repeat, or every repeat agrees) use exact McNemar. Units without a value
        in one or both versions are counted in ``n_dropped`` / ``dropped`` and in ``notes``,
        with the reason; so are items the A/A floor (``aa_n_dropped`` / ``aa_dropped``) and
        the variance split (``var_n_dropped`` / ``var_dropped``) leave out.

    Raises
    ------
    InvalidArgumentError
        Fewer than two versions, an unknown baseline or metric, or a bad option.
    """
    if isinstance(metrics, str):  # one metric by name, not its letters
        metrics = [metrics]
    given = {
        "baseline": None if baseline is None else run._label(baseline),
        "metrics": None if metrics is None else list(metrics), "pairing": pairing,
        "alpha": alpha, "power": power, "bootstrap": bootstrap, "n_boot": n_boot, "seed": seed,
        "cluster": cluster, "interval": interval, "human_labels": human_labels is not None,
    }  # fmt: skip
    defaults = {k: p.default for k, p in inspect.signature(compare).parameters.items()}
    options = tuple(
        (k, v) for k, v in given.items() if v != (defaults[k] if k != "human_labels" else False)
    )
    one_of(pairing, "pairing", ("item", "repeat"))
    one_of(interval, "interval", ("wilson", "clopper-pearson"))
    check(alpha, "alpha", gt=0, lt=1)
    check(power, "power", gt=0, lt=1)
    if seed is not None:
        check(seed, "seed", ge=0, integer=True)
    if len(run.labels) < 2:
        raise InvalidArgumentError(
            f"run {run.run_id} has one version ({run.labels[0]}); compare needs two or more"
        )
    base = run._label(baseline) if baseline is not None else run.labels[0]
    others = tuple(v for v in run.labels if v != base)
    known = [*run.scorers, *_RUN_METRICS]
    if metrics is None:
        chosen = known
    else:
        # A metric named twice (or by its alias too) is compared once.
        chosen = list(dict.fromkeys(_ALIASES.get(m, m) for m in metrics))
        if not chosen:
            raise InvalidArgumentError(
                f"metrics is empty; pass some of {', '.join(known)}, or None for all of them"
            )
        for m in chosen:
            if m not in known:
                raise InvalidArgumentError(
                    f"unknown metric {m!r}; this run has: {', '.join(known)}"
                )
    clusters = None if cluster is None else cluster_of(run.dataset, cluster)
    if clusters is not None and len(set(clusters.values())) < 2:
        (only,) = set(clusters.values())
        raise InvalidArgumentError(
            f"cluster == {cluster!r} puts all {len(clusters)} items in one cluster ({only!r}); "
            "a cluster-robust SE needs two or more clusters (leave cluster= out if the items "
            "are independent)"
        )
    rows: list[MetricComparison] = []
    notes: list[str] = []
    for metric in chosen:
        frame = _frame(run, metric, pairing)
        # Why each cell has no value: every unit a comparison leaves out is counted, by reason.
        cells = cell_reasons(run, metric, _column(metric), _key(pairing))
        if frame.empty:
            missing = cells.groupby("reason")["n"].sum().sort_values(ascending=False)
            notes.append(
                f"{metric}: no values in any version, nothing compared ({int(missing.sum())} "
                f"cells: {', '.join(f'{int(n)} {why}' for why, n in missing.items())})"
            )
            continue
        # By repeat: what the A/A floor and the variance split leave out.
        rep_cells = (
            cell_reasons(run, metric, _column(metric), "repeat_idx") if run.repeats >= 2 else None
        )
        aa = _aa(run, metric, base, bool(frame["binary"].all()), alpha, rep_cells)
        aa_note = aa.note(metric, base)
        if aa_note:
            notes.append(aa_note)
        rep_frame = None
        if rep_cells is not None and pairing == "item":
            rep_frame = repeat_frame(run, metric, _column(metric))
        for v in others:
            complete, binary = _pairs(frame, base, v)
            left = left_out(cells, base, v, complete.index, pairing=pairing)
            if len(complete) < 2:
                why = left.describe()
                notes.append(
                    f"{metric}, {v}: no comparison, {len(complete)} of {left.n_units} "
                    f"{left.unit} with a value in both versions (2 needed)"
                    + (f"; {why}" if why else "")
                )
                continue
            split = None
            if rep_frame is not None and rep_cells is not None:
                split = _variance_split(rep_frame, rep_cells, base, v)
            last, test_note = _one(
                run, complete, binary, left, metric, base, v, pairing=pairing, alpha=alpha,
                power=power, bootstrap=bootstrap, n_boot=n_boot, seed=seed, aa=aa,
                clusters=clusters, interval=interval, split=split,
            )  # fmt: skip
            rows.append(last)
            # The test's own caveat (no spread, a withheld or infinite CI, the sign test) was on
            # the row only, which the printed table does not show.
            if test_note:
                notes.append(f"{metric}, {v}: {test_note}")
            clash = _ci_clash(last.diff_ci, last.p_value, last.method, alpha)
            if clash:
                notes.append(f"{metric}, {v}: {clash}")
            why = left.describe()
            if why:
                notes.append(f"{metric}, {v}: {why}")
            var_note = _split_note(None if split is None else split[1])
            if var_note:
                notes.append(f"{metric}, {v}: {var_note}")
    if power <= alpha:
        notes.append(
            f"no MDE: power {power:g} is not above alpha {alpha:g} (a zero effect is already "
            f"significant with probability alpha); pass power > {alpha:g} for one"
        )
    if run.repeats < 2:
        notes.append("repeats=1: no A/A noise floor; run with repeats >= 2 to measure it")
    if run.n_errors:
        notes.append(f"{run.n_errors} cells failed; see run.errors()")
    primary = run.scorers[0] if run.scorers else "cost_usd"
    if metrics is not None and primary not in chosen:
        primary = chosen[0]
    if clusters is not None:
        notes.append(
            f"items clustered by {cluster!r} ({len(set(clusters.values()))} clusters): "
            "cluster-robust SEs; the design effect is the variance ratio to independent items"
        )
    ppi = None
    if human_labels is not None:
        from ._ppi import ppi_compare

        ppi = ppi_compare(run, human_labels, metric=primary, baseline=base, alpha=alpha)
    return OfflineComparison(
        run_id=run.run_id, baseline=base, versions=others, primary=primary, pairing=pairing,
        alpha=alpha, power=power, repeats=run.repeats, n_items=run.n_items, rows=tuple(rows),
        seed=seed if bootstrap else None, notes=tuple(notes), ppi=ppi, options=options,
    )  # fmt: skip


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
    comp = compare(run, base, metrics=[metric], alpha=alpha, power=power)
    r = comp.row(metric, ver)
    effect = r.diff
    if effect == 0 or not math.isfinite(effect):
        raise InvalidArgumentError(
            f"{ver} and {base} do not differ on {metric} offline; there is no effect to plan for"
        )
    # What the effect (items in both versions) and the SD (the baseline's items) leave out.
    cells = cell_reasons(run, metric, _column(metric), _key("item"))
    frame = _frame(run, metric, "item")
    left = left_out(cells, base, ver, _pairs(frame, base, ver)[0].index, pairing="item")
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
        if _no_spread(sd, values):
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
