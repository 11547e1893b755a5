"""Result objects of :func:`promptab_nb.offline.compare.compare` and
:func:`~promptab_nb.offline.compare.plan_live`, rendered through :class:`promptab_nb._render.Rendered`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import stats
from .._format import level_pct, num, pval
from .._render import Note, Rendered, Table
from ..errors import InvalidArgumentError
from ..options import call_code
from ._paired import counts_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ._ppi import PPIComparison

__all__ = ["Interval", "LivePlan", "MetricComparison", "OfflineComparison", "Pairing", "Verdict"]

Pairing = Literal["item", "repeat"]
Interval = Literal["wilson", "clopper-pearson"]
Verdict = Literal["better", "worse", "inconclusive"]

_ALIASES = {"cost": "cost_usd", "latency": "latency_s", "tokens": "output_tokens"}


def _fmt(value: float | None, unit: str, *, diff: bool = False) -> str:
    """A value in ``unit``; pass rates and scores (``"fraction"``) as % and differences in pp."""
    if unit == "fraction":
        return num(value, "pp" if diff else "%", signed=diff)
    return num(value, unit, signed=diff)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _css(verdict: str) -> str:
    return {"better": "good", "worse": "bad"}.get(verdict, "neutral")


@dataclass(frozen=True)
class MetricComparison:
    """One metric, one version against the baseline, paired by item (or by item and repeat).

    ``diff`` is version − baseline in ``unit`` (a fraction for pass rates and scores);
    ``p_value`` tests no difference, two-sided, by ``method``. ``improved`` / ``regressed`` /
    ``unchanged`` count pairs by direction (lower cost or latency counts as improved).
    ``aa_flip_rate`` and ``aa_ci`` are the baseline's repeat-0-vs-repeat-1 noise floor;
    ``mde`` is the smallest difference this many pairs detects with the stated power.
    ``p_wilcoxon`` is the signed-rank test's (None for McNemar and clustered rows).
    With ``cluster=``: ``n_clusters`` and ``design_effect`` (clustered / independent-items
    variance). With repeats: ``var_between`` (ω²) and ``var_within`` (σ², one call's sampling
    noise) of the paired differences, in the unit squared.
    ``n_dropped`` units (items, or (item, repeat) pairs with ``pairing="repeat"``) had no value
    in one or both versions and are not in ``n_pairs``; ``dropped`` counts them by reason
    (``("model error in both versions", 2)``, ``("scorer error in v2 only", 1)``, …).
    ``aa_n_dropped`` items had no value in repeat 0 or 1 of the baseline and are not in its
    noise floor (``aa_dropped``: ``("model error in repeat 1 only", 1)``, …); ``var_n_dropped``
    items missed some repeat in one or both versions and are not in the variance split
    (``var_dropped``, worded like ``dropped``).
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
    n_clusters: int | None = None
    design_effect: float | None = None
    var_between: float | None = None
    var_within: float | None = None
    dropped: tuple[tuple[str, int], ...] = ()
    aa_n_dropped: int = 0
    aa_dropped: tuple[tuple[str, int], ...] = ()
    var_n_dropped: int = 0
    var_dropped: tuple[tuple[str, int], ...] = ()

    def _fmt(self, value: float | None, *, diff: bool = False) -> str:
        return _fmt(value, self.unit, diff=diff)

    def _ci(self, pair: tuple[float, float] | None, *, diff: bool) -> str:
        if pair is None:
            return "–"
        return f"[{self._fmt(pair[0], diff=diff)}, {self._fmt(pair[1], diff=diff)}]"

    def __repr__(self) -> str:
        return (
            f"{self.metric}: {self.version} − {self.baseline} = {self._fmt(self.diff, diff=True)} "
            f"{self._ci(self.diff_ci, diff=True)}, {pval(self.p_value)} ({self.method}) → "
            f"{self.verdict}"
        )


@dataclass(frozen=True, repr=False)
class OfflineComparison(Rendered):
    """Paired comparison of each version with the baseline, per scorer and per cost, latency and
    output tokens (from :func:`~promptab_nb.offline.compare.compare`).

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
    ppi: PPIComparison | None = None
    #: The arguments of ``run.compare`` that made it, other than their defaults (the baseline
    #: as its label; ``human_labels`` as ``True``: the frame itself is not kept).
    options: tuple[tuple[str, Any], ...] = ()

    def to_code(self, run: str = "run", *, human_labels: str | None = "human_labels") -> str:
        """The call that makes this comparison again from the run named ``run``, e.g.
        ``run.compare('t@v1', alpha=0.1)``. Human labels, when it had them, are passed as the
        variable named ``human_labels`` (the frame is not kept); ``None`` leaves them out (the
        rows are the same, ``ppi`` is then ``None``)."""
        args: list[str] = []
        for k, v in self.options:
            if k == "baseline":
                args.insert(0, repr(v))
            elif k != "human_labels":
                args.append(f"{k}={v!r}")
            elif human_labels is not None:
                args.append(f"human_labels={human_labels}")
        return call_code(f"{run}.compare", args)

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
            # The unit counted: items, or (item, repeat) pairs when repeats are paired.
            units = "items" if self.pairing == "item" else "(item, repeat) pairs"
            text = (
                f"{v} vs {self.baseline} on {r.metric}: {r.verdict} — "
                f"{r._fmt(r.diff, diff=True)} {r._ci(r.diff_ci, diff=True)} "
                f"({level_pct(1 - self.alpha)} CI), "
                f"{pval(r.p_value)}, {r.improved} {units} improved, {r.regressed} regressed"
            )
            if r.aa_flip_rate is not None:
                text += f"; repeats of the baseline flip on {num(r.aa_flip_rate, '%')} of items"
            if r.mde is not None:
                text += f"; MDE at {r.n_pairs} {units} {r._fmt(r.mde, diff=True).lstrip('+')}"
            lines.append(text)
        return "\n".join(lines)

    def to_pandas(self) -> pd.DataFrame:
        """One row per (metric, version) with every field; CIs split into ``_low``/``_high``."""
        return super().to_pandas()

    def _records(self) -> list[dict[str, Any]]:
        recs = []
        for r in self.rows:
            rec = asdict(r)
            # One text cell, so the frame stays flat: "2 model error in both versions, …".
            for key in ("dropped", "aa_dropped", "var_dropped"):
                rec[key] = counts_text(getattr(r, key)) or None
            for key in ("baseline_ci", "ci", "diff_ci", "aa_ci"):
                pair = rec.pop(key) or (None, None)
                rec[f"{key}_low"], rec[f"{key}_high"] = pair
            recs.append(rec)
        return recs

    def _table(self) -> Table:
        lvl = level_pct(1 - self.alpha)
        header = ["metric", "version", f"baseline [{lvl} CI]", f"version [{lvl} CI]",
                  f"diff [{lvl} CI]", "p", "test", "improved / regressed / same",
                  "A/A flips", "A/A diff CI", f"MDE ({self.power:.0%} power)", "verdict"]  # fmt: skip
        rows = [
            [
                r.metric, r.version,
                f"{r._fmt(r.baseline_mean)} {r._ci(r.baseline_ci, diff=False)}",
                f"{r._fmt(r.mean)} {r._ci(r.ci, diff=False)}",
                f"{r._fmt(r.diff, diff=True)} {r._ci(r.diff_ci, diff=True)}",
                pval(r.p_value), r.method, f"{r.improved} / {r.regressed} / {r.unchanged}",
                "–" if r.aa_flip_rate is None else num(r.aa_flip_rate, "%"),
                r._ci(r.aa_ci, diff=True),
                "–" if r.mde is None else r._fmt(r.mde, diff=True).lstrip("+"),
                r.verdict,
            ]
            for r in self.rows
        ]  # fmt: skip
        verdicts = [
            Note((line,), css=f"verdict {_css(v)}")
            for line, v in zip(self.headline().splitlines(), self.verdicts.values(), strict=False)
        ]
        how = "repeats averaged per item" if self.pairing == "item" else "paired by item and repeat"
        return Table(
            header,
            rows,
            caption=f"Paired comparison vs {self.baseline}: {self.n_items} items, {how}",
            before=verdicts,
            after=[Note((n,)) for n in (*self._detail_notes(), *self.notes)],
            # A terminal is narrow: drop the absolute values, the test name and the A/A CI.
            text_columns=(0, 1, 4, 5, 7, 8, 10, 11),
        )

    def _detail_notes(self) -> list[str]:
        out = []
        for r in self.rows:
            if r.design_effect is not None:
                out.append(
                    f"{r.metric}, {r.version}: design effect {r.design_effect:.2f} over "
                    f"{r.n_clusters} clusters (SE × {r.design_effect**0.5:.2f} vs independent items)"
                )
            if r.var_between is not None and r.var_within is not None and r.unit == "fraction":
                total = r.var_between + r.var_within
                share = r.var_within / total if total > 0 else float("nan")
                out.append(
                    f"{r.metric}, {r.version}: variance of one paired difference "
                    f"{num(total)} = {num(r.var_between)} between items + {num(r.var_within)} "
                    f"within (repeat noise, {num(share, '%')}); run.plan(mde=...) picks items × "
                    "repeats"
                )
        if self.ppi is not None:
            summary = self.ppi.summary()  # empty when no version has a PPI++ difference
            if summary:
                out.append(summary)
            out.extend(self.ppi.notes)
        return out

    def plot(self, *, figsize: tuple[float, float] | None = None) -> Figure:
        """Paired differences (version − baseline) with CIs per metric, the baseline's A/A CI as
        a grey band and ±MDE as dotted lines (:func:`promptab_nb.plots.offline_comparison`).
        Returns a new Figure; nothing is shown."""
        from ..plots import offline_comparison

        return offline_comparison(self, figsize=figsize)


@dataclass(frozen=True, repr=False)
class LivePlan(Rendered):
    """What a live A/B test needs to detect the offline effect (from
    :func:`~promptab_nb.offline.compare.plan_live`).

    ``plan`` uses the full offline effect; ``shrunk`` uses ``shrink`` × that effect, because
    offline effects often shrink live (real traffic differs from the dataset, users adapt).
    ``n_dropped`` items had no value in one or both versions and are not in the offline effect
    (``dropped`` counts them by reason, as in :class:`MetricComparison`); ``sd_n_dropped``
    items had no value in the baseline and are not in the per-item SD of a mean metric
    (``sd_dropped``: ``("model error in v1", 2)``, …). ``notes`` say both in words.
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
    n_dropped: int = 0
    dropped: tuple[tuple[str, int], ...] = ()
    sd_n_dropped: int = 0
    sd_dropped: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def _scenarios(self) -> list[tuple[str, stats.Plan]]:
        out = [("offline effect", self.plan)]
        if self.shrunk is not None:
            out.append((f"{self.shrink:.0%} of it", self.shrunk))
        return out

    def summary(self) -> str:
        """One sentence: the users and days needed for the offline effect (and the shrunk one)."""
        text = (
            f"LivePlan for {self.metric} ({self.version} vs {self.baseline}): offline effect "
            f"{_fmt(self.offline_effect, self.unit, diff=True)} on "
            f"{_fmt(self.baseline_value, self.unit)} → "
            f"{self.plan.n_control:,} users per arm ({self.plan.n_total:,} in total), "
            f"{_days(self.plan.days)} at {self.daily_users:,.0f} users/day, {self.split:g} % to "
            f"{self.version}"
        )
        if self.shrunk is not None:
            text += (
                f"; if it shrinks to {self.shrink:.0%} live: {self.shrunk.n_total:,} users, "
                f"{_days(self.shrunk.days)}"
            )
        return text + "."

    def _records(self) -> list[dict[str, Any]]:
        return [
            {"scenario": s, "effect": p.mde, "n_control": p.n_control,
             "n_treatment": p.n_treatment, "n_total": p.n_total, "days": p.days}
            for s, p in self._scenarios()
        ]  # fmt: skip

    def _table(self) -> Table:
        rows = [
            [s, _fmt(p.mde, self.unit, diff=True), f"{p.n_control:,}", f"{p.n_treatment:,}",
             f"{p.days}"]
            for s, p in self._scenarios()
        ]  # fmt: skip
        caption = (
            f"Live test for {self.metric}: {self.version} vs {self.baseline} "
            f"(baseline {_fmt(self.baseline_value, self.unit)}, {self.daily_users:,.0f} users/day, "
            f"{self.split:g} % to {self.version}, alpha {self.plan.alpha:g}, power "
            f"{self.plan.power:.0%})"
        )
        return Table(
            ["scenario", "effect", "users control", "users treatment", "days"],
            rows,
            caption=caption,
            before=[Note((self.summary(),), css="verdict neutral")],
            after=[*(Note((n,)) for n in self.notes), Note((self.note,))],
            left=1,
        )
