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

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._checks import check, one_of
from ..errors import InvalidArgumentError
from ._compare_result import (
    _ALIASES,
    Interval,
    LivePlan,
    MetricComparison,
    OfflineComparison,
    Pairing,
)
from ._paired import cell_reasons, cluster_of, left_out, repeat_frame
from ._plan_live import plan_live
from ._row import ci_clash, compare_one, split_note, split_variance
from ._side_by_side import side_by_side
from ._values import RUN_METRICS, aa_floor, pair_key, paired_values, result_column, values_frame

if TYPE_CHECKING:
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
    known = [*run.scorers, *RUN_METRICS]
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
        frame = values_frame(run, metric, pairing)
        # Why each cell has no value: every unit a comparison leaves out is counted, by reason.
        cells = cell_reasons(run, metric, result_column(metric), pair_key(pairing))
        if frame.empty:
            missing = cells.groupby("reason")["n"].sum().sort_values(ascending=False)
            notes.append(
                f"{metric}: no values in any version, nothing compared ({int(missing.sum())} "
                f"cells: {', '.join(f'{int(n)} {why}' for why, n in missing.items())})"
            )
            continue
        # By repeat: what the A/A floor and the variance split leave out.
        rep_cells = (
            cell_reasons(run, metric, result_column(metric), "repeat_idx")
            if run.repeats >= 2
            else None
        )
        aa = aa_floor(run, metric, base, bool(frame["binary"].all()), alpha, rep_cells)
        aa_note = aa.note(metric, base)
        if aa_note:
            notes.append(aa_note)
        rep_frame = None
        if rep_cells is not None and pairing == "item":
            rep_frame = repeat_frame(run, metric, result_column(metric))
        for v in others:
            complete, binary = paired_values(frame, base, v)
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
                split = split_variance(rep_frame, rep_cells, base, v)
            last, test_note = compare_one(
                run, complete, binary, left, metric, base, v, pairing=pairing, alpha=alpha,
                power=power, bootstrap=bootstrap, n_boot=n_boot, seed=seed, aa=aa,
                clusters=clusters, interval=interval, split=split,
            )  # fmt: skip
            rows.append(last)
            # The test's own caveat (no spread, a withheld or infinite CI, the sign test) was on
            # the row only, which the printed table does not show.
            if test_note:
                notes.append(f"{metric}, {v}: {test_note}")
            clash = ci_clash(last.diff_ci, last.p_value, last.method, alpha)
            if clash:
                notes.append(f"{metric}, {v}: {clash}")
            why = left.describe()
            if why:
                notes.append(f"{metric}, {v}: {why}")
            var_note = split_note(None if split is None else split[1])
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
