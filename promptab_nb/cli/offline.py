"""``promptab offline run``: compare prompt versions over a dataset before launch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import EXIT_OK, UsageError, add_command, jsonable, names, progress, workspace_for

if TYPE_CHECKING:
    from ..offline import Dataset

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``offline`` and its actions to the command parser."""
    o = add_command(
        sub,
        "offline",
        "Offline comparison of prompt versions over a dataset, before launch.",
        "  promptab offline run data/offline/word_problems.csv --prompts v1.txt v2.txt\n",
    )
    actions = o.add_subparsers(title="actions", metavar="ACTION")
    run = add_command(
        actions,
        "run",
        "Run prompt versions (text files with {{var}} placeholders) over a dataset and compare.",
        "  promptab offline run data/offline/word_problems.csv \\\n"
        "      --prompts data/offline/prompt_v1.txt data/offline/prompt_v2.txt \\\n"
        "      --model demo --scorers numeric_close\n",
    )
    run.add_argument("dataset", metavar="DATASET", help="dataset file: CSV or JSONL")
    run.add_argument("--prompts", nargs="+", required=True, metavar="FILE", help="baseline first")
    run.add_argument("--model", default="demo", help="model; only 'demo' (offline, no network)")
    run.add_argument("--name", default="prompt", help="prompt name to register the versions under")
    run.add_argument("--repeats", type=int, default=3, help="calls per (version, item)")
    run.add_argument(
        "--scorers",
        metavar="S1,S2",
        help="built-in scorers by name, e.g. exact,numeric_close (default: exact when the "
        "dataset has expected answers)",
    )
    run.add_argument("--workspace", metavar="FILE", help="keep the run in this workspace file")
    run.add_argument("--json", action="store_true", help="print the comparison as JSON records")
    run.set_defaults(func=cmd_run)
    o.set_defaults(func=None, _help=o)


def _dataset(path: Path) -> Dataset:
    from .. import offline

    suffix = path.suffix.lower()
    if suffix == ".csv":
        return offline.Dataset.from_csv(path)
    if suffix in (".jsonl", ".ndjson"):
        return offline.Dataset.from_jsonl(path)
    raise UsageError(f"dataset {path}: unknown format {suffix or '(none)'}; use .csv or .jsonl")


def cmd_run(args: argparse.Namespace) -> int:
    from .. import offline
    from ..workspace import Workspace

    if args.model != "demo":
        raise UsageError(
            f"--model {args.model!r}: the command line runs only the offline 'demo' model; "
            "use pab.offline.openai_compatible(...) from Python for a real model"
        )
    if len(args.prompts) < 2:
        raise UsageError("--prompts needs two or more prompt files (the baseline first)")
    dataset = _dataset(Path(args.dataset))
    versions = []
    seen: dict[str, str] = {}
    for f in args.prompts:
        text = Path(f).read_text(encoding="utf-8")
        # (the library names the prompt, 'prompt@v1', not the file the command line gave)
        if not text.strip():
            raise UsageError(f"--prompts {f} is empty; give each prompt version's template text")
        if text in seen:
            raise UsageError(
                f"--prompts {f} has the same text as {seen[text]} (one version); give each "
                "version once"
            )
        seen[text] = f
        versions.append((args.name, text))
    with workspace_for(args.workspace, create=True) if args.workspace else Workspace() as ws:
        run = ws.run_offline(
            dataset,
            versions,
            offline.DemoModel(),
            scorers=names(args.scorers, "--scorers"),
            repeats=args.repeats,
            progress=progress(),
        )
        comparison = run.compare()
        if args.json:
            records = comparison.to_pandas().to_dict("records")
            print(json.dumps(jsonable(records), indent=2, ensure_ascii=False, allow_nan=False))
        else:
            print(repr(comparison))
            if args.workspace:
                print(f"\nrun {run.run_id} stored in {args.workspace}")
    return EXIT_OK
