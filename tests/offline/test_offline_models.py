"""Models: the deterministic demo model, response normalization, the OpenAI-style wrapper."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from promptab_nb.offline import DemoModel, Item, ModelOutputError, RetryableError
from promptab_nb.offline import models as m


def _answer(model: DemoModel, prompt: str, item: Item, repeat: int = 0) -> dict:
    token = m._CURRENT.set((item, repeat))
    try:
        return model(prompt)
    finally:
        m._CURRENT.reset(token)


def test_demo_model_is_deterministic_and_prompt_sensitive() -> None:
    items = [Item(f"i{k}", {}, str(k)) for k in range(400)]
    model = DemoModel(seed=3)
    short = "Q {}"
    careful = "Please think step by step about this problem and show your work: Q {}"

    def accuracy(template: str) -> float:
        hits = [_answer(model, template.format(i.item_id), i)["text"].endswith(i.expected)
                for i in items]  # fmt: skip
        return sum(hits) / len(hits)

    assert accuracy(careful) > accuracy(short) + 0.1
    a = _answer(model, "Q i1", items[1])
    assert a == _answer(DemoModel(seed=3), "Q i1", items[1])
    assert a["input_tokens"] >= 1 and a["cost_usd"] > 0 and 0.3 <= a["latency_s"] < 1
    verbose = _answer(model, careful.format("i1"), items[1])
    assert verbose["output_tokens"] > a["output_tokens"] and "Answer:" in verbose["text"]
    # Repeats draw fresh noise: some items differ between repeat 0 and 1.
    flips = sum(_answer(model, f"Q {i.item_id}", i, 0)["text"]
                != _answer(model, f"Q {i.item_id}", i, 1)["text"] for i in items)  # fmt: skip
    assert 0 < flips < len(items) / 2
    assert "demo model" in model("hello")["text"]


def test_normalize_response() -> None:
    assert m.normalize_response("hi").text == "hi"
    r = m.normalize_response({"text": "x", "input_tokens": 3, "cost_usd": 0.1})
    assert (r.input_tokens, r.output_tokens, r.cost_usd) == (3, None, 0.1)
    with pytest.raises(ModelOutputError, match="model returned int 42"):
        m.normalize_response(42)
    with pytest.raises(ModelOutputError, match="'text' is NoneType"):
        m.normalize_response({"answer": "x"})
    with pytest.raises(ModelOutputError, match="input_tokens"):
        m.normalize_response({"text": "x", "input_tokens": "many"})


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status


class FakeClient:
    """Shaped like ``openai.OpenAI()``: ``client.chat.completions.create(...)``."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.kwargs: list[dict] = []
        self.fail = fail
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs):
        self.kwargs.append(kwargs)
        if self.fail is not None:
            raise self.fail
        return SimpleNamespace(
            choices=[SimpleNamespace(message=SimpleNamespace(content="42"))],
            usage=SimpleNamespace(prompt_tokens=10, completion_tokens=2),
        )


def test_openai_compatible_calls_and_parses() -> None:
    client = FakeClient()
    model = m.openai_compatible(client, "gpt-x", system="Be brief.", temperature=0.2,
                                price_in_per_mtok=1.0, price_out_per_mtok=2.0)  # fmt: skip
    out = model("What is 6 x 7?")
    assert out == {"text": "42", "input_tokens": 10, "output_tokens": 2, "cost_usd": 14e-6}
    sent = client.kwargs[0]
    assert sent["model"] == "gpt-x" and sent["temperature"] == 0.2
    assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "What is 6 x 7?"}]  # fmt: skip
    assert model.model_id == "openai-compatible:gpt-x"
    assert m.model_params(model) == {"temperature": 0.2, "system": "Be brief."}


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (503, True), (500, True),
                                                   (400, False), (401, False)])  # fmt: skip
def test_openai_errors_marked_retryable(status: int, retryable: bool) -> None:
    model = m.openai_compatible(FakeClient(fail=_HTTPError(status)), "gpt-x")
    with pytest.raises(Exception) as info:
        model("hi")
    assert isinstance(info.value, RetryableError) is retryable
    assert m.is_retryable(info.value) is retryable
    if retryable:
        assert info.value.status_code == status


def test_openai_async_client() -> None:
    class AsyncClient(FakeClient):
        async def create(self, **kwargs):  # type: ignore[override]
            return FakeClient.create(self, **kwargs)

    model = m.openai_compatible(AsyncClient(), "gpt-x")
    assert m.is_async(model)
    assert asyncio.run(model("hi"))["text"] == "42"


def test_is_retryable_and_model_id() -> None:
    assert m.is_retryable(TimeoutError())
    assert not m.is_retryable(ValueError())
    err = RetryableError("slow down", status_code=429, retry_after=1.5)
    assert m.retry_after(err) == 1.5

    def my_model(prompt: str) -> str:
        return prompt

    assert m.model_id(my_model).endswith("my_model")
    assert m.model_id(DemoModel(seed=2)).startswith("demo(seed=2")


def _ask(prompt: str, answer: str, client: object = None) -> str:
    return answer


def _factory(answer: str):
    def call(prompt: str) -> str:
        return answer

    return call


def test_lambdas_partials_and_closures_get_their_own_model_id(ws) -> None:
    # Every lambda was "<module>.<lambda>" and every partial "functools.partial": a second model
    # silently got the first one's cached answers.
    import functools

    from _offline_fakes import id_dataset

    yes, no = (lambda p: "yes"), (lambda p: "no")
    assert m.model_id(yes) != m.model_id(no)
    assert m.model_id(yes) == m.model_id(lambda p: "yes")  # the same code: the cache is reused
    assert "<lambda>" in m.model_id(yes)
    p_yes, p_no = functools.partial(_ask, answer="yes"), functools.partial(_ask, answer="no")
    assert m.model_id(p_yes) != m.model_id(p_no)
    assert m.model_id(p_yes) == m.model_id(functools.partial(_ask, answer="yes"))
    assert "_ask" in m.model_id(p_yes) and "answer='yes'" in m.model_id(p_yes)
    # An object argument is named by its type, so the id stays stable across sessions.
    client = SimpleNamespace()
    assert m.model_id(functools.partial(_ask, client=client)).endswith("(client=<SimpleNamespace>)")
    assert m.model_id(_factory("yes")) != m.model_id(_factory("no"))
    assert m.model_id(_factory("yes")) == m.model_id(_factory("yes"))
    assert m.model_id(_ask) == f"{__name__}._ask"  # a named function keeps its id

    versions = [("t", "A {{id}}"), ("t", "B {{id}}")]
    for first, second in ((yes, no), (p_yes, p_no), (_factory("yes"), _factory("no"))):
        ws.run_offline(id_dataset(3), versions, first, repeats=1, progress=False)
        run = ws.run_offline(id_dataset(3), versions, second, repeats=1, progress=False)
        assert run.cache_hits == 0 and set(run.results()["output"]) == {"no"}


def test_timeouts_and_connection_errors_are_retried_whatever_their_class() -> None:
    # requests' ReadTimeout (what requests.post(..., timeout=30) raises) was not retried though
    # its base class Timeout was: only the exception's own class name was looked at.
    class TimeoutException(Exception):  # httpx's base of ReadTimeout, ConnectTimeout …
        pass

    class ReadTimeout(TimeoutException):
        pass

    assert m.is_retryable(ReadTimeout("read timed out"))
    assert m.is_retryable(ConnectionResetError("reset by peer"))
    assert not m.is_retryable(ValueError("bad prompt"))
    requests = pytest.importorskip("requests")
    for exc in (requests.exceptions.ReadTimeout, requests.exceptions.ConnectTimeout,
                requests.exceptions.ConnectionError, requests.exceptions.Timeout):  # fmt: skip
        assert m.is_retryable(exc("x")), exc
    assert not m.is_retryable(requests.exceptions.InvalidURL("x"))


def test_normalize_response_reads_numpy_numbers_and_refuses_impossible_ones() -> None:
    # numpy numbers (a token count from an array's len or sum) were refused as "expected a
    # number"; a negative cost or token count was taken in and summed into the run's cost, and a
    # token count of 2.7 was silently cut to 2.
    import numpy as np

    r = m.normalize_response(
        {"text": "x", "output_tokens": np.int64(5), "cost_usd": np.float32(0.5)}
    )
    assert (r.output_tokens, r.cost_usd) == (5, 0.5)
    assert type(r.output_tokens) is int and type(r.cost_usd) is float
    for key, bad in (("cost_usd", -0.001), ("output_tokens", -3), ("latency_s", -1.0)):
        with pytest.raises(ModelOutputError, match=rf"{key} == -.*>= 0"):
            m.normalize_response({"text": "x", key: bad})
    with pytest.raises(ModelOutputError, match=r"output_tokens == 2.7.*whole number"):
        m.normalize_response({"text": "x", "output_tokens": 2.7})
    assert m.normalize_response({"text": "x", "input_tokens": 3.0}).input_tokens == 3


def test_openai_cost_is_missing_when_the_output_tokens_are() -> None:
    # A server reporting prompt_tokens but no completion_tokens was charged for the input only,
    # as if the model had written nothing: a cost too low, not a missing one.
    client = FakeClient()

    def create(**kwargs):
        return SimpleNamespace(
            choices=[SimpleNamespace(message=SimpleNamespace(content="42"))],
            usage=SimpleNamespace(prompt_tokens=10, completion_tokens=None),
        )

    client.chat = SimpleNamespace(completions=SimpleNamespace(create=create))
    model = m.openai_compatible(client, "gpt-x", price_in_per_mtok=1.0, price_out_per_mtok=4.0)
    out = model("hi")
    assert out["input_tokens"] == 10 and out["output_tokens"] is None and out["cost_usd"] is None
