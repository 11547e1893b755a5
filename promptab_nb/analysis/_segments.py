"""Segments (``exp.analyze(..., by="model")``): the same comparison within each segment, with
Benjamini–Hochberg adjusted p-values across segments, a low-power flag per segment, and Cochran's
Q test of whether the effect differs between segments.

A unit's segment is the value of ``by`` on its first in-scope generation (a generations column,
or ``properties.<key>`` for a PostHog property kept with ``load_posthog(keep_properties=True)``)
or on its first exposure (an exposures column); units without one are ``(none)``. Segments past
the :data:`MAX_SEGMENTS` largest are pooled as ``(other)``. Per-user metrics only (quantile and
per-request metrics are noted and skipped).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from .. import stats as st
from .._sql import ident
from ..errors import InvalidArgumentError
from ..results import SegmentResult
from ..schema import TABLES
from ..stats.guards import MIN_UNITS_PER_ARM
from . import _build, _scope
from .estimators import Estimator, Scope, UserCuped, UserMean, UserRatio

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..metrics import Metric
    from ..options import AnalysisOptions

MAX_SEGMENTS = 20
_GEN = {c for c, _ in TABLES["generations"]} - {"properties", "import_id", "uuid", "ts"}
_EXPO = {c for c, _ in TABLES["exposures"]} - {"import_id", "uuid", "ts", "variant"}
PROPERTY = "properties."


def check_by(by: str) -> None:
    """Raise :class:`InvalidArgumentError` naming the columns ``by`` may be."""
    if by.startswith(PROPERTY) and len(by) > len(PROPERTY):
        return
    if by not in _GEN | _EXPO:
        from .._checks import did_you_mean

        raise InvalidArgumentError(
            f"by == {by!r} is not a generations or exposures column"
            f"{did_you_mean(by, sorted(_GEN | _EXPO))} (columns: "
            f"{', '.join(sorted(_GEN | _EXPO))}; or 'properties.<key>' for a PostHog property)"
        )


def segment_sql(exp: Experiment, by: str, design: _scope.Design) -> str:
    """``unit, segment`` of every unit with a value of ``by`` (parameter ``$by_path``)."""
    if by in _GEN or by.startswith(PROPERTY):
        column = "properties" if by.startswith(PROPERTY) else by
        fake = cast("Metric", SimpleNamespace(source="generations", column=column))
        value = (
            "json_extract_string(properties, $by_path)"
            if by.startswith(PROPERTY)
            else f"CAST({ident(column)} AS VARCHAR)"
        )
        return (
            f"{_scope.ctes(exp, [fake], design)} SELECT unit, arg_min({value}, ts) AS segment "
            f"FROM gen WHERE {value} IS NOT NULL GROUP BY unit"
        )
    return (
        f"SELECT coalesce(person_id, distinct_id) AS unit, "
        f"arg_min(CAST({ident(by)} AS VARCHAR), ts) AS segment FROM exposures "
        f"WHERE flag_key = $flag AND {ident(by)} IS NOT NULL GROUP BY 1"
    )


def units_sql(per_unit: str, segments: str) -> str:
    """The per-unit rows with ``seg_id`` (1 = the largest segment) and ``seg_name``."""
    return f"""
    WITH base AS (
        SELECT t.*, coalesce(s.segment, '(none)') AS segment
        FROM ({per_unit}) t LEFT JOIN ({segments}) s USING (unit)
    ),
    top AS (SELECT segment, row_number() OVER (ORDER BY count(*) DESC, segment) AS r
            FROM base GROUP BY segment)
    SELECT base.*, least(top.r, {MAX_SEGMENTS + 1}) AS seg_id,
           CASE WHEN top.r <= {MAX_SEGMENTS} THEN base.segment ELSE '(other)' END AS seg_name
    FROM base JOIN top USING (segment)
    """


def _supported(est: Estimator) -> bool:
    return isinstance(est, UserMean | UserRatio | UserCuped)


def cochran_q(effects: list[float], ses: list[float]) -> tuple[float, int, float, float]:
    """Cochran's Q of per-segment effects with standard errors: ``(Q, df, p, I²)``.

    ``Q = Σ wᵢ (θᵢ − θ̄)²`` with ``wᵢ = 1/seᵢ²`` and the inverse-variance mean ``θ̄``; under
    H0 (the same effect in every segment) ``Q ~ χ²(k − 1)``; the alternative is that the effect
    differs between segments. ``I² = max(0, (Q − df)/Q)``.
    """
    import scipy.stats

    pairs = [(e, s) for e, s in zip(effects, ses, strict=True) if e == e and s == s and s > 0]
    k = len(pairs)
    if k < 2:
        return math.nan, 0, math.nan, math.nan
    w = [1 / (s * s) for _, s in pairs]
    mean = sum(wi * e for wi, (e, _) in zip(w, pairs, strict=True)) / sum(w)
    q = sum(wi * (e - mean) ** 2 for wi, (e, _) in zip(w, pairs, strict=True))
    df = k - 1
    return q, df, float(scipy.stats.chi2.sf(q, df)), max(0.0, (q - df) / q) if q > 0 else 0.0


def run(
    eng: Engine,
    exp: Experiment,
    options: AnalysisOptions,
    estimators: list[Estimator],
    per_unit: str,
    params: dict[str, Any],
    design: _scope.Design,
) -> SegmentResult:
    """Per-segment rows, BH-adjusted p-values, low-power flags and Cochran's Q."""
    by = cast(str, options.by)
    seg = segment_sql(exp, by, design)
    q_params = {
        **params,
        "by_path": "$." + by[len(PROPERTY) :] if by.startswith(PROPERTY) else None,
    }
    if not by.startswith(PROPERTY):
        q_params.pop("by_path")
    rows: list[dict[str, Any]] = []
    notes = [
        f"{e.metric.name}: segments need a per-user metric; not segmented"
        for e in estimators
        if not _supported(e)
    ]
    with eng.unit_rows(units_sql(per_unit, seg), q_params) as table:
        # Only segments holding a unit of an arm: units of unknown variants or $multiple
        # alone (without generations: "(none)") have nothing to compare.
        held = eng.fetch(f"SELECT DISTINCT seg_id, seg_name, variant FROM {table} ORDER BY 1")
        names = {seg_id: name for seg_id, name, variant in held if variant in exp.variants}
        for seg_id, name in names.items():
            units = f"(SELECT * FROM {table} WHERE seg_id = {int(seg_id)})"
            for i, est in enumerate(estimators):
                if not _supported(est):
                    continue
                arms = est.arms(Scope(eng, exp, params, units, i, design))
                built = _build.metric_rows(est, arms, exp)
                control = next(x for x in built if x["is_control"])
                rows += [_segment_row(str(name), r, control) for r in built if not r["is_control"]]
    _adjust(rows)
    het = _heterogeneity(rows)
    _low_power(rows, exp, options)
    return SegmentResult(
        experiment=exp.name, by=by, control=exp.control, alpha=options.alpha,
        rows=tuple(rows), heterogeneity=tuple(het), notes=tuple(notes),
        units={e.metric.name: e.metric.unit for e in estimators},
    )  # fmt: skip


def _segment_row(name: str, r: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    keep = ("metric", "variant", "diff", "diff_ci_low", "diff_ci_high", "rel_diff", "p_value",
            "se", "note")  # fmt: skip
    out = {k: r.get(k) for k in keep}
    out.update(segment=name, n_control=int(control["n"]), n_treatment=int(r["n"]))
    return out


def _adjust(rows: list[dict[str, Any]]) -> None:
    """Benjamini–Hochberg across the segments of each (metric, treatment)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        r["p_bh"] = math.nan
        if r["p_value"] == r["p_value"] and r["p_value"] is not None:
            groups.setdefault((r["metric"], r["variant"]), []).append(i)
    for idx in groups.values():
        adj = st.adjust_pvalues([rows[i]["p_value"] for i in idx], method="bh")
        adj = getattr(adj, "p_adjusted", adj)
        for i, p in zip(idx, adj, strict=True):
            rows[i]["p_bh"] = float(p)


def _heterogeneity(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    keys = dict.fromkeys((r["metric"], r["variant"]) for r in rows)
    for metric, variant in keys:
        sub = [r for r in rows if r["metric"] == metric and r["variant"] == variant]
        q, df, p, i2 = cochran_q(
            [float(r["diff"]) if r["diff"] is not None else math.nan for r in sub],
            [float(r["se"]) if r["se"] is not None else math.nan for r in sub],
        )
        out.append(dict(metric=metric, variant=variant, q=q, df=df, p_value=p, i2=i2,
                        segments=sum(1 for r in sub if r["se"] == r["se"] and r["se"])))  # fmt: skip
    return out


def _low_power(rows: list[dict[str, Any]], exp: Experiment, options: AnalysisOptions) -> None:
    """Low power: under the minimum sample, or (for the goal, with an MDE) under 50 % power to
    detect the MDE with the segment's standard error."""
    from statistics import NormalDist

    d = getattr(exp, "design", None)
    z = NormalDist().inv_cdf(1 - options.alpha / 2)
    for r in rows:
        low = min(r["n_control"], r["n_treatment"]) < MIN_UNITS_PER_ARM
        r["power"] = math.nan
        se = r["se"]
        if d is not None and d.mde is not None and r["metric"] == d.goal and se and se == se:
            size = d.mde.size
            if d.mde.relative:
                base = (r["diff"] / r["rel_diff"]) if r["rel_diff"] else math.nan
                size = d.mde.size * abs(base) if base == base else math.nan
            if size == size:
                r["power"] = NormalDist().cdf(size / se - z)
                low = low or r["power"] < 0.5
        r["low_power"] = bool(low)
