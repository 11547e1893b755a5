"""One self-contained HTML report of an experiment: verdict, per-metric sections, health, methods,
data provenance, the offline comparison and the code that reproduces it.

The file has inline CSS and PNG figures embedded as base64 ``data:`` URIs; it loads nothing from the
network and runs no scripts. Every text (experiment and prompt names included) goes through
:func:`promptab_nb._html.el`, which escapes it.

Examples
--------
>>> import promptab_nb as pab                                     # doctest: +SKIP
>>> ws = pab.Workspace()                                          # doctest: +SKIP
>>> ws.load_posthog("data/posthog_events.parquet")                # doctest: +SKIP
>>> exp = ws.create_experiment("support-v2", "support-bot", {"control": "v1", "test": "v2"},
...                            flag_key="support-bot-prompt")     # doctest: +SKIP
>>> pab.report.write(exp, "reports/support-v2.html")              # doctest: +SKIP
PosixPath('reports/support-v2.html')
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _html
from ._format import num, pval
from ._html import Markup, el
from .errors import DataError, InvalidArgumentError, NotFoundError, PromptabError
from .options import CORRECTION_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .experiments import Experiment
    from .metrics import Metric
    from .results import ArmRow, ExperimentResult
    from .workspace import Workspace

__all__ = ["render", "reproducing_code", "write"]


_CSS = """
body { margin: 0; background: #fff; }
.pab.report { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; font-size: 14px;
  line-height: 1.45; }
.pab h1 { font-size: 22px; margin: 0 0 4px; }
.pab h2 { font-size: 17px; margin: 28px 0 6px; padding-bottom: 3px; border-bottom: 1px solid #ddd; }
.pab h3 { font-size: 14px; margin: 14px 0 4px; }
.pab .sub { color: #555; margin-bottom: 12px; }
.pab .summary { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.pab .headline { font-size: 16px; font-weight: 600; margin-bottom: 6px; }
.pab ul.verdicts { margin: 4px 0; padding-left: 20px; }
.pab figure { margin: 8px 0; }
.pab figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
.pab figcaption { color: #666; font-size: 12px; }
.pab pre { background: #f6f8fa; padding: 10px 12px; overflow-x: auto; font-size: 12.5px;
  border-radius: 4px; }
.pab code { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; }
.pab table.metric { font-size: 13px; }
.pab table.metric span { white-space: nowrap; }
.pab td code { word-break: break-all; font-size: 11.5px; }
.pab td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.pab .tone-good::before { content: "▲ "; } .pab .tone-bad::before { content: "▼ "; }
.pab .tone-neutral::before { content: "● "; }
.pab footer { margin-top: 32px; color: #888; font-size: 12px; }
"""


# -- public API ------------------------------------------------------------------------------------
def render(
    result: ExperimentResult | Experiment,
    *,
    ws: Workspace | None = None,
    offline: Any = None,
    title: str | None = None,
    over_time: bool = True,
) -> str:
    """Render the report as one HTML document (a string); :func:`write` saves it.

    Parameters
    ----------
    result
        An :class:`~promptab_nb.ExperimentResult`, or an :class:`~promptab_nb.Experiment`
        (analysed with its default metrics and options).
    ws
        The workspace the result came from (implied by an experiment). With it the report adds the
        experiment's planned end, the cumulative plots and the rows rejected during load.
    offline
        An offline comparison (``run.compare(...)``) shown in its own section.
    title
        The page title (default ``"Experiment <name>"``).
    over_time
        Add the cumulative effect over time per metric (needs the workspace).

    Returns
    -------
    str
        A complete ``<!DOCTYPE html>`` document.

    Raises
    ------
    InvalidArgumentError
        ``result`` is neither a result nor an experiment.
    """
    res, exp, ws = _resolve(result, ws)
    return _document(res, exp=exp, ws=ws, offline=offline, title=title, over_time=over_time)


def write(
    result: ExperimentResult | Experiment,
    path: str | os.PathLike[str],
    *,
    ws: Workspace | None = None,
    offline: Any = None,
    title: str | None = None,
    over_time: bool = True,
) -> Path:
    """Write the self-contained HTML report to ``path`` (parent folders are created).

    The file is written to a temporary name first and renamed, so a failed write never leaves a
    half report behind. Parameters are those of :func:`render`.

    Returns
    -------
    Path
        The report's path.

    Raises
    ------
    DataError
        ``path`` cannot be written (the message names it and the reason).

    Examples
    --------
    >>> pab.report.write(res, "../reports/support-v2.html", ws=ws)   # doctest: +SKIP
    PosixPath('../reports/support-v2.html')
    """
    target = Path(path)
    html = render(result, ws=ws, offline=offline, title=title, over_time=over_time)
    if target.is_dir():
        raise DataError(
            f"cannot write the report to {target}: it is a directory; pass a file name such as "
            f"{target / 'report.html'}"
        )
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise DataError(
            f"cannot write the report to {target}: {blocker} is a file, not a folder. "
            "Choose another path."
        )
    tmp_name = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as fh:
            tmp_name = fh.name
            fh.write(html)
        # NamedTemporaryFile creates 0600; give the report the permissions of a normal new file.
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as err:
        raise DataError(
            f"cannot write the report to {target}: {err.strerror or err}. "
            "Choose a writable folder or file name."
        ) from err
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- inputs ----------------------------------------------------------------------------------------
def _resolve(
    obj: Any, ws: Workspace | None
) -> tuple[ExperimentResult, Experiment | None, Workspace | None]:
    from .experiments import Experiment
    from .results import ExperimentResult

    if isinstance(obj, Experiment):
        return obj.analyze(), obj, ws or obj.ws
    if not isinstance(obj, ExperimentResult):
        raise InvalidArgumentError(
            f"report needs an ExperimentResult or an Experiment, got {type(obj).__name__}; "
            "pass exp.analyze(...) or the experiment"
        )
    exp = None
    if ws is not None:
        try:
            exp = ws.experiment(obj.experiment)
        except NotFoundError:
            exp = None
    return obj, exp, ws


# -- document --------------------------------------------------------------------------------------
def _document(
    res: ExperimentResult,
    *,
    exp: Experiment | None,
    ws: Workspace | None,
    offline: Any,
    title: str | None,
    over_time: bool,
) -> str:
    from . import __version__

    title = title or f"Experiment {res.experiment}"
    figures = _Figures()
    body = el(
        "main",
        el("h1", title),
        el("div", _subtitle(res, exp), class_="sub"),
        _summary(res, figures),
        *[_metric_section(res, m, exp, figures, over_time) for m in res.metrics],
        _health_section(res, exp, ws),
        _methods_section(res),
        _provenance_section(res),
        _offline_section(offline) if offline is not None else None,
        _code_section(res, exp),
        el(
            "footer",
            f"Generated by promptab_nb {__version__}"
            + (f" on {res.computed_at:%Y-%m-%d %H:%M} UTC" if res.computed_at else "")
            + ". Self-contained: no scripts, no network.",
        ),
        class_="pab report",
    )
    head = el(
        "head",
        Markup('<meta charset="utf-8">'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        el("title", title),
        el("style", Markup(_html.STYLE + _CSS)),
    )
    return "<!DOCTYPE html>\n" + el("html", head, el("body", body), lang="en") + "\n"


def _subtitle(res: ExperimentResult, exp: Experiment | None) -> list[Any]:
    arms = ", ".join(f"{_arm(k, res.control)} = {v}" for k, v in res.variants.items())
    parts = [
        f"Prompt {res.prompt_name or '(any)'}",
        f"flag {res.flag_key or '(none: assigned by prompt version)'}",
        f"variants {arms}",
        f"unit: {res.options.unit}",
        f"{res.level:.0%} intervals",
    ]
    if exp is not None:
        parts.append(f"status {exp.status}" + (f", winner {exp.winner}" if exp.winner else ""))
    return [" · ".join(parts)]


# -- summary ---------------------------------------------------------------------------------------
def _pairs(res: ExperimentResult) -> list[tuple[ArmRow, str, str]]:
    """(treatment row, sentence, tone) in row order."""
    treat = [r for r in res.rows if not r.is_control]
    return [(r, text, tone) for r, (text, tone) in zip(treat, res.verdicts(), strict=True)]


def _headline(res: ExperimentResult) -> str:
    pairs = _pairs(res)
    treatments = list(res.variants)[1:]
    parts = []
    for t in treatments:
        tones = [tone for r, _, tone in pairs if r.variant == t]
        better = [r.metric for r, _, tone in pairs if r.variant == t and tone == "good"]
        worse = [r.metric for r, _, tone in pairs if r.variant == t and tone == "bad"]
        if worse and better:
            word = f"{t}: better on {', '.join(better)} but worse on {', '.join(worse)}"
        elif worse:
            word = f"{t}: worse than {res.control} on {', '.join(worse)}"
        elif better:
            word = f"{t}: better than {res.control} on {', '.join(better)}, no metric worse"
        else:
            word = f"{t}: no significant difference from {res.control} on {len(tones)} metric(s)"
        parts.append(word)
    return "; ".join(parts) or "no treatment to compare"


def _summary(res: ExperimentResult, figures: _Figures) -> Markup:
    items = [el("li", text, class_=f"verdict {tone} tone-{tone}") for _, text, tone in _pairs(res)]
    warn = (
        el(
            "div",
            el("b", "Check before trusting the numbers: "),
            "; ".join(res.health.warnings),
            class_="health warn",
        )
        if res.health.warnings
        else None
    )
    forest = figures.make(
        "forest",
        res,
        alt=(
            f"Forest plot of the {'relative' if res.options.relative else 'absolute'} "
            f"effect of each treatment against {res.control} per metric, with "
            f"{res.level:.0%} confidence intervals"
        ),
        caption="Effects of each treatment against the control (a point right of zero is an "
        "increase; whether that is better depends on the metric).",
    )
    return el(
        "section",
        el("h2", "Verdict"),
        el(
            "div",
            el("div", _headline(res), class_="headline"),
            el("ul", *items, class_="verdicts"),
            class_="summary",
        ),
        warn,
        forest,
        id="verdict",
    )


# -- per metric ------------------------------------------------------------------------------------
def _metric_header(res: ExperimentResult) -> list[str]:
    lvl = f"{res.level:.0%}"
    head = [
        "variant",
        "n (units)",
        "mean",
        f"mean {lvl} CI",
        "Δ absolute",
        f"Δ {lvl} CI",
        "Δ relative",
        f"Δ relative {lvl} CI",
        "p-value",
    ]
    if res.options.bayesian:
        head.append("chance to win")
    return head


def _arm(key: str, control: str) -> str:
    return f"{key} (control)" if key == control and key != "control" else key


def _ci(lo: str, hi: str) -> Markup:
    """``lo to hi`` that wraps only between the two bounds."""
    return Markup(el("span", lo) + " to " + el("span", hi))


def _metric_rows(res: ExperimentResult, m: Metric) -> list[list[Markup]]:
    """Formatted rows of one metric; the same numbers as ``res.to_pandas()``."""
    bayes = res.options.bayesian
    du = "pp" if m.unit == "%" else m.unit
    out = []
    for r in res.rows:
        if r.metric != m.name:
            continue
        c = r.is_control
        row = [
            _arm(r.variant, res.control),
            f"{r.n:,}",
            num(r.mean, m.unit),
            _ci(num(r.mean_ci_low, m.unit), num(r.mean_ci_high, m.unit)),
            "" if c else num(r.diff, du, signed=True),
            ""
            if c
            else _ci(num(r.diff_ci_low, du, signed=True), num(r.diff_ci_high, du, signed=True)),
            "" if c else num(r.rel_diff, "%", signed=True),
            ""
            if c
            else _ci(num(r.rel_ci_low, "%", signed=True), num(r.rel_ci_high, "%", signed=True)),
            "" if c else pval(r.p_value),
        ]
        if bayes:
            row.append("" if c else num(r.chance_to_win, "%"))
        # Cells never break inside a number; a CI breaks only between its bounds.
        out.append([x if isinstance(x, Markup) else el("span", x) for x in row])
    return out


def _tests(res: ExperimentResult, m: Metric) -> str:
    names = dict.fromkeys(r.test for r in res.rows if r.metric == m.name and not r.is_control)
    return ", ".join(names) or "–"


def _metric_section(
    res: ExperimentResult,
    m: Metric,
    exp: Experiment | None,
    figures: _Figures,
    over_time: bool,
) -> Markup:
    sentences = [
        el("li", text, class_=f"verdict {tone} tone-{tone}")
        for r, text, tone in _pairs(res)
        if r.metric == m.name
    ]
    notes = [
        el("li", f"{r.variant}: {r.note}")
        for r in res.rows
        if r.metric == m.name and r.note and not r.is_control
    ]
    better = "lower" if m.direction == "lower" else "higher"
    means = figures.make(
        "means",
        res,
        m.name,
        alt=f"Mean {m.description} per variant with {res.level:.0%} confidence intervals",
        caption=f"Mean per variant ({better} is better).",
    )
    cumulative = None
    if over_time and exp is not None and figures.has("cumulative"):
        try:
            ot = exp.analyze_over_time(
                m,
                alpha=res.alpha,
                relative=res.options.relative,
                multiple=res.options.multiple,
            )
        except PromptabError:
            ot = None
        if ot is not None and ot.records:
            cumulative = figures.make(
                "cumulative",
                ot,
                alt=(
                    f"Cumulative effect on {m.description} over time, each treatment against "
                    f"{res.control}, with {res.level:.0%} confidence intervals"
                ),
                caption="Cumulative estimate at the end of each day (do not stop at the first "
                "significant day unless the analysis is sequential).",
            )
    return el(
        "section",
        el("h2", f"{m.name}: {m.description}"),
        el(
            "div",
            f"{better.capitalize()} is better · unit: {m.unit or 'count'} · "
            f"{m.agg} of {m.source}.{m.column} per unit · test: {_tests(res, m)}",
            class_="note",
        ),
        el("ul", *sentences, class_="verdicts") if sentences else None,
        _html.table(
            _metric_header(res),
            _metric_rows(res, m),
            caption=f"{m.name}: means and differences against {res.control}",
            class_="metric",
        ),
        el("ul", *notes, class_="note") if notes else None,
        means,
        cumulative,
        id=f"metric-{m.name}",
    )


# -- health ----------------------------------------------------------------------------------------
def _health_section(res: ExperimentResult, exp: Experiment | None, ws: Workspace | None) -> Markup:
    h = res.health
    total = sum(h.exposed.values())
    split = exp.split if exp is not None else None
    rows = [
        [
            _arm(k, res.control),
            f"{v:,}",
            num(v / total, "%") if total else "–",
            f"{split[k]:g} %" if split and k in split else "–",
        ]
        for k, v in h.exposed.items()
    ]
    rows.append(["$multiple (excluded)" if res.options.multiple != "first_seen"
                 else "$multiple (kept in first variant)", f"{h.multiple:,}", "", ""])  # fmt: skip
    for k, v in h.unknown_variants.items():
        rows.append([f"{k} (not in the experiment, ignored)", f"{v:,}", "", ""])
    checks: list[list[str]] = []
    if h.srm_p_value is not None:
        verdict = "mismatch" if any("sample ratio" in w for w in h.warnings) else "ok"
        checks.append(
            [
                "sample ratio mismatch (χ²)",
                f"χ² = {h.srm_statistic:.2f}, {pval(h.srm_p_value)}: {verdict}",
            ]
        )
    else:
        checks.append(["sample ratio mismatch (χ²)", h.srm_note or "not computed"])
    checks.append(
        [
            "units exposed to several variants",
            f"{h.multiple:,} ({num(h.multiple / max(1, total + h.multiple), '%')})",
        ]
    )
    small = [w for w in h.warnings if w.startswith("not enough data")]
    checks.append(["enough data (≥ 50 units per arm)", small[0] if small else "yes"])
    if exp is not None:
        if exp.ends_at is None:
            end = "no planned end set"
        else:
            end = f"{exp.ends_at:%Y-%m-%d %H:%M} UTC" + (
                " — passed; declare a winner or stop the experiment" if h.expired else ""
            )
        checks.append(["planned end (ends_at)", end])
    elif h.expired:
        checks.append(["planned end (ends_at)", "passed; declare a winner or stop the experiment"])
    rejected = sum(int(p.get("rows_rejected") or 0) for p in res.provenance)
    checks.append(["rows rejected during load", f"{rejected:,}"])
    others = [
        w for w in h.warnings if not w.startswith("not enough data") and "sample ratio" not in w
    ]
    return el(
        "section",
        el("h2", "Health checks"),
        el(
            "div",
            [el("div", w) for w in h.warnings] if h.warnings else "No warnings.",
            class_="health warn" if h.warnings else "health",
        ),
        _html.table(
            ["arm", "exposed units", "observed share", "configured share"],
            rows,
            caption="Exposure counts",
        ),
        _html.table(["check", "result"], checks, caption="Checks"),
        el("ul", *[el("li", w) for w in others], class_="note") if others else None,
        _rejects(ws) if rejected and ws is not None else None,
        id="health",
    )


def _rejects(ws: Workspace) -> Markup | None:
    df = ws.sql(
        """SELECT i.file, r.reason, count(*) AS n
           FROM rejects r JOIN imports i USING (import_id)
           GROUP BY i.file, r.reason ORDER BY n DESC LIMIT 20"""
    )
    if df.empty:
        return None
    rows = [[f, reason, f"{int(n):,}"] for f, reason, n in df.itertuples(index=False)]
    return _html.table(
        ["file", "reason", "rows"],
        rows,
        caption="Rows rejected during load (ws.rejects() lists them)",
    )


# -- methods, provenance, offline, code ------------------------------------------------------------
def _methods_section(res: ExperimentResult) -> Markup:
    o = res.options
    rows = [
        ["unit of analysis", str(o.unit)],
        ["method", o.method],
        ["significance level α (two-sided)", f"{res.alpha:g}"],
        [
            "relative effects",
            "treatment / control − 1, delta-method CI (as PostHog)"
            if o.relative
            else "not reported",
        ],
        [
            "multiple-testing correction",
            CORRECTION_NAMES.get(o.correction, "none") if o.correction else "none",
        ],
        ["CUPED", _cuped_text(o.cuped)],
        [
            "winsorization",
            "none"
            if o.winsorize is None
            else f"{o.winsorize[0]:g}th–{o.winsorize[1]:g}th percentile",
        ],
        [
            "sequential testing",
            "always-valid p-values and confidence sequences" if o.sequential else "no",
        ],
        ["units exposed to several variants", o.multiple],
        ["window", f"{_when(o.start)} to {_when(o.end)}"],
    ]
    return el(
        "section",
        el("h2", "Methods"),
        el("ul", *[el("li", line) for line in res.methods]),
        _html.table(["option", "value"], rows, caption="Analysis options"),
        id="methods",
    )


def _cuped_text(days: float | None) -> str:
    if days is None:
        return "no"
    return f"yes, covariate from {days:g} days before exposure"


def _when(x: Any) -> str:
    if x is None:
        return "open"
    if isinstance(x, dt.datetime):
        return f"{x:%Y-%m-%d %H:%M} UTC"
    return str(x)


def _provenance_section(res: ExperimentResult) -> Markup:
    rows = []
    for p in res.provenance:
        loaded = p.get("loaded_at")
        rows.append(
            [
                str(p.get("file", "")),
                str(p.get("format", "") or ""),
                Markup(el("code", str(p.get("sha256", "") or ""))),
                f"{int(p.get('rows_read') or 0):,}",
                f"{int(p.get('rows_loaded') or 0):,}",
                f"{int(p.get('rows_rejected') or 0):,}",
                _when(loaded) if isinstance(loaded, dt.datetime) else str(loaded or ""),
            ]
        )
    table = (
        _html.table(
            ["file", "format", "sha256", "rows read", "rows loaded", "rows rejected", "loaded at"],
            rows,
            caption="Files loaded into the workspace",
        )
        if rows
        else el("p", "No load recorded in the workspace (data came from frames or SQL).")
    )
    return el(
        "section",
        el("h2", "Data provenance"),
        table,
        el(
            "p",
            "Analysed at "
            + (_when(res.computed_at) if res.computed_at else "an unknown time")
            + ". A file with the same sha256 reproduces these numbers.",
            class_="note",
        ),
        id="provenance",
    )


def _offline_section(offline: Any) -> Markup:
    if hasattr(offline, "_repr_html_"):
        # Offline results build their HTML with _html.el (escaped), like every result object.
        content: Any = Markup(str(offline._repr_html_()))
    elif hasattr(offline, "to_pandas"):
        df = offline.to_pandas()
        content = _html.table(
            [str(c) for c in df.columns],
            [[_cell(v) for v in row] for row in df.itertuples(index=False)],
        )
    else:
        content = el("pre", repr(offline))
    return el(
        "section",
        el("h2", "Offline comparison (before launch)"),
        content,
        id="offline",
    )


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return num(v)
    return "" if v is None else str(v)


def reproducing_code(res: ExperimentResult, exp: Experiment | None = None) -> str:
    """Python code that reproduces ``res`` from the loaded files (shown in the report)."""
    lines = ["import promptab_nb as pab", "", "ws = pab.Workspace()"]
    files = [str(p["file"]) for p in res.provenance if p.get("file")]
    for f in files:
        lines.append(f"ws.load_posthog({f!r})")
    if not files:
        lines.append("# load the data the result came from, e.g. ws.load_posthog('events.parquet')")
    args = [repr(res.experiment), repr(res.prompt_name), repr(dict(res.variants))]
    if res.flag_key is not None and res.flag_key != res.experiment:
        args.append(f"flag_key={res.flag_key!r}")
    if exp is not None:
        equal = 100.0 / len(exp.split)
        if any(abs(s - equal) > 1e-9 for s in exp.split.values()):
            args.append(f"split={[round(s, 6) for s in exp.split.values()]!r}")
    if exp is not None and exp.unit != "user":
        args.append(f"unit={exp.unit!r}")
    lines.append(_call("exp = ws.create_experiment", args))
    lines.append(res.options.to_code("res = exp.analyze", exp=exp))
    lines.append('pab.report.write(res, "report.html", ws=ws)')
    return "\n".join(lines) + "\n"


def _call(head: str, args: list[str]) -> str:
    one = f"{head}({', '.join(args)})"
    if len(one) <= 88:
        return one
    return head + "(\n" + "".join(f"    {a},\n" for a in args) + ")"


def _code_section(res: ExperimentResult, exp: Experiment | None) -> Markup:
    return el(
        "section",
        el("h2", "Reproduce"),
        el("p", "Run this in Python next to the data files to get the same numbers:"),
        el("pre", el("code", reproducing_code(res, exp))),
        id="reproduce",
    )


# -- figures ---------------------------------------------------------------------------------------
class _Figures:
    """Figures from :mod:`promptab_nb.plots` as embedded PNG; a missing plot is left out."""

    def __init__(self) -> None:
        try:
            from . import plots
        except ImportError:
            plots = None
        self._plots = plots

    def has(self, name: str) -> bool:
        return callable(getattr(self._plots, name, None))

    def make(self, name: str, *args: Any, alt: str, caption: str | None = None) -> Markup | None:
        fn: Callable[..., Figure] | None = getattr(self._plots, name, None)
        if not callable(fn):
            return None
        fig = fn(*args)
        return _figure_html(fig, alt=alt, caption=caption)


def _figure_html(fig: Figure, *, alt: str, caption: str | None = None) -> Markup:
    """Save ``fig`` as PNG into a ``data:`` URI inside a ``<figure>``; the figure is closed."""
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # Tiny samples can collapse constrained layout; the PNG is still usable.
            warnings.filterwarnings("ignore", message="constrained_layout not applied")
            # Constrained layout already fits the figure: no "tight" bbox (a second full draw).
            fig.savefig(buf, format="png", dpi=110, facecolor="white")
    finally:
        _close(fig)
    src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return el(
        "figure",
        el("img", src=src, alt=alt),
        el("figcaption", caption) if caption else None,
    )


def _close(fig: Figure) -> None:
    # Our figures are built with Figure(...), never registered with pyplot: drop their artists.
    fig.clear()
