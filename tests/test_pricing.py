"""cost="recompute": each generation priced from provider, model and tokens with genai-prices;
the audit of the export's own cost."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb import pricing

genai_prices = pytest.importorskip("genai_prices")

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_model_price_is_the_package_price_per_token() -> None:
    p = pricing.model_price("openai", "gpt-4o-mini")
    ref = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000, output_tokens=500),
        "gpt-4o-mini",
        provider_id="openai",
    )
    assert 1000 * p.usd_per_input_token + 500 * p.usd_per_output_token == pytest.approx(
        float(ref.total_price), rel=1e-12
    )
    assert p.matched == "openai/gpt-4o-mini"
    unknown = pricing.model_price("openai", "no-such-model-xyz")
    assert unknown.usd_per_input_token is None and unknown.matched is None
    assert pricing.prices_version().startswith("genai-prices ")


def _workspace(unknown_share: float = 0.0) -> tuple[pab.Workspace, pd.DataFrame]:
    rng = np.random.default_rng(2)
    rows = []
    for i in range(240):
        arm = "v1" if i % 2 else "v2"
        for k in range(2):
            unknown = rng.random() < unknown_share and arm == "v2"
            rows.append(
                {
                    "uuid": f"g{i}_{k}",
                    "ts": T0 + dt.timedelta(minutes=i + k),
                    "distinct_id": f"u{i}",
                    "prompt_name": "bot",
                    "prompt_version": arm,
                    "provider": "openai",
                    "model": "no-such-model-xyz" if unknown else "gpt-4o-mini",
                    "input_tokens": int(rng.integers(100, 900)),
                    "output_tokens": int(rng.integers(10, 300)) * (2 if arm == "v2" else 1),
                    "cost_usd": None,  # the export priced nothing
                }
            )
    frame = pd.DataFrame(rows)
    ws = pab.Workspace()
    ws.load_frame(frame, kind="generations")
    return ws, frame


def test_recompute_prices_generations_the_export_left_unpriced() -> None:
    ws, frame = _workspace()
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    source = exp.analyze(["cost"])
    assert np.isnan(source.rows[1].p_value)  # every generation unpriced: no cost verdict
    res = exp.analyze(["cost"], cost="recompute")
    p = pricing.model_price("openai", "gpt-4o-mini")
    frame["usd"] = frame.input_tokens * p.usd_per_input_token + frame.output_tokens * (
        p.usd_per_output_token
    )
    per_user = frame.groupby(["prompt_version", "distinct_id"]).usd.sum()
    got = res.to_pandas().set_index("variant")["mean"]
    assert got["control"] == pytest.approx(per_user["v1"].mean(), rel=1e-12)
    assert got["test"] == pytest.approx(per_user["v2"].mean(), rel=1e-12)
    assert not res.health.has("missing_values") and res.rows[1].significant
    assert "genai-prices" in res.health.source and "genai-prices" in res.methods[0]
    assert res.options.to_code().endswith("cost='recompute')")


def test_a_model_without_a_price_stays_unpriced() -> None:
    ws, _ = _workspace(unknown_share=0.3)
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    res = exp.analyze(["cost"], cost="recompute")
    assert res.health.has("missing_values") and np.isnan(res.rows[1].p_value)


def test_cost_audit_lists_where_the_export_disagrees() -> None:
    ws, frame = _workspace()
    p = pricing.model_price("openai", "gpt-4o-mini")
    frame["cost_usd"] = frame.input_tokens * p.usd_per_input_token + frame.output_tokens * (
        p.usd_per_output_token
    )
    frame.loc[:9, "cost_usd"] *= 1.5  # ten generations billed 50 % higher by the source
    frame.loc[10:14, "cost_usd"] = None
    ws2 = pab.Workspace()
    ws2.load_frame(frame, kind="generations")
    exp = ws2.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    audit = exp.cost_audit()
    row = audit.iloc[0]
    assert (row.provider, row.model, row.generations) == ("openai", "gpt-4o-mini", len(frame))
    assert row.disagreeing == 10 and row.unpriced_source == 5 and row.unpriced_recomputed == 0
    priced = frame.cost_usd.notna()
    assert row.source_usd == pytest.approx(frame.cost_usd[priced].sum(), rel=1e-12)
    assert row.rel_diff < 0  # the export over-charged


def _genai_cost(provider: str, model: str, total_in: int, read: int, write: int, out: int) -> float:
    """genai-prices' price of one call (its input_tokens count the cached tokens)."""
    usage = genai_prices.Usage(
        input_tokens=total_in, cache_read_tokens=read, cache_write_tokens=write, output_tokens=out
    )
    return float(genai_prices.calc_price(usage, model, provider_id=provider).total_price)


def _cache_frame(n_users: int = 200, seed: int = 5) -> pd.DataFrame:
    """Generations with prompt-cache tokens: Anthropic rows report input without the cached
    tokens, OpenAI rows with them; arm v2's prompt breaks the cache (same total input)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_users):
        arm = "v1" if i % 2 else "v2"
        for k in range(3):
            anthropic = (i + k) % 2 == 0
            total = int(rng.integers(2_000, 3_000))
            read = int(total * 0.8) if arm == "v1" else 0
            write = int(rng.integers(0, 200)) if anthropic else 0
            rows.append(
                {
                    "uuid": f"g{i}_{k}",
                    "ts": T0 + dt.timedelta(minutes=i + k),
                    "distinct_id": f"u{i}",
                    "prompt_name": "bot",
                    "prompt_version": arm,
                    "provider": "anthropic" if anthropic else "openai",
                    "model": "claude-sonnet-4-5" if anthropic else "gpt-4o",
                    "input_tokens": total - read - write if anthropic else total,
                    "output_tokens": int(rng.integers(50, 150)),
                    "cost_usd": None,
                    "cache_read_tokens": read,
                    "cache_write_tokens": write,
                    "cache_in_input": not anthropic,
                    "total_in": total,
                }
            )
    return pd.DataFrame(rows)


def test_recompute_prices_cached_tokens_as_genai_prices_does() -> None:
    frame = _cache_frame()
    ws = pab.Workspace()
    ws.load_frame(frame.drop(columns="total_in"), kind="generations")
    prices = pricing.price_table(ws.engine)
    cost, join = pricing.recomputed_cost("g", prices)
    got = ws.sql(f"SELECT g.uuid, {cost} AS usd FROM generations g {join}").set_index("uuid").usd
    ref = frame.apply(
        lambda r: _genai_cost(
            r.provider, r.model, r.total_in, r.cache_read_tokens, r.cache_write_tokens,
            r.output_tokens,
        ),
        axis=1,
    )  # fmt: skip
    np.testing.assert_allclose(got[frame.uuid].to_numpy(), ref.to_numpy(), rtol=1e-12)


def test_a_prompt_that_breaks_the_cache_costs_more_when_recomputed() -> None:
    # Same tokens in both arms, but v2 reads nothing from the cache: it really costs more.
    frame = _cache_frame()
    ws = pab.Workspace()
    ws.load_frame(frame.drop(columns="total_in"), kind="generations")
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    res = exp.analyze(["cost"], cost="recompute")
    frame["usd"] = [
        _genai_cost(r.provider, r.model, r.total_in, r.cache_read_tokens, r.cache_write_tokens,
                    r.output_tokens)
        for r in frame.itertuples()
    ]  # fmt: skip
    per_user = frame.groupby(["prompt_version", "distinct_id"]).usd.sum()
    got = res.to_pandas().set_index("variant")["mean"]
    assert got["control"] == pytest.approx(per_user["v1"].mean(), rel=1e-12)
    assert got["test"] == pytest.approx(per_user["v2"].mean(), rel=1e-12)
    assert res.rows[1].significant and res.rows[1].diff > 0


def test_cache_tokens_the_input_cannot_hold_leave_the_cost_unknown() -> None:
    frame = _cache_frame(n_users=4).drop(columns="total_in")
    frame.loc[0, ["input_tokens", "cache_read_tokens", "cache_in_input"]] = [10, 500, True]
    ws = pab.Workspace()
    ws.load_frame(frame, kind="generations")
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    audit = exp.cost_audit().set_index("model")
    assert audit.unpriced_recomputed.sum() == 1
