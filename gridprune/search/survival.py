"""Elitism: what of an evaluated generation survives into breeding and into the next generation."""

from __future__ import annotations

from typing import Sequence

from gridprune.search.selection import rank_order
from gridprune.search.space import Chromosome


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


def elites(population: Sequence[Chromosome], fitnesses: Sequence[float], k: int) -> list[Chromosome]:
    """The ``k`` best individuals, best first (ties in population order)."""
    return [population[i] for i in rank_order(fitnesses)[:k]]
