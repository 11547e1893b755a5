"""Cells and their execution: bounded concurrency (threads, or one asyncio loop for ``async``
models), retries with exponential backoff for retryable failures, cache lookups and scoring."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import inspect
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import models as _models
from .dataset import Item
from .prompts import PromptVersion
from .scorers import Scorer

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


def _cache_key(
    mid: str, prompt: str, params: dict[str, Any], repeat: int, cell: list[str] | None = None
) -> str:
    """Key of one cached response: model id, rendered prompt, params and repeat index, plus
    ``cell`` (prompt name, template sha256, item id) when several cells of a run render the same
    prompt at that repeat: each is its own draw (temperature > 0), which one key would merge."""
    parts: list[Any] = [mid, prompt, params, repeat]
    if cell is not None:
        parts.append(cell)
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


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
        # Prices are not in the cache key: cost follows this run's prices, not the cached ones.
        out.cost_usd = _models.cached_cost(
            self.model, out.input_tokens, out.output_tokens, c.get("cost_usd")
        )

    def score(self, out: _Outcome) -> _Outcome:
        if out.output is None:
            return out
        cell = out.cell
        for scorer in self.scorers:
            try:
                s = scorer(out.output, cell.item)
                out.scores.append((scorer.name, s.value, s.passed, None))
            except Exception as err:  # a scorer bug must not end the run
                # Where it happened is added when the run is stored, with the registered label.
                out.scores.append((scorer.name, None, None, _describe(err)))
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
