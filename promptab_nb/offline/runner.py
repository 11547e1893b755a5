"""Run prompt versions × dataset items × repeats through a model, score, cache and store the results.

Every (version, item, repeat) is a *cell*. Cells run with bounded concurrency (threads, or one
asyncio loop for ``async`` models); retryable failures (HTTP 429 / 5xx, timeouts) back off
exponentially and try again; any other failure is recorded in the cell and the run goes on.
Responses are cached in ``model_cache`` keyed on (model id, rendered prompt, model params,
repeat index), so re-running an identical experiment makes no model calls; errors are never
cached. Cells of one run that render the same prompt (duplicated items, a template that ignores
the item) are separate draws, each keyed with its prompt name, template and item too. Prices are not in the key: the demo and OpenAI-compatible models reprice cached token
counts at the run's prices. The prompt versions are registered and the results land in
``offline_runs`` / ``offline_results`` / ``offline_scores`` in one transaction when the run
ends, so a run that fails anywhere (its checks, an interrupt, storing) registers no prompt
version and writes no run; responses already paid for stay in the cache.

Inside: this module (arguments, the run, stored runs), ``_execute`` (cells, concurrency, retries)
and ``_store`` (the end-of-run transaction).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._checks import check
from ..errors import InvalidArgumentError, NotFoundError
from . import models as _models
from ._execute import _CACHE_FLUSH, _cache_key, _Cell, _Executor, _Outcome, _run_cells
from ._store import _insert_cache, _store
from .dataset import Dataset
from .prompts import _PLACEHOLDER, PromptVersion
from .scorers import Scorer, resolve

if TYPE_CHECKING:
    from ..workspace import Workspace
    from ._run import OfflineRun, RunList

__all__ = ["get_run", "list_runs", "run_offline"]

# Names a scorer cannot take: the run metrics compare() knows (and their aliases), and the columns
# of run.results() / run.summary() / run.to_pandas() a scorer's column would clash with.
_RESERVED_SCORER_NAMES = frozenset({
    "cost_usd", "latency_s", "output_tokens", "cost", "latency", "tokens", "run_id", "version",
    "item_id", "repeat_idx", "prompt", "output", "error", "input_tokens", "cached", "attempts",
    "calls", "errors", "score_errors", "total_cost_usd", "unpriced",
})  # fmt: skip


def _as_versions(ws: Workspace, versions: Any) -> list[PromptVersion]:
    """The versions as ``register`` would number them now, checked but not registered: the
    run registers them when it stores its results (see ``_store``)."""
    # A tuple is one (name, template) version only when it is two texts: (v1, v2) is two.
    pair = (
        isinstance(versions, tuple) and len(versions) == 2
        and all(isinstance(x, str) for x in versions)
    )  # fmt: skip
    single = pair or isinstance(versions, PromptVersion | str) or (
        not isinstance(versions, Sequence)
    )  # fmt: skip
    if single:
        versions = [versions]
    if not versions:
        raise InvalidArgumentError("versions is empty; pass at least one prompt version")
    texts: list[tuple[str, str]] = []
    for pos, v in enumerate(versions):
        if isinstance(v, PromptVersion):
            texts.append(ws.prompts._prepare(v.name, v.template))
        elif isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v):
            if _PLACEHOLDER.search(v[0]):
                # ("A {{q}}", "B {{q}}") meant two templates, not a version named "A {{q}}".
                where = "versions" if single else f"versions[{pos}]"
                raise InvalidArgumentError(
                    f"{where} is the tuple {v!r}, read as one (name, template) version, but the "
                    f"name {v[0]!r} looks like a template; pass a list of templates "
                    f"[{v[0]!r}, {v[1]!r}], or (name, template) tuples"
                )
            texts.append(ws.prompts._prepare(v[0], v[1]))
        elif isinstance(v, str):
            texts.append(ws.prompts._prepare("prompt", v))
        else:
            raise InvalidArgumentError(
                f"versions[{pos}] is {v!r}; pass a PromptVersion, a (name, template) tuple "
                "or a template string"
            )
    out = ws.prompts._preview(texts)
    labels = [v.label for v in out]
    dup = {lab for lab in labels if labels.count(lab) > 1}
    if dup:
        raise InvalidArgumentError(
            f"versions lists {', '.join(sorted(dup))} more than once (the same text is the "
            "same version); pass each version once"
        )
    return out


def _as_dataset(dataset: Any) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, list):
        return Dataset.from_records(dataset)
    if hasattr(dataset, "columns"):
        return Dataset.from_frame(dataset)
    raise InvalidArgumentError(
        f"dataset is a {type(dataset).__name__}; pass a pab.offline.Dataset, a list of dicts "
        "or a DataFrame"
    )


def run_offline(
    ws: Workspace,
    dataset: Dataset | Any,
    versions: Sequence[PromptVersion | tuple[str, str] | str],
    model: Callable[[str], Any],
    *,
    scorers: Sequence[Scorer | str | Callable[..., Any]] | Scorer | str | None = None,
    repeats: int = 3,
    concurrency: int = 8,
    name: str | None = None,
    cache: bool = True,
    progress: bool = True,
    model_id: str | None = None,
    max_retries: int = 4,
    backoff_s: float = 0.5,
) -> OfflineRun:
    """Run every prompt version on every dataset item ``repeats`` times, score and store it.

    Parameters
    ----------
    ws
        The workspace that stores prompts, results and the response cache.
    dataset
        A :class:`Dataset` (a list of dicts or a DataFrame is converted).
    versions
        :class:`PromptVersion` objects, ``(name, template)`` tuples or template strings (the
        latter two are registered in ``ws.prompts``). The first is the default baseline.
    model
        ``model(prompt) -> str | dict`` (sync or async); see :mod:`promptab_nb.offline.models`.
    scorers
        :class:`Scorer` objects, built-in names (``"exact"``) or functions (or one of them).
        Default: ``exact`` when the dataset has expected answers, else none (cost, latency and
        tokens only).
    repeats
        Calls per (version, item); repeats are stored separately (``repeat_idx``) and measure
        the model's own noise.
    concurrency
        Maximum model calls in flight.
    name
        A label for the run (default: the versions and dataset).
    cache
        Reuse responses from ``model_cache`` and store new ones (errors are never cached).
    progress
        Show a progress bar.
    model_id
        Id the cache keys on (default ``model.model_id`` or the callable's qualified name);
        change it when the model behind the callable changes.
    max_retries
        Retries of a cell after a retryable error (429, 5xx, timeout).
    backoff_s
        First retry delay in seconds; doubles each retry (with jitter, at most 60 s), unless
        the server sent ``Retry-After``.

    Returns
    -------
    OfflineRun
        Reloadable later with ``ws.offline_run(run.run_id)``.

    Raises
    ------
    DataError
        An empty dataset, duplicate ids, or an item missing a template variable (named with
        the version), before any model call.
    InvalidArgumentError
        Bad options, an uncallable model, duplicate versions or scorer names.

    Examples
    --------
    >>> import promptab_nb as pab
    >>> ws = pab.Workspace()
    >>> ds = pab.offline.Dataset.from_records([{"q": "1+1", "expected": "2"}])
    >>> run = ws.run_offline(ds, ["Q: {{q}}", "Think step by step. Q: {{q}}"],
    ...                      pab.offline.DemoModel(), repeats=2, progress=False)
    >>> len(run.results())
    4
    """
    from ._run import OfflineRun

    dataset = _as_dataset(dataset)
    if not callable(model):
        raise InvalidArgumentError(f"model == {model!r}, must be callable: model(prompt) -> text")
    check(repeats, "repeats", ge=1, integer=True)
    check(concurrency, "concurrency", ge=1, integer=True)
    check(max_retries, "max_retries", ge=0, integer=True)
    check(backoff_s, "backoff_s", ge=0)
    repeats, concurrency, max_retries = int(repeats), int(concurrency), int(max_retries)
    # Check everything before any call; the versions are registered only when the run is stored.
    vers = _as_versions(ws, versions)
    if scorers is None:
        scorer_objs = [resolve("exact")] if dataset.has_expected else []
        if not scorer_objs:
            # Answers under another name ("answer") leave the run without a quality metric.
            warnings.warn(
                f"dataset{' ' + dataset.name if dataset.name else ''} has no expected answers, "
                "so no scorer runs and the run measures cost, latency and tokens only; pass "
                "scorers=[...] (or load the answers with expected_field='answer'), or "
                "scorers=[] to say none are wanted",
                stacklevel=3,
            )
    elif isinstance(scorers, str | Scorer) or callable(scorers):  # one scorer, not its letters
        scorer_objs = [resolve(scorers)]
    elif isinstance(scorers, Sequence):
        scorer_objs = [resolve(s) for s in scorers]
    else:
        raise InvalidArgumentError(
            f"scorers == {scorers!r}; pass a list of scorers (pab.offline.exact(), 'exact', a "
            "function), one scorer, or None for the default"
        )
    names = [s.name for s in scorer_objs]
    for scorer_name in names:
        if scorer_name in _RESERVED_SCORER_NAMES:
            raise InvalidArgumentError(
                f"scorer name {scorer_name!r} is taken by a run metric or a results column; "
                f"give the scorer another name, e.g. pab.offline.custom(fn, "
                f"name={scorer_name + '_score'!r})"
            )
    if len(set(names)) != len(names):
        raise InvalidArgumentError(
            f"scorer names must be unique, got {names}; pass name= to tell them apart"
        )
    mid = model_id or _models.model_id(model)
    params = _models.model_params(model)
    # A missing variable stops the run before any call is paid for.
    for item in dataset:
        for v in vers:
            if v.missing(item.variables):
                v.render(item.variables, item_id=item.item_id)  # raises, naming both

    rendered = [
        (item, v, v.render(item.variables, item_id=item.item_id)) for item in dataset for v in vers
    ]
    # Cells that render the same prompt (a duplicated question, a template that ignores the
    # item, two versions rendering alike) are separate draws: they get keys of their own, so a
    # re-run does not hand all of them the one reply the cache kept. A prompt rendered once
    # keeps the plain key (and the responses cached before this distinction).
    shared = {p for p, k in Counter(p for _, _, p in rendered).items() if k > 1}
    cells: list[_Cell] = []
    for r in range(repeats):
        for item, v, prompt in rendered:
            who = [v.name, v.sha256, item.item_id] if prompt in shared else None
            cells.append(_Cell(v, item, r, prompt, _cache_key(mid, prompt, params, r, who)))

    cache_hits = 0
    if cache:
        keys = sorted({c.key for c in cells})
        hits = dict(
            ws.engine.fetch(
                "SELECT cache_key, response FROM model_cache WHERE cache_key IN (SELECT unnest(?))",
                [keys],
            )
        )
        for c in cells:
            if c.key in hits:
                c.cached = json.loads(hits[c.key])
                cache_hits += 1

    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    created = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    executor = _Executor(model, scorer_objs, max_retries, float(backoff_s))
    outcomes: list[_Outcome] = []
    pending_cache: dict[str, tuple[str, str]] = {}

    def flush_cache() -> None:
        if cache and pending_cache:
            with ws.transaction() as con:
                _insert_cache(con, pending_cache)
            pending_cache.clear()

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(cells), disable=not progress, desc=name or "offline run", unit="call",
        leave=True,
    )  # fmt: skip

    def on_done(out: _Outcome) -> None:
        outcomes.append(out)
        if out.new_cache is not None and cache:
            pending_cache[out.cell.key] = (mid, json.dumps(out.new_cache))
            if len(pending_cache) >= _CACHE_FLUSH:
                flush_cache()
        bar.update(1)

    try:
        _run_cells(executor, cells, concurrency, _models.is_async(model), on_done)
    except BaseException:
        with contextlib.suppress(Exception):
            flush_cache()  # keep what was paid for, even when interrupted
        raise
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    model_calls = sum(o.attempts for o in outcomes)

    def run_row(registered: list[PromptVersion]) -> dict[str, Any]:
        labels = " vs ".join(v.label for v in registered)
        return {
            "run_id": run_id,
            "name": name or f"{labels} on {dataset.name or f'{len(dataset)} items'}",
            "dataset": json.dumps(dataset.to_dict(), default=str),
            "versions": json.dumps(
                [{"name": v.name, "version": v.version, "template": v.template} for v in registered]
            ),
            "model_id": mid,
            "scorers": json.dumps([{"name": s.name, "kind": s.kind} for s in scorer_objs]),
            "repeats": repeats,
            "params": json.dumps(
                {
                    "model_params": params,
                    "concurrency": concurrency,
                    "max_retries": max_retries,
                    "backoff_s": backoff_s,
                    "cache": cache,
                    "n_items": len(dataset),
                    "dataset_sha256": dataset.sha256,
                },
                default=str,
            ),
            "created_at": created,
            "seconds": seconds,
            "model_calls": model_calls,
            "cache_hits": cache_hits,
        }

    try:
        registered = _store(ws, vers, run_row, outcomes, pending_cache if cache else {})
    except BaseException:
        # Nothing of the run is stored (versions included), but keep what was paid for.
        with contextlib.suppress(Exception):
            flush_cache()
        raise
    label = {d.label: v.label for d, v in zip(vers, registered, strict=True)}
    n_errors = sum(o.error is not None for o in outcomes)
    if n_errors:
        first = next(o for o in outcomes if o.error is not None)
        warnings.warn(
            f"{n_errors} of {len(outcomes)} calls failed (first: item {first.cell.item.item_id!r}, "
            f"version {label[first.cell.version.label]}: {first.error}); see run.errors()",
            stacklevel=3,
        )
    # A failing scorer is as worth telling as a failing model: its cells have no score.
    failed = [(o, sc) for o in outcomes for sc in o.scores if sc[3] is not None]
    if failed:
        n_scores = sum(len(o.scores) for o in outcomes)
        o, (scorer_name, _, _, err) = failed[0]
        warnings.warn(
            f"{len(failed)} of {n_scores} scores failed (first: scorer {scorer_name!r}, item "
            f"{o.cell.item.item_id!r}, version {label[o.cell.version.label]}: {err}); see "
            "run.errors()",
            stacklevel=3,
        )
    return OfflineRun._load(ws, run_id)


def list_runs(ws: Workspace) -> RunList:
    """Offline runs stored in the workspace, newest first (renders as a table)."""
    from ._run import RunList

    frame = ws.sql(
        """
        SELECT r.run_id, r.name, r.created_at, r.model_id,
               json_array_length(r.versions) AS n_versions,
               CAST(json_extract(r.params, '$.n_items') AS BIGINT) AS n_items,
               r.repeats, r.model_calls, r.cache_hits, r.seconds,
               (SELECT count(*) FROM offline_results x
                WHERE x.run_id = r.run_id AND x.error IS NOT NULL) AS errors
        FROM offline_runs r
        ORDER BY r.created_at DESC, r.run_id DESC
        """
    )
    return RunList(frame)


def get_run(ws: Workspace, run_id: str) -> OfflineRun:
    """Reopen a stored run by id.

    Raises
    ------
    NotFoundError
        No run with that id; the message lists the most recent ones.
    """
    from ._run import OfflineRun

    rows = ws.engine.fetch("SELECT 1 FROM offline_runs WHERE run_id = ?", [run_id])
    if not rows:
        recent = [r[0] for r in ws.engine.fetch(
            "SELECT run_id FROM offline_runs ORDER BY created_at DESC LIMIT 5"
        )]  # fmt: skip
        raise NotFoundError(
            f"no offline run {run_id!r} in this workspace; recent runs: "
            f"{', '.join(recent) or 'none'}"
        )
    return OfflineRun._load(ws, run_id)
