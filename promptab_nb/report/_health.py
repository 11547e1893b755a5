"""The health section: exposure counts, the checks (read from ``res.health.flags``) and the rows
rejected during load (``ws.rejects_summary()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _html
from .._format import arm_label, num
from .._html import Markup, el
from ..stats.guards import MIN_UNITS_PER_ARM

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..results import ExperimentResult, Health
    from ..workspace import Workspace
    from ._figures import Figures

# Flags that have their own row in the checks table; the others are listed under it.
_OWN_ROW = ("srm", "small_arms", "multiple", "expired")


def _exposure_rows(res: ExperimentResult, exp: Experiment | None) -> list[list[str]]:
    h = res.health
    total = sum(h.exposed.values())
    split = exp.split if exp is not None else None
    rows = [
        [
            arm_label(k, res.control),
            f"{v:,}",
            num(v / total, "%") if total else "–",
            f"{split[k]:g} %" if split and k in split else "–",
        ]
        for k, v in h.exposed.items()
    ]
    kept = res.options.multiple == "first_seen"
    label = "$multiple (kept in first variant)" if kept else "$multiple (excluded)"
    rows.append([label, f"{h.multiple:,}", "", ""])
    for k, v in h.unknown_variants.items():
        rows.append([f"{k} (not in the experiment, ignored)", f"{v:,}", "", ""])
    return rows


def _message(h: Health, code: str) -> str | None:
    return next((f.message for f in h.flags if f.code == code), None)


def _check_rows(res: ExperimentResult, exp: Experiment | None) -> list[list[str]]:
    h = res.health
    total = sum(h.exposed.values())
    checks: list[list[str]] = []
    if h.srm_p_value is not None:
        verdict = "mismatch" if h.has("srm") else "ok"
        checks.append(["sample ratio mismatch", f"{h.srm_text()}: {verdict}"])
    else:
        checks.append(["sample ratio mismatch", h.srm_note or "not computed"])
    share = num(h.multiple / max(1, total + h.multiple), "%")
    kept = "kept in their first variant" if res.options.multiple == "first_seen" else "excluded"
    checks.append(["units exposed to several variants", f"{h.multiple:,} ({share}), {kept}"])
    checks.append(
        [f"enough data (≥ {MIN_UNITS_PER_ARM} units per arm)", _message(h, "small_arms") or "yes"]
    )
    passed = "passed; declare a winner or stop the experiment"
    if exp is not None:
        if exp.ends_at is None:
            end = "no planned end set"
        else:
            end = f"{exp.ends_at:%Y-%m-%d %H:%M} UTC" + (f" — {passed}" if h.expired else "")
        checks.append(["planned end (ends_at)", end])
    elif h.expired:
        checks.append(["planned end (ends_at)", passed])
    rejected = _rejected(res)
    checks.append(["rows rejected during load", "unknown" if rejected is None else f"{rejected:,}"])
    return checks


def _rejected(res: ExperimentResult) -> int | None:
    """Rows rejected over the result's files; ``None`` when a file did not count them (a Spark
    table has no load to reject rows: unknown, not zero)."""
    counts = [p.get("rows_rejected") for p in res.provenance]
    if any(c is None for c in counts):
        return None
    return sum(int(c or 0) for c in counts)


def _rejects(ws: Workspace) -> Markup | None:
    counts = ws.rejects_summary()
    if not counts:
        return None
    return _html.table(
        ["file", "reason", "rows"],
        [[c.file, c.reason, f"{c.rows:,}"] for c in counts],
        caption="Rows rejected during load (ws.rejects() lists them)",
    )


def health_section(
    res: ExperimentResult,
    exp: Experiment | None,
    ws: Workspace | None,
    figures: Figures | None = None,
) -> Markup:
    """One health block: a one-line status (the flags needing a look, and the rows rejected
    during load, which the numbers leave out), the checks (every flag of ``res.health`` once, in
    its own row), exposures per arm against the configured split, new units per day, and the
    rejected rows."""
    h = res.health
    others = [f for f in h.flags if f.code not in _OWN_ROW]
    checks = _check_rows(res, exp)
    mark = {"error": "✖ ", "warning": "⚠ ", "info": "ℹ "}
    checks += [[f"{mark[f.severity]}{f.code.replace('_', ' ')}", f.message] for f in others]
    serious = [f for f in h.flags if f.severity != "info"]
    rejected = _rejected(res)
    if rejected:
        read = sum(int(p.get("rows_read") or 0) for p in res.provenance)
        dropped = (
            f"{rejected:,} of the {read:,} rows read were rejected during load and are not in "
            "the numbers (listed below)."
        )
        status = (
            f"{len(serious)} check(s) need a look before trusting the numbers, and {dropped}"
            if serious
            else f"The assignment looks healthy, but {dropped}"
        )
    else:
        status = (
            f"{len(serious)} check(s) need a look before trusting the numbers."
            if serious
            else "No warnings: the assignment looks healthy."
        )
    daily = None
    if figures is not None and res.daily:
        daily = figures.make(
            "daily_exposures",
            res,
            alt=f"Units first exposed per day in each arm of {res.experiment}",
            caption="New units per day and arm (UTC): a gap or a diverging ramp points at an "
            "assignment or logging problem.",
        )
    return el(
        "section",
        el("h2", "Health checks"),
        el("div", status, class_="health warn" if serious or rejected else "health"),
        _html.table(["check", "result"], checks, caption="Checks"),
        _html.table(
            ["arm", "exposed units", "observed share", "configured share"],
            _exposure_rows(res, exp),
            caption="Exposure counts",
        ),
        daily,
        _rejects(ws) if ws is not None and _rejected(res) else None,
        id="health",
    )
