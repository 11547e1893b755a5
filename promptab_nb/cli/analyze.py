"""``promptab analyze``, ``promptab report`` and ``promptab demo``: analyse an experiment, print
it and write its HTML report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..options import AnalysisOptions
from ._common import (
    EXIT_OK,
    UsageError,
    add_command,
    check_writable,
    find_experiment,
    flags_named,
    open_workspace,
    pairs,
    progress,
    rejected_note,
    workspace_arg,
)
from ._options import add_analysis_flags, given_options, options_from_args
from ._output import decision_exit, print_result, regression_exit, regressions, result_json
from ._sources import add_source_flags, analyze_promptfoo, analyze_source, resolve_source
from ._suggest import did_you_mean

__all__ = ["analyze_export", "cmd_analyze", "cmd_demo", "cmd_report", "register"]

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..results import ExperimentResult
    from ..workspace import Workspace

# The bundled sample (scripts/make_sample_data.py): flag, prompt and metrics of `make demo`.
DEMO_FLAG = "support-bot-prompt"
DEMO_PROMPT = "support-bot"
DEMO_METRICS = ("cost", "latency", "error_rate", "pass_rate")


def register(sub: Any) -> None:
    """Add ``analyze``, ``report`` and ``demo`` to the command parser."""
    a = add_command(
        sub,
        "analyze",
        "Analyse an experiment straight from a PostHog export (loaded into memory).",
        "  promptab analyze events.parquet --flag support-bot-prompt --prompt support-bot\n"
        "  promptab analyze 'exports/*.jsonl' --flag my-flag --variants control=v1,test=v2 \\\n"
        "      --metrics cost,latency,error_rate --out report.html\n"
        "  promptab analyze events.csv --flag my-flag --cuped --winsorize 0,99 "
        "--correction holm\n"
        "  promptab analyze events.csv --flag my-flag --json --fail-on-regression error_rate\n"
        "  promptab analyze events.csv --flag my-flag --variants control=v1,a=v2,b=v3 "
        "--all-pairs\n",
    )
    a.add_argument(
        "export",
        metavar="EXPORT",
        help="PostHog, Spanlens, Langfuse, OTel or promptfoo export; a glob (see --source)",
    )
    a.add_argument("--flag", metavar="KEY", help="feature flag key of the test (PostHog)")
    a.add_argument("--name", help="experiment name (default: the flag key)")
    a.add_argument("--prompt", metavar="NAME", help="only generations of this prompt name")
    a.add_argument(
        "--variants",
        metavar="KEY=VERSION,...",
        help="variant key → prompt version, control first (default: the flag's variants in the "
        "export, 'control' first then alphabetical, versions from the generations)",
    )
    a.add_argument("--out", metavar="PATH", help="write the HTML report here")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.add_argument(
        "--all-pairs",
        action="store_true",
        help="also compare every pair of arms (for more than two arms): Welch per pair, "
        "p-values corrected across pairs (--correction, else Holm); in --json as all_pairs",
    )
    a.add_argument(
        "--fail-on-regression",
        metavar="METRIC",
        help="exit 3 when a treatment is significantly worse than the control on METRIC, by the "
        "decision's tests (worse than its --guardrail margin when it has one), or when its "
        "verdict on METRIC is withheld (it cannot be told)",
    )
    a.add_argument(
        "--fail-on",
        choices=("decision",),
        help="decision: exit 3 unless the decision is ship",
    )
    design_flags(a)
    add_source_flags(a)
    add_analysis_flags(a)
    a.set_defaults(func=cmd_analyze)

    r = add_command(
        sub,
        "report",
        "Re-render the HTML report of an experiment stored in a workspace file.",
        "  promptab report support-v2 --workspace ab.duckdb --out reports/support-v2.html\n"
        "  promptab report support-v2 --workspace ab.duckdb --out r.html --method bayesian\n",
    )
    r.add_argument("experiment", metavar="EXPERIMENT", help="experiment name or id")
    workspace_arg(r)
    r.add_argument("--out", required=True, metavar="PATH", help="report file to write")
    r.add_argument("--title", help="page title")
    add_analysis_flags(r)
    r.set_defaults(func=cmd_report)

    d = add_command(
        sub,
        "demo",
        "Analyse the bundled sample export and write its HTML report (what `make demo` runs).",
        "  promptab demo --data data --out reports/demo.html\n",
    )
    d.add_argument(
        "--data",
        default="data",
        metavar="DIR",
        help="folder with posthog_events.* (or that export file itself)",
    )
    d.add_argument("--out", default="reports/demo.html", metavar="PATH", help="report file")
    d.set_defaults(func=cmd_demo)


def design_flags(p: argparse.ArgumentParser) -> None:
    """``--goal``, ``--guardrail`` and ``--mde``: the decision design of the experiment."""
    g = p.add_argument_group("decision design (create_experiment(goal=, guardrails=, mde=))")
    g.add_argument("--goal", metavar="METRIC", help="the metric the treatment must improve")
    g.add_argument(
        "--guardrail",
        action="append",
        metavar="METRIC=MARGIN",
        help="how much worse METRIC may be: +5%% (relative), +0.2pp (percentage points) or a "
        "number in its unit; repeat or comma-separate (e.g. cost=+5%%,error_rate=+0.2pp)",
    )
    g.add_argument(
        "--mde",
        metavar="SIZE",
        help="smallest improvement of the goal worth detecting (e.g. +2%% or +1pp; a "
        "decrease as --mde=-5%%); sets the planned sample",
    )


def design_of(args: argparse.Namespace) -> dict[str, Any]:
    """``create_experiment`` keyword arguments of the design flags given."""
    out: dict[str, Any] = {}
    if getattr(args, "goal", None):
        out["goal"] = _metric_name(args.goal, "--goal")
    given = pairs(getattr(args, "guardrail", None) or [], "--guardrail", "cost=+5%,latency=+10%")
    rails = {_metric_name(key, "--guardrail"): margin for key, margin in given.items()}
    if rails:
        out["guardrails"] = rails
    if getattr(args, "mde", None):
        out["mde"] = args.mde
    return out


def _metric_name(name: str, flag: str) -> str:
    from ..metrics import BUILTIN

    if name not in BUILTIN:
        raise UsageError(
            f"{flag} {name!r} is not a built-in metric{did_you_mean(name, BUILTIN)} "
            f"(metrics: {', '.join(BUILTIN)})"
        )
    return name


def analyze_export(
    export: str,
    *,
    flag: str,
    prompt: str | None,
    variants: dict[str, str] | None,
    name: str | None,
    options: AnalysisOptions,
    design: dict[str, Any] | None = None,
) -> tuple[Workspace, Experiment, ExperimentResult]:
    """Load ``export`` into an in-memory workspace and analyse the experiment of ``flag``."""
    from ..workspace import Workspace

    ws = Workspace()
    load = ws.load_posthog(export, progress=progress())
    try:
        found = ws.flag_variants(flag, prompt)
    except NotFoundError as err:
        flags = str(err).partition("flags found: ")[2].split(", ")
        raise NotFoundError(
            f"{err}{did_you_mean(flag, [f for f in flags if f])}{rejected_note(load)}"
        ) from err
    if variants is None:
        variants = found
    else:
        # A key one letter away from an exposed variant is a typo; another unexposed key may be
        # an arm without traffic yet (analysed, with the health warning).
        unknown = [k for k in variants if k not in found and did_you_mean(k, found)]
        if unknown:
            raise UsageError(
                f"--variants: {unknown[0]!r} is not a variant of flag {flag!r}"
                f"{did_you_mean(unknown[0], found)} (variants in the export: "
                f"{', '.join(found)})"
            )
    exp = ws.create_experiment(name or flag, prompt, variants, flag_key=flag, **(design or {}))
    return ws, exp, exp.analyze(options=options)


def _metrics_with(args: argparse.Namespace, *needed: str) -> dict[str, Any]:
    """The ``metrics`` change that makes sure the ``needed`` metrics (``--fail-on-regression``,
    the goal and guardrails) are analysed when ``--metrics`` was given without them."""
    chosen = given_options(args).get("metrics")
    if chosen is None:
        if not needed:
            return {}
        from ..metrics import DEFAULT

        return {"metrics": tuple(dict.fromkeys((*needed, *DEFAULT)))}
    extra = [m for m in needed if m not in chosen]
    return {"metrics": tuple(dict.fromkeys((*chosen, *extra)))} if extra else {}


#: Analysis options checked only against the experiment, in the analysis: their flags.
_LATE_FLAGS = {r"alternative\b": "--alternative"}


def _analyze(
    args: argparse.Namespace, source: str, options: AnalysisOptions, design: dict[str, Any]
) -> tuple[Workspace, Experiment, ExperimentResult]:
    if source != "posthog" or not args.flag:
        return analyze_source(args, source, options=options, design=design)
    return analyze_export(
        args.export,
        flag=args.flag,
        prompt=args.prompt,
        variants=pairs(args.variants, "--variants") if args.variants else None,
        name=args.name,
        options=options,
        design=design,
    )


def cmd_analyze(args: argparse.Namespace) -> int:
    from .. import report

    source = resolve_source(args)  # --source, or detected from the file (stated in the output)
    if source == "promptfoo":
        return analyze_promptfoo(args)
    regression = args.fail_on_regression
    if regression:
        _metric_name(regression, "--fail-on-regression")
    design = design_of(args)
    needed = [regression, *(design.get("goal"),), *design.get("guardrails", {})]
    options = options_from_args(args, **_metrics_with(args, *[m for m in needed if m]))
    if args.out:
        check_writable(args.out)
    # (checked against the experiment's metrics only when it is analysed)
    with flags_named(_LATE_FLAGS):
        ws, _exp, res = _analyze(args, source, options, design)
    if regression:
        regressions(res, regression)  # unknown metric → usage error before any output
    path = report.write(res, args.out, ws=ws) if args.out else None
    if args.json:
        doc = result_json(res, report=path, regression_metric=regression, all_pairs=args.all_pairs)
        print(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print_result(res, all_pairs=args.all_pairs)
        if path is not None:
            print(f"\nreport: {path}")
    code = regression_exit(res, regression)
    if args.fail_on == "decision":
        code = max(code, decision_exit(res))
    return code


def cmd_report(args: argparse.Namespace) -> int:
    from .. import report

    check_writable(args.out)
    options = options_from_args(args)
    ws = open_workspace(args.workspace)
    try:
        with flags_named(_LATE_FLAGS):
            res = find_experiment(ws, args.experiment).analyze(options=options)
        path = report.write(res, args.out, ws=ws, title=args.title)
    finally:
        ws.close()
    print(path)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .. import report

    data = Path(args.data)
    candidates = [data / f"posthog_events.{ext}" for ext in ("parquet", "jsonl", "csv")]
    # (the export itself, or the folder holding it)
    export = data if data.is_file() else next((c for c in candidates if c.is_file()), None)
    if export is None:
        raise NotFoundError(
            f"no sample export in {data}/ (expected posthog_events.parquet); "
            "create it with `python scripts/make_sample_data.py`"
        )
    check_writable(args.out)
    ws, _exp, res = analyze_export(
        str(export),
        flag=DEMO_FLAG,
        prompt=DEMO_PROMPT,
        variants=None,
        name="support-bot v1 vs v2",
        options=AnalysisOptions(metrics=DEMO_METRICS),
    )
    print_result(res)
    path = report.write(res, args.out, ws=ws, title="Demo: support-bot prompt v1 vs v2")
    print(f"\nreport: {path}")
    return EXIT_OK
