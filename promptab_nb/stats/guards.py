"""PostHog's guards: when a p-value would mislead, report none and say why."""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import check

# PostHog shows no significance below 50 exposed units per arm.
MIN_UNITS_PER_ARM = 50


@dataclass(frozen=True)
class Guard:
    """``ok`` is False when the comparison should not report a p-value; ``reason`` says why."""

    ok: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return "Guard(ok)" if self.ok else f"Guard(no p-value: {self.reason})"


def guard(
    control_n: int,
    treatment_n: int,
    baseline: float | None = None,
    *,
    min_units: int = MIN_UNITS_PER_ARM,
) -> Guard:
    """Decide whether a two-arm comparison may report a p-value (PostHog's rules).

    Parameters
    ----------
    control_n, treatment_n
        Units per arm.
    baseline
        The control arm's mean or rate; 0 makes a relative lift undefined.
    min_units
        Minimum units per arm (PostHog: 50).

    Returns
    -------
    Guard
        ``Guard(ok=False, reason=...)`` under ``min_units`` units in an arm or for a zero or
        NaN baseline, else ``Guard(ok=True)``.
    """
    check(control_n, "control_n", ge=0, integer=True)
    check(treatment_n, "treatment_n", ge=0, integer=True)
    check(min_units, "min_units", ge=1, integer=True)
    small = [
        f"{name} has {n}"
        for name, n in (("control", control_n), ("treatment", treatment_n))
        if n < min_units
    ]
    if small:
        return Guard(False, f"not enough units: {' and '.join(small)} (need {min_units} per arm)")
    if baseline is not None and baseline == 0:
        return Guard(False, "baseline is 0 in control: a relative lift is undefined")
    if baseline is not None and baseline != baseline:  # NaN: nothing measured, not a value
        return Guard(
            False, "baseline is NaN in control (not measured): a relative lift is undefined"
        )
    return Guard(True)
