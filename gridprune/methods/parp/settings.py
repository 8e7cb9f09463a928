"""The `parp:` section and the checks made before a run starts (no torch)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from gridprune.sections import ConfigValueError, DataSource, Section
from gridprune.training.section import TrainingSection, sweep_points
from gridprune.training.schedule import Schedule

SECTION = "parp"


class Progressive(Section):
    """PARP-P: the sparsity rises from `start` at the first prune to the target at the last re-prune before the
    final one."""

    start: float = Field(ge=0, lt=1, description="sparsity of the first prune")
    sparsity: list[float] | None = Field(
        None, description="the points that get a PARP-P trial beside PARP (default: every point)")


class ParpSettings(TrainingSection):
    """The `parp:` section; defaults are the paper's where it has one (Adam (0.9, 0.98), lr 5e-5,
    feature encoder frozen, CTC alone), the steps far fewer than its 12-20 k, a constant lr."""

    sparsity: float | list[float] = Field(0.5, description="one target, or a list: each an independent trial")
    steps: int = Field(1000, ge=0, description="fine-tuning updates of each PARP trial; 0 = one-shot only")
    reprune_every: int = Field(50, ge=1, description="updates between two global re-prunes")
    progressive: Progressive | None = Field(None, description="PARP-P: a trial whose sparsity rises to each target")
    lr: float = Field(5e-5, gt=0, description="the peak learning rate")
    schedule: Schedule = Field("constant", description=(
        "constant (gridprune's: better on short adjusts, BENCHMARKS.md section 8) or tri_stage (the original's "
        "fairseq schedule: warm up over 10% of the updates, hold 40%, decay to 5%)"))
    distill: float = Field(0.0, ge=0, le=1, description=(
        "weight of distillation from the unpruned model (gridprune's): (1 - w) CTC + w KL(unpruned || pruned); "
        "0: CTC alone, as the paper"))
    batch_size: int = Field(8, ge=1, description="utterances per update")
    freeze_feature_encoder: bool = Field(True, description="keep the convolutional feature encoder fixed")
    prune_biases: bool = Field(True, description="prune the biases of the pruned layers too (as the weights)")
    oneshot: bool = Field(True, description="a one-shot magnitude pruning trial beside every point (the baseline)")
    save_every: int = Field(100, ge=1, description="updates between two saves of a training task's state")
    train: DataSource = Field(description="the labelled training set: an .hrl path or {path, audio_dir}")

    @field_validator("sparsity")
    @classmethod
    def _each_in_range(cls, value: float | list[float]) -> float | list[float]:
        return sweep_points(value, one="sparsity", many="sparsities", inside=lambda p: 0 < p < 1,
                            allowed="sparsity must lie in (0, 1) (the fraction of weights pruned)")

    @model_validator(mode="after")
    def _progressive_fits(self) -> ParpSettings:
        if self.progressive is None:
            return self
        points = self.points()
        chosen = self.progressive.sparsity if self.progressive.sparsity is not None else points
        missing = [p for p in chosen if p not in points]
        if missing:
            raise ValueError(f"progressive.sparsity {missing} are not among the sparsity points {points}")
        low = [p for p in chosen if p <= self.progressive.start]
        if low:
            raise ValueError(f"progressive.start {self.progressive.start} must lie below each target it rises "
                             f"to, not at or above {low}")
        if self.steps == 0:
            raise ValueError("progressive needs steps > 0 (it rises at the re-prunes)")
        return self

    def points(self) -> list[float]:
        """The sparsity points, in the order given."""
        return list(self.sparsity) if isinstance(self.sparsity, list) else [self.sparsity]

    def progressive_points(self) -> list[float]:
        """The points that get a PARP-P trial."""
        if self.progressive is None:
            return []
        return self.progressive.sparsity if self.progressive.sparsity is not None else self.points()


def check(config: Any, settings: ParpSettings) -> None:
    """The model has the layers PARP prunes; the sweep trains something; the training set reads cleanly (each
    line named on error) and holds a batch."""
    from gridprune.data import read_hrl
    from gridprune.methods.base import check_model_layers

    check_model_layers(config)
    check_oneshot(settings)
    train = read_hrl(settings.train.path, settings.train.audio_dir)  # DatasetError names the file and line
    check_batch_size(settings, len(train))


def check_oneshot(settings: ParpSettings) -> None:
    """ConfigValueError if `oneshot: false` cannot hold: with `steps: 0` the one-shot trials are all the sweep has."""
    if not settings.oneshot and settings.steps == 0:
        raise ConfigValueError(f"{SECTION}.oneshot", f"false leaves out the one-shot trials, but with {SECTION}.steps: "
                                                     "0 they are all the sweep has (PARP adjusts only with steps > 0); "
                                                     f"set {SECTION}.steps above 0 or {SECTION}.oneshot: true")


def check_batch_size(settings: ParpSettings, utterances: int) -> None:
    """ConfigValueError if a PARP update would ask for more utterances than the training set holds."""
    if settings.steps and settings.batch_size > utterances:
        raise ConfigValueError(f"{SECTION}.batch_size", f"{settings.batch_size} is more than the {utterances} "
                                                        f"utterances of the training set {settings.train.path}; "
                                                        f"use at most {utterances}")
