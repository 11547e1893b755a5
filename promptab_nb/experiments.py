"""Experiment records and their lifecycle: running → concluded (with a winner) or stopped."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from . import _html
from ._checks import as_utc as _as_utc
from ._checks import check, one_of
from ._render import Rendered, Table
from .errors import (
    ExperimentConflict,
    ExperimentStateError,
    InvalidArgumentError,
    NotFoundError,
)
from .options import AnalysisOptions, Correction, Method, Multiple, Unit

if TYPE_CHECKING:
    import pandas as pd

    from .metrics import Metric
    from .results import ExperimentResult, OverTimeResult
    from .stats.bayes import GaussianPrior
    from .workspace import Workspace

Status = Literal["running", "concluded", "stopped"]
_DEFAULTS = AnalysisOptions()
MAX_VARIANTS = 10


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _variants(variants: Any) -> dict[str, str]:
    """Normalise ``{"control": "v1", "test": "v2"}`` or ``[("control", "v1"), ...]``."""
    if variants is None:
        raise InvalidArgumentError(
            'variants is missing; pass e.g. variants={"control": "v1", "test": "v2"} '
            "(variant key → prompt version, control first)"
        )
    pairs = list(variants.items()) if isinstance(variants, Mapping) else list(variants)
    if not pairs:
        raise InvalidArgumentError(
            'variants is empty; pass e.g. variants={"control": "v1", "test": "v2"}'
        )
    try:
        keys = [str(k) for k, _ in pairs]
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            "variants must map variant key → prompt version, e.g. {'control': 'v1', 'test': 'v2'}"
        ) from err
    if len(pairs) < 2:
        raise InvalidArgumentError(
            f"variants has 1 variant ({keys[0]!r}); an experiment needs a control and at least "
            "one treatment"
        )
    if len(pairs) > MAX_VARIANTS:
        raise InvalidArgumentError(
            f"variants has {len(pairs)} variants; at most {MAX_VARIANTS} are allowed"
        )
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InvalidArgumentError(f"variants has duplicate keys {dupes}; each key must be unique")
    if any(not k or k == "$multiple" for k in keys):
        raise InvalidArgumentError("variant keys must be non-empty and not '$multiple'")
    return {str(k): str(v) for k, v in pairs}


def check_split(split: Any, keys: Sequence[str]) -> dict[str, float]:
    """Variant key → percent of traffic (default equal); shares > 0 that sum to 100."""
    if split is None:
        return {k: 100.0 / len(keys) for k in keys}
    if isinstance(split, Mapping):
        unknown = set(split) - set(keys)
        if unknown or set(split) != set(keys):
            raise InvalidArgumentError(
                f"split keys {sorted(map(str, split))} must equal the variant keys {list(keys)}"
            )
        shares = [split[k] for k in keys]
    else:
        shares = list(split)
        if len(shares) != len(keys):
            raise InvalidArgumentError(
                f"split has {len(shares)} shares for {len(keys)} variants; give one percentage "
                "per variant"
            )
    for k, s in zip(keys, shares, strict=True):
        check(s, f"split[{k!r}]", gt=0, le=100)
    total = float(sum(shares))
    if not math.isclose(total, 100.0, abs_tol=1e-6):
        raise InvalidArgumentError(
            f"split sums to {total:g}, must sum to 100 (percent per variant, e.g. [50, 50])"
        )
    return {k: float(s) for k, s in zip(keys, shares, strict=True)}


@dataclass(frozen=True)
class Experiment:
    """A prompt experiment stored in a workspace.

    ``variants`` maps variant key → prompt version (the first is the control) and ``split`` the
    variant key → percent of traffic. Status changes go through :meth:`declare_winner` and
    :meth:`stop`, which persist the change and update this object (the one a notebook holds),
    so ``exp.status`` is always the stored status after them; they also return it.

    Examples
    --------
    >>> import promptab_nb as pab
    >>> ws = pab.Workspace()
    >>> exp = ws.create_experiment("bot-v2", "bot", {"control": "v1", "test": "v2"})
    >>> _ = exp.declare_winner("test")
    >>> exp.status, exp.winner
    ('concluded', 'test')
    """

    ws: Workspace
    id: int
    name: str
    prompt_name: str | None
    flag_key: str | None
    variants: dict[str, str]
    split: dict[str, float]
    unit: Unit
    metrics: tuple[str, ...] | None
    rollout: float
    status: Status
    created_at: dt.datetime
    ends_at: dt.datetime | None
    concluded_at: dt.datetime | None
    winner: str | None

    @property
    def control(self) -> str:
        """Key of the control variant (the first)."""
        return next(iter(self.variants))

    @property
    def treatments(self) -> list[str]:
        """Keys of the non-control variants."""
        return list(self.variants)[1:]

    @property
    def is_expired(self) -> bool:
        """True when ``ends_at`` has passed and the experiment is still running."""
        return self.status == "running" and self.ends_at is not None and self.ends_at < _now()

    # -- lifecycle ------------------------------------------------------------------------
    def _transition(self, status: Status, winner: str | None = None) -> Experiment:
        current = self.ws.engine.fetch("SELECT status FROM experiments WHERE id = ?", [self.id])[0][
            0
        ]
        if current != "running":
            raise ExperimentStateError(
                f"experiment {self.name!r} is {current}; only a running experiment can be "
                f"{'concluded' if status == 'concluded' else 'stopped'}"
            )
        at = _now()
        with self.ws.transaction() as con:
            con.execute(
                "UPDATE experiments SET status = $s, winner = $w, concluded_at = $at WHERE id = $id",
                {"s": status, "w": winner, "at": at, "id": self.id},
            )
        # The record a notebook holds is the experiment: keep it true after a status change.
        for name, value in (("status", status), ("winner", winner), ("concluded_at", at)):
            object.__setattr__(self, name, value)
        return self

    def declare_winner(self, variant: str) -> Experiment:
        """Conclude the experiment with ``variant`` as the winner.

        Returns
        -------
        Experiment
            This object, now ``concluded`` with ``winner`` and ``concluded_at`` (UTC) set.

        Raises
        ------
        InvalidArgumentError
            ``variant`` is not one of the experiment's variant keys.
        ExperimentStateError
            The experiment is not running.
        """
        if variant not in self.variants:
            raise InvalidArgumentError(
                f"winner {variant!r} is not a variant of {self.name!r}; "
                f"choose one of {list(self.variants)}"
            )
        return self._transition("concluded", winner=variant)

    def stop(self) -> Experiment:
        """Stop the experiment without a winner; returns this object, now ``stopped``."""
        return self._transition("stopped")

    def refresh(self) -> Experiment:
        """Re-read the record from the workspace (changes made by another process or object)
        into this object; returns it."""
        fresh = get_experiment(self.ws, self.id)
        for f in fields(self):
            object.__setattr__(self, f.name, getattr(fresh, f.name))
        return self

    # -- analysis -------------------------------------------------------------------------
    def analyze(
        self,
        metrics: Sequence[str | Metric] | str | Metric | None = None,
        *,
        unit: Unit | None = _DEFAULTS.unit,
        method: Method = _DEFAULTS.method,
        alpha: float = _DEFAULTS.alpha,
        relative: bool = _DEFAULTS.relative,
        cuped: bool | float | None = _DEFAULTS.cuped,
        winsorize: tuple[float, float] | None = _DEFAULTS.winsorize,
        correction: Correction | None = _DEFAULTS.correction,
        sequential: bool = _DEFAULTS.sequential,
        multiple: Multiple = _DEFAULTS.multiple,
        start: dt.datetime | dt.date | str | None = _DEFAULTS.start,
        end: dt.datetime | dt.date | str | None = _DEFAULTS.end,
        prior: GaussianPrior | None = _DEFAULTS.prior,
        options: AnalysisOptions | None = None,
    ) -> ExperimentResult:
        """Compare every treatment with the control on each metric.

        The per-unit rows are kept in the workspace (the last few queries), so analysing again
        with other options, or after reopening a file workspace, skips the heavy query.

        Parameters
        ----------
        metrics
            Names of built-in metrics (``cost``, ``latency``, ``error_rate``, ``pass_rate``,
            ``latency_p95``, ``tokens_out``, ``tokens_in``, ``requests``) or :class:`Metric`
            objects; default the experiment's metrics, else cost, latency, error_rate and
            pass_rate.
        unit
            ``"user"`` (default: the experiment's unit): per-user values, Welch for means and
            the delta method for rates; ``"request"``: each generation/evaluation is a unit,
            Welch for means and Fisher's exact test for rates.
        method
            ``"frequentist"`` or ``"bayesian"`` (adds chance to win and expected loss).
        alpha
            Two-sided significance level; intervals are ``1 − alpha``.
        relative
            Also report the relative difference (treatment / control − 1, delta method).
        cuped
            ``True`` (14 days) or a number of days before exposure used as the covariate.
        winsorize
            ``(lower_pct, upper_pct)`` percentiles pooled over all arms, of per-unit values.
        correction
            ``"holm"`` or ``"bh"`` across all metric × treatment comparisons.
        sequential
            Always-valid p-values and confidence sequences (safe to peek).
        multiple
            ``"exclude"`` units exposed to two variants, or keep their ``"first_seen"`` one.
        start, end
            Only exposures and events in ``[start, end)`` (UTC).
        prior
            Gaussian prior on the effect for ``method="bayesian"`` (default flat).
        options
            An :class:`~promptab_nb.options.AnalysisOptions` to start from; the other keyword
            arguments that differ from their defaults override it.

        Returns
        -------
        ExperimentResult
            One row per (metric, variant) plus health checks; ``res.options`` holds the
            options used (``res.options.to_code()`` reproduces the call).

        Raises
        ------
        NotFoundError
            The experiment's flag has no exposures in the workspace.
        InvalidArgumentError
            An unknown metric or an option out of range.
        """
        from .analysis import run
        from .options import options_of

        opts = options_of(
            options,
            metrics=metrics,
            unit=unit,
            method=method,
            alpha=alpha,
            relative=relative,
            cuped=cuped,
            winsorize=winsorize,
            correction=correction,
            sequential=sequential,
            multiple=multiple,
            start=start,
            end=end,
            prior=prior,
        )
        return run(self, opts)

    def analyze_over_time(
        self,
        metric: str | Metric,
        *,
        freq: Literal["day", "hour", "week"] = "day",
        alpha: float = _DEFAULTS.alpha,
        relative: bool = _DEFAULTS.relative,
        multiple: Multiple = _DEFAULTS.multiple,
    ) -> OverTimeResult:
        """Cumulative estimate per day; see :func:`promptab_nb.analysis.analyze_over_time`."""
        from .analysis import analyze_over_time

        return analyze_over_time(
            self, metric, freq=freq, alpha=alpha, relative=relative, multiple=multiple
        )

    def units(
        self, variant: str | None = None, *, multiple: Multiple = _DEFAULTS.multiple
    ) -> pd.DataFrame:
        """Which unit was in which variant (``$multiple`` included), with first exposure time."""
        from .analysis import assigned_units

        df = assigned_units(self, multiple=multiple)
        return df if variant is None else df[df["variant"] == variant].reset_index(drop=True)

    def unit_values(
        self,
        metric: str | Metric,
        *,
        multiple: Multiple = _DEFAULTS.multiple,
        start: dt.datetime | dt.date | str | None = None,
        end: dt.datetime | dt.date | str | None = None,
    ) -> pd.DataFrame:
        """Per-unit values of one metric: columns ``unit, variant, value`` (and ``den`` for ratios)."""
        from .analysis import unit_values

        return unit_values(self, metric, multiple=multiple, start=start, end=end)

    def audit(self, *, examples: int = 5) -> Any:
        """Re-hash logged exposures with the flag's configuration; see :func:`assignment.audit`."""
        from .assignment import audit

        return audit(self, examples=examples)

    # -- display --------------------------------------------------------------------------
    def _row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prompt_name": self.prompt_name,
            "flag_key": self.flag_key,
            "variants": ", ".join(
                f"{k}={v} ({self.split[k]:g} %)" for k, v in self.variants.items()
            ),
            "unit": self.unit,
            "status": self.status,
            "winner": self.winner,
            "created_at": self.created_at,
            "ends_at": self.ends_at,
            "concluded_at": self.concluded_at,
        }

    def __repr__(self) -> str:
        r = self._row()
        extra = f", winner={self.winner!r}" if self.winner else ""
        exp = " (expired)" if self.is_expired else ""
        return (
            f"Experiment({self.name!r}, prompt={self.prompt_name!r}, flag={self.flag_key!r}, "
            f"{r['variants']}, unit={self.unit}, {self.status}{exp}{extra})"
        )

    def _repr_html_(self) -> str:
        r = self._row()
        rows = [[k, "" if v is None else str(v)] for k, v in r.items()]
        return _html.el(
            "div",
            _html.el("style", _html.Markup(_html.STYLE)),
            _html.table(["field", "value"], rows, caption=f"Experiment {self.name}"),
            class_="pab",
        )


@dataclass(frozen=True, repr=False)
class ExperimentList(Rendered):
    """Experiments, newest first; renders as a table, converts with ``to_pandas()``."""

    _columns = ("id", "name", "prompt_name", "flag_key", "variants", "unit", "status", "winner",
                "created_at", "ends_at", "concluded_at")  # fmt: skip

    items: tuple[Experiment, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __getitem__(self, i: int) -> Experiment:
        return self.items[i]

    def _records(self) -> list[dict[str, Any]]:
        return [e._row() for e in self.items]

    def _table(self) -> Table:
        rows = [
            [
                e.name,
                e.prompt_name or "",
                e.flag_key or "",
                e._row()["variants"],
                e.status,
                e.winner or "",
                e.created_at.strftime("%Y-%m-%d %H:%M"),
            ]
            for e in self.items
        ]
        return Table(
            ["name", "prompt", "flag", "variants", "status", "winner", "created (UTC)"],
            rows,
            caption=f"{len(self.items)} experiment(s), newest first",
            left=5,
        )


def create_experiment(
    ws: Workspace,
    name: str,
    prompt_name: str | None = None,
    variants: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    *,
    split: Mapping[str, float] | Sequence[float] | None = None,
    flag_key: str | None = None,
    unit: Unit = "user",
    metrics: Sequence[str] | None = None,
    ends_at: Any = None,
    rollout: float = 100.0,
) -> Experiment:
    """Create and persist a running experiment.

    Parameters
    ----------
    name
        Unique experiment name.
    prompt_name
        The prompt under test (``$ai_prompt_name``); at most one running experiment per prompt.
    variants
        Variant key → prompt version, 2–10 entries, control first.
    split
        Percent of traffic per variant (sums to 100); default equal.
    flag_key
        The PostHog feature flag that assigns variants (default: ``name``). ``None`` with
        ``unit="request"`` is not needed: exposures are read from this flag.
    unit
        ``"user"`` (person, else distinct_id) or ``"request"`` (each generation).
    metrics
        Default metric names for :meth:`Experiment.analyze`.
    ends_at
        Planned end (datetime, date or ISO string, UTC); must be after creation.
    rollout
        Percent of users in the flag's rollout (for :meth:`Experiment.audit`).

    Returns
    -------
    Experiment
        The stored record, status ``running``.

    Raises
    ------
    InvalidArgumentError
        Bad variants, split, unit, metrics, rollout or ``ends_at``; a name already used.
    ExperimentConflict
        Another experiment is running on the same ``prompt_name``.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"name == {name!r}, must be a non-empty string")
    v = _variants(variants)
    s = check_split(split, list(v))
    one_of(unit, "unit", ("user", "request"))
    check(rollout, "rollout", gt=0, le=100)
    if metrics is not None:
        from .metrics import resolve

        metrics = tuple(m.name for m in resolve(metrics))
    created = _now()
    end = _as_utc(ends_at, "ends_at")
    if end is not None and end <= created:
        raise InvalidArgumentError(
            f"ends_at == {end.isoformat()} is before the creation time {created.isoformat()}; "
            "pass a future date"
        )
    flag = name if flag_key is None else str(flag_key)
    with ws.transaction() as con:
        if con.execute("SELECT 1 FROM experiments WHERE name = ?", [name]).fetchone():
            raise InvalidArgumentError(
                f"an experiment named {name!r} already exists; choose another name or reopen it "
                f"with ws.experiment({name!r})"
            )
        if prompt_name is not None:
            running = con.execute(
                "SELECT name FROM experiments WHERE prompt_name = ? AND status = 'running'",
                [prompt_name],
            ).fetchone()
            if running:
                raise ExperimentConflict(
                    f"experiment {running[0]!r} is already running on prompt {prompt_name!r}; "
                    f"conclude or stop it first (ws.experiment({running[0]!r}).stop())"
                )
        new_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM experiments").fetchone()[0]
        con.execute(
            """INSERT INTO experiments (id, name, prompt_name, flag_key, variants, unit, metrics,
                   rollout, status, created_at, ends_at)
               VALUES ($id, $name, $prompt, $flag, $variants, $unit, $metrics, $rollout,
                   'running', $created, $ends)""",
            {
                "id": new_id,
                "name": name,
                "prompt": prompt_name,
                "flag": flag,
                "variants": json.dumps(
                    [{"key": k, "version": ver, "share": s[k]} for k, ver in v.items()]
                ),
                "unit": unit,
                "metrics": json.dumps(list(metrics)) if metrics is not None else None,
                "rollout": float(rollout),
                "created": created,
                "ends": end,
            },
        )
    return get_experiment(ws, new_id)


_SELECT = """SELECT id, name, prompt_name, flag_key, variants, unit, metrics, rollout, status,
                    created_at, ends_at, concluded_at, winner FROM experiments"""


def _from_row(ws: Workspace, row: Sequence[Any]) -> Experiment:
    (
        id_,
        name,
        prompt,
        flag,
        variants,
        unit,
        metrics,
        rollout,
        status,
        created,
        ends,
        concl,
        winner,
    ) = row
    vs = json.loads(variants)
    return Experiment(
        ws=ws,
        id=int(id_),
        name=name,
        prompt_name=prompt,
        flag_key=flag,
        variants={d["key"]: d["version"] for d in vs},
        split={d["key"]: float(d["share"]) for d in vs},
        unit=unit,
        metrics=tuple(json.loads(metrics)) if metrics else None,
        rollout=float(rollout),
        status=status,
        created_at=_as_utc(created, "created_at"),  # type: ignore[arg-type]
        ends_at=_as_utc(ends, "ends_at"),
        concluded_at=_as_utc(concl, "concluded_at"),
        winner=winner,
    )


def get_experiment(ws: Workspace, name_or_id: str | int) -> Experiment:
    """Reopen an experiment by name or id.

    Raises
    ------
    NotFoundError
        No experiment has that name or id.
    """
    if isinstance(name_or_id, int):
        rows = ws.engine.fetch(_SELECT + " WHERE id = ?", [name_or_id])
    else:
        rows = ws.engine.fetch(_SELECT + " WHERE name = ?", [str(name_or_id)])
    if not rows:
        names = [r[0] for r in ws.engine.fetch("SELECT name FROM experiments ORDER BY id")]
        raise NotFoundError(
            f"no experiment {name_or_id!r} in this workspace"
            + (
                f"; experiments: {', '.join(names)}"
                if names
                else "; create one with ws.create_experiment(...)"
            )
        )
    return _from_row(ws, rows[0])


def list_experiments(
    ws: Workspace, *, prompt_name: str | None = None, status: str | None = None
) -> ExperimentList:
    """Experiments, newest first, optionally filtered by prompt and status."""
    if status is not None:
        one_of(status, "status", ("running", "concluded", "stopped"))
    rows = ws.engine.fetch(
        _SELECT
        + """ WHERE ($prompt IS NULL OR prompt_name = $prompt) AND ($status IS NULL OR status = $status)
              ORDER BY created_at DESC, id DESC""",
        {"prompt": prompt_name, "status": status},
    )
    return ExperimentList(tuple(_from_row(ws, r) for r in rows))
