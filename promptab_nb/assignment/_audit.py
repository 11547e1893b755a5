"""Audit logged exposures: re-hash each id with the flag's configuration and count agreements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError


@dataclass(frozen=True)
class AuditResult:
    """Logged exposures re-hashed with the flag's configuration.

    ``matches`` + ``mismatches`` = ``checked`` ids (distinct ids whose logged variant is one of
    the experiment's variants); ``unknown`` counts logged variants that are not configured. The
    logged value stays the truth (overrides and targeting exist), so a mismatch is a warning.
    """

    flag_key: str
    checked: int
    matches: int
    mismatches: int
    unknown: dict[str, int]
    #: (distinct_id, logged, expected): the variant the flag serves, or why it serves none
    examples: tuple[tuple[str, str, str], ...]

    @property
    def match_rate(self) -> float:
        return self.matches / self.checked if self.checked else float("nan")

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.examples), columns=["distinct_id", "logged", "expected"])

    def __repr__(self) -> str:
        lines = [
            f"AuditResult({self.flag_key!r}): {self.checked:,} ids checked, {self.matches:,} match, "
            f"{self.mismatches:,} mismatch"
            + (f", unknown variants {self.unknown}" if self.unknown else "")
        ]
        lines += [
            f"  {d}: logged {lg!r}, expected {ex if ex.startswith(_NO_VARIANT) else repr(ex)}"
            for d, lg, ex in self.examples
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .. import _html

        return _html.el(
            "div",
            _html.el("style", _html.Markup(_html.STYLE)),
            _html.el("div", repr(self).splitlines()[0]),
            _html.table(
                ["distinct_id", "logged", "expected"], self.examples, caption="mismatch examples"
            )
            if self.examples
            else None,
            class_="pab",
        )


def audit(exp: Any, *, examples: int = 5, flag: Any = None) -> AuditResult:
    """Re-hash an experiment's logged ``$feature_flag_called`` exposures (by ``distinct_id``, as
    PostHog hashes) with its flag key, split and rollout, and count agreements.

    Parameters
    ----------
    examples
        How many mismatches to show (0 or more).
    flag
        The flag as PostHog defines it (a :class:`~promptab_nb.assignment.Flag`, e.g.
        ``Flag.from_posthog(definition)``). Default: one made from the experiment's split, in
        its order, control first. PostHog assigns by the order of the flag's variants, so a
        flag that lists them in another order needs its own definition here.

    Returns
    -------
    AuditResult
        Matches, mismatches (with up to ``examples`` examples) and unknown logged variants.

    Raises
    ------
    InvalidArgumentError
        No flag key, a bad ``examples``, or a ``flag`` that is not a Flag of this experiment's
        key.
    """
    from .._checks import check
    from . import Flag  # the package imports this module, so not at the top

    check(examples, "examples", ge=0, integer=True)
    examples = int(examples)
    if not exp.flag_key:
        raise InvalidArgumentError(
            f"experiment {exp.name!r} has no flag_key; there are no logged exposures to audit"
        )
    if flag is not None and not isinstance(flag, Flag):
        raise InvalidArgumentError(
            f"flag must be a promptab_nb.assignment.Flag (e.g. Flag.from_posthog(definition)), "
            f"got {type(flag).__name__}"
        )
    if flag is not None and flag.key != exp.flag_key:
        raise InvalidArgumentError(
            f"flag has key {flag.key!r}, but experiment {exp.name!r} logs {exp.flag_key!r}; pass "
            "the definition of the experiment's flag"
        )
    rows = exp.ws.engine.fetch(
        """SELECT distinct_id, arg_min(variant, ts) FROM exposures WHERE flag_key = ?
           GROUP BY distinct_id ORDER BY distinct_id""",
        [exp.flag_key],
    )
    ids = [r[0] for r in rows]
    logged = np.array([r[1] for r in rows], dtype=object)
    known = np.isin(logged, list(exp.variants))
    unknown: dict[str, int] = {}
    for v in logged[~known]:
        unknown[str(v)] = unknown.get(str(v), 0) + 1
    if flag is None:
        flag = Flag(exp.flag_key, list(exp.split.items()), exp.rollout)
    expected = (
        flag.assign([i for i, k in zip(ids, known, strict=True) if k])
        if known.any()
        else np.array([])
    )
    logged_known = logged[known]
    ok = expected == logged_known
    bad = np.flatnonzero(~ok)[:examples]
    known_ids = [i for i, k in zip(ids, known, strict=True) if k]
    return AuditResult(
        flag_key=exp.flag_key,
        checked=int(known.sum()),
        matches=int(ok.sum()),
        mismatches=int((~ok).sum()),
        unknown=unknown,
        examples=tuple(
            (known_ids[i], str(logged_known[i]), _served(expected[i], flag.rollout)) for i in bad
        ),
    )


_NO_VARIANT = ("not in the ", "no variant")


def _served(value: Any, rollout: float) -> str:
    """What the flag serves an id, in words: its variant, or why it has none (PostHog answers
    ``None`` outside the rollout, ``True`` past the last range: not variant names)."""
    if value is None:
        return f"not in the {rollout:g} % rollout"
    if value is True:
        return "no variant (past the last range)"
    return str(value)
