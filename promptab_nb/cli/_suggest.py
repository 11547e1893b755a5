""" "Did you mean …?" for names typed on the command line: metrics, options, flags, variants."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .._checks import did_you_mean

__all__ = ["Parser", "did_you_mean"]


def _all_options(parser: argparse.ArgumentParser) -> set[str]:
    out = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _all_options(sub)
    return out


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors suggest the closest known option."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but an unknown option is the error of the command it was typed
        after (its usage, its options suggested), not of ``promptab`` itself, which showed
        the top-level usage and suggested options of other commands."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "_parser", None)
            (command if isinstance(command, Parser) else self).error(
                "unrecognized arguments: " + " ".join(extras)
            )
        return parsed

    def error(self, message: str) -> None:  # type: ignore[override]
        if "unrecognized arguments:" in message:
            known = _all_options(self)
            words = message.split("unrecognized arguments:", 1)[1].split()
            hints = [
                w.split("=")[0] + did_you_mean(w.split("=")[0], known).replace("; ", " → ", 1)
                for w in words
                if w.startswith("--") and did_you_mean(w.split("=")[0], known)
            ]
            if hints:
                message += " (" + ", ".join(hints) + ")"
        super().error(message)
