"""Fake models and tiny datasets for the offline tests (no network, no sleeping)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from promptab_nb.offline import Dataset, RetryableError


class CountingModel:
    """Answers ``answers[(prefix, item)]`` for prompts ``"<prefix> <item>"``; counts calls."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None, default: Any = "yes"):
        self.answers = answers or {}
        self.default = default
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.model_id = "counting"

    def __call__(self, prompt: str) -> Any:
        with self.lock:
            self.calls[prompt] += 1
        prefix, item = prompt.split(" ", 1)
        value = self.answers.get((prefix, item), self.default)
        if isinstance(value, BaseException):
            raise value
        return value

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class FlakyModel:
    """Raises a 429 ``fails`` times per prompt, then answers "yes"."""

    def __init__(self, fails: int = 2, exc: type | None = None) -> None:
        self.fails = fails
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.exc = exc
        self.model_id = "flaky"

    def __call__(self, prompt: str) -> str:
        with self.lock:
            self.seen[prompt] += 1
            n = self.seen[prompt]
        if n <= self.fails:
            if self.exc is not None:
                raise self.exc()
            raise RetryableError("rate limited", status_code=429)
        return "yes"


class AlternatingModel:
    """For items in ``flaky`` the k-th call of a prompt answers "yes" on even k, "no" on odd k:
    between any two repeats those items flip exactly once. Other items always answer "yes"."""

    def __init__(self, flaky: set[str]) -> None:
        self.flaky = flaky
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.model_id = "alternating"

    def __call__(self, prompt: str) -> str:
        _, item = prompt.split(" ", 1)
        with self.lock:
            k = self.seen[prompt]
            self.seen[prompt] += 1
        if item in self.flaky:
            return "yes" if k % 2 == 0 else "no"
        return "yes"


def ids(n: int) -> list[str]:
    return [f"i{k:03d}" for k in range(n)]


def id_dataset(n: int, expected: str = "yes") -> Dataset:
    """Items whose only variable is their id, so prompts are ``"<prefix> <id>"``."""
    return Dataset.from_records([{"item_id": i, "id": i, "expected": expected} for i in ids(n)])
