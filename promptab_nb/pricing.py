"""LLM prices from the ``genai-prices`` package: recompute each generation's cost from its
provider, model, token counts and time, and audit the cost an export carries.

The prices of a (provider, model) pair are looked up once, in Python; the per-generation cost
is computed in SQL, so millions of generations cost one join::

    uncached input × USD per input token + cache reads × USD per cache-read token
    + cache writes × USD per cache-write token + output × USD per output token
    + USD per request

where the uncached input is ``input_tokens`` less the cache tokens when ``input_tokens`` counts
them (``generations.cache_in_input``: OpenAI and OpenTelemetry do, Anthropic through PostHog
does not). Each generation is priced as genai-prices prices that call (``calc_price`` of its
usage at its time): with the prices in force when it was made (a price change on a date,
off-peak hours), those of the long-context tier its whole input (cached tokens included) falls
in (past the tier's threshold every token of the call costs the tier's price), and the model's
price per request, if any. The price table holds one row per (provider, model) and span of
dates, hours of the day and input sizes with one set of prices. A model without a cache price
in genai-prices has its cached tokens priced as input.

Generations whose source carries no cache counts (Spanlens, a Langfuse export without cache usage
details, workspaces loaded before promptab_nb stored them) have their ``input_tokens`` priced as
uncached input: an upper bound when those tokens count the cached ones (OpenAI-style) and the cache
was hit, a lower bound when they leave them out (Anthropic-style: the cache reads and writes are
then not priced at all).
A generation whose input is smaller than the cache tokens it counts, or whose input or output
tokens are unknown, has no recomputed cost (it is counted as unpriced, not guessed). Reasoning
tokens are billed as output tokens and are part of ``output_tokens`` in PostHog, OpenAI and
OpenTelemetry usage; other usage genai-prices can price (web searches, audio, images) is not in
the canonical tables and is not priced.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._checks import as_utc, check
from ._sql import ident
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

    from .experiments import Experiment

_PROBE_TOKENS = 1_000
_SPAN = 1_000_000  # tokens between two probes of a tier without an upper end
_DAY_US = 86_400_000_000  # microseconds in a day
_NO_DATE = dt.date(2000, 1, 1)  # the day a price is probed at when no price change has a date


@dataclass(frozen=True)
class ModelPrice:
    """USD per token of one (provider, model) for one request: input, output, and input read
    from or written to the provider's prompt cache (the input price when the model has none),
    plus the price per request (0 for most models); ``None`` when unknown."""

    provider: str | None
    model: str | None
    usd_per_input_token: float | None
    usd_per_output_token: float | None
    matched: str | None  # the price entry used, "provider/model"
    usd_per_cache_read_token: float | None = None
    usd_per_cache_write_token: float | None = None
    usd_per_request: float | None = None


def _genai_prices() -> Any:
    try:
        import genai_prices
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError(
            "cost='recompute' needs the genai-prices package: "
            "pip install 'promptab_nb[prices]' (or pip install genai-prices)"
        ) from err
    return genai_prices


def prices_version() -> str:
    """The price data used, e.g. ``"genai-prices 0.2.5 (bundled data)"``."""
    from importlib.metadata import version

    _genai_prices()
    return f"genai-prices {version('genai-prices')} (bundled data)"


# -- one model's prices ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Cell:
    """The prices of one model over a span of time, of the day and of input sizes: calls made
    in [ts_from, ts_to), at a UTC time of day in [tod_from, tod_to) (microseconds), whose input
    (cached tokens included) is in (tokens_above, tokens_upto]; ``None`` is no bound."""

    ts_from: dt.datetime | None
    ts_to: dt.datetime | None
    tod_from: int | None
    tod_to: int | None
    tokens_above: int | None
    tokens_upto: int | None
    usd_in: float
    usd_out: float
    usd_cache_read: float
    usd_cache_write: float
    usd_request: float


def _lookup(gp: Any, provider: str | None, model: str) -> tuple[str | None, Any] | None:
    """(provider id to price with, genai-prices' price of an empty call of ``model``, whose
    ``model`` and ``provider`` are the price entry), or ``None`` when it has no price. The
    export's provider name may not be a genai-prices provider id: then the model alone."""
    for pid in dict.fromkeys([provider or None, None]):
        try:
            calc = gp.calc_price(gp.Usage(input_tokens=0), model, provider_id=pid)
        except LookupError:
            continue
        return pid, calc
    return None


def _utc_us(t: dt.time) -> int:
    """A time of day (naive: UTC) as microseconds after UTC midnight."""
    if t.tzinfo is not None:
        t = dt.datetime.combine(dt.date(1970, 1, 1), t).astimezone(dt.UTC).time()
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _breaks(info: Any) -> tuple[list[dt.date], list[int], list[int]]:
    """Where a model's prices may change: the dates of price changes, the UTC times of day of
    time-of-day prices (µs), and the input sizes of long-context tiers (sorted). genai-prices
    types are read with getattr: a layout it does not have means no change there."""
    prices = getattr(info, "prices", None)
    conditional = prices if isinstance(prices, list) else []
    sets = [getattr(c, "prices", None) for c in conditional] if conditional else [prices]
    dates: set[dt.date] = set()
    times: set[int] = set()
    for c in conditional:
        constraint = getattr(c, "constraint", None)
        start = getattr(constraint, "start_date", None)
        if isinstance(start, dt.date):
            dates.add(start)
        for name in ("start_time", "end_time"):
            t = getattr(constraint, name, None)
            if isinstance(t, dt.time):
                times.add(_utc_us(t))
    tiers: set[int] = set()
    for price in sets:
        for value in vars(price).values() if price is not None else ():
            for tier in getattr(value, "tiers", None) or ():
                tiers.add(int(tier.start))
    return sorted(dates), sorted(times - {0}), sorted(tiers)


def _rates(
    gp: Any, pid: str | None, model: str, at: dt.datetime, above: int | None, upto: int | None
) -> tuple[float, float, float, float, float]:
    """(USD per input, output, cache-read, cache-write token, USD per request) of the calls of
    ``model`` made at ``at`` whose input is in (above, upto]: solved exactly (genai-prices
    computes in Decimal) from its prices of a few usages in that span."""

    def price(**usage: int) -> Decimal:
        calc = gp.calc_price(gp.Usage(**usage), model, provider_id=pid, genai_request_timestamp=at)
        return Decimal(calc.total_price)

    n = 0 if above is None else above + 1
    m = n + _SPAN if upto is None else upto
    at_n = price(input_tokens=n)
    out = (price(input_tokens=n, output_tokens=_SPAN) - at_n) / _SPAN
    kinds: tuple[dict[str, int], ...] = ({}, {"cache_read_tokens": 1}, {"cache_write_tokens": 1})
    if m > n:  # price = fee + tokens × rate: two input sizes give both
        rates = [
            (
                price(input_tokens=m, **{k: m for k in kind})
                - price(input_tokens=n, **{k: n for k in kind})
            )
            / (m - n)
            for kind in kinds
        ]
        fee = at_n - n * rates[0]
    elif n > 0:  # every call here has n input tokens: the fee is spread over them
        rates = [price(input_tokens=n, **{k: n for k in kind}) / n for kind in kinds]
        fee = Decimal(0)
    else:  # only calls without input
        rates, fee = [Decimal(0)] * 3, at_n
    return float(rates[0]), float(out), float(rates[1]), float(rates[2]), float(fee)


def _snapshot(gp: Any) -> int:
    """Identity of the price data genai-prices uses now (it can be updated at run time)."""
    snapshot = getattr(getattr(gp, "data_snapshot", None), "get_snapshot", None)
    return id(snapshot()) if snapshot is not None else 0


@functools.lru_cache(maxsize=4096)
def _cells(provider: str | None, model: str, snapshot: int) -> tuple[str | None, tuple[_Cell, ...]]:
    """(matched price entry, the cells that partition every call of the model) or
    ``(None, ())`` when genai-prices has no price for it."""
    del snapshot  # (part of the cache key only)
    gp = _genai_prices()
    found = _lookup(gp, provider, model)
    if found is None:
        return None, ()
    pid, calc = found
    dates, times, tiers = _breaks(calc.model)
    day_spans = list(zip([None, *dates], [*dates, None], strict=True))
    tod_spans: list[tuple[int | None, int | None]] = (
        list(zip([0, *times], [*times, _DAY_US], strict=True)) if times else [(None, None)]
    )
    tier_spans = list(zip([None, *tiers], [*tiers, None], strict=True))
    cells = []
    for d_from, d_to in day_spans:
        day = d_from or (d_to - dt.timedelta(days=1) if d_to else _NO_DATE)
        for tod_from, tod_to in tod_spans:
            at = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(
                microseconds=tod_from or 0
            )
            for above, upto in tier_spans:
                usd = _rates(gp, pid, model, at, above, upto)
                cells.append(
                    _Cell(
                        dt.datetime.combine(d_from, dt.time(), dt.UTC) if d_from else None,
                        dt.datetime.combine(d_to, dt.time(), dt.UTC) if d_to else None,
                        tod_from,
                        tod_to,
                        above,
                        upto,
                        *usd,
                    )
                )
    return f"{calc.provider.id}/{calc.model.id}", tuple(cells)


def model_price(
    provider: str | None,
    model: str | None,
    *,
    at: Any = None,
    input_tokens: int = _PROBE_TOKENS,
) -> ModelPrice:
    """The per-token prices of ``model`` (at ``provider`` when given) for a call made at ``at``
    (a datetime, date or ISO string, UTC when naive; default now) whose input, cached tokens
    included, is ``input_tokens`` (it picks the long-context tier); unknown → ``None``s."""
    when = as_utc(at, "at") or dt.datetime.now(dt.UTC)
    check(input_tokens, "input_tokens", ge=0, integer=True)
    gp = _genai_prices()
    found = _lookup(gp, provider, model) if model else None
    if found is None:
        return ModelPrice(provider, model, None, None, None)
    assert model is not None
    pid, calc = found
    tiers = _breaks(calc.model)[2]
    above = max((t for t in tiers if t < input_tokens), default=None)
    upto = min((t for t in tiers if t >= input_tokens), default=None)
    usd_in, usd_out, usd_read, usd_write, usd_request = _rates(gp, pid, model, when, above, upto)
    matched = f"{calc.provider.id}/{calc.model.id}"
    return ModelPrice(provider, model, usd_in, usd_out, matched, usd_read, usd_write, usd_request)


# -- the workspace's price table -------------------------------------------------------------
# Column, type, and the value of a missing bound (a bound is stored, never NULL: ORs in the
# join condition made it a third slower).
_COLUMNS = (
    ("provider", "VARCHAR", None),
    ("model", "VARCHAR", None),
    ("matched", "VARCHAR", None),
    ("ts_from", "TIMESTAMPTZ", "'-infinity'::TIMESTAMPTZ"),
    ("ts_to", "TIMESTAMPTZ", "'infinity'::TIMESTAMPTZ"),
    ("tod_from", "BIGINT", "0"),
    ("tod_to", "BIGINT", str(_DAY_US)),
    ("tokens_above", "DOUBLE", "'-infinity'::DOUBLE"),
    ("tokens_upto", "DOUBLE", "'infinity'::DOUBLE"),
    ("usd_in", "DOUBLE", None),
    ("usd_out", "DOUBLE", None),
    ("usd_cache_read", "DOUBLE", None),
    ("usd_cache_write", "DOUBLE", None),
    ("usd_request", "DOUBLE", None),
)


def price_table(engine: Any) -> str:
    """Create (once per price content) a workspace table of the prices of every (provider,
    model) in ``generations``; return its quoted name for the analysis SQL.

    Raises
    ------
    InvalidArgumentError
        The engine cannot hold a table made here (e.g. Spark), or genai-prices is missing.
    """
    if not hasattr(engine, "execute"):
        raise InvalidArgumentError(
            "cost='recompute' runs on a workspace (DuckDB); on Spark, join a price table to "
            "the events before the analysis"
        )
    pairs = engine.fetch(
        "SELECT DISTINCT provider, model FROM generations WHERE model IS NOT NULL ORDER BY ALL"
    )
    snapshot = _snapshot(_genai_prices())
    values: list[list[Any]] = []
    for provider, model in pairs:
        matched, cells = _cells(provider, model, snapshot)
        if not cells:  # unknown: one row without prices, so every generation is unpriced
            values.append([provider, model, *[None] * (len(_COLUMNS) - 2)])
        for c in cells:
            values.append([provider, model, matched, c.ts_from, c.ts_to, c.tod_from, c.tod_to,
                           c.tokens_above, c.tokens_upto, c.usd_in, c.usd_out, c.usd_cache_read,
                           c.usd_cache_write, c.usd_request])  # fmt: skip
    # (the name changes with the layout too: a table of an earlier layout is never reused)
    blob = json.dumps([_COLUMNS, *values], default=str)
    name = "_pab_prices_" + hashlib.sha256(blob.encode()).hexdigest()[:16]
    if not engine.fetch("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]):
        # One statement, the columns as list parameters: the table exists whole or not at all
        # (an analysis stopped half-way, or two at once, leave no partial table to reuse).
        cols = [
            f"coalesce(CAST(c{i} AS {typ}), {missing}) AS {ident(col)}"
            if missing
            else f"CAST(c{i} AS {typ}) AS {ident(col)}"
            for i, (col, typ, missing) in enumerate(_COLUMNS)
        ]
        lists = ", ".join(f"unnest($c{i}) AS c{i}" for i in range(len(_COLUMNS)))
        engine.execute(
            f"CREATE TABLE IF NOT EXISTS {ident(name)} AS SELECT {', '.join(cols)} "
            f"FROM (SELECT {lists})",
            {f"c{i}": [v[i] for v in values] for i in range(len(_COLUMNS))},
        )
    return ident(name)


def recomputed_cost(alias: str, prices: str) -> tuple[str, str]:
    """(cost expression in USD, join) of the generations aliased ``alias`` priced by
    ``prices`` (see the module's docstring for the formula). No step can overflow 64-bit
    integers, whatever counts the loaders accepted (any whole number < 2^63): the cache tokens
    are taken from the input only once known to fit in it, and the input size that picks the
    long-context tier is a DOUBLE."""
    g, pr = alias, f"{alias}_pr"
    read = f"coalesce({g}.cache_read_tokens, 0)"
    write = f"coalesce({g}.cache_write_tokens, 0)"
    inside = f"coalesce({g}.cache_in_input, true)"
    fits = f"({read} <= {g}.input_tokens AND {write} <= {g}.input_tokens - {read})"
    uncached = (
        f"CASE WHEN {inside} THEN {g}.input_tokens - {read} - {write} ELSE {g}.input_tokens END"
    )
    total = (
        f"(CAST({g}.input_tokens AS DOUBLE) + CASE WHEN {inside} THEN 0 "
        f"ELSE CAST({read} AS DOUBLE) + CAST({write} AS DOUBLE) END)"
    )
    tod = f"((epoch_us({g}.ts) % {_DAY_US}) + {_DAY_US}) % {_DAY_US}"
    cost = (
        f"(CASE WHEN NOT {inside} OR {fits} THEN ({uncached}) * {pr}.usd_in"
        f" + {read} * {pr}.usd_cache_read + {write} * {pr}.usd_cache_write"
        f" + {g}.output_tokens * {pr}.usd_out + {pr}.usd_request END)"
    )
    # (bounds stored as sentinels, not NULLs: ORs in the join condition cost a third more)
    join = (
        f"LEFT JOIN {prices} {pr} ON {pr}.model = {g}.model "
        f"AND {pr}.provider IS NOT DISTINCT FROM {g}.provider "
        f"AND {g}.ts >= {pr}.ts_from AND {g}.ts < {pr}.ts_to "
        f"AND {tod} >= {pr}.tod_from AND {tod} < {pr}.tod_to "
        f"AND {total} > {pr}.tokens_above AND {total} <= {pr}.tokens_upto"
    )
    return cost, join


def cost_audit(exp: Experiment, *, tolerance: float = 0.01) -> pd.DataFrame:
    """Where the export's cost and the recomputed one disagree, per (provider, model).

    Columns: provider, model, matched (the price entry used), generations, unpriced_source
    (no cost in the export), unpriced_recomputed (model or tokens unknown, or cache tokens the
    input cannot hold), source_usd, recomputed_usd (sums over generations priced both ways),
    rel_diff (recomputed / source − 1), disagreeing (generations whose two costs differ by more
    than ``tolerance``, relative). Sorted by the absolute USD difference, largest first.

    Raises
    ------
    InvalidArgumentError
        ``tolerance`` is not a number >= 0.
    """
    tolerance = check(tolerance, "tolerance", ge=0)
    ws = exp.ws
    prices = price_table(ws.engine)
    cost, join = recomputed_cost("g", prices)
    return ws.sql(
        f"""
        SELECT g.provider, g.model, any_value(g_pr.matched) AS matched,
               count(*) AS generations,
               count(*) FILTER (WHERE g.cost_usd IS NULL) AS unpriced_source,
               count(*) FILTER (WHERE {cost} IS NULL) AS unpriced_recomputed,
               sum(g.cost_usd) FILTER (WHERE {cost} IS NOT NULL) AS source_usd,
               sum({cost}) FILTER (WHERE g.cost_usd IS NOT NULL) AS recomputed_usd,
               recomputed_usd / nullif(source_usd, 0) - 1 AS rel_diff,
               count(*) FILTER (WHERE abs({cost} - g.cost_usd)
                                      > $tol * greatest(abs(g.cost_usd), 1e-12)) AS disagreeing
        FROM generations g {join}
        WHERE $prompt IS NULL OR g.prompt_name IS NULL OR g.prompt_name = $prompt
        GROUP BY ALL
        ORDER BY abs(coalesce(recomputed_usd, 0) - coalesce(source_usd, 0)) DESC
        """,
        {"tol": float(tolerance), "prompt": exp.prompt_name},
    )


__all__ = ["ModelPrice", "cost_audit", "model_price", "price_table", "prices_version"]
