"""The genetic search of the seed paper behind an ask/tell interface.

All randomness comes from one PCG64 generator held by the search; breeding happens
in ``tell``, so ``state_dict()`` taken after a ``tell`` already holds the next
population, and a search restored from it continues exactly as the original would.

Re-scoring the best so far (``rescore_best``, for a fitness measured on data that
changes from one generation to the next): ``ask`` then returns, after the
population, the best so far when no individual of the population has its block
set, and ``tell`` takes the best so far's fitness on this generation's data (from
that extra individual, or from the first individual with its block set) before
comparing it with the generation's best or putting it back into the population.
So the best so far is never compared across data, and its recorded fitness is
the one of the latest generation.

State format (``state_dict``; only dict/list/str/int/float/bool/None)::

    {"format": "gridprune.search.GeneticSearch", "version": 3,
     "space": {"layers": [int], "granularity": int, "pruned_blocks": [int]},
     "population_size": int, "pressure": float, "mutation_rate": float,
     "slot_order": "inherited" | "shuffled" | "sorted", "crossover": "paper" | "original",
     "elitism": "paper" | "original", "rescore_best": bool,
     "keep_best": int, "generations": int, "seed": int,
     "seed_individuals": [chromosome], "reseed_generation": int | null, "generation": int,
     "population": [chromosome],        # the generation that ask() returns next
     "best": null | {"chromosome": chromosome, "fitness": float | null},
     "rng": <numpy PCG64 bit_generator.state: large ints, exact in JSON>}

A chromosome is a list of lists of block indexes in slot order (``to_json``). A
fitness of ``null`` means failed (infinite), since JSON has no infinity. Older
versions are refused: version 1 had no ``slot_order``, version 2 kept every
layer's genes sorted (no slot order to inherit) and knew neither ``crossover``,
``elitism`` nor ``rescore_best``. Version 3 had no ``reseed_generation`` and never
re-seeded: it continues as version 4 with ``reseed_generation`` null.

Re-seeding (``reseed_generation``, the original code's ``if gen == 10:
population[10] = best_chr``): the population bred after that generation gets the
first seed individual (the L1-norm chromosome, never updated) written over its
individual ``RESEED_POSITION``, or, in a smaller population, over its last child that
does not hold the elite.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from gridprune.search.crossover import (
    CROSSOVER_VARIANTS,
    SLOT_ORDERS,
    CrossoverVariant,
    SlotOrder,
    crossover,
)
from gridprune.search.mutation import mutate
from gridprune.search.sampling import distinct, initial_population
from gridprune.search.selection import rank_order, select_parents
from gridprune.search.space import Chromosome, SearchSpace, canonical, from_json, to_json
from gridprune.search.survival import ELITISMS, Elitism, elite_over_last_child, elites, improves, rescue_best

STATE_FORMAT = "gridprune.search.GeneticSearch"
STATE_VERSION = 4
MAX_PRESSURE = 100.0
RESEED_POSITION = 10  # the original's population[10]
ORIGINAL_RESEED_GENERATION = 10  # the original's `if gen == 10`
_REFUSED_VERSIONS = {
    1: "it had no slot order",
    2: "it kept every layer's genes sorted, so it has no slot order to inherit",
}


def breed(
    population: Sequence[Chromosome],
    fitnesses: Sequence[float],
    n_children: int,
    space: SearchSpace,
    *,
    pressure: float,
    mutation_rate: float,
    rng: np.random.Generator,
    slot_order: SlotOrder = "inherited",
    variant: CrossoverVariant = "paper",
) -> list[Chromosome]:
    """``n_children`` children, each: select two parents by rank, cross them over
    (``crossover`` with ``slot_order`` and ``variant``), mutate (keeping the slot order;
    canonical form unless the slot order is inherited)."""
    order = rank_order(fitnesses)
    children = []
    for _ in range(n_children):
        a, b = select_parents(order, pressure, rng)
        child = crossover(population[a], population[b], space, rng, slot_order, variant)
        child = mutate(child, space, mutation_rate, rng)
        children.append(child if slot_order == "inherited" else canonical(child))
    return children


class GeneticSearch:
    """Ask/tell genetic search over a ``SearchSpace``; fitness is minimised.

    The defaults are the seed paper's code (inherited slot order, its crossover and
    its elitism). ``slot_order`` and ``crossover`` are passed to ``crossover`` (see
    ``gridprune.search.crossover``); ``elitism`` is "paper" or "original" (see
    ``gridprune.search.survival``); ``rescore_best`` re-evaluates the best so far on
    each generation's data (module docstring). ``keep_best`` > 0 copies the k best of
    each evaluated generation unchanged into the next one (in place of its last k
    children); 0 is the paper's behaviour.
    """

    def __init__(
        self,
        space: SearchSpace,
        population_size: int,
        *,
        pressure: float = 3.0,
        mutation_rate: float = 0.0,
        slot_order: SlotOrder = "inherited",
        crossover: CrossoverVariant = "original",
        elitism: Elitism = "original",
        rescore_best: bool = False,
        keep_best: int = 0,
        generations: int,
        seed: int,
        seed_individuals: Sequence[Chromosome] = (),
        reseed_generation: int | None = None,
    ) -> None:
        self._configure(
            space,
            population_size,
            pressure,
            mutation_rate,
            slot_order,
            crossover,
            elitism,
            rescore_best,
            keep_best,
            generations,
            seed,
            seed_individuals,
            reseed_generation,
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
        crossover: CrossoverVariant,
        elitism: Elitism,
        rescore_best: bool,
        keep_best: int,
        generations: int,
        seed: int,
        seed_individuals: Sequence[Chromosome],
        reseed_generation: int | None,
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
        if crossover not in CROSSOVER_VARIANTS:
            raise ValueError(f"crossover must be one of {CROSSOVER_VARIANTS}, got {crossover!r}")
        if elitism not in ELITISMS:
            raise ValueError(f"elitism must be one of {ELITISMS}, got {elitism!r}")
        if not isinstance(rescore_best, bool):
            raise ValueError(f"rescore_best must be true or false, got {rescore_best!r}")
        if not _is_int(keep_best) or not 0 <= keep_best < population_size:
            raise ValueError(f"keep_best must be an int in [0, population_size), got {keep_best!r}")
        if not _is_int(generations) or generations < 1:
            raise ValueError(f"generations must be an int >= 1, got {generations!r}")
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        if reseed_generation is not None and (not _is_int(reseed_generation) or reseed_generation < 0):
            raise ValueError(f"reseed_generation must be an int >= 0 or None, got {reseed_generation!r}")
        if reseed_generation is not None and not seed_individuals:
            raise ValueError("reseed_generation needs a seed individual to write again")
        for chrom in seed_individuals:
            space.validate(chrom)
        self._reseed_generation = reseed_generation
        self._space = space
        self._population_size = int(population_size)
        self._pressure = float(pressure)
        self._mutation_rate = float(mutation_rate)
        self._slot_order = slot_order
        self._crossover = crossover
        self._elitism = elitism
        self._rescore_best = rescore_best
        self._keep_best = int(keep_best)
        self._generations = int(generations)
        self._seed = int(seed)
        self._seed_individuals = distinct(seed_individuals)

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
        """The current generation's population, followed by the best so far when it is to be
        re-scored and no individual has its block set (module docstring); the same list
        until ``tell``."""
        if self.finished:
            raise RuntimeError(f"the search finished after {self._generations} generations")
        return self._asked()

    def _asked(self) -> list[Chromosome]:
        asked = list(self._population)
        if self._rescore_best and self._best is not None and self._elite_position(asked) is None:
            asked.append(self._best[0])
        return asked

    def _elite_position(self, asked: Sequence[Chromosome]) -> int | None:
        assert self._best is not None
        wanted = canonical(self._best[0])
        return next((i for i, chrom in enumerate(asked) if canonical(chrom) == wanted), None)

    def tell(self, population: Sequence[Chromosome], fitnesses: Sequence[float | None]) -> None:
        """Record the fitnesses of ``ask()``'s list (lower is better; inf, nan or None mean
        failed), update the best so far, and breed the next generation."""
        if self.finished:
            raise RuntimeError(f"the search finished after {self._generations} generations")
        asked = self._asked()
        if not _same(population, asked):
            raise ValueError(
                f"tell() needs the population that ask() returned for generation {self._generation}"
            )
        if len(fitnesses) != len(asked):
            raise ValueError(f"got {len(fitnesses)} fitnesses for {len(asked)} individuals")
        fits = [_fitness(f) for f in fitnesses]
        pool, pool_fits = self._population, fits[: self._population_size]
        best = self._best
        if best is not None and self._rescore_best:
            best = (best[0], fits[self._elite_position(asked)])  # on this generation's data
        first = rank_order(pool_fits)[0]
        over_last_child = False
        if best is None or improves(pool_fits[first], best[1], self._elitism):
            self._best = (pool[first], pool_fits[first])
        else:
            self._best = best
            if self._elitism == "paper":
                pool, pool_fits = rescue_best(pool, pool_fits, best)
            else:
                over_last_child = True
        children = breed(
            pool,
            pool_fits,
            self._population_size - self._keep_best,
            self._space,
            pressure=self._pressure,
            mutation_rate=self._mutation_rate,
            rng=self._rng,
            slot_order=self._slot_order,
            variant=self._crossover,
        )
        if self._generation == self._reseed_generation:
            # never over the elite (written over the last child below) nor over a kept best
            slot = min(RESEED_POSITION, len(children) - 1 - over_last_child)
            if slot >= 0:
                children[slot] = self._seed_individuals[0]
        if over_last_child:
            children = elite_over_last_child(children, self._best[0])
        self._population = children + elites(pool, pool_fits, self._keep_best)
        self._generation += 1

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
            "crossover": self._crossover,
            "elitism": self._elitism,
            "rescore_best": self._rescore_best,
            "keep_best": self._keep_best,
            "generations": self._generations,
            "seed": self._seed,
            "seed_individuals": [to_json(c) for c in self._seed_individuals],
            "reseed_generation": self._reseed_generation,
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
        version = state.get("version")
        if state.get("format") == STATE_FORMAT and version in _REFUSED_VERSIONS:
            raise ValueError(
                f"a {STATE_FORMAT} state of version {version} cannot be continued by version "
                f"{STATE_VERSION}: {_REFUSED_VERSIONS[version]}; start a new run"
            )
        if state.get("format") == STATE_FORMAT and version == 3:
            state = {**state, "version": STATE_VERSION, "reseed_generation": None}  # it never re-seeded
            version = STATE_VERSION
        if state.get("format") != STATE_FORMAT or version != STATE_VERSION:
            raise ValueError(
                f"not a {STATE_FORMAT} state of version {STATE_VERSION}: "
                f"format={state.get('format')!r}, version={version!r}"
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
                state["crossover"],
                state["elitism"],
                state["rescore_best"],
                state["keep_best"],
                state["generations"],
                state["seed"],
                [from_json(c, space) for c in state["seed_individuals"]],
                state["reseed_generation"],
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


def _same(given: Sequence[Any], asked: Sequence[Chromosome]) -> bool:
    """Whether ``given`` is ``asked``, slot order included (JSON-shaped lists are fine)."""
    try:
        return [tuple(tuple(genes) for genes in chrom) for chrom in given] == asked
    except TypeError:
        return False


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
