"""Crossover of the seed paper (Algorithm 2): slot by slot, a gene from one parent or the other."""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from gridprune.search.mutation import draw_free_block
from gridprune.search.space import Chromosome, SearchSpace

SlotOrder = Literal["shuffled", "sorted"]
SLOT_ORDERS: tuple[SlotOrder, ...] = ("shuffled", "sorted")


def crossover_layer(
    genes_a: Sequence[int], genes_b: Sequence[int], granularity: int, rng: np.random.Generator
) -> tuple[int, ...]:
    """One layer of a child, sorted.

    For each slot i: draw ``rng.random()``; below 0.5 parent a is chosen, else parent b.
    Take the chosen parent's gene at slot i if the child does not have it yet, else
    the other parent's gene at slot i if not, else a random free block
    (``draw_free_block``).
    """
    if len(genes_a) != len(genes_b):
        raise ValueError(f"parents have {len(genes_a)} and {len(genes_b)} genes in this layer")
    child: list[int] = []
    for gene_a, gene_b in zip(genes_a, genes_b):
        chosen, other = (gene_a, gene_b) if rng.random() < 0.5 else (gene_b, gene_a)
        if chosen not in child:
            child.append(chosen)
        elif other not in child:
            child.append(other)
        else:
            child.append(draw_free_block(child, granularity, rng))
    return tuple(sorted(child))


def crossover(
    parent_a: Chromosome,
    parent_b: Chromosome,
    space: SearchSpace,
    rng: np.random.Generator,
    slot_order: SlotOrder = "shuffled",
) -> Chromosome:
    """A child built layer by layer with ``crossover_layer``.

    With ``slot_order="shuffled"`` (the paper's code, whose chromosomes keep their genes
    in random order) each layer of parent a, then of parent b, is first put in a random
    permutation (``rng.permutation``), so two parents' genes at a slot can both be in the
    child already and Algorithm 2 draws a free block: an implicit mutation. With
    ``"sorted"`` the slots pair the parents' sorted genes and that never happens.
    """
    if slot_order not in SLOT_ORDERS:
        raise ValueError(f"slot_order must be one of {SLOT_ORDERS}, got {slot_order!r}")
    child = []
    for genes_a, genes_b in zip(parent_a, parent_b):
        if slot_order == "shuffled":
            genes_a = [genes_a[i] for i in rng.permutation(len(genes_a))]
            genes_b = [genes_b[i] for i in rng.permutation(len(genes_b))]
        child.append(crossover_layer(genes_a, genes_b, space.granularity, rng))
    return tuple(child)
