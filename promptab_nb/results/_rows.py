"""The rows of an experiment result (one per metric and variant) and its health check."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from .._format import pval

COLUMNS = [
    "metric",
    "variant",
    "is_control",
    "n",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_diff",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "test",
    "significant",
    "chance_to_win",
]
#: ``chance_to_win`` is the direction-aware chance to be better (shown in every mode).
BAYES_COLUMNS = ["expected_loss", "cred_mean", "cred_low", "cred_high"]
#: Ends the ``test`` of a row whose p-value is always valid and whose effect intervals are
#: confidence sequences (``sequential=True``; quantile rows stay fixed-horizon).
SEQUENTIAL_SUFFIX = " + sequential"


@dataclass(frozen=True)
class ArmRow:
    """One (metric, variant) row. Differences are treatment − control (NaN on the control row);
    relative values are fractions (0.032 = +3.2 %). ``chance_to_win`` is the chance that the
    treatment is *better* in the metric's direction (lower cost, higher pass rate): the Bayesian
    posterior's with ``method="bayesian"``, else the flat-prior normal approximation of the
    frequentist estimate."""

    metric: str
    variant: str
    is_control: bool
    n: int
    mean: float
    mean_ci_low: float
    mean_ci_high: float
    diff: float
    diff_ci_low: float
    diff_ci_high: float
    rel_diff: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float
    test: str
    significant: bool
    chance_to_win: float = math.nan
    expected_loss: float = math.nan
    cred_low: float = math.nan
    cred_high: float = math.nan
    note: str | None = None
    #: The posterior mean of the effect, on the credible interval's scale (relative when the
    #: analysis is): with an informative prior it is not the frequentist ``diff``/``rel_diff``.
    cred_mean: float = math.nan
    # What the decision's tests need (promptab_nb.decision): standard errors and degrees of
    # freedom of the absolute and relative tests (df NaN: normal), the p-value before any
    # correction, and the mixture variance of the sequential test (NaN: fixed horizon).
    se: float = math.nan
    df: float = math.nan
    rel_se: float = math.nan
    rel_df: float = math.nan
    p_raw: float = math.nan
    seq_tau2: float = math.nan


Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class HealthFlag:
    """One finding of the health check.

    ``code`` is stable for programs (``"srm"``, ``"multiple"``, ``"unknown_variants"``,
    ``"small_arms"``, ``"expired"``, ``"no_units"``: no unit of any arm in scope,
    ``"units_without_events"``, ``"missing_values"``, ``"request_unit"``: arms assigned per user
    analysed per request); ``severity`` is ``"error"`` when the results should not be
    trusted, ``"warning"`` when they need a look, ``"info"`` otherwise; ``message`` is for people.
    """

    code: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class Health:
    """Assignment health: exposed units per arm, ``$multiple`` units, SRM and warnings."""

    exposed: dict[str, int]
    multiple: int
    unknown_variants: dict[str, int]
    srm_p_value: float | None
    srm_statistic: float | None
    srm_note: str | None
    expired: bool
    flags: tuple[HealthFlag, ...] = field(default_factory=tuple)
    #: Where each unit's arm came from, in words ("arms from the prompt version of ...").
    source: str | None = None
    #: The test behind ``srm_p_value``: ``"exact binomial test"`` (two arms) or
    #: ``"χ² goodness of fit"`` (more); ``srm_statistic`` is Pearson's χ² either way.
    srm_method: str | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """The messages of every flag, most severe first."""
        order = {"error": 0, "warning": 1, "info": 2}
        return tuple(f.message for f in sorted(self.flags, key=lambda f: order[f.severity]))

    @property
    def ok(self) -> bool:
        """True when no flag of severity ``warning`` or ``error`` was raised (``info`` flags,
        such as a few units exposed to two variants, do not fail a CI gate)."""
        return not any(f.severity != "info" for f in self.flags)

    def has(self, code: str) -> bool:
        """True when a flag with ``code`` was raised."""
        return any(f.code == code for f in self.flags)

    def srm_text(self) -> str:
        """The SRM test and its p-value in words (``"exact binomial test, p = 0.41"`` or
        ``"χ² goodness of fit, χ² = 0.70, p = 0.41"``); empty when it was not computed."""
        if self.srm_p_value is None:
            return ""
        method = self.srm_method or "χ² goodness of fit"
        if method.startswith("χ²") and self.srm_statistic is not None:
            return f"{method}, χ² = {self.srm_statistic:.2f}, {pval(self.srm_p_value)}"
        return f"{method}, {pval(self.srm_p_value)}"

    def lines(self) -> list[str]:
        """Exposed units, the SRM test and every warning, one sentence each."""
        out = [
            "exposed units: "
            + ", ".join(f"{k} {v:,}" for k, v in self.exposed.items())
            + f"; $multiple {self.multiple:,}"
        ]
        if self.source:
            out.insert(0, self.source)
        if self.srm_p_value is not None:
            out.append(f"SRM {self.srm_text()} against the configured split")
        elif self.srm_note:
            out.append(self.srm_note)
        order = {"error": 0, "warning": 1, "info": 2}
        for f in sorted(self.flags, key=lambda f: order[f.severity]):
            out.append(("ℹ " if f.severity == "info" else "⚠ ") + f.message)
        return out
