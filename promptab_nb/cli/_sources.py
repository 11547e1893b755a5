"""``promptab analyze`` for every source: which source a file is (``--source`` or detected from its
columns / keys), how it is loaded, and where each unit's arm comes from (``--assigned-by``).

PostHog exports with ``--flag`` keep the flag path (:func:`analyze.analyze_export`). Spanlens,
Langfuse and OpenTelemetry files are loaded into an in-memory workspace and analysed by prompt
version or by a recorded arm; promptfoo results are an offline run compared paired by test case.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError
from ._common import EXIT_OK, UsageError, jsonable, pairs, progress, rejected_note
from ._suggest import did_you_mean

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..loaders import LoadReport
    from ..options import AnalysisOptions
    from ..results import ExperimentResult
    from ..workspace import Workspace

__all__ = ["add_source_flags", "analyze_promptfoo", "analyze_source", "detect", "resolve_source"]

SOURCES = ("posthog", "spanlens", "langfuse", "otel", "promptfoo")
_PREFIX = 256 * 1024  # bytes read to recognise a file: headers and first records fit
# Keys (JSON) or columns (CSV) that say which tool wrote a file; all of a rule's keys must occur.
_RULES: dict[str, tuple[tuple[str, ...], ...]] = {
    "otel": (("resourceSpans",),),
    "promptfoo": (("evalId", "results"), ("results", "promptIdx"), ("results", "table")),
    "langfuse": (("traceId", "startTime"),),
    "spanlens": (("latency_ms", "created_at"),),
    "posthog": (("event", "distinct_id"), ("event", "properties"), ("*.event",)),
}


def add_source_flags(p: argparse.ArgumentParser) -> None:
    """``--source``, ``--assigned-by``, ``--arm-column`` and the Langfuse / OTel load options."""
    g = p.add_argument_group("data source (PostHog, Spanlens, Langfuse, OpenTelemetry, promptfoo)")
    g.add_argument(
        "--source",
        choices=SOURCES,
        help="what wrote EXPORT (default: detected from its columns or keys, and stated)",
    )
    g.add_argument(
        "--assigned-by",
        choices=("flag", "version", "arm"),
        help="where each unit's arm comes from: flag exposures (--flag), the prompt version of "
        "each generation, or an arm recorded on each generation (default: flag with --flag, arm "
        "with --arm-column or --attr variant=..., else version)",
    )
    g.add_argument(
        "--arm-column", metavar="COLUMN", help="Spanlens: the export's column holding the arm"
    )
    g.add_argument(
        "--scores", metavar="FILE", help="Langfuse: scores export (BOOLEAN / NUMERIC scores)"
    )
    g.add_argument(
        "--pass-threshold",
        type=float,
        metavar="X",
        help="Langfuse: a NUMERIC score passes when value >= X (without it only BOOLEAN scores "
        "count in pass_rate)",
    )
    g.add_argument(
        "--attr",
        action="append",
        metavar="FIELD=ATTRIBUTE",
        help="OpenTelemetry: span attribute of a field the GenAI conventions lack, e.g. "
        "prompt_version=app.prompt.version,cost_usd=app.cost_usd (repeat or comma-separate)",
    )


def _first_file(export: str) -> Path:
    literal = not glob.has_magic(export) or Path(export).exists()  # ('ex[1].csv' is a file)
    matches = [export] if literal else sorted(glob.glob(export))
    if not matches:
        raise UsageError(f"{export}: no file matches; check the path or the glob")
    path = Path(matches[0])
    if path.is_dir():
        raise UsageError(f"{path} is a folder: name a file, or pass --source")
    return path


def _keys(path: Path) -> set[str]:
    """CSV header columns, or the quoted keys in the first bytes of a JSON / JSON-lines file."""
    name = path.name.lower()
    opener: Any = gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_PREFIX).decode("utf-8", errors="replace")
    if ".csv" in name:
        import csv

        row = next(csv.reader([head.splitlines()[0] if head else ""]), [])
        return {c.strip().lstrip("\ufeff") for c in row}
    found: set[str] = set()
    for rule in _RULES.values():
        for keys in rule:
            found.update(k for k in keys if f'"{k}"' in head)
    if '"observationId"' in head and '"dataType"' in head:
        found.add("observationId")
    return found


def detect(export: str) -> tuple[str, str]:
    """``(source, reason)`` of ``export`` from its first file's columns or keys.

    Raises
    ------
    UsageError
        No rule matches, more than one does, or the file is a Langfuse scores export.
    """
    path = _first_file(export)
    name = path.name.lower()
    if name.endswith((".parquet", ".pq", ".parquet.zst")):
        return "posthog", "a Parquet file: PostHog batch export"
    if name.endswith(".zst"):
        raise UsageError(f"{path}: cannot look inside a .zst file; pass --source")
    keys = _keys(path)
    hits = {
        src: next(k for k in rule if all(x in keys for x in k))
        for src, rule in _RULES.items()
        if any(all(x in keys for x in k) for k in rule)
    }
    if not hits and "observationId" in keys:
        raise UsageError(
            f"{path} looks like a Langfuse scores export; pass the observations export as "
            f"EXPORT and this file as --scores {path}"
        )
    if len(hits) != 1:
        what = ", ".join(sorted(hits)) if hits else "none of " + ", ".join(SOURCES)
        raise UsageError(
            f"cannot tell which tool wrote {path} (matches: {what}); pass --source "
            + "|".join(SOURCES)
        )
    ((source, keys_),) = hits.items()
    return source, f"detected from {'columns' if '.csv' in name else 'keys'} {', '.join(keys_)}"


def resolve_source(args: argparse.Namespace) -> str:
    """The source of ``args.export`` (``--source`` or detected), with the options checked
    against it; the reason is kept in ``args.source_note`` for the output."""
    if args.source:
        source, why = args.source, "--source"
    elif args.flag:
        source, why = "posthog", "--flag: flag exposures are PostHog events"
    else:
        source, why = detect(args.export)
    args.source_note = f"source: {source} ({why})"
    only = {
        "--arm-column": ("spanlens", args.arm_column),
        "--scores": ("langfuse", args.scores),
        "--pass-threshold": ("langfuse", args.pass_threshold),
        "--attr": ("otel", args.attr),
        "--flag": ("posthog", args.flag),
    }
    for flag, (owner, value) in only.items():
        if value is not None and source != owner:
            raise UsageError(f"{flag} applies to {owner} files; {args.source_note}")
    if source == "posthog" and not args.flag and args.assigned_by in (None, "flag"):
        raise UsageError(
            "--flag KEY is needed to analyse a PostHog export by its flag exposures; or pass "
            "--assigned-by version to split by $ai_prompt_version"
        )
    if args.assigned_by == "flag" and source != "posthog":
        raise UsageError(f"--assigned-by flag needs PostHog exposures; {args.source_note}")
    return source


def _note(args: argparse.Namespace, text: str) -> None:
    # With --json stdout holds only the document.
    print(text, file=sys.stderr if getattr(args, "json", False) else sys.stdout)


def _load(
    ws: Workspace, args: argparse.Namespace, source: str
) -> tuple[dict[str, str], LoadReport]:
    """Load the export; returns the OTel attribute map (empty for other sources) and what the
    load read, loaded and rejected."""
    attrs = pairs(args.attr or [], "--attr", "prompt_version=app.prompt.version")
    if source == "posthog":
        load = ws.load_posthog(args.export, progress=progress())
    elif source == "spanlens":
        load = ws.load_spanlens(
            args.export, arm_column=args.arm_column, prompt_name=args.prompt, progress=progress()
        )
    elif source == "langfuse":
        load = ws.load_langfuse(
            args.export,
            scores=args.scores,
            pass_threshold=args.pass_threshold,
            progress=progress(),
        )
    else:
        load = ws.load_otel(args.export, attribute_map=attrs, progress=progress())
    return attrs, load


def _arms(ws: Workspace, args: argparse.Namespace, by: str, prompt: str | None) -> dict[str, str]:
    from ..errors import NotFoundError
    from ..queries import generation_arms

    if args.variants:
        return pairs(args.variants, "--variants")
    found = generation_arms(ws, "arm" if by == "arm" else "version", prompt)
    if len(found) < 2:
        hint = {
            "arm": "name the column with --arm-column (Spanlens) or --attr variant=ATTRIBUTE (OTel)",
            "version": "map it with --attr prompt_version=ATTRIBUTE (OTel), or use --assigned-by "
            "arm with --arm-column (Spanlens)",
        }[by]
        what = "arms" if by == "arm" else "prompt versions"
        raise NotFoundError(
            f"{args.export}: {len(found)} {what} on the generations"
            f"{f' of prompt {prompt!r}' if prompt else ''} ({', '.join(found) or 'none'}); "
            f"two are needed: {hint}"
        )
    return {v: v for v in found}


def analyze_source(
    args: argparse.Namespace,
    source: str,
    *,
    options: AnalysisOptions,
    design: dict[str, Any] | None = None,
) -> tuple[Workspace, Experiment, ExperimentResult]:
    """Load a Spanlens, Langfuse, OTel (or flagless PostHog) export into memory and analyse it by
    prompt version or recorded arm; the source and the arms are stated first."""
    from ..errors import NotFoundError
    from ..workspace import Workspace

    ws = Workspace()
    attrs, load = _load(ws, args, source)
    by = args.assigned_by or ("arm" if args.arm_column or "variant" in attrs else "version")
    prompt = args.prompt
    names = ws.prompt_names()
    if prompt is not None and names and prompt not in names:
        raise UsageError(
            f"--prompt {prompt!r} matches no generation{did_you_mean(prompt, names)} (prompts: "
            f"{', '.join(names)})"
        )
    if prompt is None and len(names) == 1:
        prompt = names[0]
    try:
        variants = _arms(ws, args, by, prompt)
    except NotFoundError as err:
        raise NotFoundError(f"{err}{rejected_note(load)}") from err
    name = args.name or Path(_first_file(args.export)).stem.strip() or source
    exp = ws.create_experiment(name, prompt, variants, assigned_by=by, **(design or {}))
    _note(args, args.source_note)
    _note(args, "arms: " + ", ".join(f"{k}={v}" for k, v in variants.items()) + " (control first)")
    if not getattr(args, "json", False):
        print()
    return ws, exp, exp.analyze(options=options)


def analyze_promptfoo(args: argparse.Namespace) -> int:
    """promptfoo results: open them as an offline run and print the paired comparison."""
    from .._checks import check
    from ..offline import from_promptfoo
    from ..workspace import Workspace
    from ._options import flag_name, given_options

    # (every option not taken here was dropped without a word: --alpha 0.01 printed 95% CIs)
    options = given_options(args)
    alpha = options.pop("alpha", 0.05)
    live = ["out", "fail_on_regression", "fail_on", "goal", "guardrail", "mde", "variants",
            "prompt", "name", "all_pairs"]  # fmt: skip
    for flag in [*(flag_name(f) for f in options), *(f"--{f.replace('_', '-')}" for f in live
                 if getattr(args, f, None))]:  # fmt: skip
        raise UsageError(
            f"{flag} applies to live experiments; promptfoo results are an offline comparison "
            "paired by test case, which takes --alpha and --json (use pab.offline.from_promptfoo "
            "and run.compare(...) in Python for more)"
        )
    try:
        check(alpha, "alpha", gt=0, lt=1)
    except InvalidArgumentError as err:
        raise InvalidArgumentError(f"--alpha: {err}") from None
    ws = Workspace()
    try:
        run = from_promptfoo(ws, args.export, progress=progress())
        comparison = run.compare(alpha=alpha)
        if args.json:
            records = comparison.to_pandas().to_dict("records")
            doc = {"source": "promptfoo", "run_id": run.run_id, "rows": records}
            print(json.dumps(jsonable(doc), indent=2, ensure_ascii=False, allow_nan=False))
        else:
            print(args.source_note)
            print(f"offline run {run.run_id}: test cases are the items, paired by test case\n")
            print(repr(run))
            print()
            print(repr(comparison))
    finally:
        ws.close()
    return EXIT_OK
