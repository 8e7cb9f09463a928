"""Genetic search over FFN block pruning (numpy only): chromosomes, operators, ask/tell."""

from gridprune.search.crossover import CROSSOVER_VARIANTS, SLOT_ORDERS, crossover, crossover_layer
from gridprune.search.genetic import GeneticSearch, breed
from gridprune.search.mutation import draw_free_block, mutate
from gridprune.search.sampling import distinct, initial_population, l1_seed, random_chromosome
from gridprune.search.selection import rank_index, rank_order, select_parents
from gridprune.search.space import Chromosome, SearchSpace, canonical, from_json, to_json
from gridprune.search.survival import ELITISMS, elite_over_last_child, elites, improves, rescue_best

__all__ = [
    "CROSSOVER_VARIANTS",
    "Chromosome",
    "ELITISMS",
    "GeneticSearch",
    "SLOT_ORDERS",
    "SearchSpace",
    "breed",
    "canonical",
    "crossover",
    "crossover_layer",
    "distinct",
    "draw_free_block",
    "elite_over_last_child",
    "elites",
    "from_json",
    "improves",
    "initial_population",
    "l1_seed",
    "mutate",
    "random_chromosome",
    "rank_index",
    "rank_order",
    "rescue_best",
    "select_parents",
    "to_json",
]
