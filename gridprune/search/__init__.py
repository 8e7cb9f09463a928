"""Genetic search over FFN block pruning (numpy only): chromosomes, operators, ask/tell."""

from gridprune.search.crossover import crossover, crossover_layer
from gridprune.search.genetic import GeneticSearch, breed
from gridprune.search.mutation import draw_free_block, mutate
from gridprune.search.sampling import initial_population, l1_seed, random_chromosome
from gridprune.search.selection import rank_index, rank_order, select_parents
from gridprune.search.space import Chromosome, SearchSpace, from_json, to_json
from gridprune.search.survival import elites, rescue_best

__all__ = [
    "Chromosome",
    "GeneticSearch",
    "SearchSpace",
    "breed",
    "crossover",
    "crossover_layer",
    "draw_free_block",
    "elites",
    "from_json",
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
