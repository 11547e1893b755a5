"""Statistics over sufficient statistics (counts, sums, sums of squares). Pure: no DuckDB, no I/O.

Every two-sample test takes ``(control, treatment, *, alpha=0.05, relative=False)`` and returns a
frozen :class:`Comparison` of treatment against control.
"""

from __future__ import annotations

from ._types import Comparison, CovStats, MeanStats, PropStats, RatioStats
from .bayes import BayesResult, GaussianPrior, bayes
from .cuped import CupedComparison, cuped
from .guards import Guard, guard
from .means import student, welch
from .multiple import adjust_pvalues
from .paired import mcnemar, paired_bootstrap, paired_t, wilcoxon
from .power import Plan, SampleSize, mde, plan, power, sample_size
from .proportions import chi_square, fisher_exact, ztest_proportions
from .quantiles import QuantileCI, quantile_ci, quantile_diff, quantile_test
from .ratio import ratio_test
from .sequential import SequentialComparison, sequential
from .srm import SRMResult, srm

__all__ = [
    "BayesResult",
    "Comparison",
    "CovStats",
    "CupedComparison",
    "GaussianPrior",
    "Guard",
    "MeanStats",
    "Plan",
    "PropStats",
    "QuantileCI",
    "RatioStats",
    "SRMResult",
    "SampleSize",
    "SequentialComparison",
    "adjust_pvalues",
    "bayes",
    "chi_square",
    "cuped",
    "fisher_exact",
    "guard",
    "mcnemar",
    "mde",
    "paired_bootstrap",
    "paired_t",
    "plan",
    "power",
    "quantile_ci",
    "quantile_diff",
    "quantile_test",
    "ratio_test",
    "sample_size",
    "sequential",
    "srm",
    "student",
    "welch",
    "wilcoxon",
    "ztest_proportions",
]
