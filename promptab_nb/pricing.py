"""LLM prices from the ``genai-prices`` package: recompute each generation's cost from its
provider, model and token counts, and audit the cost an export carries.

The price of a (provider, model) pair is looked up once, in Python; the per-generation cost is
computed in SQL, so millions of generations cost one join::

    uncached input × USD per input token + cache reads × USD per cache-read token
    + cache writes × USD per cache-write token + output × USD per output token

where the uncached input is ``input_tokens`` less the cache tokens when ``input_tokens`` counts
them (``generations.cache_in_input``: OpenAI and OpenTelemetry do, Anthropic through PostHog
does not). A model without a cache price in genai-prices has its cached tokens priced as input.
Generations whose source carries no cache counts (Spanlens, Langfuse, workspaces loaded before
promptab_nb stored them) have all their input priced as uncached: an upper bound when the
provider's prompt cache was hit. A generation whose input is smaller than the cache tokens it
counts has no recomputed cost (it is counted as unpriced, not guessed). Prices are per token at
a small request (1,000 tokens), so long-context price tiers are not applied. Reasoning tokens are
billed as output tokens and are part of ``output_tokens`` in PostHog, OpenAI and OpenTelemetry
usage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._sql import ident
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

    from .experiments import Experiment

_PROBE_TOKENS = 1_000


@dataclass(frozen=True)
class ModelPrice:
    """USD per token of one (provider, model): input, output, and input read from or written
    to the provider's prompt cache (the input price when the model has none); ``None`` when
    unknown."""

    provider: str | None
    model: str | None
    usd_per_input_token: float | None
    usd_per_output_token: float | None
    matched: str | None  # the price entry used, "provider/model"
    usd_per_cache_read_token: float | None = None
    usd_per_cache_write_token: float | None = None


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


def model_price(provider: str | None, model: str | None) -> ModelPrice:
    """The per-token prices of ``model`` (at ``provider`` when given); unknown → ``None``s."""
    gp = _genai_prices()
    if not model:
        return ModelPrice(provider, model, None, None, None)
    found = []
    # genai-prices counts cached tokens inside input_tokens
    for usage in (
        {"input_tokens": _PROBE_TOKENS},
        {"output_tokens": _PROBE_TOKENS},
        {"input_tokens": _PROBE_TOKENS, "cache_read_tokens": _PROBE_TOKENS},
        {"input_tokens": _PROBE_TOKENS, "cache_write_tokens": _PROBE_TOKENS},
    ):
        try:
            calc = gp.calc_price(gp.Usage(**usage), model, provider_id=provider or None)
        except LookupError:
            if provider is None:
                return ModelPrice(provider, model, None, None, None)
            # The export's provider name may not be a genai-prices provider id: try the model.
            try:
                calc = gp.calc_price(gp.Usage(**usage), model)
            except LookupError:
                return ModelPrice(provider, model, None, None, None)
        found.append(calc)
    matched = f"{found[0].provider.id}/{found[0].model.id}"
    return ModelPrice(
        provider,
        model,
        float(found[0].total_price) / _PROBE_TOKENS,
        float(found[1].total_price) / _PROBE_TOKENS,
        matched,
        float(found[2].total_price) / _PROBE_TOKENS,
        float(found[3].total_price) / _PROBE_TOKENS,
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
    rows = [model_price(p, m) for p, m in pairs]
    values = [
        [
            r.provider,
            r.model,
            r.usd_per_input_token,
            r.usd_per_output_token,
            r.usd_per_cache_read_token,
            r.usd_per_cache_write_token,
            r.matched,
        ]
        for r in rows
    ]
    # (the name changes with the columns too: a table of an earlier layout is never reused)
    blob = json.dumps(["usd_cache_read", "usd_cache_write", *values])
    name = "_pab_prices_" + hashlib.sha256(blob.encode()).hexdigest()[:16]
    if not engine.fetch("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]):
        engine.execute(
            f"CREATE TABLE {ident(name)} (provider VARCHAR, model VARCHAR, usd_in DOUBLE, "
            "usd_out DOUBLE, usd_cache_read DOUBLE, usd_cache_write DOUBLE, matched VARCHAR)"
        )
        for v in values:
            engine.execute(
                f"INSERT INTO {ident(name)} VALUES ($p, $m, $i, $o, $r, $w, $x)",
                dict(zip("pmiorwx", v, strict=True)),
            )
    return ident(name)


def recomputed_cost(alias: str, prices: str) -> tuple[str, str]:
    """(cost expression in USD, join) of the generations aliased ``alias`` priced by
    ``prices`` (see the module's docstring for the formula)."""
    g, pr = alias, f"{alias}_pr"
    read, write = f"coalesce({g}.cache_read_tokens, 0)", f"coalesce({g}.cache_write_tokens, 0)"
    uncached = (
        f"({g}.input_tokens - CASE WHEN coalesce({g}.cache_in_input, true) "
        f"THEN {read} + {write} ELSE 0 END)"
    )
    return (
        f"(CASE WHEN {uncached} >= 0 THEN {uncached} * {pr}.usd_in + {read} * {pr}.usd_cache_read"
        f" + {write} * {pr}.usd_cache_write + {g}.output_tokens * {pr}.usd_out END)",
        f"LEFT JOIN {prices} {alias}_pr ON {alias}_pr.model = {alias}.model "
        f"AND {alias}_pr.provider IS NOT DISTINCT FROM {alias}.provider",
    )


def cost_audit(exp: Experiment, *, tolerance: float = 0.01) -> pd.DataFrame:
    """Where the export's cost and the recomputed one disagree, per (provider, model).

    Columns: provider, model, matched (the price entry used), generations, unpriced_source
    (no cost in the export), unpriced_recomputed (model or tokens unknown), source_usd,
    recomputed_usd (sums over generations priced both ways), rel_diff (recomputed / source − 1),
    disagreeing (generations whose two costs differ by more than ``tolerance``, relative).
    Sorted by the absolute USD difference, largest first.
    """
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
