"""One row of :func:`.compare`: a metric, one version against the baseline (test choice,
estimate, CI, p-value, MDE, A/A floor, variance split, notes)."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from .. import stats
from .._format import level_pct, pval
from ..stats._dist import t_isf
from ._compare_result import Interval, MetricComparison, Pairing, Verdict, _fmt
from ._mde import clustered_mde, paired_mde
from ._paired import LeftOut, repeat_differences, repeats_left_out, variance_split
from ._values import RUN_METRICS, AAFloor, clip, in_unit_range, no_spread

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun


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


def _zero_se_note(n_clusters: int) -> str:
    return (
        f"the cluster-robust SE is 0 over {n_clusters} clusters although the items' differences "
        "vary: no p-value, CI or verdict; add clusters"
    )


def split_variance(
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


def compare_one(
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
    aa: AAFloor,
    clusters: dict[str, object] | None = None,
    interval: Interval = "wilson",
    split: tuple[stats.VarianceComponents | None, LeftOut] | None = None,
) -> tuple[MetricComparison, str | None]:
    unit, hib = (
        (RUN_METRICS[metric][1], RUN_METRICS[metric][2]) if metric in RUN_METRICS
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
    unit_scores = in_unit_range(run, metric)
    low, top = (0.0, 1.0) if unit_scores else (
        (0.0, math.inf) if metric in RUN_METRICS else (-math.inf, math.inf)
    )  # fmt: skip
    bm, blo, bhi = clip(_mean_ci(x, single, alpha, interval, groups), low, top)
    vm, vlo, vhi = clip(_mean_ci(y, single, alpha, interval, groups), low, top)
    d = y - x
    up, down = int((d > 1e-12).sum()), int((d < -1e-12).sum())
    improved, regressed = (up, down) if hib else (down, up)
    unchanged = n - up - down
    clustered = None if groups is None else stats.cluster_mean(d, groups, alpha=alpha)
    if clustered is not None:
        test = _as_comparison(clustered)
        sd = float(d.std(ddof=1)) if n > 1 else 0.0
        if not clustered.se > 0 and not no_spread(sd, d):
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
        if no_spread(sd_d, d):
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
        _, lo, hi = clip((diff, float(test.ci_low), float(test.ci_high)), -1.0, 1.0)
        test = dataclasses.replace(test, ci_low=lo, ci_high=hi)
    notes = [test.note] if test.note else []
    clash = ci_clash((float(test.ci_low), float(test.ci_high)), float(test.p_value),
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
    var_note = split_note(var_left)
    if var_note:
        notes.append(var_note)
    mde = paired_mde(d, alpha, power) if clustered is None else clustered_mde(
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


def ci_clash(ci: tuple[float, float], p: float, method: str, alpha: float) -> str | None:
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


def split_note(left: LeftOut | None) -> str | None:
    why = None if left is None else left.describe()
    return f"variance split (every repeat in both versions): {why}" if why else None


def _as_comparison(c: stats.ClusteredMean) -> stats.Comparison:
    stat = c.estimate / c.se if c.se > 0 else math.nan
    return stats.Comparison(
        c.estimate, c.ci[0], c.ci[1], c.p_value, stat, c.df,
        f"paired t, cluster-robust SE ({c.n_clusters} clusters, CR1 G/(G−1), t on G−1 df)",
        False, c.alpha, c.se, "two-sided", None,
    )  # fmt: skip
