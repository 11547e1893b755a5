"""Every number shown to a person goes through _format: units, signs, missing values, p-values,
the control label and the terminal table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from promptab_nb._format import arm_label, is_missing, level_pct, num, pval, text_table


@pytest.mark.parametrize(
    ("value", "unit", "signed", "text"),
    [
        (0.0132, "USD", False, "$0.0132"),
        (1234.5, "USD", False, "$1,234.50"),
        (-0.0014, "USD", True, "−$0.00140"),
        (1.84, "s", False, "1.84 s"),
        (0.0421, "s", False, "42.1 ms"),
        (0.032, "%", True, "+3.2 %"),
        (0.00005, "%", False, "0.0050 %"),
        (1e-7, "%", False, "1.0e-05 %"),
        (0.002, "pp", True, "+0.20 pp"),
        (1530, "tokens", False, "1,530 tokens"),
        (0.0, "", True, "0"),
        (12.345, "", False, "12.3"),
        (None, "USD", False, "–"),
        (math.nan, "%", True, "–"),
        (math.inf, "", True, "+∞"),
        (-math.inf, "s", False, "−∞"),
        (3.95e-17, "", False, "3.95e-17"),  # not 0.0000000000000000395
        (-1.2e-7, "USD", True, "−$1.20e-07"),
        (2e-5, "USD", False, "$0.0000200"),  # a cheap call's cost stays a decimal
    ],
)
def test_num(value: float | None, unit: str, signed: bool, text: str) -> None:
    assert num(value, unit, signed=signed) == text


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0123, "p = 0.012"),
        (0.0004, "p < 0.001"),
        (0.999, "p = 1.000"),
        (None, "p –"),
        (math.nan, "p –"),
    ],  # fmt: skip
)
def test_pval(p: float | None, text: str) -> None:
    assert pval(p) == text


@pytest.mark.parametrize(
    ("p", "alpha", "text"),
    [
        (0.0499, None, "p = 0.0499"),  # was "p = 0.050" beside a significant verdict
        (0.04996, None, "p = 0.04996"),
        (0.0504, None, "p = 0.050"),  # not significant, and 0.050 is not below 0.05
        (0.0995, None, "p = 0.0995"),
        (0.00999, None, "p = 0.00999"),
        (0.0199, 0.02, "p = 0.0199"),
        (0.0199, None, "p = 0.020"),
    ],
)
def test_pval_never_rounds_across_alpha(p: float, alpha: float | None, text: str) -> None:
    assert pval(p, alpha) == text


@pytest.mark.parametrize(
    "x",
    [
        None,
        math.nan,
        np.nan,
        np.float32("nan"),
        pd.NaT,
        pd.NA,
    ],
)
def test_is_missing(x: object) -> None:
    assert is_missing(x)


@pytest.mark.parametrize("x", [0, 0.0, "", "nan", False, np.int64(3), pd.Timestamp(2026, 1, 1)])
def test_is_not_missing(x: object) -> None:
    assert not is_missing(x)


def test_arm_label() -> None:
    assert arm_label("v3", "v3") == "v3 (control)"
    assert arm_label("control", "control") == "control"
    assert arm_label("test", "control") == "test"


def test_text_table_aligns_and_rules() -> None:
    out = text_table(["metric", "variant", "n"], [["cost", "test", "1,234"], ["latency", "a", 5]])
    assert out.splitlines() == [
        "metric   variant      n",
        "-------  -------  -----",
        "cost     test     1,234",
        "latency  a            5",
    ]
    right = text_table(["aa", "b"], [["x", "yy"]], left=0).splitlines()
    assert right == ["aa   b", "--  --", " x  yy"]


@pytest.mark.parametrize(
    ("level", "text"),
    [(0.95, "95%"), (0.9, "90%"), (1 - 0.025, "97.5%"), (1 - 0.001, "99.9%"), (0.8, "80%")],
)
def test_level_pct_keeps_the_decimals_it_needs(level: float, text: str) -> None:
    # alpha = 0.001 labelled its intervals "100% CI", alpha = 0.025 "98% CI"
    assert level_pct(level) == text
    assert level_pct(level, spaced=True) == text.replace("%", " %")


@pytest.mark.parametrize("missing", [np.float32("nan"), np.float16("nan"), pd.NA, pd.NaT])
@pytest.mark.parametrize("unit", ["USD", "%", "pp", "s", "tokens", ""])
def test_every_missing_value_is_a_dash(missing: object, unit: str) -> None:
    # A float32 NaN (polars/Arrow float32 columns) raised "cannot convert float NaN to integer"
    # for USD, s and plain numbers and printed "nan %" for a share; pd.NA raised TypeError;
    # pval printed "p = nan" and raised on pd.NA.
    assert num(missing, unit) == "–"  # type: ignore[arg-type]
    assert pval(missing) == "p –"  # type: ignore[arg-type]
