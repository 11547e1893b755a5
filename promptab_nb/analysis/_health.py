"""The health of an experiment's exposures: counts per arm, ``$multiple`` units, unknown
variants, SRM, expiry, small arms (no SQL here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import stats as st
from ..results import Health, HealthFlag
from ..stats.guards import MIN_UNITS_PER_ARM

if TYPE_CHECKING:
    from ..experiments import Experiment


SRM_MIN_UNITS = 100
#: Share of units exposed to several variants above which the health check warns.
MULTIPLE_WARN_SHARE = 0.05


def health(
    exp: Experiment,
    counts: dict[str, int],
    multi: int,
    multiple: str,
    window: tuple[Any, Any] = (None, None),
) -> Health:
    """Exposure counts, ``$multiple`` units, unknown variants, SRM, expiry, small arms; no unit
    at all (``window``: the analysis' ``start`` and ``end``, named when they are why)."""
    exposed = {k: int(counts.get(k, 0)) for k in exp.variants}
    unknown = {k: int(v) for k, v in counts.items() if k not in exp.variants and k != "$multiple"}
    flags: list[HealthFlag] = []
    total = sum(exposed.values())
    if total == 0:
        start, end = window
        bounds = [f"{name} {t:%Y-%m-%d %H:%M} UTC" for name, t in (("start", start),
                  ("end", end)) if t is not None]  # fmt: skip
        flags.append(
            HealthFlag(
                "no_units",
                "error",
                "no unit of any arm is in scope"
                + (
                    f" in the analysis window ({', '.join(bounds)}): widen or drop it"
                    if bounds
                    else ": check the flag key and the variant keys"
                )
                + (f" ({multi:,} unit(s) saw several variants)" if multi else ""),
            )
        )
    srm_p = srm_chi2 = None
    srm_note = srm_method = None
    if total < SRM_MIN_UNITS:
        srm_note = f"SRM check skipped: {total} exposed units (< {SRM_MIN_UNITS})"
    else:
        # Two arms: the exact binomial test (no large-sample approximation); more: χ².
        res = st.srm(
            [exposed[k] for k in exp.variants],
            [exp.split[k] / 100 for k in exp.variants],
            method="binomial" if len(exp.variants) == 2 else "chisquare",
        )
        srm_p, srm_chi2, srm_method = float(res.p_value), float(res.statistic), res.method
        if res.mismatch:
            flags.append(
                HealthFlag(
                    "srm",
                    "error",
                    f"sample ratio mismatch: p = {srm_p:.2g} ({srm_method}) for the configured "
                    "split "
                    f"{'/'.join(f'{exp.split[k]:g}' for k in exp.variants)}; check the "
                    "assignment (exp.audit()) before trusting the results",
                )
            )
    if multi:
        share = multi / max(1, total + multi)
        flags.append(
            HealthFlag(
                "multiple",
                # A few contaminated units are normal (shared devices, re-bucketing) and are
                # excluded; only a large share can bias the comparison.
                "warning" if share > MULTIPLE_WARN_SHARE else "info",
                f"{multi} unit(s) saw more than one variant ({share:.1%}); "
                + (
                    "excluded ($multiple)"
                    if multiple == "exclude"
                    else "kept in their first variant"
                ),
            )
        )
    if unknown:
        flags.append(
            HealthFlag(
                "unknown_variants",
                "warning",
                "exposures with variants not in the experiment were ignored: "
                + ", ".join(
                    f"{k!r} ({v}{_near_variant(k, exp.variants)})" for k, v in unknown.items()
                ),
            )
        )
    small = [k for k, v in exposed.items() if v < MIN_UNITS_PER_ARM]
    if small:
        flags.append(
            HealthFlag(
                "small_arms",
                "warning",
                f"not enough data: {', '.join(small)} ha{'s' if len(small) == 1 else 've'} "
                f"fewer than {MIN_UNITS_PER_ARM} exposed units; p-values are withheld",
            )
        )
    if exp.is_expired and exp.ends_at is not None:
        flags.append(
            HealthFlag(
                "expired",
                "warning",
                f"the experiment's planned end ({exp.ends_at:%Y-%m-%d}) has passed; "
                "declare a winner or stop it",
            )
        )
    return Health(
        exposed=exposed,
        multiple=int(multi),
        unknown_variants=unknown,
        srm_p_value=srm_p,
        srm_statistic=srm_chi2,
        srm_note=srm_note,
        srm_method=srm_method,
        expired=exp.is_expired,
        flags=tuple(flags),
    )


def _near_variant(key: str, variants: Any) -> str:
    """``"; the experiment's variant 'test' differs only in case or spaces"`` when ``key`` (an
    exposure's variant not in the experiment) is one of ``variants`` written otherwise: that
    arm's exposures were ignored, not missing."""
    near = [v for v in variants if v != key and v.strip().casefold() == key.strip().casefold()]
    if not near:
        return ""
    return f"; the experiment's variant {near[0]!r} differs only in case or spaces"
