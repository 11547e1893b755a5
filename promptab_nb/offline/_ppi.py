"""PPI++ pass rates of an offline run: every item's judge label plus a few human labels.

The judge scorer labels every (version, item); people label a subset. For each version the
PPI++ estimate (:func:`promptab_nb.stats.ppi_mean`) corrects the judge's pass rate by its bias
on the human-labelled items, and the difference between versions does the same with the paired
per-item differences (human ``h_v − h_b``, judge ``j_v − j_b``). When the judge and the people
barely agree (correlation below ``min_corr``) the judge cannot help: the estimate falls back to
the human labels alone and says so.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import stats
from .._format import level_pct, num
from .._render import Note, Rendered, Table
from ..errors import DataError, InvalidArgumentError
from ._paired import cell_reasons, left_out

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun

__all__ = ["PPIComparison", "PPIRow", "ppi_compare"]


@dataclass(frozen=True)
class PPIRow:
    """One estimate: a version's pass rate (``what="pass rate"``) or its difference from the
    baseline (``"difference"``), PPI++ and human-only side by side (fractions)."""

    what: str
    version: str
    estimate: float
    ci: tuple[float, float]
    human_only: float
    human_only_ci: tuple[float, float]
    judge_only: float
    lam: float
    correlation: float
    n_labeled: int
    n_unlabeled: int
    effective_n: float
    method: str


@dataclass(frozen=True, repr=False)
class PPIComparison(Rendered):
    """PPI++ pass rates and differences (from :func:`ppi_compare`)."""

    metric: str
    baseline: str
    alpha: float
    rows: tuple[PPIRow, ...]
    notes: tuple[str, ...]

    def row(self, version: str, what: str = "difference") -> PPIRow:
        for r in self.rows:
            if r.version == version and r.what == what:
                return r
        raise InvalidArgumentError(f"no {what} row for version {version!r}")

    def summary(self) -> str:
        parts = []
        for r in self.rows:
            if r.what == "difference":
                parts.append(
                    f"PPI++ {r.version} − {self.baseline} on {self.metric}: "
                    f"{num(r.estimate, 'pp', signed=True)} [{num(r.ci[0], 'pp', signed=True)}, "
                    f"{num(r.ci[1], 'pp', signed=True)}] from {r.n_labeled} human-labelled + "
                    f"{r.n_unlabeled} judge-only items ({r.method}; worth "
                    f"{r.effective_n:.0f} human labels)"
                )
        return "; ".join(parts)

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            rec = asdict(r)
            for key in ("ci", "human_only_ci"):
                rec[f"{key}_low"], rec[f"{key}_high"] = rec.pop(key)
            out.append(rec)
        return out

    def _table(self) -> Table:
        lvl = level_pct(1 - self.alpha)

        def fmt(x: float, diff: bool) -> str:
            return num(x, "pp" if diff else "%", signed=diff)

        rows = [
            [
                r.what, r.version,
                f"{fmt(r.estimate, r.what == 'difference')} [{fmt(r.ci[0], r.what == 'difference')}, "
                f"{fmt(r.ci[1], r.what == 'difference')}]",
                f"{fmt(r.human_only, r.what == 'difference')} "
                f"[{fmt(r.human_only_ci[0], r.what == 'difference')}, "
                f"{fmt(r.human_only_ci[1], r.what == 'difference')}]",
                fmt(r.judge_only, r.what == "difference"), f"{r.lam:.2f}",
                num(r.correlation), f"{r.n_labeled} + {r.n_unlabeled}", f"{r.effective_n:.0f}",
                r.method,
            ]
            for r in self.rows
        ]  # fmt: skip
        return Table(
            ["estimate", "version", f"PPI++ [{lvl} CI]", f"human only [{lvl} CI]", "judge only",
             "λ", "judge–human r", "labelled + judge-only", "worth n human labels", "method"],
            rows,
            caption=f"{self.metric}: judge labels debiased with human labels (PPI++)",
            after=[Note((n,)) for n in self.notes],
        )  # fmt: skip


def _human_frame(human_labels: Any) -> pd.DataFrame:
    import pandas as pd

    frame = human_labels.to_pandas() if hasattr(human_labels, "to_pandas") else human_labels
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    missing = {"item_id", "version", "label"} - set(frame.columns)
    if missing:
        raise DataError(
            f"human_labels has no column {sorted(missing)[0]!r}; it needs item_id, version and "
            "label (1 / True = pass)"
        )
    out = frame[["item_id", "version", "label"]].copy().reset_index(drop=True)
    no_id = out["item_id"].isna().to_numpy()
    labelled = out["label"].notna().to_numpy()
    if (no_id & labelled).any():
        row = int(np.flatnonzero(no_id & labelled)[0])
        raise DataError(
            f"human_labels row {row} has a label but no item_id; give it the item's id or drop it"
        )
    out = out[~no_id].reset_index(drop=True)  # blank rows
    # A whole-number float id is the integer id (pandas makes an id column with a gap float).
    out["item_id"] = [
        str(int(i)) if isinstance(i, float) and i.is_integer() else str(i) for i in out["item_id"]
    ]
    labels = [_label(v) for v in out["label"]]
    bad = [k for k, v in enumerate(labels) if v is None]
    if bad:
        raw = out["label"].iloc[bad[0]]
        raise DataError(
            f"human_labels column 'label' has {raw!r} in row {bad[0]} ({len(bad)} such rows); "
            "a label is a number in [0, 1]: 1 for pass, 0 for fail (True/False work too)"
        )
    out["label"] = labels
    return out.groupby(["version", "item_id"], as_index=False)["label"].mean()


def _label(value: Any) -> float | None:
    """A human label as a fraction (NaN when missing), or None when it is not one."""
    if value is None:
        return float("nan")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if x != x:  # NaN: no label
        return x
    return x if 0 <= x <= 1 else None


def _estimate(
    what: str, version: str, y: np.ndarray, yhat: np.ndarray, yhat_unl: np.ndarray,
    alpha: float, min_corr: float, notes: list[str],
) -> PPIRow:  # fmt: skip
    if yhat_unl.size == 0:
        # Every item has a human label: the judge has nothing to add, the estimate is the human
        # mean. With λ = 0 the judge-only items do not enter the estimate or its SE, so the
        # labelled items' judge labels stand in for them (ppi_mean needs at least one).
        r = replace(stats.ppi_mean(y, yhat, yhat, alpha=alpha, lam=0.0), n_unlabeled=0)
        notes.append(
            f"{what} of {version}: every item has a human label, so the judge adds nothing; "
            "using the human labels only"
        )
        return _row(what, version, r, yhat, yhat_unl, "human labels only")
    r = stats.ppi_mean(y, yhat, yhat_unl, alpha=alpha)
    method = "PPI++"
    if not (r.correlation >= min_corr):  # NaN (constant labels) falls back too
        r = stats.ppi_mean(y, yhat, yhat_unl, alpha=alpha, lam=0.0)
        method = "human labels only"
        if r.correlation == r.correlation:
            why = (
                f"judge–human correlation {num(r.correlation)} < {min_corr:g} on the labelled "
                "items, too weak for the judge to help"
            )
        else:
            who = "human" if np.ptp(y) == 0 else "judge"
            why = (
                f"judge–human correlation undefined: the {who} labels of the {y.size} labelled "
                "items are all the same"
            )
        msg = f"{what} of {version}: {why}; using the human labels only"
        notes.append(msg)
        warnings.warn(msg, stacklevel=4)
    return _row(what, version, r, yhat, yhat_unl, method)


def _row(
    what: str, version: str, r: stats.PPIMean, yhat: np.ndarray, yhat_unl: np.ndarray, method: str
) -> PPIRow:
    """The row of one estimate ``r``; ``judge_only`` is the judge's mean over every item."""
    judge_only = float(np.concatenate([yhat, yhat_unl]).mean())
    # Normal CIs run past what a pass rate (or a difference of two) can be: 117 % from 4 labels.
    low = 0.0 if what == "pass rate" else -1.0

    def clip(ci: tuple[float, float]) -> tuple[float, float]:
        return (max(low, float(ci[0])), min(1.0, float(ci[1])))

    return PPIRow(
        what, version, r.estimate, clip(r.ci), r.classical, clip(r.classical_ci), judge_only,
        r.lam, r.correlation, r.n_labeled, r.n_unlabeled, r.effective_n, method,
    )  # fmt: skip


def ppi_compare(
    run: OfflineRun,
    human_labels: Any,
    *,
    metric: str | None = None,
    baseline: str | None = None,
    alpha: float = 0.05,
    min_corr: float = 0.3,
) -> PPIComparison:
    """PPI++ pass rate of each version and difference from the baseline.

    Parameters
    ----------
    run
        An offline run whose ``metric`` scorer is the judge (pass/fail or a score in [0, 1];
        repeats are averaged per item).
    human_labels
        pandas/polars frame with ``item_id``, ``version`` (a label such as ``"qa@v2"``) and
        ``label`` (1 / True = pass) for a subset of items; several labels of one cell are
        averaged.
    metric
        The judge scorer (default the run's first).
    alpha
        Two-sided level of the normal CIs.
    min_corr
        Below this judge–human correlation the judge's best possible variance reduction is
        under ``min_corr²`` (9 % at 0.3) while tuning λ adds noise: fall back to human labels.

    Returns
    -------
    PPIComparison
        H1 of each difference: the versions' human-judged pass rates differ.

    Raises
    ------
    DataError
        Missing columns, or fewer than 2 human-labelled items for a version. A difference
        with fewer than 2 items labelled in both versions is left out with a note.
    """
    metric = metric or (run.scorers[0] if run.scorers else None)
    if metric not in run.scorers:
        raise InvalidArgumentError(f"metric {metric!r} is not a scorer of run {run.run_id}")
    base = run._label(baseline) if baseline is not None else run.labels[0]
    human = _human_frame(human_labels)
    unknown = set(human["version"]) - set(run.labels)
    if unknown:
        raise DataError(
            f"human_labels names version {sorted(unknown)[0]!r}; this run has "
            f"{', '.join(run.labels)}"
        )
    judge = run._ws.sql(
        "SELECT version, item_id, avg(value) AS judge FROM offline_scores "
        "WHERE run_id = $run AND scorer = $scorer AND value IS NOT NULL GROUP BY ALL",
        {"run": run.run_id, "scorer": metric},
    )
    judge["item_id"] = judge["item_id"].astype(str)
    # Every item of the run, so items the judge scored in no version are counted as left out.
    cells = cell_reasons(run, metric, None, "0")
    items = sorted({str(i) for i in cells["item_id"]} | set(judge["item_id"]))
    # A label on an item the run does not have would be dropped: it is an id mistake, say so.
    unknown_items = sorted(set(human["item_id"]) - set(items))
    if unknown_items:
        raise DataError(
            f"human_labels names {len(unknown_items)} items not in run {run.run_id}: "
            f"{', '.join(map(repr, unknown_items[:5]))}{' …' if len(unknown_items) > 5 else ''}"
            f"; its items are e.g. {', '.join(map(repr, items[:3]))}. Fix the ids, or drop "
            "those rows."
        )
    wide_j = judge.pivot(index="item_id", columns="version", values="judge").reindex(items)
    wide_h = human.pivot(index="item_id", columns="version", values="label").reindex(wide_j.index)
    wide_h = wide_h.dropna(axis=1, how="all")
    notes: list[str] = []
    for v in run.labels:
        if v in wide_h.columns:
            continue
        if v == base:
            notes.append(f"{v}: no human labels, so no PPI++ pass rate of the baseline and no "
                         "differences from it")  # fmt: skip
        else:
            notes.append(f"{v}: no human labels, so no PPI++ pass rate or difference from {base}")
    rows: list[PPIRow] = []

    def split(j: pd.Series, h: pd.Series, what: str, v: str) -> PPIRow:
        ok = j.notna()
        lab = ok & h.notna()
        if lab.sum() < 2:
            raise DataError(f"{what} of {v}: {int(lab.sum())} human-labelled items; need >= 2")
        unl = ok & h.isna()
        left = left_out(
            cells, base if what == "difference" else v, v,
            [(i, 0) for i in ok[ok].index], pairing="item",
        )  # fmt: skip
        why = left.describe()
        if why:
            unused = int((~ok & h.notna()).sum())
            extra = f" ({unused} human labels on them unused)" if unused else ""
            notes.append(f"{what} of {v}, judge {metric}: {why}{extra}")
        return _estimate(
            what, v, h[lab].to_numpy(float), j[lab].to_numpy(float), j[unl].to_numpy(float),
            alpha, min_corr, notes,
        )  # fmt: skip

    for v in run.labels:
        if v in wide_j.columns and v in wide_h.columns:
            rows.append(split(wide_j[v], wide_h[v], "pass rate", v))
    for v in run.labels:
        if v == base or not {v, base} <= set(wide_h.columns):
            continue
        both = int((wide_h[v].notna() & wide_h[base].notna()).sum())
        if both < 2:
            # Paired differences need labels of both versions on the same items; the pass
            # rates above stand without them.
            notes.append(
                f"difference of {v}: {both} items labelled in both {base} and {v} (2 needed), "
                "so no PPI++ difference; label the same items in both versions"
            )
            continue
        rows.append(split(wide_j[v] - wide_j[base], wide_h[v] - wide_h[base], "difference", v))
    if not rows:
        raise DataError("human_labels matches no version of this run")
    return PPIComparison(metric, base, alpha, tuple(rows), tuple(notes))
