"""plots/distribution.py: per-arm histogram / ECDF of per-unit values it is given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

import promptab_nb as pab
from promptab_nb import plots

from ._plot_helpers import assert_themed, legend_text, save


def test_distribution(exp) -> None:
    fig = plots.distribution(exp.unit_values("latency"), "latency", variants=exp.variants, log=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "latency per unit (s) — log scale"
    assert len(ax.patches) == 3  # one step histogram per arm
    assert "control (v1)" in legend_text(fig)
    assert [p.get_edgecolor() for p in ax.patches] == [to_rgba(c) for c in plots.PALETTE[:3]]
    assert_themed(fig)
    save(fig, "distribution_hist")
    values = exp.unit_values("cost")
    ecdf = plots.distribution(values, "cost", kind="ecdf", log=True)
    ax = ecdf.axes[0]
    assert len(ax.get_lines()) == 3
    assert ax.get_ylabel() == "share of units ≤ value"
    assert "USD" in ax.get_xlabel()
    save(ecdf, "distribution_ecdf")
    with pytest.raises(pab.InvalidArgumentError, match="'variant' and 'value'"):
        plots.distribution(pd.DataFrame({"x": [1]}), "cost")
    with pytest.raises(pab.InvalidArgumentError, match="kind"):
        plots.distribution(values, "cost", kind="violin")  # type: ignore[arg-type]


def test_distribution_takes_values_not_the_experiment(exp) -> None:
    with pytest.raises(pab.InvalidArgumentError, match=r"exp\.unit_values\('latency'\)"):
        plots.distribution(exp, "latency")


def test_distribution_orders_arms_by_variants() -> None:
    values = pd.DataFrame(
        {"unit": list("abcdef"), "variant": ["test"] * 3 + ["control"] * 3,
         "value": [1.0, 2.0, 3.0, 2.0, 3.0, 4.0]}
    )  # fmt: skip
    fig = plots.distribution(values, "latency", variants={"control": "v1", "test": "v2"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "control (v1), n = 3",
        "test (v2), n = 3",
    ]
    # without variants, arms keep the order they appear in and carry no version
    plain = plots.distribution(values, "latency", kind="ecdf")
    labels = [t.get_text() for t in plain.axes[0].get_legend().get_texts()]
    assert labels == ["test, n = 3", "control, n = 3"]


@pytest.mark.parametrize("kind", ["hist", "ecdf"])
def test_distribution_on_a_log_axis_with_no_positive_value_says_so_without_a_warning(kind) -> None:
    # Every value ≤ 0 on a log axis left nothing to draw, and the legend call raised
    # matplotlib's "No artists with labels found to put in legend" (leaked to the CLI's stderr).
    import warnings

    frame = pd.DataFrame({"variant": ["a", "a", "b"], "value": [-1.0, 0.0, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.distribution(frame, "latency", kind=kind, log=True)
    ax = fig.axes[0]
    assert ax.get_legend() is None
    assert "3 values ≤ 0 not shown" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["no values"]


def test_units_without_a_value_are_counted_in_the_title() -> None:
    # unit_values gives a unit whose every generation is unpriced no cost (NaN): the plot left
    # such units out without a word, so the arm looked fully measured
    frame = pd.DataFrame({"variant": ["a", "a", "a", "b"], "value": [0.1, np.nan, np.nan, 0.2]})
    ax = plots.distribution(frame, "cost").axes[0]
    assert "2 units without a value not shown" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a, n = 1", "b, n = 1"]
