"""The adapter protocol. The master's side reads no weight for wav2vec2 (a factory model is built and scored by
`check`, and its weights hashed by `fingerprint`: the factory is the only way to reach it); the worker's side
loads models."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Protocol

from gridprune.engine.kinds import TaskKind
from gridprune.sections import DataSource

if TYPE_CHECKING:
    from torch import nn

    from gridprune.training.hooks import TrainingHooks


class ScoredModels(Protocol):
    """A worker's view of the model: the base model loaded once, and an error (lower is better) per model."""

    model: nn.Module  # the unpruned model, in eval mode

    def load_saved(self, folder: Path) -> nn.Module:
        """A model a training task saved (`ModelAdapter.training_kind`) in `folder`."""

    def error(self, model: nn.Module, *, ceiling: float | None = None, start_layer: int | None = None,
              cache: Any = None, candidate: Callable[[], ContextManager[Any]] = nullcontext) -> dict[str, Any]:
        """{"error", "rejected", "used", "seconds"} of `model` on the search set, with `candidate()` entered
        (e.g. a mask put on): `error` None when rejected above `ceiling`; `start_layer`: the first layer the
        candidate changes, `cache`: a hashable name of `model` as given, whose earlier layers' outputs may be
        reused."""


class ModelAdapter(Protocol):
    """What the run path asks of a model, whatever it is."""

    kind: str  # "wav2vec2" or "factory"

    def check(self, data: DataSource, heldout: DataSource | None) -> None:
        """Before a run writes anything: the model and the sets are usable (ConfigValueError naming the key);
        the search set may be left to `data_fingerprint`, which reads it."""

    def fingerprint(self) -> str:
        """Changes when the model does."""

    def data_fingerprint(self, source: DataSource) -> str:
        """Changes when the dataset does."""

    def instance(self) -> nn.Module:
        """The model's modules with their shapes (on the meta device where it can be), to name its parameters;
        read only (it may be shared)."""

    def scored_models(self, threads: int, data: DataSource) -> ScoredModels:
        """The worker's view: the model loaded, the search set read."""

    def evaluation_kind(self, data: DataSource, heldout: DataSource | None) -> TaskKind:
        """The `evaluate` kind: params {"weights": a training trial's key, or None for the unpruned model};
        metrics `wer` (the error) and `heldout_wer` on the two sets, `parameters`, `nonzero_parameters`."""

    def training_kind(self, hooks: TrainingHooks, train: DataSource, save_every: int) -> TaskKind:
        """The `train` kind: fine-tune with the method's hooks (params as `training.kind`'s)."""


def absolute_source(source: DataSource | None) -> tuple[str, str | None] | None:
    """(path, audio_dir) of a dataset made absolute (workers may start elsewhere); None stays None."""
    if source is None:
        return None
    return str(Path(source.path).resolve()), str(Path(source.audio_dir).resolve()) if source.audio_dir else None
