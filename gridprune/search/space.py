"""The search space: which encoder layers are pruned and how many FFN blocks each loses.

A chromosome (the genotype) is, for each pruned layer (in the order of
``SearchSpace.layers``), the tuple of the distinct FFN block indexes it removes,
in slot order: crossover pairs slot s of one parent with slot s of the other, so
the order is part of what a child inherits. The pruned model depends only on the
set of blocks: ``canonical`` (each layer sorted) is the phenotype, which keys the
result cache, so chromosomes that differ only in slot order are evaluated once.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

Chromosome = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class SearchSpace:
    """Pruned encoder layers, FFN granularity, and blocks removed per pruned layer."""

    layers: tuple[int, ...]
    granularity: int
    pruned_blocks: tuple[int, ...]

    def __post_init__(self) -> None:
        # Normalise to tuples of plain ints so equality and JSON do not depend on input types.
        object.__setattr__(self, "layers", tuple(_as_int(x, "layer index") for x in self.layers))
        object.__setattr__(self, "granularity", _as_int(self.granularity, "granularity"))
        object.__setattr__(
            self, "pruned_blocks", tuple(_as_int(x, "pruned_blocks") for x in self.pruned_blocks)
        )
        if not self.layers:
            raise ValueError("a search space needs at least one pruned layer")
        if len(set(self.layers)) != len(self.layers):
            raise ValueError(f"layers must be distinct, got {list(self.layers)}")
        if any(layer < 0 for layer in self.layers):
            raise ValueError(f"layer indexes must be >= 0, got {list(self.layers)}")
        if self.granularity < 1:
            raise ValueError(f"granularity must be >= 1, got {self.granularity}")
        if len(self.pruned_blocks) != len(self.layers):
            raise ValueError(
                f"pruned_blocks has {len(self.pruned_blocks)} entries for {len(self.layers)} layers"
            )
        for layer, n in zip(self.layers, self.pruned_blocks):
            if not 0 <= n <= self.granularity:
                raise ValueError(
                    f"layer {layer}: pruned_blocks {n} is outside [0, granularity={self.granularity}]"
                )

    @classmethod
    def uniform(cls, layers: Sequence[int], granularity: int, pruned_blocks: int) -> SearchSpace:
        """A space pruning the same number of blocks in every listed layer."""
        return cls(tuple(layers), granularity, (pruned_blocks,) * len(layers))

    def size(self) -> int:
        """The number of distinct chromosomes in the space."""
        return math.prod(math.comb(self.granularity, n) for n in self.pruned_blocks)

    def validate(self, chrom: Chromosome) -> None:
        """Raise ValueError, naming the layer, unless ``chrom`` is a chromosome of this space
        (tuples of distinct ints in range, in any slot order)."""
        if not isinstance(chrom, tuple):
            raise ValueError(f"a chromosome must be a tuple, got {type(chrom).__name__}")
        _check_layer_count(self, chrom)
        for position, genes in enumerate(chrom):
            if not isinstance(genes, tuple) or not all(type(g) is int for g in genes):
                raise ValueError(f"{_layer_name(self, position)}: genes must be a tuple of ints")
            _check_genes(self, position, genes)

    def contains(self, chrom: Any) -> bool:
        """True if ``chrom`` is a chromosome of this space (see ``validate``)."""
        try:
            self.validate(chrom)
        except ValueError:
            return False
        return True


def canonical(chrom: Chromosome) -> Chromosome:
    """The set of blocks each layer prunes, sorted: what the pruned model and its result depend on."""
    return tuple(tuple(sorted(genes)) for genes in chrom)


def to_json(chrom: Chromosome) -> list[list[int]]:
    """The JSON form of a chromosome: one list of block indexes per pruned layer, in slot order."""
    return [list(genes) for genes in chrom]


def from_json(obj: Any, space: SearchSpace) -> Chromosome:
    """Parse and validate a JSON chromosome; the slot order is kept (``canonical`` drops it)."""
    if not isinstance(obj, (list, tuple)):
        raise ValueError(f"a chromosome must be a list of layers, got {type(obj).__name__}")
    _check_layer_count(space, obj)
    chrom = []
    for position, genes in enumerate(obj):
        if not isinstance(genes, (list, tuple)):
            raise ValueError(f"{_layer_name(space, position)}: genes must be a list")
        ints = tuple(_as_int(g, f"{_layer_name(space, position)}: gene") for g in genes)
        _check_genes(space, position, ints)
        chrom.append(ints)
    return tuple(chrom)


def _check_layer_count(space: SearchSpace, chrom: Sequence[Any]) -> None:
    if len(chrom) != len(space.layers):
        raise ValueError(f"a chromosome needs {len(space.layers)} layers, got {len(chrom)}")


def _check_genes(space: SearchSpace, position: int, genes: Sequence[int]) -> None:
    name = _layer_name(space, position)
    expected = space.pruned_blocks[position]
    if len(genes) != expected:
        raise ValueError(f"{name}: expected {expected} genes, got {len(genes)}")
    repeated = sorted(g for g, count in Counter(genes).items() if count > 1)
    if repeated:
        raise ValueError(f"{name}: repeated genes {repeated}")
    outside = [g for g in genes if not 0 <= g < space.granularity]
    if outside:
        raise ValueError(f"{name}: genes {outside} outside [0, {space.granularity})")


def _layer_name(space: SearchSpace, position: int) -> str:
    return f"layer {space.layers[position]} (position {position})"


def _as_int(value: Any, what: str) -> int:
    # operator.index accepts ints and numpy integers but rejects floats; bools are rejected too.
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an int, got {value!r}") from None
