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
    add_command,
    check_writable,
    open_workspace,
    pairs,
    progress,
    workspace_arg,
)
from ._options import add_analysis_flags, given_options, options_from_args
from ._output import print_result, regression_exit, regressions, result_json

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
        "  promptab analyze events.csv --flag my-flag --json --fail-on-regression error_rate\n",
    )
    a.add_argument("export", metavar="EXPORT", help="PostHog export: Parquet, JSONL or CSV; a glob")
    a.add_argument("--flag", required=True, metavar="KEY", help="feature flag key of the test")
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
        "--fail-on-regression",
        metavar="METRIC",
        help="exit 3 when a treatment is significantly worse than the control on METRIC",
    )
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
    d.add_argument("--data", default="data", metavar="DIR", help="folder with posthog_events.*")
    d.add_argument("--out", default="reports/demo.html", metavar="PATH", help="report file")
    d.set_defaults(func=cmd_demo)


def analyze_export(
    export: str,
    *,
    flag: str,
    prompt: str | None,
    variants: dict[str, str] | None,
    name: str | None,
    options: AnalysisOptions,
) -> tuple[Workspace, Experiment, ExperimentResult]:
    """Load ``export`` into an in-memory workspace and analyse the experiment of ``flag``."""
    from ..workspace import Workspace

    ws = Workspace()
    ws.load_posthog(export, progress=progress())
    if variants is None:
        variants = ws.flag_variants(flag, prompt)
    exp = ws.create_experiment(name or flag, prompt, variants, flag_key=flag)
    return ws, exp, exp.analyze(options=options)


def _metrics_with(args: argparse.Namespace, metric: str | None) -> dict[str, Any]:
    """The ``metrics`` change that makes sure ``metric`` (``--fail-on-regression``) is analysed
    when ``--metrics`` was given without it."""
    chosen = given_options(args).get("metrics")
    if metric and chosen is not None and metric not in chosen:
        return {"metrics": (*chosen, metric)}
    return {}


def cmd_analyze(args: argparse.Namespace) -> int:
    from .. import report

    regression = args.fail_on_regression
    options = options_from_args(args, **_metrics_with(args, regression))
    if args.out:
        check_writable(args.out)
    ws, _exp, res = analyze_export(
        args.export,
        flag=args.flag,
        prompt=args.prompt,
        variants=pairs(args.variants, "--variants") if args.variants else None,
        name=args.name,
        options=options,
    )
    if regression:
        regressions(res, regression)  # unknown metric → usage error before any output
    path = report.write(res, args.out, ws=ws) if args.out else None
    if args.json:
        doc = result_json(res, report=path, regression_metric=regression)
        print(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print_result(res)
        if path is not None:
            print(f"\nreport: {path}")
    return regression_exit(res, regression)


def cmd_report(args: argparse.Namespace) -> int:
    from .. import report

    check_writable(args.out)
    options = options_from_args(args)
    ws = open_workspace(args.workspace)
    try:
        key: str | int = int(args.experiment) if args.experiment.isdigit() else args.experiment
        res = ws.experiment(key).analyze(options=options)
        path = report.write(res, args.out, ws=ws, title=args.title)
    finally:
        ws.close()
    print(path)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .. import report

    data = Path(args.data)
    candidates = [data / f"posthog_events.{ext}" for ext in ("parquet", "jsonl", "csv")]
    export = next((c for c in candidates if c.is_file()), None)
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
