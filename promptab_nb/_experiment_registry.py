"""Creating, finding and listing experiments in a workspace (the ``experiments`` table)."""

from __future__ import annotations

import json
import math
import numbers
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._checks import as_utc as _as_utc
from ._checks import check, did_you_mean, one_of
from ._render import Rendered, Table
from ._sql import ident
from .decision import ExperimentDesign
from .errors import ExperimentConflict, ExperimentStateError, InvalidArgumentError, NotFoundError
from .experiments import (
    ASSIGNED_BY,
    MAX_VARIANTS,
    AssignedBy,
    Experiment,
    check_distinct_arms,
    now,
)
from .options import Unit

if TYPE_CHECKING:
    from .workspace import Workspace


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
    for key, value in zip(keys, (v for _, v in pairs), strict=True):
        # (str(None) is 'None' and '' matches no generation: the arm would stay empty, unsaid)
        if value is None or not str(value).strip():
            raise InvalidArgumentError(
                f"variants[{key!r}] == {value!r}: give the prompt version (or arm) of each "
                'variant, e.g. {"control": "v1", "test": "v2"}'
            )
    return {str(k): str(v) for k, v in pairs}


def _folded(name: str) -> str:
    """``name`` as a reader tells it from others: one Unicode form (NFC), case left out."""
    return unicodedata.normalize("NFC", name).casefold()


def _check_name(name: Any, arg: str = "name") -> str:
    """``name`` as an experiment's name (``arg``: the argument that gave it)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"{arg} == {name!r}, must be a non-empty string")
    if name != name.strip():
        raise InvalidArgumentError(
            f"{arg} == {name!r} begins or ends with a space, which no listing shows; "
            f"pass {name.strip()!r}"
        )
    return name


def _check_unique(
    con: Any, name: str, fix: Callable[[str], str], *, prefix: str = "", exclude: int | None = None
) -> None:
    """Raise :class:`InvalidArgumentError` when another experiment (than id ``exclude``) has
    ``name``, or a name differing from it only in case or Unicode form: they print alike, and
    which one a typed name reached would depend on the keyboard. ``fix(taken)`` says what to
    do instead; ``prefix`` names the argument."""
    taken = [
        r[0]
        for r in con.execute(
            "SELECT name FROM experiments WHERE id IS DISTINCT FROM ?", [exclude]
        ).fetchall()
    ]
    if name in taken:
        raise InvalidArgumentError(
            f"{prefix}an experiment named {name!r} already exists; {fix(name)}"
        )
    same = next((t for t in taken if _folded(t) == _folded(name)), None)
    if same is not None:
        raise InvalidArgumentError(
            f"{prefix}an experiment named {same!r} already exists, and {name!r} differs only "
            f"in case or Unicode form; {fix(same)}"
        )


def _last_id(con: Any) -> int:
    """The highest experiment id ever given, deleted ones included (``meta``): an id is never
    given twice, so an Experiment held after its deletion cannot reach a newer one."""
    (last,) = con.execute(
        """SELECT greatest(
               (SELECT coalesce(max(id), 0) FROM experiments),
               (SELECT coalesce(max(TRY_CAST(value AS BIGINT)), 0) FROM meta
                WHERE key = 'experiment_last_id'))"""
    ).fetchone()
    return int(last)


def check_split(split: Any, keys: Sequence[str]) -> dict[str, float]:
    """Variant key → percent of traffic; shares > 0 that sum to 100. The default is PostHog's
    "distribute equally" (whole percents, the rest on the last variant: 33/33/34), which
    ``pab.assign`` and the flags follow: 100/3 each made the audit flag ids PostHog placed
    correctly, and the sample-ratio test expect shares no flag serves."""
    if split is None:
        from .assignment import _equal_shares

        return {k: float(s) for k, s in zip(keys, _equal_shares(len(keys)), strict=True)}
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


@dataclass(frozen=True, repr=False)
class ExperimentList(Rendered):
    """Experiments, newest first; renders as a table, converts with ``to_pandas()``."""

    _columns = ("id", "name", "prompt_name", "flag_key", "variants", "split", "rollout", "unit",
                "metrics", "assigned_by", "status", "winner", "created_at", "ends_at",
                "concluded_at")  # fmt: skip

    items: tuple[Experiment, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Experiment]:
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
                e._variants_text(),
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
    assigned_by: AssignedBy | None = None,
    goal: str | None = None,
    guardrails: Mapping[str, Any] | None = None,
    mde: Any = None,
    power: float = 0.8,
) -> Experiment:
    """Create and persist a running experiment.

    Parameters
    ----------
    name
        Unique experiment name.
    prompt_name
        The prompt under test (``$ai_prompt_name``); at most one running experiment per prompt.
    variants
        Variant key → prompt version (or, with ``assigned_by="arm"``, → the arm label recorded on
        each generation), 2–10 entries, control first.
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
    assigned_by
        Where each unit's arm comes from:

        - ``"flag"``: PostHog ``$feature_flag_called`` exposures of ``flag_key``;
        - ``"version"``: the prompt version of each generation (Langfuse, OpenTelemetry, Spanlens
          ``prompt_version_id``, PostHog ``$ai_prompt_version`` without a flag);
        - ``"arm"``: the arm recorded on each generation (Spanlens ``arm_column=``/``arms=``,
          frames with a ``variant`` column).

        Default: inferred from the workspace — ``"flag"`` when ``flag_key`` is given or the
        flag has exposures, else ``"arm"`` when the variants' values are arms of the prompt's
        generations, else ``"version"`` when they are its prompt versions, else ``"flag"`` (data
        loaded later). The choice is stated in every result's health and methods text.

    goal
        The metric the treatment must improve (decides ``res.decision()``).
    guardrails
        Metric → how much worse the treatment may be: ``"+5%"`` (relative), ``"+0.2pp"``
        (percentage points), a number in the metric's unit, or ``None`` (no significant
        regression); e.g. ``{"cost": "+5%", "latency_p95": "+10%", "error_rate": "+0.2pp"}``.
    mde
        The smallest improvement of the goal worth detecting (``"+2%"``, ``"+1pp"``); sets the
        planned sample. Change any of the three later with ``exp.set_design(...)`` (logged).
    power
        The probability of detecting an improvement of ``mde`` with the planned sample (as
        ``exp.set_design(power=...)`` takes it).

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
    name = _check_name(name)
    v = _variants(variants)
    s = check_split(split, list(v))
    one_of(unit, "unit", ("user", "request"))
    check(rollout, "rollout", gt=0, le=100)
    if metrics is not None:
        from .metrics import BUILTIN, resolve

        resolved = resolve(metrics)
        custom = [m.name for m in resolved if BUILTIN.get(m.name) != m]
        if custom:
            # (only names are stored: exp.analyze() then said "unknown metric 'lat_sum'")
            raise InvalidArgumentError(
                f"metrics: {custom[0]!r} is a custom pab.Metric; an experiment stores built-in "
                "metric names only: pass it to exp.analyze([...]) instead"
            )
        metrics = tuple(m.name for m in resolved)
    design = _design(goal, guardrails, mde, power)
    if design is not None:
        from .metrics import DEFAULT

        # analyse what the decision needs: with the usual metrics, or added to those given (a
        # goal left out of them could never be decided)
        metrics = (
            tuple(dict.fromkeys((*design.metrics, *DEFAULT)))
            if metrics is None
            else tuple(dict.fromkeys((*metrics, *design.metrics)))
        )
    created = now()
    end = _as_utc(ends_at, "ends_at")
    if end is not None and end <= created:
        raise InvalidArgumentError(
            f"ends_at == {end.isoformat()} is before the creation time {created.isoformat()}; "
            "pass a future date"
        )
    if assigned_by is not None:
        one_of(assigned_by, "assigned_by", ASSIGNED_BY)
    if assigned_by is None:
        assigned_by = _infer_source(ws, name, prompt_name, v, flag_key)
    if assigned_by == "flag":
        flag: str | None = name if not flag_key else str(flag_key)
    elif flag_key:
        raise InvalidArgumentError(
            f"flag_key == {flag_key!r} with assigned_by == {assigned_by!r}: a flag assigns arms "
            "only with assigned_by='flag'; drop one of them"
        )
    else:
        flag = None
    check_distinct_arms(name, v, assigned_by)
    with ws.transaction() as con:
        _check_unique(
            con,
            name,
            lambda taken: f"choose another name or reopen it with ws.experiment({taken!r})",
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
        new_id = _last_id(con) + 1
        con.execute(
            """INSERT INTO experiments (id, name, prompt_name, flag_key, variants, unit, metrics,
                   rollout, status, created_at, ends_at, assigned_by, design)
               VALUES ($id, $name, $prompt, $flag, $variants, $unit, $metrics, $rollout,
                   'running', $created, $ends, $assigned_by, $design)""",
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
                "assigned_by": assigned_by,
                "design": design.to_json() if design is not None else None,
            },
        )
    return get_experiment(ws, new_id)


_SELECT = """SELECT id, name, prompt_name, flag_key, variants, unit, metrics, rollout, status,
                    created_at, ends_at, concluded_at, winner, assigned_by, design FROM experiments"""


def _infer_source(
    ws: Workspace,
    name: str,
    prompt_name: str | None,
    variants: Mapping[str, str],
    flag_key: str | None,
) -> AssignedBy:
    """The assignment source a new experiment most likely has, from what the workspace holds."""
    if flag_key:
        return "flag"
    if flag_key is None and ws.engine.fetch(
        "SELECT 1 FROM exposures WHERE flag_key = ? LIMIT 1", [name]
    ):
        return "flag"
    values = list(variants.values())
    for source, column in (("arm", "variant"), ("version", "prompt_version")):
        found = ws.engine.fetch(
            f"""SELECT count(DISTINCT {ident(column)}) FROM generations
                WHERE list_position($values, {ident(column)}) IS NOT NULL
                  AND ($prompt IS NULL OR prompt_name IS NULL OR prompt_name = $prompt)""",
            {"values": values, "prompt": prompt_name},
        )[0][0]
        if found:
            return source  # type: ignore[return-value]
    return "version" if flag_key == "" else "flag"


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
        assigned_by,
        design,
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
        # version-1 workspaces stored no source: a flag assigned, unless there was none
        assigned_by=assigned_by or ("flag" if flag else "version"),
        design=ExperimentDesign.from_json(design),
    )


def _design(goal: str | None, guardrails: Any, mde: Any, power: float) -> ExperimentDesign | None:
    """The validated design of ``create_experiment``'s arguments (``None``: none given)."""
    if goal is None and not guardrails and mde is None and power == 0.8:
        return None
    return ExperimentDesign.build(goal, guardrails, mde, power)


def get_experiment(ws: Workspace, name_or_id: str | int) -> Experiment:
    """Reopen an experiment by name (in any Unicode form: a decomposed 'é' finds 'é') or id.

    Raises
    ------
    NotFoundError
        No experiment has that name or id (a name differing only in case is suggested).
    InvalidArgumentError
        ``name_or_id`` is neither text nor an integer.
    """
    if isinstance(name_or_id, bool) or not isinstance(name_or_id, str | numbers.Integral):
        raise InvalidArgumentError(
            f"name_or_id == {name_or_id!r}: pass an experiment's name (text) or its id (an int)"
        )
    if isinstance(name_or_id, numbers.Integral):  # (numpy's too: an id read from a frame)
        name_or_id = int(name_or_id)
        rows = ws.engine.fetch(_SELECT + " WHERE id = ?", [name_or_id])
    else:
        rows = ws.engine.fetch(_SELECT + " WHERE name = ?", [name_or_id])
    if rows:
        return _from_row(ws, rows[0])
    names = [r[0] for r in ws.engine.fetch("SELECT name FROM experiments ORDER BY id")]
    hint = ""
    if isinstance(name_or_id, str):
        # the same name in another Unicode form (composed 'é' or 'e' + accent) is this one
        nfc = unicodedata.normalize("NFC", name_or_id)
        same = [n for n in names if unicodedata.normalize("NFC", n) == nfc]
        if len(same) == 1:
            return get_experiment(ws, same[0])
        cased = [n for n in names if _folded(n) == _folded(name_or_id)]
        hint = f"; did you mean {cased[0]!r}?" if cased else did_you_mean(name_or_id, names)
    raise NotFoundError(f"no experiment {name_or_id!r} in this workspace{hint}{_known(ws)}")


def _known(ws: Workspace) -> str:
    """``"; experiments: a, b"`` (or how to create one), to end a not-found message."""
    names = [r[0] for r in ws.engine.fetch("SELECT name FROM experiments ORDER BY id")]
    return (
        f"; experiments: {', '.join(names)}"
        if names
        else "; create one with ws.create_experiment(...)"
    )


def deleted(ws: Workspace, exp_id: int, name: str) -> NotFoundError:
    """The error of an :class:`Experiment` held after ``ws.delete_experiment`` removed it."""
    return NotFoundError(
        f"experiment {name!r} (id {exp_id}) was deleted from this workspace "
        f"(ws.delete_experiment); this object no longer has a stored record{_known(ws)}"
    )


def rename_experiment(exp: Experiment, new_name: Any) -> Experiment:
    """Rename ``exp`` (see :meth:`Experiment.rename`); the held object follows."""
    new_name = _check_name(new_name, "new_name")
    with exp.ws.transaction() as con:
        row = con.execute("SELECT name FROM experiments WHERE id = ?", [exp.id]).fetchone()
        if row is None:
            raise deleted(exp.ws, exp.id, exp.name)
        (old,) = row
        if new_name != old:
            _check_unique(
                con,
                new_name,
                lambda taken: "choose another name (ws.experiments() lists the names in use)",
                prefix="new_name: ",
                exclude=exp.id,
            )
            con.execute("UPDATE experiments SET name = ? WHERE id = ?", [new_name, exp.id])
            con.execute(
                "INSERT INTO experiment_changes (experiment_id, changed_at, field, old, new) "
                "VALUES (?, ?, 'name', ?, ?)",
                [exp.id, now(), json.dumps(old), json.dumps(new_name)],
            )
    object.__setattr__(exp, "name", new_name)
    return exp


_DELETE_CHANGES = "DELETE FROM experiment_changes WHERE experiment_id = ?"
_DELETE_EXPERIMENT = "DELETE FROM experiments WHERE id = ?"


def delete_experiment(ws: Workspace, name_or_id: str | int, *, force: bool = False) -> None:
    """Delete an experiment and its change history in one transaction; the event tables
    (exposures, generations, evaluations) are not touched. See :meth:`Workspace.delete_experiment`.
    """
    if not isinstance(force, bool):
        raise InvalidArgumentError(f"force == {force!r}, must be True or False")
    exp = get_experiment(ws, name_or_id)
    with ws.transaction() as con:
        row = con.execute(
            "SELECT status, winner, concluded_at FROM experiments WHERE id = ?", [exp.id]
        ).fetchone()
        if row is None:
            raise deleted(ws, exp.id, exp.name)
        status, winner, ended = row
        if status != "running" and not force:
            when = _as_utc(ended, "concluded_at")
            at = f" on {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""
            what = (
                f"concluded{at} with winner {winner!r}; deleting it loses that verdict"
                if status == "concluded"
                else f"stopped{at}; deleting it loses that record"
            )
            raise ExperimentStateError(
                f"experiment {exp.name!r} is {what} and its change history. Pass force=True "
                f"to delete it anyway: ws.delete_experiment({exp.name!r}, force=True)"
            )
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('experiment_last_id', ?)", [str(_last_id(con))]
        )
        con.execute(_DELETE_CHANGES, [exp.id])
        con.execute(_DELETE_EXPERIMENT, [exp.id])


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


__all__ = [
    "ExperimentList",
    "check_split",
    "create_experiment",
    "delete_experiment",
    "get_experiment",
    "list_experiments",
    "rename_experiment",
]
