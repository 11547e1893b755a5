"""plots/_theme.py: one palette and theme, our figure type, and no global state on import."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import pytest
from matplotlib.figure import Figure

from promptab_nb import plots
from promptab_nb.plots import _theme


def test_palette_is_okabe_ito_control_first() -> None:
    assert plots.PALETTE[:5] == ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00")
    assert plots.colour(0) == plots.PALETTE[0]
    assert plots.colour(len(plots.PALETTE)) == plots.PALETTE[0]  # cycles
    assert plots.marker(0) != plots.marker(1)


def test_theme_is_local_and_figures_render_png() -> None:
    before = dict(matplotlib.rcParams)
    with plots.theme():
        assert matplotlib.rcParams["font.size"] == plots.THEME["font.size"]
        fig = _theme.new_figure((3, 2))
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1])
    assert dict(matplotlib.rcParams) == before
    assert isinstance(fig, plots.PabFigure) and isinstance(fig, Figure)
    assert not ax.spines["top"].get_visible()
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG") and png == plots.to_png(fig)
    assert not hasattr(Figure(), "_repr_png_")  # a user's own figure is left alone


def test_units_and_labels() -> None:
    assert _theme._scale("fraction") == (100.0, "%") and _theme._scale("s") == (1.0, "s")
    assert _theme._diff_unit("%") == (100.0, "pp") and _theme._diff_unit("USD") == (1.0, "USD")
    assert _theme._with_unit("latency", "s") == "latency (s)"
    assert _theme._with_unit("latency (s)", "s") == "latency (s)"
    assert _theme._level_text(0.9) == "90 % CI"
    assert _theme._arm_legend_label("test", {"test": "v2"}, 1200) == "test (v2), n = 1,200"
    assert _theme._arm_legend_label("x", {}, 3) == "x, n = 3"
    assert _theme._missing(None) and _theme._missing(float("nan")) and not _theme._missing(0.0)


# Run in a fresh interpreter: in this one the package is already imported.
_NO_GLOBAL_STATE = """
import matplotlib
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure

shell = InteractiveShell.instance()
png = shell.display_formatter.formatters["image/png"]
printers = dict(png.type_printers)
deferred = dict(png.deferred_printers)
rc = dict(matplotlib.rcParams)

from promptab_nb import plots

assert dict(matplotlib.rcParams) == rc, "importing plots changed rcParams"
assert png.type_printers == printers and png.deferred_printers == deferred, "formatter registered"
assert not any(isinstance(t, type) and issubclass(t, Figure) for t in png.type_printers)
fig = plots.power_curve([500, 1000, 2000], [0.35, 0.6, 0.88])
assert dict(matplotlib.rcParams) == rc, "drawing changed rcParams"
assert png(fig).startswith(b"\\x89PNG"), "our figure does not display"
assert png(Figure()) is None, "a user's figure was given our PNG hook"
"""


def test_importing_plots_changes_no_global_state() -> None:
    pytest.importorskip("IPython")
    subprocess.run([sys.executable, "-c", _NO_GLOBAL_STATE], check=True)


def test_importing_the_package_loads_no_matplotlib() -> None:
    code = (
        "import sys, promptab_nb as pab; pab.Workspace;"
        "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_kept() -> None:
    import promptab_nb as pab
    from promptab_nb.plots import cumulative, forest  # noqa: F401  (results.py imports these)

    for name in ("to_png", "forest", "cumulative", "means", "distribution", "power_curve",
                 "offline_comparison", "PALETTE", "colour", "marker"):  # fmt: skip
        assert getattr(pab.plots, name) is getattr(plots, name)
