"""Metric definitions. Each metric becomes a per-unit SQL aggregate over one source table.

Aggregates (per unit, over the unit's events after its first exposure):

- ``sum``   — total of ``column`` (units without events count 0): mean over all exposed units.
  An event without a value (an unpriced generation) is missing, not 0: the health check counts
  such events per arm, above 5 % of an arm's events the verdict is withheld, and an arm none of
  whose events has a value has no mean (:mod:`promptab_nb.analysis._missing`).
- ``count`` — number of events: mean over all exposed units.
- ``mean``  — mean of ``column`` over the unit's events with a value: mean over units with at
  least one (events without a value are left out, never read as 0).
- ``rate``  — share of events where the boolean ``column`` is true. Per user it is a ratio
  metric (ratio of sums, delta-method variance); per request each event is a unit (proportion).
- ``p50``, ``p90``, ``p95``, ``p99`` or ``quantile`` with ``Metric(..., quantile=0.75)`` — a
  quantile of ``column`` over all in-scope events of each arm. Per user the CI respects that
  requests cluster by user (user-clustered delta method); per request events are independent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from . import schema
from ._checks import check, one_of
from .errors import InvalidArgumentError

Agg = Literal["sum", "count", "mean", "rate", "p50", "p90", "p95", "p99", "quantile"]
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
Direction = Literal["lower", "higher"]

_SOURCES = ("generations", "evaluations")
_NUMERIC = ("DOUBLE", "BIGINT", "INTEGER")
_PER_USER = re.compile(r"\bper user\b")


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
        Human description, e.g. ``"cost per user"`` (an analysis with ``unit="request"``
        reads its ``per user`` as ``per request``: :meth:`describe`).
    quantile
        Any quantile in (0, 1) of ``column`` over events, e.g. ``0.9``; sets ``agg="quantile"``.

    Examples
    --------
    >>> Metric("tokens_in", column="input_tokens", agg="sum", unit="tokens").kind
    'mean'
    >>> Metric("latency_p75", "latency_s", quantile=0.75, unit="s").agg
    'quantile'
    """

    name: str
    column: str
    agg: Agg = "sum"
    source: str = "generations"
    direction: Direction = "lower"
    unit: str = ""
    label: str = ""
    quantile: float | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.name, str)
            or not self.name.strip()
            or self.name != self.name.strip()
        ):
            raise InvalidArgumentError(
                f"name == {self.name!r}: a metric needs a name (text, no leading or trailing "
                "spaces), the one its results are shown and looked up by"
            )
        one_of(self.source, "source", _SOURCES)
        if self.quantile is not None:
            check(self.quantile, "quantile", gt=0, lt=1)
            object.__setattr__(self, "quantile", float(self.quantile))
            if self.agg not in ("sum", "quantile"):
                raise InvalidArgumentError(
                    f"agg == {self.agg!r} with quantile == {self.quantile!r}; give one of them "
                    "(quantile sets agg='quantile')"
                )
            object.__setattr__(self, "agg", "quantile")
        elif self.agg == "quantile":
            raise InvalidArgumentError("agg='quantile' needs quantile=, e.g. quantile=0.9")
        one_of(self.agg, "agg", ("sum", "count", "mean", "rate", *QUANTILES, "quantile"))
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
        if self.agg in QUANTILES or self.agg == "quantile":
            return "quantile"
        return "ratio" if self.agg == "rate" else "mean"

    @property
    def q(self) -> float | None:
        """The quantile level of a quantile metric (0.95 for ``p95``), else ``None``."""
        return self.quantile if self.quantile is not None else QUANTILES.get(self.agg)

    @property
    def missing_words(self) -> str:
        """How an event without this metric's value is described in notes: ``"unpriced (no
        cost)"`` for cost, else ``"without <column>"``."""
        return "unpriced (no cost)" if self.column == "cost_usd" else f"without {self.column}"

    @property
    def description(self) -> str:
        """The label (else the name), worded per user: ``"cost per user (USD)"``."""
        return self.label or self.name

    def describe(self, unit: str = "user") -> str:
        """The description for an analysis per ``unit``: ``"user"`` gives :attr:`description`;
        ``"request"`` (each generation or evaluation a unit) says ``per request`` where it says
        ``per user`` (``"cost per request (USD)"``). Every result text names a metric by this."""
        text = self.description
        if unit == "user":
            return text
        return _PER_USER.sub(f"per {unit}", text)


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
        Metric("latency_p50", "latency_s", "p50", unit="s", label="median latency (s)"),
        Metric("latency_p90", "latency_s", "p90", unit="s", label="90th percentile latency (s)"),
        Metric("latency_p99", "latency_s", "p99", unit="s", label="99th percentile latency (s)"),
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
