"""One self-contained HTML report of an experiment: the decision card, verdict, per-metric
sections, health, methods, data provenance, the offline comparison and the code that reproduces
it. The page reads at 390 px: tables and figures scroll in their own box.

The file has inline CSS and PNG figures embedded as base64 ``data:`` URIs; it loads nothing from the
network and runs no scripts. Every text (experiment and prompt names included) goes through
:func:`promptab_nb._html.el`, which escapes it. The report runs no SQL and computes no statistics:
it reads the result, ``res.health.flags`` and the workspace's queries (``ws.rejects_summary()``).

Modules: ``_decision`` (the decision card), ``_sections`` (verdict, metrics), ``_pairs`` (all
pairs of arms, total impact), ``_health``, ``_details`` (methods, provenance, offline),
``_code`` (reproducing code), ``_offline_code`` (its offline part), ``_figures`` (embedded
plots).

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

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _html
from .._html import Markup, el
from ..errors import DataError, InvalidArgumentError, NotFoundError
from ._code import code_section, reproducing_code
from ._decision import CSS as DECISION_CSS
from ._decision import decision_section
from ._details import methods_section, offline_section, provenance_section
from ._figures import Figures
from ._health import health_section
from ._pairs import pairs_section
from ._sections import metric_section, renames, subtitle, summary_section

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..results import ExperimentResult
    from ..workspace import Workspace

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
.pab .impact { margin: 8px 0; }
.pab .impact ul { margin: 4px 0; padding-left: 20px; }
.pab footer { margin-top: 32px; color: #888; font-size: 12px; }
.pab table { display: block; max-width: 100%; overflow-x: auto; }
.pab .sub, .pab li, .pab p, .pab h1, .pab h2, .pab h3, .pab .headline, .pab .note,
.pab figcaption { overflow-wrap: anywhere; }
@media (max-width: 640px) {
  .pab.report { padding: 12px 12px 32px; font-size: 13px; }
  .pab h1 { font-size: 19px; }
  /* figures keep legible text: they scroll in their own box instead of shrinking */
  .pab figure { overflow-x: auto; }
  .pab figure img { max-width: none; width: 640px; }
}
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
        An offline comparison (``run.compare(...)``) shown in its own section. The Reproduce
        section reopens its run (stored in the file workspace ``ws``, or loaded from promptfoo
        results) and compares it again, or says why it cannot.
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


# -- document --------------------------------------------------------------------------------------
def _segments(res: ExperimentResult) -> Markup | None:
    """Per-segment comparisons and Cochran's Q, when analysed with ``by=``."""
    if res.segments is None:
        return None
    return el(
        "section",
        el("h2", f"Segments by {res.segments.by}"),
        el(
            "div",
            "Benjamini–Hochberg adjusts the p-values across segments; a low-power segment "
            "cannot show an effect of the planned size. Cochran's Q tests whether the effect "
            "differs between segments.",
            class_="note",
        ),
        Markup(res.segments._repr_html_()),
        id="segments",
    )


def _resolve(
    obj: Any, ws: Workspace | None
) -> tuple[ExperimentResult, Experiment | None, Workspace | None]:
    from ..experiments import Experiment
    from ..results import ExperimentResult

    if isinstance(obj, Experiment):
        return obj.analyze(), obj, ws or obj.ws
    if not isinstance(obj, ExperimentResult):
        raise InvalidArgumentError(
            f"report needs an ExperimentResult or an Experiment, got {type(obj).__name__}; "
            "pass exp.analyze(...) or the experiment"
        )
    return obj, (None if ws is None else _record(ws, obj)), ws


def _record(ws: Workspace, res: ExperimentResult) -> Experiment | None:
    """The experiment ``res`` analysed, or None: by the result's id when it has one, if that
    record is the same experiment (its name, now or before a rename, is the result's: a result
    of another workspace can carry the same id); else by the result's name."""
    import json

    try:
        if res.experiment_id is None:
            return ws.experiment(res.experiment)
        exp = ws.experiment(res.experiment_id)
    except NotFoundError:
        return None
    names = {exp.name}
    names |= {json.loads(c.old) for c in exp.design_changes() if c.field == "name" and c.old}
    return exp if res.experiment in names else None


def _document(
    res: ExperimentResult,
    *,
    exp: Experiment | None,
    ws: Workspace | None,
    offline: Any,
    title: str | None,
    over_time: bool,
) -> str:
    from .. import __version__

    title = title or f"Experiment {res.experiment}"
    figures = Figures()
    body = el(
        "main",
        el("h1", title),
        el("div", subtitle(res, exp), class_="sub"),
        renames(exp),
        decision_section(res, exp),
        summary_section(res, figures),
        *[metric_section(res, m, exp, figures, over_time) for m in res.metrics],
        pairs_section(res),
        _segments(res),
        health_section(res, exp, ws, figures),
        methods_section(res),
        provenance_section(res),
        offline_section(offline) if offline is not None else None,
        code_section(res, exp, ws=ws, offline=offline),
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
        el("style", Markup(_html.STYLE + _CSS + DECISION_CSS)),
    )
    return "<!DOCTYPE html>\n" + el("html", head, el("body", body), lang="en") + "\n"
