"""Write the sample PostHog export in data/ (Parquet, JSON lines, CSV) and its truth.

Run from the repository root: ``python scripts/make_sample_data.py``. The seed is fixed, so
the files are byte-identical on every run (for a given DuckDB / pyarrow version).
"""

from __future__ import annotations

import json
from pathlib import Path

from promptab_nb.simulate import traffic

DATA = Path(__file__).resolve().parent.parent / "data"
SEED = 20250303


def main() -> None:
    truth = traffic(
        1_200,
        {"control": "v1", "test": "v2"},
        # test: ~8 % faster, ~5 % dearer per user (6 % per successful call), more errors, better answers
        {"test": {"latency": 0.92, "cost": 1.06, "error_rate": 0.03, "pass_rate": 0.84}},
        out=DATA / "posthog_events",
        seed=SEED,
        days=14,
        formats=("parquet", "jsonl", "csv"),
        flag_key="support-bot-prompt",
        prompt_name="support-bot",
        # Few calls per user keep the three files under 5 MB together.
        baseline={"error_rate": 0.02, "pass_rate": 0.80, "generations": 2.0},
        progress=False,
    )
    info = truth.to_dict()
    info["files"] = {fmt: Path(path).name for fmt, path in truth.files.items()}
    (DATA / "sample_truth.json").write_text(json.dumps(info, indent=2) + "\n")
    print(truth)


if __name__ == "__main__":
    main()
