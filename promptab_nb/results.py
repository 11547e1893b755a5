"""Result objects: frozen, render in Jupyter (``_repr_html_``), print in a terminal, convert to
pandas/polars. Every number is formatted with its unit through :mod:`promptab_nb._format`."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from . import _html
from ._format import num, pval

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .metrics import Metric
    from .options import AnalysisOptions

COLUMNS = [
    "metric",
    "variant",
    "is_control",
    "n",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_diff",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "test",
    "significant",
]
BAYES_COLUMNS = ["chance_to_win", "expected_loss", "cred_low", "cred_high"]


def _nan(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


@dataclass(frozen=True)
class ArmRow:
    """One (metric, variant) row. Differences are treatment − control (NaN on the control row);
    relative values are fractions (0.032 = +3.2 %)."""

    metric: str
    variant: str
    is_control: bool
    n: int
    mean: float
    mean_ci_low: float
    mean_ci_high: float
    diff: float
    diff_ci_low: float
    diff_ci_high: float
    rel_diff: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float
    test: str
    significant: bool
    chance_to_win: float = math.nan
    expected_loss: float = math.nan
    cred_low: float = math.nan
    cred_high: float = math.nan
    note: str | None = None

    #: The numeric columns, NaN where they do not apply.
    NUMBERS: ClassVar[tuple[str, ...]] = (
        "mean",
        "mean_ci_low",
        "mean_ci_high",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "rel_diff",
        "rel_ci_low",
        "rel_ci_high",
        "p_value",
        "chance_to_win",
        "expected_loss",
        "cred_low",
        "cred_high",
    )


Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class HealthFlag:
    """One finding of the health check.

    ``code`` is stable for programs (``"srm"``, ``"multiple"``, ``"unknown_variants"``,
    ``"small_arms"``, ``"expired"``); ``severity`` is ``"error"`` when the results should not be
    trusted, ``"warning"`` when they need a look, ``"info"`` otherwise; ``message`` is for people.
    """

    code: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class Health:
    """Assignment health: exposed units per arm, ``$multiple`` units, SRM and warnings."""

    exposed: dict[str, int]
    multiple: int
    unknown_variants: dict[str, int]
    srm_p_value: float | None
    srm_statistic: float | None
    srm_note: str | None
    expired: bool
    flags: tuple[HealthFlag, ...] = field(default_factory=tuple)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The messages of every flag, most severe first."""
        order = {"error": 0, "warning": 1, "info": 2}
        return tuple(f.message for f in sorted(self.flags, key=lambda f: order[f.severity]))

    @property
    def ok(self) -> bool:
        """True when no flag was raised."""
        return not self.flags

    def has(self, code: str) -> bool:
        """True when a flag with ``code`` was raised."""
        return any(f.code == code for f in self.flags)

    def lines(self) -> list[str]:
        out = [
            "exposed units: "
            + ", ".join(f"{k} {v:,}" for k, v in self.exposed.items())
            + f"; $multiple {self.multiple:,}"
        ]
        if self.srm_p_value is not None:
            out.append(
                f"SRM χ² = {self.srm_statistic:.2f}, {pval(self.srm_p_value)} against the configured split"
            )
        elif self.srm_note:
            out.append(self.srm_note)
        out.extend(f"⚠ {w}" for w in self.warnings)
        return out


@dataclass(frozen=True)
class ExperimentResult:
    """The analysis of one experiment: rows per (metric, variant), health and methods."""

    experiment: str
    prompt_name: str | None
    flag_key: str | None
    variants: dict[str, str]
    control: str
    metrics: tuple[Metric, ...]
    rows: tuple[ArmRow, ...]
    health: Health
    methods: tuple[str, ...]
    options: AnalysisOptions
    provenance: tuple[dict[str, Any], ...] = ()
    computed_at: dt.datetime | None = None

    @property
    def alpha(self) -> float:
        return self.options.alpha

    @property
    def level(self) -> float:
        return 1 - self.alpha

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    # -- conversion -----------------------------------------------------------------------
    def to_pandas(self, *, details: bool = False) -> pd.DataFrame:
        """One row per (metric, variant) with the columns of :data:`COLUMNS` (plus the
        Bayesian columns for ``method="bayesian"``; ``details=True`` adds everything)."""
        import pandas as pd

        cols = list(COLUMNS)
        if self.options.bayesian or details:
            cols += BAYES_COLUMNS
        if details:
            cols += ["note"]
        df = pd.DataFrame([asdict(r) for r in self.rows])
        if df.empty:
            return pd.DataFrame(columns=cols)
        df = df[cols]
        control = df["is_control"]
        for c in (
            "diff",
            "diff_ci_low",
            "diff_ci_high",
            "rel_diff",
            "rel_ci_low",
            "rel_ci_high",
            "p_value",
        ):
            df.loc[control, c] = float("nan")
        return df.reset_index(drop=True)

    def to_polars(self, *, details: bool = False) -> Any:
        import polars as pl

        return pl.from_pandas(self.to_pandas(details=details))

    # -- words ----------------------------------------------------------------------------
    def verdicts(self) -> list[tuple[str, str]]:
        """One plain-language sentence per (metric, treatment), with a tone: good/bad/neutral."""
        out = []
        for r in self.rows:
            if r.is_control:
                continue
            m = self.metric(r.metric)
            out.append(_verdict(r, m, self.control, self.level, self.options))
        return out

    def to_markdown(self) -> str:
        """A Markdown summary for a pull-request comment."""
        lines = [f"### Experiment `{self.experiment}`", ""]
        lines += [f"- {text}" for text, _ in self.verdicts()]
        lines += [
            "",
            "| metric | variant | n | mean (CI) | Δ relative (CI) | p |",
            "|---|---|---:|---|---|---:|",
        ]
        for r in self.rows:
            m = self.metric(r.metric)
            lines.append(
                f"| {r.metric} | {_arm_label(r)} | {r.n:,} | "
                f"{num(r.mean, m.unit)} ({num(r.mean_ci_low, m.unit)} – {num(r.mean_ci_high, m.unit)}) | "
                + (
                    "–"
                    if r.is_control
                    else f"{num(r.rel_diff, '%', signed=True)} ({num(r.rel_ci_low, '%', signed=True)} – {num(r.rel_ci_high, '%', signed=True)})"
                )
                + f" | {'–' if r.is_control else pval(r.p_value).removeprefix('p ')} |"
            )
        lines += ["", "**Health**: " + "; ".join(self.health.lines())]
        return "\n".join(lines) + "\n"

    # -- display --------------------------------------------------------------------------
    def plot(self, **kwargs: Any) -> Figure:
        """Forest plot of the effects with their CIs (:func:`promptab_nb.plots.forest`)."""
        from .plots import forest

        return forest(self, **kwargs)

    def __repr__(self) -> str:
        lines = [
            f"ExperimentResult({self.experiment!r}, control={self.control!r}, "
            f"unit={self.options.unit}, {self.level:.0%} CI)"
        ]
        lines += [f"  {text}" for text, _ in self.verdicts()]
        lines += [f"  health: {h}" for h in self.health.lines()]
        return "\n".join(lines)

    def table_rows(self) -> list[list[Any]]:
        """Display rows (formatted strings) shared by the notebook view and the report."""
        bayes = self.options.bayesian
        out = []
        for r in self.rows:
            m = self.metric(r.metric)
            diff_unit = "pp" if m.unit == "%" else m.unit
            row = [
                m.name,
                _arm_label(r),
                f"{r.n:,}",
                num(r.mean, m.unit),
                f"{num(r.mean_ci_low, m.unit)} to {num(r.mean_ci_high, m.unit)}",
                "" if r.is_control else num(r.diff, diff_unit, signed=True),
                "" if r.is_control else f"{num(r.rel_diff, '%', signed=True)}",
                ""
                if r.is_control
                else f"{num(r.rel_ci_low, '%', signed=True)} to {num(r.rel_ci_high, '%', signed=True)}",
                "" if r.is_control else pval(r.p_value),
            ]
            if bayes:
                row.append("" if r.is_control else num(r.chance_to_win, "%"))
            out.append(row)
        return out

    def table_header(self) -> list[str]:
        lvl = f"{self.level:.0%}"
        head = [
            "metric",
            "variant",
            "n",
            "mean",
            f"{lvl} CI",
            "Δ",
            "Δ %",
            f"Δ % {lvl} CI",
            "p-value",
        ]
        if self.options.bayesian:
            head.append("chance to win")
        return head

    def _repr_html_(self) -> str:
        verdicts = [
            _html.el("div", text, class_=f"verdict {tone}") for text, tone in self.verdicts()
        ]
        health_cls = "health" if self.health.ok else "health warn"
        return _html.el(
            "div",
            _html.el("style", _html.Markup(_html.STYLE)),
            _html.el(
                "div",
                _html.el("b", f"Experiment {self.experiment}"),
                f" — control {self.control!s}, unit {self.options.unit}",
            ),
            *verdicts,
            _html.table(self.table_header(), self.table_rows()),
            _html.el("div", *[_html.el("div", h) for h in self.health.lines()], class_=health_cls),
            _html.el("div", "Methods: " + "; ".join(self.methods), class_="note"),
            class_="pab",
        )


def _arm_label(r: ArmRow) -> str:
    """The variant key, marked as the control unless its key already says so."""
    return r.variant + (" (control)" if r.is_control and r.variant != "control" else "")


def _verdict(
    r: ArmRow, m: Metric, control: str, level: float, options: AnalysisOptions
) -> tuple[str, str]:
    label = m.description
    lvl = f"{level:.0%}".replace("%", " %")
    if _nan(r.p_value):
        why = r.note or "no p-value"
        return f"{r.variant} vs {control} on {label}: no verdict ({why})", "neutral"
    use_rel = options.relative and not _nan(r.rel_diff)
    if use_rel:
        est, lo, hi, unit = r.rel_diff, r.rel_ci_low, r.rel_ci_high, "%"
    else:
        est, lo, hi, unit = (
            r.diff,
            r.diff_ci_low,
            r.diff_ci_high,
            ("pp" if m.unit == "%" else m.unit),
        )
    p = pval(r.p_value)
    if options.bayesian and not _nan(r.chance_to_win):
        p = f"chance to win {num(r.chance_to_win, '%')}"
    if r.significant:
        word = "lowers" if est < 0 else "raises"
        a, b = (-hi, -lo) if est < 0 else (lo, hi)
        better = (est < 0) == (m.direction == "lower")
        text = (
            f"{r.variant} {word} {label} by {num(abs(est), unit)} "
            f"({lvl} CI {num(a, unit)} to {num(b, unit)}, {p})"
        )
        return text + (" — better" if better else " — worse"), ("good" if better else "bad")
    return (
        f"no significant difference in {label}: {r.variant} vs {control} "
        f"{num(est, unit, signed=True)} ({lvl} CI {num(lo, unit, signed=True)} to "
        f"{num(hi, unit, signed=True)}, {p})",
        "neutral",
    )


@dataclass(frozen=True)
class OverTimeResult:
    """Cumulative estimates per period (one row per period × treatment)."""

    experiment: str
    metric: Metric
    relative: bool
    alpha: float
    freq: str
    records: tuple[dict[str, Any], ...]

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(list(self.records))

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_pandas(self.to_pandas())

    def plot(self, **kwargs: Any) -> Figure:
        from .plots import cumulative

        return cumulative(self, **kwargs)

    def __repr__(self) -> str:
        df = self.to_pandas()
        return f"OverTimeResult({self.metric.name}, {len(df)} rows by {self.freq})\n{df.to_string(max_rows=20)}"

    def _repr_html_(self) -> str:
        unit = "%" if self.relative else self.metric.unit
        rows = [
            [
                f"{r['period_end']:%Y-%m-%d %H:%M}",
                r["variant"],
                f"{r['n_control']:,}",
                f"{r['n_treatment']:,}",
                num(r["estimate"], unit, signed=True),
                f"{num(r['ci_low'], unit, signed=True)} to {num(r['ci_high'], unit, signed=True)}",
                pval(r["p_value"]),
            ]
            for r in self.records
        ]
        return _html.el(
            "div",
            _html.el("style", _html.Markup(_html.STYLE)),
            _html.table(
                [
                    "period end",
                    "variant",
                    "n control",
                    "n treatment",
                    "effect",
                    f"{1 - self.alpha:.0%} CI",
                    "p-value",
                ],
                rows,
                caption=f"{self.metric.name} over time (cumulative)",
            ),
            class_="pab",
        )
