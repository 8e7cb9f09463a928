"""The `ga:` section of `ga_blocks` and the chromosome layout it asks for on a model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gridprune.search import SearchSpace
from gridprune.sections import ConfigValueError, Section


class FitnessSettings(Section):
    """`ga.fitness`: what the search scores its individuals on, and how (all of it keys the results)."""

    subset: int | None = Field(None, gt=0, description="utterances per generation (seeded); null = all")
    score: Literal["corpus", "utterance_mean"] = Field(
        "corpus", description="corpus WER, or the mean of per-utterance WERs (the original code's)")
    normalise: bool = Field(
        True, description="normalise texts before scoring; false = lower-case, split on single spaces (the original)")
    subsample: float | None = Field(
        None, gt=0, le=1,
        description="each evaluation scores this fraction of the utterances, drawn from (seed, generation, individual)")


class GaSettings(Section):
    """The `ga:` section; defaults are the paper's where it has one, and the GA's operators
    (slot order, crossover, elitism) default to the original code's."""

    population: int = Field(100, ge=3, description="individuals per generation")
    generations: int = Field(70, ge=1, description="generations to run (`resume --set` may raise it)")
    pressure: float = Field(3.0, gt=0, description="selective pressure of the rank-exponential selection")
    granularity: int = Field(32, gt=0, description="each layer's FFN width is cut into this many equal blocks")
    pruned_blocks: int | list[int] = Field(20, description="blocks removed per layer, or a list: one per pruned layer")
    layers: Literal["all"] | list[int] = Field("all", description="the encoder layers pruned (indexes from 0)")
    l1_seed: bool = Field(True, description="one initial individual from L1-norm pruning")
    l1_reseed: bool = Field(
        True, description="write the L1 chromosome again over individual 10 of the population bred after "
                          "generation 10 (the original code's); false: never")
    mutation_rate: float = Field(0.0, ge=0, le=1, description="extra per-gene mutation, in its slot (gridprune's; "
                                                              "the paper and the original: 0)")
    keep_best: int = Field(0, ge=0, description="copy the k best into the next generation (gridprune's; the "
                                                "paper and the original: 0)")
    slot_order: Literal["inherited", "shuffled", "sorted"] = Field(
        "inherited", description="how crossover pairs the parents' genes: slot by slot in the order children "
                                 "inherit (the original code), re-shuffled, or sorted")
    crossover: Literal["paper", "original"] = Field(
        "original", description="repeat branch: Algorithm 2 as written (paper), or the original code's, "
                                "which mutates when the second parent's gene is held")
    elitism: Literal["paper", "original"] = Field(
        "original", description="paper: the best so far replaces the worst before breeding; original: it "
                                "overwrites the last child and is evaluated again, ties update it")
    fitness: FitnessSettings = Field(FitnessSettings(), description="what an individual is scored on")


def search_space(settings: GaSettings, layer_count: int, ffn_width: int | None = None) -> SearchSpace:
    """The chromosome layout that `settings` asks for on a model with `layer_count` encoder layers
    (and, if given, an FFN `ffn_width` rows wide, which the granularity must divide)."""
    layers = list(range(layer_count)) if settings.layers == "all" else settings.layers
    bad = [layer for layer in layers if not 0 <= layer < layer_count]
    if bad or not layers or len(set(layers)) != len(layers):
        raise ConfigValueError("ga.layers", f"{settings.layers} must be distinct encoder layers in [0, {layer_count}) "
                                            f"(the model has {layer_count})")
    if ffn_width is not None and ffn_width % settings.granularity:
        divisors = [d for d in range(2, ffn_width + 1) if ffn_width % d == 0]
        near = sorted(divisors, key=lambda d: (abs(d - settings.granularity), d))[:2]
        raise ConfigValueError("ga.granularity", f"{settings.granularity} does not divide the model's FFN width "
                                                 f"{ffn_width} into equal blocks (nearest that do: "
                                                 f"{', '.join(map(str, sorted(near)))})")
    counts = settings.pruned_blocks
    counts = [counts] * len(layers) if isinstance(counts, int) else counts
    if len(counts) != len(layers):
        raise ConfigValueError("ga.pruned_blocks", f"{len(counts)} numbers given for {len(layers)} pruned layers")
    if any(not 0 < n < settings.granularity for n in counts):
        shown = settings.pruned_blocks
        raise ConfigValueError("ga.pruned_blocks", f"{shown}: each must be in [1, {settings.granularity}) "
                                                   f"(below ga.granularity, so that every layer keeps a block)")
    return SearchSpace(tuple(layers), settings.granularity, tuple(counts))
