"""How far an LLM judge can be trusted: its agreement with human labels on the same items.

``judge_agreement(judge, human)`` gives Cohen's κ (judge vs the human label, with both base
rates, since κ depends on them), Krippendorff's α over every rater (judge and people, missing
labels allowed), the confusion matrix, and for pass/fail labels the judge's sensitivity
(passes the people pass) and specificity (fails the people fail) with Wilson CIs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import stats
from .._format import level_pct, num
from .._render import Note, Rendered, Table
from ..errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JudgeAgreement", "judge_agreement"]


@dataclass(frozen=True, repr=False)
class JudgeAgreement(Rendered):
    """Agreement of a judge with human labels (from :func:`judge_agreement`).

    ``confusion`` has the judge's labels as rows and the human (consensus) labels as columns.
    ``sensitivity`` / ``specificity`` (and their CIs) are None unless the labels are pass/fail.
    ``n_dropped`` items are not in κ and the confusion matrix (``n`` are); ``dropped`` counts
    them by reason: ``("no human label", 3)``, ``("no judge label", 1)``,
    ``("human raters tied", 2)``.
    """

    n: int
    categories: tuple[Any, ...]
    kappa: stats.Kappa
    alpha_krippendorff: float
    n_raters: int
    judge_rates: dict[Any, float]
    human_rates: dict[Any, float]
    sensitivity: float | None
    sensitivity_ci: tuple[float, float] | None
    specificity: float | None
    specificity_ci: tuple[float, float] | None
    level: float
    confusion: pd.DataFrame = field(repr=False)
    n_dropped: int = 0
    dropped: tuple[tuple[str, int], ...] = ()

    def _records(self) -> list[dict[str, Any]]:
        return [
            {"measure": m, "value": v, "ci_low": lo, "ci_high": hi}
            for m, v, (lo, hi) in self._measures()
        ]

    def _measures(self) -> list[tuple[str, float | None, tuple[float | None, float | None]]]:
        k = self.kappa
        out: list[tuple[str, float | None, tuple[float | None, float | None]]] = [
            ("observed agreement", k.observed, (None, None)),
            ("chance agreement", k.expected, (None, None)),
            ("Cohen's kappa", k.kappa, (None, None) if k.note else k.ci),
            (f"Krippendorff's alpha ({self.n_raters} raters)", self.alpha_krippendorff,
             (None, None)),
        ]  # fmt: skip
        if self.sensitivity is not None and self.sensitivity_ci is not None:
            out.append(("sensitivity (judge passes | people pass)", self.sensitivity,
                        self.sensitivity_ci))  # fmt: skip
        if self.specificity is not None and self.specificity_ci is not None:
            out.append(("specificity (judge fails | people fail)", self.specificity,
                        self.specificity_ci))  # fmt: skip
        return out

    def _table(self) -> Table:
        def cell(x: float | None, kappa_like: bool) -> str:
            return num(x) if kappa_like else num(x, "%")

        rows = []
        for m, v, (lo, hi) in self._measures():
            like = "kappa" in m or "alpha" in m
            ci = "–" if lo is None else f"[{cell(lo, like)}, {cell(hi, like)}]"
            rows.append([m, cell(v, like), ci])
        rates = ", ".join(
            f"{c}: judge {num(self.judge_rates.get(c, 0.0), '%')} vs people "
            f"{num(self.human_rates.get(c, 0.0), '%')}"
            for c in self.categories
        )
        conf = self.confusion
        lines = [
            f"judge {r} → " + ", ".join(f"people {c}: {int(conf.loc[r, c])}" for c in conf.columns)
            for r in conf.index
        ]
        k = self.kappa.kappa
        verdict = (
            "almost perfect" if k > 0.8 else "substantial" if k > 0.6 else "moderate" if k > 0.4
            else "fair" if k > 0.2 else "slight or none"
        )  # fmt: skip
        return Table(
            ["measure", "value", f"{level_pct(self.level)} CI"],
            rows,
            caption=f"Judge vs human labels on {self.n} items",
            before=[
                Note(
                    (f"Agreement beyond chance is {verdict} (κ = {num(k)}).",),
                    css="verdict neutral",
                )
            ],  # fmt: skip
            after=[
                *([Note((f"Cohen's kappa: {self.kappa.note}",))] if self.kappa.note else []),
                *self._dropped_notes(),
                Note((f"base rates — {rates}",)),
                Note(tuple(lines), title="confusion"),
            ],
            left=1,
        )

    def _dropped_notes(self) -> list[Note]:
        if not self.n_dropped:
            return []
        counts = ", ".join(f"{n} {why}" for why, n in self.dropped)
        total = self.n + self.n_dropped
        return [Note((f"{self.n_dropped} of {total} items left out of κ: {counts}",))]


def _series(x: Any, name: str) -> pd.Series:
    import pandas as pd

    if hasattr(x, "to_pandas") and not isinstance(x, pd.Series | pd.DataFrame):
        x = x.to_pandas()
    if isinstance(x, pd.Series | pd.DataFrame):
        return x
    return pd.Series(list(x), name=name)


def _norm(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def judge_agreement(judge: Any, human: Any, *, alpha: float = 0.05) -> JudgeAgreement:
    """Agreement of judge labels with human labels on the same items.

    Parameters
    ----------
    judge
        The judge's label per item (list, array or pandas Series; True/False or categories).
    human
        The human label per item (same form), or a frame with one column per human rater
        (missing labels as NaN/None). Series and frames are aligned with ``judge`` by index.
    alpha
        The CIs have level ``1 − alpha``.

    Returns
    -------
    JudgeAgreement
        κ is computed against the human label (with several raters, the majority label; items
        with a tie are left out of κ and the confusion matrix, not of α). For pass/fail labels
        the positive class is pass (True / 1). Items left out of κ (no judge label, no human
        label, tied raters) are counted in ``n_dropped`` / ``dropped``.

    Raises
    ------
    DataError
        Labels given by position (lists, arrays) of different lengths, fewer than 2 items
        labelled by both, or a single category.

    Examples
    --------
    >>> a = judge_agreement([1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 0, 1])
    >>> round(a.kappa.kappa, 3), a.sensitivity
    (0.333, 0.6666666666666666)
    """
    import pandas as pd

    # Labels given by position (lists, arrays, polars) pair by position, so their lengths must
    # match; pandas Series and frames pair by index.
    by_index = isinstance(judge, pd.Series) and isinstance(human, pd.Series | pd.DataFrame)
    j = _series(judge, "judge")
    h = _series(human, "human")
    hf = h.to_frame() if isinstance(h, pd.Series) else h
    if isinstance(j, pd.DataFrame):
        raise DataError("judge is a frame; pass one label per item")
    if len(j) != len(hf) and not (by_index and j.index.isin(hf.index).any()):
        raise DataError(
            f"judge has {len(j)} labels but human has {len(hf)}; pair them by item (equal "
            "lengths, or pandas Series/frames with the item as index)"
        )
    if not by_index:
        hf = hf.set_axis(j.index)
    # People's labels on items the judge did not label are left out: count them.
    extra = hf.loc[~hf.index.isin(j.index)]
    no_judge_extra = int(extra.notna().any(axis=1).sum())
    hf = hf.reindex(j.index)
    raters = [
        [None if pd.isna(v) else _norm(v) for v in col]
        for col in [j.tolist(), *(hf[c].tolist() for c in hf.columns)]
    ]

    def consensus(row: list[Any]) -> Any:
        got = Counter(v for v in row if v is not None)
        if not got:
            return None
        top = got.most_common(2)
        return None if len(top) > 1 and top[0][1] == top[1][1] else top[0][0]

    people = [consensus(list(vals)) for vals in zip(*raters[1:], strict=True)]
    pairs = [
        (a, b) for a, b in zip(raters[0], people, strict=True) if a is not None and b is not None
    ]
    left: Counter[str] = Counter()
    for a, vals, b in zip(raters[0], zip(*raters[1:], strict=True), people, strict=True):
        if a is None:
            left["no judge label"] += 1
        elif b is None:
            left["human raters tied" if any(v is not None for v in vals) else "no human label"] += 1
    if no_judge_extra:
        left["no judge label"] += no_judge_extra
    if len(pairs) < 2:
        raise DataError(f"{len(pairs)} items have both a judge and a human label; need >= 2")
    ja, ha = [a for a, _ in pairs], [b for _, b in pairs]
    if not set(ja) & set(ha):
        # True/False against "pass"/"fail": categories that never match give κ = 0 silently.
        def shown(labels: list[Any]) -> str:
            return ", ".join(repr(v) for v in sorted(set(labels), key=str))

        raise DataError(
            f"judge and human labels share no category (judge: {shown(ja)}; people: "
            f"{shown(ha)}); map them to the same labels, e.g. 1/0 for pass/fail"
        )
    cats, table = stats.agreement.confusion(ja, ha)
    if len(cats) < 2:
        raise DataError("every label is the same category: agreement is undefined")
    kappa = stats.cohens_kappa(ja, ha, alpha=alpha, names=("the judge", "people"))
    codes = {c: i for i, c in enumerate(cats)}
    extra = sorted({v for r in raters for v in r if v is not None} - set(cats), key=str)
    for c in extra:
        codes[c] = len(codes)
    matrix = np.array([[np.nan if v is None else codes[v] for v in r] for r in raters], dtype=float)
    alpha_k = stats.krippendorff_alpha(matrix)
    sens = spec = None
    sens_ci = spec_ci = None
    if set(cats) <= {0, 1}:
        tp, fn = table[1, 1], table[0, 1]
        tn, fp = table[0, 0], table[1, 0]
        if tp + fn:
            sens = float(tp / (tp + fn))
            sens_ci = stats.proportion_ci(int(tp), int(tp + fn), alpha=alpha)
        if tn + fp:
            spec = float(tn / (tn + fp))
            spec_ci = stats.proportion_ci(int(tn), int(tn + fp), alpha=alpha)
    n = len(pairs)
    conf = pd.DataFrame(table.astype(int), index=list(cats), columns=list(cats))
    conf.index.name, conf.columns.name = "judge", "human"
    return JudgeAgreement(
        n=n, categories=tuple(cats), kappa=kappa, alpha_krippendorff=alpha_k,
        n_raters=len(raters), judge_rates={c: float(table[i].sum() / n) for i, c in enumerate(cats)},
        human_rates={c: float(table[:, i].sum() / n) for i, c in enumerate(cats)},
        sensitivity=sens, sensitivity_ci=sens_ci, specificity=spec, specificity_ci=spec_ci,
        level=1 - alpha, confusion=conf, n_dropped=sum(left.values()),
        dropped=tuple(left.most_common()),
    )  # fmt: skip
