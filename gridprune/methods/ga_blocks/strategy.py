"""The GA as an engine strategy: one generation is one synchronous round of `ffn_eval` trials.

A trial's params are canonical (each layer's blocks sorted, plus the utterances it is scored on);
the slot order crossover depends on stays in the GA's own state. No torch here.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from gridprune.engine import EngineError, Outcome, Trial
from gridprune.methods.ga_blocks.settings import FitnessSettings, GaSettings
from gridprune.search import Chromosome, GeneticSearch, SearchSpace, canonical, to_json
from gridprune.search.genetic import ORIGINAL_RESEED_GENERATION

KIND = "ffn_eval"


def new_search(settings: GaSettings, space: SearchSpace, seed: int, seed_individuals: Sequence[Chromosome] = (), *,
               rescore_best: bool = False) -> GeneticSearch:
    """The search `gridprune run` starts for `settings` (`rescore_best`: the fitness data changes per generation)."""
    return GeneticSearch(
        space, settings.population, pressure=settings.pressure, mutation_rate=settings.mutation_rate,
        keep_best=settings.keep_best, slot_order=settings.slot_order, crossover=settings.crossover,
        elitism=settings.elitism, rescore_best=rescore_best, generations=settings.generations,
        seed=seed, seed_individuals=seed_individuals,
        reseed_generation=ORIGINAL_RESEED_GENERATION if settings.l1_reseed and seed_individuals else None,
    )


def chromosome_mapping(chromosome: Chromosome, space: SearchSpace) -> dict[str, list[int]]:
    """`{"<layer>": [blocks]}`: the JSON form a worker applies (each layer's set of blocks, sorted)."""
    return {str(layer): sorted(int(b) for b in blocks) for layer, blocks in zip(space.layers, chromosome)}


def subset_indices(total: int, subset: int | None, seed: int, generation: int) -> list[int] | None:
    """The utterances every individual of `generation` is scored on (None: all of them)."""
    if subset is None or subset >= total:
        return None
    rng = np.random.default_rng([seed, generation])
    return sorted(int(i) for i in rng.choice(total, size=subset, replace=False))


def subsample_indices(total: int, indices: list[int] | None, fraction: float | None, seed: int, generation: int,
                      individual: int) -> list[int] | None:
    """The utterances one evaluation scores: of `indices` (None: all `total`), a random `fraction`
    (the nearest whole number, at least one) drawn from (seed, generation, individual's position).

    The original code instead kept each utterance with probability `fraction`, unseeded.
    """
    pool = list(range(total)) if indices is None else indices
    count = max(1, int(fraction * len(pool) + 0.5)) if fraction is not None else len(pool)
    if count >= len(pool):
        return indices
    rng = np.random.default_rng([seed, generation, individual])
    return sorted(pool[int(i)] for i in rng.choice(len(pool), size=count, replace=False))


class GaStrategy:
    """A `GeneticSearch` asked and told through the engine; `utterances` is the search set's size."""

    synchronous = True

    def __init__(self, search: GeneticSearch, fitness: FitnessSettings, seed: int, utterances: int,
                 best_trial: Trial | None = None):
        self.search = search
        self.fitness = fitness
        self.seed = seed
        self.utterances = utterances
        self.best_trial = best_trial
        self._asked: list[Chromosome] | None = None

    @property
    def round(self) -> int:
        return self.search.generation

    @property
    def planned_rounds(self) -> int:
        return self.search.generations

    @property
    def finished(self) -> bool:
        return self.search.finished

    @property
    def best(self) -> tuple[Trial, float] | None:
        best = self.search.best
        if best is None or self.best_trial is None or not math.isfinite(best[1]):
            return None
        return self.best_trial, best[1]

    def trial(self, chromosome: Chromosome, generation: int, individual: int) -> Trial:
        """The trial scoring `chromosome` as individual `individual` of `generation`."""
        indices = subset_indices(self.utterances, self.fitness.subset, self.seed, generation)
        indices = subsample_indices(self.utterances, indices, self.fitness.subsample, self.seed, generation, individual)
        return Trial(KIND, {"blocks": chromosome_mapping(chromosome, self.search.space), "indices": indices},
                     label=f"generation {generation} individual {individual}")

    def ask(self) -> list[Trial]:
        self._asked = self.search.ask()
        return [self.trial(c, self.round, i) for i, c in enumerate(self._asked)]

    def describe_round(self) -> dict[str, Any]:
        """The population in slot order, as asked."""
        return {"generation": self.round, "population": [to_json(c) for c in self._asked or []]}

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        raise EngineError("the GA is told a whole generation at once (tell_round)")

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None:
        if self._asked is None or len(trials) != len(self._asked):
            raise EngineError("the GA was told a generation it did not ask for")
        population, self._asked = self._asked, None
        fitnesses = [o.value if o.ok and o.value is not None else math.inf for o in outcomes]
        self.search.tell(population, fitnesses)
        best = self.search.best
        if best is None:
            return
        for chromosome, trial, value in zip(population, trials, fitnesses):
            if value == best[1] and canonical(chromosome) == canonical(best[0]):
                self.best_trial = trial
                break

    def state_dict(self) -> dict[str, Any]:
        return {"search": self.search.state_dict(), "utterances": self.utterances,
                "best_trial": None if self.best_trial is None else self.best_trial.to_json()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], fitness: FitnessSettings, seed: int) -> GaStrategy:
        """The strategy `state_dict` saved; ValueError if the state is not one."""
        search = GeneticSearch.from_state_dict(state["search"])
        best = state.get("best_trial")
        return cls(search, fitness, seed, int(state["utterances"]), None if best is None else Trial.from_json(best))
