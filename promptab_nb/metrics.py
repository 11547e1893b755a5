"""Metric definitions. Each metric becomes a per-unit SQL aggregate over one source table.

Aggregates (per unit, over the unit's events after its first exposure):

- ``sum``   — total of ``column`` (units without events count 0): mean over all exposed units.
- ``count`` — number of events: mean over all exposed units.
- ``mean``  — mean of ``column`` over the unit's events: mean over units with at least one event.
- ``rate``  — share of events where the boolean ``column`` is true. Per user it is a ratio
  metric (ratio of sums, delta-method variance); per request each event is a unit (proportion).
- ``p50``, ``p90``, ``p95``, ``p99`` — a quantile of ``column`` over all in-scope events of each
  arm (order-statistic CIs); it describes requests, so clustering by user is not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from . import schema
from ._checks import one_of
from .errors import InvalidArgumentError

Agg = Literal["sum", "count", "mean", "rate", "p50", "p90", "p95", "p99"]
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
Direction = Literal["lower", "higher"]

_SOURCES = ("generations", "evaluations")
_NUMERIC = ("DOUBLE", "BIGINT", "INTEGER")


@dataclass(frozen=True)
class Metric:
    """A metric: ``agg`` of ``column`` in ``source``, with a direction and a unit of measure.

    Parameters
    ----------
    name
        Shown in tables and plots.
    column
        A column of ``source`` (e.g. ``"cost_usd"``, ``"latency_s"``, ``"is_error"``).
    agg
        ``"sum"``, ``"count"``, ``"mean"`` or ``"rate"`` (see the module docstring).
    source
        ``"generations"`` or ``"evaluations"`` (evaluations count only when applicable).
    direction
        ``"lower"`` or ``"higher"`` is better.
    unit
        Unit of measure for display: ``"USD"``, ``"s"``, ``"%"``, ``"tokens"`` or ``""``.
    label
        Human description, e.g. ``"cost per user"``.

    Examples
    --------
    >>> Metric("tokens_in", column="input_tokens", agg="sum", unit="tokens").kind
    'mean'
    """

    name: str
    column: str
    agg: Agg = "sum"
    source: str = "generations"
    direction: Direction = "lower"
    unit: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        one_of(self.source, "source", _SOURCES)
        one_of(self.agg, "agg", ("sum", "count", "mean", "rate", *QUANTILES))
        one_of(self.direction, "direction", ("lower", "higher"))
        allowed = schema.columns(self.source)
        if self.column not in allowed:
            raise InvalidArgumentError(
                f"column {self.column!r} is not in {self.source}; expected one of {allowed}"
            )
        typ = dict(schema.TABLES[self.source])[self.column].split()[0]
        if self.agg == "rate" and typ != "BOOLEAN":
            raise InvalidArgumentError(
                f"agg='rate' needs a boolean column; {self.source}.{self.column} is not boolean"
            )
        if self.agg not in ("rate", "count") and typ not in _NUMERIC:
            raise InvalidArgumentError(
                f"agg={self.agg!r} needs a numeric column; {self.source}.{self.column} is {typ}. "
                "Use agg='count' to count events, or a numeric column such as "
                f"{', '.join(c for c, t in schema.TABLES[self.source] if t in _NUMERIC)}"
            )

    @property
    def kind(self) -> str:
        """``"ratio"`` for rates (per user), ``"quantile"`` for p50…p99, else ``"mean"``."""
        if self.agg in QUANTILES:
            return "quantile"
        return "ratio" if self.agg == "rate" else "mean"

    @property
    def description(self) -> str:
        return self.label or self.name


BUILTIN: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("cost", "cost_usd", "sum", unit="USD", label="cost per user (USD)"),
        Metric("latency", "latency_s", "mean", unit="s", label="mean latency per user (s)"),
        Metric("error_rate", "is_error", "rate", unit="%", label="share of generations that fail"),
        Metric(
            "pass_rate",
            "passed",
            "rate",
            source="evaluations",
            direction="higher",
            unit="%",
            label="share of applicable evaluations that pass",
        ),
        Metric("latency_p95", "latency_s", "p95", unit="s", label="95th percentile latency (s)"),
        Metric("tokens_out", "output_tokens", "sum", unit="tokens", label="output tokens per user"),
        Metric("tokens_in", "input_tokens", "sum", unit="tokens", label="input tokens per user"),
        Metric("requests", "uuid", "count", direction="higher", label="generations per user"),
    )
}
DEFAULT = ("cost", "latency", "error_rate", "pass_rate")


def resolve(metrics: Sequence[str | Metric] | str | Metric | None) -> list[Metric]:
    """Turn names and :class:`Metric` objects into metrics (default: cost, latency, error, pass)."""
    if metrics is None:
        metrics = DEFAULT
    if isinstance(metrics, str | Metric):
        metrics = [metrics]
    out: list[Metric] = []
    for m in metrics:
        if isinstance(m, Metric):
            out.append(m)
        elif isinstance(m, str) and m in BUILTIN:
            out.append(BUILTIN[m])
        else:
            raise InvalidArgumentError(
                f"unknown metric {m!r}; built-in metrics: {', '.join(BUILTIN)} "
                "(or pass pab.Metric(...))"
            )
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"metrics has duplicate names: {names}")
    if not out:
        raise InvalidArgumentError("metrics is empty; name at least one metric")
    return out
