"""The ``promptab`` command: analyse a PostHog export, manage experiments, simulate, run offline
comparisons, write reports and the demo. Every subcommand is a thin layer over the Python API.

Usage (``promptab <command> --help`` shows the options and examples)::

    promptab analyze EXPORT --flag KEY [--prompt NAME] [--variants control=v1,test=v2]
                     [--metrics cost,latency] [ANALYSIS OPTIONS] [--out report.html] [--json]
                     [--all-pairs]
                     [--goal METRIC] [--guardrail METRIC=MARGIN ...] [--mde SIZE]
                     [--fail-on decision] [--fail-on-regression METRIC]
    promptab load EXPORT --workspace FILE
    promptab experiments list|create|conclude|stop|rename|delete --workspace FILE ...
    promptab report EXPERIMENT --workspace FILE --out report.html [ANALYSIS OPTIONS]
    promptab simulate traffic|aa|power|peeking ...
    promptab offline run DATASET --prompts a.txt b.txt --model demo
    promptab demo --data DIR --out PATH

The analysis options are the fields of :class:`~promptab_nb.options.AnalysisOptions`, one flag
each, with its defaults (:mod:`promptab_nb.cli._options`)::

    --metrics M1,M2  --unit {user,request}  --method {frequentist,bayesian}  --alpha ALPHA
    --relative/--no-relative  --cuped [DAYS]  --winsorize LO,HI  --correction {holm,bh}
    --sequential/--no-sequential  --multiple {exclude,first_seen}  --start DATE  --end DATE

Modules: ``_parser`` (the parser), ``analyze`` (analyze, report, demo), ``experiments`` (load,
experiments), ``simulate``, ``offline``, ``_options`` (analysis flags), ``_output`` (table, JSON,
regressions), ``_common`` (shared helpers).

Exit codes
----------
0
    Success.
2
    Usage error or bad input: a missing file, an unknown flag, metric or experiment, an option out
    of range, an unwritable output path. One line on stderr (``promptab: error: ...``), never a
    traceback.
3
    A gate failed. ``--fail-on decision``: the decision (``res.decision()``, printed first) is not
    ``ship`` (``dont_ship``, ``keep_running`` or ``no_effect``). ``--fail-on-regression METRIC``: a
    treatment is significantly worse than the control on METRIC by the decision's tests
    (direction-aware: higher cost, latency or error rate, lower pass rate; worse than its
    ``--guardrail`` margin when it has one; Holm across treatment arms), or it cannot be told:
    the analysis withheld a treatment's verdict on METRIC (over 5 % unpriced generations, an
    arm under 50 units, ...; one ``cannot tell`` line on stderr each, ``unchecked`` in JSON).

JSON output (``analyze --json``, schema ``promptab.analyze/1``)::

    {"schema": "promptab.analyze/1",
     "experiment": "<name>", "prompt_name": ..., "flag_key": ..., "control": "control",
     "variants": {"control": "v1", "test": "v2"},
     "options": {"unit": "user", "method": "frequentist", "alpha": 0.05, ...},
     "rows": [{"metric", "variant", "is_control", "n", "mean", "mean_ci_low", "mean_ci_high",
               "diff", "diff_ci_low", "diff_ci_high", "rel_diff", "rel_ci_low", "rel_ci_high",
               "p_value", "test", "significant", (bayesian: "chance_to_win", "expected_loss",
               "cred_low", "cred_high")}, ...],
     "health": {"source": "arms from ...", "exposed": {...}, "multiple": 0,
                "unknown_variants": {...},
                "srm_p_value": 0.41, "srm_statistic": 0.7,
                "srm_method": "exact binomial test" | "χ² goodness of fit", "expired": false,
                "warnings": [...], "ok": true},
     "decision": {"action": "ship|dont_ship|keep_running|no_effect", "recommended": "test",
                  "headline": "Ship test", "reasons": [...], "design": [...],
                  "arms": [{"variant", "action", "goal_p", "guardrails": [...],
                            "progress": {"planned_units", "share", "days_needed", "rate"}}]},
     "verdicts": [{"text": "...", "tone": "good|bad|neutral"}],
     "total_impact": [{"metric": "cost", "unit": "USD", "units": 21280, "exposed": 21280,
                       "traffic_share": 100.0,
                       "arms": [{"variant", "per_unit", "ci_low", "ci_high", "units", "total",
                                 "total_ci_low", "total_ci_high"}]}],
     "all_pairs": null | [{"metric", "unit", "correction", "alpha", "note",
                           "pairs": [{"a", "b", "diff", "ci_low", "ci_high", "p_value",
                                      "p_adjusted", "significant"}]}],
     "regressions": [{"metric", "variant", "diff", "rel_diff", "p_value"}],  # p of the gate
     "unchecked": [{"metric", "variant", "note"}],
     "report": "report.html" | null}

A regression's ``p_value`` is its gate's: the decision's test, Holm across treatment arms but
before ``--correction`` and two-sided whatever ``--alternative`` (against the margin when the
metric has a ``--guardrail`` margin); the row's ``p_value`` in ``rows`` may differ.

Numbers are in the metric's unit (USD, seconds, fractions for rates); relative values are
fractions (0.032 = +3.2 %); a value that does not exist (NaN) is ``null``, and so is a row's
``significant`` where no test decided it (the control, a withheld verdict).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import PromptabError
from ._common import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_REGRESSION, EXIT_USAGE
from ._output import JSON_SCHEMA, result_json
from ._parser import build_parser

__all__ = ["EXIT_OK", "EXIT_REGRESSION", "EXIT_USAGE", "JSON_SCHEMA", "main", "result_json"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``promptab`` command; returns the exit code (0 ok, 2 bad input, 3 regression).

    Parameters
    ----------
    argv
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code; errors are one line on stderr, never a traceback.

    Examples
    --------
    >>> main(["demo", "--data", "data", "--out", "reports/demo.html"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) and argparse usage errors (2)
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        (getattr(args, "_help", None) or parser).print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # (a closed pipe then fails here, not at interpreter exit)
        return code
    except BrokenPipeError:
        # The reader went away (`promptab analyze ... | head`): stop quietly, as a command
        # killed by SIGPIPE does (exit 128 + 13), not as a usage error; later writes to the
        # closed pipe (at interpreter exit) go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
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
