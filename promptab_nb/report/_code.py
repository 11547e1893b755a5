"""The "Reproduce" section: Python code that gives the same numbers from the loaded files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._experiment_registry import check_split
from .._html import Markup, el
from ..options import call_code
from ._offline_code import OfflineCode, offline_code

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..results import ExperimentResult
    from ..workspace import Workspace


def reproducing_code(
    res: ExperimentResult,
    exp: Experiment | None = None,
    *,
    ws: Workspace | None = None,
    offline: Any = None,
) -> str:
    """Python code that reproduces ``res`` from the loaded files (shown in the report).

    The experiment is created with its split, unit, rollout, assignment source and decision
    design (goal, guardrails, MDE, power), so the code's total impact and ``res.decision()`` are
    the report's; the planned end (``ends_at``) is left out (a past one cannot be created). The
    analysis call is ``res.options.to_code(...)``: the same text every surface shows for
    these options. With ``offline`` (a ``run.compare(...)`` result) the code also reopens its
    run, from the promptfoo file loaded above or from the file workspace ``ws`` (default: the
    experiment's) that stores it, and compares it again with the options the comparison
    records (:meth:`~promptab_nb.offline.OfflineComparison.to_code`); when no code can give its
    numbers (a run only an in-memory workspace held, an unseeded bootstrap) comments say so.

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
    if ws is None and exp is not None:
        ws = exp.ws
    off = offline_code(offline, ws, res.provenance) if offline is not None else None
    return "\n".join(_lines(res, exp, off)) + "\n"


def _lines(res: ExperimentResult, exp: Experiment | None, off: OfflineCode | None) -> list[str]:
    """The code's lines; ``off`` adds the offline comparison before the report is written."""
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
        # Left out only when it is the default (PostHog's 33/33/34, not 100/3 each), written
        # in full (shares rounded to 6 digits, 100/3 each, summed to 99.999999: refused).
        default = check_split(None, list(exp.split))
        if any(abs(s - default[k]) > 1e-9 for k, s in exp.split.items()):
            args.append(f"split=[{', '.join(_number(s) for s in exp.split.values())}]")
    if exp is not None and exp.unit != "user":
        args.append(f"unit={exp.unit!r}")
    if exp is not None and exp.rollout != 100:
        args.append(f"rollout={_number(exp.rollout)}")
    if exp is not None and exp.assigned_by != "flag":
        args.append(f"assigned_by={exp.assigned_by!r}")
    args += _design_args(res)
    lines.append(call_code("exp = ws.create_experiment", args))
    lines.append(res.options.to_code("res = exp.analyze", exp=exp))
    write = ["res", '"report.html"', "ws=ws"]
    if off is not None:
        lines += [*off.lines, ""]
        if off.var is not None:
            write.append(f"offline={off.var}")
    lines.append(call_code("pab.report.write", write))
    return lines


def _number(x: float) -> str:
    """``50.0`` → ``50``, ``33.5`` → ``33.5``: a number as a user types it, exactly."""
    return repr(int(x)) if float(x).is_integer() else repr(float(x))


def _design_args(res: ExperimentResult) -> list[str]:
    """``goal=``, ``guardrails=``, ``mde=`` and ``power=`` of the result's decision design (each
    margin as the text it was given as), so that the code's ``res.decision()`` is the report's;
    none without a design."""
    d = res.design
    if d is None:
        return []
    out = [f"goal={d.goal!r}"] if d.goal else []
    if d.guardrails:
        rails = {k: None if v is None else v.text for k, v in d.guardrails.items()}
        out.append(f"guardrails={rails!r}")
    if d.mde is not None:
        out.append(f"mde={d.mde.text!r}")
    if d.power != 0.8:
        out.append(f"power={_number(d.power)}")
    return out


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


def code_section(
    res: ExperimentResult,
    exp: Experiment | None,
    *,
    ws: Workspace | None = None,
    offline: Any = None,
) -> Markup:
    """The "Reproduce" section; what it cannot reproduce (an offline comparison) it says."""
    off = offline_code(offline, ws, res.provenance) if offline is not None else None
    return el(
        "section",
        el("h2", "Reproduce"),
        el("p", "Run this in Python next to the data files to get the same numbers:"),
        # (what it cannot reproduce stands out before the code, not in a comment inside it)
        el("div", off.note, class_="health warn") if off is not None and off.note else None,
        el("pre", el("code", "\n".join(_lines(res, exp, off)) + "\n")),
        id="reproduce",
    )
