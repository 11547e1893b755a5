"""The result of :func:`~promptab_nb.simulate.traffic`: files written and the true effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._format import num
from .._html import STYLE, el, table
from ._params import METRICS


@dataclass(frozen=True)
class SimulationTruth:
    """What :func:`traffic` wrote and the true values an analysis should recover.

    ``means[variant][metric]`` are population expectations under the exposure rules (unit =
    ``person_id``; ``$multiple`` units excluded; only events at or after the first exposure):
    ``cost`` USD per exposed user (0 for users without calls), ``latency`` seconds (per-user mean
    over users with ≥ 1 call), ``error_rate`` errors / calls, ``pass_rate`` passed / applicable
    evaluations, ``generations`` calls per user. ``lifts`` are relative to the control (first
    variant) as fractions, ``diffs`` absolute in the metric's unit. ``units`` counts the exposed
    units per variant actually written (``$multiple`` excluded). ``seed`` is the seed the files
    were drawn with (None when a ``numpy`` Generator was passed: no seed reproduces them).
    """

    seed: int | None
    users: int
    days: int
    start: datetime
    flag_key: str
    prompt_name: str
    variants: dict[str, str | int]
    split: dict[str, float]
    files: dict[str, str]
    means: dict[str, dict[str, float]]
    diffs: dict[str, dict[str, float]]
    lifts: dict[str, dict[str, float]]
    units: dict[str, int]
    multiple: int
    unexposed: int
    events: dict[str, int] = field(default_factory=dict)

    @property
    def control(self) -> str:
        return next(iter(self.variants))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``start`` as ISO-8601 text)."""
        return {
            "seed": self.seed,
            "users": self.users,
            "days": self.days,
            "start": self.start.isoformat(),
            "flag_key": self.flag_key,
            "prompt_name": self.prompt_name,
            "variants": self.variants,
            "split": self.split,
            "files": self.files,
            "means": self.means,
            "diffs": self.diffs,
            "lifts": self.lifts,
            "units": self.units,
            "multiple": self.multiple,
            "unexposed": self.unexposed,
            "events": self.events,
        }

    def _rows(self) -> list[tuple[Any, ...]]:
        rows = []
        for metric in (*METRICS, "generations"):
            for variant in self.variants:
                rows.append(
                    (
                        metric,
                        variant,
                        self.variants[variant],
                        self.units[variant],
                        self.means[variant][metric],
                        self.diffs[variant][metric],
                        self.lifts[variant][metric],
                    )
                )
        return rows

    def to_pandas(self) -> Any:
        """One row per (metric, variant): true mean, difference and lift against the control."""
        import pandas as pd

        cols = ["metric", "variant", "prompt_version", "units", "mean", "diff", "lift"]
        return pd.DataFrame(self._rows(), columns=cols)

    def __repr__(self) -> str:
        head = (
            f"SimulationTruth(seed={self.seed}, users={self.users:,}, flag={self.flag_key!r}, "
            f"multiple={self.multiple:,}, unexposed={self.unexposed:,}, "
            f"events={sum(self.events.values()):,})"
        )
        lines = [head]
        for metric, variant, _, units, mean, _diff, lift in self._rows():
            lift_txt = "" if variant == self.control else f"  lift {num(lift, '%', signed=True)}"
            lines.append(
                f"  {metric:<11} {variant:<10} n={units:<8,} {num(mean, _UNITS[metric])}{lift_txt}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [
            (
                metric,
                f"{variant} ({version})",
                f"{units:,}",
                num(mean, _UNITS[metric]),
                "" if variant == self.control else num(lift, "%", signed=True),
            )
            for metric, variant, version, units, mean, _diff, lift in self._rows()
        ]
        caption = (
            f"Simulated traffic (seed {self.seed}, {self.users:,} users, flag {self.flag_key}, "
            f"{self.multiple:,} $multiple, {self.unexposed:,} unexposed)"
        )
        return el(
            "div",
            el("style", STYLE),
            table(["metric", "variant", "units", "true mean", "true lift"], rows, caption=caption),
            class_="pab",
        )


_UNITS = {
    "cost": "USD",
    "latency": "s",
    "error_rate": "%",
    "pass_rate": "%",
    "generations": "",
}
