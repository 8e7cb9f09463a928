"""The GA's operators on a synthetic additive fitness, where the optimum is known (numpy only).

Each (layer, block) gets a uniform random cost in [0, 1); a chromosome's fitness is
the total cost of the blocks it prunes, so the optimum prunes the cheapest blocks
of every layer. For each slot order, crossover variant and elitism, the table gives
the best individual's gap to that optimum after some generations, per seed, and
the gap of a random chromosome for scale. Defaults: the paper's shape (24 layers,
32 blocks, 20 pruned), population 100, pressure 3, 70 generations, two seeds.

    python benchmarks/synthetic_ga.py [--seeds 0 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridprune.search import (  # noqa: E402  (numpy only: no torch is imported)
    CROSSOVER_VARIANTS,
    ELITISMS,
    SLOT_ORDERS,
    GeneticSearch,
    SearchSpace,
    random_chromosome,
)


def additive_fitness(costs: np.ndarray):
    """Total cost of the pruned blocks of a chromosome."""

    def fitness(chrom) -> float:
        return float(sum(costs[layer, list(genes)].sum() for layer, genes in enumerate(chrom)))

    return fitness


def optimum(costs: np.ndarray, pruned: int) -> float:
    return float(np.sort(costs, axis=1)[:, :pruned].sum())


def run_one(space: SearchSpace, costs: np.ndarray, args, seed: int, slot_order: str, variant: str,
            elitism: str) -> list[float]:
    """The best-so-far gap to the optimum after each generation."""
    fitness = additive_fitness(costs)
    best_possible = optimum(costs, args.pruned)
    search = GeneticSearch(space, args.population, pressure=args.pressure, slot_order=slot_order,
                           crossover=variant, elitism=elitism, generations=args.generations, seed=seed)
    gaps = []
    while not search.finished:
        population = search.ask()
        search.tell(population, [fitness(c) for c in population])
        gaps.append(search.best[1] - best_possible)
    return gaps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--granularity", type=int, default=32)
    parser.add_argument("--pruned", type=int, default=20)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--pressure", type=float, default=3.0)
    parser.add_argument("--generations", type=int, default=70)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--slot-orders", nargs="+", default=list(SLOT_ORDERS), choices=SLOT_ORDERS)
    parser.add_argument("--crossovers", nargs="+", default=list(CROSSOVER_VARIANTS), choices=CROSSOVER_VARIANTS)
    parser.add_argument("--elitisms", nargs="+", default=list(ELITISMS), choices=ELITISMS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    space = SearchSpace.uniform(range(args.layers), args.granularity, args.pruned)
    costs = {seed: np.random.default_rng([seed, 2023]).random((args.layers, args.granularity)) for seed in args.seeds}
    random_gap = {}
    for seed in args.seeds:
        rng = np.random.default_rng([seed, 7])
        fitness = additive_fitness(costs[seed])
        random_gap[seed] = statistics.fmean(fitness(random_chromosome(space, rng)) for _ in range(200)) \
            - optimum(costs[seed], args.pruned)
    checkpoints = sorted({g for g in (10, 35, args.generations) if g <= args.generations})
    rows = []
    for slot_order, variant, elitism in itertools.product(args.slot_orders, args.crossovers, args.elitisms):
        started = time.perf_counter()
        gaps = {seed: run_one(space, costs[seed], args, seed, slot_order, variant, elitism) for seed in args.seeds}
        rows.append({
            "slot_order": slot_order, "crossover": variant, "elitism": elitism,
            "gap": {str(seed): {str(g): gaps[seed][g - 1] for g in checkpoints} for seed in args.seeds},
            "final_mean": statistics.fmean(gaps[seed][-1] for seed in args.seeds),
            "seconds": time.perf_counter() - started,
        })

    print(f"additive synthetic fitness: {args.layers} layers, {args.granularity} blocks, {args.pruned} pruned, "
          f"population {args.population}, pressure {args.pressure}, {args.generations} generations, "
          f"seeds {args.seeds}")
    print("gap of the best so far to the optimum (costs uniform in [0, 1)); a random chromosome's mean gap: "
          + ", ".join(f"seed {s}: {random_gap[s]:.1f}" for s in args.seeds))
    head = ["slot_order", "crossover", "elitism"] + [f"s{s}@{g}" for s in args.seeds for g in checkpoints] + ["mean"]
    print(" ".join(f"{h:>10}" for h in head))
    for row in rows:
        cells = [row["slot_order"], row["crossover"], row["elitism"]]
        cells += [f"{row['gap'][str(s)][str(g)]:.2f}" for s in args.seeds for g in checkpoints]
        cells.append(f"{row['final_mean']:.2f}")
        print(" ".join(f"{c:>10}" for c in cells))
    figures = {"settings": {k: v for k, v in vars(args).items() if k != "json"},
               "random_gap": {str(s): g for s, g in random_gap.items()}, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    main()
