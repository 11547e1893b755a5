"""The stored result of an offline run, and the list of runs in a workspace."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import _html
from .._format import num
from .._sql import ident
from ..errors import InvalidArgumentError, NotFoundError
from .dataset import Dataset, Item
from .prompts import PromptVersion

if TYPE_CHECKING:
    import pandas as pd

    from ..workspace import Workspace
    from .compare import LivePlan, OfflineComparison
    from .planning import DesignPlan

__all__ = ["OfflineRun", "RunList"]

Frame = Literal["pandas", "polars", "arrow"]

_SUMMARY = """
    SELECT version,
           count(*) AS calls,
           count(error) AS errors,
           count(*) FILTER (WHERE cached) AS cached,
           avg(latency_s) AS latency_s,
           avg(input_tokens) AS input_tokens,
           avg(output_tokens) AS output_tokens,
           avg(cost_usd) AS cost_usd,
           -- a call that answered without a cost is unpriced, not free: no total then
           count(*) FILTER (WHERE cost_usd IS NULL AND error IS NULL) AS unpriced,
           CASE WHEN unpriced = 0 THEN sum(cost_usd) END AS total_cost_usd
    FROM offline_results
    WHERE run_id = $run
    GROUP BY version
    ORDER BY list_position($labels, version)
"""

_SCORE_MEANS = """
    SELECT version, scorer, avg(value) AS mean, count(error) AS score_errors
    FROM offline_scores
    WHERE run_id = $run
    GROUP BY version, scorer
"""


def _unpriced(rec: dict[str, Any]) -> str:
    """`` (k of n unpriced)`` for a summary row whose answered calls were partly unpriced."""
    k, answered = int(rec["unpriced"]), int(rec["calls"]) - int(rec["errors"])
    return f" ({k:,} of {answered:,} unpriced)" if 0 < k < answered else ""


@dataclass(frozen=True)
class OfflineRun:
    """One offline run: every (version, item, repeat) cell, its output, scores, cost and latency.

    Created by ``ws.run_offline(...)`` and reopened by ``ws.offline_run(run_id)``. The cell-level
    data stay in the workspace tables; methods query them.

    Attributes
    ----------
    run_id, name, created_at
        Identity of the run (``created_at`` in UTC).
    model_id
        What the cache keyed on.
    versions
        The prompt versions, baseline first (empty for runs imported from other tools, e.g.
        promptfoo, whose versions are only labels).
    labels
        How results name each version (``name@vN``), baseline first.
    scorers
        Scorer names.
    repeats
        Calls per (version, item).
    dataset
        The dataset as stored with the run.
    seconds
        Wall-clock duration of the run (NaN when unknown: an imported file that does not say).
    model_calls, cache_hits
        Model invocations made (retries included) and cells answered from the cache.
    n_errors, n_score_errors
        Cells whose model call failed; scores that raised.
    """

    run_id: str
    name: str
    created_at: dt.datetime
    model_id: str
    versions: tuple[PromptVersion, ...]
    labels: tuple[str, ...]
    scorers: tuple[str, ...]
    repeats: int
    dataset: Dataset = field(repr=False)
    seconds: float
    model_calls: int
    cache_hits: int
    n_errors: int
    n_score_errors: int
    params: dict[str, Any] = field(repr=False, compare=False)
    _ws: Workspace = field(repr=False, compare=False)

    @classmethod
    def _load(cls, ws: Workspace, run_id: str) -> OfflineRun:
        row = ws.engine.fetch(
            """
            SELECT name, created_at, model_id, versions, scorers, repeats, dataset, seconds,
                   model_calls, cache_hits, params
            FROM offline_runs WHERE run_id = ?
            """,
            [run_id],
        )
        if not row:
            raise NotFoundError(f"no offline run {run_id!r} in this workspace")
        (name, created, mid, versions, scorers, repeats, dataset, seconds, calls, hits, params) = (
            row[0]
        )
        (n_err,) = ws.engine.fetch(
            "SELECT count(*) FROM offline_results WHERE run_id = ? AND error IS NOT NULL",
            [run_id],
        )[0]
        versions_ = []
        labels = []
        for v in json.loads(versions):
            if isinstance(v, dict):  # written by run_offline
                pv = PromptVersion(v["name"], int(v["version"]), v["template"])
                versions_.append(pv)
                labels.append(pv.label)
            else:  # imported runs (promptfoo …) store only the label
                labels.append(str(v))
        names = [s["name"] if isinstance(s, dict) else str(s) for s in json.loads(scorers)]
        for (extra,) in ws.engine.fetch(
            "SELECT DISTINCT scorer FROM offline_scores WHERE run_id = ? ORDER BY scorer",
            [run_id],
        ):
            if extra not in names:
                names.append(extra)
        stored = json.loads(dataset)
        if isinstance(stored.get("items"), list):
            data = Dataset._from_stored(stored)
        else:  # imported runs do not carry the items: rebuild ids from the results
            ids = ws.engine.fetch(
                "SELECT DISTINCT item_id FROM offline_results WHERE run_id = ? ORDER BY item_id",
                [run_id],
            )
            data = Dataset(tuple(Item(str(i), {}) for (i,) in ids), name=stored.get("file"))
        (n_serr,) = ws.engine.fetch(
            "SELECT count(*) FROM offline_scores WHERE run_id = ? AND error IS NOT NULL",
            [run_id],
        )[0]
        return cls(
            run_id=run_id,
            name=name,
            created_at=created,
            model_id=mid,
            versions=tuple(versions_),
            labels=tuple(labels),
            scorers=tuple(names),
            repeats=int(repeats),
            dataset=data,
            # An imported run whose file does not give its duration (promptfoo without
            # stats.durationMs) has none: NaN, shown as "–".
            seconds=math.nan if seconds is None else float(seconds),
            model_calls=int(calls),
            cache_hits=int(hits),
            n_errors=int(n_err),
            n_score_errors=int(n_serr),
            params=json.loads(params),
            _ws=ws,
        )

    # -- lookups --------------------------------------------------------------------------
    def _label(self, version: PromptVersion | str | int) -> str:
        """Resolve a version given as an object, a label, a prompt name or a version number."""
        labels = list(self.labels)
        if isinstance(version, PromptVersion):
            key: Any = version.label
        else:
            key = version
        found: list[str] = []
        if isinstance(key, str):
            if key in labels:
                return key
            found = [v.label for v in self.versions if v.name == key]
        elif isinstance(key, int) and not isinstance(key, bool):
            found = [v.label for v in self.versions if v.version == key]
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidArgumentError(
                f"version {version!r} names {len(found)} versions of run {self.run_id}: "
                f"{', '.join(found)}; pass one of those labels"
            )
        raise InvalidArgumentError(
            f"version {version!r} is not in run {self.run_id}; versions: {', '.join(labels)}"
        )

    @property
    def n_items(self) -> int:
        return len(self.dataset)

    # -- frames ---------------------------------------------------------------------------
    def results(self, *, as_: Frame = "pandas") -> Any:
        """One row per (version, item, repeat): prompt, output, error, latency, tokens, cost."""
        return self._ws.sql(
            """
            SELECT * FROM offline_results WHERE run_id = $run
            ORDER BY list_position($labels, version), item_id, repeat_idx
            """,
            {"run": self.run_id, "labels": list(self.labels)},
            as_=as_,
        )

    def scores(self, *, as_: Frame = "pandas") -> Any:
        """One row per (version, item, repeat, scorer): value, passed, error."""
        return self._ws.sql(
            """
            SELECT * FROM offline_scores WHERE run_id = $run
            ORDER BY list_position($labels, version), item_id, repeat_idx, scorer
            """,
            {"run": self.run_id, "labels": list(self.labels)},
            as_=as_,
        )

    def errors(self) -> pd.DataFrame:
        """Failed cells (model errors and scorer errors), naming version, item and repeat."""
        return self._ws.sql(
            """
            SELECT version, item_id, repeat_idx, 'model' AS source, error
            FROM offline_results WHERE run_id = $run AND error IS NOT NULL
            UNION ALL
            SELECT version, item_id, repeat_idx, 'scorer ' || scorer, error
            FROM offline_scores WHERE run_id = $run AND error IS NOT NULL
            ORDER BY version, item_id, repeat_idx
            """,
            {"run": self.run_id},
        )

    def summary(self) -> pd.DataFrame:
        """Per version: calls, errors, scores that failed (``score_errors``), cache use, mean
        latency (s), tokens, mean cost per priced call (USD), calls answered without a cost
        (``unpriced``), the total cost (USD; missing when any call is unpriced: a partial sum is
        not the run's cost) and the mean of each scorer (a fraction for pass/fail scorers)."""
        frame = self._ws.sql(_SUMMARY, {"run": self.run_id, "labels": list(self.labels)})
        means = self._ws.sql(_SCORE_MEANS, {"run": self.run_id})
        # Scores that raised (no value, so not in the means), over every scorer.
        failed = means.groupby("version")["score_errors"].sum()
        frame.insert(3, "score_errors", frame["version"].map(failed).fillna(0).astype("int64"))
        for scorer in self.scorers:
            sub = means[means["scorer"] == scorer].set_index("version")["mean"]
            frame[scorer] = frame["version"].map(sub)
        return frame

    def to_pandas(self) -> pd.DataFrame:
        """The cells with one column per scorer (values in [0, 1]), ready for your own analysis."""
        cols = "".join(
            f", max(s.value) FILTER (WHERE s.scorer = ${i}) AS {ident(name)}"
            for i, name in enumerate(self.scorers, start=3)
        )
        params: list[Any] = [self.run_id, list(self.labels), *self.scorers]
        return self._ws.sql(
            f"""
            SELECT r.version, r.item_id, r.repeat_idx, r.output, r.error, r.latency_s,
                   r.input_tokens, r.output_tokens, r.cost_usd, r.cached{cols}
            FROM offline_results r
            LEFT JOIN offline_scores s USING (run_id, version, item_id, repeat_idx)
            WHERE r.run_id = $1
            GROUP BY r.version, r.item_id, r.repeat_idx, r.output, r.error, r.latency_s,
                     r.input_tokens, r.output_tokens, r.cost_usd, r.cached
            ORDER BY list_position($2, any_value(r.version)), r.item_id, r.repeat_idx
            """,
            params,
        )

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_pandas(self.to_pandas())

    # -- analysis -------------------------------------------------------------------------
    def compare(
        self, baseline: PromptVersion | str | int | None = None, **kwargs: Any
    ) -> OfflineComparison:
        """Paired comparison of every version with ``baseline``; see
        :func:`promptab_nb.offline.compare.compare`."""
        from .compare import compare

        return compare(self, baseline, **kwargs)

    def side_by_side(self, **kwargs: Any) -> pd.DataFrame:
        """Items with inputs, expected answer, and each version's output and scores; see
        :func:`promptab_nb.offline.compare.side_by_side`."""
        from .compare import side_by_side

        return side_by_side(self, **kwargs)

    def plan_live(
        self, metric: str, daily_users: float, split: float = 50, **kwargs: Any
    ) -> LivePlan:
        """Live sample size and days to detect the offline effect; see
        :func:`promptab_nb.offline.compare.plan_live`."""
        from .compare import plan_live

        return plan_live(self, metric, daily_users, split, **kwargs)

    def plan(self, mde: float, **kwargs: Any) -> DesignPlan:
        """Items × repeats that detect ``mde`` with the power at the least cost; see
        :func:`promptab_nb.offline.planning.plan`."""
        from .planning import plan

        return plan(self, mde, **kwargs)

    # -- display --------------------------------------------------------------------------
    def _headline(self) -> str:
        cells = self.n_items * self.repeats * len(self.labels)
        return (
            f"{self.name} [{self.run_id}]: {len(self.labels)} versions × {self.n_items} items × "
            f"{self.repeats} repeats = {cells:,} cells; {self.model_calls:,} model calls, "
            f"{self.cache_hits:,} cache hits, {self.n_errors:,} errors"
            + (f", {self.n_score_errors:,} scorer errors" if self.n_score_errors else "")
            + f", {num(self.seconds, 's')}"
        )

    def _summary_rows(self) -> tuple[list[str], list[list[str]]]:
        frame = self.summary()
        header = [
            "version",
            "calls",
            "errors",
            *self.scorers,
            "latency",
            "tokens out",
            "cost / call",
        ]
        rows = []
        for rec in frame.to_dict(orient="records"):
            rows.append([
                rec["version"], f"{rec['calls']:,}", f"{rec['errors']:,}",
                *[num(_nan(rec.get(s)), "%") for s in self.scorers],
                num(_nan(rec["latency_s"]), "s"), num(_nan(rec["output_tokens"])),
                num(_nan(rec["cost_usd"]), "USD") + _unpriced(rec),
            ])  # fmt: skip
        return header, rows

    def __repr__(self) -> str:
        header, rows = self._summary_rows()
        lines = [f"OfflineRun {self._headline()}"]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for r in [header, *rows]:
            lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        header, rows = self._summary_rows()
        return str(
            _html.el(
                "div",
                _html.el("style", _html.Markup(_html.STYLE)),
                _html.table(header, rows, caption=self._headline()),
                _html.el(
                    "p",
                    "Next: run.compare() for paired tests, run.side_by_side() to read outputs.",
                    class_="note",
                ),
                class_="pab",
            )
        )


def _nan(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RunList:
    """Offline runs in a workspace, newest first; ``to_pandas()`` gives the frame."""

    frame: Any = field(repr=False)

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.copy()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_pandas(self.frame)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def run_ids(self) -> list[str]:
        return list(self.frame["run_id"])

    def _rows(self) -> list[list[str]]:
        return [
            [
                r["run_id"], r["name"], str(r["created_at"])[:19], r["model_id"],
                f"{r['n_items']:,} × {r['repeats']}", f"{r['model_calls']:,}",
                f"{r['cache_hits']:,}", f"{r['errors']:,}", num(r["seconds"], "s"),
            ]
            for r in self.frame.to_dict(orient="records")
        ]  # fmt: skip

    _HEADER = ("run_id", "name", "created (UTC)", "model", "items × repeats", "calls",
               "cache hits", "errors", "time")  # fmt: skip

    def __repr__(self) -> str:
        if not len(self):
            return "RunList(no offline runs; start one with ws.run_offline(...))"
        return "RunList(newest first)\n" + "\n".join("  " + " | ".join(r) for r in self._rows())

    def _repr_html_(self) -> str:
        return str(
            _html.el(
                "div",
                _html.el("style", _html.Markup(_html.STYLE)),
                _html.table(list(self._HEADER), self._rows(), caption="Offline runs, newest first"),
                class_="pab",
            )
        )
