"""plots/offline.py: the offline comparison figure, also behind OfflineComparison.plot()."""

from __future__ import annotations

import pandas as pd
import pytest

import promptab_nb as pab
from promptab_nb import plots

from ._plot_helpers import assert_themed, errorbars, has_zero_line, legend_text, save


def test_offline_comparison(comparison) -> None:
    fig = plots.offline_comparison(comparison)
    metrics = list(dict.fromkeys(r.metric for r in comparison.rows))
    assert len(fig.axes) == len(metrics)
    assert all(len(errorbars(ax)) == 1 and has_zero_line(ax) for ax in fig.axes)
    assert fig.axes[0].get_xlabel().startswith(f"{metrics[0]}: version − {comparison.baseline}")
    assert "95 % CI" in legend_text(fig)
    assert_themed(fig)
    save(fig, "offline_comparison")
    from_frame = plots.offline_comparison(comparison.to_pandas(), metrics=metrics[:2])
    assert len(from_frame.axes) == 2
    with pytest.raises(pab.InvalidArgumentError, match="columns"):
        plots.offline_comparison(pd.DataFrame({"metric": ["x"]}))


def test_offline_plot_method_delegates(comparison) -> None:
    fig = comparison.plot()
    assert_themed(fig)
    metrics = list(dict.fromkeys(r.metric for r in comparison.rows))
    assert len(fig.axes) == len(metrics)
    # versions take the palette after the baseline's colour, as treatments do in live plots
    colours = {c.lines[0].get_color() for ax in fig.axes for c in errorbars(ax)}
    assert colours == {plots.PALETTE[1]}
    assert fig.axes[0].get_xlabel().endswith("(pp)")
