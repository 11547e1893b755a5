"""Timing (not a test): 1,000 items × 2 versions × 3 repeats against a model that sleeps 50 ms,
at concurrency 32, then the identical cached re-run.

Run: ``.venv/bin/python tests/offline/bench_offline_runner.py``. Ideal uncached time is
6,000 × 0.05 s / 32 = 9.4 s; the target is ≤ 15 s.
"""

from __future__ import annotations

import time

import promptab_nb as pab


def main(items: int = 1000, repeats: int = 3, concurrency: int = 32, sleep_s: float = 0.05) -> None:
    ws = pab.Workspace()
    ds = pab.offline.Dataset.from_records(
        [{"q": f"{a} + {a + 7}", "expected": str(2 * a + 7)} for a in range(items)]
    )
    versions = [("bench", "What is {{q}}?"), ("bench", "Think step by step. What is {{q}}?")]
    model = pab.offline.DemoModel(seed=0, latency_s=sleep_s)
    kw = {"scorers": [pab.offline.numeric_close()], "repeats": repeats,
          "concurrency": concurrency, "progress": False}  # fmt: skip
    t0 = time.perf_counter()
    run = ws.run_offline(ds, versions, model, **kw)
    t1 = time.perf_counter()
    again = ws.run_offline(ds, versions, model, **kw)
    t2 = time.perf_counter()
    comp = run.compare()
    t3 = time.perf_counter()
    cells = items * len(versions) * repeats
    print(f"uncached: {cells:,} cells in {t1 - t0:.2f} s ({run.model_calls:,} calls; "
          f"ideal {cells * sleep_s / concurrency:.1f} s)")  # fmt: skip
    print(f"cached:   {t2 - t1:.2f} s ({again.model_calls} calls, {again.cache_hits:,} hits)")
    print(f"compare:  {t3 - t2:.2f} s; {comp.verdict}")


if __name__ == "__main__":
    main()
