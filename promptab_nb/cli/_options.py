"""The analysis flags of ``promptab analyze`` and ``promptab report``, built from the fields of
:class:`~promptab_nb.options.AnalysisOptions`.

:data:`FLAGS` maps each field to its flag (help, choices, how the text becomes the value); the
defaults shown in ``--help`` are read from ``AnalysisOptions()`` and a flag that is not given is
not passed at all, so a default is written only in :mod:`promptab_nb.options`. A field added
there without an entry here (or in :data:`NOT_ON_CLI`) fails when the parser is built.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InvalidArgumentError
from ..metrics import BUILTIN, DEFAULT
from ..options import (
    CORRECTION_NAMES,
    CORRECTIONS,
    COST_SOURCES,
    CUPED_DAYS,
    METHODS,
    MULTIPLE,
    UNITS,
    AnalysisOptions,
)
from ._common import UsageError, names
from ._suggest import did_you_mean

__all__ = [
    "FLAGS",
    "NOT_ON_CLI",
    "Flag",
    "add_analysis_flags",
    "flag_name",
    "given_options",
    "options_from_args",
]

_DEFAULTS = AnalysisOptions()


def _number(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isnan(value):
            raise UsageError(f"{flag} == {text!r}: expected a number")
        return value

    return parse


def _percentiles(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError as err:
        raise UsageError(f"--winsorize == {text!r}: expected LO,HI percentiles, e.g. 1,99") from err
    return lo, hi


def _metrics(text: str) -> tuple[str, ...]:
    out = tuple(names(text, "--metrics") or ())
    for m in out:
        if m not in BUILTIN:
            raise UsageError(
                f"--metrics: {m!r} is not a built-in metric{did_you_mean(m, BUILTIN)} "
                f"(metrics: {', '.join(BUILTIN)})"
            )
    return out


def _alternative(text: str) -> str | dict[str, str]:
    if "=" not in text:
        return text.strip()
    out = {}
    for part in text.split(","):
        name, sep, alt = part.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--alternative == {text!r}: expected METRIC=less|greater, ...")
        out[name.strip()] = alt.strip()
    return out


@dataclass(frozen=True)
class Flag:
    """How one :class:`AnalysisOptions` field appears on the command line.

    ``parse`` turns the flag's text into the field's value (``None``: the text itself);
    ``bare`` is the value of the flag given without an argument (``--cuped``), which makes the
    argument optional; ``default`` says in words what a ``None`` default means. Boolean fields
    become ``--name/--no-name``.
    """

    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    parse: Callable[[str], Any] | None = None
    bare: Any = None
    default: str | None = None


FLAGS: dict[str, Flag] = {
    "metrics": Flag(
        f"comma-separated built-in metrics: {', '.join(BUILTIN)}",
        metavar="M1,M2",
        parse=_metrics,
        default=f"the experiment's metrics, else {','.join(DEFAULT)}",
    ),
    "unit": Flag(
        "unit of analysis", choices=UNITS, default="the experiment's unit; user for analyze"
    ),
    "method": Flag("bayesian adds chance to win and expected loss", choices=METHODS),
    "alpha": Flag(
        "two-sided significance level; intervals are 1 − alpha",
        metavar="ALPHA",
        parse=_number("--alpha"),
    ),
    "relative": Flag("report relative effects (treatment / control − 1, delta method)"),
    "cuped": Flag(
        "CUPED: use each user's metric over DAYS before exposure as the covariate "
        f"(--cuped alone: {CUPED_DAYS:g} days; needs unit user)",
        metavar="DAYS",
        parse=_number("--cuped"),
        bare=True,
        default="off",
    ),
    "winsorize": Flag(
        "clip per-unit values at the LO-th and HI-th percentiles, pooled over arms",
        metavar="LO,HI",
        parse=_percentiles,
        default="off",
    ),
    "correction": Flag(
        "multiple-testing correction across metric × treatment comparisons: "
        + ", ".join(f"{k} ({v})" for k, v in CORRECTION_NAMES.items()),
        choices=CORRECTIONS,
        default="none",
    ),
    "sequential": Flag("always-valid p-values and confidence sequences (safe to peek)"),
    "multiple": Flag(
        "units exposed to several variants: exclude them, or keep their first_seen variant",
        choices=MULTIPLE,
    ),
    "start": Flag(
        "only exposures and events at or after this UTC date or date-time (ISO)",
        metavar="DATE",
        default="open",
    ),
    "end": Flag(
        "only exposures and events before this UTC date or date-time (ISO)",
        metavar="DATE",
        default="open",
    ),
    "by": Flag(
        "segment the comparison by a generations or exposures column (e.g. model) or "
        "properties.KEY: per-segment rows, BH-adjusted p-values, Cochran's Q",
        metavar="COLUMN",
        default="no segments",
    ),
    "alternative": Flag(
        "one-sided tests: less or greater for every metric, or per metric, e.g. "
        "cost=less,pass_rate=greater",
        metavar="ALT|M=ALT,...",
        parse=lambda text: _alternative(text),
        default="two-sided",
    ),
    "cost": Flag(
        "cost per generation: as exported, or recomputed from model and tokens with genai-prices",
        choices=COST_SOURCES,
    ),
}

#: Fields without a flag, and why.
NOT_ON_CLI: dict[str, str] = {
    "prior": "a pab.stats.GaussianPrior object; pass exp.analyze(prior=...) from Python",
}


def flag_name(field: str) -> str:
    """``"first_seen"``-style field names as flags: ``--field-name``."""
    return "--" + field.replace("_", "-")


def _dest(field: str) -> str:
    return "option_" + field


def _default_text(field: str, spec: Flag) -> str:
    value = getattr(_DEFAULTS, field)
    if isinstance(value, bool):
        return flag_name(field) if value else "--no-" + field.replace("_", "-")
    if value is None:
        return spec.default or "none"
    return str(value)


def add_analysis_flags(p: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`AnalysisOptions` field (except :data:`NOT_ON_CLI`) to ``p``.

    Raises
    ------
    KeyError
        A field has neither a flag in :data:`FLAGS` nor a reason in :data:`NOT_ON_CLI` (a
        programming error, caught by the tests).
    """
    group = p.add_argument_group("analysis options (pab.AnalysisOptions)")
    for f in fields(AnalysisOptions):
        if f.name in NOT_ON_CLI:
            continue
        spec = FLAGS[f.name]
        # `%` is a format character in argparse help.
        help_ = f"{spec.help} (default: {_default_text(f.name, spec)})".replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": _dest(f.name), "default": argparse.SUPPRESS}
        if isinstance(f.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["metavar"] = spec.metavar
            kwargs["choices"] = spec.choices
            if spec.bare is not None:
                kwargs.update(nargs="?", const=spec.bare)
        group.add_argument(flag_name(f.name), help=help_, **kwargs)


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The analysis options given on the command line, as field values."""
    out: dict[str, Any] = {}
    for field, spec in FLAGS.items():
        if hasattr(args, _dest(field)):
            value = getattr(args, _dest(field))
            if isinstance(value, str) and spec.parse is not None:
                value = spec.parse(value)
            out[field] = value
    return out


def options_from_args(args: argparse.Namespace, **changes: Any) -> AnalysisOptions:
    """The :class:`AnalysisOptions` of the flags given in ``args`` (others keep their
    defaults), with ``changes`` applied on top.

    Raises
    ------
    InvalidArgumentError
        An option out of range (the message starts with its flag: ``--alpha: alpha == 1.0,
        must be < 1``).
    """
    try:
        return AnalysisOptions(**{**given_options(args), **changes})
    except InvalidArgumentError as err:
        msg = str(err)
        # (AnalysisOptions names its Python argument; on the command line it is the flag)
        field = next((f for f in sorted(FLAGS, key=len, reverse=True)
                      if re.match(rf"{re.escape(f)}\b", msg)), None)  # fmt: skip
        if field is None:
            raise
        raise InvalidArgumentError(f"{flag_name(field)}: {msg}") from err
