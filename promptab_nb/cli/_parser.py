"""The ``promptab`` argument parser: each command module registers its own subcommands."""

from __future__ import annotations

import argparse

from . import analyze, experiments, offline, simulate
from ._suggest import Parser

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``promptab`` command, in the order ``--help`` lists them."""
    from .. import __version__

    p = Parser(
        prog="promptab",
        description="A/B test LLM prompt versions: does prompt version B beat A?",
        epilog=(
            "examples:\n"
            "  promptab demo --data data --out reports/demo.html\n"
            "  promptab analyze events.parquet --flag support-bot-prompt --out report.html\n"
            "  promptab analyze events.parquet --flag support-bot-prompt --json "
            "--fail-on-regression error_rate\n\n"
            "exit codes: 0 ok, 2 usage error or bad input, 3 a gate failed (--fail-on decision: "
            "the decision is not ship; --fail-on-regression: a treatment regressed)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"promptab {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")
    # analyze, report and demo first: what most runs of the command are.
    analyze.register(sub)
    experiments.register(sub)
    simulate.register(sub)
    offline.register(sub)
    return p
