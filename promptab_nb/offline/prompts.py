"""Prompt templates with ``{{var}}`` placeholders, registered as immutable numbered versions."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _html
from ..errors import DataError, InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from ..workspace import Workspace

__all__ = ["PromptRegistry", "PromptVersion"]

# ``{{ name }}``, the name letters (any script), digits and _, not starting with a digit;
# anything else in braces (JSON examples, single braces) is left as written.
_PLACEHOLDER = re.compile(r"\{\{\s*([^\W\d]\w*)\s*\}\}")
# Any ``{{ … }}``: one naming a variable that cannot be a placeholder ({{user-name}}) is an error.
_BRACED = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def _sha(template: str) -> str:
    return hashlib.sha256(template.encode()).hexdigest()


@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a named prompt template.

    Attributes
    ----------
    name
        The prompt's name (e.g. ``"support-bot"``).
    version
        1, 2, … in order of registration; the same text always has the same version.
    template
        Text with ``{{var}}`` placeholders.

    Examples
    --------
    >>> v = PromptVersion("math", 1, "Solve: {{question}}")
    >>> v.variables, v.render({"question": "2 + 2"})
    (('question',), 'Solve: 2 + 2')
    """

    name: str
    version: int
    template: str
    sha256: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.template, str):
            raise InvalidArgumentError(
                f"template of prompt {self.name!r} is a {type(self.template).__name__}, "
                "expected text"
            )
        object.__setattr__(self, "sha256", _sha(self.template))

    @property
    def label(self) -> str:
        """``name@vN``: how results tables name this version."""
        return f"{self.name}@v{self.version}"

    @property
    def variables(self) -> tuple[str, ...]:
        """Placeholder names in order of first appearance."""
        return tuple(dict.fromkeys(_PLACEHOLDER.findall(self.template)))

    def missing(self, variables: Mapping[str, Any]) -> list[str]:
        """Placeholders that ``variables`` does not provide."""
        return [v for v in self.variables if v not in variables]

    def render(self, variables: Mapping[str, Any], *, item_id: str | None = None) -> str:
        """Fill the placeholders; ``None`` renders as empty text.

        Raises
        ------
        DataError
            A placeholder has no value, or the template has ``{{ x }}`` for a variable ``x``
            whose name cannot be a placeholder (``user-name``); the message names the variable
            (and the item).
        """
        for inner in _BRACED.findall(self.template):
            if inner in variables and not _PLACEHOLDER.fullmatch("{{" + inner + "}}"):
                fixed = re.sub(r"\W+", "_", inner).strip("_") or "var"
                fixed = fixed if not fixed[0].isdigit() else "_" + fixed
                raise DataError(
                    f"prompt {self.label} has {{{{{inner}}}}}, which is not a placeholder (a "
                    "name is letters, digits and _, not starting with a digit), so the model "
                    f"would get it as written. Rename the variable {inner!r} in the data, e.g. "
                    f"{fixed!r}, and use {{{{{fixed}}}}}."
                )
        missing = self.missing(variables)
        if missing:
            where = f"item {item_id!r}" if item_id is not None else "the variables given"
            raise DataError(
                f"prompt {self.label} needs variable {missing[0]!r}, missing from {where} "
                f"(it has: {', '.join(variables) or 'none'}). Add the variable to the item "
                "or change the template."
            )

        def fill(match: re.Match[str]) -> str:
            value = variables[match.group(1)]
            return "" if value is None else str(value)

        return _PLACEHOLDER.sub(fill, self.template)

    def __repr__(self) -> str:
        first = self.template.strip().splitlines()[0] if self.template.strip() else ""
        if len(first) > 60:
            first = first[:59] + "…"
        return f"PromptVersion({self.label}, {len(self.template)} chars: {first!r})"

    def _repr_html_(self) -> str:
        return str(
            _html.el(
                "div",
                _html.el("strong", self.label),
                _html.el("pre", self.template, style="white-space: pre-wrap"),
                class_="pab",
            )
        )


class _RollBack(Exception):
    """Raised inside a transaction to undo it (see :meth:`PromptRegistry._preview`)."""


_INSERT = """
    INSERT INTO prompts (prompt_name, version, template, sha256, created_at)
    VALUES ($name, $version, $template, $sha, now())
"""


class PromptRegistry:
    """Immutable prompt versions stored in the workspace's ``prompts`` table.

    Reach it as ``ws.prompts``. Registering a text that is already a version of that prompt
    returns that version; a new text becomes the next version. Versions are never changed.

    Examples
    --------
    >>> import promptab_nb as pab
    >>> ws = pab.Workspace()
    >>> v1 = ws.prompts.register("math", "Solve: {{question}}")
    >>> ws.prompts.register("math", "Solve: {{question}}") == v1
    True
    >>> ws.prompts.register("math", "Think step by step. {{question}}").version
    2
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def register(self, name: str, template: str | Path) -> PromptVersion:
        """Register ``template`` (text, or a :class:`pathlib.Path` to read) under ``name``.

        Returns
        -------
        PromptVersion
            The existing version with the same text, or a new one (version = latest + 1).

        Raises
        ------
        InvalidArgumentError
            Empty name or template, or a template that is not text.
        DataError
            ``template`` is a path that cannot be read.
        """
        name, template = self._prepare(name, template)
        with self._ws.transaction() as con:
            return self._register(con, name, template)

    @staticmethod
    def _register(con: Any, name: str, template: str) -> PromptVersion:
        """Register a checked (name, template) inside the caller's open transaction ``con``.

        The one place versions are numbered: an offline run registers its versions with this
        in the transaction that stores its results, so a failure rolls back both."""
        sha = _sha(template)
        row = con.execute(
            "SELECT version FROM prompts WHERE prompt_name = ? AND sha256 = ?", [name, sha]
        ).fetchone()
        if row is not None:
            return PromptVersion(name, int(row[0]), template)
        # An aggregate without GROUP BY always returns exactly one row.
        (latest,) = con.execute(
            "SELECT coalesce(max(version), 0) FROM prompts WHERE prompt_name = ?", [name]
        ).fetchall()[0]
        version = int(latest) + 1
        con.execute(_INSERT, {"name": name, "version": version, "template": template, "sha": sha})
        return PromptVersion(name, version, template)

    @staticmethod
    def _prepare(name: Any, template: Any) -> tuple[str, str]:
        """Check ``name`` and ``template`` (reading a path) without registering anything."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"name == {name!r}, must be a non-empty string")
        if isinstance(template, Path):
            try:
                template = template.read_text(encoding="utf-8")
            except OSError as err:
                raise DataError(f"cannot read prompt template file {template}: {err}") from err
        if not isinstance(template, str):
            raise InvalidArgumentError(
                f"template == {template!r}, must be text (str) or a pathlib.Path"
            )
        if not template.strip():
            raise InvalidArgumentError(f"template of prompt {name!r} is empty")
        return name, template

    def _preview(self, texts: list[tuple[str, str]]) -> list[PromptVersion]:
        """The versions ``register`` would give these checked (name, template) pairs now, in
        order, without keeping them: they are registered in a transaction that is rolled back,
        so the numbering stays in :meth:`_register` alone. Lets a run name its versions in
        messages and results before it registers them for real."""
        out: list[PromptVersion] = []
        with contextlib.suppress(_RollBack), self._ws.transaction() as con:
            out = [self._register(con, name, template) for name, template in texts]
            raise _RollBack
        return out

    def get(self, name: str, version: int | None = None) -> PromptVersion:
        """A registered version (the latest when ``version`` is None).

        Raises
        ------
        NotFoundError
            No such prompt or version; the message lists what exists.
        """
        rows = self._ws.engine.fetch(
            "SELECT version, template FROM prompts WHERE prompt_name = ? ORDER BY version", [name]
        )
        if not rows:
            names = [
                r[0] for r in self._ws.engine.fetch("SELECT DISTINCT prompt_name FROM prompts")
            ]
            raise NotFoundError(
                f"no prompt named {name!r}; registered: {', '.join(sorted(names)) or 'none'}. "
                "Register it with ws.prompts.register(name, template)."
            )
        if version is None:
            v, text = rows[-1]
            return PromptVersion(name, int(v), text)
        for v, text in rows:
            if int(v) == version:
                return PromptVersion(name, int(v), text)
        raise NotFoundError(
            f"prompt {name!r} has no version {version!r}; versions: "
            f"{', '.join(str(r[0]) for r in rows)}"
        )

    def list(self) -> pd.DataFrame:
        """Every registered version: name, version, sha256, size and creation time."""
        return self._ws.sql(
            """
            SELECT prompt_name, version, sha256, length(template) AS chars, created_at, template
            FROM prompts
            ORDER BY prompt_name, version
            """
        )

    def __repr__(self) -> str:
        rows = self._ws.engine.fetch("SELECT count(DISTINCT prompt_name), count(*) FROM prompts")
        return f"PromptRegistry({rows[0][0]} prompts, {rows[0][1]} versions)"
