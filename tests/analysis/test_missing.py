"""Missing is not zero (analysis/_missing.py): the wording of a comparison withheld for values
the sums would read as 0, one text for analyze's neighbours (Mann–Whitney, over time)."""

from __future__ import annotations

import pytest

from promptab_nb.analysis import _missing
from promptab_nb.metrics import BUILTIN

COUNTS = [(100, 2), (100, 30)]


@pytest.mark.parametrize(
    ("cost", "said", "fix"),
    [
        ("source", "30.0% of an arm's generations are unpriced in the export (> 5%)",
         "; analyse with cost='recompute' to price them"),
        ("recompute", "30.0% of an arm's generations have no recomputed cost (> 5%)",
         ": see exp.cost_audit()"),
    ],
)  # fmt: skip
def test_too_many_names_the_missing_cost_of_the_cost_option(cost, said, fix) -> None:
    # too_many said "30.0% of an arm's events have no cost_usd" whatever the cost option (under
    # cost='recompute' the export's cost_usd is not read); its callers patched the text
    text = _missing.too_many(BUILTIN["cost"], COUNTS, cost=cost, consequence="not compared")
    assert text is not None and text.startswith(f"{said}: not compared;") and text.endswith(fix)
    assert "cost_usd" not in text
    bare = _missing.too_many(BUILTIN["cost"], COUNTS, cost=cost)
    assert bare is not None and bare.startswith(said) and ": not compared" not in bare


def test_too_many_of_other_sums_and_under_the_limit() -> None:
    tokens = _missing.too_many(BUILTIN["tokens_out"], COUNTS, consequence="not compared")
    assert tokens == "30.0% of an arm's events have no output_tokens (> 5%): not compared"
    assert _missing.too_many(BUILTIN["cost"], [(100, 5), (100, 0)]) is None
    assert _missing.too_many(BUILTIN["latency"], COUNTS) is None  # a mean leaves them out
