"""Time `assign` on 1 M ids against PostHog's per-id hashlib loop, in the same run.

Run: .venv/bin/python bench/assign_bench.py [n]
"""

from __future__ import annotations

import hashlib
import sys
import time

import numpy as np

from promptab_nb.assignment import assign

VARIANTS = {"control": 50, "test": 50}


def hashlib_loop(ids: list[str], key: str, rollout: float) -> list[object]:
    """PostHog's posthog-python code path, one id at a time (both hashes, as for a multivariate flag)."""
    scale = float(0xFFFFFFFFFFFFFFF)
    out: list[object] = []
    for i in ids:
        h = int(hashlib.sha1(f"{key}.{i}".encode()).hexdigest()[:15], 16) / scale
        if h > rollout / 100:
            out.append(None)
            continue
        hv = int(hashlib.sha1(f"{key}.{i}variant".encode()).hexdigest()[:15], 16) / scale
        out.append("control" if hv < 0.5 else "test" if hv < 1.0 else True)
    return out


def best_of(fn, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    ids = [f"user-{x:016x}" for x in rng.integers(0, 2**62, size=n)]
    assign(ids[:10], "warm-up", variants=VARIANTS)  # DuckDB connection start-up

    # rollout < 100 so both hashes are computed, as in the loop.
    vec = best_of(lambda: assign(ids, "bench-flag", variants=VARIANTS, rollout=99.9))
    vec_np = best_of(lambda: assign(np.array(ids), "bench-flag", variants=VARIANTS, rollout=99.9))
    loop = best_of(lambda: hashlib_loop(ids, "bench-flag", 99.9), repeats=1)
    same = assign(ids, "bench-flag", variants=VARIANTS, rollout=99.9).tolist() == hashlib_loop(
        ids, "bench-flag", 99.9
    )
    print(f"{n:,} ids, two hashes each (best of 3 for assign, 1 run for the loop)")
    print(f"  assign(list[str])     {vec:6.3f} s")
    print(f"  assign(np.ndarray[U]) {vec_np:6.3f} s")
    print(f"  hashlib loop          {loop:6.3f} s")
    print(f"  ratio assign / loop   {vec / loop:6.3f}")
    print(f"  identical results     {same}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
