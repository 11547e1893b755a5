"""``promptab simulate traffic|aa|power|peeking``: thin wrappers of :mod:`promptab_nb.simulate`."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ._common import (
    EXIT_OK,
    UsageError,
    add_command,
    check_folder,
    flags_named,
    jsonable,
    names,
    pairs,
    progress,
)

__all__ = ["register"]

_STUDY_METRICS = ["latency", "cost", "normal", "error_rate", "pass_rate"]
#: The flag of each pab.simulate argument an error message starts with.
_FLAGS = {
    r"n_sims\b": "--sims",
    r"n_per_arm\b": "--n-per-arm",
    r"alpha\b": "--alpha",
    r"baseline\b": "--baseline",
    r"seed\b": "--seed",
    r"effects?\b": "--effect",
    r"looks\b": "--looks",
    r"users\b": "--users",
    r"days\b": "--days",
    r"formats\b": "--formats",
    r"variants\b": "--variants",
    r"flag_key\b": "--flag",
    r"prompt_name\b": "--prompt",
    r"test\b": "--test",
    r"metric\b": "--metric",
}


def register(sub: Any) -> None:
    """Add ``simulate`` and its studies to the command parser."""
    s = add_command(
        sub,
        "simulate",
        "Synthetic traffic with known effects, and A/A and power studies.",
        "  promptab simulate traffic --users 5000 --effect test.latency=0.9 --out data/sim\n"
        "  promptab simulate aa --metric latency --n-per-arm 1000 --seed 1\n"
        "  promptab simulate power --metric latency --effect 0.05 --n-per-arm 500,1000,2000\n",
    )
    kinds = s.add_subparsers(title="studies", metavar="KIND")
    st = add_command(
        kinds,
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
    st.set_defaults(func=cmd_traffic)
    _studies(kinds)
    s.set_defaults(func=None, _help=s)


def _effects(items: list[str]) -> dict[str, dict[str, float]]:
    """``["test.latency=0.92"]`` → ``{"test": {"latency": 0.92}}``."""
    effects: dict[str, dict[str, float]] = {}
    for item in items:
        lhs, sep, value = item.partition("=")
        variant, dot, metric = lhs.partition(".")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not dot or not variant or not metric or math.isnan(number):
            raise UsageError(
                f"--effect {item!r}: expected VARIANT.METRIC=NUMBER, e.g. test.latency=0.92"
            )
        if metric in effects.get(variant, {}):
            raise UsageError(f"--effect gives {variant}.{metric} twice; give each effect once")
        effects.setdefault(variant, {})[metric] = number
    return effects


def cmd_traffic(args: argparse.Namespace) -> int:
    from .. import simulate

    formats: Any = tuple(names(args.formats, "--formats") or ["parquet"])  # checked by traffic
    check_folder(args.out)
    with flags_named(_FLAGS):
        truth = simulate.traffic(
            args.users,
            pairs(args.variants, "--variants"),
            _effects(args.effect) or None,
            out=args.out,
            seed=args.seed,
            days=args.days,
            formats=formats,
            flag_key=args.flag,
            prompt_name=args.prompt,
            progress=progress(),
        )
    if args.json:
        print(json.dumps(jsonable(truth.to_dict()), indent=2, ensure_ascii=False))
    else:
        print(repr(truth))
    return EXIT_OK


def _studies(kinds: Any) -> None:
    """``simulate aa|power|peeking``."""

    def common(p: argparse.ArgumentParser, n_sims: int) -> None:
        p.add_argument("--metric", choices=_STUDY_METRICS, default="latency")
        p.add_argument("--sims", type=int, default=n_sims, help="simulated experiments")
        p.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level")
        p.add_argument("--test", choices=["welch", "ztest"], help="default: by metric")
        p.add_argument("--baseline", type=float, help="control mean or rate")
        p.add_argument("--seed", type=int, default=None)
        p.add_argument("--json", action="store_true", help="print the result as JSON records")

    aa = add_command(
        kinds,
        "aa",
        "A/A study: false-positive rate and CI coverage when both arms are the same.",
        "  promptab simulate aa --metric latency --n-per-arm 1000 --sims 5000 --seed 1\n",
    )
    aa.add_argument("--n-per-arm", type=int, default=1000, help="users per arm")
    common(aa, 10_000)
    aa.add_argument("--relative", action="store_true", help="test the relative lift")
    aa.set_defaults(func=cmd_study, study="aa")

    pw = add_command(
        kinds,
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
    pw.set_defaults(func=cmd_study, study="power")

    pk = add_command(
        kinds,
        "peeking",
        "Peeking study: false-positive rate when checking a fixed-horizon test at every look.",
        "  promptab simulate peeking --looks 14 --n-per-arm 1000 --sims 2000 --seed 1\n",
    )
    pk.add_argument("--n-per-arm", type=int, default=1000, help="planned users per arm")
    pk.add_argument("--looks", type=int, default=14, help="evenly spaced looks")
    pk.add_argument("--effect", type=float, default=0.0, help="true effect (0 = A/A)")
    common(pk, 10_000)
    pk.set_defaults(func=cmd_study, study="peeking")


def _sizes(text: str) -> int | list[int]:
    try:
        sizes = [int(x) for x in names(text, "--n-per-arm") or []]
    except ValueError as err:
        raise UsageError(f"--n-per-arm == {text!r}: expected integers like 500,1000") from err
    return sizes[0] if len(sizes) == 1 else sizes


def cmd_study(args: argparse.Namespace) -> int:
    from .. import simulate

    kwargs: dict[str, Any] = {
        "n_sims": args.sims,
        "alpha": args.alpha,
        "test": args.test,
        "baseline": args.baseline,
        "seed": args.seed,
        "progress": progress(),
    }
    result: Any
    with flags_named(_FLAGS):
        if args.study == "aa":
            result = simulate.aa(args.metric, args.n_per_arm, relative=args.relative, **kwargs)
        elif args.study == "power":
            n = _sizes(args.n_per_arm)
            result = simulate.power(args.metric, args.effect, n, relative=args.relative, **kwargs)
        else:
            result = simulate.peeking(
                args.metric, args.n_per_arm, looks=args.looks, effect=args.effect, **kwargs
            )
    if args.json:
        doc = result.to_pandas().to_dict("records")
        print(json.dumps(jsonable(doc), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(repr(result))
    return EXIT_OK
