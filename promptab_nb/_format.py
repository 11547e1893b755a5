"""One place that turns numbers into text with their unit: ``$0.0132``, ``1.84 s``, ``+3.2 %``."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _sig(x: float, digits: int = 3) -> str:
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if mag <= -6:  # a millionth or less: 3.95e-17, not seventeen zeros
        return f"{x:.{digits - 1}e}"
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def num(value: float | None, unit: str = "", *, signed: bool = False) -> str:
    """Format ``value`` in ``unit`` ("USD", "s", "%", "pp", "tokens" or "").

    Percentages are given as fractions (0.032 → ``3.2 %``); "pp" formats a difference of
    proportions in percentage points. ``None``/NaN gives an en dash.
    """
    if value is None or is_missing(value):  # (NaN of any float type, pd.NA, NaT)
        return "–"
    if math.isinf(value):
        return ("+" if value > 0 and signed else "") + ("∞" if value > 0 else "−∞")
    sign = "+" if signed and value > 0 else ("−" if value < 0 else "")
    a = abs(value)
    if unit == "USD":
        body = f"${a:,.2f}" if a >= 100 else f"${_sig(a, 3)}"
    elif unit == "%":
        pct = a * 100
        if pct == 0 or pct >= 1:
            body = f"{pct:,.1f} %"
        elif pct >= 0.001:
            body = f"{_sig(pct, 2)} %"
        else:  # keep tiny shares readable instead of printing dozens of zeros
            body = f"{pct:.1e} %"
    elif unit == "pp":
        body = f"{a * 100:,.2f} pp"
    elif unit == "s":
        body = f"{_sig(a * 1000, 3)} ms" if a < 0.1 and a != 0 else f"{_sig(a, 3)} s"
    elif unit:
        body = f"{_sig(a, 3)} {unit}"
    else:
        body = _sig(a, 3)
    return sign + body


def level_pct(level: float, *, spaced: bool = False) -> str:
    """A confidence level as a percentage with the decimals it needs: 0.95 → ``95%``,
    0.975 → ``97.5%``, 0.999 → ``99.9%`` (not ``100%``); ``spaced``: ``95 %``, as
    :func:`num` writes percentages (plots and verdict sentences)."""
    return f"{level * 100:.6g}{' %' if spaced else '%'}"


#: Significance levels a shown p-value never appears to cross by rounding.
_ALPHAS = (0.1, 0.05, 0.01)


def pval(p: float | None, alpha: float | None = None) -> str:
    """Format a p-value: ``p = 0.012``, ``p < 0.001``, or ``p –`` when missing.

    Three decimals, more when rounding would put the shown value on the other side of a usual
    significance level (0.1, 0.05, 0.01) or of ``alpha``: 0.0499 is ``p = 0.0499``, not
    ``p = 0.050`` beside a significant verdict.
    """
    if p is None or is_missing(p):
        return "p –"
    if p < 0.001:
        return "p < 0.001"
    if p >= 0.995:
        return "p = 1.000"
    cuts = (*_ALPHAS, alpha) if alpha is not None else _ALPHAS
    decimals = 3
    while decimals < 6 and any((p < a) != (float(f"{p:.{decimals}f}") < a) for a in cuts):
        decimals += 1
    return f"p = {p:.{decimals}f}"


def is_missing(x: object) -> bool:
    """True for ``None``, NaN (float or numpy), ``pd.NaT`` and ``pd.NA``."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN and NaT are the only values not equal to themselves
    except (TypeError, ValueError):
        # pd.NA compares to NA, whose truth value raises; arrays are not one missing value.
        return type(x).__name__ == "NAType"


_MD_SYNTAX = str.maketrans({c: "\\" + c for c in "\\`*_[]|#"} | {"<": "&lt;", ">": "&gt;"})


def md(text: object) -> str:
    """``text`` as literal Markdown (a name in a table cell or a list item): on one line, its
    HTML and the characters Markdown reads as syntax (``|`` would end a table cell) escaped."""
    one_line = " ".join(str(text).replace("&", "&amp;").splitlines())
    return one_line.translate(_MD_SYNTAX)


def arm_label(variant: str, control: str) -> str:
    """The variant key, marked as the control unless its key already says so."""
    return variant + (" (control)" if variant == control and variant != "control" else "")


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, left: int = 2) -> str:
    """A plain-text table for terminals: the first ``left`` columns left-aligned, the rest
    right-aligned, a rule under the header."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
