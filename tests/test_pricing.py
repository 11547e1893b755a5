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


def _price_at(provider, model, ts, total_in, read, write, out) -> float | None:
    """genai-prices' price of one call made at ``ts`` (its input_tokens count the cached
    tokens); a provider genai-prices does not know is dropped, as the recompute does."""
    usage = genai_prices.Usage(
        input_tokens=total_in, cache_read_tokens=read, cache_write_tokens=write, output_tokens=out
    )
    for pid in dict.fromkeys([provider, None]):
        try:
            calc = genai_prices.calc_price(
                usage, model, provider_id=pid, genai_request_timestamp=ts
            )
        except LookupError:
            continue
        return float(calc.total_price)
    return None


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# (provider, model, time of the call, input counting the cached tokens, cache reads, cache
# writes, output); None tokens are unknown.
CALLS = {
    "plain": ("openai", "gpt-4o", "2026-03-01 10:00", 1_000, 0, 0, 100),
    "cache_read": ("openai", "gpt-4o", "2026-03-01 10:00", 3_000, 2_000, 0, 300),
    "anthropic_cache": ("anthropic", "claude-sonnet-4-5", "2026-03-01 10:00", 3_000, 2_000, 500,
                        300),
    "no_cache_price": ("groq", "llama-3.1-8b-instant", "2026-03-01 10:00", 3_000, 2_000, 0, 300),
    "provider_case": ("OpenAI", "gpt-4o", "2026-03-01 10:00", 1_000, 200, 0, 100),
    "no_provider": (None, "gpt-4o", "2026-03-01 10:00", 1_000, 200, 0, 100),
    "unknown_provider": ("my-proxy", "gpt-4o-mini", "2026-03-01 10:00", 1_000, 0, 0, 100),
    "unknown_model": ("openai", "no-such-model-xyz", "2026-03-01 10:00", 1_000, 0, 0, 100),
    "zero_tokens": ("openai", "gpt-4o", "2026-03-01 10:00", 0, 0, 0, 0),
    "null_input": ("openai", "gpt-4o", "2026-03-01 10:00", None, 0, 0, 100),
    "null_output": ("openai", "gpt-4o", "2026-03-01 10:00", 1_000, 0, 0, None),
    # long context: past 200k input tokens every token of the call costs the tier's price
    "tier_at_threshold": ("anthropic", "claude-sonnet-4-5", "2026-03-01 10:00", 200_000,
                          150_000, 0, 1_000),
    "tier_above": ("anthropic", "claude-sonnet-4-5", "2026-03-01 10:00", 200_001, 150_000,
                   1_000, 1_000),
    "tier_cached": ("anthropic", "claude-sonnet-4-5", "2026-03-01 10:00", 250_000, 200_000,
                    1_000, 5_000),
    "tier_gemini": ("google", "gemini-2.5-pro", "2026-03-01 10:00", 300_000, 100_000, 0, 2_000),
    "huge": ("anthropic", "claude-sonnet-4-5", "2026-03-01 10:00", 2_000_000_000, 0, 0, 1),
    # a price per request on top of the tokens
    "request_fee": ("perplexity", "sonar", "2026-03-01 10:00", 1_000, 0, 0, 100),
    "request_fee_only": ("perplexity", "sonar-pro", "2026-03-01 10:00", 0, 0, 0, 0),
    "request_fee_cached": ("perplexity", "sonar", "2026-03-01 10:00", 3_000, 2_000, 500, 300),
    # the price in force when the call was made: off-peak hours, a price change on a date
    "off_peak": ("deepseek", "deepseek-chat", "2026-03-01 18:00", 3_000, 2_000, 0, 300),
    "off_peak_start": ("deepseek", "deepseek-chat", "2026-03-01 16:30", 3_000, 2_000, 0, 300),
    "peak": ("deepseek", "deepseek-chat", "2026-03-01 10:00", 3_000, 2_000, 0, 300),
    "peak_start": ("deepseek", "deepseek-chat", "2026-03-02 00:30", 3_000, 2_000, 0, 300),
    "before_price_drop": ("openai", "o3", "2025-06-09 23:59", 3_000, 1_000, 0, 300),
    "after_price_drop": ("openai", "o3", "2025-06-10 00:00", 3_000, 1_000, 0, 300),
    "date_and_tier": ("x-ai", "grok-4.20", "2026-04-29 12:00", 199_999, 0, 0, 100),
    "date_and_tier_above": ("x-ai", "grok-4.20", "2026-05-01 12:00", 250_000, 10_000, 0, 100),
    "dates_and_hours": ("deepseek", "deepseek-v4-flash", "2026-08-20 12:00", 3_000, 2_000, 0,
                        300),
    "dates_and_hours_2": ("deepseek", "deepseek-v4-flash", "2026-09-15 07:00", 3_000, 2_000, 0,
                          300),
    "price_rise": ("mistral", "mistral-medium-latest", "2026-07-01 10:00", 3_000, 0, 0, 300),
}  # fmt: skip


@pytest.fixture(scope="module")
def priced_calls() -> pd.Series:
    """Every call of CALLS twice: with the input counting the cached tokens (OpenAI style)
    and without (Anthropic style), priced by cost='recompute'."""
    rows = []
    for name, (prov, model, at, total, read, write, out) in CALLS.items():
        for inside in (True, False):
            apart = None if total is None else total - read - write
            rows.append({
                "uuid": f"{name}/{inside}", "ts": _at(at), "distinct_id": "u",
                "provider": prov, "model": model,
                "input_tokens": total if inside else apart, "output_tokens": out,
                "cache_read_tokens": read, "cache_write_tokens": write, "cache_in_input": inside,
            })  # fmt: skip
    frame = pd.DataFrame(rows).astype({"input_tokens": "Int64", "output_tokens": "Int64"})
    ws = pab.Workspace()
    ws.load_frame(frame, kind="generations")
    cost, join = pricing.recomputed_cost("g", pricing.price_table(ws.engine))
    got = ws.sql(f"SELECT g.uuid, {cost} AS usd FROM generations g {join}").set_index("uuid").usd
    ws.close()
    return got


@pytest.mark.parametrize("name", list(CALLS))
def test_recomputed_cost_is_genai_prices_call_by_call(name: str, priced_calls) -> None:
    prov, model, at, total, read, write, out = CALLS[name]
    if total is None or out is None:
        ref = None  # unknown tokens: unknown cost, never 0
    else:
        ref = _price_at(prov, model, _at(at), total, read, write, out)
    for inside in (True, False):
        got = priced_calls[f"{name}/{inside}"]
        if ref is None:
            assert pd.isna(got), (inside, got)
        else:
            assert got == pytest.approx(ref, rel=1e-9, abs=1e-15), (inside, got, ref)


def test_model_price_has_the_request_fee_the_tier_and_the_time() -> None:
    def ref(model: str, provider: str, at: dt.datetime | None = None, **usage: int) -> float:
        u = genai_prices.Usage(**usage)
        return float(genai_prices.calc_price(u, model, provider_id=provider,
                                             genai_request_timestamp=at).total_price)  # fmt: skip

    sonar = pricing.model_price("perplexity", "sonar")
    assert sonar.usd_per_request == pytest.approx(ref("sonar", "perplexity", input_tokens=0))
    total = sonar.usd_per_request + 1000 * sonar.usd_per_input_token
    assert total + 500 * sonar.usd_per_output_token == pytest.approx(
        ref("sonar", "perplexity", input_tokens=1000, output_tokens=500), rel=1e-12
    )
    assert pricing.model_price("openai", "gpt-4o").usd_per_request == 0
    long = pricing.model_price("anthropic", "claude-sonnet-4-5", input_tokens=250_000)
    assert 250_000 * long.usd_per_input_token == pytest.approx(
        ref("claude-sonnet-4-5", "anthropic", input_tokens=250_000), rel=1e-12
    )
    night = _at("2026-03-01 18:00")
    off_peak = pricing.model_price("deepseek", "deepseek-chat", at=night)
    assert 1000 * off_peak.usd_per_output_token == pytest.approx(
        ref("deepseek-chat", "deepseek", night, output_tokens=1000), rel=1e-12
    )


def test_cost_audit_checks_its_tolerance() -> None:
    ws, _ = _workspace()
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    for bad in (-0.1, "1%", float("nan")):
        with pytest.raises(pab.errors.InvalidArgumentError, match="tolerance"):
            exp.cost_audit(tolerance=bad)


def test_absurd_cache_counts_leave_the_cost_unknown_without_breaking_the_analysis() -> None:
    # Counts the loaders accept (whole numbers >= 0) whose sum overflows a 64-bit integer.
    frame = _cache_frame(n_users=4).drop(columns="total_in")
    cols = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_in_input"]
    frame.loc[0, cols] = [10, 2**62, 2**62, True]  # cache tokens the input cannot hold
    frame.loc[1, cols] = [2**62, 2**62, 2**62, False]  # apart: 3 × 2^62 input tokens in all
    ws = pab.Workspace()
    ws.load_frame(frame, kind="generations")
    exp = ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"})
    assert exp.cost_audit().unpriced_recomputed.sum() == 1
    prices = pricing.price_table(ws.engine)
    cost, join = pricing.recomputed_cost("g", prices)
    got = ws.sql(f"SELECT g.uuid, {cost} AS usd FROM generations g {join}").set_index("uuid").usd
    row = frame.iloc[1]
    ref = _genai_cost(row.provider, row.model, 3 * 2**62, 2**62, 2**62, row.output_tokens)
    assert got[row.uuid] == pytest.approx(ref, rel=1e-9)
    assert exp.analyze(["cost"], cost="recompute").rows[0].n == 2


def test_prices_of_a_span_of_one_input_size_still_add_up() -> None:
    # A long-context tier one token wide, or a base tier of empty calls only: the price per
    # request cannot be told from the input price, but every call there costs what it should.
    at = _at("2026-03-01 10:00")

    def ref(**usage: int) -> float:
        u = genai_prices.Usage(**usage)
        return float(genai_prices.calc_price(u, "sonar", provider_id="perplexity",
                                             genai_request_timestamp=at).total_price)  # fmt: skip

    usd_in, usd_out, usd_read, _, fee = pricing._rates(
        genai_prices, "perplexity", "sonar", at, 199_999, 200_000
    )
    got = fee + 150_000 * usd_in + 50_000 * usd_read + 10 * usd_out
    assert got == pytest.approx(
        ref(input_tokens=200_000, cache_read_tokens=50_000, output_tokens=10), rel=1e-12
    )
    *_, fee = pricing._rates(genai_prices, "perplexity", "sonar", at, None, 0)
    assert fee == pytest.approx(ref(input_tokens=0), rel=1e-12)


# -- the other views of the cost: per-unit values, rank test, effect over time -----------------
def _experiment(frame: pd.DataFrame | None = None) -> tuple[pab.Experiment, pd.DataFrame]:
    """The experiment of :func:`_workspace` (the export priced nothing), or of ``frame``."""
    if frame is None:
        ws, frame = _workspace()
    else:
        ws = pab.Workspace()
        ws.load_frame(frame, kind="generations")
    return ws.create_experiment("x", "bot", {"control": "v1", "test": "v2"}), frame


def _recomputed_per_user(frame: pd.DataFrame) -> pd.Series:
    """Each user's cost priced here, apart from the analysis: tokens × genai-prices' per-token
    prices of gpt-4o-mini; indexed by (variant, unit)."""
    p = pricing.model_price("openai", "gpt-4o-mini", at=T0)
    assert p.usd_per_input_token and p.usd_per_output_token
    usd = frame.input_tokens * p.usd_per_input_token + frame.output_tokens * (
        p.usd_per_output_token
    )
    arm = frame.prompt_version.map({"v1": "control", "v2": "test"}).rename("variant")
    return usd.groupby([arm, frame.distinct_id.rename("unit")]).sum()


def test_unit_values_recompute_the_cost() -> None:
    exp, frame = _experiment()
    ref = _recomputed_per_user(frame)
    got = exp.unit_values("cost", cost="recompute").set_index(["variant", "unit"])["value"]
    assert len(got) == len(ref) == 240
    np.testing.assert_allclose(got[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-12)
    # the export's cost priced nothing: every unit's cost is unknown, not $0 (as analyze()
    # gives each arm no mean: "nothing measured")
    export = exp.unit_values("cost")
    assert len(export) == 240 and export["value"].isna().all() and export["num"].isna().all()


def test_mann_whitney_ranks_the_recomputed_cost() -> None:
    import scipy.stats

    exp, frame = _experiment()
    assert exp.mann_whitney("cost")["test"] is None  # the export priced nothing: withheld
    ref = _recomputed_per_user(frame)
    want = scipy.stats.mannwhitneyu(ref["test"], ref["control"], method="asymptotic")
    got = exp.mann_whitney("cost", cost="recompute")["test"]
    assert got is not None and (got.n_control, got.n_treatment) == (120, 120)
    assert got.u == want.statistic
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-9)


def test_analysis_over_time_ends_at_the_recomputed_estimate() -> None:
    exp, frame = _experiment()
    res = exp.analyze(["cost"], cost="recompute")
    ref = _recomputed_per_user(frame)
    last = exp.analyze_over_time("cost", cost="recompute", relative=False).records[-1]
    assert last["estimate"] == pytest.approx(res.rows[1].diff, rel=1e-9)
    assert last["estimate"] == pytest.approx(ref["test"].mean() - ref["control"].mean(), rel=1e-9)
    assert last["note"] is None and last["p_value"] == pytest.approx(res.rows[1].p_value, rel=1e-6)
    rel = exp.analyze_over_time("cost", cost="recompute").records[-1]
    assert rel["estimate"] == pytest.approx(res.rows[1].rel_diff, rel=1e-9)
    # the export's cost priced nothing: over time as in analyze(), no verdict on it
    assert np.isnan(exp.analyze_over_time("cost").records[-1]["p_value"])


def test_the_cost_option_is_checked_as_analyze_checks_it() -> None:
    exp, _ = _experiment()
    with pytest.raises(pab.errors.InvalidArgumentError) as want:
        exp.analyze(["cost"], cost="list")  # type: ignore[arg-type]
    assert "cost" in str(want.value)
    for call in (exp.mann_whitney, exp.analyze_over_time, exp.unit_values):
        with pytest.raises(pab.errors.InvalidArgumentError) as got:
            call("cost", cost="list")  # type: ignore[operator]
        assert str(got.value) == str(want.value), call.__name__


def test_a_withheld_recomputed_cost_names_cache_tokens_the_input_cannot_hold() -> None:
    _, frame = _workspace()
    frame["cache_read_tokens"], frame["cache_write_tokens"] = 0, 0
    frame["cache_in_input"] = True
    bad = (frame.prompt_version == "v2") & (frame.index % 8 == 0)  # a quarter of v2's calls
    frame.loc[bad, "cache_read_tokens"] = frame.loc[bad, "input_tokens"] + 1
    exp, _ = _experiment(frame)
    assert exp.cost_audit().unpriced_recomputed.sum() == bad.sum()
    row = exp.analyze(["cost"], cost="recompute").rows[1]
    assert np.isnan(row.p_value) and row.note is not None and "verdict withheld" in row.note
    assert "cache tokens" in row.note and "exp.cost_audit()" in row.note
