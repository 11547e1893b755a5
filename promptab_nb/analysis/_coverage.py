"""Exposed units without events, per arm: an arm where most exposed units have no in-scope
generation while the other arms have them usually reads events under another identity
(``person_id`` on exposures, only ``distinct_id`` on events), another prompt name or another
version — and would report −100 % cost and requests as a 'significant' result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..results import HealthFlag

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment

#: An arm is flagged when its share of exposed units without events exceeds every other arm's
#: by this much (absolute) and it has at least MIN_UNITS exposed units.
GAP = 0.25
MIN_UNITS = 20


def flags(engine: Engine, table: str, exp: Experiment) -> list[HealthFlag]:
    """A warning per arm whose exposed units mostly have no generations in scope."""
    rows = engine.fetch(
        f"SELECT variant, count(*), count(*) FILTER (WHERE gens = 0) FROM {table} "
        "WHERE variant <> '$multiple' GROUP BY variant"
    )
    empty = {k: (int(n), int(z)) for k, n, z in rows if k in exp.variants}
    out = []
    if empty and all(z == n for n, z in empty.values()):
        return [
            HealthFlag(
                "units_without_events",
                "error",
                "no exposed unit has a generation in scope: the generations may not be loaded, "
                "or carry another id (person_id on exposures, only distinct_id on events), "
                "another prompt name or version, or fall outside the window",
            )
        ]
    for key, (n, z) in empty.items():
        others = [zz / nn for k, (nn, zz) in empty.items() if k != key and nn >= MIN_UNITS]
        if n < MIN_UNITS or not others:
            continue
        share = z / n
        if share - max(others) > GAP:
            out.append(
                HealthFlag(
                    "units_without_events",
                    "error",
                    f"{key}: {share:.0%} of its {n:,} exposed units have no generation in scope "
                    f"(other arms at most {max(others):.0%}); its events may carry another id "
                    "(person_id on exposures, only distinct_id on events, or the reverse), "
                    "another prompt name or another prompt version",
                )
            )
    return out
