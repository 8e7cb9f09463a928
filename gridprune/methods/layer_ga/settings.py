"""The `layer_ga:` section (no torch to validate; the targets are matched against the model in `check`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gridprune.adapters.factory import FactoryModel
from gridprune.sections import ConfigValueError, DataSource
from gridprune.training.section import TrainingSection

SECTION = "layer_ga"


class LayerGaSettings(TrainingSection):
    """The `layer_ga:` section. gridprune's defaults where the original is weak (each documented beside the
    original's in the README): operators `gridprune` (generational, rank selection, magnitude-seeded, a mutation
    that restores as it prunes) under a constraint (`objective`) instead of w * sparsity + (1 - w) * score."""

    unit: Literal["weight", "neuron"] = Field("weight", description=(
        "a gene is one weight (the original's: unstructured, smaller on disk only) or one FFN neuron / attention "
        "dimension of a wav2vec2 layer (removed physically at export: the model gets faster)"))
    operators: Literal["gridprune", "original"] = Field("gridprune", description=(
        "gridprune's (generational, parents by rank, magnitude-seeded, swap mutation near the magnitude threshold, "
        "a generation evaluated in parallel) or the original's (steady state, uniform parents, prune-only mutation, "
        "fitness w * sparsity + (1 - w) * (1 - WER), 0 under the floor)"))
    masks: Literal["auto", "search", "magnitude"] = Field("auto", description=(
        "gridprune's operators: search (the GA over the genes), magnitude (only each target's sparsity is "
        "searched, by a parallel bisection under the ceiling; the mask at it keeps the largest-magnitude genes: "
        "an allocation of sparsity over the targets that cannot fit single genes to the search set), or auto: "
        "magnitude for unit neuron under max_sparsity with no finetune_steps, else search (what measured best on "
        "wav2vec2)"))
    mode: Literal["auto", "sequential", "independent"] = Field("auto", description=(
        "sequential (the original's: one target after another on the model pruned so far, a fine-tune after "
        "each), independent (every target against the unpruned model at once, then combined and repaired), or "
        "auto: independent for unit weight with gridprune's operators and no finetune_steps, else sequential "
        "(what measured best on wav2vec2)"))
    layers: list[str] | None = Field(None, description=(
        "shell patterns over the targets' names (parameter names for unit weight, e.g. '*.feed_forward.*'; "
        "'wav2vec2.encoder.layers.N' for unit neuron); default: every target in the encoder layers (wav2vec2), "
        "every target (a factory model)"))
    norms: bool = Field(False, description="unit weight: mask normalisation layers' weights too (the original does)")
    biases: bool = Field(False, description="unit weight: mask biases too")
    objective: Literal["max_sparsity", "target_sparsity"] = Field("max_sparsity", description=(
        "gridprune's operators: the sparsest mask within max_wer_increase of the unpruned model (ties: lower "
        "WER), or the lowest WER at target_sparsity"))
    max_wer_increase: float = Field(0.02, ge=0, le=1, description=(
        "the error a pruned model may add to the unpruned model's on the search set (WER; 1 - score for a "
        "factory model); also the original's floor when `floor` is not given"))
    budget: Literal["spread", "whole"] = Field("spread", description=(
        "sequential mode: spread (gridprune's: the i-th of n targets may bring the WER up to i/n of "
        "max_wer_increase, so the first do not spend it all) or whole (every target up to all of it, as the "
        "original's floor)"))
    target_sparsity: float | None = Field(None, gt=0, lt=1, description="objective target_sparsity: each target's")
    population: int = Field(10, ge=3, description=(
        "masks per target's population (the original's 10); masks magnitude: the sparsities tried per round"))
    generations: int = Field(20, ge=1, description=(
        "generations per target (the original's 20); a generation of the original's operators is as many steps "
        "of two children as the population has members; masks magnitude: the most rounds after the first (the "
        "bisection ends sooner once no untried sparsity is left)"))
    mutation_rate: float = Field(0.05, gt=0, le=1, description=(
        "original: each kept gene's chance to be pruned (its 0.05); gridprune: the share of the smaller side "
        "(kept or pruned) swapped"))
    w: float = Field(0.8, ge=0, le=1, description="original's fitness: the weight of sparsity against the score")
    floor: float | None = Field(None, ge=0, le=1, description=(
        "original's fitness: 0 when the score (1 - WER) is under it; default 1 - the target's ceiling (budget)"))
    early_stop_sparsity: float = Field(1.0, gt=0, le=1, description="a target's search stops once its best mask is this sparse")
    pressure: float = Field(3.0, gt=0, description="gridprune's rank selection pressure (as the ga_blocks search)")
    finetune_steps: int = Field(0, ge=0, description="sequential mode: updates after each target's search")
    final_steps: int = Field(0, ge=0, description="updates of the final fine-tune, all masks held")
    lr: float = Field(1e-4, gt=0, description="fine-tuning learning rate (Adam, constant)")
    batch_size: int = Field(4, ge=1, description="utterances per update")
    distill: float = Field(0.0, ge=0, le=1, description="weight of distillation from the unpruned model")
    freeze_feature_encoder: bool = Field(True, description="keep the convolutional feature encoder fixed")
    save_every: int = Field(50, ge=1, description="updates between two saves of a training task's state")
    train: DataSource | None = Field(None, description="the training set of the fine-tunes (needed when they update)")

    @property
    def mode_used(self) -> Literal["sequential", "independent"]:
        """`mode` with auto resolved: independent for unit weight with gridprune's operators and no fine-tune
        after each target (a lower held-out WER there, and every target's search in the same rounds), else
        sequential."""
        if self.mode != "auto":
            return self.mode
        at_once = self.unit == "weight" and self.operators == "gridprune" and not self.finetune_steps
        return "independent" if at_once else "sequential"

    @property
    def masks_used(self) -> Literal["search", "magnitude"]:
        """`masks` with auto resolved: magnitude masks for unit neuron with gridprune's operators under
        max_sparsity and no fine-tune after each target (there as sparse as the GA's, better on held-out data, at
        fewer evaluations), else the GA's (with fine-tunes between the targets it went further)."""
        if self.masks != "auto":
            return self.masks
        allocation = self.unit == "neuron" and self.operators == "gridprune" and self.objective == "max_sparsity"
        return "magnitude" if allocation and not self.finetune_steps else "search"


def check_settings(settings: LayerGaSettings, factory: FactoryModel | None) -> None:
    """ConfigValueError naming the key of settings that do not fit together, or not the factory model (None: a
    wav2vec2 checkpoint)."""
    def refuse(key: str, problem: str) -> None:
        raise ConfigValueError(f"{SECTION}.{key}", problem)

    if settings.objective == "target_sparsity" and settings.target_sparsity is None:
        refuse("target_sparsity", "objective target_sparsity needs it (the fraction of each target's genes pruned)")
    if settings.target_sparsity is not None and settings.objective != "target_sparsity":
        refuse("target_sparsity", "is read only with objective: target_sparsity")
    if settings.operators == "original" and settings.objective == "target_sparsity":
        refuse("objective", "the original's operators have no target sparsity (they trade sparsity against the "
                            "score with w); use operators: gridprune")
    if settings.masks == "magnitude" and settings.operators == "original":
        refuse("masks", "magnitude masks are gridprune's allocation search; the original's operators search the "
                        "genes (use operators: gridprune)")
    if settings.masks == "magnitude" and settings.objective == "target_sparsity":
        refuse("masks", "with objective target_sparsity every target's sparsity is given, so magnitude masks leave "
                        "nothing to search (that is one-shot magnitude pruning); use objective: max_sparsity")
    if settings.mode == "independent" and settings.finetune_steps:
        refuse("finetune_steps", "is sequential mode's (a fine-tune after each target); independent mode "
                                 "fine-tunes once at the end (final_steps)")
    if (settings.finetune_steps or settings.final_steps) and settings.train is None:
        refuse("train", "the fine-tunes need a training set (an .hrl path, or the file the factory model's "
                        "train_loss reads)")
    if factory is not None and settings.distill:
        refuse("distill", "distillation is for wav2vec2 models; a factory model's fine-tune is its train_loss")
    if factory is not None and (settings.finetune_steps or settings.final_steps) and factory.train_loss is None:
        raise ConfigValueError("model.train_loss", "the fine-tunes need the model's training objective: give "
                                                   "model.train_loss ('package.module:function')")
