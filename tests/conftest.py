from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _events import FLAG, evaluation, expo, gen, write  # noqa: E402


def synthetic_events(users: int = 400, seed: int = 7) -> list[dict]:
    """A small export exercising every exposure rule: contaminated users, generations before
    exposure, an unrelated flag, unexposed users, users without generations, N/A evaluations."""
    rng = np.random.default_rng(seed)
    evs: list[dict] = []
    for u in range(users):
        user = f"u{u}"
        variant = "control" if u % 2 else "test"
        evs.append(expo(f"e{u}", user, u, variant))
        if u % 50 == 0:  # contaminated: also saw the other arm
            evs.append(expo(f"e{u}b", user, u + 3, "test" if variant == "control" else "control"))
        if u % 40 == 1:
            evs.append(expo(f"x{u}", user, u, "on", flag="unrelated-flag"))
        if u % 30 == 2:
            evs.append(gen(f"pre{u}", user, u - 5, latency=9.0, cost=1.0))
        for k in range(int(rng.integers(0, 4))):
            lat = float(rng.lognormal(0, 0.5)) * (0.9 if variant == "test" else 1.0)
            evs.append(
                gen(
                    f"g{u}_{k}",
                    user,
                    u + k + 1,
                    latency=lat,
                    cost=float(rng.gamma(2, 0.01)),
                    error=bool(rng.random() < 0.08),
                )
            )
            evs.append(
                evaluation(
                    f"v{u}_{k}",
                    user,
                    u + k + 2,
                    f"g{u}_{k}",
                    bool(rng.random() < 0.8),
                    applicable=bool(rng.random() > 0.1),
                )
            )
    for u in range(20):  # never exposed
        evs.append(gen(f"n{u}", f"stranger{u}", u, latency=5.0, cost=0.5))
    return evs


@pytest.fixture(scope="session")
def export_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write(synthetic_events(), tmp_path_factory.mktemp("export"))


@pytest.fixture()
def loaded(export_paths: dict[str, Path]):
    import promptab_nb as pab

    ws = pab.Workspace()
    ws.load_posthog(export_paths["parquet"], progress=False)
    exp = ws.create_experiment("exp", "support", {"control": "1", "test": "2"}, flag_key=FLAG)
    yield ws, exp
    ws.close()
