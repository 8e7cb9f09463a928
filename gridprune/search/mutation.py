"""Per-gene mutation (beyond the paper, whose only mutation is inside crossover)."""

from __future__ import annotations

from typing import Collection

import numpy as np

from gridprune.search.space import Chromosome, SearchSpace


def draw_free_block(taken: Collection[int], granularity: int, rng: np.random.Generator) -> int:
    """A block in [0, granularity) not in ``taken``, uniformly."""
    free = [g for g in range(granularity) if g not in taken]
    if not free:
        raise ValueError(f"all {granularity} blocks are taken")
    return free[int(rng.integers(len(free)))]


def mutate(chrom: Chromosome, space: SearchSpace, rate: float, rng: np.random.Generator) -> Chromosome:
    """Replace each gene, with probability ``rate``, by a random block not in its layer's set,
    in the same slot (the slot order is kept).

    A rate of 0 draws nothing from ``rng``, so it leaves the paper's random stream intact.
    Layers that prune every block have no free block and are left unchanged.
    """
    if rate == 0.0:
        return chrom
    layers = []
    for genes in chrom:
        current = list(genes)
        for slot in range(len(current)):
            if rng.random() < rate and len(current) < space.granularity:
                current[slot] = draw_free_block(current, space.granularity, rng)
        layers.append(tuple(current))
    return tuple(layers)
