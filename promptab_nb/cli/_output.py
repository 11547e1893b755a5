"""What ``promptab analyze`` prints: the result table, the ``--json`` document and regressions."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._format import is_missing, level_pct, num, pval
from ._common import EXIT_OK, EXIT_REGRESSION, UsageError, jsonable
from ._suggest import did_you_mean

if TYPE_CHECKING:
    from ..results import ArmRow, ExperimentResult

JSON_SCHEMA = "promptab.analyze/1"


def print_result(res: ExperimentResult, *, all_pairs: bool = False) -> None:
    """The decision first (``res.decision()``), then the result as it prints itself: verdicts,
    its metric table (``res.table_header()`` / ``res.table_rows()``), health and methods, and
    the rows rejected during load (which the numbers leave out); then
    the total impact of each sum-like per-user metric (``res.total_impact``), the segments,
    and with ``all_pairs`` every pair of arms per metric (``res.all_pairs``)."""
    print(res.decision())
    print()
    print(res)
    rejected = _rejected_line(res)
    if rejected:
        print(rejected)
    for imp in res.impacts:
        print()
        print(f"Total impact on {imp.metric} over the period, if every user got the treatment:")
        for line in imp.lines():
            print(f"  {line}")
        print(f"  users reached: {imp.describe_units()}")
    if res.segments is not None:
        print()
        print(res.segments)
    if all_pairs:
        print()
        print(_pairs_text(res))


def _rejected_line(res: ExperimentResult) -> str | None:
    """``⚠ N of the M rows read were rejected during load ...`` when the loads of the result's
    files rejected rows (uncounted rejects, a Spark table's, are not guessed); else ``None``."""
    counts = [p.get("rows_rejected") for p in res.provenance]
    rejected = sum(int(c) for c in counts if c)
    if not rejected:
        return None
    read = sum(int(p.get("rows_read") or 0) for p in res.provenance)
    return (
        f"⚠ {rejected:,} of the {read:,} rows read were rejected during load and are not in "
        "these numbers (the --out report lists them by reason; ws.rejects() in Python)"
    )


def _pairs_text(res: ExperimentResult) -> str:
    """Every pair of arms per metric, with what the p-values are adjusted for."""
    if not res.pairs:
        return "All pairs: no metric to compare"
    k = len(res.variants)
    n_pairs = k * (k - 1) // 2
    head = (
        f"All pairs of the {k} arms ({res.pairs[0].test} per pair, two-sided"
        f"{'' if res.pairs[0].sequential else ', fixed-horizon'}; p-values "
        f"{res.pairs[0].correction}-adjusted across the "
        f"{'one pair' if n_pairs == 1 else f'{n_pairs} pairs'} of each metric; "
        f"{level_pct(res.level)} CIs unadjusted; * significant):"
    )
    return "\n".join([head, *[repr(p) for p in res.pairs]])


def _pairs_json(res: ExperimentResult) -> list[dict[str, Any]]:
    return [
        {
            "metric": p.metric,
            "unit": p.unit,
            "correction": p.correction,
            "alpha": p.alpha,
            "test": p.test,
            "note": p.note,
            "pairs": [dataclasses.asdict(x) for x in p.pairs],
        }
        for p in res.pairs
    ]


def decision_exit(res: ExperimentResult) -> int:
    """Exit code of ``--fail-on decision``: 3 unless the decision is ship (stated on stderr)."""
    d = res.decision()
    if d.action == "ship":
        return EXIT_OK
    print(f"promptab: decision: {d.headline} (not ship)", file=sys.stderr)
    return EXIT_REGRESSION


def regressions(res: ExperimentResult, metric: str) -> list[ArmRow]:
    """``res.regressions(metric)``, with an unknown metric named as ``--fail-on-regression``'s."""
    analysed = [m.name for m in res.metrics]
    if metric not in analysed:
        raise UsageError(
            f"--fail-on-regression {metric!r} is not among the analysed metrics"
            f"{did_you_mean(metric, analysed)} ({', '.join(analysed)})"
        )
    return res.regressions(metric)


def _gate_p(res: ExperimentResult, metric: str) -> dict[str, tuple[float, str | None]]:
    """Treatment → (p-value, margin) of the test that makes it a regression on ``metric``:
    the decision's test (Holm across arms, before any correction across metrics, two-sided),
    against the guardrail's margin when it has one. The row's ``p_value`` is not it (it is
    corrected across metrics or one-sided), and may not be significant."""
    from ..decision import regression_checks

    return {
        c.variant: (c.p_within if c.margin is None else c.p_beyond, c.margin)
        for c in regression_checks(res, metric)
    }


def unchecked(res: ExperimentResult, metric: str) -> list[tuple[str, str]]:
    """(treatment, why) of each arm the regression gate cannot check on ``metric``: its verdict
    was withheld (e.g. over 5 % unpriced generations, an arm under the minimum sample), or its
    relative margin has no relative effect. Missing is not "no regression"."""
    from ..decision import regression_checks

    return [
        (c.variant, c.note or "no test")
        for c in regression_checks(res, metric)
        if is_missing(c.p_within)
    ]


def regression_exit(res: ExperimentResult, metric: str | None) -> int:
    """Exit code of ``--fail-on-regression METRIC``; each regression, and each arm whose
    verdict on METRIC was withheld (the gate cannot pass on it), is one line on stderr."""
    if not metric:
        return EXIT_OK
    regs = regressions(res, metric)
    gate = _gate_p(res, metric)
    for r in regs:
        p, margin = gate[r.variant]
        beyond = f" by more than its margin {margin}" if margin else ""
        print(
            f"promptab: regression: {r.variant} is significantly worse than {res.control} on "
            f"{metric}{beyond} ({num(r.rel_diff, '%', signed=True)}, {pval(p)})",
            file=sys.stderr,
        )
    unknown = unchecked(res, metric)
    for variant, why in unknown:
        print(
            f"promptab: regression: cannot tell whether {variant} is worse than {res.control} "
            f"on {metric}: no verdict ({why})",
            file=sys.stderr,
        )
    return EXIT_REGRESSION if regs or unknown else EXIT_OK


def _rows_json(res: ExperimentResult) -> list[dict[str, Any]]:
    """``res.to_pandas()`` as records, ``significant`` null where no test decided it (the control,
    a withheld verdict): a withheld p-value withholds "significant" too, not "false"."""
    records = res.to_pandas().to_dict("records")
    for rec in records:
        decided = not is_missing(rec["p_value"]) or not is_missing(rec.get("chance_to_win"))
        if rec["is_control"] or not decided:
            rec["significant"] = None
    return records


def result_json(
    res: ExperimentResult,
    *,
    report: Path | None = None,
    regression_metric: str | None = None,
    all_pairs: bool = False,
) -> dict[str, Any]:
    """The ``--json`` document of an analysis (schema ``promptab.analyze/1``, see
    :mod:`promptab_nb.cli`); ``all_pairs`` fills its ``all_pairs`` list (else ``null``)."""
    h = res.health
    regs = regressions(res, regression_metric) if regression_metric else []
    gate = _gate_p(res, regression_metric) if regression_metric else {}
    doc: dict[str, Any] = jsonable(
        {
            "schema": JSON_SCHEMA,
            "experiment": res.experiment,
            "prompt_name": res.prompt_name,
            "flag_key": res.flag_key,
            "control": res.control,
            "variants": dict(res.variants),
            "options": {k: jsonable(v) for k, v in vars(res.options).items()},
            "rows": _rows_json(res),
            "health": {
                "source": h.source,  # where each unit's arm came from (assignment source)
                "exposed": dict(h.exposed),
                "multiple": h.multiple,
                "unknown_variants": dict(h.unknown_variants),
                "srm_p_value": h.srm_p_value,
                "srm_statistic": h.srm_statistic,  # Pearson χ², whatever the test
                "srm_method": h.srm_method,  # the test of srm_p_value
                "expired": h.expired,
                "warnings": list(h.warnings),
                "ok": h.ok,
            },
            "decision": res.decision().to_dict(),
            "segments": None
            if res.segments is None
            else {
                "by": res.segments.by,
                "rows": list(res.segments.rows),
                "heterogeneity": list(res.segments.heterogeneity),
            },
            "verdicts": [{"text": t, "tone": tone} for t, tone in res.verdicts()],
            "total_impact": [
                {
                    "metric": imp.metric,
                    "unit": imp.unit,
                    "units": imp.units,
                    "exposed": imp.exposed,
                    "traffic_share": imp.traffic_share,
                    "arms": imp.to_pandas().to_dict("records"),
                }
                for imp in res.impacts
            ],
            "all_pairs": _pairs_json(res) if all_pairs else None,
            "regressions": [
                {
                    "metric": r.metric,
                    "variant": r.variant,
                    "diff": r.diff,
                    "rel_diff": r.rel_diff,
                    "p_value": gate[r.variant][0],  # of the gate's test (not the row's)
                }
                for r in regs
            ],
            "unchecked": [
                {"metric": regression_metric, "variant": variant, "note": why}
                for variant, why in (unchecked(res, regression_metric) if regression_metric else [])
            ],
            "report": str(report) if report is not None else None,
        }
    )
    return doc
