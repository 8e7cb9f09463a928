"""The search over one target's mask, as ask/tell on errors (a WER, or 1 - accuracy: lower is better; None for
an evaluation rejected above the ceiling it was given). Three searches:

- `OriginalSearch`: the original's steady-state GA (`steady_state.SteadyState`), its fitness
  w * sparsity + (1 - w) * (1 - error), 0 when 1 - error falls under the floor. Two children a round, as many
  steps a generation as the population has members (the original's 10).
- `GenerationalSearch` (gridprune's operators, `masks: search`): a population of `size`; each round `size`
  children bred from parents drawn by rank, made by single-point crossover and the magnitude-guided operators of
  `operators` (under max_sparsity each child, with even odds apiece, takes a step of up to 2% of the genes
  towards sparsity and a swap near the magnitude threshold); the best `size` of parents and children survive.
  Objective `max_sparsity`: feasible (error within the ceiling) before infeasible, then more sparsity, then
  less error; `target_sparsity`: every mask at the target's density, less error is better (a mask over the
  ceiling ranks by its sparsity alone, so cutting its evaluation short at the ceiling changes nothing).
- `DensitySearch` (gridprune's operators, `masks: magnitude`): the target's sparsity alone is searched, its
  mask always the magnitude mask at that sparsity (an allocation of sparsity over the targets, which cannot fit
  single genes to the search set).

All say what ceiling an evaluation may be cut at without changing the search (`ceiling`): above it a mask
is never chosen nor kept, so its exact error does not matter. Masks are flat bool arrays (True = kept). A state
is saved after a round is told; restored, a search asks what the saved one would have asked next.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, Sequence

import numpy as np

from gridprune.methods.layer_ga import operators as ops
from gridprune.methods.layer_ga.masks import hex_load, hex_store
from gridprune.methods.layer_ga.steady_state import SteadyState
from gridprune.search.selection import select_parents

Objective = Literal["max_sparsity", "target_sparsity"]
Store = Callable[[np.ndarray], str]
Load = Callable[[str], np.ndarray]


class OriginalSearch:
    """The original's operators under its fitness; `floor` on 1 - error."""

    def __init__(self, genes: int, *, size: int, generations: int, mutation_rate: float, w: float, floor: float,
                 stop_sparsity: float, seed: int):
        self.w, self.floor = w, floor
        # the original's generation: as many steps of two children as the population has members
        self.ga = SteadyState(genes, size, generations * size, mutation_rate, seed, stop_sparsity)
        self._asked: list[np.ndarray] = []

    @property
    def finished(self) -> bool:
        return self.ga.finished

    @property
    def round(self) -> int:
        return self.ga.done_steps + (self.ga.fitnesses is not None)

    @property
    def ceiling(self) -> float:
        """Above 1 - floor the fitness is 0 whatever the error."""
        return 1.0 - self.floor

    def ask(self) -> list[np.ndarray]:
        self._asked = self.ga.ask()
        return self._asked

    def tell(self, errors: Sequence[float | None]) -> None:
        fitnesses = [0.0 if error is None else ops.original_fitness(mask, 1.0 - error, self.w, self.floor)
                     for mask, error in zip(self._asked, errors)]
        self.ga.tell(self._asked, fitnesses)

    def best(self) -> np.ndarray | None:
        """The fittest mask; None if none scored above the floor (the target then stays unpruned) or none is
        scored yet."""
        if self.ga.fitnesses is None:
            return None
        mask, fitness = self.ga.best()
        return mask if fitness > 0 else None

    def error_of(self, mask: np.ndarray) -> float | None:
        """The error of a member, read back from its fitness (None where the fitness does not hold it)."""
        for member, fitness in zip(self.ga.population, self.ga.fitnesses or []):
            if np.array_equal(member, mask) and fitness > 0 and self.w < 1:
                return 1.0 - (fitness - self.w * ops.sparsity(member)) / (1 - self.w)
        return None

    def state_dict(self, store: Store = hex_store) -> dict[str, Any]:
        return self.ga.state_dict(store)

    def load_state_dict(self, state: dict[str, Any], load: Load = hex_load) -> None:
        self.ga.load_state_dict(state, load)


class GenerationalSearch:
    """gridprune's operators over genes scored by `scores` (magnitude: higher is more important)."""

    def __init__(self, scores: np.ndarray, *, size: int, generations: int, mutation_rate: float,
                 objective: Objective, ceiling: float | None, target: float | None, stop_sparsity: float,
                 pressure: float, seed: int):
        if size < 3:
            raise ValueError(f"a population of at least 3 is needed for rank selection, not {size}")
        self.scores = np.asarray(scores, dtype=np.float32)
        self.size, self.generations, self.mutation_rate = size, generations, mutation_rate
        self.objective, self.target, self.stop_sparsity, self.pressure = objective, target, stop_sparsity, pressure
        self.feasible_ceiling = ceiling
        self.rng = np.random.default_rng(seed)
        self.population: list[np.ndarray] = []
        self.errors: list[float | None] = []
        self.round = 0
        self._asked: list[np.ndarray] = []

    @property
    def genes(self) -> int:
        return len(self.scores)

    def key(self, mask: np.ndarray, error: float | None) -> tuple[float, ...]:
        """Lower is better."""
        value = math.inf if error is None else error
        if self.objective == "target_sparsity":
            return (value,)
        if self.feasible_ceiling is None or value <= self.feasible_ceiling:
            return (0.0, -ops.sparsity(mask), value)
        return (1.0, ops.sparsity(mask))  # over the ceiling: the least sparse first, whatever its exact error

    @property
    def finished(self) -> bool:
        if self.round == 0:
            return False
        best = self.best()
        return self.round > self.generations or (best is not None and ops.sparsity(best) >= self.stop_sparsity)

    @property
    def ceiling(self) -> float | None:
        """max_sparsity: the feasibility ceiling; target_sparsity: the population's worst error (a child above it
        loses to every parent)."""
        if self.objective == "max_sparsity":
            return self.feasible_ceiling
        if len(self.population) < self.size or any(e is None for e in self.errors):
            return None
        return max(self.errors)

    def ask(self) -> list[np.ndarray]:
        if self.round == 0:
            self._asked = self._initial()
        else:
            self._asked = [self._child() for _ in range(self.size)]
        return self._asked

    def _initial(self) -> list[np.ndarray]:
        if self.objective == "max_sparsity":
            return ops.level_population(self.scores, self.size)
        seed = ops.magnitude_mask(self.scores, self.target)
        return [seed] + [ops.boundary_swap(seed, self.scores, self._swaps(seed), self.rng)
                         for _ in range(self.size - 1)]

    def _swaps(self, mask: np.ndarray) -> int:
        return max(1, round(self.mutation_rate * min(int(mask.sum()), int((~mask).sum()))))

    def _child(self) -> np.ndarray:
        order = sorted(range(len(self.population)), key=lambda i: self.key(self.population[i], self.errors[i]))
        first, second = select_parents(order, self.pressure, self.rng)
        children = ops.single_point_crossover(self.population[first], self.population[second], self.rng)
        child = children[int(self.rng.integers(2))]
        if self.objective == "target_sparsity":
            child = ops.at_density(child, self.scores, round(self.target * self.genes))
            return ops.boundary_swap(child, self.scores, self._swaps(child), self.rng)
        if self.rng.random() < 0.5:  # a step towards more sparsity: up to 2% of the genes, the least important kept
            step = int(self.rng.integers(1, max(1, round(0.02 * self.genes)) + 1))
            child = ops.prune_lowest(child, self.scores, step)
        if self.rng.random() < 0.5:
            child = ops.boundary_swap(child, self.scores, int(self.rng.integers(1, self._swaps(child) + 1)), self.rng)
        return child

    def tell(self, errors: Sequence[float | None]) -> None:
        members = list(zip(self.population, self.errors)) + list(zip(self._asked, errors))
        members.sort(key=lambda member: self.key(*member))
        survivors, seen = [], set()
        for mask, error in members:
            packed = mask.tobytes()
            if packed not in seen:
                seen.add(packed)
                survivors.append((mask, error))
        survivors = survivors[:self.size]
        self.population, self.errors = [m for m, _ in survivors], [e for _, e in survivors]
        self.round += 1

    def best(self) -> np.ndarray | None:
        """The best mask; under max_sparsity None if none met the ceiling (the target then stays unpruned)."""
        if not self.population:
            return None
        mask, error = min(zip(self.population, self.errors), key=lambda member: self.key(*member))
        if self.objective == "max_sparsity" and self.key(mask, error)[0] > 0:
            return None
        return mask

    def error_of(self, mask: np.ndarray) -> float | None:
        """The error of a member (None if it is not one, or was rejected)."""
        for member, error in zip(self.population, self.errors):
            if np.array_equal(member, mask):
                return error
        return None

    def state_dict(self, store: Store = hex_store) -> dict[str, Any]:
        return {"population": [store(m) for m in self.population], "errors": self.errors, "round": self.round,
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any], load: Load = hex_load) -> None:
        self.population = [load(m) for m in state["population"]]
        self.errors, self.round = state["errors"], state["round"]
        self.rng.bit_generator.state = state["rng"]


class DensitySearch:
    """gridprune's allocation search under max_sparsity: a parallel bisection of the target's pruned count. Each
    round tries `size` counts spread evenly inside the bracket between the most pruned count within the ceiling
    so far (0 at first) and the least pruned count above it that is over the ceiling (all genes pruned at first);
    a count's mask prunes the lowest-scored genes. It ends when the bracket is no wider than `RESOLUTION` of the
    genes (a finer step changes a small search set's WER by nothing it can measure), after `generations` rounds
    past the first, or once `stop_sparsity` is within the ceiling."""

    RESOLUTION = 0.001

    def __init__(self, scores: np.ndarray, *, size: int, generations: int, ceiling: float, stop_sparsity: float):
        self.scores = np.asarray(scores, dtype=np.float32)
        self.size, self.generations, self.stop_sparsity, self.ceiling = size, generations, stop_sparsity, ceiling
        self._order = np.argsort(self.scores, kind="stable")  # the pruning order, lowest score first
        self.tried: dict[int, float | None] = {}  # pruned count -> its error (None: rejected or failed)
        self.round = 0
        self._asked: list[int] = []

    @property
    def genes(self) -> int:
        return len(self.scores)

    def _within(self, error: float | None) -> bool:
        return error is not None and error <= self.ceiling

    def _bracket(self) -> tuple[int, int]:
        low = max((count for count, error in self.tried.items() if self._within(error)), default=0)
        high = min((count for count, error in self.tried.items() if count > low and not self._within(error)),
                   default=self.genes + 1)
        return low, high

    def _candidates(self) -> list[int]:
        low, high = self._bracket()
        if high - low <= max(1, round(self.RESOLUTION * self.genes)):
            return []
        counts = {round(low + (high - low) * step / (self.size + 1)) for step in range(1, self.size + 1)}
        return sorted(count for count in counts if low < count < high and count not in self.tried)

    @property
    def finished(self) -> bool:
        if self.round == 0:
            return False
        low, _ = self._bracket()
        return self.round > self.generations or low >= self.stop_sparsity * self.genes or not self._candidates()

    def mask(self, pruned: int) -> np.ndarray:
        """The magnitude mask with `pruned` genes pruned."""
        mask = np.ones(self.genes, dtype=bool)
        mask[self._order[:pruned]] = False
        return mask

    def ask(self) -> list[np.ndarray]:
        self._asked = self._candidates()
        return [self.mask(count) for count in self._asked]

    def tell(self, errors: Sequence[float | None]) -> None:
        self.tried.update(zip(self._asked, errors))
        self.round += 1

    def best(self) -> np.ndarray | None:
        """The magnitude mask at the most pruned count within the ceiling; None if none was (the target then
        stays unpruned)."""
        low, _ = self._bracket()
        return None if low == 0 else self.mask(low)

    def error_of(self, mask: np.ndarray) -> float | None:
        return self.tried.get(int((~mask).sum()))

    def state_dict(self, store: Store = hex_store) -> dict[str, Any]:
        return {"tried": sorted(self.tried.items()), "round": self.round}

    def load_state_dict(self, state: dict[str, Any], load: Load = hex_load) -> None:
        self.tried = {int(count): error for count, error in state["tried"]}
        self.round = state["round"]
