"""Elitism: what of an evaluated generation survives into breeding and into the next generation.

Two forms of the seed paper's elitism, both acting only when a generation's best is
worse than the best so far:

- ``"paper"`` (``rescue_best``): the best so far replaces the generation's worst before
  breeding, with the fitness it has; a generation as good as the best so far keeps it.
- ``"original"`` (``elite_over_last_child``), the seed paper's code: the best so far is
  written over the last child of the next generation, so it is evaluated again on that
  generation's data; a generation as good as the best so far (a tie) replaces it.
"""

from __future__ import annotations

from typing import Literal, Sequence

from gridprune.search.selection import rank_order
from gridprune.search.space import Chromosome

Elitism = Literal["paper", "original"]
ELITISMS: tuple[Elitism, ...] = ("paper", "original")


def improves(generation_best: float, best_so_far: float, elitism: Elitism) -> bool:
    """Whether a generation's best replaces the best so far: strictly better ("paper"), or
    at least as good ("original")."""
    if elitism == "original":
        return generation_best <= best_so_far
    return generation_best < best_so_far


def rescue_best(
    population: Sequence[Chromosome],
    fitnesses: Sequence[float],
    best: tuple[Chromosome, float],
) -> tuple[list[Chromosome], list[float]]:
    """The paper's elitism: if the generation's best is worse than ``best`` (the best so far),
    ``best`` replaces the generation's worst individual (the last one among equals);
    otherwise the generation is returned unchanged.
    """
    population, fitnesses = list(population), list(fitnesses)
    if min(fitnesses) > best[1]:
        worst = rank_order(fitnesses)[-1]
        population[worst], fitnesses[worst] = best
    return population, fitnesses


def elite_over_last_child(children: Sequence[Chromosome], best: Chromosome) -> list[Chromosome]:
    """The original code's elitism: ``best`` in place of the last child."""
    return [*children[:-1], best]


def elites(population: Sequence[Chromosome], fitnesses: Sequence[float], k: int) -> list[Chromosome]:
    """The ``k`` best individuals, best first (ties in population order)."""
    return [population[i] for i in rank_order(fitnesses)[:k]]
