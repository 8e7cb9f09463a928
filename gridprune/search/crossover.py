"""Crossover of the seed paper (Algorithm 2): slot by slot, a gene from one parent or the other.

Two variants of the repeat branch (a slot whose chosen gene the child holds already):

- ``"paper"``, Algorithm 2 as written: take the other parent's gene if the child does
  not hold it, else a random free block. Symmetric in the two parents.
- ``"original"``, the seed paper's code: when the coin picks parent a and its gene is
  held, parent b's gene is tried, then a random free block; when the coin picks
  parent b and its gene is held, a random free block is drawn at once.

Three slot orders (how the parents' genes are paired):

- ``"inherited"``, the original code: each layer's genes are an ordered list and slot s
  of one parent meets slot s of the other; the child keeps that order, so two
  identical parents give themselves back.
- ``"shuffled"``: each parent's layer is permuted at random before the pairing.
- ``"sorted"``: each parent's layer is sorted before the pairing.

With ``shuffled`` and ``sorted`` the order of a child carries nothing into the next
crossover, so the child is returned in canonical (sorted) form.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from gridprune.search.mutation import draw_free_block
from gridprune.search.space import Chromosome, SearchSpace, canonical

SlotOrder = Literal["inherited", "shuffled", "sorted"]
SLOT_ORDERS: tuple[SlotOrder, ...] = ("inherited", "shuffled", "sorted")
CrossoverVariant = Literal["paper", "original"]
CROSSOVER_VARIANTS: tuple[CrossoverVariant, ...] = ("paper", "original")


def crossover_layer(
    genes_a: Sequence[int],
    genes_b: Sequence[int],
    granularity: int,
    rng: np.random.Generator,
    variant: CrossoverVariant = "paper",
) -> tuple[int, ...]:
    """One layer of a child, in slot order.

    For each slot s: draw ``rng.random()``; below 0.5 parent a is chosen, else parent b.
    Take the chosen parent's gene at slot s if the child does not hold it yet; otherwise
    the repeat branch of ``variant`` (module docstring), whose random block comes from
    ``draw_free_block``.
    """
    if len(genes_a) != len(genes_b):
        raise ValueError(f"parents have {len(genes_a)} and {len(genes_b)} genes in this layer")
    if variant not in CROSSOVER_VARIANTS:
        raise ValueError(f"crossover must be one of {CROSSOVER_VARIANTS}, got {variant!r}")
    child: list[int] = []
    for gene_a, gene_b in zip(genes_a, genes_b):
        picks_a = rng.random() < 0.5
        chosen, other = (gene_a, gene_b) if picks_a else (gene_b, gene_a)
        if chosen not in child:
            child.append(chosen)
        elif (picks_a or variant == "paper") and other not in child:
            child.append(other)
        else:
            child.append(draw_free_block(child, granularity, rng))
    return tuple(child)


def crossover(
    parent_a: Chromosome,
    parent_b: Chromosome,
    space: SearchSpace,
    rng: np.random.Generator,
    slot_order: SlotOrder = "inherited",
    variant: CrossoverVariant = "paper",
) -> Chromosome:
    """A child built layer by layer with ``crossover_layer``, its parents' genes paired as
    ``slot_order`` says (module docstring).

    With ``"shuffled"`` each layer of parent a, then of parent b, is put in a random
    permutation (``rng.permutation``) before the layer is crossed.
    """
    if slot_order not in SLOT_ORDERS:
        raise ValueError(f"slot_order must be one of {SLOT_ORDERS}, got {slot_order!r}")
    child = []
    for genes_a, genes_b in zip(parent_a, parent_b):
        if slot_order == "shuffled":
            genes_a = [genes_a[i] for i in rng.permutation(len(genes_a))]
            genes_b = [genes_b[i] for i in rng.permutation(len(genes_b))]
        elif slot_order == "sorted":
            genes_a, genes_b = sorted(genes_a), sorted(genes_b)
        child.append(crossover_layer(genes_a, genes_b, space.granularity, rng, variant))
    return tuple(child) if slot_order == "inherited" else canonical(tuple(child))
