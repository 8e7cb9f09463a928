"""The original's steady-state GA over one layer's mask, as ask/tell: each step breeds two children from two
parents drawn uniformly (single-point crossover, prune-only mutation); once they are scored they join the
population and its two worst members are dropped. Fitness is higher-is-better (`operators.original_fitness`).

The population starts as `size` masks (genes pruned with probability 0.1) that are scored first. A step's two
children can be scored in parallel; the next step needs their fitness. Early stop: once the best member's
sparsity reaches `stop_sparsity`. The state is JSON (each mask named as the caller stores it) so a run can save
and resume it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from gridprune.methods.layer_ga import operators as ops
from gridprune.methods.layer_ga.masks import hex_load, hex_store


class SteadyState:
    """The original's GA over `genes` genes: `size` members, `steps` steps (two children each)."""

    def __init__(self, genes: int, size: int, steps: int, mutation_rate: float, seed: int,
                 stop_sparsity: float = 1.0):
        if size < 3:
            raise ValueError(f"a population of at least 3 is needed (two are dropped each step), not {size}")
        self.size, self.steps, self.mutation_rate, self.stop_sparsity = size, steps, mutation_rate, stop_sparsity
        self.rng = np.random.default_rng(seed)
        self.population: list[np.ndarray] = ops.original_population(genes, size, self.rng)
        self.fitnesses: list[float] | None = None  # None until the first population is scored
        self.done_steps = 0

    @property
    def finished(self) -> bool:
        if self.fitnesses is None:
            return False
        best = self.population[int(np.argmax(self.fitnesses))]
        return self.done_steps >= self.steps or ops.sparsity(best) >= self.stop_sparsity

    def ask(self) -> list[np.ndarray]:
        """The masks to score next: the initial population, then two children per step."""
        if self.fitnesses is None:
            return list(self.population)
        first, second = ops.uniform_parents(len(self.population), self.rng)
        children = ops.single_point_crossover(self.population[first], self.population[second], self.rng)
        return [ops.prune_only_mutation(child, self.mutation_rate, self.rng) for child in children]

    def tell(self, masks: Sequence[np.ndarray], fitnesses: Sequence[float]) -> None:
        """The fitness of each mask `ask` gave, in its order."""
        if self.fitnesses is None:
            self.fitnesses = list(fitnesses)
            return
        population = self.population + list(masks)
        scores = self.fitnesses + list(fitnesses)
        self.population, self.fitnesses = ops.drop_worst(population, scores, count=len(masks))
        self.done_steps += 1

    def best(self) -> tuple[np.ndarray, float]:
        """The fittest member and its fitness."""
        if self.fitnesses is None:
            raise ValueError("the population has not been scored yet")
        index = int(np.argmax(self.fitnesses))
        return self.population[index], self.fitnesses[index]

    def state_dict(self, store: Callable[[np.ndarray], str] = hex_store) -> dict[str, Any]:
        """JSON; each mask as `store` names it (default: its packed bytes in hex)."""
        return {"population": [store(m) for m in self.population], "fitnesses": self.fitnesses,
                "done_steps": self.done_steps, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any], load: Callable[[str], np.ndarray] = hex_load) -> None:
        """Continue from `state_dict` (the settings are the constructor's); `load` reads what `store` gave."""
        self.population = [load(m) for m in state["population"]]
        self.fitnesses, self.done_steps = state["fitnesses"], state["done_steps"]
        self.rng.bit_generator.state = state["rng"]
