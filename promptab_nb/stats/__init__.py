"""Statistics over sufficient statistics (counts, sums, sums of squares). Pure: no DuckDB, no I/O.

Every two-sample test takes ``(control, treatment, *, alpha=0.05, relative=False)`` and returns a
frozen :class:`Comparison` of treatment against control.
"""

from __future__ import annotations

from ._types import Comparison, CovStats, MeanStats, PropStats, RatioStats
from .agreement import Kappa, cohens_kappa, krippendorff_alpha
from .bayes import BayesResult, GaussianPrior, bayes
from .clustered import (
    ClusteredMean,
    VarianceComponents,
    cluster_mean,
    design_items,
    design_power,
    variance_components,
)
from .cuped import (
    CupedComparison,
    RatioCovStats,
    cuped,
    ratio_cuped,
    ratio_cuped_arm,
    ratio_cuped_theta,
)
from .guards import Guard, guard
from .mannwhitney import MannWhitney, RankSums, mann_whitney, mann_whitney_ranks
from .means import student, welch
from .multiple import adjust_pvalues
from .paired import mcnemar, paired_bootstrap, paired_t, wilcoxon
from .pairs import AllPairs, Impact, all_pairs, total_impact
from .power import Plan, SampleSize, mde, plan, power, sample_size
from .ppi import PPIMean, ppi_mean
from .preference import BradleyTerry, bradley_terry
from .proportions import chi_square, fisher_exact, proportion_ci, ztest_proportions
from .quantiles import (
    ClusteredQuantileCI,
    QuantileCI,
    clustered_quantile_ci,
    clustered_quantile_test,
    quantile_ci,
    quantile_diff,
    quantile_min_events,
    quantile_test,
)
from .ratio import ratio_test
from .sequential import SequentialComparison, sequence_bounds, sequential
from .srm import SRMResult, srm

__all__ = [
    "AllPairs",
    "Impact",
    "BayesResult",
    "BradleyTerry",
    "ClusteredMean",
    "ClusteredQuantileCI",
    "Comparison",
    "CovStats",
    "CupedComparison",
    "GaussianPrior",
    "Guard",
    "Kappa",
    "MannWhitney",
    "MeanStats",
    "PPIMean",
    "Plan",
    "PropStats",
    "QuantileCI",
    "RankSums",
    "RatioCovStats",
    "RatioStats",
    "SRMResult",
    "SampleSize",
    "SequentialComparison",
    "VarianceComponents",
    "adjust_pvalues",
    "all_pairs",
    "bayes",
    "bradley_terry",
    "chi_square",
    "cluster_mean",
    "clustered_quantile_ci",
    "clustered_quantile_test",
    "cohens_kappa",
    "cuped",
    "design_items",
    "design_power",
    "fisher_exact",
    "guard",
    "krippendorff_alpha",
    "mann_whitney",
    "mann_whitney_ranks",
    "mcnemar",
    "mde",
    "paired_bootstrap",
    "paired_t",
    "plan",
    "power",
    "ppi_mean",
    "proportion_ci",
    "quantile_ci",
    "quantile_diff",
    "quantile_min_events",
    "quantile_test",
    "ratio_cuped",
    "ratio_cuped_arm",
    "ratio_cuped_theta",
    "ratio_test",
    "sample_size",
    "sequence_bounds",
    "sequential",
    "srm",
    "student",
    "total_impact",
    "variance_components",
    "welch",
    "wilcoxon",
    "ztest_proportions",
]
