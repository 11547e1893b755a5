"""Scorers: functions of (output, item) returning pass/fail or a score in [0, 1], with a name.

A scorer's result is stored per (version, item, repeat) in ``offline_scores``: ``passed``
(pass/fail scorers), ``value`` (1.0/0.0 for pass/fail, the score otherwise) or ``error`` when the
scorer raised or returned something invalid; ``None`` from a scorer means "not applicable" and is
stored as a missing value.

A :class:`Score` return is checked like any other: ``value`` is a finite number in [0, 1] or
None, ``passed`` is True, False or None. ``Score(None, passed)`` is a pass/fail verdict (value
1.0 or 0.0, as returning the bool); ``Score(v, None)`` is a score; with both, a value of 1 must
pass and a value of 0 must fail (values in between may carry either flag: the scorer's own
threshold). ``Score(None, None)`` is "not applicable". Anything else is a scorer error, listed
with its reason in ``run.errors()``.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidArgumentError, ScorerError
from .dataset import Item

__all__ = [
    "Score",
    "Scorer",
    "contains",
    "custom",
    "exact",
    "json_field_equals",
    "json_valid",
    "llm_judge",
    "numeric_close",
    "regex",
]

Kind = Literal["pass", "score"]


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one output: ``value`` in [0, 1] and/or ``passed``.

    Both None means not applicable; see the module docstring for how the two must agree.
    """

    value: float | None
    passed: bool | None


@dataclass(frozen=True)
class Scorer:
    """A named scoring function ``fn(output, item) -> bool | float | None``.

    ``kind`` is ``"pass"`` for pass/fail scorers (compared with McNemar / pass-rate tests) and
    ``"score"`` for scores in [0, 1] (paired t / Wilcoxon).
    """

    name: str
    fn: Callable[[str, Item], Any]
    kind: Kind = "pass"

    def __call__(self, output: str, item: Item) -> Score:
        """Score ``output`` for ``item``.

        Raises
        ------
        ScorerError
            The function returned something other than a bool, a number in [0, 1], None or a
            valid :class:`Score` (value in [0, 1] or None, passed a bool or None, and agreeing).
        """
        raw = self.fn(output, item)
        return _to_score(raw, self.name)

    def __repr__(self) -> str:
        return f"Scorer({self.name!r}, {self.kind})"


def _plain(raw: Any) -> Any:
    if hasattr(raw, "item") and not isinstance(raw, str):  # numpy scalar
        return raw.item()
    return raw


def _is_unit(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def _checked_score(raw: Score, name: str) -> Score:
    # A Score is validated like a bare return value, so nothing invalid reaches the tables.
    value, passed = _plain(raw.value), _plain(raw.passed)
    if passed is not None and not isinstance(passed, bool):
        raise ScorerError(
            f"scorer {name!r} returned {raw!r}: passed must be True, False or None, "
            f"got {type(passed).__name__}"
        )
    if value is None:
        # A verdict without a value is pass/fail, the same as returning the bool.
        return Score(None, None) if passed is None else Score(1.0 if passed else 0.0, passed)
    if not _is_unit(value):
        raise ScorerError(
            f"scorer {name!r} returned {raw!r}: value must be a finite number in [0, 1] or "
            "None (not applicable); rescale the score to [0, 1]"
        )
    if passed is not None and value in (0, 1) and passed != (value == 1):
        raise ScorerError(
            f"scorer {name!r} returned {raw!r}: a value of 1 must pass and a value of 0 must "
            "fail; fix the value or the passed flag"
        )
    return Score(float(value), passed)


def _to_score(raw: Any, name: str) -> Score:
    if raw is None:
        return Score(None, None)
    if isinstance(raw, Score):
        return _checked_score(raw, name)
    raw = _plain(raw)
    if isinstance(raw, bool):
        return Score(1.0 if raw else 0.0, raw)
    if _is_unit(raw):
        return Score(float(raw), None)
    raise ScorerError(
        f"scorer {name!r} returned {raw!r}; a scorer returns True/False, a number in [0, 1], "
        "a Score(value, passed) or None (not applicable)"
    )


def _need_expected(item: Item, name: str) -> Any:
    if item.expected is None:
        raise ScorerError(
            f"scorer {name!r} needs an expected answer, and item {item.item_id!r} has none"
        )
    return item.expected


def _norm(text: Any, case_sensitive: bool) -> str:
    # NFC: "e" + combining acute and the precomposed "é" are the same text.
    out = " ".join(unicodedata.normalize("NFC", str(text)).split())
    return out if case_sensitive else out.casefold()


def exact(*, case_sensitive: bool = False, name: str = "exact") -> Scorer:
    """Pass when the output equals the expected answer (whitespace collapsed; case-insensitive).

    Examples
    --------
    >>> exact()("  Paris ", Item("1", {}, "paris")).passed
    True
    """

    def fn(output: str, item: Item) -> bool:
        expected = _need_expected(item, name)
        return _norm(output, case_sensitive) == _norm(expected, case_sensitive)

    return Scorer(name, fn, "pass")


def contains(
    text: str | None = None, *, case_sensitive: bool = False, name: str = "contains"
) -> Scorer:
    """Pass when the output contains ``text`` (the expected answer when ``text`` is None).

    Raises
    ------
    InvalidArgumentError
        ``text`` is empty or only spaces (every output contains it); an empty expected answer
        is a scorer error in its cell.
    """
    if text is not None and not _norm(text, case_sensitive):
        raise InvalidArgumentError(
            f"text == {text!r} is empty once spaces are collapsed: every output contains it"
        )

    def fn(output: str, item: Item) -> bool:
        needle = _norm(text if text is not None else _need_expected(item, name), case_sensitive)
        if not needle:
            raise ScorerError(
                f"scorer {name!r}: the expected answer of item {item.item_id!r} is empty, "
                "which every output contains"
            )
        return needle in _norm(output, case_sensitive)

    return Scorer(name, fn, "pass")


def regex(pattern: str, *, flags: int = 0, name: str | None = None) -> Scorer:
    """Pass when ``pattern`` matches somewhere in the output (:func:`re.search`).

    Raises
    ------
    InvalidArgumentError
        ``pattern`` is not a valid regular expression.
    """
    try:
        compiled = re.compile(pattern, flags)
    except re.error as err:
        raise InvalidArgumentError(f"pattern == {pattern!r} is not a valid regex: {err}") from err

    def fn(output: str, item: Item) -> bool:
        return compiled.search(output) is not None

    return Scorer(name or f"regex[{pattern}]", fn, "pass")


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def _parse_json(output: str) -> Any:
    # Models often wrap JSON in a Markdown code fence; accept that, nothing looser.
    match = _FENCE.match(output)
    return json.loads(match.group(1) if match else output)


def json_valid(*, name: str = "json_valid") -> Scorer:
    """Pass when the output parses as JSON (a surrounding Markdown ```json fence is allowed)."""

    def fn(output: str, item: Item) -> bool:
        try:
            _parse_json(output)
        except (json.JSONDecodeError, ValueError):
            return False
        return True

    return Scorer(name, fn, "pass")


_MISSING = object()


def _get_path(data: Any, field: str) -> Any:
    for part in field.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _same_number(got: Any, want: Any) -> bool:
    """Whether JSON number ``got`` equals ``want`` read as a number (a CSV's "19.50" is 19.5)."""
    if isinstance(got, bool) or not isinstance(got, int | float):
        return False
    if isinstance(want, bool):
        return False
    try:
        return float(got) == float(str(want).strip())
    except ValueError:
        return False


def json_field_equals(field: str, *, expected: Any = _MISSING, name: str | None = None) -> Scorer:
    """Pass when the output is JSON whose ``field`` (dotted path) equals the expected value.

    The expected value is ``expected`` if given, else ``item.expected[field]`` when the item's
    expected answer is a dict, else ``item.expected``. Invalid JSON or a missing field fails.
    """
    label = name or f"json_field_equals[{field}]"

    def fn(output: str, item: Item) -> bool:
        if expected is not _MISSING:
            want = expected
        else:
            want = _need_expected(item, label)
            if isinstance(want, Mapping):
                want = _get_path(want, field)
        try:
            got = _get_path(_parse_json(output), field)
        except (json.JSONDecodeError, ValueError):
            return False
        if got is _MISSING:
            return False
        return got == want or _norm(got, False) == _norm(want, False) or _same_number(got, want)

    return Scorer(label, fn, "pass")


# A number: an optional sign (a minus right after a letter or digit is a hyphen, as in
# "2024-05-17" or "pages 10-12", not a sign), an optional "$", digits with thousands separators
# in groups of three ("1,234,567") or the Indian grouping ("12,34,567"), so "2,4,6" is a list
# and "1,5" a decimal comma, not 246 and 15, then decimals and an optional exponent ("1.5e3",
# "2.5E-4").
_NUM = re.compile(
    r"(?:(?<![\w.])-)?\$?"
    r"(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d{1,2}(?:,\d{2})+,\d{3}(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:[eE][-+]?\d+)?"
)


def _last_number(text: str) -> float | None:
    found = _NUM.findall(text.replace("\u2212", "-"))  # U+2212 is the typeset minus sign
    if not found:
        return None
    return float(found[-1].replace("$", "").replace(",", ""))


def numeric_close(
    abs_tol: float = 1e-6, rel_tol: float = 0.0, *, name: str = "numeric_close"
) -> Scorer:
    """Pass when the last number in the output is within tolerance of the expected number.

    ``|got − expected| <= max(abs_tol, rel_tol · |expected|)``; thousands separators and a
    leading ``$`` are ignored, exponents are read (``1.5e3``), the minus sign ``−`` (U+2212) is
    one, and a hyphen right after a letter or digit is not (``2024-05-17`` ends in 17). An
    output with no number fails; an expected answer that is not a finite number is a scorer
    error.
    """
    if abs_tol < 0 or rel_tol < 0:
        raise InvalidArgumentError(
            f"abs_tol == {abs_tol!r}, rel_tol == {rel_tol!r}; tolerances must be >= 0"
        )

    def fn(output: str, item: Item) -> bool:
        raw = _need_expected(item, name)
        text = str(raw).replace(",", "").replace("$", "").replace("\u2212", "-")
        try:
            want = float(text)
        except ValueError as err:
            raise ScorerError(
                f"scorer {name!r}: expected answer {raw!r} of item {item.item_id!r} is not a number"
            ) from err
        if not math.isfinite(want):
            # float() reads "nan" and "inf": every output would fail, silently.
            raise ScorerError(
                f"scorer {name!r}: expected answer {raw!r} of item {item.item_id!r} is not a "
                "finite number"
            )
        got = _last_number(output)
        return got is not None and abs(got - want) <= max(abs_tol, rel_tol * abs(want))

    return Scorer(name, fn, "pass")


def custom(fn: Callable[..., Any], *, name: str | None = None, kind: Kind | None = None) -> Scorer:
    """A scorer from your function.

    ``fn`` takes ``(output)``, ``(output, expected)`` or ``(output, expected, item)`` and
    returns True/False, a number in [0, 1], a :class:`Score` or None (not applicable).

    Parameters
    ----------
    fn
        The scoring function.
    name
        Defaults to the function's name.
    kind
        ``"pass"`` or ``"score"``; by default ``"pass"`` until the function returns a
        non-boolean number (decided after the run, from the stored values).

    Raises
    ------
    InvalidArgumentError
        ``fn`` is not callable or takes no positional argument.
    """
    if not callable(fn):
        raise InvalidArgumentError(f"fn == {fn!r}, must be callable")
    label = name or getattr(fn, "__name__", None) or "custom"
    if label == "<lambda>":
        label = "custom"
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        varargs = any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())
        n_args = 3 if varargs else len(params)
    except (TypeError, ValueError):
        n_args = 2
    if n_args == 0:
        raise InvalidArgumentError(f"scorer function {label!r} must take at least the output")

    def call(output: str, item: Item) -> Any:
        if n_args == 1:
            return fn(output)
        if n_args == 2:
            return fn(output, item.expected)
        return fn(output, item.expected, item)

    return Scorer(label, call, kind or "pass")


# "Score: 7/10", "score = 7", "Score: 7 out of 10"; Markdown emphasis around any part of it is
# allowed ("**Score:** 7/10").
_MARK = r"[\s*_`]*"
_JUDGE_SCORE = re.compile(
    rf"score{_MARK}[:=]{_MARK}(\d+(?:\.\d+)?){_MARK}(?:(?:/|\bout\s+of\b){_MARK}(\d+(?:\.\d+)?))?",
    re.IGNORECASE,
)
_JUDGE_PASS = re.compile(r"\b(PASS|FAIL)\b")


def _judge_value(match: re.Match[str], reply: str) -> float:
    """The score of one ``Score: N/M`` in a judge reply, as a fraction of its scale."""
    n = float(match.group(1))
    if match.group(2) is None:
        if 0 < n <= 1:
            # On the 0–10 scale asked for, or a fraction of 1? Counted, never guessed.
            raise ScorerError(
                f"judge reply's score {match.group(1)} has no scale (0–1 or the 0–10 asked "
                f"for?): {reply[:80]!r}; ask for 'Score: N/10'"
            )
        top = 10.0
    else:
        top = float(match.group(2))
    if top == 0 or not 0 <= n <= top:
        # out of its scale: a misread reply, not a score to clip into [0, 1]
        raise ScorerError(f"judge reply's score is outside 0..{top:g}: {reply[:80]!r}")
    return n / top


_JUDGE_TEMPLATE = """You are grading an AI assistant's answer.

Rubric:
{rubric}

Input:
{inputs}

Reference answer:
{expected}

Answer to grade:
{output}

Reply with one line "Score: N/10" (10 = fully meets the rubric), then one sentence of reasons."""


def llm_judge(
    judge: Callable[[str], Any], rubric: str, *, name: str = "judge", kind: Kind = "score"
) -> Scorer:
    """Score outputs with an LLM judge (any model callable) following ``rubric``.

    The judge is asked for ``Score: N/10``; the score is N/10 in [0, 1] (``N/M`` and
    ``N out of M`` are read on their own scale, Markdown emphasis around them is allowed). A
    reply of ``PASS`` / ``FAIL`` is read as 1 / 0. With ``kind="pass"`` a score >= 0.5
    passes. A reply with none of these forms, a score outside its scale, two different scores,
    a bare score in (0, 1] (0–1 or 0–10?), or both PASS and FAIL records a scorer error in the
    cell (counted, never guessed).

    Parameters
    ----------
    judge
        ``judge(prompt) -> str | {"text": ...}``, e.g. :func:`openai_compatible` of a strong
        model (synchronous).
    rubric
        What a good answer does.
    """
    from .models import normalize_response

    if not callable(judge):
        raise InvalidArgumentError(f"judge == {judge!r}, must be a model callable")

    def fn(output: str, item: Item) -> Any:
        prompt = _JUDGE_TEMPLATE.format(
            rubric=rubric.strip(),
            inputs="\n".join(f"{k}: {v}" for k, v in item.variables.items()) or "(none)",
            expected="(none)" if item.expected is None else item.expected,
            output=output,
        )
        reply = normalize_response(judge(prompt)).text
        values = sorted({_judge_value(m, reply) for m in _JUDGE_SCORE.finditer(reply)})
        if len(values) > 1:
            shown = ", ".join(f"{v:g}" for v in values)
            raise ScorerError(f"judge reply has {len(values)} different scores ({shown}): "
                              f"{reply[:80]!r}")  # fmt: skip
        if values:
            value = values[0]
        else:
            verdicts = set(_JUDGE_PASS.findall(reply))
            if len(verdicts) != 1:
                what = "both PASS and FAIL" if verdicts else "no 'Score: N/10' or PASS/FAIL"
                raise ScorerError(f"judge reply has {what}: {reply[:80]!r}")
            value = 1.0 if verdicts == {"PASS"} else 0.0
        return value >= 0.5 if kind == "pass" else value

    return Scorer(name, fn, kind)


_BY_NAME: dict[str, Callable[[], Scorer]] = {
    "exact": exact,
    "contains": contains,
    "json_valid": json_valid,
    "numeric_close": numeric_close,
}


def resolve(scorer: Scorer | str | Callable[..., Any]) -> Scorer:
    """A :class:`Scorer` from a scorer, a built-in name or a plain function (see :func:`custom`).

    Raises
    ------
    InvalidArgumentError
        An unknown name or a non-callable.
    """
    if isinstance(scorer, Scorer):
        return scorer
    if isinstance(scorer, str):
        if scorer not in _BY_NAME:
            raise InvalidArgumentError(
                f"unknown scorer {scorer!r}; built-ins by name: {', '.join(_BY_NAME)} "
                "(others take arguments: regex(...), json_field_equals(...), llm_judge(...))"
            )
        return _BY_NAME[scorer]()
    if callable(scorer):
        return custom(scorer)
    raise InvalidArgumentError(f"scorer {scorer!r} is not a Scorer, a name or a function")
