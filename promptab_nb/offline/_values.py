"""A run's values per unit for :func:`.compare` (scores, or cost / latency / tokens from the
results), paired across two versions, and the baseline's A/A noise floor (repeat 0 vs 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .. import stats
from ._compare_result import Pairing
from ._paired import LeftOut, aa_left_out

if TYPE_CHECKING:
    import pandas as pd

    from ._run import OfflineRun


# Built-in run metrics: column in offline_results, unit, higher is better.
RUN_METRICS: dict[str, tuple[str, str, bool]] = {
    "cost_usd": ("cost_usd", "USD", False),
    "latency_s": ("latency_s", "s", False),
    "output_tokens": ("output_tokens", "tokens", False),
}


_SCORE_VALUES = """
    SELECT version, item_id, {key} AS k, avg(value) AS value,
           -- pass/fail only when every value is 0/1: a graded score with a pass flag is a score
           bool_and(passed IS NOT NULL AND value IN (0, 1)) AS binary
    FROM offline_scores
    WHERE run_id = $run AND scorer = $scorer AND value IS NOT NULL
    GROUP BY ALL
"""


_RESULT_VALUES = """
    SELECT version, item_id, {key} AS k, avg({col}) AS value, false AS binary
    FROM offline_results
    WHERE run_id = $run AND error IS NULL AND {col} IS NOT NULL
    GROUP BY ALL
"""


def pair_key(pairing: Pairing) -> str:
    return "repeat_idx" if pairing == "repeat" else "0"


def result_column(metric: str) -> str | None:
    """The offline_results column of a run metric (from the allow-list, never user text)."""
    return RUN_METRICS[metric][0] if metric in RUN_METRICS else None


def values_frame(run: OfflineRun, metric: str, pairing: Pairing) -> pd.DataFrame:
    key, col = pair_key(pairing), result_column(metric)
    if col is not None:
        query = _RESULT_VALUES.format(key=key, col=col)
        return run._ws.sql(query, {"run": run.run_id})
    return run._ws.sql(_SCORE_VALUES.format(key=key), {"run": run.run_id, "scorer": metric})


def paired_values(frame: pd.DataFrame, baseline: str, version: str) -> tuple[pd.DataFrame, bool]:
    """Units (index ``item_id``, ``k``) with a value in both versions, one column per version,
    and whether every value of the two versions is pass/fail."""
    import pandas as pd

    sub = frame[frame["version"].isin([baseline, version])]
    if sub.empty:
        empty = pd.MultiIndex.from_tuples([], names=["item_id", "k"])
        return pd.DataFrame(columns=[baseline, version], index=empty), False
    binary = bool(sub["binary"].all())
    wide = sub.pivot(index=["item_id", "k"], columns="version", values="value")
    for col in (baseline, version):
        if col not in wide.columns:
            wide[col] = np.nan
    return wide.dropna(), binary


def in_unit_range(run: OfflineRun, metric: str) -> bool:
    """Whether every stored value of scorer ``metric`` is in [0, 1] (always, for a scorer of
    ``run_offline``; an imported promptfoo score need not be), so its CIs can be clipped there."""
    if metric in RUN_METRICS:
        return False
    ((inside,),) = run._ws.engine.fetch(
        "SELECT coalesce(bool_and(value BETWEEN 0 AND 1), true) FROM offline_scores "
        "WHERE run_id = ? AND scorer = ? AND value IS NOT NULL",
        [run.run_id, metric],
    )
    return bool(inside)


def clip(
    estimate: tuple[float, float, float], low: float, high: float
) -> tuple[float, float, float]:
    """``(estimate, lo, hi)`` with the bounds clipped to ``[low, high]`` (NaN stays NaN)."""
    m, lo, hi = estimate
    return m, (max(lo, low) if lo == lo else lo), (min(hi, high) if hi == hi else hi)


def no_spread(sd: float, values: np.ndarray) -> bool:
    """Whether ``sd`` is 0 up to floating-point rounding of ``values`` (0.1 + 0.2 vs 0.3 gives an
    SD of 1e-17, which the power and sample-size formulas would take for real spread)."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return not sd > 1e-9 * scale


_AA_SCORES = """
    SELECT item_id, repeat_idx, value
    FROM offline_scores
    WHERE run_id = $run AND scorer = $scorer AND version = $version AND value IS NOT NULL
      AND repeat_idx IN (0, 1)
"""


_AA_RESULTS = """
    SELECT item_id, repeat_idx, {col} AS value
    FROM offline_results
    WHERE run_id = $run AND version = $version AND error IS NULL AND {col} IS NOT NULL
      AND repeat_idx IN (0, 1)
"""


class AAFloor(NamedTuple):
    """The baseline's A/A noise floor: flip rate, CI, and the items it left out (None with one
    repeat)."""

    flip: float | None
    ci: tuple[float, float] | None
    left: LeftOut | None = None
    n: int = 0

    def note(self, metric: str, baseline: str) -> str | None:
        """What the floor left out, or why there is none (None when it left nothing out)."""
        why = None if self.left is None else self.left.describe()
        if self.left is not None and self.ci is None:
            return (
                f"{metric}: no A/A noise floor for {baseline}, {self.n} of {self.left.n_units} "
                "items with a value in repeats 0 and 1 (2 needed)" + (f"; {why}" if why else "")
            )
        if why is None:
            return None
        return f"{metric}: A/A noise floor of {baseline} (repeat 0 vs repeat 1): {why}"


def aa_floor(
    run: OfflineRun, metric: str, baseline: str, binary: bool, alpha: float,
    cells: pd.DataFrame | None,
) -> AAFloor:  # fmt: skip
    """The noise floor; ``cells`` are :func:`cell_reasons` by repeat (None with one repeat)."""
    if run.repeats < 2 or cells is None:
        return AAFloor(None, None)
    if metric in RUN_METRICS:
        query = _AA_RESULTS.format(col=RUN_METRICS[metric][0])
        frame = run._ws.sql(query, {"run": run.run_id, "version": baseline})
    else:
        frame = run._ws.sql(_AA_SCORES, {"run": run.run_id, "scorer": metric, "version": baseline})
    wide = frame.pivot(index="item_id", columns="repeat_idx", values="value")
    wide = wide.dropna() if {0, 1} <= set(wide.columns) else wide.iloc[:0]
    left = aa_left_out(cells, baseline, wide.index)
    if len(wide) < 2:
        return AAFloor(None, None, left, len(wide))
    r0, r1 = wide[0].to_numpy(float), wide[1].to_numpy(float)
    flip = float(np.mean(r0 != r1)) if binary else None
    if np.all(r0 == r1):
        return AAFloor(flip, (0.0, 0.0), left, len(wide))
    t = stats.paired_t(r0, r1, alpha=alpha)
    if not in_unit_range(run, metric):
        return AAFloor(flip, t.ci, left, len(wide))
    _, lo, hi = clip((0.0, *t.ci), -1.0, 1.0)  # two scores in [0, 1] differ by at most 1
    return AAFloor(flip, (lo, hi), left, len(wide))
