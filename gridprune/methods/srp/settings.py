"""The `srp:` section and the checks made before a run starts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from gridprune.sections import ConfigValueError, DataSource
from gridprune.training.section import TrainingSection, sweep_points

SECTION = "srp"
Score = Literal["taylor_abs", "signed", "l1"]
ShrinkSchedule = Literal["sa", "sg"]


class SrpSettings(TrainingSection):
    """The `srp:` section. gridprune's defaults where the original's do worse on a trained model: the score (the
    original's signed gradient ranks groups at random on a trained model, BENCHMARKS.md section 10), distillation
    at temperature 1 with half the weight (as measured for PARP, BENCHMARKS.md section 8)."""

    keep: float | list[float] = Field(0.6, description=(
        "fraction of the model's parameters that remain; a list: each an independent trial"))
    qk_keep: float | None = Field(None, gt=0, le=1, description=(
        "fraction of each head's query/key dimensions kept (default: the share keep gives every group)"))
    v_keep: float | None = Field(None, ge=0, le=1, description=(
        "fraction of each head's value dimensions kept (default: the share keep gives every group)"))
    score: Score = Field("taylor_abs", description=(
        "importance of a group: taylor_abs (sum over batches of |dL/dc|), signed (the original's -dL/dc on one "
        "batch), l1 (weight norms, row x column)"))
    score_batches: int = Field(16, ge=1, description="training batches the gradient scores sum over")
    schedule: ShrinkSchedule = Field("sg", description=(
        "how the selected groups' gates shrink to 0 over shrink_steps: sg (geometric to 1e-5, then 0; gridprune's, "
        "BENCHMARKS.md section 10) or sa (linear)"))
    shrink_steps: int = Field(300, ge=0, description="updates while the selected groups' gates shrink (0: removed at once)")
    finetune_steps: int = Field(100, ge=0, description="updates after that, the groups removed")
    distill: float = Field(0.5, ge=0, le=1, description=(
        "weight of distillation from the unpruned model: (1 - w) CTC + w T^2 KL(unpruned || pruned) at temperature T"))
    distill_temperature: float = Field(1.0, gt=0, description="T of the distillation (the original's: 10)")
    lr: float = Field(1e-4, gt=0, description="learning rate (Adam, constant)")
    batch_size: int = Field(4, ge=1, description="utterances per update and per scoring batch")
    freeze_feature_encoder: bool = Field(True, description="keep the convolutional feature encoder fixed")
    oneshot: bool = Field(True, description="a one-shot trial beside every keep (score, remove, no update): the baseline")
    oneshot_finetune: bool = Field(False, description=(
        "a trial beside every keep that removes the groups at once and fine-tunes them with as many updates as SRP"))
    save_every: int = Field(50, ge=1, description="updates between two saves of a training task's state")
    train: DataSource = Field(description="the labelled training set: an .hrl path or {path, audio_dir}")

    @field_validator("keep")
    @classmethod
    def _each_in_range(cls, value: float | list[float]) -> float | list[float]:
        return sweep_points(value, one="keep fraction", many="keep fractions", inside=lambda p: 0 < p <= 1,
                            allowed="keep must lie in (0, 1] (the fraction of parameters that remain)")

    def points(self) -> list[float]:
        """The keep fractions, in the order given."""
        return list(self.keep) if isinstance(self.keep, list) else [self.keep]

    @property
    def steps(self) -> int:
        """Updates of an SRP trial: shrinking, then fine-tuning."""
        return self.shrink_steps + self.finetune_steps


def check(config: Any, settings: SrpSettings) -> None:
    """Every keep fits the model (ConfigValueError naming srp.keep, with the range it allows), the training
    set reads cleanly (DatasetError names the file and line) and holds a batch."""
    from gridprune.data import read_hrl
    from gridprune.methods.base import check_model_layers
    from gridprune.methods.srp.budget import BudgetError, plan

    check_model_layers(config)
    if not settings.oneshot and not settings.steps:
        raise ConfigValueError(f"{SECTION}.oneshot", f"false leaves out the one-shot trials, but with {SECTION}."
                                                     "shrink_steps and finetune_steps 0 they are all the sweep has")
    budget = model_budget(config.model)
    for keep in settings.points():
        try:
            plan(budget, keep, settings.qk_keep, settings.v_keep)
        except BudgetError as exc:
            key = "qk_keep" if exc.args[0].startswith("qk_keep") else "keep"
            raise ConfigValueError(f"{SECTION}.{key}", str(exc)) from None
    train = read_hrl(settings.train.path, settings.train.audio_dir)
    if settings.batch_size > len(train):
        raise ConfigValueError(f"{SECTION}.batch_size", f"{settings.batch_size} is more than the {len(train)} "
                                                        f"utterances of the training set {settings.train.path}")


def model_budget(model: str) -> Any:
    """The parameter budget of the checkpoint `model`: from its config alone (the model built on the meta device,
    no weight read), or, for a model already pruned to per-layer sizes, from the loaded model."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    from gridprune.checkpoint_files import read_model_config, resolve_model_path
    from gridprune.methods.srp.budget import budget_of
    from gridprune.models.loading import load_model
    from gridprune.models.pruned import RECORD_KEY

    path = resolve_model_path(model)
    config = read_model_config(path)
    if RECORD_KEY in config:
        return budget_of(load_model(path))
    with torch.device("meta"):
        return budget_of(Wav2Vec2ForCTC(Wav2Vec2Config.from_dict(config)))
