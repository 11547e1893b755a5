"""Write word_problems.csv: 200 arithmetic word problems with exact answers (seeded, reproducible).

Run from the repository root: ``python data/offline/make_dataset.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

NAMES = [
    "Ava",
    "Ben",
    "Chloé",
    "Dev",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Isla",
    "Jonas",
    "Kemi",
    "Liam",
]


def shopping(rng: np.random.Generator, name: str) -> tuple[str, str]:
    n, price = int(rng.integers(2, 9)), int(rng.integers(2, 15))
    paid = (n * price // 10 + 1 + int(rng.integers(0, 3))) * 10
    q = f"{name} buys {n} notebooks at ${price} each and pays with ${paid}. How much change does {name} get, in dollars?"
    return q, str(paid - n * price)


def travel(rng: np.random.Generator, name: str) -> tuple[str, str]:
    speed, hours = int(rng.integers(3, 13)) * 5, int(rng.integers(2, 7))
    q = f"{name} drives at {speed} km/h for {hours} hours. How many kilometres does {name} cover?"
    return q, str(speed * hours)


def sharing(rng: np.random.Generator, name: str) -> tuple[str, str]:
    friends = int(rng.integers(2, 7))
    each = int(rng.integers(3, 12))
    left = int(rng.integers(0, friends))
    total = friends * each + left
    q = (
        f"{name} has {total} stickers and shares them equally among {friends} friends, keeping the "
        f"remainder. How many stickers does {name} keep?"
    )
    return q, str(left)


def time_calc(rng: np.random.Generator, name: str) -> tuple[str, str]:
    start, meetings, length = (
        int(rng.integers(8, 11)),
        int(rng.integers(2, 6)),
        int(rng.integers(2, 7)) * 10,
    )
    q = (
        f"{name} starts work at {start}:00 and has {meetings} back-to-back meetings of {length} minutes "
        f"each. How many minutes after {start}:00 does the last meeting end?"
    )
    return q, str(meetings * length)


def percent(rng: np.random.Generator, name: str) -> tuple[str, str]:
    price, off = int(rng.integers(2, 20)) * 10, int(rng.choice([10, 20, 25, 50]))
    q = f"A jacket costs ${price}. {name} gets a {off}% discount. What does {name} pay, in dollars?"
    value = price * (100 - off) / 100
    return q, (str(int(value)) if value.is_integer() else f"{value:.2f}")


def multi_step(rng: np.random.Generator, name: str) -> tuple[str, str]:
    boxes, per_box, broken = (
        int(rng.integers(3, 9)),
        int(rng.integers(6, 13)),
        int(rng.integers(1, 6)),
    )
    sold = int(rng.integers(1, boxes * per_box - broken))
    q = (
        f"A shop receives {boxes} boxes of {per_box} mugs. {broken} mugs arrive broken and {name} sells "
        f"{sold} of the rest. How many mugs are left to sell?"
    )
    return q, str(boxes * per_box - broken - sold)


KINDS = {
    "shopping": shopping,
    "travel": travel,
    "sharing": sharing,
    "time": time_calc,
    "percent": percent,
    "multi_step": multi_step,
}


def main(n: int = 200, seed: int = 20240501) -> Path:
    rng = np.random.default_rng(seed)
    out = Path(__file__).with_name("word_problems.csv")
    kinds = list(KINDS)
    rows, seen = [], set()
    while len(rows) < n:
        kind = kinds[len(rows) % len(kinds)]
        name = NAMES[int(rng.integers(0, len(NAMES)))]
        question, answer = KINDS[kind](rng, name)
        if question in seen:
            continue
        seen.add(question)
        rows.append(
            {
                "item_id": f"wp-{len(rows) + 1:03d}",
                "question": question,
                "expected": answer,
                "category": kind,
            }
        )
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["item_id", "question", "expected", "category"])
        writer.writeheader()
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    print(main())
