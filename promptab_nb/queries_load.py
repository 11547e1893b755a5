"""Read-only questions about what was loaded, asked by the presentation layers (CLI, report)
instead of writing SQL themselves: which variants a flag has, and which rows a load rejected.

Each function takes an :class:`~promptab_nb.engines.base.Engine` and returns plain values; the
:class:`~promptab_nb.workspace.Workspace` exposes them as ``ws.flag_variants(...)`` and
``ws.rejects_summary()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ._checks import check
from .errors import InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    from .engines.base import Engine

__all__ = ["RejectCount", "flag_variants", "rejects_summary"]

# PostHog logs `false` for users outside a multivariate flag's rollout: not a variant.
_FLAG_KEYS = """
    SELECT variant, count(*) FROM exposures
    WHERE flag_key = ? AND variant IS NOT NULL AND variant <> 'false'
    GROUP BY variant
"""

_TOP_FLAGS = """
    SELECT flag_key FROM exposures GROUP BY flag_key ORDER BY count(*) DESC LIMIT 10
"""

# A unit counts for one key only when it saw exactly one variant; its generations after its first
# exposure say which prompt version that key served.
_KEY_VERSIONS = """
    WITH x AS (
        SELECT coalesce(person_id, distinct_id) AS unit, min(variant) AS variant,
               min(ts) AS first_ts
        FROM exposures WHERE flag_key = $flag
        GROUP BY 1 HAVING count(DISTINCT variant) = 1)
    SELECT x.variant, mode(g.prompt_version)
    FROM x JOIN generations g
      ON coalesce(g.person_id, g.distinct_id) = x.unit AND g.ts >= x.first_ts
    WHERE g.prompt_version IS NOT NULL AND ($prompt IS NULL OR g.prompt_name = $prompt)
    GROUP BY 1
"""

_REJECT_COUNTS = """
    SELECT i.file, r.reason, count(*) AS n
    FROM rejects r JOIN imports i USING (import_id)
    GROUP BY i.file, r.reason
    ORDER BY n DESC, i.file, r.reason
    LIMIT ?
"""


class RejectCount(NamedTuple):
    """Rows of one loaded file rejected for one reason."""

    file: str
    reason: str
    rows: int


def flag_variants(engine: Engine, flag: str, prompt: str | None = None) -> dict[str, str]:
    """Variant key → prompt version of ``flag``, as seen in the loaded exposures.

    Keys are ordered ``"control"`` first, then alphabetically (first-seen and most-common orders
    are ambiguous). A key's version is the most common ``$ai_prompt_version`` of the generations
    (of ``prompt`` only, when given) that its units made after their first exposure; the key
    itself when none is logged.

    Raises
    ------
    NotFoundError
        The flag has no exposures (the message lists the flags that do).
    InvalidArgumentError
        The flag has fewer than two variants.
    """
    rows = engine.fetch(_FLAG_KEYS, [flag])
    if not rows:
        flags = [str(r[0]) for r in engine.fetch(_TOP_FLAGS)]
        raise NotFoundError(
            f"no exposures for flag {flag!r} in the export; "
            + (
                f"flags found: {', '.join(flags)}"
                if flags
                else "it has no $feature_flag_called events"
            )
        )
    keys = sorted((str(r[0]) for r in rows), key=lambda k: (k != "control", k))
    if len(keys) < 2:
        raise InvalidArgumentError(
            f"flag {flag!r} has one variant in the export ({keys[0]!r}); an experiment needs two. "
            "Give the variants explicitly (variants={'control': 'v1', 'test': 'v2'}, or "
            "--variants control=v1,test=v2)"
        )
    versions = dict(engine.fetch(_KEY_VERSIONS, {"flag": flag, "prompt": prompt}))
    return {k: str(versions.get(k) or k) for k in keys}


def rejects_summary(engine: Engine, *, limit: int = 20) -> list[RejectCount]:
    """Rejected rows counted per loaded file and reason, most frequent first (``limit`` rows).

    Raises
    ------
    InvalidArgumentError
        ``limit`` is not a positive integer.
    """
    check(limit, "limit", ge=1, integer=True)
    return [
        RejectCount(str(f), str(reason), int(n))
        for f, reason, n in engine.fetch(_REJECT_COUNTS, [int(limit)])
    ]
