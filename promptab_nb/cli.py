"""The ``promptab`` command: analyse a PostHog export, manage experiments, simulate, run offline
comparisons, write reports and the demo. Every subcommand is a thin layer over the Python API.

Usage (``promptab <command> --help`` shows the options and examples)::

    promptab analyze EXPORT --flag KEY [--prompt NAME] [--variants control=v1,test=v2]
                     [--metrics cost,latency] [--unit user|request] [--method frequentist|bayesian]
                     [--alpha 0.05] [--out report.html] [--json] [--fail-on-regression METRIC]
    promptab load EXPORT --workspace FILE
    promptab experiments list|create|conclude|stop --workspace FILE ...
    promptab report EXPERIMENT --workspace FILE --out report.html
    promptab simulate traffic|aa|power|peeking ...
    promptab offline run DATASET --prompts a.txt b.txt --model demo
    promptab demo --data DIR --out PATH

Exit codes
----------
0
    Success.
2
    Usage error or bad input: a missing file, an unknown flag, metric or experiment, an option out
    of range, an unwritable output path. One line on stderr (``promptab: error: ...``), never a
    traceback.
3
    ``--fail-on-regression METRIC``: a treatment is significantly worse than the control on METRIC
    (direction-aware: higher cost, latency or error rate; lower pass rate).

JSON output (``analyze --json``, schema ``promptab.analyze/1``)::

    {"schema": "promptab.analyze/1",
     "experiment": "<name>", "prompt_name": ..., "flag_key": ..., "control": "control",
     "variants": {"control": "v1", "test": "v2"},
     "options": {"unit": "user", "method": "frequentist", "alpha": 0.05, ...},
     "rows": [{"metric", "variant", "is_control", "n", "mean", "mean_ci_low", "mean_ci_high",
               "diff", "diff_ci_low", "diff_ci_high", "rel_diff", "rel_ci_low", "rel_ci_high",
               "p_value", "test", "significant", (bayesian: "chance_to_win", "expected_loss",
               "cred_low", "cred_high")}, ...],
     "health": {"exposed": {...}, "multiple": 0, "unknown_variants": {...},
                "srm_p_value": 0.41, "srm_statistic": 0.7, "expired": false,
                "warnings": [...], "ok": true},
     "verdicts": [{"text": "...", "tone": "good|bad|neutral"}],
     "regressions": [{"metric", "variant", "diff", "rel_diff", "p_value"}],
     "report": "report.html" | null}

Numbers are in the metric's unit (USD, seconds, fractions for rates); relative values are
fractions (0.032 = +3.2 %); a value that does not exist (NaN) is ``null``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgumentError, NotFoundError, PromptabError
from .options import AnalysisOptions

if TYPE_CHECKING:
    from .experiments import Experiment
    from .results import ArmRow, ExperimentResult
    from .workspace import Workspace

__all__ = ["EXIT_OK", "EXIT_REGRESSION", "EXIT_USAGE", "main", "regressions"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REGRESSION = 3
JSON_SCHEMA = "promptab.analyze/1"

# The bundled sample (scripts/make_sample_data.py): flag, prompt and metrics of `make demo`.
DEMO_FLAG = "support-bot-prompt"
DEMO_PROMPT = "support-bot"
DEMO_METRICS = ("cost", "latency", "error_rate", "pass_rate")


class _Usage(PromptabError):
    """A command-line mistake the parser cannot see (e.g. a malformed --variants)."""


# -- entry point -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``promptab`` command; returns the exit code (0 ok, 2 bad input, 3 regression).

    Parameters
    ----------
    argv
        Arguments without the program name (default ``sys.argv[1:]``).

    Examples
    --------
    >>> main(["demo", "--data", "data", "--out", "reports/demo.html"])  # doctest: +SKIP
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) and argparse usage errors (2)
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        (getattr(args, "_help", None) or parser).print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except (PromptabError, OSError) as err:
        _error(err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("promptab: interrupted", file=sys.stderr)
        return 130


def _error(err: BaseException) -> None:
    if isinstance(err, OSError) and err.filename:
        text = f"{err.strerror or err}: {err.filename}"
    else:
        text = str(err) or type(err).__name__
    print("promptab: error: " + " ".join(text.split()), file=sys.stderr)


# -- parser ----------------------------------------------------------------------------------------
class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _sub(subparsers: Any, name: str, help_: str, examples: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=help_,
        description=help_,
        epilog="examples:\n" + examples,
        formatter_class=_Formatter,
    )


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="promptab",
        description="A/B test LLM prompt versions: does prompt version B beat A?",
        epilog=(
            "examples:\n"
            "  promptab demo --data data --out reports/demo.html\n"
            "  promptab analyze events.parquet --flag support-bot-prompt --out report.html\n"
            "  promptab analyze events.parquet --flag support-bot-prompt --json "
            "--fail-on-regression error_rate\n\n"
            "exit codes: 0 ok, 2 usage error or bad input, 3 regression (--fail-on-regression)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"promptab {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    # analyze
    a = _sub(
        sub,
        "analyze",
        "Analyse an experiment straight from a PostHog export (loaded into memory).",
        "  promptab analyze events.parquet --flag support-bot-prompt --prompt support-bot\n"
        "  promptab analyze 'exports/*.jsonl' --flag my-flag --variants control=v1,test=v2 \\\n"
        "      --metrics cost,latency,error_rate --out report.html\n"
        "  promptab analyze events.csv --flag my-flag --json --fail-on-regression error_rate\n",
    )
    a.add_argument("export", metavar="EXPORT", help="PostHog export: Parquet, JSONL or CSV; a glob")
    a.add_argument("--flag", required=True, metavar="KEY", help="feature flag key of the test")
    a.add_argument("--name", help="experiment name (default: the flag key)")
    _analysis_options(a)
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
    a.set_defaults(func=_cmd_analyze)

    # load
    lo = _sub(
        sub,
        "load",
        "Load a PostHog export into a workspace file (atomic, idempotent).",
        "  promptab load events.parquet --workspace ab.duckdb\n",
    )
    lo.add_argument(
        "export", metavar="EXPORT", help="PostHog export: Parquet, JSONL or CSV; a glob"
    )
    lo.add_argument("--workspace", required=True, metavar="FILE", help="workspace file (created)")
    lo.set_defaults(func=_cmd_load)

    # experiments
    e = _sub(
        sub,
        "experiments",
        "List, create, conclude or stop experiments in a workspace file.",
        "  promptab experiments list --workspace ab.duckdb\n"
        "  promptab experiments create support-v2 --workspace ab.duckdb --prompt support-bot \\\n"
        "      --variants control=v1,test=v2 --flag support-bot-prompt --ends-at 2026-06-30\n"
        "  promptab experiments conclude support-v2 --winner test --workspace ab.duckdb\n"
        "  promptab experiments stop support-v2 --workspace ab.duckdb\n",
    )
    esub = e.add_subparsers(title="actions", metavar="ACTION")
    el_ = _sub(esub, "list", "List experiments, newest first.", "  promptab experiments list "
               "--workspace ab.duckdb --status running\n")  # fmt: skip
    _workspace_arg(el_)
    el_.add_argument("--status", choices=["running", "concluded", "stopped"])
    el_.add_argument("--prompt", metavar="NAME", help="only experiments on this prompt")
    el_.add_argument("--json", action="store_true", help="print JSON records")
    el_.set_defaults(func=_cmd_exp_list)
    ec = _sub(esub, "create", "Create a running experiment.", "  promptab experiments create "
              "support-v2 --workspace ab.duckdb --prompt support-bot --variants control=v1,test=v2\n")  # fmt: skip
    ec.add_argument("name", metavar="NAME")
    _workspace_arg(ec, create=True)
    ec.add_argument("--prompt", metavar="NAME", help="prompt under test ($ai_prompt_name)")
    ec.add_argument("--variants", required=True, metavar="KEY=VERSION,...")
    ec.add_argument("--flag", metavar="KEY", help="feature flag key (default: NAME)")
    ec.add_argument("--split", metavar="PCT,...", help="percent per variant, e.g. 50,50")
    ec.add_argument("--unit", choices=["user", "request"], default="user")
    ec.add_argument("--metrics", metavar="M1,M2", help="default metrics of the experiment")
    ec.add_argument("--ends-at", metavar="DATE", help="planned end, ISO date or date-time (UTC)")
    ec.set_defaults(func=_cmd_exp_create)
    ek = _sub(esub, "conclude", "Conclude an experiment with a winner.", "  promptab experiments "
              "conclude support-v2 --winner test --workspace ab.duckdb\n")  # fmt: skip
    ek.add_argument("name", metavar="NAME")
    ek.add_argument("--winner", required=True, metavar="VARIANT")
    _workspace_arg(ek)
    ek.set_defaults(func=_cmd_exp_conclude)
    es = _sub(esub, "stop", "Stop an experiment without a winner.", "  promptab experiments stop "
              "support-v2 --workspace ab.duckdb\n")  # fmt: skip
    es.add_argument("name", metavar="NAME")
    _workspace_arg(es)
    es.set_defaults(func=_cmd_exp_stop)
    e.set_defaults(func=None, _help=e)

    # report
    r = _sub(
        sub,
        "report",
        "Re-render the HTML report of an experiment stored in a workspace file.",
        "  promptab report support-v2 --workspace ab.duckdb --out reports/support-v2.html\n",
    )
    r.add_argument("experiment", metavar="EXPERIMENT", help="experiment name or id")
    _workspace_arg(r)
    _analysis_options(r, prompt=False)
    r.add_argument("--out", required=True, metavar="PATH", help="report file to write")
    r.add_argument("--title", help="page title")
    r.set_defaults(func=_cmd_report)

    # simulate
    s = _sub(
        sub,
        "simulate",
        "Synthetic traffic with known effects, and A/A and power studies.",
        "  promptab simulate traffic --users 5000 --effect test.latency=0.9 --out data/sim\n"
        "  promptab simulate aa --metric latency --n-per-arm 1000 --seed 1\n"
        "  promptab simulate power --metric latency --effect 0.05 --n-per-arm 500,1000,2000\n",
    )
    ssub = s.add_subparsers(title="studies", metavar="KIND")
    st = _sub(
        ssub,
        "traffic",
        "Write a synthetic PostHog export with known per-variant effects.",
        "  promptab simulate traffic --users 5000 --variants control=v1,test=v2 \\\n"
        "      --effect test.latency=0.92 --effect test.error_rate=0.03 --seed 7 --out data/sim\n",
    )
    st.add_argument("--users", type=int, default=5000, help="number of users")
    st.add_argument("--variants", default="control=v1,test=v2", metavar="KEY=VERSION,...")
    st.add_argument(
        "--effect",
        action="append",
        default=[],
        metavar="VARIANT.METRIC=VALUE",
        help="multiplier for latency/cost/tokens_out, absolute rate for error_rate/pass_rate; "
        "repeatable",
    )
    st.add_argument("--out", required=True, metavar="PATH", help="output directory or file stem")
    st.add_argument("--seed", type=int, default=None)
    st.add_argument("--days", type=int, default=14)
    st.add_argument("--formats", default="parquet", metavar="F1,F2", help="parquet, jsonl, csv")
    st.add_argument("--flag", default="prompt-experiment", metavar="KEY")
    st.add_argument("--prompt", default="support-bot", metavar="NAME")
    st.add_argument("--json", action="store_true", help="print the truth as JSON")
    st.set_defaults(func=_cmd_sim_traffic)
    _simulate_studies(ssub)
    s.set_defaults(func=None, _help=s)

    # offline
    o = _sub(
        sub,
        "offline",
        "Offline comparison of prompt versions over a dataset, before launch.",
        "  promptab offline run data/offline/word_problems.csv --prompts v1.txt v2.txt\n",
    )
    osub = o.add_subparsers(title="actions", metavar="ACTION")
    orun = _sub(
        osub,
        "run",
        "Run prompt versions (text files with {{var}} placeholders) over a dataset and compare.",
        "  promptab offline run data/offline/word_problems.csv \\\n"
        "      --prompts data/offline/prompt_v1.txt data/offline/prompt_v2.txt \\\n"
        "      --model demo --scorers numeric_close\n",
    )
    orun.add_argument("dataset", metavar="DATASET", help="dataset file: CSV or JSONL")
    orun.add_argument("--prompts", nargs="+", required=True, metavar="FILE", help="baseline first")
    orun.add_argument("--model", default="demo", help="model; only 'demo' (offline, no network)")
    orun.add_argument("--name", default="prompt", help="prompt name to register the versions under")
    orun.add_argument("--repeats", type=int, default=3, help="calls per (version, item)")
    orun.add_argument(
        "--scorers",
        metavar="S1,S2",
        help="built-in scorers by name, e.g. exact,numeric_close (default: exact when the "
        "dataset has expected answers)",
    )
    orun.add_argument("--workspace", metavar="FILE", help="keep the run in this workspace file")
    orun.add_argument("--json", action="store_true", help="print the comparison as JSON records")
    orun.set_defaults(func=_cmd_offline_run)
    o.set_defaults(func=None, _help=o)

    # demo
    d = _sub(
        sub,
        "demo",
        "Analyse the bundled sample export and write its HTML report (what `make demo` runs).",
        "  promptab demo --data data --out reports/demo.html\n",
    )
    d.add_argument("--data", default="data", metavar="DIR", help="folder with posthog_events.*")
    d.add_argument("--out", default="reports/demo.html", metavar="PATH", help="report file")
    d.set_defaults(func=_cmd_demo)
    return p


def _analysis_options(p: argparse.ArgumentParser, *, prompt: bool = True) -> None:
    if prompt:
        p.add_argument("--prompt", metavar="NAME", help="only generations of this prompt name")
    p.add_argument(
        "--metrics",
        metavar="M1,M2",
        help="comma-separated built-in metrics: cost, latency, error_rate, pass_rate, tokens_out, "
        "tokens_in, requests (default: cost,latency,error_rate,pass_rate)",
    )
    p.add_argument("--unit", choices=["user", "request"], help="unit of analysis (default: user)")
    p.add_argument("--method", choices=["frequentist", "bayesian"], default="frequentist")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level")


def _workspace_arg(p: argparse.ArgumentParser, *, create: bool = False) -> None:
    p.add_argument(
        "--workspace",
        required=True,
        metavar="FILE",
        help="workspace file" + (" (created when missing)" if create else ""),
    )


# -- helpers ---------------------------------------------------------------------------------------
def _pairs(text: str, what: str) -> dict[str, str]:
    """``control=v1,test=v2`` → ``{"control": "v1", "test": "v2"}``."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise _Usage(f"{what} == {text!r}: expected KEY=VALUE pairs, e.g. control=v1,test=v2")
        out[key.strip()] = value.strip()
    return out


def _list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise _Usage(f"empty list {text!r}; give comma-separated names")
    return items


def _open_workspace(path: str, *, create: bool = False) -> Workspace:
    from .workspace import Workspace

    if not create and not Path(path).is_file():
        raise NotFoundError(
            f"no workspace file {path}; create one with `promptab load EXPORT --workspace {path}` "
            "or pab.Workspace(path)"
        )
    return Workspace(path)


def _progress() -> bool:
    return sys.stderr.isatty()


def discover_variants(ws: Workspace, flag: str, prompt: str | None = None) -> dict[str, str]:
    """Variant key → prompt version of ``flag`` as seen in the loaded exposures.

    Keys are ordered ``"control"`` first, then alphabetically (first-seen and most-common orders
    are ambiguous). A key's version is the most common ``$ai_prompt_version`` of the generations
    its units made after their first exposure (the key itself when none is logged).

    Raises
    ------
    NotFoundError
        The flag has no exposures (the message lists the flags that do).
    InvalidArgumentError
        The flag has fewer than two variants.
    """
    rows = ws.engine.fetch(
        "SELECT variant, count(*) FROM exposures WHERE flag_key = ? AND variant IS NOT NULL "
        # PostHog logs `false` for users outside a multivariate flag's rollout: not a variant.
        "AND variant <> 'false' GROUP BY variant",
        [flag],
    )
    if not rows:
        flags = [
            r[0]
            for r in ws.engine.fetch(
                "SELECT flag_key FROM exposures GROUP BY flag_key ORDER BY count(*) DESC LIMIT 10"
            )
        ]
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
            "Pass --variants control=v1,test=v2"
        )
    versions = dict(
        ws.engine.fetch(
            """WITH x AS (
                   SELECT coalesce(person_id, distinct_id) AS unit, min(variant) AS variant,
                          min(ts) AS first_ts
                   FROM exposures WHERE flag_key = $flag
                   GROUP BY 1 HAVING count(DISTINCT variant) = 1)
               SELECT x.variant, mode(g.prompt_version)
               FROM x JOIN generations g
                 ON coalesce(g.person_id, g.distinct_id) = x.unit AND g.ts >= x.first_ts
               WHERE g.prompt_version IS NOT NULL AND ($prompt IS NULL OR g.prompt_name = $prompt)
               GROUP BY 1""",
            {"flag": flag, "prompt": prompt},
        )
    )
    return {k: str(versions.get(k) or k) for k in keys}


def regressions(res: ExperimentResult, metric: str) -> list[ArmRow]:
    """Treatment rows significantly worse than the control on ``metric`` (direction-aware)."""
    try:
        m = res.metric(metric)
    except KeyError as err:
        raise InvalidArgumentError(
            f"--fail-on-regression {metric!r} is not among the analysed metrics "
            f"({', '.join(x.name for x in res.metrics)})"
        ) from err
    out = []
    for r in res.rows:
        if r.is_control or r.metric != metric or not r.significant:
            continue
        effect = r.diff if not _isnan(r.diff) else r.rel_diff
        if _isnan(effect):
            continue
        if (effect > 0 and m.direction == "lower") or (effect < 0 and m.direction == "higher"):
            out.append(r)
    return out


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _jsonable(x: Any) -> Any:
    import datetime as dt

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dt.datetime | dt.date):
        return x.isoformat()
    if hasattr(x, "isoformat"):  # pandas Timestamp
        return x.isoformat()
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return str(x)


def result_json(
    res: ExperimentResult, *, report: Path | None = None, regression_metric: str | None = None
) -> dict[str, Any]:
    """The ``--json`` document of an analysis (schema ``promptab.analyze/1``, see the module)."""
    h = res.health
    regs = regressions(res, regression_metric) if regression_metric else []
    return _jsonable(
        {
            "schema": JSON_SCHEMA,
            "experiment": res.experiment,
            "prompt_name": res.prompt_name,
            "flag_key": res.flag_key,
            "control": res.control,
            "variants": dict(res.variants),
            "options": {k: _jsonable(v) for k, v in vars(res.options).items()},
            "rows": res.to_pandas().to_dict("records"),
            "health": {
                "exposed": dict(h.exposed),
                "multiple": h.multiple,
                "unknown_variants": dict(h.unknown_variants),
                "srm_p_value": h.srm_p_value,
                "srm_statistic": h.srm_statistic,
                "expired": h.expired,
                "warnings": list(h.warnings),
                "ok": h.ok,
            },
            "verdicts": [{"text": t, "tone": tone} for t, tone in res.verdicts()],
            "regressions": [
                {
                    "metric": r.metric,
                    "variant": r.variant,
                    "diff": r.diff,
                    "rel_diff": r.rel_diff,
                    "p_value": r.p_value,
                }
                for r in regs
            ],
            "report": str(report) if report is not None else None,
        }
    )


def _text_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _print_result(res: ExperimentResult) -> None:
    print(repr(res))
    print()
    print(_text_table(res.table_header(), res.table_rows()))


def _regression_exit(res: ExperimentResult, metric: str | None) -> int:
    if not metric:
        return EXIT_OK
    regs = regressions(res, metric)
    if not regs:
        return EXIT_OK
    from ._format import num, pval

    for r in regs:
        print(
            f"promptab: regression: {r.variant} is significantly worse than {res.control} on "
            f"{metric} ({num(r.rel_diff, '%', signed=True)}, {pval(r.p_value)})",
            file=sys.stderr,
        )
    return EXIT_REGRESSION


def _analyze_options(args: argparse.Namespace) -> AnalysisOptions:
    return AnalysisOptions(method=args.method, alpha=args.alpha, unit=args.unit or None)


# -- commands --------------------------------------------------------------------------------------
def _analyze_export(
    export: str,
    *,
    flag: str,
    prompt: str | None,
    variants: dict[str, str] | None,
    metrics: list[str] | None,
    name: str | None,
    options: AnalysisOptions,
) -> tuple[Workspace, Experiment, ExperimentResult]:
    from .workspace import Workspace

    ws = Workspace()
    ws.load_posthog(export, progress=_progress())
    if variants is None:
        variants = discover_variants(ws, flag, prompt)
    exp = ws.create_experiment(name or flag, prompt, variants, flag_key=flag)
    res = exp.analyze(metrics, options=options)
    return ws, exp, res


def _cmd_analyze(args: argparse.Namespace) -> int:
    from . import report

    metrics = _list(args.metrics)
    if args.fail_on_regression and metrics is not None and args.fail_on_regression not in metrics:
        metrics.append(args.fail_on_regression)
    if args.out:
        _check_writable(args.out)
    ws, exp, res = _analyze_export(
        args.export,
        flag=args.flag,
        prompt=args.prompt,
        variants=_pairs(args.variants, "--variants") if args.variants else None,
        metrics=metrics,
        name=args.name,
        options=_analyze_options(args),
    )
    if args.fail_on_regression:
        regressions(res, args.fail_on_regression)  # unknown metric → usage error before output
    path = report.write(res, args.out, ws=ws) if args.out else None
    if args.json:
        doc = result_json(res, report=path, regression_metric=args.fail_on_regression)
        print(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        _print_result(res)
        if path is not None:
            print(f"\nreport: {path}")
    return _regression_exit(res, args.fail_on_regression)


def _check_writable(out: str) -> None:
    """Fail before a long analysis when the report cannot be written."""
    import os

    from .errors import DataError

    target = Path(out)
    if target.is_dir():
        raise DataError(f"cannot write the report to {target}: it is a directory")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(f"cannot write the report to {target}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise DataError(f"cannot write the report to {target}: {parent} is not writable")


def _cmd_load(args: argparse.Namespace) -> int:
    ws = _open_workspace(args.workspace, create=True)
    try:
        print(repr(ws.load_posthog(args.export, progress=_progress())))
    finally:
        ws.close()
    return EXIT_OK


def _cmd_exp_list(args: argparse.Namespace) -> int:
    ws = _open_workspace(args.workspace)
    try:
        items = ws.experiments(prompt_name=args.prompt, status=args.status)
        if args.json:
            records = items.to_pandas().to_dict("records")
            print(json.dumps(_jsonable(records), indent=2, ensure_ascii=False))
        else:
            print(repr(items))
    finally:
        ws.close()
    return EXIT_OK


def _cmd_exp_create(args: argparse.Namespace) -> int:
    ws = _open_workspace(args.workspace, create=True)
    try:
        split = None
        if args.split:
            try:
                split = [float(x) for x in args.split.split(",")]
            except ValueError as err:
                raise _Usage(f"--split == {args.split!r}: expected percentages like 50,50") from err
        exp = ws.create_experiment(
            args.name,
            args.prompt,
            _pairs(args.variants, "--variants"),
            flag_key=args.flag,
            split=split,
            unit=args.unit,
            metrics=_list(args.metrics),
            ends_at=args.ends_at,
        )
        print(repr(exp))
    finally:
        ws.close()
    return EXIT_OK


def _cmd_exp_conclude(args: argparse.Namespace) -> int:
    ws = _open_workspace(args.workspace)
    try:
        print(repr(ws.experiment(args.name).declare_winner(args.winner)))
    finally:
        ws.close()
    return EXIT_OK


def _cmd_exp_stop(args: argparse.Namespace) -> int:
    ws = _open_workspace(args.workspace)
    try:
        print(repr(ws.experiment(args.name).stop()))
    finally:
        ws.close()
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from . import report

    _check_writable(args.out)
    ws = _open_workspace(args.workspace)
    try:
        key: str | int = int(args.experiment) if args.experiment.isdigit() else args.experiment
        exp = ws.experiment(key)
        res = exp.analyze(_list(args.metrics), options=_analyze_options(args))
        path = report.write(res, args.out, ws=ws, title=args.title)
    finally:
        ws.close()
    print(path)
    return EXIT_OK


def _cmd_sim_traffic(args: argparse.Namespace) -> int:
    from . import simulate

    effects: dict[str, dict[str, float]] = {}
    for item in args.effect:
        lhs, sep, value = item.partition("=")
        variant, dot, metric = lhs.partition(".")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not dot or not variant or not metric or math.isnan(number):
            raise _Usage(
                f"--effect {item!r}: expected VARIANT.METRIC=NUMBER, e.g. test.latency=0.92"
            )
        effects.setdefault(variant, {})[metric] = number
    truth = simulate.traffic(
        args.users,
        _pairs(args.variants, "--variants"),
        effects or None,
        out=args.out,
        seed=args.seed,
        days=args.days,
        formats=tuple(_list(args.formats) or ["parquet"]),
        flag_key=args.flag,
        prompt_name=args.prompt,
        progress=_progress(),
    )
    if args.json:
        print(json.dumps(_jsonable(truth.to_dict()), indent=2, ensure_ascii=False))
    else:
        print(repr(truth))
    return EXIT_OK


def _simulate_studies(ssub: Any) -> None:
    """``simulate aa|power|peeking``: thin wrappers of :mod:`promptab_nb.simulate` studies."""
    metrics = ["latency", "cost", "normal", "error_rate", "pass_rate"]

    def common(p: argparse.ArgumentParser, n_sims: int) -> None:
        p.add_argument("--metric", choices=metrics, default="latency")
        p.add_argument("--sims", type=int, default=n_sims, help="simulated experiments")
        p.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level")
        p.add_argument("--test", choices=["welch", "ztest"], help="default: by metric")
        p.add_argument("--baseline", type=float, help="control mean or rate")
        p.add_argument("--seed", type=int, default=None)
        p.add_argument("--json", action="store_true", help="print the result as JSON records")

    aa = _sub(
        ssub,
        "aa",
        "A/A study: false-positive rate and CI coverage when both arms are the same.",
        "  promptab simulate aa --metric latency --n-per-arm 1000 --sims 5000 --seed 1\n",
    )
    aa.add_argument("--n-per-arm", type=int, default=1000, help="users per arm")
    common(aa, 10_000)
    aa.add_argument("--relative", action="store_true", help="test the relative lift")
    aa.set_defaults(func=_cmd_sim_study, study="aa")

    pw = _sub(
        ssub,
        "power",
        "Power study: share of simulated experiments that detect a true effect.",
        "  promptab simulate power --metric latency --effect 0.05 --n-per-arm 500,1000,2000\n"
        "  promptab simulate power --metric error_rate --effect 0.01 --n-per-arm 5000\n",
    )
    pw.add_argument(
        "--effect",
        type=float,
        required=True,
        help="true effect: relative for continuous metrics (0.05 = +5 %%), absolute for rates "
        "(0.01 = +1 pp)",
    )
    pw.add_argument("--n-per-arm", default="1000", metavar="N1,N2", help="users per arm")
    common(pw, 2_000)
    pw.add_argument("--relative", action="store_true", help="test the relative lift")
    pw.set_defaults(func=_cmd_sim_study, study="power")

    pk = _sub(
        ssub,
        "peeking",
        "Peeking study: false-positive rate when checking a fixed-horizon test at every look.",
        "  promptab simulate peeking --looks 14 --n-per-arm 1000 --sims 2000 --seed 1\n",
    )
    pk.add_argument("--n-per-arm", type=int, default=1000, help="planned users per arm")
    pk.add_argument("--looks", type=int, default=14, help="evenly spaced looks")
    pk.add_argument("--effect", type=float, default=0.0, help="true effect (0 = A/A)")
    common(pk, 10_000)
    pk.set_defaults(func=_cmd_sim_study, study="peeking")


def _cmd_sim_study(args: argparse.Namespace) -> int:
    from . import simulate

    kwargs: dict[str, Any] = {
        "n_sims": args.sims,
        "alpha": args.alpha,
        "test": args.test,
        "baseline": args.baseline,
        "seed": args.seed,
        "progress": _progress(),
    }
    if args.study == "aa":
        result = simulate.aa(args.metric, args.n_per_arm, relative=args.relative, **kwargs)
    elif args.study == "power":
        try:
            sizes = [int(x) for x in _list(args.n_per_arm) or []]
        except ValueError as err:
            raise _Usage(
                f"--n-per-arm == {args.n_per_arm!r}: expected integers like 500,1000"
            ) from err
        n: int | list[int] = sizes[0] if len(sizes) == 1 else sizes
        result = simulate.power(args.metric, args.effect, n, relative=args.relative, **kwargs)
    else:
        result = simulate.peeking(
            args.metric, args.n_per_arm, looks=args.looks, effect=args.effect, **kwargs
        )
    if args.json:
        doc = result.to_pandas().to_dict("records")
        print(json.dumps(_jsonable(doc), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(repr(result))
    return EXIT_OK


def _cmd_offline_run(args: argparse.Namespace) -> int:
    from . import offline
    from .workspace import Workspace

    if args.model != "demo":
        raise _Usage(
            f"--model {args.model!r}: the command line runs only the offline 'demo' model; "
            "use pab.offline.openai_compatible(...) from Python for a real model"
        )
    if len(args.prompts) < 2:
        raise _Usage("--prompts needs two or more prompt files (the baseline first)")
    path = Path(args.dataset)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        dataset = offline.Dataset.from_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        dataset = offline.Dataset.from_jsonl(path)
    else:
        raise _Usage(f"dataset {path}: unknown format {suffix or '(none)'}; use .csv or .jsonl")
    versions = [(args.name, Path(f).read_text(encoding="utf-8")) for f in args.prompts]
    ws = _open_workspace(args.workspace, create=True) if args.workspace else Workspace()
    try:
        run = ws.run_offline(
            dataset,
            versions,
            offline.DemoModel(),
            scorers=_list(args.scorers),
            repeats=args.repeats,
            progress=_progress(),
        )
        comparison = run.compare()
        if args.json:
            records = comparison.to_pandas().to_dict("records")
            print(json.dumps(_jsonable(records), indent=2, ensure_ascii=False, allow_nan=False))
        else:
            print(repr(comparison))
            if args.workspace:
                print(f"\nrun {run.run_id} stored in {args.workspace}")
    finally:
        ws.close()
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import report

    data = Path(args.data)
    candidates = [data / f"posthog_events.{ext}" for ext in ("parquet", "jsonl", "csv")]
    export = next((c for c in candidates if c.is_file()), None)
    if export is None:
        raise NotFoundError(
            f"no sample export in {data}/ (expected posthog_events.parquet); "
            "create it with `python scripts/make_sample_data.py`"
        )
    _check_writable(args.out)
    ws, _exp, res = _analyze_export(
        str(export),
        flag=DEMO_FLAG,
        prompt=DEMO_PROMPT,
        variants=None,
        metrics=list(DEMO_METRICS),
        name="support-bot v1 vs v2",
        options=AnalysisOptions(),
    )
    _print_result(res)
    path = report.write(res, args.out, ws=ws, title="Demo: support-bot prompt v1 vs v2")
    print(f"\nreport: {path}")
    return EXIT_OK


if __name__ == "__main__":  # python -m promptab_nb.cli
    sys.exit(main())
