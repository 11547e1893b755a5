from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _events import FLAG, synthetic_events, write  # noqa: E402


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
