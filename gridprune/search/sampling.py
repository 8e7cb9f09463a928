"""The initial population: random chromosomes plus seed chromosomes (e.g. from L1-norm pruning)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gridprune.search.space import Chromosome, SearchSpace, canonical


def random_chromosome(space: SearchSpace, rng: np.random.Generator) -> Chromosome:
    """Draw each pruned layer's blocks uniformly without replacement, in the (random) order drawn,
    which becomes the slot order."""
    return tuple(
        tuple(int(g) for g in rng.choice(space.granularity, n, replace=False))
        for n in space.pruned_blocks
    )


def l1_seed(block_norms: Sequence[np.ndarray], space: SearchSpace) -> Chromosome:
    """Prune, in each layer, the blocks with the smallest L1 norm (ties: lower index first),
    in ascending block order.

    ``block_norms[i]`` holds the L1 norm of each of the ``granularity`` blocks of the
    i-th pruned layer.
    """
    if len(block_norms) != len(space.layers):
        raise ValueError(
            f"got block norms for {len(block_norms)} layers, the space has {len(space.layers)}"
        )
    chrom = []
    for layer, norms, n in zip(space.layers, block_norms, space.pruned_blocks):
        norms = np.asarray(norms, dtype=float)
        if norms.shape != (space.granularity,):
            raise ValueError(
                f"layer {layer}: block norms have shape {norms.shape}, expected ({space.granularity},)"
            )
        if not np.all(np.isfinite(norms)):
            raise ValueError(f"layer {layer}: block norms are not all finite")
        smallest = np.argsort(norms, kind="stable")[:n]
        chrom.append(tuple(sorted(int(g) for g in smallest)))
    return tuple(chrom)


def initial_population(
    space: SearchSpace,
    size: int,
    rng: np.random.Generator,
    seeds: Sequence[Chromosome] = (),
) -> list[Chromosome]:
    """``size`` individuals with distinct block sets (``canonical``): the distinct seeds first,
    then random chromosomes.

    Raises ValueError if the space holds fewer than ``size`` chromosomes or there are
    more distinct seeds than ``size``.
    """
    if space.size() < size:
        raise ValueError(
            f"the space has only {space.size()} chromosomes, fewer than {size} individuals"
        )
    for seed in seeds:
        space.validate(seed)
    population = distinct(seeds)
    if len(population) > size:
        raise ValueError(
            f"{len(population)} distinct seed individuals exceed the population size {size}"
        )
    present = {canonical(chrom) for chrom in population}
    while len(population) < size:
        chrom = random_chromosome(space, rng)
        if canonical(chrom) not in present:
            present.add(canonical(chrom))
            population.append(chrom)
    return population


def distinct(chromosomes: Sequence[Chromosome]) -> list[Chromosome]:
    """The first of each group of chromosomes with the same block sets, in order."""
    first: dict[Chromosome, Chromosome] = {}
    for chrom in chromosomes:
        first.setdefault(canonical(chrom), chrom)
    return list(first.values())
