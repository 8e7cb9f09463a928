"""The genetic operators of the per-layer mask GA over one layer's genes (True = kept), the original's and
gridprune's. Pure numpy, seeded by the generator passed in.

The original's (steady state): genes start pruned with probability 0.1; two parents drawn uniformly (blind to
fitness, possibly the same one); single-point crossover; a mutation that only prunes; the two children
joined and the two worst of the population dropped; fitness w * sparsity + (1 - w) * score, 0 under a floor.

gridprune's (generational, so a generation's children are evaluated in parallel): parents by rank
(`gridprune.search.selection`); a swap mutation that restores as many genes as it prunes, so the density
stays where the seed put it; an initial population seeded from the magnitude mask with perturbations.
"""

from __future__ import annotations

import numpy as np

INITIAL_PRUNE_PROBABILITY = 0.1  # the original's


def sparsity(mask: np.ndarray) -> float:
    """The share of pruned genes."""
    return 1.0 - float(mask.mean())


def original_fitness(mask: np.ndarray, score: float, weight: float, floor: float) -> float:
    """The original's fitness (higher is better): w * sparsity + (1 - w) * score, 0 when score < floor."""
    return 0.0 if score < floor else weight * sparsity(mask) + (1 - weight) * score


def original_population(genes: int, size: int, rng: np.random.Generator,
                        prune_probability: float = INITIAL_PRUNE_PROBABILITY) -> list[np.ndarray]:
    """`size` masks, each gene pruned with probability `prune_probability`."""
    return [rng.random(genes) >= prune_probability for _ in range(size)]


def uniform_parents(size: int, rng: np.random.Generator) -> tuple[int, int]:
    """Two population positions drawn uniformly and independently (the same one possibly twice)."""
    return int(rng.integers(size)), int(rng.integers(size))


def single_point_crossover(first: np.ndarray, second: np.ndarray,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two children swapping the parents' tails after one cut in [1, genes - 1]."""
    if len(first) < 2:
        return first.copy(), second.copy()
    cut = int(rng.integers(1, len(first)))
    return (np.concatenate([first[:cut], second[cut:]]), np.concatenate([second[:cut], first[cut:]]))


def prune_only_mutation(mask: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each gene pruned with probability `rate`; none is ever restored (the original's)."""
    return mask & (rng.random(len(mask)) >= rate)


def drop_worst(population: list[np.ndarray], fitnesses: list[float], count: int = 2) -> tuple[list, list]:
    """The population without its `count` lowest-fitness members (the later one first at a tie)."""
    order = sorted(range(len(population)), key=lambda i: (fitnesses[i], -i))
    dropped = set(order[:count])
    kept = [i for i in range(len(population)) if i not in dropped]
    return [population[i] for i in kept], [fitnesses[i] for i in kept]


def magnitude_mask(weights: np.ndarray, target: float) -> np.ndarray:
    """Keep the largest |weights|, pruning round(target * genes) of them (at a tie the lower index is pruned
    first); the mask has the weights' shape."""
    weights = np.asarray(weights, dtype=np.float64)
    flat = np.abs(weights).reshape(-1)
    mask = np.ones(len(flat), dtype=bool)
    mask[np.argsort(flat, kind="stable")[:round(target * len(flat))]] = False
    return mask.reshape(weights.shape)


def swap_mutation(mask: np.ndarray, swaps: int, rng: np.random.Generator) -> np.ndarray:
    """Restore up to `swaps` pruned genes and prune as many kept ones: the density stays the same."""
    kept, pruned = np.flatnonzero(mask), np.flatnonzero(~mask)
    count = min(swaps, len(kept), len(pruned))
    child = mask.copy()
    child[rng.choice(pruned, count, replace=False)] = True
    child[rng.choice(kept, count, replace=False)] = False
    return child


def seeded_population(seed: np.ndarray, size: int, swaps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The seed mask itself and `size - 1` swap-mutated copies of it."""
    return [seed.copy()] + [swap_mutation(seed, swaps, rng) for _ in range(size - 1)]
