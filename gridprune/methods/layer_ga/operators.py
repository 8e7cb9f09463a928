"""The genetic operators of the per-layer mask GA over one layer's genes (True = kept), the original's and
gridprune's. Pure numpy, seeded by the generator passed in.

The original's (steady state): genes start pruned with probability 0.1; two parents drawn uniformly (blind to
fitness, possibly the same one); single-point crossover; a mutation that only prunes; the two children
joined and the two worst of the population dropped; fitness w * sparsity + (1 - w) * score, 0 under a floor.

gridprune's (generational, so a generation's children are evaluated in parallel): parents by rank
(`gridprune.search.selection`); a swap mutation that restores as many genes as it prunes, near the magnitude
threshold (the least important kept genes against the most important pruned ones: a random swap among 262,144
weights carries almost no signal); a step that prunes the least important kept genes (towards more sparsity);
an initial population of magnitude masks (at spread sparsities, or at the target one with perturbations).
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


def boundary_swap(mask: np.ndarray, scores: np.ndarray, swaps: int, rng: np.random.Generator,
                  width: int = 4) -> np.ndarray:
    """Restore `swaps` pruned genes drawn from the `width * swaps` highest-scored pruned ones and prune as many
    drawn from the `width * swaps` lowest-scored kept ones: the density stays the same."""
    kept, pruned = np.flatnonzero(mask), np.flatnonzero(~mask)
    count = min(swaps, len(kept), len(pruned))
    if count == 0:
        return mask.copy()
    window = width * count
    restorable = pruned[np.argsort(-scores[pruned], kind="stable")[:window]]
    prunable = kept[np.argsort(scores[kept], kind="stable")[:window]]
    child = mask.copy()
    child[rng.choice(restorable, count, replace=False)] = True
    child[rng.choice(prunable, count, replace=False)] = False
    return child


def prune_lowest(mask: np.ndarray, scores: np.ndarray, count: int) -> np.ndarray:
    """`mask` with its `count` lowest-scored kept genes pruned."""
    kept = np.flatnonzero(mask)
    child = mask.copy()
    child[kept[np.argsort(scores[kept], kind="stable")[:count]]] = False
    return child


def at_density(mask: np.ndarray, scores: np.ndarray, pruned_count: int) -> np.ndarray:
    """`mask` with exactly `pruned_count` genes pruned: the lowest-scored kept ones pruned, or the highest-scored
    pruned ones restored, as needed."""
    excess = pruned_count - int((~mask).sum())
    if excess >= 0:
        return prune_lowest(mask, scores, excess)
    pruned = np.flatnonzero(~mask)
    child = mask.copy()
    child[pruned[np.argsort(-scores[pruned], kind="stable")[:-excess]]] = True
    return child


def level_population(scores: np.ndarray, size: int, low: float = 0.05, high: float = 0.95) -> list[np.ndarray]:
    """`size` magnitude masks at sparsities spread evenly over [low, high]."""
    return [magnitude_mask(scores, level) for level in np.linspace(low, high, size)]
