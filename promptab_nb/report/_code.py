"""The "Reproduce" section: Python code that gives the same numbers from the loaded files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._html import Markup, el
from ..options import call_code

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..results import ExperimentResult


def reproducing_code(res: ExperimentResult, exp: Experiment | None = None) -> str:
    """Python code that reproduces ``res`` from the loaded files (shown in the report).

    The analysis call is ``res.options.to_code(...)``: the same text every surface shows for
    these options.

    Examples
    --------
    >>> print(pab.report.reproducing_code(res, exp))                 # doctest: +SKIP
    import promptab_nb as pab
    <BLANKLINE>
    ws = pab.Workspace()
    ws.load_posthog('data/posthog_events.parquet')
    exp = ws.create_experiment(
        'support-v2',
        'support-bot',
        {'control': 'v1', 'test': 'v2'},
        flag_key='support-bot-prompt',
    )
    res = exp.analyze(['cost', 'latency', 'error_rate', 'pass_rate'])
    pab.report.write(res, "report.html", ws=ws)
    """
    lines = ["import promptab_nb as pab", "", "ws = pab.Workspace()"]
    # Each import keeps the loader call that made it (one call may load several files); an
    # import from before calls were kept (or a Spark source) names its file.
    for p in res.provenance:
        call = p.get("call") or _call_of(p)
        if call and call not in lines:
            lines.append(call)
    if not res.provenance:
        lines.append("# load the data the result came from, e.g. ws.load_posthog('events.parquet')")
    args = [repr(res.experiment), repr(res.prompt_name), repr(dict(res.variants))]
    if res.flag_key is not None and res.flag_key != res.experiment:
        args.append(f"flag_key={res.flag_key!r}")
    if exp is not None:
        equal = 100.0 / len(exp.split)
        if any(abs(s - equal) > 1e-9 for s in exp.split.values()):
            args.append(f"split={[round(s, 6) for s in exp.split.values()]!r}")
    if exp is not None and exp.unit != "user":
        args.append(f"unit={exp.unit!r}")
    lines.append(call_code("exp = ws.create_experiment", args))
    lines.append(res.options.to_code("res = exp.analyze", exp=exp))
    lines.append('pab.report.write(res, "report.html", ws=ws)')
    return "\n".join(lines) + "\n"


def _call_of(p: dict) -> str | None:
    """The call that loaded the file of an import that kept none."""
    source, f = p.get("source") or "posthog", p.get("file")
    if not f:
        return None
    if source == "spark":
        return f"# the events were read by Spark from {f} (promptab_nb.engines.spark.analyze)"
    if source in ("posthog", "spanlens", "otel", "promptfoo"):
        return f"ws.load_{source}({str(f)!r})"
    return f"# load {f} with ws.load_{source}(...), as it was loaded (its options were not kept)"


def code_section(res: ExperimentResult, exp: Experiment | None) -> Markup:
    """The "Reproduce" section."""
    return el(
        "section",
        el("h2", "Reproduce"),
        el("p", "Run this in Python next to the data files to get the same numbers:"),
        el("pre", el("code", reproducing_code(res, exp))),
        id="reproduce",
    )
