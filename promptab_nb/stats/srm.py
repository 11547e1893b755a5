"""Sample ratio mismatch: do the observed arm sizes fit the planned traffic split?"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import _html
from .._checks import check, one_of
from .._format import pval
from ..errors import InvalidArgumentError
from . import _dist

# PostHog flags a sample ratio mismatch at p < 0.001: frequent checks make 0.05 far too noisy.
SRM_THRESHOLD = 0.001
#: How :attr:`SRMResult.method` names each test (health, report and CLI say the same).
BINOMIAL = "exact binomial test"
CHISQUARE = "χ² goodness of fit"


@dataclass(frozen=True)
class SRMResult:
    """Test of arm sizes against the planned split; ``mismatch`` when ``p_value < threshold``.

    ``statistic`` is Pearson's χ² (df = arms − 1) whatever the test; ``p_value`` comes from
    ``method``: the χ² goodness of fit or, for two arms, the exact binomial test.
    """

    statistic: float
    p_value: float
    df: int
    mismatch: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    method: str = CHISQUARE
    threshold: float = SRM_THRESHOLD

    def __repr__(self) -> str:
        verdict = "sample ratio MISMATCH" if self.mismatch else "no sample ratio mismatch"
        obs = ", ".join(str(o) for o in self.observed)
        exp = ", ".join(f"{e:.1f}" for e in self.expected)
        return (
            f"{verdict}: observed [{obs}] vs expected [{exp}], {pval(self.p_value)} ({self.method})"
        )

    def _repr_html_(self) -> str:
        rows = [
            [i, o, f"{e:.1f}"]
            for i, (o, e) in enumerate(zip(self.observed, self.expected, strict=True))
        ]
        caption = repr(self)
        return str(
            _html.el(
                "div",
                _html.table(["arm", "observed", "expected"], rows, caption=caption),
                class_="pab",
            )
        )


def srm(
    observed_counts: Sequence[int] | Mapping[str, int],
    expected_shares: Sequence[float] | Mapping[str, float] | None = None,
    *,
    threshold: float = SRM_THRESHOLD,
    method: Literal["chisquare", "binomial"] = "chisquare",
    correction: bool = False,
) -> SRMResult:
    """Test whether units split across arms as planned (sample ratio mismatch).

    Parameters
    ----------
    observed_counts
        Units per arm (a sequence, or a mapping arm → units).
    expected_shares
        Planned share (or weight; normalized) per arm, in the same order or keyed like
        ``observed_counts``. Default: equal shares.
    threshold
        Flag a mismatch when ``p_value < threshold`` (PostHog uses 0.001).
    method
        ``"chisquare"``: Pearson goodness of fit, df = arms − 1 (equals
        ``scipy.stats.chisquare``). ``"binomial"``: exact two-sided binomial test of the second
        arm's count against its planned share (two arms only; equals
        ``scipy.stats.binomtest(observed[1], total, share).pvalue``).
    correction
        Two arms, ``"chisquare"`` only: Yates' continuity correction ``|O − E| − 0.5``.

    Returns
    -------
    SRMResult
        χ² statistic, p-value of ``method`` (H1: the split differs from the plan, two-sided),
        df, ``mismatch``, and ``method`` naming the test.
    """
    check(threshold, "threshold", gt=0, lt=1)
    one_of(method, "method", ("chisquare", "binomial"))
    if isinstance(observed_counts, Mapping):
        keys = list(observed_counts)
        obs = np.array([observed_counts[k] for k in keys], dtype=float)
        if isinstance(expected_shares, Mapping):
            missing = set(keys) ^ set(expected_shares)
            if missing:
                raise InvalidArgumentError(
                    f"expected_shares and observed_counts differ in arms {sorted(missing)}"
                )
            expected_shares = [expected_shares[k] for k in keys]
    else:
        if isinstance(expected_shares, Mapping):
            raise InvalidArgumentError(
                f"expected_shares is keyed by arm ({sorted(expected_shares)}) but observed_counts "
                "is a sequence; pass observed_counts as a mapping arm -> units too"
            )
        try:
            obs = np.asarray(observed_counts, dtype=float)
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"observed_counts == {observed_counts!r}: must be numbers of units per arm"
            ) from err
    if obs.ndim != 1 or obs.size < 2:
        raise InvalidArgumentError(
            f"observed_counts == {observed_counts!r}, need at least two arms"
        )
    for i, o in enumerate(obs):
        check(float(o), f"observed_counts[{i}]", ge=0, integer=True)
    if obs.sum() == 0:
        raise InvalidArgumentError("observed_counts are all 0: no units to check")
    try:
        shares = (
            np.ones(obs.size)
            if expected_shares is None
            else np.asarray(expected_shares, dtype=float)
        )
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"expected_shares == {expected_shares!r}: must be numbers, one share per arm"
        ) from err
    if shares.shape != obs.shape:
        raise InvalidArgumentError(f"expected_shares has {shares.size} values for {obs.size} arms")
    for i, s in enumerate(shares):
        check(float(s), f"expected_shares[{i}]", gt=0)
        if not math.isfinite(s) or not math.isfinite(shares.sum()):
            # (an inf share made the expected counts [nan, 0] and the verdict "no mismatch")
            raise InvalidArgumentError(
                f"expected_shares[{i}] == {float(s)!r}, must be finite (their sum too): "
                "the planned share or weight of each arm"
            )
    expected = obs.sum() * shares / shares.sum()
    dev = np.abs(obs - expected)
    if correction:
        if obs.size != 2:
            raise InvalidArgumentError("correction=True needs exactly two arms")
        dev = np.maximum(dev - 0.5, 0.0)
    stat = float((dev**2 / expected).sum())
    df = obs.size - 1
    if method == "binomial":
        if obs.size != 2:
            raise InvalidArgumentError("method='binomial' needs exactly two arms")
        share = float(shares[1] / shares.sum())
        p = _dist.binom_test_p(int(obs[1]), int(obs.sum()), share)
        name = BINOMIAL
    else:
        p = float(_dist.chi2_sf(stat, df))
        name = CHISQUARE + (" (Yates)" if correction else "")
    p = 1.0 if math.isnan(p) else min(p, 1.0)
    return SRMResult(
        stat,
        p,
        df,
        p < threshold,
        tuple(int(o) for o in obs),
        tuple(float(e) for e in expected),
        name,
        threshold,
    )
