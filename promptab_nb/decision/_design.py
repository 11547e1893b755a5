"""An experiment's decision design: its goal metric, guardrails with margins and the MDE.

Declared up front (``ws.create_experiment(..., goal=, guardrails=, mde=)``), stored as JSON in
``experiments.design``; a change made later (``exp.set_design(...)``) is logged with its time in
``experiment_changes`` and shown in the report.

Margins and MDEs are written as people say them::

    "+5%"     relative: 5 % of the control's value
    "+0.2pp"  absolute, in percentage points (0.002 as a fraction), for rate metrics
    0.01      absolute, in the metric's unit (USD, seconds, or a fraction for rates)

A guardrail margin is how much *worse* the treatment may be (its sign, if given, must point in
the metric's worse direction: ``+`` for cost, ``-`` for pass rate); an MDE is the smallest
*improvement* of the goal worth detecting (sign, if given, in the better direction).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._checks import check
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..metrics import Metric

_MARGIN = re.compile(r"^\s*([+-]?)\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*(%|pp)?\s*$")


@dataclass(frozen=True)
class Margin:
    """A size on one metric: ``size`` > 0 (a fraction when ``relative``, else in the metric's
    unit, rates as fractions), ``relative`` or absolute, and the text it was written as."""

    size: float
    relative: bool
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "relative": self.relative, "text": self.text}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Margin:
        return cls(float(d["size"]), bool(d["relative"]), str(d["text"]))


def parse_margin(value: Any, metric: Metric, *, name: str, worse: bool) -> Margin:
    """``"+5%"``, ``"-0.2pp"``, ``0.01`` → :class:`Margin` on ``metric``.

    ``worse=True`` for a guardrail (the sign, if any, must be the metric's worse direction),
    ``False`` for an MDE (the better direction).

    Raises
    ------
    InvalidArgumentError
        Text that is not a margin, a zero size, ``pp`` on a metric that is not a rate, or a sign
        against the metric's direction (the message names the argument).
    """
    if isinstance(value, Margin):
        return value
    text = str(value)
    # numpy's numbers too (np.float32(0.01), np.int64(2): a margin computed from an array)
    if isinstance(value, numbers.Real) and not isinstance(value, bool | int | float):
        value = int(value) if isinstance(value, numbers.Integral) else float(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidArgumentError(
            f"{name} == {value!r}: give a relative '+5%', an absolute '+0.2pp' or a number "
            "in the metric's unit"
        )
    if isinstance(value, str):
        match = _MARGIN.match(value)
        if match is None:
            raise InvalidArgumentError(
                f"{name} == {value!r}: expected e.g. '+5%' (relative), '+0.2pp' (percentage "
                "points) or '0.01' (the metric's unit)"
            )
        sign, digits, exp, suffix = match.groups()
        # float() of the text: 10 ** 999 as an int overflowed into a raw OverflowError
        size = float(f"{digits}e{exp or 0}")
        relative = suffix == "%"
        if suffix == "pp":
            if metric.unit != "%":
                raise InvalidArgumentError(
                    f"{name} == {value!r}: 'pp' (percentage points) fits rate metrics only; "
                    f"{metric.name} is in {metric.unit or 'counts'}"
                )
            size /= 100
        elif relative:
            size /= 100
        negative = sign == "-"
        signed = bool(sign)
    else:
        check(value, name)
        size, relative, negative, signed = abs(float(value)), False, value < 0, value < 0
    if not math.isfinite(size) or size <= 0:
        raise InvalidArgumentError(f"{name} == {value!r}: the size must be a finite number > 0")
    if metric.unit == "%" and not relative and size >= 1:
        # a rate is a fraction: it cannot move by 100 percentage points or more (an MDE of
        # '+150pp' made every sample "planned" and its CI "exclude" it)
        raise InvalidArgumentError(
            f"{name} == {value!r}: {metric.name} is a rate (a fraction), it moves by less than "
            "100 pp; write e.g. '+2pp', 0.02 or a relative '+5%'"
        )
    # a fall is an MDE's direction on a lower-is-better metric and a guardrail's on a
    # higher-is-better one: neither falls by 100 % (a '-100%' margin on a log-ratio row
    # raised a raw "math domain error")
    falls = metric.direction == ("higher" if worse else "lower")
    if relative and falls and size >= 1:
        raise InvalidArgumentError(
            f"{name} == {value!r}: {metric.name} cannot fall by 100 % or more; write e.g. '-5%'"
        )
    if signed:
        increase_is_worse = metric.direction == "lower"
        up_ok = increase_is_worse if worse else not increase_is_worse
        if negative == up_ok:
            want = ("+" if up_ok else "-") + text.lstrip("+-").strip()
            what = "worse" if worse else "better"
            raise InvalidArgumentError(
                f"{name} == {value!r}: {metric.name} is better when {metric.direction}, so a "
                f"{what} value is {'higher' if up_ok else 'lower'}; write {want!r}"
            )
    return Margin(size, relative, text)


@dataclass(frozen=True)
class ExperimentDesign:
    """The decision design of an experiment.

    Parameters
    ----------
    goal
        The metric the treatment must improve (a built-in metric name).
    guardrails
        Metric name → :class:`Margin` the treatment may be worse by (``None``: only a
        significant regression blocks).
    mde
        The smallest improvement of the goal worth detecting; sets the planned sample.
    power
        Probability of detecting an improvement of ``mde`` with the planned sample.
    """

    goal: str | None = None
    guardrails: dict[str, Margin | None] = field(default_factory=dict)
    mde: Margin | None = None
    power: float = 0.8

    def __post_init__(self) -> None:
        # Made directly with margins as written (``guardrails={"cost": "+5%"}``, ``mde="-5%"``)
        # or a power out of (0, 1), the design is read as :meth:`build` reads it: the texts were
        # kept, and the decision raised a raw AttributeError ('str' has no 'relative').
        rails = self.guardrails
        raw = (
            not isinstance(rails, Mapping)
            or any(v is not None and not isinstance(v, Margin) for v in rails.values())
            or (self.mde is not None and not isinstance(self.mde, Margin))
            or isinstance(self.power, bool)
            or not isinstance(self.power, int | float)
            or not 0 < self.power < 1
        )
        if raw:
            built = ExperimentDesign.build(self.goal, rails, self.mde, self.power)
            for name in ("goal", "guardrails", "mde", "power"):
                object.__setattr__(self, name, getattr(built, name))

    @classmethod
    def build(
        cls,
        goal: str | None = None,
        guardrails: Mapping[str, Any] | None = None,
        mde: Any = None,
        power: float = 0.8,
    ) -> ExperimentDesign:
        """Validate and normalise the arguments of ``create_experiment`` / ``set_design``."""
        from ..metrics import resolve

        check(power, "power", gt=0, lt=1)
        g = None
        if goal is not None:
            (gm,) = resolve([goal])
            g = gm.name
        rails: dict[str, Margin | None] = {}
        if guardrails is not None:
            if not isinstance(guardrails, Mapping):
                raise InvalidArgumentError(
                    f"guardrails == {guardrails!r}: give a dict metric → margin, e.g. "
                    "{'cost': '+5%', 'error_rate': '+0.2pp'}"
                )
            for name, margin in guardrails.items():
                (m,) = resolve([name])
                if m.name == g:
                    raise InvalidArgumentError(
                        f"guardrails[{name!r}]: {name} is the goal; a metric is the goal or a "
                        "guardrail, not both"
                    )
                rails[m.name] = (
                    None
                    if margin is None
                    else parse_margin(margin, m, name=f"guardrails[{name!r}]", worse=True)
                )
        size = None
        if mde is not None:
            if g is None:
                raise InvalidArgumentError("mde is given without a goal: pass goal='metric' too")
            (gm,) = resolve([g])
            size = parse_margin(mde, gm, name="mde", worse=False)
        return cls(g, rails, size, float(power))

    @property
    def metrics(self) -> tuple[str, ...]:
        """The goal then the guardrails."""
        return ((self.goal,) if self.goal else ()) + tuple(self.guardrails)

    @property
    def empty(self) -> bool:
        return self.goal is None and not self.guardrails

    def to_json(self) -> str:
        return json.dumps(
            {
                "goal": self.goal,
                "guardrails": {
                    k: None if v is None else v.to_json() for k, v in self.guardrails.items()
                },
                "mde": None if self.mde is None else self.mde.to_json(),
                "power": self.power,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> ExperimentDesign | None:
        if not text:
            return None
        d = json.loads(text)
        return cls(
            d.get("goal"),
            {
                k: None if v is None else Margin.from_json(v)
                for k, v in (d.get("guardrails") or {}).items()
            },
            Margin.from_json(d["mde"]) if d.get("mde") else None,
            float(d.get("power", 0.8)),
        )

    def describe(self) -> list[str]:
        """The design in words, one line per part."""
        out = []
        if self.goal:
            mde = f"; smallest improvement worth detecting {self.mde.text}" if self.mde else ""
            from .._format import level_pct

            # (with its decimals: 0.995 read "power 100%")
            out.append(f"goal: improve {self.goal}{mde} (power {level_pct(self.power)})")
        for k, v in self.guardrails.items():
            out.append(
                f"guardrail: {k} "
                + (f"may be worse by at most {v.text}" if v else "must not be significantly worse")
            )
        return out


@dataclass(frozen=True)
class DesignChange:
    """One change of the design after the experiment was created."""

    changed_at: dt.datetime
    field: str
    old: str | None
    new: str | None


def merge_design(old: ExperimentDesign | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of :meth:`ExperimentDesign.build` for ``old`` with ``changes`` (goal,
    guardrails, mde, power) applied. A new goal drops the old goal's MDE (in the old goal's unit
    and direction: latency's 0.5 s became cost's $0.50) unless ``mde`` is given, and leaves the
    guardrails when it was one of them and ``guardrails`` is not given (it raised "a metric is
    the goal or a guardrail, not both" about guardrails the caller never passed); ``goal=None``
    drops the MDE too (it raised "mde is given without a goal")."""
    from ..metrics import resolve

    base = old or ExperimentDesign()
    merged: dict[str, Any] = {
        "goal": base.goal,
        "guardrails": dict(base.guardrails),
        "mde": base.mde,
        "power": base.power,
    }
    if "goal" in changes and base.goal is not None:
        goal = changes["goal"]
        new = None if goal is None else resolve([goal])[0].name
        if new != base.goal:
            merged["mde"] = None
            if new is not None:
                merged["guardrails"].pop(new, None)
    merged.update(changes)
    return merged


def set_design(exp: Experiment, **changes: Any) -> ExperimentDesign:
    """Store the design with ``changes`` (goal, guardrails, mde, power) applied, log every
    changed part with its time in ``experiment_changes``, and return the new design."""
    from ..experiments import now

    unknown = set(changes) - {"goal", "guardrails", "mde", "power"}
    if unknown:
        raise InvalidArgumentError(
            f"set_design got {sorted(unknown)}; it takes goal, guardrails, mde and power"
        )
    old = exp.design or ExperimentDesign()
    new = ExperimentDesign.build(**merge_design(old, changes))
    before, after = json.loads(old.to_json()), json.loads(new.to_json())
    at = now()
    # An experiment with its own metrics analyses the design's too (else its goal could never
    # be decided); the addition is logged like the design's parts.
    metrics = exp.metrics
    if metrics is not None and any(m not in metrics for m in new.metrics):
        metrics = tuple(dict.fromkeys((*metrics, *new.metrics)))
    with exp.ws.transaction() as con:
        con.execute("UPDATE experiments SET design = ? WHERE id = ?", [new.to_json(), exp.id])
        log = [(k, before[k], after[k]) for k in ("goal", "guardrails", "mde", "power")]
        if metrics != exp.metrics:
            con.execute(
                "UPDATE experiments SET metrics = ? WHERE id = ?", [json.dumps(metrics), exp.id]
            )
            log.append(("metrics", list(exp.metrics or ()), list(metrics or ())))
        for key, old_value, new_value in log:
            if old_value != new_value:
                con.execute(
                    "INSERT INTO experiment_changes (experiment_id, changed_at, field, old, new) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [exp.id, at, key, json.dumps(old_value), json.dumps(new_value)],
                )
    object.__setattr__(exp, "design", new)
    object.__setattr__(exp, "metrics", metrics)
    return new


def design_changes(exp: Experiment) -> list[DesignChange]:
    """The design changes of ``exp``, oldest first."""
    from .._checks import as_utc

    rows = exp.ws.engine.fetch(
        "SELECT changed_at, field, old, new FROM experiment_changes WHERE experiment_id = ? "
        "ORDER BY changed_at",
        [exp.id],
    )
    return [DesignChange(as_utc(r[0], "changed_at"), r[1], r[2], r[3]) for r in rows]  # type: ignore[arg-type]
