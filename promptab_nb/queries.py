"""What the workspace has seen, for notebooks and widgets: prompt names and versions, the flags a
prompt's users were exposed to, daily traffic and a prompt version's baseline per metric.

Each function takes a :class:`~promptab_nb.workspace.Workspace` and runs its SQL through
``ws.engine.fetch`` with parameters; the workspace exposes them as methods (``ws.prompt_names()``,
``ws.baseline_estimates(...)``, …). Presentation (widgets, report) calls these instead of writing
SQL; the numbers they return feed the stats layer (``pab.stats.power.plan``), never a formula in
a widget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from . import schema
from ._sql import ident
from .metrics import Metric, resolve

if TYPE_CHECKING:
    from .workspace import Workspace

# The unit of a user-level analysis: the person when PostHog merged identities, else the id.
_UNIT = "coalesce(person_id, distinct_id)"

_PROMPT_NAMES = """
    SELECT prompt_name FROM (
        SELECT prompt_name, count(*) AS n FROM generations
        WHERE prompt_name IS NOT NULL GROUP BY prompt_name
        UNION ALL
        SELECT prompt_name, 0 AS n FROM prompts GROUP BY prompt_name)
    GROUP BY prompt_name
    ORDER BY max(n) DESC, prompt_name
"""


def prompt_names(ws: Workspace) -> list[str]:
    """Prompt names in the generations and the prompt registry, most generations first.

    Returns
    -------
    list of str
        Names seen in ``generations`` (by number of generations, descending), then registry-only
        names; ties by name.

    Examples
    --------
    >>> ws.prompt_names()  # doctest: +SKIP
    ['support-bot', 'math']
    """
    return [str(r[0]) for r in ws.engine.fetch(_PROMPT_NAMES)]


_PROMPT_VERSIONS = """
    SELECT prompt_version FROM generations
    WHERE prompt_name = $prompt AND prompt_version IS NOT NULL
    UNION
    SELECT CAST(version AS VARCHAR) FROM prompts WHERE prompt_name = $prompt
"""


def prompt_versions(ws: Workspace, prompt_name: str) -> list[str]:
    """Versions of ``prompt_name`` seen in the generations or the registry, in natural order
    (``v2`` before ``v10``). An unknown prompt has none (an empty list)."""
    rows = ws.engine.fetch(_PROMPT_VERSIONS, {"prompt": prompt_name})
    return sorted((str(r[0]) for r in rows), key=_natural)


_FLAGS_FOR_PROMPT = f"""
    SELECT e.flag_key
    FROM exposures e
    JOIN (SELECT DISTINCT {_UNIT} AS unit FROM generations WHERE prompt_name = $prompt) g
      ON coalesce(e.person_id, e.distinct_id) = g.unit
    WHERE e.flag_key IS NOT NULL
    GROUP BY e.flag_key
    ORDER BY count(DISTINCT g.unit) DESC, e.flag_key
"""


def flags_for_prompt(ws: Workspace, prompt_name: str) -> list[str]:
    """Feature flags the users of ``prompt_name`` were exposed to, the most shared first.

    The first is the likely flag of an experiment on the prompt (the builder's default).
    Ties are ordered by flag key; an unknown prompt or one without exposures gives ``[]``.
    """
    return [str(r[0]) for r in ws.engine.fetch(_FLAGS_FOR_PROMPT, {"prompt": prompt_name})]


@dataclass(frozen=True)
class DailyUnits:
    """Distinct units seen over the observed span of ``source`` rows for ``key``.

    ``units`` distinct users (person, else distinct_id); ``days`` the span between the first
    and last row in days, at least 1 (a single day's data counts as one day).
    """

    units: int
    days: float
    source: Literal["exposures", "generations"]
    key: str

    @property
    def per_day(self) -> float:
        """Units per day (``units / days``)."""
        return self.units / self.days


_DAILY = """
    SELECT count(DISTINCT coalesce(person_id, distinct_id)),
           greatest(date_diff('second', min(ts), max(ts)) / 86400.0, 1)
    FROM {table} WHERE {column} = $key
"""


def daily_exposed_units(
    ws: Workspace, *, flag_key: str | None = None, prompt_name: str | None = None
) -> DailyUnits | None:
    """Traffic for planning: the units exposed to ``flag_key`` per day, else (no exposures for
    the flag, or no flag given) the users calling ``prompt_name`` per day.

    Returns
    -------
    DailyUnits or None
        ``source`` says which one was used; ``None`` when neither has any rows.

    Examples
    --------
    >>> ws.daily_exposed_units(flag_key="support-bot-prompt").per_day  # doctest: +SKIP
    416.5
    """
    sources: list[tuple[Literal["exposures", "generations"], str, str | None]] = [
        ("exposures", "flag_key", flag_key),
        ("generations", "prompt_name", prompt_name),
    ]
    for table, column, key in sources:
        if not key:
            continue
        sql = _DAILY.format(table=ident(table), column=ident(column, schema.columns(table)))
        units, days = ws.engine.fetch(sql, {"key": key})[0]
        if units:
            return DailyUnits(int(units), float(days), table, key)
    return None


@dataclass(frozen=True)
class MetricBaseline:
    """One metric as observed for a prompt version.

    ``kind="mean"``: ``value`` is the mean per user in the metric's unit and ``sd`` the per-user
    standard deviation, over ``n`` users. ``kind="proportion"``: ``value`` is the rate (a
    fraction) over ``n`` generations or applicable evaluations (``per``); ``sd`` is ``None``.
    """

    metric: str
    kind: Literal["mean", "proportion"]
    value: float
    sd: float | None
    n: int
    per: Literal["user", "generation", "evaluation"]


@dataclass(frozen=True)
class BaselineEstimates:
    """What ``prompt_name`` at ``version`` looked like: distinct ``users`` and, per metric name,
    a :class:`MetricBaseline`. A metric without usable data (no rows, one user, zero spread,
    or a quantile metric) is left out of ``metrics``."""

    prompt_name: str
    version: str
    users: int
    metrics: dict[str, MetricBaseline]

    def get(self, metric: str) -> MetricBaseline | None:
        """The baseline of ``metric`` (a name), or ``None`` when it has none."""
        return self.metrics.get(metric)


_USERS = f"""
    SELECT count(DISTINCT {_UNIT}) FROM generations
    WHERE prompt_name = $prompt AND prompt_version = $version
"""
_GEN_RATE = """
    SELECT avg(CAST({col} AS DOUBLE)), count({col}) FROM generations
    WHERE prompt_name = $prompt AND prompt_version = $version
"""
_GEN_PER_USER = f"""
    SELECT avg(x), stddev_samp(x), count(x) FROM (
        SELECT {_UNIT} AS unit, {{agg}} AS x FROM generations
        WHERE prompt_name = $prompt AND prompt_version = $version
        GROUP BY unit)
"""
# Applicable evaluations of this version's generations (linked through target_uuid).
_EVAL_RATE = """
    SELECT avg(CAST(e.{col} AS DOUBLE)), count(e.{col})
    FROM evaluations e JOIN generations g ON g.uuid = e.target_uuid
    WHERE e.applicable AND g.prompt_name = $prompt AND g.prompt_version = $version
"""


def baseline_estimates(
    ws: Workspace,
    prompt_name: str,
    version: str,
    metrics: Sequence[str | Metric] | None = None,
) -> BaselineEstimates:
    """Observed per-user mean and sd (or rate) of ``metrics`` for one prompt version: the
    inputs of a power calculation (``pab.stats.power.plan(b.value, sd=b.sd, ...)``).

    Parameters
    ----------
    prompt_name, version
        The prompt and its version (usually the planned control).
    metrics
        Metric names or :class:`~promptab_nb.metrics.Metric` objects (default: cost, latency,
        error_rate, pass_rate).

    Returns
    -------
    BaselineEstimates
        ``sum``/``count``/``mean`` metrics of generations as a per-user mean (USD, seconds, …
        per user) with its sd; ``rate`` metrics as the share of generations or of applicable
        evaluations. Missing values are never read as 0: ``n`` counts the users (or events)
        with a value, and a user with a generation without one (e.g. unpriced: no cost) has
        no sum and is left out of a sum metric. Quantile metrics have no baseline here.

    Raises
    ------
    InvalidArgumentError
        An unknown metric name.
    """
    params = {"prompt": prompt_name, "version": version}
    users = int(ws.engine.fetch(_USERS, params)[0][0])
    out: dict[str, MetricBaseline] = {}
    for m in resolve(metrics):
        b = _baseline(ws, m, params)
        if b is not None:
            out[m.name] = b
    return BaselineEstimates(prompt_name, version, users, out)


def _baseline(ws: Workspace, m: Metric, params: dict[str, str]) -> MetricBaseline | None:
    col = ident(m.column, schema.columns(m.source))
    if m.agg == "rate":
        sql = (_GEN_RATE if m.source == "generations" else _EVAL_RATE).format(col=col)
        value, n = ws.engine.fetch(sql, params)[0]
        if not n or value is None:
            return None
        per: Literal["generation", "evaluation"] = (
            "generation" if m.source == "generations" else "evaluation"
        )
        return MetricBaseline(m.name, "proportion", float(value), None, int(n), per)
    # A user's sum is unknown when one of its values is (an unpriced generation is not free).
    agg = {
        "sum": f"CASE WHEN count(*) = count({col}) THEN sum({col}) END",
        "mean": f"avg({col})",
        "count": f"count({col})",
    }.get(m.agg)
    if agg is None or m.source != "generations":
        return None
    mean, sd, n = ws.engine.fetch(_GEN_PER_USER.format(agg=agg), params)[0]
    # A power calculation needs a spread: one user or identical values give none.
    if not n or n < 2 or not sd or mean is None:
        return None
    return MetricBaseline(m.name, "mean", float(mean), float(sd), int(n), "user")


_ARMS = """
    SELECT {col} FROM generations
    WHERE {col} IS NOT NULL AND ($prompt IS NULL OR prompt_name IS NULL OR prompt_name = $prompt)
    GROUP BY {col}
"""


def generation_arms(
    ws: Workspace, by: Literal["arm", "version"], prompt_name: str | None = None
) -> list[str]:
    """What the generations could be split by, in natural order: the arms recorded on them
    (``by="arm"``: ``generations.variant``, e.g. a Spanlens ``arm_column``) or their prompt
    versions (``by="version"``), of ``prompt_name`` (every prompt when ``None``)."""
    col = ident("variant" if by == "arm" else "prompt_version")
    rows = ws.engine.fetch(_ARMS.format(col=col), {"prompt": prompt_name})
    return sorted((str(r[0]) for r in rows), key=_natural)


def _natural(text: str) -> list[int | str]:
    """Sort key putting v2 before v10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


__all__ = [
    "BaselineEstimates",
    "DailyUnits",
    "MetricBaseline",
    "baseline_estimates",
    "daily_exposed_units",
    "flags_for_prompt",
    "generation_arms",
    "prompt_names",
    "prompt_versions",
]
