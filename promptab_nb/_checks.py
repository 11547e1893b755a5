"""Argument checks that raise :class:`InvalidArgumentError` naming the argument and its value."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable
from typing import Any

from .errors import InvalidArgumentError


def check(
    value: Any,
    name: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    integer: bool = False,
) -> Any:
    """Check a number against bounds; return it unchanged.

    ``check(alpha, "alpha", gt=0, lt=1)`` raises ``alpha == 1.5, must be < 1``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if isinstance(value, np.integer | np.floating):
                value = value.item()
            else:
                raise TypeError
        except TypeError:
            raise InvalidArgumentError(
                f"{name} == {value!r}, must be a number" + (" (an integer)" if integer else "")
            ) from None
    if integer and (not float(value).is_integer()):
        raise InvalidArgumentError(f"{name} == {value!r}, must be an integer")
    if isinstance(value, float) and math.isnan(value):
        raise InvalidArgumentError(f"{name} is NaN, must be a number")
    if gt is not None and not value > gt:
        raise InvalidArgumentError(f"{name} == {value!r}, must be > {gt}")
    if ge is not None and not value >= ge:
        raise InvalidArgumentError(f"{name} == {value!r}, must be >= {ge}")
    if lt is not None and not value < lt:
        raise InvalidArgumentError(f"{name} == {value!r}, must be < {lt}")
    if le is not None and not value <= le:
        raise InvalidArgumentError(f"{name} == {value!r}, must be <= {le}")
    return value


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'cost'?"`` for the closest of ``choices`` (up to two), or ``""``."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def one_of(value: Any, name: str, allowed: Collection[Any]) -> Any:
    """Check that ``value`` is one of ``allowed``; return it unchanged."""
    if value not in allowed:
        raise InvalidArgumentError(
            f"{name} == {value!r}, must be one of {', '.join(repr(a) for a in allowed)}"
        )
    return value


def as_utc(value: Any, name: str) -> dt.datetime | None:
    """``value`` (datetime, date, pandas timestamp or ISO string) as an aware UTC datetime;
    naive values are taken as UTC. ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as err:
            raise InvalidArgumentError(
                f"{name} == {value!r} is not an ISO date-time; use e.g. '2026-12-31T00:00:00Z'"
            ) from err
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise InvalidArgumentError(f"{name} == {value!r}, must be a datetime, date or ISO string")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
