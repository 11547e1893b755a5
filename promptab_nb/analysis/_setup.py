"""How the analysis entry points read an experiment: its engine, its :class:`._scope.Design`
per unit (identity map, recomputed cost), the cost source, the source text of the health
check, and the refusal of quantile metrics where only per-unit values apply."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError
from ..metrics import Metric
from ..options import AnalysisOptions
from . import _scope

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment
    from ..options import CostSource


def engine_for(exp: Experiment, engine: Engine | None) -> Engine:
    return engine if engine is not None else exp.ws.engine


def design_for(
    eng: Engine, exp: Experiment, unit: str | None, cost: CostSource = "source"
) -> _scope.Design:
    """How ``exp`` is read per ``unit``; with ``cost="recompute"`` each generation's cost is
    priced from its tokens (a price table on ``eng``), as every analysis of that cost must."""
    per_request = _scope.design_of(exp, unit).per_request
    design = _scope.design_of(
        exp, unit, identity_map=not per_request and _scope.needs_identity_map(eng)
    )
    if cost == "recompute":
        from ..pricing import price_table

        design = dataclasses.replace(design, prices=price_table(eng))
    return design


def cost_source(cost: Any) -> CostSource:
    """``cost`` checked as :meth:`Experiment.analyze` checks it (by :class:`AnalysisOptions`:
    the same values and messages)."""
    return AnalysisOptions(cost=cost).cost


def source_text_of(exp: Experiment, design: _scope.Design) -> str:
    text = exp.source_text
    if design.prices is not None:
        from ..pricing import prices_version

        text += f"; cost recomputed from provider, model and tokens with {prices_version()}"
    if design.per_request:
        text += "; each generation is its own unit"
    if design.identity_map:
        text += "; units resolved through the distinct_id → person_id pairs of the export"
    return text


def no_quantile(m: Metric) -> None:
    if m.kind == "quantile":
        raise InvalidArgumentError(
            f"metric {m.name!r} is a quantile over events; it has no per-unit or cumulative "
            f"value here. Use the mean metric of the same column (e.g. 'latency')."
        )
