"""Paired comparison of prompt versions from an offline run, and the bridge to a live test.

Items are the unit of analysis: both versions answered the same items, so every test is paired.
By default repeats are averaged per item first (in DuckDB), giving one value per (version,
item); ``pairing="repeat"`` pairs (item, repeat) cells instead, which treats repeats of one item
as independent and so overstates the evidence when items differ in difficulty.

Test choice (documented choice for pass/fail scorers):

* pass/fail with one outcome per pair (``repeats=1``, or ``pairing="repeat"``): **exact
  McNemar** on the discordant pairs; the difference is the change in pass rate.
* pass/fail with repeats averaged: each item's **pass fraction** is a score in [0, 1] and the
  **paired t** test compares them (majority voting would throw away the repeats' information);
  Wilcoxon signed-rank is reported alongside.
* scores, cost (USD), latency (s) and output tokens: **paired t** (Wilcoxon alongside);
  ``bootstrap=True`` makes the paired bootstrap the primary test.

The A/A noise floor compares repeat 0 with repeat 1 of the *baseline*: the share of items whose
pass/fail outcome flips, and the paired-t CI of repeat 1 − repeat 0. The MDE is the smallest
paired difference detectable with ``power`` at this number of items (from
:func:`promptab_nb.stats.mde`, with the SD of the per-item differences).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.stats

from .. import _html, stats
from .._checks import check, one_of
from .._format import num, pval
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

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

Pairing = Literal["item", "repeat"]
Verdict = Literal["better", "worse", "inconclusive"]

# Built-in run metrics: column in offline_results, unit, higher is better.
_RUN_METRICS: dict[str, tuple[str, str, bool]] = {
    "cost_usd": ("cost_usd", "USD", False),
    "latency_s": ("latency_s", "s", False),
    "output_tokens": ("output_tokens", "tokens", False),
}
_ALIASES = {"cost": "cost_usd", "latency": "latency_s", "tokens": "output_tokens"}

_SCORE_VALUES = """
    SELECT version, item_id, {key} AS k, avg(value) AS value, bool_and(passed IS NOT NULL) AS binary
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


@dataclass(frozen=True)
class MetricComparison:
    """One metric, one version against the baseline, paired by item (or by item and repeat).

    ``diff`` is version − baseline in ``unit`` (a fraction for pass rates and scores);
    ``p_value`` tests no difference, two-sided, by ``method``. ``improved`` / ``regressed`` /
    ``unchanged`` count pairs by direction (lower cost or latency counts as improved).
    ``aa_flip_rate`` and ``aa_ci`` are the baseline's repeat-0-vs-repeat-1 noise floor;
    ``mde`` is the smallest difference this many pairs detects with the stated power.
    """

    metric: str
    version: str
    baseline: str
    unit: str
    binary: bool
    higher_is_better: bool
    n_pairs: int
    n_dropped: int
    baseline_mean: float
    baseline_ci: tuple[float, float]
    mean: float
    ci: tuple[float, float]
    diff: float
    diff_ci: tuple[float, float]
    p_value: float
    method: str
    p_wilcoxon: float | None
    improved: int
    regressed: int
    unchanged: int
    aa_flip_rate: float | None
    aa_ci: tuple[float, float] | None
    mde: float | None
    verdict: Verdict
    note: str | None = None

    def _fmt(self, value: float | None, *, diff: bool = False) -> str:
        if self.unit == "fraction":
            return num(value, "pp" if diff else "%", signed=diff)
        return num(value, self.unit, signed=diff)

    def __repr__(self) -> str:
        lo, hi = (self._fmt(x, diff=True) for x in self.diff_ci)
        return (
            f"{self.metric}: {self.version} − {self.baseline} = {self._fmt(self.diff, diff=True)} "
            f"[{lo}, {hi}], {pval(self.p_value)} ({self.method}) → {self.verdict}"
        )


def _mean_ci(values: np.ndarray, binary_single: bool, alpha: float) -> tuple[float, float, float]:
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(values.mean())
    if binary_single:
        ci = scipy.stats.binomtest(int(values.sum()), n).proportion_ci(1 - alpha, method="wilson")
        return m, float(ci.low), float(ci.high)
    if n < 2:
        return m, math.nan, math.nan
    half = float(scipy.stats.t.ppf(1 - alpha / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return m, m - half, m + half


def _paired_mde(d: np.ndarray, alpha: float, power: float) -> float | None:
    # stats.mde is the two-sample Welch design; n_total = 2·pairs and sd = sd_d/√2 give the
    # paired design's noncentrality (df 2n − 2 instead of n − 1: negligible beyond ~30 items).
    # The MDE scales with the SD, so solve at SD 1 and rescale: the solver's search starts at
    # an effect of 1, which for tiny SDs (USD per call) probes the noncentral t where it fails.
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    if d.size < 3 or sd == 0:
        return None
    unit = stats.mde(n_total=2 * d.size, sd=1 / math.sqrt(2), kind="mean", alpha=alpha, power=power)
    return sd * unit


def _frame(run: OfflineRun, metric: str, pairing: Pairing) -> pd.DataFrame:
    key = "repeat_idx" if pairing == "repeat" else "0"
    if metric in _RUN_METRICS:
        col = _RUN_METRICS[metric][0]  # from the allow-list above, never user text
        query = _RESULT_VALUES.format(key=key, col=col)
        return run._ws.sql(query, {"run": run.run_id})
    return run._ws.sql(_SCORE_VALUES.format(key=key), {"run": run.run_id, "scorer": metric})


def _aa(
    run: OfflineRun, metric: str, baseline: str, binary: bool, alpha: float
) -> tuple[float | None, tuple[float, float] | None]:
    if run.repeats < 2:
        return None, None
    if metric in _RUN_METRICS:
        query = _AA_RESULTS.format(col=_RUN_METRICS[metric][0])
        frame = run._ws.sql(query, {"run": run.run_id, "version": baseline})
    else:
        frame = run._ws.sql(_AA_SCORES, {"run": run.run_id, "scorer": metric, "version": baseline})
    wide = frame.pivot(index="item_id", columns="repeat_idx", values="value").dropna()
    if 0 not in wide.columns or 1 not in wide.columns or len(wide) < 2:
        return None, None
    r0, r1 = wide[0].to_numpy(float), wide[1].to_numpy(float)
    flip = float(np.mean(r0 != r1)) if binary else None
    if np.all(r0 == r1):
        return flip, (0.0, 0.0)
    t = stats.paired_t(r0, r1, alpha=alpha)
    return flip, t.ci


def _verdict(diff: float, p: float, alpha: float, higher_is_better: bool) -> Verdict:
    if not p < alpha or diff == 0:
        return "inconclusive"
    good = diff > 0 if higher_is_better else diff < 0
    return "better" if good else "worse"


def _one(
    run: OfflineRun,
    frame: pd.DataFrame,
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
    aa: tuple[float | None, tuple[float, float] | None],
) -> MetricComparison | None:
    unit, hib = (
        (_RUN_METRICS[metric][1], _RUN_METRICS[metric][2]) if metric in _RUN_METRICS
        else ("fraction", True)
    )  # fmt: skip
    sub = frame[frame["version"].isin([baseline, version])]
    if sub.empty:
        return None
    binary = bool(sub["binary"].all())
    wide = sub.pivot(index=["item_id", "k"], columns="version", values="value")
    for col in (baseline, version):
        if col not in wide.columns:
            wide[col] = np.nan
    complete = wide.dropna()
    dropped = len(wide) - len(complete)
    x, y = complete[baseline].to_numpy(float), complete[version].to_numpy(float)
    n = x.size
    if n < 2:
        return None
    # One pass/fail outcome per pair → McNemar; pass fractions of several repeats → paired t.
    single = binary and (pairing == "repeat" or run.repeats == 1)
    bm, blo, bhi = _mean_ci(x, single, alpha)
    vm, vlo, vhi = _mean_ci(y, single, alpha)
    d = y - x
    up, down = int((d > 1e-12).sum()), int((d < -1e-12).sum())
    improved, regressed = (up, down) if hib else (down, up)
    unchanged = n - up - down
    if single:
        test = stats.mcnemar(down, up, n=n, alpha=alpha)
    elif bootstrap:
        test = stats.paired_bootstrap(x, y, n_boot=n_boot, seed=seed, alpha=alpha)
    else:
        test = stats.paired_t(x, y, alpha=alpha)
    p_w = None if single else stats.wilcoxon(x, y, alpha=alpha).p_value
    diff = float(d.mean())
    notes = [test.note] if test.note else []
    if dropped:
        notes.append(f"{dropped} items without a value in both versions (errors) left out")
    return MetricComparison(
        metric=metric, version=version, baseline=baseline, unit=unit, binary=binary,
        higher_is_better=hib, n_pairs=n, n_dropped=dropped, baseline_mean=bm,
        baseline_ci=(blo, bhi), mean=vm, ci=(vlo, vhi), diff=diff,
        diff_ci=(float(test.ci_low), float(test.ci_high)), p_value=float(test.p_value),
        method=test.method, p_wilcoxon=p_w, improved=improved, regressed=regressed,
        unchanged=unchanged, aa_flip_rate=aa[0], aa_ci=aa[1],
        mde=_paired_mde(d, alpha, power), verdict=_verdict(diff, test.p_value, alpha, hib),
        note="; ".join(notes) or None,
    )  # fmt: skip


@dataclass(frozen=True)
class OfflineComparison:
    """Paired comparison of each version with the baseline, per scorer and per cost, latency and
    output tokens (from :func:`compare`).

    ``verdict`` is decided by the primary metric (the first scorer, else cost): ``"better"``
    or ``"worse"`` when its paired test is significant at ``alpha``, else ``"inconclusive"``.
    """

    run_id: str
    baseline: str
    versions: tuple[str, ...]
    primary: str
    pairing: Pairing
    alpha: float
    power: float
    repeats: int
    n_items: int
    rows: tuple[MetricComparison, ...]
    seed: int | None = None
    notes: tuple[str, ...] = field(default=())

    def row(self, metric: str, version: str | None = None) -> MetricComparison:
        """The comparison of ``metric`` for ``version`` (the only other version by default)."""
        metric = _ALIASES.get(metric, metric)
        version = version or self.versions[0]
        for r in self.rows:
            if r.metric == metric and r.version == version:
                return r
        raise InvalidArgumentError(
            f"no comparison of metric {metric!r} for version {version!r}; metrics: "
            f"{', '.join(dict.fromkeys(r.metric for r in self.rows))}; versions: "
            f"{', '.join(self.versions)}"
        )

    @property
    def verdicts(self) -> dict[str, Verdict]:
        """Verdict of each version on the primary metric."""
        out: dict[str, Verdict] = {}
        for v in self.versions:
            try:
                out[v] = self.row(self.primary, v).verdict
            except InvalidArgumentError:
                out[v] = "inconclusive"
        return out

    @property
    def verdict(self) -> str:
        """``better`` / ``worse`` / ``inconclusive`` (``"v: verdict; …"`` with several versions)."""
        verdicts = self.verdicts
        if len(verdicts) == 1:
            return next(iter(verdicts.values()))
        return "; ".join(f"{v}: {x}" for v, x in verdicts.items())

    def headline(self) -> str:
        """One sentence per version on the primary metric, with the noise floor."""
        lines = []
        for v in self.versions:
            try:
                r = self.row(self.primary, v)
            except InvalidArgumentError:
                lines.append(f"{v}: no paired values for {self.primary}")
                continue
            lo, hi = (r._fmt(x, diff=True) for x in r.diff_ci)
            text = (
                f"{v} vs {self.baseline} on {r.metric}: {r.verdict} — "
                f"{r._fmt(r.diff, diff=True)} [{lo}, {hi}] ({1 - self.alpha:.0%} CI), "
                f"{pval(r.p_value)}, {r.improved} items improved, {r.regressed} regressed"
            )
            if r.aa_flip_rate is not None:
                text += f"; repeats of the baseline flip on {num(r.aa_flip_rate, '%')} of items"
            if r.mde is not None:
                text += f"; MDE at {r.n_pairs} items {r._fmt(r.mde, diff=True).lstrip('+')}"
            lines.append(text)
        return "\n".join(lines)

    def to_pandas(self) -> pd.DataFrame:
        """One row per (metric, version) with every field; CIs split into ``_low``/``_high``."""
        import pandas as pd

        recs = []
        for r in self.rows:
            rec = asdict(r)
            for key in ("baseline_ci", "ci", "diff_ci", "aa_ci"):
                pair = rec.pop(key) or (None, None)
                rec[f"{key}_low"], rec[f"{key}_high"] = pair
            recs.append(rec)
        return pd.DataFrame(recs)

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_pandas(self.to_pandas())

    def _table(self) -> tuple[list[str], list[list[str]]]:
        lvl = f"{1 - self.alpha:.0%}"
        header = ["metric", "version", f"baseline [{lvl} CI]", f"version [{lvl} CI]",
                  f"diff [{lvl} CI]", "p", "test", "improved / regressed / same",
                  "A/A flips", "A/A diff CI", f"MDE ({self.power:.0%} power)", "verdict"]  # fmt: skip
        rows = []
        for r in self.rows:

            def ci(pair: tuple[float, float] | None, diff: bool, r: MetricComparison = r) -> str:
                if pair is None:
                    return "–"
                return f"[{r._fmt(pair[0], diff=diff)}, {r._fmt(pair[1], diff=diff)}]"

            rows.append([
                r.metric, r.version,
                f"{r._fmt(r.baseline_mean)} {ci(r.baseline_ci, False)}",
                f"{r._fmt(r.mean)} {ci(r.ci, False)}",
                f"{r._fmt(r.diff, diff=True)} {ci(r.diff_ci, True)}",
                pval(r.p_value), r.method, f"{r.improved} / {r.regressed} / {r.unchanged}",
                "–" if r.aa_flip_rate is None else num(r.aa_flip_rate, "%"),
                ci(r.aa_ci, True),
                "–" if r.mde is None else r._fmt(r.mde, diff=True).lstrip("+"),
                r.verdict,
            ])  # fmt: skip
        return header, rows

    def __repr__(self) -> str:
        header, rows = self._table()
        keep = [0, 1, 4, 5, 7, 8, 10, 11]
        table = [[row[i] for i in keep] for row in [header, *rows]]
        widths = [max(len(r[i]) for r in table) for i in range(len(keep))]
        body = "\n".join(
            "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table
        )
        how = "repeats averaged per item" if self.pairing == "item" else "paired by item and repeat"
        return (
            f"OfflineComparison vs {self.baseline} ({self.n_items} items, {how}):\n"
            f"{self.headline()}\n{body}" + "".join(f"\nnote: {n}" for n in self.notes)
        )

    def _repr_html_(self) -> str:
        header, rows = self._table()
        verdict_rows = [
            _html.el("p", line, class_=f"verdict {_css(v)}")
            for line, v in zip(self.headline().splitlines(), self.verdicts.values(), strict=False)
        ]
        how = "repeats averaged per item" if self.pairing == "item" else "paired by item and repeat"
        caption = f"Paired comparison vs {self.baseline}: {self.n_items} items, {how}"
        return str(
            _html.el(
                "div",
                _html.el("style", _html.Markup(_html.STYLE)),
                *verdict_rows,
                _html.table(header, rows, caption=caption),
                *[_html.el("p", n, class_="note") for n in self.notes],
                class_="pab",
            )
        )

    def plot(self, *, figsize: tuple[float, float] | None = None) -> Figure:
        """Paired differences (version − baseline) with CIs per metric, the baseline's A/A CI as
        a grey band and ±MDE as dotted lines (:func:`promptab_nb.plots.offline_comparison`).
        Returns a new Figure; nothing is shown."""
        from ..plots import offline_comparison

        return offline_comparison(self, figsize=figsize)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _css(verdict: str) -> str:
    return {"better": "good", "worse": "bad"}.get(verdict, "neutral")


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

    Returns
    -------
    OfflineComparison
        Per (metric, version): means with CIs, the paired difference with CI and p-value
        (H1: the versions differ), improved / regressed / unchanged counts, the A/A noise floor,
        the MDE and a verdict.

    Raises
    ------
    InvalidArgumentError
        Fewer than two versions, an unknown baseline or metric, or a bad option.
    """
    one_of(pairing, "pairing", ("item", "repeat"))
    check(alpha, "alpha", gt=0, lt=1)
    check(power, "power", gt=0, lt=1)
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
        chosen = [_ALIASES.get(m, m) for m in metrics]
        for m in chosen:
            if m not in known:
                raise InvalidArgumentError(
                    f"unknown metric {m!r}; this run has: {', '.join(known)}"
                )
    rows: list[MetricComparison] = []
    notes: list[str] = []
    for metric in chosen:
        frame = _frame(run, metric, pairing)
        if frame.empty:
            notes.append(f"{metric}: no values (every cell failed or was not applicable)")
            continue
        binary = bool(frame["binary"].all())
        aa = _aa(run, metric, base, binary, alpha)
        for v in others:
            r = _one(
                run, frame, metric, base, v, pairing=pairing, alpha=alpha, power=power,
                bootstrap=bootstrap, n_boot=n_boot, seed=seed, aa=aa,
            )  # fmt: skip
            if r is None:
                notes.append(f"{metric}: fewer than 2 items with values for {base} and {v}")
            else:
                rows.append(r)
    if run.repeats < 2:
        notes.append("repeats=1: no A/A noise floor; run with repeats >= 2 to measure it")
    if run.n_errors:
        notes.append(f"{run.n_errors} cells failed; see run.errors()")
    primary = run.scorers[0] if run.scorers else "cost_usd"
    if metrics is not None and primary not in chosen:
        primary = chosen[0]
    return OfflineComparison(
        run_id=run.run_id, baseline=base, versions=others, primary=primary, pairing=pairing,
        alpha=alpha, power=power, repeats=run.repeats, n_items=run.n_items, rows=tuple(rows),
        seed=seed if bootstrap else None, notes=tuple(notes),
    )  # fmt: skip


_OUTPUTS = """
    SELECT version, item_id, coalesce(output, '[error] ' || error) AS output
    FROM offline_results
    WHERE run_id = $run AND repeat_idx = $repeat
"""

_ITEM_SCORES = """
    SELECT version, item_id, scorer, avg(value) AS value
    FROM offline_scores
    WHERE run_id = $run
    GROUP BY ALL
"""


def side_by_side(run: OfflineRun, *, repeat: int = 0, changed: bool = False) -> pd.DataFrame:
    """One row per item: id, inputs, expected answer, then per version its output (of
    ``repeat``) and each score averaged over repeats.

    Parameters
    ----------
    repeat
        Which repeat's output to show.
    changed
        Keep only items whose first scorer differs between versions.
    """
    check(repeat, "repeat", ge=0, lt=run.repeats, integer=True)
    base = run.dataset.to_pandas()
    meta = {k for i in run.dataset for k in i.metadata}
    base = base[[c for c in base.columns if c not in meta]]
    outputs = run._ws.sql(_OUTPUTS, {"run": run.run_id, "repeat": int(repeat)})
    scores = run._ws.sql(_ITEM_SCORES, {"run": run.run_id})
    out = base.set_index("item_id")
    for label in run.labels:
        o = outputs[outputs["version"] == label].set_index("item_id")["output"]
        out[f"{label} output"] = out.index.map(o)
        for scorer in run.scorers:
            s = scores[(scores["version"] == label) & (scores["scorer"] == scorer)]
            out[f"{label} {scorer}"] = out.index.map(s.set_index("item_id")["value"])
    if changed and run.scorers:
        cols = [f"{label} {run.scorers[0]}" for label in run.labels]
        out = out[out[cols].nunique(axis=1, dropna=False) > 1]
    return out.reset_index()


@dataclass(frozen=True)
class LivePlan:
    """What a live A/B test needs to detect the offline effect (from :func:`plan_live`).

    ``plan`` uses the full offline effect; ``shrunk`` uses ``shrink`` × that effect, because
    offline effects often shrink live (real traffic differs from the dataset, users adapt).
    """

    metric: str
    version: str
    baseline: str
    baseline_value: float
    offline_effect: float
    unit: str
    daily_users: float
    split: float
    plan: stats.Plan
    shrink: float
    shrunk: stats.Plan | None
    note: str

    def _fmt(self, value: float, diff: bool = False) -> str:
        if self.unit == "fraction":
            return num(value, "pp" if diff else "%", signed=diff)
        return num(value, self.unit, signed=diff)

    def __repr__(self) -> str:
        text = (
            f"LivePlan for {self.metric} ({self.version} vs {self.baseline}): offline effect "
            f"{self._fmt(self.offline_effect, True)} on {self._fmt(self.baseline_value)} → "
            f"{self.plan.n_control:,} users per arm ({self.plan.n_total:,} in total), "
            f"{_days(self.plan.days)} at {self.daily_users:,.0f} users/day, {self.split:g} % to "
            f"{self.version}"
        )
        if self.shrunk is not None:
            text += (
                f"; if it shrinks to {self.shrink:.0%} live: {self.shrunk.n_total:,} users, "
                f"{_days(self.shrunk.days)}"
            )
        return text + f". {self.note}"

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        rows = [("offline effect", self.plan)]
        if self.shrunk is not None:
            rows.append((f"{self.shrink:.0%} of it", self.shrunk))
        return pd.DataFrame(
            [
                {
                    "scenario": s,
                    "effect": p.mde,
                    "n_control": p.n_control,
                    "n_treatment": p.n_treatment,
                    "n_total": p.n_total,
                    "days": p.days,
                }
                for s, p in rows
            ]  # fmt: skip
        )

    def _repr_html_(self) -> str:
        rows = [["offline effect", self._fmt(self.plan.mde, True), f"{self.plan.n_control:,}",
                 f"{self.plan.n_treatment:,}", f"{self.plan.days}"]]  # fmt: skip
        if self.shrunk is not None:
            rows.append([f"{self.shrink:.0%} of it", self._fmt(self.shrunk.mde, True),
                         f"{self.shrunk.n_control:,}", f"{self.shrunk.n_treatment:,}",
                         f"{self.shrunk.days}"])  # fmt: skip
        caption = (
            f"Live test for {self.metric}: {self.version} vs {self.baseline} "
            f"(baseline {self._fmt(self.baseline_value)}, {self.daily_users:,.0f} users/day, "
            f"{self.split:g} % to {self.version}, alpha {self.plan.alpha:g}, power "
            f"{self.plan.power:.0%})"
        )
        return str(
            _html.el(
                "div",
                _html.el("style", _html.Markup(_html.STYLE)),
                _html.table(
                    ["scenario", "effect", "users control", "users treatment", "days"],
                    rows,
                    caption=caption,
                ),
                _html.el("p", self.note, class_="note"),
                class_="pab",
            )  # fmt: skip
        )


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
    offline difference in pass rate); scores, cost and latency as a mean with the baseline's
    per-item SD. Uses :func:`promptab_nb.stats.plan` (two-sided, absolute effect).

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
        No offline difference to plan for, a pass rate of 0 or 1, or bad options.
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
    common = {"daily_units": daily_users, "relative": False, "split": split / 100,
              "alpha": alpha, "power": power}  # fmt: skip
    if r.binary:
        p0 = r.baseline_mean
        if not 0 < p0 < 1:
            raise InvalidArgumentError(
                f"baseline pass rate of {metric} is {p0:.0%} offline; a live plan needs 0 < p < 1"
            )

        def make(e: float) -> stats.Plan:
            return stats.plan(p0, mde=abs(e), kind="proportion", **common)
    else:
        frame = _frame(run, metric, "item")
        values = frame.loc[frame["version"] == base, "value"].to_numpy(float)
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        if sd == 0:
            raise InvalidArgumentError(f"{metric} does not vary across items; cannot plan")

        def make(e: float) -> stats.Plan:
            return stats.plan(r.baseline_mean, mde=abs(e), sd=sd, kind="mean", **common)

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
    )  # fmt: skip
