"""The genetic search of the seed paper behind an ask/tell interface.

All randomness comes from one PCG64 generator held by the search; breeding happens
in ``tell``, so ``state_dict()`` taken after a ``tell`` already holds the next
population, and a search restored from it continues exactly as the original would.

State format (``state_dict``; only dict/list/str/int/float/bool/None)::

    {"format": "gridprune.search.GeneticSearch", "version": 2,
     "space": {"layers": [int], "granularity": int, "pruned_blocks": [int]},
     "population_size": int, "pressure": float, "mutation_rate": float,
     "slot_order": "shuffled" | "sorted", "keep_best": int, "generations": int, "seed": int,
     "seed_individuals": [chromosome], "generation": int,
     "population": [chromosome],        # the generation that ask() returns next
     "best": null | {"chromosome": chromosome, "fitness": float | null},
     "rng": <numpy PCG64 bit_generator.state: large ints, exact in JSON>}

A chromosome is a list of lists of block indexes (``to_json``). A fitness of
``null`` means failed (infinite), since JSON has no infinity. Version 1 had no
``slot_order`` (its crossover paired sorted slots) and is refused.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from gridprune.search.crossover import SLOT_ORDERS, SlotOrder, crossover
from gridprune.search.mutation import mutate
from gridprune.search.sampling import initial_population
from gridprune.search.selection import rank_order, select_parents
from gridprune.search.space import Chromosome, SearchSpace, from_json, to_json
from gridprune.search.survival import elites, rescue_best

STATE_FORMAT = "gridprune.search.GeneticSearch"
STATE_VERSION = 2
MAX_PRESSURE = 100.0


def breed(
    population: Sequence[Chromosome],
    fitnesses: Sequence[float],
    n_children: int,
    space: SearchSpace,
    *,
    pressure: float,
    mutation_rate: float,
    rng: np.random.Generator,
    slot_order: SlotOrder = "shuffled",
) -> list[Chromosome]:
    """``n_children`` children, each: select two parents by rank, cross them over
    (``crossover`` with ``slot_order``), mutate."""
    order = rank_order(fitnesses)
    children = []
    for _ in range(n_children):
        a, b = select_parents(order, pressure, rng)
        child = crossover(population[a], population[b], space, rng, slot_order)
        children.append(mutate(child, space, mutation_rate, rng))
    return children


class GeneticSearch:
    """Ask/tell genetic search over a ``SearchSpace``; fitness is minimised.

    ``keep_best`` > 0 copies the k best of each evaluated generation unchanged into
    the next one (in place of its last k children); 0 is the paper's behaviour.
    ``slot_order`` is passed to ``crossover``; "shuffled" is the paper's behaviour.
    """

    def __init__(
        self,
        space: SearchSpace,
        population_size: int,
        *,
        pressure: float = 3.0,
        mutation_rate: float = 0.0,
        slot_order: SlotOrder = "shuffled",
        keep_best: int = 0,
        generations: int,
        seed: int,
        seed_individuals: Sequence[Chromosome] = (),
    ) -> None:
        self._configure(
            space,
            population_size,
            pressure,
            mutation_rate,
            slot_order,
            keep_best,
            generations,
            seed,
            seed_individuals,
        )
        self._rng = np.random.default_rng(seed)
        self._generation = 0
        self._best: tuple[Chromosome, float] | None = None
        self._population = initial_population(space, population_size, self._rng, self._seed_individuals)

    def _configure(
        self,
        space: SearchSpace,
        population_size: int,
        pressure: float,
        mutation_rate: float,
        slot_order: SlotOrder,
        keep_best: int,
        generations: int,
        seed: int,
        seed_individuals: Sequence[Chromosome],
    ) -> None:
        if not _is_int(population_size) or population_size < 3:
            # selection needs 3 (see select_parents)
            raise ValueError(f"population_size must be an int >= 3, got {population_size!r}")
        if not _is_real(pressure) or not 0 < pressure <= MAX_PRESSURE:
            raise ValueError(f"pressure must be in (0, {MAX_PRESSURE}], got {pressure!r}")
        if not _is_real(mutation_rate) or not 0 <= mutation_rate <= 1:
            raise ValueError(f"mutation_rate must be in [0, 1], got {mutation_rate!r}")
        if slot_order not in SLOT_ORDERS:
            raise ValueError(f"slot_order must be one of {SLOT_ORDERS}, got {slot_order!r}")
        if not _is_int(keep_best) or not 0 <= keep_best < population_size:
            raise ValueError(f"keep_best must be an int in [0, population_size), got {keep_best!r}")
        if not _is_int(generations) or generations < 1:
            raise ValueError(f"generations must be an int >= 1, got {generations!r}")
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        for chrom in seed_individuals:
            space.validate(chrom)
        self._space = space
        self._population_size = int(population_size)
        self._pressure = float(pressure)
        self._mutation_rate = float(mutation_rate)
        self._slot_order = slot_order
        self._keep_best = int(keep_best)
        self._generations = int(generations)
        self._seed = int(seed)
        self._seed_individuals = list(dict.fromkeys(seed_individuals))

    @property
    def space(self) -> SearchSpace:
        return self._space

    @property
    def population_size(self) -> int:
        return self._population_size

    @property
    def generations(self) -> int:
        return self._generations

    @property
    def generation(self) -> int:
        """Index of the generation that ``ask`` returns and that awaits ``tell``."""
        return self._generation

    @property
    def best(self) -> tuple[Chromosome, float] | None:
        """Best (chromosome, fitness) told so far; failed (inf) only if everything failed."""
        return self._best

    @property
    def finished(self) -> bool:
        return self._generation >= self._generations

    def ask(self) -> list[Chromosome]:
        """The current generation's population; the same list until ``tell``."""
        if self.finished:
            raise RuntimeError(f"the search finished after {self._generations} generations")
        return list(self._population)

    def tell(self, population: Sequence[Chromosome], fitnesses: Sequence[float | None]) -> None:
        """Record the fitnesses of ``ask()``'s population (lower is better; inf, nan or
        None mean failed), update the best so far, and breed the next generation."""
        if self.finished:
            raise RuntimeError(f"the search finished after {self._generations} generations")
        if not self._is_current(population):
            raise ValueError(
                f"tell() needs the population that ask() returned for generation {self._generation}"
            )
        if len(fitnesses) != len(self._population):
            raise ValueError(f"got {len(fitnesses)} fitnesses for {len(self._population)} individuals")
        fits = [_fitness(f) for f in fitnesses]
        pool, pool_fits = self._population, fits
        if self._best is None or min(fits) < self._best[1]:
            first = rank_order(fits)[0]
            self._best = (pool[first], fits[first])
        else:
            pool, pool_fits = rescue_best(pool, fits, self._best)
        children = breed(
            pool,
            pool_fits,
            self._population_size - self._keep_best,
            self._space,
            pressure=self._pressure,
            mutation_rate=self._mutation_rate,
            rng=self._rng,
            slot_order=self._slot_order,
        )
        self._population = children + elites(pool, pool_fits, self._keep_best)
        self._generation += 1

    def _is_current(self, population: Sequence[Chromosome]) -> bool:
        try:
            given = [tuple(tuple(genes) for genes in chrom) for chrom in population]
        except TypeError:
            return False
        return given == self._population

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the search, as JSON-ready data (module docstring)."""
        space = self._space
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "space": {
                "layers": list(space.layers),
                "granularity": space.granularity,
                "pruned_blocks": list(space.pruned_blocks),
            },
            "population_size": self._population_size,
            "pressure": self._pressure,
            "mutation_rate": self._mutation_rate,
            "slot_order": self._slot_order,
            "keep_best": self._keep_best,
            "generations": self._generations,
            "seed": self._seed,
            "seed_individuals": [to_json(c) for c in self._seed_individuals],
            "generation": self._generation,
            "population": [to_json(c) for c in self._population],
            "best": None
            if self._best is None
            else {"chromosome": to_json(self._best[0]), "fitness": _fitness_to_json(self._best[1])},
            "rng": self._rng.bit_generator.state,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> GeneticSearch:
        """Restore a search saved by ``state_dict`` (also after a JSON round trip)."""
        if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
            raise ValueError(
                f"not a {STATE_FORMAT} state of version {STATE_VERSION}: "
                f"format={state.get('format')!r}, version={state.get('version')!r}"
            )
        try:
            space = SearchSpace(
                tuple(state["space"]["layers"]),
                state["space"]["granularity"],
                tuple(state["space"]["pruned_blocks"]),
            )
            search = cls.__new__(cls)
            search._configure(
                space,
                state["population_size"],
                state["pressure"],
                state["mutation_rate"],
                state["slot_order"],
                state["keep_best"],
                state["generations"],
                state["seed"],
                [from_json(c, space) for c in state["seed_individuals"]],
            )
            generation = state["generation"]
            population = [from_json(c, space) for c in state["population"]]
            best = state["best"]
            if best is not None:
                best = (from_json(best["chromosome"], space), _fitness(best["fitness"]))
            rng_state = state["rng"]
        except KeyError as missing:
            raise ValueError(f"search state lacks {missing}") from None
        if not _is_int(generation) or generation < 0:
            raise ValueError(f"generation must be an int >= 0, got {generation!r}")
        if len(population) != search._population_size:
            raise ValueError(
                f"population has {len(population)} individuals, expected {search._population_size}"
            )
        search._generation = generation
        search._population = population
        search._best = best
        search._rng = np.random.Generator(np.random.PCG64())
        search._rng.bit_generator.state = rng_state
        return search


def _fitness(value: Any) -> float:
    if value is None:
        return math.inf
    if not _is_real(value):
        raise ValueError(f"a fitness must be a number or None, got {value!r}")
    value = float(value)
    return value if math.isfinite(value) else math.inf


def _fitness_to_json(value: float) -> float | None:
    return None if math.isinf(value) else value


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
