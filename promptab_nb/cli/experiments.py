"""``promptab load`` and ``promptab experiments list|create|conclude|stop|rename|delete``: a
workspace file's data and experiments."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from collections.abc import Iterator
from typing import Any

from ..errors import (
    ExperimentConflict,
    ExperimentStateError,
    InvalidArgumentError,
    PromptabError,
)
from ..options import UNITS
from ._common import (
    EXIT_OK,
    UsageError,
    add_command,
    find_experiment,
    flags_named,
    jsonable,
    names,
    open_workspace,
    pairs,
    progress,
    workspace_arg,
    workspace_for,
)
from .analyze import design_flags, design_of

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``load`` and ``experiments`` to the command parser."""
    lo = add_command(
        sub,
        "load",
        "Load a PostHog export into a workspace file (atomic, idempotent).",
        "  promptab load events.parquet --workspace ab.duckdb\n",
    )
    lo.add_argument(
        "export", metavar="EXPORT", help="PostHog export: Parquet, JSONL or CSV; a glob"
    )
    lo.add_argument("--workspace", required=True, metavar="FILE", help="workspace file (created)")
    lo.set_defaults(func=cmd_load)

    e = add_command(
        sub,
        "experiments",
        "List, create, conclude, stop, rename or delete experiments in a workspace file.",
        "  promptab experiments list --workspace ab.duckdb\n"
        "  promptab experiments create support-v2 --workspace ab.duckdb --prompt support-bot \\\n"
        "      --variants control=v1,test=v2 --flag support-bot-prompt --ends-at 2026-06-30\n"
        "  promptab experiments conclude support-v2 --winner test --workspace ab.duckdb\n"
        "  promptab experiments stop support-v2 --workspace ab.duckdb\n"
        "  promptab experiments rename support-v2 'support v2 (tone)' --workspace ab.duckdb\n"
        "  promptab experiments delete support-v2 --workspace ab.duckdb\n",
    )
    actions = e.add_subparsers(title="actions", metavar="ACTION")
    ls = add_command(
        actions,
        "list",
        "List experiments, newest first.",
        "  promptab experiments list --workspace ab.duckdb --status running\n",
    )
    workspace_arg(ls)
    ls.add_argument("--status", choices=["running", "concluded", "stopped"])
    ls.add_argument("--prompt", metavar="NAME", help="only experiments on this prompt")
    ls.add_argument("--json", action="store_true", help="print JSON records")
    ls.set_defaults(func=cmd_list)

    cr = add_command(
        actions,
        "create",
        "Create a running experiment.",
        "  promptab experiments create support-v2 --workspace ab.duckdb --prompt support-bot "
        "--variants control=v1,test=v2\n"
        "  promptab experiments create support-v3 --workspace ab.duckdb --prompt support-bot "
        "--variants control=v2,test=v3 --goal pass_rate --guardrail cost=+5% --mde=+2pp\n",
    )
    cr.add_argument("name", metavar="NAME")
    workspace_arg(cr, create=True)
    cr.add_argument("--prompt", metavar="NAME", help="prompt under test ($ai_prompt_name)")
    cr.add_argument("--variants", required=True, metavar="KEY=VERSION,...")
    cr.add_argument("--flag", metavar="KEY", help="feature flag key (default: NAME)")
    cr.add_argument("--split", metavar="PCT,...", help="percent per variant, e.g. 50,50")
    cr.add_argument("--unit", choices=UNITS, default="user")
    cr.add_argument(
        "--rollout",
        type=float,
        default=100.0,
        metavar="PCT",
        help="percent of ids in the flag's rollout (default 100): the assignment audit "
        "recomputes the flag with it and the impact projection scales by it",
    )
    cr.add_argument(
        "--assigned-by",
        choices=("flag", "version", "arm"),
        help="where a unit's arm comes from: the flag's exposures, each generation's prompt "
        "version, or the arm recorded on it (default: inferred from the loaded data)",
    )
    cr.add_argument("--metrics", metavar="M1,M2", help="default metrics of the experiment")
    cr.add_argument("--ends-at", metavar="DATE", help="planned end, ISO date or date-time (UTC)")
    design_flags(cr)
    cr.set_defaults(func=cmd_create)

    co = add_command(
        actions,
        "conclude",
        "Conclude an experiment with a winner.",
        "  promptab experiments conclude support-v2 --winner test --workspace ab.duckdb\n",
    )
    co.add_argument("name", metavar="NAME")
    co.add_argument("--winner", required=True, metavar="VARIANT")
    workspace_arg(co)
    co.set_defaults(func=cmd_conclude)

    st = add_command(
        actions,
        "stop",
        "Stop an experiment without a winner.",
        "  promptab experiments stop support-v2 --workspace ab.duckdb\n",
    )
    st.add_argument("name", metavar="NAME")
    workspace_arg(st)
    st.set_defaults(func=cmd_stop)

    rn = add_command(
        actions,
        "rename",
        "Rename an experiment (logged in its history; the flag key stays).",
        "  promptab experiments rename support-v2 'support v2 (tone)' --workspace ab.duckdb\n",
    )
    rn.add_argument("name", metavar="NAME")
    rn.add_argument("new_name", metavar="NEW_NAME")
    workspace_arg(rn)
    rn.set_defaults(func=cmd_rename)

    de = add_command(
        actions,
        "delete",
        "Delete an experiment and its history (never the loaded events).",
        "  promptab experiments delete support-v2 --workspace ab.duckdb\n"
        "  promptab experiments delete old-test --force --workspace ab.duckdb\n",
    )
    de.add_argument("name", metavar="NAME")
    de.add_argument(
        "--force",
        action="store_true",
        help="also delete a concluded or stopped experiment (its verdict is lost)",
    )
    workspace_arg(de)
    de.set_defaults(func=cmd_delete)
    e.set_defaults(func=None, _help=e)


#: The Python call that loads each other tool's export.
_LOADERS = {
    "spanlens": "ws.load_spanlens(path, arm_column=...)",
    "langfuse": "ws.load_langfuse(path, scores=...)",
    "otel": "ws.load_otel(path, attribute_map=...)",
    "promptfoo": "pab.offline.from_promptfoo(ws, path)",
}


def _check_posthog(export: str) -> None:
    """Refuse another tool's export by name: the PostHog loader read it as a broken PostHog
    export ("has no column 'event' ... Export the events with uuid, event, ...")."""
    from ._sources import detect

    try:
        source, why = detect(export)
    except (PromptabError, OSError):  # unknown or unreadable: the loader says what it finds
        return
    if source in _LOADERS:
        raise UsageError(
            f"{export} is a {source} export ({why}); `promptab load` loads PostHog exports. "
            f"Load it from Python with {_LOADERS[source]}, or analyse it with "
            f"`promptab analyze {export}`"
        )


def cmd_load(args: argparse.Namespace) -> int:
    _check_posthog(args.export)
    with workspace_for(args.workspace, create=True) as ws:
        print(repr(ws.load_posthog(args.export, progress=progress())))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    try:
        items = ws.experiments(prompt_name=args.prompt, status=args.status)
        if args.json:
            records = items.to_pandas().to_dict("records")
            print(json.dumps(jsonable(records), indent=2, ensure_ascii=False))
        else:
            print(repr(items))
    finally:
        ws.close()
    return EXIT_OK


def _split(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError as err:
        raise UsageError(f"--split == {text!r}: expected percentages like 50,50") from err


#: The flag of each ``create_experiment`` argument an error message starts with.
_CREATE_FLAGS = {
    r"variants?\b": "--variants",
    r"split\b": "--split",
    r"unit\b": "--unit",
    r"rollout\b": "--rollout",
    r"ends_at\b": "--ends-at",
    r"(unknown metric|metrics\b)": "--metrics",
    r"flag_key\b": "--flag",
    r"assigned_by\b": "--assigned-by",
    r"(relative )?mde\b": "--mde",
    r"guardrails?\b": "--guardrail",
    r"goal\b": "--goal",
    r"name\b": "NAME",
}


@contextlib.contextmanager
def _stop_hint(ws: Any, args: argparse.Namespace) -> Iterator[None]:
    """An ExperimentConflict with the command that stops the running experiment, not the
    Python call the library names."""
    try:
        yield
    except ExperimentConflict as err:
        running = ws.experiments(prompt_name=args.prompt, status="running")
        if not len(running):
            raise
        name = running[0].name
        raise ExperimentConflict(
            f"experiment {name!r} is already running on prompt {args.prompt!r}; conclude or "
            f"stop it first: promptab experiments stop {shlex.quote(name)} --workspace "
            f"{shlex.quote(str(args.workspace))}"
        ) from err


def cmd_create(args: argparse.Namespace) -> int:
    with workspace_for(args.workspace, create=True) as ws:
        with flags_named(_CREATE_FLAGS), _stop_hint(ws, args):
            exp = ws.create_experiment(
                args.name,
                args.prompt,
                pairs(args.variants, "--variants"),
                flag_key=args.flag,
                split=_split(args.split),
                unit=args.unit,
                metrics=names(args.metrics, "--metrics"),
                ends_at=args.ends_at,
                rollout=args.rollout,
                assigned_by=args.assigned_by,
                **design_of(args),
            )
        print(repr(exp))
    return EXIT_OK


def cmd_conclude(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    try:
        print(repr(find_experiment(ws, args.name).declare_winner(args.winner)))
    finally:
        ws.close()
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    try:
        print(repr(find_experiment(ws, args.name).stop()))
    finally:
        ws.close()
    return EXIT_OK


def cmd_rename(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    try:
        exp = find_experiment(ws, args.name)
        try:
            exp.rename(args.new_name)
        except InvalidArgumentError as err:
            msg = str(err)
            if not msg.startswith("new_name"):
                raise
            # (the API names its argument and its call; here the user typed NEW_NAME)
            msg = msg.replace("ws.experiments()", "`promptab experiments list`")
            raise InvalidArgumentError("NEW_NAME" + msg.removeprefix("new_name")) from err
        print(repr(exp))
    finally:
        ws.close()
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    try:
        exp = find_experiment(ws, args.name)
        try:
            ws.delete_experiment(exp.id, force=args.force)
        except ExperimentStateError as err:
            why, sep, _ = str(err).partition(" Pass force=True")
            if not sep:
                raise
            again = shlex.join(
                ["promptab", "experiments", "delete", exp.name, "--force", "--workspace",
                 str(args.workspace)]
            )  # fmt: skip
            raise ExperimentStateError(f"{why} Add --force to delete it anyway: {again}") from err
        print(f"deleted experiment {exp.name!r} (id {exp.id}) and its history")
    finally:
        ws.close()
    return EXIT_OK
