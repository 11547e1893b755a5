"""Run prompt versions × dataset items × repeats through a model, score, cache and store the results.

Every (version, item, repeat) is a *cell*. Cells run with bounded concurrency (threads, or one
asyncio loop for ``async`` models); retryable failures (HTTP 429 / 5xx, timeouts) back off
exponentially and try again; any other failure is recorded in the cell and the run goes on.
Responses are cached in ``model_cache`` keyed on (model id, rendered prompt, model params,
repeat index), so re-running an identical experiment makes no model calls; errors are never
cached. Results land in ``offline_runs`` / ``offline_results`` / ``offline_scores`` in one
transaction when the run ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import inspect
import json
import queue
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import schema
from .._checks import check
from ..errors import InvalidArgumentError, NotFoundError
from . import models as _models
from .dataset import Dataset, Item
from .prompts import PromptVersion
from .scorers import Scorer, resolve

if TYPE_CHECKING:
    from ..workspace import Workspace
    from ._run import OfflineRun, RunList

__all__ = ["get_run", "list_runs", "run_offline"]

_MAX_BACKOFF_S = 60.0
_CACHE_FLUSH = (
    500  # new responses written to model_cache during the run, so an interrupt keeps them
)


@dataclass
class _Cell:
    version: PromptVersion
    item: Item
    repeat: int
    prompt: str
    key: str
    cached: dict[str, Any] | None = None


@dataclass
class _Outcome:
    cell: _Cell
    output: str | None = None
    error: str | None = None
    latency_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cached: bool = False
    attempts: int = 0
    scores: list[tuple[str, float | None, bool | None, str | None]] = field(default_factory=list)
    new_cache: dict[str, Any] | None = None


def _cache_key(mid: str, prompt: str, params: dict[str, Any], repeat: int) -> str:
    text = json.dumps([mid, prompt, params, repeat], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _as_versions(ws: Workspace, versions: Any) -> list[PromptVersion]:
    if isinstance(versions, PromptVersion | str | tuple) or not isinstance(versions, Sequence):
        versions = [versions]
    if not versions:
        raise InvalidArgumentError("versions is empty; pass at least one prompt version")
    out: list[PromptVersion] = []
    for pos, v in enumerate(versions):
        if isinstance(v, PromptVersion):
            out.append(ws.prompts.register(v.name, v.template))
        elif isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v):
            out.append(ws.prompts.register(v[0], v[1]))
        elif isinstance(v, str):
            out.append(ws.prompts.register("prompt", v))
        else:
            raise InvalidArgumentError(
                f"versions[{pos}] is {v!r}; pass a PromptVersion, a (name, template) tuple "
                "or a template string"
            )
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


def _jitter(key: str, attempt: int) -> float:
    # Deterministic jitter (no global RNG): spread retries of different cells apart.
    h = hashlib.sha256(f"{key}:{attempt}".encode()).digest()
    return 0.5 + 0.5 * int.from_bytes(h[:4], "big") / 2**32


def _describe(err: BaseException) -> str:
    msg = str(err).strip()
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


class _Executor:
    """Calls the model for one cell (with retries) and scores the output."""

    def __init__(
        self,
        model: Callable[..., Any],
        scorers: list[Scorer],
        max_retries: int,
        backoff_s: float,
    ) -> None:
        self.model = model
        self.scorers = scorers
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    def _backoff(self, err: BaseException, key: str, attempt: int) -> float:
        asked = _models.retry_after(err)
        if asked is not None:
            return min(asked, _MAX_BACKOFF_S)
        return min(self.backoff_s * 2**attempt * _jitter(key, attempt), _MAX_BACKOFF_S)

    def _gave_up(self, out: _Outcome, err: BaseException) -> None:
        out.error = _describe(err) + (
            f" (gave up after {out.attempts} attempts)" if _models.is_retryable(err) else ""
        )

    def _accept(self, out: _Outcome, raw: Any, measured: float) -> None:
        resp = _models.normalize_response(raw)
        out.output = resp.text
        out.latency_s = resp.latency_s if resp.latency_s is not None else measured
        out.input_tokens, out.output_tokens = resp.input_tokens, resp.output_tokens
        out.cost_usd = resp.cost_usd
        out.new_cache = {**resp.to_dict(), "latency_s": out.latency_s}

    def _from_cache(self, out: _Outcome) -> None:
        c = out.cell.cached or {}
        out.output, out.latency_s, out.cached = c.get("text"), c.get("latency_s"), True
        out.input_tokens, out.output_tokens = c.get("input_tokens"), c.get("output_tokens")
        out.cost_usd = c.get("cost_usd")

    def score(self, out: _Outcome) -> _Outcome:
        if out.output is None:
            return out
        cell = out.cell
        for scorer in self.scorers:
            try:
                s = scorer(out.output, cell.item)
                out.scores.append((scorer.name, s.value, s.passed, None))
            except Exception as err:  # a scorer bug must not end the run
                where = f" (scorer {scorer.name!r}, item {cell.item.item_id!r}, version {cell.version.label})"
                out.scores.append((scorer.name, None, None, _describe(err) + where))
        return out

    def run_sync(self, cell: _Cell) -> _Outcome:
        out = _Outcome(cell)
        if cell.cached is not None:
            self._from_cache(out)
            return self.score(out)
        token = _models._CURRENT.set((cell.item, cell.repeat))
        try:
            while True:
                out.attempts += 1
                t0 = time.perf_counter()
                try:
                    raw = self.model(cell.prompt)
                    if inspect.isawaitable(raw):
                        raw = asyncio.run(_await(raw))
                    self._accept(out, raw, time.perf_counter() - t0)
                    break
                except Exception as err:
                    if _models.is_retryable(err) and out.attempts <= self.max_retries:
                        time.sleep(self._backoff(err, cell.key, out.attempts - 1))
                        continue
                    self._gave_up(out, err)
                    break
        finally:
            _models._CURRENT.reset(token)
        return self.score(out)

    async def run_async(self, cell: _Cell, sem: asyncio.Semaphore) -> _Outcome:
        out = _Outcome(cell)
        if cell.cached is not None:
            self._from_cache(out)
            return self.score(out)
        async with sem:
            _models._CURRENT.set((cell.item, cell.repeat))  # this task's own context copy
            while True:
                out.attempts += 1
                t0 = time.perf_counter()
                try:
                    raw = self.model(cell.prompt)
                    if inspect.isawaitable(raw):
                        raw = await raw
                    self._accept(out, raw, time.perf_counter() - t0)
                    break
                except Exception as err:
                    if _models.is_retryable(err) and out.attempts <= self.max_retries:
                        await asyncio.sleep(self._backoff(err, cell.key, out.attempts - 1))
                        continue
                    self._gave_up(out, err)
                    break
        if self.scorers:
            return await asyncio.to_thread(self.score, out)
        return out


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _run_cells(
    executor: _Executor,
    cells: list[_Cell],
    concurrency: int,
    is_async: bool,
    on_done: Callable[[_Outcome], None],
) -> None:
    """Run every cell, calling ``on_done`` in this (the caller's) thread as each finishes."""
    done: queue.Queue[_Outcome | BaseException] = queue.Queue()
    stop = threading.Event()
    if is_async:

        async def main() -> None:
            sem = asyncio.Semaphore(concurrency)

            async def one(cell: _Cell) -> None:
                if stop.is_set():
                    return
                try:
                    done.put(await executor.run_async(cell, sem))
                except BaseException as err:  # noqa: BLE001 - handed to the main thread
                    done.put(err)

            await asyncio.gather(*(one(c) for c in cells))

        # A notebook already runs an event loop in the main thread: use a private one.
        runner = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        runner.start()
        pool = None
    else:
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="pab-offline"
        )

        def one_sync(cell: _Cell) -> None:
            if stop.is_set():
                return
            try:
                done.put(executor.run_sync(cell))
            except BaseException as err:  # noqa: BLE001 - handed to the main thread
                done.put(err)

        for c in cells:
            pool.submit(one_sync, c)
    try:
        for _ in range(len(cells)):
            got = done.get()
            if isinstance(got, BaseException):
                raise got
            on_done(got)
    finally:
        stop.set()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def run_offline(
    ws: Workspace,
    dataset: Dataset | Any,
    versions: Sequence[PromptVersion | tuple[str, str] | str],
    model: Callable[[str], Any],
    *,
    scorers: Sequence[Scorer | str | Callable[..., Any]] | None = None,
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
        :class:`Scorer` objects, built-in names (``"exact"``) or functions. Default: ``exact``
        when the dataset has expected answers, else none (cost, latency and tokens only).
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
    vers = _as_versions(ws, versions)
    if scorers is None:
        scorer_objs = [resolve("exact")] if dataset.has_expected else []
    else:
        scorer_objs = [resolve(s) for s in scorers]
    names = [s.name for s in scorer_objs]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(
            f"scorer names must be unique, got {names}; pass name= to tell them apart"
        )
    mid = model_id or _models.model_id(model)
    params = _models.model_params(model)

    # Render everything first: a missing variable stops the run before any call is paid for.
    cells: list[_Cell] = []
    for r in range(repeats):
        for item in dataset:
            for v in vers:
                missing = v.missing(item.variables)
                if missing:
                    v.render(item.variables, item_id=item.item_id)  # raises, naming both
                prompt = v.render(item.variables, item_id=item.item_id)
                cells.append(_Cell(v, item, r, prompt, _cache_key(mid, prompt, params, r)))

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

    label_of = {v.label: v for v in vers}
    run_row = {
        "run_id": run_id,
        "name": name or f"{' vs '.join(label_of)} on {dataset.name or f'{len(dataset)} items'}",
        "dataset": json.dumps(dataset.to_dict(), default=str),
        "versions": json.dumps(
            [{"name": v.name, "version": v.version, "template": v.template} for v in vers]
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
    _store(ws, run_row, outcomes, pending_cache if cache else {})
    n_errors = sum(o.error is not None for o in outcomes)
    if n_errors:
        first = next(o for o in outcomes if o.error is not None)
        warnings.warn(
            f"{n_errors} of {len(outcomes)} calls failed (first: item {first.cell.item.item_id!r}, "
            f"version {first.cell.version.label}: {first.error}); see run.errors()",
            stacklevel=3,
        )
    return OfflineRun._load(ws, run_id)


_RESULT_COLS = schema.columns("offline_results")
_SCORE_COLS = schema.columns("offline_scores")


def _store(
    ws: Workspace,
    run_row: dict[str, Any],
    outcomes: list[_Outcome],
    pending_cache: dict[str, tuple[str, str]],
) -> None:
    import pyarrow as pa

    from .._sql import ident

    run_id = run_row["run_id"]
    results: dict[str, list[Any]] = {c: [] for c in _RESULT_COLS}
    scores: dict[str, list[Any]] = {c: [] for c in _SCORE_COLS}
    for o in outcomes:
        c = o.cell
        row = {
            "run_id": run_id, "version": c.version.label, "item_id": c.item.item_id,
            "repeat_idx": c.repeat, "prompt": c.prompt, "output": o.output, "error": o.error,
            "latency_s": o.latency_s, "input_tokens": o.input_tokens,
            "output_tokens": o.output_tokens, "cost_usd": o.cost_usd, "cached": o.cached,
            "attempts": o.attempts,
        }  # fmt: skip
        for k in _RESULT_COLS:
            results[k].append(row[k])
        for scorer, value, passed, error in o.scores:
            srow = {
                "run_id": run_id, "version": c.version.label, "item_id": c.item.item_id,
                "repeat_idx": c.repeat, "scorer": scorer, "value": value, "passed": passed,
                "error": error,
            }  # fmt: skip
            for k in _SCORE_COLS:
                scores[k].append(srow[k])
    types = {
        "repeat_idx": pa.int32(), "latency_s": pa.float64(), "input_tokens": pa.int64(),
        "output_tokens": pa.int64(), "cost_usd": pa.float64(), "cached": pa.bool_(),
        "attempts": pa.int32(), "value": pa.float64(), "passed": pa.bool_(),
    }  # fmt: skip

    def arrow(cols: dict[str, list[Any]]) -> Any:
        return pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in cols.items()})

    res_tbl, score_tbl = arrow(results), arrow(scores)  # noqa: F841 - read by DuckDB by name
    res_cols = ", ".join(ident(c) for c in _RESULT_COLS)
    score_cols = ", ".join(ident(c) for c in _SCORE_COLS)
    run_cols = list(run_row)
    with ws.transaction() as con:
        con.execute(
            f"INSERT INTO offline_runs ({', '.join(ident(c) for c in run_cols)}) "
            f"VALUES ({', '.join('?' for _ in run_cols)})",
            list(run_row.values()),
        )
        con.register("_pab_offline_results", res_tbl)
        con.register("_pab_offline_scores", score_tbl)
        try:
            con.execute(
                f"INSERT INTO offline_results ({res_cols}) "
                f"SELECT {res_cols} FROM _pab_offline_results"
            )
            if score_tbl.num_rows:
                con.execute(
                    f"INSERT INTO offline_scores ({score_cols}) "
                    f"SELECT {score_cols} FROM _pab_offline_scores"
                )
        finally:
            con.unregister("_pab_offline_results")
            con.unregister("_pab_offline_scores")
        if pending_cache:
            _insert_cache(con, pending_cache)


def _insert_cache(con: Any, pending: dict[str, tuple[str, str]]) -> None:
    """Add responses to ``model_cache`` (bulk, through Arrow: executemany is slow in DuckDB)."""
    import pyarrow as pa

    tbl = pa.table(
        {
            "cache_key": pa.array(list(pending), pa.string()),
            "model_id": pa.array([m for m, _ in pending.values()], pa.string()),
            "response": pa.array([r for _, r in pending.values()], pa.string()),
        }
    )
    con.register("_pab_model_cache", tbl)
    try:
        con.execute(
            """
            INSERT OR IGNORE INTO model_cache (cache_key, model_id, response, created_at)
            SELECT cache_key, model_id, response, now() FROM _pab_model_cache
            """
        )
    finally:
        con.unregister("_pab_model_cache")


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
