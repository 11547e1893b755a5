"""Pairwise preference between prompt versions: an LLM judge picks the better of two outputs.

Every pair of versions is judged on every item where both have an output, in both orders when
``swap=True`` (A/B then B/A): a judge that favours the first slot is measured (share of
decisive verdicts won by the first slot, with a binomial test of 50 %), and an item whose two
orders disagree counts as a tie. Preferences are summarised by a Bradley–Terry fit (ties as
half a win each, :func:`promptab_nb.stats.bradley_terry`) with percentile bootstrap CIs over
items, and a win-rate matrix. :class:`DemoJudge` keeps it runnable with no network.

An item is left out of a pair when a version has no output (the model call failed) or the
judge gave no verdict in any order (it raised, or its reply named none of A, B, TIE); with
``swap=True`` an item judged in one order only is decided by that order. Both are counted per
pair, with the reason, in the result's fields and notes.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import stats
from .._checks import check
from .._format import level_pct, num, pval
from .._render import Note, Rendered, Table
from ..errors import DataError, InvalidArgumentError
from ..stats.preference import bradley_terry_batch, reached
from ._paired import LeftOut, cell_reasons, counts_text, left_out

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..workspace import Workspace

__all__ = ["DemoJudge", "PairwiseResult", "pairwise_prompt", "run_pairwise"]

_TEMPLATE = """You are comparing two answers to the same request.

Request:
{inputs}

Reference answer:
{expected}

Response A:
{a}

Response B:
{b}

Which response is better? Reply with exactly one word: A, B or TIE."""

# A verdict is the reply's one word (markup and punctuation aside), else the one verdict it
# names: a capital A or B standing alone, or "tie" in any case ("a tie" is a tie). A reply naming
# two ("A is better than B") or none has no verdict: counted, never guessed. Reading any "a" as A
# made "It is a tie" a win for the first slot.
_ONE_WORD = re.compile(r"[\W_]*(A|B|TIE)[\W_]*", re.IGNORECASE)
_A_TIE = re.compile(r"\ba\s+tie\b", re.IGNORECASE)
_NAMED = re.compile(r"(?<![\w'])(A|B)(?!\w)|\b(tie)\b", re.IGNORECASE)


def pairwise_prompt(inputs: dict[str, Any], expected: Any, a: str, b: str) -> str:
    """The judge prompt for one ordered pair of outputs."""
    return _TEMPLATE.format(
        inputs="\n".join(f"{k}: {v}" for k, v in inputs.items()) or "(none)",
        expected="(none)" if expected is None else expected, a=a, b=b,
    )  # fmt: skip


def _unit(*parts: Any) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class DemoJudge:
    """A deterministic pairwise judge for demos and tests (no network).

    It prefers the response containing the reference answer; when both or neither do, it
    answers ``A`` (the first slot) with probability ``position_bias`` and ``TIE`` otherwise;
    with probability ``noise`` it picks the wrong one of a correct/incorrect pair. Every draw is
    a pure function of ``seed`` and the prompt.
    """

    def __init__(self, seed: int = 0, *, position_bias: float = 0.25, noise: float = 0.05):
        self.seed, self.position_bias, self.noise = seed, float(position_bias), float(noise)
        self.model_id = f"demo-judge(seed={seed}, bias={self.position_bias:g})"

    def __call__(self, prompt: str) -> str:
        ref = _section(prompt, "Reference answer:", "Response A:")
        a = _section(prompt, "Response A:", "Response B:")
        b = _section(prompt, "Response B:", "Which response")
        a_ok, b_ok = _has(a, ref), _has(b, ref)
        u = _unit(self.seed, prompt)
        if a_ok != b_ok:
            better = "A" if a_ok else "B"
            return better if u >= self.noise else ("B" if better == "A" else "A")
        return "A" if u < self.position_bias else "TIE"

    def __repr__(self) -> str:
        return f"DemoJudge(seed={self.seed}, position_bias={self.position_bias:g})"


def _section(text: str, start: str, end: str) -> str:
    i = text.find(start)
    j = text.find(end, i + len(start))
    return text[i + len(start) : j if j >= 0 else None].strip() if i >= 0 else ""


def _has(response: str, ref: str) -> bool:
    if not ref or ref == "(none)" or response.startswith("[error]"):
        return False
    last = response.strip().splitlines()[-1] if response.strip() else ""
    return ref.strip().casefold() in last.casefold()


# Strengths closer than this are the same (the Newton fit stops at steps of 1e-12).
_SAME_STRENGTH = 1e-9


@dataclass(frozen=True, repr=False)
class PairwiseResult(Rendered):
    """Bradley–Terry strengths (log-odds, mean 0) of each version with bootstrap CIs, the
    win-rate matrix (``win_rate[i, j]``: share of items where ``i`` beat ``j``, ties ½), and the
    judge's position bias (from :func:`run_pairwise`).

    ``n_dropped`` (item, pair of versions) units were not judged or got no verdict in any
    order; ``dropped`` counts them by pair and reason (``("v1 vs v2: model error in v2 only",
    1)``, ``("v1 vs v2: judge error in both orders", 2)``, …). ``n_one_order`` units were
    decided by one order only, the other having failed. ``judgments`` has one row per judge
    call, with the ``reason`` of a call without a verdict."""

    versions: tuple[str, ...]
    strengths: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    win_rate: np.ndarray
    n_items: int
    n_judgments: int
    ties: int
    first_slot_share: float | None
    first_slot_ci: tuple[float, float] | None
    first_slot_p: float | None
    consistency: float | None
    alpha: float
    n_boot: int
    seed: int | None
    run_id: str
    judgments: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    n_dropped: int = 0
    dropped: tuple[tuple[str, int], ...] = ()
    n_one_order: int = 0

    @property
    def ranking(self) -> list[str]:
        """Versions from strongest to weakest."""
        return [self.versions[i] for i in np.argsort(-self.strengths, kind="stable")]

    @property
    def ranks(self) -> list[int]:
        """Rank of each version (in ``versions`` order), 1 the strongest; versions whose
        strengths are equal (up to the fit's rounding, 1e-9) share a rank ("1, 1, 3")."""
        s = self.strengths
        return [int(np.sum(s > x + _SAME_STRENGTH)) + 1 for x in s]

    def _headline(self) -> str:
        """Who ranks first, or who ties for first, with the strength."""
        top = [v for v, r in zip(self.versions, self.ranks, strict=True) if r == 1]
        who = f"{top[0]} ranks first" if len(top) == 1 else (
            f"{', '.join(top[:-1])} and {top[-1]} tie for first"
        )  # fmt: skip
        return (
            f"{who}: strength {num(float(self.strengths.max()), signed=True)} (Bradley–Terry, "
            f"{self.n_items} items, {self.n_judgments} judgments, {self.ties} ties)"
        )

    def win_rates(self) -> pd.DataFrame:
        """The win-rate matrix as a frame (row version vs column version)."""
        import pandas as pd

        return pd.DataFrame(self.win_rate, index=list(self.versions), columns=list(self.versions))

    def _records(self) -> list[dict[str, Any]]:
        return [
            {"version": v, "strength": float(self.strengths[i]), "ci_low": float(self.ci_low[i]),
             "ci_high": float(self.ci_high[i]), "rank": self.ranks[i]}
            for i, v in enumerate(self.versions)
        ]  # fmt: skip

    def _table(self) -> Table:
        order = np.argsort(-self.strengths, kind="stable")
        rows = []
        ranks = self.ranks
        for i in order:
            rank = ranks[i]
            vs = [num(self.win_rate[i, j], "%") if i != j else "–" for j in order]
            rows.append([f"{rank}", self.versions[i], num(float(self.strengths[i]), signed=True),
                         f"[{num(float(self.ci_low[i]))}, {num(float(self.ci_high[i]))}]", *vs])  # fmt: skip
        bias = []
        if self.first_slot_share is not None and self.first_slot_ci is not None:
            bias.append(
                f"position bias: the first slot wins {num(self.first_slot_share, '%')} "
                f"[{num(self.first_slot_ci[0], '%')}, {num(self.first_slot_ci[1], '%')}] of "
                f"decisive verdicts ({pval(self.first_slot_p)}, H1: ≠ 50 %); the two orders "
                f"agree on {num(self.consistency, '%')} of items (disagreements count as ties)"
            )
        head = self._headline()
        lvl = level_pct(1 - self.alpha)
        return Table(
            ["rank", "version", "strength", f"{lvl} CI (bootstrap)",
             *[f"vs {self.versions[j]}" for j in order]],
            rows,
            caption=f"Pairwise preference, run {self.run_id}",
            before=[Note((head,), css="verdict neutral")],
            after=[Note((line,)) for line in (*bias, *self.notes)],
        )  # fmt: skip

    def plot(self, *, figsize: tuple[float, float] | None = None) -> Figure:
        """Ranking with bootstrap CIs (:func:`promptab_nb.plots.pairwise_ranking`)."""
        from ..plots.pairwise import pairwise_ranking

        return pairwise_ranking(self, figsize=figsize)


def _verdict(reply: Any) -> str | None:
    from .models import normalize_response

    text = normalize_response(reply).text
    whole = _ONE_WORD.fullmatch(text)
    if whole:
        return whole.group(1).upper()
    named = {
        "TIE" if m.group(2) else m.group(1)
        for m in _NAMED.finditer(_A_TIE.sub("tie", text))
        if m.group(2) or m.group(1).isupper()
    }
    return named.pop() if len(named) == 1 else None


def run_pairwise(
    ws: Workspace,
    dataset: Any,
    versions: Any = None,
    judge: Callable[[str], Any] | None = None,
    *,
    model: Callable[[str], Any] | None = None,
    swap: bool = True,
    repeat: int = 0,
    alpha: float = 0.05,
    n_boot: int = 1000,
    seed: int | None = 0,
    concurrency: int = 8,
    progress: bool = True,
) -> PairwiseResult:
    """Judge every pair of versions on every item and fit Bradley–Terry strengths.

    Parameters
    ----------
    ws
        The workspace (stores the outputs through ``ws.run_offline``).
    dataset
        A dataset (then ``versions`` and ``model`` produce the outputs, one repeat) or an
        existing :class:`~promptab_nb.offline.OfflineRun` (its outputs of ``repeat`` are used).
    versions
        Prompt versions as for ``ws.run_offline`` (ignored for a run).
    judge
        ``judge(prompt) -> "A" | "B" | "TIE"`` (text containing one of them), e.g.
        :class:`DemoJudge` or :func:`~promptab_nb.offline.openai_compatible`.
    swap
        Judge both orders; position bias is measured and disagreeing orders count as a tie.
    alpha, n_boot, seed
        Level of the percentile bootstrap CIs over items, resamples, seed.

    Returns
    -------
    PairwiseResult
        With the (item, pair) units left out (no output, no verdict) counted by reason.

    Raises
    ------
    InvalidArgumentError
        No judge, fewer than two versions, or a dataset without a model.
    DataError
        No item has outputs in two versions, or the judge gave no verdict at all.
    """
    from ._run import OfflineRun

    check(n_boot, "n_boot", ge=100, integer=True)
    check(alpha, "alpha", gt=0, lt=1)
    check(concurrency, "concurrency", ge=1, integer=True)
    check(repeat, "repeat", ge=0, integer=True)
    if seed is not None:
        check(seed, "seed", ge=0, integer=True)
    repeat, concurrency = int(repeat), int(concurrency)
    if judge is None or not callable(judge):
        raise InvalidArgumentError("judge must be a callable: judge(prompt) -> 'A' | 'B' | 'TIE'")
    if isinstance(dataset, OfflineRun):
        run = dataset
        # repeats 0 … repeats − 1 exist; name the argument rather than find no outputs.
        check(repeat, "repeat", ge=0, lt=run.repeats, integer=True)
    else:
        if model is None:
            raise InvalidArgumentError("model= is needed to answer the dataset (or pass a run)")
        run = ws.run_offline(dataset, versions, model, repeats=repeat + 1, scorers=[],
                             progress=progress, concurrency=concurrency)  # fmt: skip
    labels = run.labels
    if len(labels) < 2:
        raise InvalidArgumentError("pairwise preference needs two or more versions")
    res = run.results()
    # A failed cell's error (or output) is NA, not None, once any cell of the run failed.
    res = res[(res["repeat_idx"] == repeat) & res["error"].isna() & res["output"].notna()]
    out = {(v, str(i)): o for v, i, o in zip(res["version"], res["item_id"], res["output"],
                                             strict=True)}  # fmt: skip
    pairs = list(combinations(range(len(labels)), 2))
    judged: dict[tuple[int, int], list[tuple[str, int]]] = {p: [] for p in pairs}
    items: list[Any] = []
    tasks: list[tuple[Any, ...]] = []
    for it in run.dataset:
        # Each pair of versions uses every item where both have an output.
        have = [(i, j) for i, j in pairs
                if (labels[i], it.item_id) in out and (labels[j], it.item_id) in out]  # fmt: skip
        if not have:
            continue
        n_i = len(items)
        items.append(it)
        for i, j in have:
            judged[(i, j)].append((it.item_id, repeat))
            a, b = out[(labels[i], it.item_id)], out[(labels[j], it.item_id)]
            tasks.append((n_i, i, j, 0, pairwise_prompt(it.variables, it.expected, a, b)))
            if swap:
                tasks.append((n_i, i, j, 1, pairwise_prompt(it.variables, it.expected, b, a)))
    cells = cell_reasons(run, "output", "output", "repeat_idx")
    cells = cells[cells["k"] == repeat]
    no_output = {
        p: left_out(cells, labels[p[0]], labels[p[1]], judged[p], pairing="item") for p in pairs
    }
    if not tasks:
        why = "; ".join(f"{labels[i]} vs {labels[j]}: {left.describe()}"
                        for (i, j), left in no_output.items())  # fmt: skip
        raise DataError(
            f"run {run.run_id}: no item has an output in two versions at repeat {repeat}; {why}"
        )
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        replies = list(tqdm(pool.map(lambda t: _safe(judge, t[4]), tasks), total=len(tasks),
                            disable=not progress, desc="pairwise judge", unit="call"))  # fmt: skip
    return _summarise(run.run_id, labels, items, tasks, replies, swap, alpha, n_boot, seed,
                      no_output)  # fmt: skip


def _safe(judge: Callable[[str], Any], prompt: str) -> tuple[str | None, str | None]:
    """The verdict of one judge call, or None and why there is none."""
    try:
        verdict = _verdict(judge(prompt))
    except Exception:  # a failed judgment is missing, like a failed cell
        return None, "judge error"
    return (verdict, None) if verdict is not None else (None, "no verdict in reply")


def _left_by_judge(
    labels: tuple[str, ...], i: int, j: int, got: dict[int, int | None], why: dict[int, str]
) -> tuple[str | None, str | None]:
    """(why the (item, pair) unit is left out, why it was decided by one order only) from its
    orders' verdicts ``got`` and failures ``why`` (order 0 shows ``labels[i]`` first)."""
    first = {0: labels[i], 1: labels[j]}
    if all(v is None for v in got.values()):
        if len(why) == 2:
            r0, r1 = why[0], why[1]
            text = f"{r0} in both orders" if r0 == r1 else (
                f"{r0} with {first[0]} first, {r1} with {first[1]} first"
            )  # fmt: skip
            return text, None
        return next(iter(why.values())), None
    if why:
        ((order, reason),) = why.items()
        return None, f"{reason} with {first[order]} first"
    return None, None


def _check_connected(labels: tuple[str, ...], wins: np.ndarray, notes: list[str]) -> None:
    """Raise when some versions were never compared, directly or through others (their
    Bradley–Terry strengths are not identified); ``notes`` say why pairs lost their items.

    Raises
    ------
    DataError
        Naming the versions cut off from the first one and the versions they were not
        compared with.
    """
    joined = reached((wins + wins.T) > 0)
    if joined.all():
        return
    cut = [label for label, j in zip(labels, joined, strict=True) if not j]
    linked = [label for label, j in zip(labels, joined, strict=True) if j]
    why = f" ({'; '.join(notes)})" if notes else ""
    raise DataError(
        f"{', '.join(cut)} {'was' if len(cut) == 1 else 'were'} never compared with "
        f"{', '.join(linked)}{why}, so the Bradley–Terry strengths are not identified; "
        "leave those versions out of the run, or fix what kept them from being judged"
    )


def _summarise(
    run_id: str, labels: tuple[str, ...], items: list[Any], tasks: list[tuple[Any, ...]],
    replies: list[tuple[str | None, str | None]], swap: bool, alpha: float, n_boot: int,
    seed: int | None, no_output: dict[tuple[int, int], LeftOut],
) -> PairwiseResult:  # fmt: skip
    import pandas as pd

    k, n = len(labels), len(items)
    if not any(v is not None for v, _ in replies):
        failed = Counter(str(why) for _, why in replies)
        raise DataError(
            f"the judge gave no verdict on any of {len(replies)} calls: "
            f"{counts_text(tuple(failed.most_common()))}"
        )
    # winner per (item, pair, order) in version indices; -1 tie, None missing
    cells: dict[tuple[int, int, int], dict[int, int | None]] = {}
    failures: dict[tuple[int, int, int], dict[int, str]] = {}
    rows, first = [], [0, 0]
    for (n_i, i, j, order, _), (v, why) in zip(tasks, replies, strict=True):
        first_v, second_v = (i, j) if order == 0 else (j, i)
        win = None if v is None else {"A": first_v, "B": second_v, "TIE": -1}[v]
        if v in ("A", "B"):
            first[0 if v == "A" else 1] += 1
        cells.setdefault((n_i, i, j), {})[order] = win
        if why is not None:
            failures.setdefault((n_i, i, j), {})[order] = why
        rows.append({"item_id": items[n_i].item_id, "first": labels[first_v],
                     "second": labels[second_v], "verdict": v, "reason": why})  # fmt: skip
    per_item = np.zeros((n, k, k))
    agree = both = ties = 0
    by_judge: dict[tuple[int, int], Counter[str]] = {p: Counter() for p in no_output}
    one_order: dict[tuple[int, int], Counter[str]] = {p: Counter() for p in no_output}
    decided: Counter[tuple[int, int]] = Counter()
    for (n_i, i, j), got in cells.items():
        gone, single = _left_by_judge(labels, i, j, got, failures.get((n_i, i, j), {}))
        if gone is not None:
            by_judge[(i, j)][gone] += 1
        if single is not None:
            one_order[(i, j)][single] += 1
        verdicts = [w for w in got.values() if w is not None]
        if not verdicts:
            continue
        decided[(i, j)] += 1
        if swap and len(verdicts) == 2:
            both += 1
            agree += verdicts[0] == verdicts[1]
        w = verdicts[0] if all(x == verdicts[0] for x in verdicts) else -1
        if w == -1:
            ties += 1
            per_item[n_i, i, j] += 0.5
            per_item[n_i, j, i] += 0.5
        else:
            per_item[n_i, w, j if w == i else i] += 1
    wins = per_item.sum(axis=0)
    notes = []
    dropped: list[tuple[str, int]] = []
    for (i, j), left in no_output.items():
        pair = f"{labels[i]} vs {labels[j]}"
        # Units without outputs were never judged, so the two kinds of reason never overlap.
        left = LeftOut(
            left.n_units, left.unit, left.reasons + tuple(by_judge[(i, j)].most_common())
        )
        why = left.describe()
        if why:
            notes.append(f"{pair}: {why}")
        dropped += [(f"{pair}: {text}", c) for text, c in left.reasons]
        if one_order[(i, j)]:
            counts = tuple(one_order[(i, j)].most_common())
            notes.append(
                f"{pair}: {sum(c for _, c in counts)} of {decided[(i, j)]} items judged in one "
                f"order only: {counts_text(counts)}"
            )
    _check_connected(labels, wins, notes)
    reg = 0.0
    fit = stats.bradley_terry(wins)
    if not fit.converged:  # (separation: a version won or lost every comparison)
        reg = 0.01
        fit = stats.bradley_terry(wins, reg=reg)
        notes.append("a version won or lost every comparison: strengths use a weak ridge (0.01)")
    rng = np.random.default_rng(seed)
    mult = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)])
    boot, _, _ = bradley_terry_batch(np.einsum("bn,nkl->bkl", mult, per_item),
                                           reg=max(reg, 1e-3))  # fmt: skip
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    if n < 2:  # resampling one item gives it back every time: a CI of width 0, not certainty
        lo, hi = np.full(k, np.nan), np.full(k, np.nan)
        notes.append("1 item judged: no bootstrap CI (resampling one item returns it every time)")
    games = wins + wins.T
    rate = np.divide(wins, games, out=np.full_like(wins, np.nan), where=games > 0)
    decisive = first[0] + first[1]
    share = ci = p = None
    if swap and decisive:
        import scipy.stats

        share = first[0] / decisive
        ci = stats.proportion_ci(first[0], decisive, alpha=alpha)
        p = float(scipy.stats.binomtest(first[0], decisive).pvalue)
    notes.append(
        "bootstrap replicates resample items and use a ridge of 0.001 so a replicate where a "
        "version never wins stays finite"
    )
    return PairwiseResult(
        versions=labels, strengths=fit.strengths, ci_low=lo, ci_high=hi, win_rate=rate,
        n_items=n, n_judgments=sum(v is not None for v, _ in replies), ties=ties,
        first_slot_share=share, first_slot_ci=ci, first_slot_p=p,
        consistency=agree / both if both else None, alpha=alpha, n_boot=n_boot, seed=seed,
        run_id=run_id, judgments=pd.DataFrame(rows), notes=tuple(notes),
        n_dropped=sum(c for _, c in dropped), dropped=tuple(dropped),
        n_one_order=sum(sum(c.values()) for c in one_order.values()),
    )  # fmt: skip
