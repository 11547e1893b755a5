"""Scorers: built-ins, custom functions, the LLM judge, and bad return values."""

from __future__ import annotations

import numpy as np
import pytest

from promptab_nb.errors import InvalidArgumentError
from promptab_nb.offline import Item
from promptab_nb.offline import scorers as s
from promptab_nb.offline.scorers import ScorerError, resolve

IT = Item("x", {"q": "capital of France?"}, "Paris")


def test_text_scorers() -> None:
    assert s.exact()("  paris\n", IT).passed is True
    assert s.exact(case_sensitive=True)("paris", IT).passed is False
    assert s.contains()("It is Paris.", IT) == s.Score(1.0, True)
    assert s.contains("london")("It is Paris.", IT).passed is False
    assert s.regex(r"\bPar\w+")("Paris", IT).passed is True
    with pytest.raises(InvalidArgumentError, match="not a valid regex"):
        s.regex("(")
    with pytest.raises(ScorerError, match="item 'n' has none"):
        s.exact()("x", Item("n", {}))


def test_json_scorers() -> None:
    assert s.json_valid()('```json\n{"a": 1}\n```', IT).passed is True
    assert s.json_valid()("{a: 1}", IT).passed is False
    item = Item("j", {}, {"city": "Paris", "n": 2})
    assert s.json_field_equals("city")('{"city": "paris"}', item).passed is True
    assert s.json_field_equals("n")('{"n": 3}', item).passed is False
    assert s.json_field_equals("a.b", expected=1)('{"a": {"b": 1}}', IT).passed is True
    assert s.json_field_equals("city")("not json", item).passed is False


@pytest.mark.parametrize(
    ("output", "expected"),
    [("Answer: 1.5e3", "1500"), ("x = 2.5E-4", "0.00025"), ("It is 6.02e+23.", "6.02e23"),
     ("The date was 2024-05-17", "17"), ("pages 10-12", "12"), ("It is -3", "-3"),
     ("so 3 - -2 = 5", "5"), ("(-7)", "-7")],
)  # fmt: skip
def test_numeric_close_reads_exponents_and_hyphens(output, expected) -> None:
    # "1.5e3" was read as 3 and "2.5E-4" as -4 (the exponent taken for the last number), and
    # a hyphen after a digit as a minus sign ("2024-05-17" ended in -17).
    assert s.numeric_close()(output, Item("t", {}, expected)).passed is True


def test_numeric_close() -> None:
    item = Item("n", {}, "1,250.5")
    assert s.numeric_close()("Step 1: 3 apples\nAnswer: $1,250.50", item).passed is True
    assert s.numeric_close(abs_tol=0.1)("1250.7", item).passed is False
    assert s.numeric_close(rel_tol=0.01)("1260", item).passed is True
    assert s.numeric_close()("no number", item).passed is False
    with pytest.raises(ScorerError, match="is not a number"):
        s.numeric_close()("1", Item("t", {}, "ten"))


def test_custom_scorers_and_bad_values() -> None:
    assert s.custom(lambda out: len(out) < 5)("abc", IT).passed is True
    sc = s.custom(lambda out, expected: 0.25, name="quarter")
    assert sc.name == "quarter" and sc("x", IT) == s.Score(0.25, None)

    def uses_item(out, expected, item):
        return item.item_id == "x"

    assert s.custom(uses_item)("", IT).passed is True and s.custom(uses_item).name == "uses_item"
    with pytest.raises(ScorerError, match=r"returned 1.7; a scorer returns"):
        s.custom(lambda out: 1.7, name="big")("x", IT)
    assert s.custom(lambda out: None)("x", IT) == s.Score(None, None)
    assert resolve("exact").name == "exact"
    with pytest.raises(InvalidArgumentError, match="unknown scorer"):
        resolve("exactly")


def test_llm_judge() -> None:
    prompts: list[str] = []

    def judge(prompt: str) -> str:
        prompts.append(prompt)
        return "Score: 7/10 because it is mostly right"

    sc = s.llm_judge(judge, "Correct and polite.")
    assert sc("Paris!", IT).value == pytest.approx(0.7)
    assert "Correct and polite." in prompts[0] and "Paris!" in prompts[0]
    assert "q: capital of France?" in prompts[0]
    assert s.llm_judge(lambda p: {"text": "FAIL"}, "r")("x", IT).value == 0.0
    assert s.llm_judge(lambda p: "score = 9", "r", kind="pass")("x", IT).passed is True
    with pytest.raises(ScorerError, match="no 'Score: N/10'"):
        s.llm_judge(lambda p: "dunno", "r")("x", IT)
    assert s.llm_judge(lambda p: "Score: 3/5", "r")("x", IT).value == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Score: 12/10, excellent", "outside 0..10"),  # was clipped to 1.0
        ("Score: 4/0", "outside 0..0"),  # was a ZeroDivisionError
        ("It would PASS the tone check but FAIL on facts", "both PASS and FAIL"),  # was PASS
    ],
)
def test_a_judge_reply_that_cannot_be_read_one_way_is_a_scorer_error(reply, reason) -> None:
    with pytest.raises(ScorerError, match=reason):
        s.llm_judge(lambda p: reply, "r")("x", IT)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (s.Score(55.0, None), r"value must be a finite number in \[0, 1\]"),
        (s.Score(-0.1, True), r"value must be a finite number in \[0, 1\]"),
        (s.Score(float("nan"), None), r"value must be a finite number in \[0, 1\]"),
        (s.Score(float("inf"), False), r"value must be a finite number in \[0, 1\]"),
        (s.Score(True, None), r"value must be a finite number in \[0, 1\]"),
        (s.Score(0.5, "yes"), "passed must be True, False or None"),
        (s.Score(1.0, False), "a value of 1 must pass and a value of 0 must fail"),
        (s.Score(0.0, True), "a value of 1 must pass and a value of 0 must fail"),
    ],
)
def test_score_returns_are_validated(raw: s.Score, reason: str) -> None:
    with pytest.raises(ScorerError, match=reason):
        s.custom(lambda out: raw, name="sc")("x", IT)


def test_valid_score_returns() -> None:
    def run(raw: object) -> s.Score:
        return s.custom(lambda out: raw)("x", IT)

    # A verdict without a value is pass/fail, the same as returning the bool.
    assert run(s.Score(None, True)) == s.Score(1.0, True) == run(True)
    assert run(s.Score(None, False)) == s.Score(0.0, False)
    assert run(s.Score(None, None)) == s.Score(None, None)
    assert run(s.Score(0.7, None)) == s.Score(0.7, None)
    # Between 0 and 1 the flag is the scorer's own threshold: either is allowed.
    assert run(s.Score(0.3, True)) == s.Score(0.3, True)
    assert run(s.Score(0.7, False)) == s.Score(0.7, False)
    assert run(s.Score(1, True)) == s.Score(1.0, True)
    assert run(s.Score(np.float64(0.25), np.bool_(False))) == s.Score(0.25, False)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        # Two scores: the first one was taken and the revised one ignored.
        ("Score: 3/10\nOn reflection, Score: 9/10", r"2 different scores \(0.3, 0.9\)"),
        # A bare score in (0, 1] was read on the 0–10 scale: "0.8" became 0.08, "1" 0.1.
        ("Score: 0.8", r"score 0.8 has no scale"),
        ("Score: 1 - it is perfect", r"score 1 has no scale"),
    ],
)
def test_a_judge_reply_whose_score_is_ambiguous_is_a_scorer_error(reply, reason) -> None:
    with pytest.raises(ScorerError, match=reason):
        s.llm_judge(lambda p: reply, "r")("x", IT)


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        # Markdown around the score made every reply an error.
        ("**Score:** 8/10\nThe answer is correct.", 0.8),
        ("**Score**: 8/10", 0.8),
        ("Score: **8/10**", 0.8),
        ("Score: 1 out of 10", 0.1),
        ("Score: 0.8/1", 0.8),
        ("Score: 0", 0.0),
        ("Score: 7. Final score: 7/10", 0.7),  # the same score twice is one score
    ],
)
def test_judge_scores_in_markdown_and_with_a_scale_are_read(reply, value) -> None:
    assert s.llm_judge(lambda p: reply, "r")("x", IT).value == pytest.approx(value)


def test_numeric_close_reads_the_unicode_minus_sign() -> None:
    # "−5" (U+2212, the minus sign of typeset math, which models and LaTeX-to-text produce) was
    # read as +5: a correct answer of -5 failed and a wrong +5 would pass.
    assert s.numeric_close()("The answer is −5", Item("t", {}, "-5")).passed is True
    assert s.numeric_close()("The answer is −5", Item("t", {}, "5")).passed is False
    assert s.numeric_close()("-5", Item("t", {}, "−5")).passed is True


@pytest.mark.parametrize("expected", ["nan", "inf", "-Infinity", "1e400"])
def test_numeric_close_expected_that_is_not_finite_is_a_scorer_error(expected) -> None:
    # float() reads "nan" and "inf" (and overflows "1e400" to inf): every output then silently
    # failed (|got − nan| <= tol is False), counted as a model's failure, not a data problem.
    with pytest.raises(ScorerError, match="not a finite number"):
        s.numeric_close()("5", Item("t", {}, expected))


def test_text_scorers_treat_canonically_equal_unicode_as_equal() -> None:
    # "Café" typed as e + combining acute (NFD, as macOS files and some tokenizers write it)
    # failed exact() and contains() against the precomposed "Café" (NFC): the same text.
    nfd, nfc = "Cafe\u0301", "Caf\u00e9"
    assert s.exact()(nfd, Item("u", {}, nfc)).passed is True
    assert s.exact()(nfc, Item("u", {}, nfd)).passed is True
    assert s.contains()(f"It is the {nfd}.", Item("u", {}, nfc)).passed is True


def test_contains_an_empty_text_is_refused_not_passed() -> None:
    # Every text contains "": contains("") and an expected answer of "" (or only spaces) passed
    # every output, an empty one included.
    with pytest.raises(InvalidArgumentError, match="empty"):
        s.contains("  ")
    with pytest.raises(ScorerError, match=r"expected answer of item 'e' is empty"):
        s.contains()("anything", Item("e", {}, " "))


@pytest.mark.parametrize(
    ("output", "expected", "passed"),
    [("The even numbers are 2,4,6", "6", True), ("1,2,3", "123", False), ("x = 1,5", "15", False),
     ("Total: 1,234,567", "1234567", True), ("1,234.5", "1234.5", True), ("12,34", "1234", False),
     ("₹1,00,000", "100000", True), ("12,34,567.5", "1234567.5", True), ("-1,000", "-1000", True)],
)  # fmt: skip
def test_numeric_close_reads_commas_as_thousands_only_in_groups_of_three(
    output, expected, passed
) -> None:
    # Any comma between digits was a thousands separator: "2,4,6" was read as 246 (a list's last
    # number is 6), and "1,5" (a decimal comma) as 15, passing an expected answer of 15.
    assert s.numeric_close()(output, Item("c", {}, expected)).passed is passed


def test_json_field_equals_compares_a_json_number_as_a_number() -> None:
    # A CSV's expected answers are text: {"total": 19.5} failed against "19.50" and {"n": 1.0}
    # against "1", though they are the same number.
    sc = s.json_field_equals("total")
    assert sc('{"total": 19.5}', Item("j", {}, "19.50")).passed is True
    assert sc('{"total": 1.0}', Item("j", {}, "1")).passed is True
    assert sc('{"total": 19.6}', Item("j", {}, "19.50")).passed is False
    assert sc('{"total": true}', Item("j", {}, "1")).passed is False  # a flag is not a number
    assert sc('{"total": "abc"}', Item("j", {}, "abc")).passed is True
