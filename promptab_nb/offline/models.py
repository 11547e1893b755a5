"""Models for offline runs: any ``(prompt) -> text | dict`` callable, a demo model, an OpenAI wrapper.

A model is a callable taking the rendered prompt (``str``) and returning either the answer text
or a dict ``{"text", "input_tokens", "output_tokens", "cost_usd"}`` (token and cost keys
optional; a ``latency_s`` key overrides the latency the runner measures). ``async def`` models
work too. Raise :class:`RetryableError` (or any exception carrying ``status_code`` 429 or 5xx)
for failures worth retrying; the runner backs off and tries again.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import math
import numbers
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ModelOutputError, RetryableError

if TYPE_CHECKING:
    from .dataset import Item

__all__ = [
    "DemoModel",
    "ModelOutputError",
    "ModelResponse",
    "RetryableError",
    "is_retryable",
    "model_id",
    "openai_compatible",
]


# Matched against every class an exception derives from, so subclasses count too: requests'
# ReadTimeout and ConnectionError, httpx's ReadTimeout (a TimeoutException) and ConnectError.
_RETRYABLE_NAMES = {
    "RateLimitError",
    "APITimeoutError",
    "APIConnectionError",
    "InternalServerError",
    "ServiceUnavailableError",
    "Timeout",
    "TimeoutError",
    "TimeoutException",
    "ConnectionError",
    "ConnectError",
}


def _status(exc: BaseException) -> int | None:
    for obj in (exc, getattr(exc, "response", None)):
        for attr in ("status_code", "status", "http_status"):
            value = getattr(obj, attr, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether a model error is transient: :class:`RetryableError`, HTTP 429/5xx, a timeout or a
    dropped connection (by class, including subclasses such as requests' ``ReadTimeout``)."""
    if isinstance(exc, RetryableError):
        return True
    status = _status(exc)
    if status is not None:
        return status == 429 or 500 <= status < 600
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    return any(cls.__name__ in _RETRYABLE_NAMES for cls in type(exc).__mro__)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (``retry_after`` or a ``Retry-After`` header), if any."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        if isinstance(headers, Mapping):
            value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ModelResponse:
    """A normalized model answer: text, token counts, cost in USD, reported latency in seconds."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
        }


def _opt_number(raw: Mapping[str, Any], key: str, kind: type) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    # numpy numbers are numbers.Real too (a token count from an array's len or sum).
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ModelOutputError(
            f"model returned {key} == {value!r} ({type(value).__name__}), expected a number"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ModelOutputError(f"model returned {key} == {value!r}, expected a finite number")
    if number < 0:
        raise ModelOutputError(f"model returned {key} == {value!r}, expected a number >= 0")
    if kind is int:
        if not number.is_integer():
            raise ModelOutputError(
                f"model returned {key} == {value!r}, expected a whole number of tokens"
            )
        return int(number)
    return number


def normalize_response(raw: Any) -> ModelResponse:
    """Turn a model's return value into a :class:`ModelResponse`.

    Raises
    ------
    ModelOutputError
        Anything but ``str`` or a mapping with a text ``text`` key.
    """
    if isinstance(raw, ModelResponse):
        return raw
    if isinstance(raw, str):
        return ModelResponse(raw)
    if isinstance(raw, Mapping):
        text = raw.get("text")
        if not isinstance(text, str):
            raise ModelOutputError(
                f"model returned a dict whose 'text' is {type(text).__name__} "
                f"(keys: {', '.join(map(str, raw))}); expected {{'text': str, ...}}"
            )
        return ModelResponse(
            text,
            _opt_number(raw, "input_tokens", int),
            _opt_number(raw, "output_tokens", int),
            _opt_number(raw, "cost_usd", float),
            _opt_number(raw, "latency_s", float),
        )
    raise ModelOutputError(
        f"model returned {type(raw).__name__} {_clip(repr(raw))}; expected str or a dict "
        "{'text': str, 'input_tokens': int, 'output_tokens': int, 'cost_usd': float}"
    )


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def is_async(model: Callable[..., Any]) -> bool:
    """Whether calling ``model`` returns a coroutine (``async def`` function or ``__call__``)."""
    return inspect.iscoroutinefunction(model) or inspect.iscoroutinefunction(
        getattr(model, "__call__", None)  # noqa: B004 - an instance's async __call__
    )


def model_id(model: Callable[..., Any]) -> str:
    """The id the cache keys on: ``model.model_id`` if set, else the callable's qualified name.

    A qualified name does not tell apart lambdas (all ``<lambda>``), closures made by one
    factory (functions that capture values), or ``functools.partial`` objects, so those also
    carry what makes them differ: a lambda or closure a fingerprint of its code, defaults and
    captured values, a partial its wrapped function's id and its arguments. Values other than plain data are named by their
    type (``<OpenAI>``), so the id stays the same in the next session.
    """
    mid = getattr(model, "model_id", None)
    if isinstance(mid, str) and mid:
        return mid
    if isinstance(model, functools.partial):
        args = [_stable(a) for a in model.args]
        args += [f"{k}={_stable(v)}" for k, v in sorted(model.keywords.items())]
        return f"{model_id(model.func)}({', '.join(args)})"
    target = model if inspect.isfunction(model) or inspect.ismethod(model) else type(model)
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__qualname__", None) or type(model).__name__
    base = f"{module}.{name}" if module else name
    if inspect.isfunction(model) and (model.__name__ == "<lambda>" or model.__closure__):
        return f"{base}#{_fingerprint(model)}"
    return base


def _stable(value: Any) -> str:
    """``repr`` of plain data (text, numbers, containers of them); other objects by type, so
    the text does not hold a memory address that changes from one session to the next."""
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return repr(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(_stable(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_stable(k)}: {_stable(v)}" for k, v in value.items()) + "}"
    if inspect.isfunction(value) or isinstance(value, functools.partial):
        return model_id(value)
    return f"<{type(value).__qualname__}>"


def _code_text(code: Any) -> str:
    consts = [_code_text(c) if inspect.iscode(c) else _stable(c) for c in code.co_consts]
    return f"{code.co_code.hex()}|{','.join(consts)}|{','.join(code.co_names)}"


def _fingerprint(fn: Any) -> str:
    """12 hex digits of sha256 over a function's code, defaults and captured values."""
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(_stable(cell.cell_contents))
        except ValueError:  # an empty cell
            cells.append("<empty>")
    text = "\x1f".join([
        _code_text(fn.__code__), _stable(fn.__defaults__), _stable(fn.__kwdefaults__), *cells,
    ])  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def model_params(model: Callable[..., Any]) -> dict[str, Any]:
    """Generation parameters a model declares (``model.params``), part of the cache key."""
    params = getattr(model, "params", None)
    return dict(params) if isinstance(params, Mapping) else {}


# The runner tells the demo model which item and repeat it is answering (a real model would know
# the answer itself; the demo needs the expected value, and a seed per repeat to vary like
# temperature sampling). Context variables follow each worker thread and asyncio task.
_CURRENT: contextvars.ContextVar[tuple[Item, int] | None] = contextvars.ContextVar(
    "promptab_offline_cell", default=None
)


def _unit(*parts: Any) -> float:
    """A deterministic uniform number in [0, 1) from the parts (sha256)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _normal(*parts: Any) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(min(max(_unit(*parts), 1e-12), 1 - 1e-12))


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class DemoModel:
    """A deterministic stand-in for an LLM, so demos and tests need no network.

    Inside a run, the demo model knows the item it answers (the runner tells it) and is right
    with a probability set by the item's difficulty, the prompt's wording and ``quality``:
    prompts asking to think "step by step" are more accurate but longer and slower; "concise"
    prompts are cheaper. Each repeat draws fresh noise (like sampling at temperature > 0), so
    repeats of one version sometimes disagree. Everything is a pure function of ``seed``, the
    prompt, the item and the repeat index. Called outside a run it answers ``answers[prompt]``
    when given, else a fixed reply.

    Parameters
    ----------
    seed
        Changes every draw; the same seed gives the same answers.
    quality
        Baseline accuracy on the logit scale (0 → about 50 % on an average item, 1.5 → about
        75 %).
    latency_s
        Seconds to really sleep per call (default 0: no sleeping). The *simulated* latency,
        about 0.3 s + 12 ms per output token, is reported either way unless it sleeps.
    price_in_per_mtok, price_out_per_mtok
        USD per million input / output tokens used for ``cost_usd`` (cached responses are
        repriced from their token counts, so a price change needs no new calls).
    noise
        SD of the per-call noise on the logit scale; larger → more repeat-to-repeat flips.
    choices
        Wrong answers to pick from for non-numeric expected values.
    answers
        Replies for direct calls outside a run, keyed by prompt.

    Examples
    --------
    >>> DemoModel(seed=1)("hello")["text"]
    'I am a demo model; run me through ws.run_offline to answer dataset items.'
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        quality: float = 1.0,
        latency_s: float = 0.0,
        price_in_per_mtok: float = 0.15,
        price_out_per_mtok: float = 0.60,
        noise: float = 0.8,
        choices: Sequence[str] | None = None,
        answers: Mapping[str, str] | None = None,
    ) -> None:
        self.seed = seed
        self.quality = float(quality)
        self.latency_s = float(latency_s)
        self.price_in = float(price_in_per_mtok)
        self.price_out = float(price_out_per_mtok)
        self.noise = float(noise)
        self.choices = tuple(choices or ())
        self.answers = dict(answers or {})
        # Everything that changes a reply in a run is in the id the cache keys on.
        picks = f", choices={list(self.choices)!r}" if self.choices else ""
        self.model_id = f"demo(seed={seed}, quality={self.quality:g}, noise={self.noise:g}{picks})"
        self.params: dict[str, Any] = {}

    def skill(self, prompt: str) -> float:
        """Logit-scale accuracy boost from the prompt's wording (public for demos)."""
        low = prompt.lower()
        s = self.quality
        if "step by step" in low:
            s += 0.9
        if "example" in low:
            s += 0.3
        if "concise" in low or "only the" in low:
            s -= 0.1
        if len(prompt) < 80:
            s -= 0.3
        return s

    def __call__(self, prompt: str) -> dict[str, Any]:
        cell = _CURRENT.get()
        verbose = "step by step" in prompt.lower()
        if cell is None:
            text = self.answers.get(
                prompt, "I am a demo model; run me through ws.run_offline to answer dataset items."
            )
            correct = None
            key: tuple[Any, ...] = (self.seed, prompt)
        else:
            item, repeat = cell
            key = (self.seed, prompt, repeat)
            # The item's difficulty is shared by all prompts: that is what makes items pair.
            difficulty = 1.6 * _normal(self.seed, "difficulty", item.item_id)
            logit = self.skill(prompt) - difficulty + self.noise * _normal(*key, "noise")
            correct = logit > 0
            answer = item.expected if correct else self._wrong(item.expected, key)
            text = self._format(answer, verbose, key)
        input_tokens = max(1, round(len(prompt) / 4))
        output_tokens = max(1, round(len(text) / 4))
        simulated = 0.3 + 0.012 * output_tokens + 0.1 * _unit(*key, "latency")
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        out: dict[str, Any] = {
            "text": text,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": self._cost(input_tokens, output_tokens),
        }
        if self.latency_s <= 0:
            out["latency_s"] = simulated
        return out

    def _cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """USD for these token counts at this model's prices (also applied to cached replies)."""
        if input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * self.price_in + output_tokens * self.price_out) / 1e6

    def _wrong(self, expected: Any, key: tuple[Any, ...]) -> str:
        text = "" if expected is None else str(expected).strip()
        if _NUMBER.fullmatch(text):
            value = float(text)
            delta = 1 + int(_unit(*key, "delta") * 9)
            sign = -1 if _unit(*key, "sign") < 0.5 else 1
            wrong = value + sign * delta if value.is_integer() else value * (1 + sign * 0.1)
            return str(int(wrong)) if float(wrong).is_integer() else f"{wrong:.2f}"
        others = [c for c in self.choices if c != text]
        if others:
            return others[int(_unit(*key, "choice") * len(others))]
        return "I'm not sure."

    def _format(self, answer: Any, verbose: bool, key: tuple[Any, ...]) -> str:
        answer = "" if answer is None else str(answer)
        if not verbose:
            return answer
        steps = 2 + int(_unit(*key, "steps") * 4)
        lines = [f"Step {i + 1}: work through the next part of the problem." for i in range(steps)]
        return "\n".join([*lines, f"Answer: {answer}"])

    def __repr__(self) -> str:
        return f"DemoModel(seed={self.seed}, quality={self.quality:g})"


class _OpenAIModel:
    """Callable wrapper around an OpenAI-style client (see :func:`openai_compatible`)."""

    def __init__(
        self,
        client: Any,
        model: str,
        system: str | None,
        price_in: float | None,
        price_out: float | None,
        params: dict[str, Any],
    ) -> None:
        self.client = client
        self.model = model
        self.system = system
        self.price_in = price_in
        self.price_out = price_out
        self.params = {**params, **({"system": system} if system else {})}
        self.model_id = f"openai-compatible:{model}"

    def _messages(self, prompt: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return [*messages, {"role": "user", "content": prompt}]

    def _kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if k != "system"}

    def _parse(self, response: Any) -> dict[str, Any]:
        try:
            text = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as err:
            raise ModelOutputError(
                f"response from {self.model} has no choices[0].message.content ({err})"
            ) from err
        usage = getattr(response, "usage", None)
        tin = getattr(usage, "prompt_tokens", None)
        tout = getattr(usage, "completion_tokens", None)
        cost = self._cost(tin, tout)
        return {"text": text or "", "input_tokens": tin, "output_tokens": tout, "cost_usd": cost}

    def _cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """USD for these token counts at the prices given (also applied to cached replies)."""
        # A count the server did not report is unknown, not 0: so is the cost then.
        if self.price_in is None or self.price_out is None:
            return None
        if input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * self.price_in + output_tokens * self.price_out) / 1e6

    def _wrap(self, err: Exception) -> Exception:
        if is_retryable(err) and not isinstance(err, RetryableError):
            status = _status(err)
            wrapped = RetryableError(
                f"{type(err).__name__} from {self.model}"
                + (f" (HTTP {status})" if status else "")
                + f": {err}",
                status_code=status,
                retry_after=retry_after(err),
            )
            wrapped.__cause__ = err
            return wrapped
        return err

    def __call__(self, prompt: str) -> dict[str, Any]:
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=self._messages(prompt), **self._kwargs()
            )
        except Exception as err:
            raise self._wrap(err) from err
        return self._parse(response)

    def __repr__(self) -> str:
        return f"openai_compatible({self.model!r}, {self._kwargs()})"


class _AsyncOpenAIModel(_OpenAIModel):
    async def __call__(self, prompt: str) -> dict[str, Any]:  # type: ignore[override]
        try:
            response = await self.client.chat.completions.create(
                model=self.model, messages=self._messages(prompt), **self._kwargs()
            )
        except Exception as err:
            raise self._wrap(err) from err
        return self._parse(response)


def cached_cost(
    model: Callable[..., Any],
    input_tokens: int | None,
    output_tokens: int | None,
    cost_usd: float | None,
) -> float | None:
    """Cost in USD of a cached response for this run's ``model``.

    Prices are not part of the cache key, so a price change does not call the model again: the
    models that price tokens themselves (:class:`DemoModel`, :func:`openai_compatible`)
    recompute the cost from the cached token counts at their current prices. For any other
    callable the cost it returned (``cost_usd``) is kept.
    """
    if isinstance(model, DemoModel | _OpenAIModel):
        return model._cost(input_tokens, output_tokens)
    return cost_usd


def openai_compatible(
    client: Any,
    model: str,
    *,
    system: str | None = None,
    price_in_per_mtok: float | None = None,
    price_out_per_mtok: float | None = None,
    **params: Any,
) -> Callable[[str], Any]:
    """Wrap an OpenAI-style client as a model for :func:`~promptab_nb.offline.runner.run_offline`.

    Calls ``client.chat.completions.create(model=model, messages=[...], **params)`` and reads
    ``choices[0].message.content`` and ``usage.prompt_tokens / completion_tokens``. Works with
    any OpenAI-compatible server (vLLM, Ollama, Together, Azure …) and with async clients.

    Parameters
    ----------
    client
        ``openai.OpenAI()`` / ``openai.AsyncOpenAI()`` or anything shaped like them.
    model
        Model name sent to the server; the cache keys on it and on ``params``.
    system
        Optional system message put before the prompt.
    price_in_per_mtok, price_out_per_mtok
        USD per million input / output tokens; when given, ``cost_usd`` is computed (for cached
        responses too, from their token counts: changing prices does not call the model again).
    **params
        Generation parameters (``temperature=0.7``, ``max_tokens=256`` …).

    Returns
    -------
    callable
        ``model(prompt) -> dict``; errors with HTTP status 429 or 5xx (and timeouts) are
        re-raised as :class:`RetryableError`.
    """
    create = client.chat.completions.create
    cls = _AsyncOpenAIModel if inspect.iscoroutinefunction(create) else _OpenAIModel
    return cls(client, model, system, price_in_per_mtok, price_out_per_mtok, dict(params))
