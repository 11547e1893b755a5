"""Bradley–Terry strengths from pairwise preferences (with ties counted as half a win each).

``P(i beats j) = 1 / (1 + exp(−(θᵢ − θⱼ)))``; θ is fitted by maximum likelihood with Newton's
method (the first strength fixed while fitting, then all centred to mean 0), batched over many
win matrices at once so bootstrap replicates cost one vectorised fit. A tie adds ½ to both
``wins[i, j]`` and ``wins[j, i]``, which is the maximum-likelihood fit ``choix`` gives when every
decisive comparison is listed twice and a tie once in each direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check
from ..errors import InvalidArgumentError

__all__ = ["BradleyTerry", "bradley_terry", "bradley_terry_batch"]


@dataclass(frozen=True)
class BradleyTerry:
    """Strengths θ (log-odds scale, mean 0), the win matrix they were fitted on, and whether
    Newton's method converged (it does not when one item wins or loses every comparison and
    ``reg`` is 0: its strength is then infinite)."""

    strengths: np.ndarray
    wins: np.ndarray
    converged: bool
    iterations: int

    def prob(self, i: int, j: int) -> float:
        """Fitted probability that ``i`` is preferred to ``j``."""
        return float(1 / (1 + np.exp(-(self.strengths[i] - self.strengths[j]))))


def bradley_terry_batch(
    wins: np.ndarray, *, reg: float = 0.0, max_iter: int = 100, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray, int]:
    """Fit many win matrices ``wins[b, i, j]`` at once; returns (θ of shape (B, K), converged
    per matrix, iterations). ``reg`` adds a ridge penalty ``reg/2 · ‖θ‖²``."""
    w = np.asarray(wins, dtype=float)
    if w.ndim != 3 or w.shape[1] != w.shape[2] or w.shape[1] < 2:
        raise InvalidArgumentError(f"wins has shape {w.shape}; need (B, K, K) with K >= 2")
    if not np.isfinite(w).all():
        raise InvalidArgumentError("wins has NaN or infinite counts; count each preference")
    if (w < 0).any():
        raise InvalidArgumentError("wins has negative counts")
    b, k = w.shape[0], w.shape[1]
    n = w + np.swapaxes(w, 1, 2)
    if not reg and not _connected(n > 0):  # (a ridge identifies unconnected strengths)
        raise InvalidArgumentError(
            "the comparisons do not connect every item (some item was never compared); "
            "Bradley–Terry strengths are not identified"
        )
    theta = np.zeros((b, k))
    done = np.zeros(b, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        diff = theta[:, :, None] - theta[:, None, :]
        p = 1 / (1 + np.exp(-diff))
        grad = (w - n * p).sum(axis=2) - reg * theta
        info = n * p * (1 - p)
        hess = info.copy()  # H = −(information); off-diagonal +n p (1 − p)
        idx = np.arange(k)
        hess[:, idx, idx] = -info.sum(axis=2) - reg
        # Fix θ₀ (translation makes the unpenalised Hessian singular), solve for the rest.
        step = np.zeros_like(theta)
        h, g = (hess, grad) if reg else (hess[:, 1:, 1:], grad[:, 1:])
        try:
            solved = np.linalg.solve(h, g[:, :, None])[..., 0]
        except np.linalg.LinAlgError:
            # Connected, yet singular: a separated fit (one item won every comparison) whose
            # win probability rounded to 1. It keeps diverging, clipped, and is not converged,
            # as the same fit with the items in the other order.
            solved = (np.linalg.pinv(h) @ g[:, :, None])[..., 0]
        if reg:
            step = -solved
        else:
            step[:, 1:] = -solved
        step = np.clip(step, -5, 5)  # keep diverging (separated) fits from overflowing
        step[done] = 0
        theta += step
        done |= np.abs(step).max(axis=1) < tol
        if done.all():
            break
    # A pair whose fitted win probability is 0 or 1 in floating point is separated (one item
    # won every comparison): its strengths have no finite maximum, whichever way round.
    p = 1 / (1 + np.exp(-(theta[:, :, None] - theta[:, None, :])))
    done &= ~((n > 0) & ((p == 0) | (p == 1))).any(axis=(1, 2))
    theta -= theta.mean(axis=1, keepdims=True)
    return theta, done, it


def reached(compared: np.ndarray) -> np.ndarray:
    """The items joined to item 0 by comparisons, directly or through others (a boolean mask);
    ``compared[i, j]`` is True when ``i`` and ``j`` were compared."""
    seen = np.zeros(compared.shape[0], dtype=bool)
    seen[0] = True
    while True:
        grown = seen | compared[seen].any(axis=0)
        if (grown == seen).all():
            return seen
        seen = grown


def _connected(edges: np.ndarray) -> bool:
    """Whether every matrix of ``edges[b, i, j]`` joins all its items in one component."""
    return all(reached(e).all() for e in edges)


def bradley_terry(wins: np.ndarray, *, reg: float = 0.0) -> BradleyTerry:
    """Bradley–Terry fit of one matrix ``wins[i, j]`` = times ``i`` was preferred to ``j``
    (ties as ½ to each).

    Raises
    ------
    InvalidArgumentError
        Not a square matrix of K >= 2 non-negative counts, or ``reg < 0``.

    Examples
    --------
    >>> fit = bradley_terry(np.array([[0, 3.0], [1.0, 0]]))
    >>> round(fit.prob(0, 1), 3)
    0.75
    """
    check(reg, "reg", ge=0)
    w = np.asarray(wins, dtype=float)
    theta, done, it = bradley_terry_batch(w[None], reg=reg)
    return BradleyTerry(theta[0], w, bool(done[0]), it)
