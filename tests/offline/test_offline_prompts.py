"""Prompt registry: immutable versions, rendering, errors naming item and variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptab_nb.errors import DataError, InvalidArgumentError, NotFoundError
from promptab_nb.offline import PromptVersion


def test_register_is_idempotent_and_versions_new_text(ws) -> None:
    v1 = ws.prompts.register("math", "Solve {{q}}")
    assert (v1.name, v1.version) == ("math", 1)
    assert ws.prompts.register("math", "Solve {{q}}") == v1
    v2 = ws.prompts.register("math", "Solve {{q}} step by step")
    assert v2.version == 2 and v2.label == "math@v2"
    assert ws.prompts.register("other", "Solve {{q}}").version == 1
    assert ws.prompts.get("math") == v2
    assert ws.prompts.get("math", 1) == v1
    frame = ws.prompts.list()
    assert list(frame["version"]) == [1, 2, 1] and frame["sha256"].str.len().eq(64).all()
    with pytest.raises(NotFoundError, match="registered: math, other"):
        ws.prompts.get("nope")
    with pytest.raises(NotFoundError, match="versions: 1, 2"):
        ws.prompts.get("math", 7)
    with pytest.raises(InvalidArgumentError):
        ws.prompts.register("math", "  ")


def test_register_from_path(ws, tmp_path: Path) -> None:
    p = tmp_path / "p.txt"
    p.write_text("Hi {{name}}")
    assert ws.prompts.register("greet", p).template == "Hi {{name}}"


def test_render_and_variables() -> None:
    v = PromptVersion("p", 1, 'Q: {{ q }} / {{a}} again {{q}} {"json": {x}}')
    assert v.variables == ("q", "a")
    assert v.render({"q": 1, "a": None}) == 'Q: 1 /  again 1 {"json": {x}}'
    with pytest.raises(DataError, match=r"p@v1 needs variable 'a', missing from item 'it-7'"):
        v.render({"q": 1}, item_id="it-7")
    with pytest.raises(InvalidArgumentError):
        PromptVersion("p", 1, 3)  # type: ignore[arg-type]
    assert "p@v1" in repr(v)


def test_placeholders_in_any_script_are_filled() -> None:
    # {{frage_ü}} and {{问题}} were not placeholders: the model got the braces as written.
    v = PromptVersion("de", 1, "Frage: {{frage_ü}} / {{ 问题 }} / {{_x1}}")
    assert v.variables == ("frage_ü", "问题", "_x1")
    assert v.render({"frage_ü": "2+2", "问题": "几", "_x1": 1}) == "Frage: 2+2 / 几 / 1"
    with pytest.raises(DataError, match="needs variable 'frage_ü'"):
        v.render({"frage": "2+2"})
    # Braces that are not about a variable are still left as written (JSON examples).
    j = PromptVersion("j", 1, 'Reply as {"a": {"b": 1}} or {{"a": 1}} for {{q}}')
    assert j.render({"q": "x"}) == 'Reply as {"a": {"b": 1}} or {{"a": 1}} for x'


def test_a_variable_that_cannot_be_a_placeholder_is_named_before_any_call(ws) -> None:
    # {{user-name}} for a column "user-name" was left in the prompt as written.
    from _offline_fakes import CountingModel

    import promptab_nb as pab

    ds = pab.offline.Dataset.from_records([{"user-name": "Bob", "q": "hi", "expected": "x"}])
    model = CountingModel()
    with pytest.raises(DataError, match=r"prompt t@v1 has \{\{user-name\}\}, which is not a "
                                        r"placeholder.*'user-name'.*e\.g\. 'user_name'"):  # fmt: skip
        ws.run_offline(ds, [("t", "Hello {{user-name}}: {{q}}")], model, progress=False)
    assert model.total == 0 and ws.prompts.list().empty
