"""Rank-exponential parent selection of the seed paper."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def rank_order(fitnesses: Sequence[float]) -> list[int]:
    """Population positions from best (lowest fitness) to worst; ties keep population order."""
    return [int(i) for i in np.argsort(np.asarray(fitnesses, dtype=float), kind="stable")]


def rank_index(v: float, n: int, pressure: float) -> int:
    """The rank drawn for ``v`` in [0, 1]: ``min(floor((n-1)(exp(p v)-1)/(exp(p)-1)), n-1)``.

    With ``v`` in [0, 1) the last rank (the worst individual) is never drawn, as in the paper.
    """
    return min(math.floor((n - 1) * (math.exp(pressure * v) - 1) / (math.exp(pressure) - 1)), n - 1)


def select_parents(order: Sequence[int], pressure: float, rng: np.random.Generator) -> tuple[int, int]:
    """Two distinct population positions drawn by rank from ``order`` (see ``rank_order``)."""
    n = len(order)
    if n < 3:
        # v < 1 never draws the last rank, so with two individuals both parents would be rank 0.
        raise ValueError(f"selection needs at least 3 individuals, got {n}")
    first = rank_index(rng.random(), n, pressure)
    second = rank_index(rng.random(), n, pressure)
    while second == first:
        second = rank_index(rng.random(), n, pressure)
    return order[first], order[second]
