"""The wav2vec2 adapter: a checkpoint folder, WER on `.hrl` sets, CTC fine-tuning (gridprune's `models/`)."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from gridprune.adapters.base import absolute_source
from gridprune.engine.kinds import TaskKind
from gridprune.sections import ConfigValueError, DataSource

if TYPE_CHECKING:
    from torch import nn

    from gridprune.training.hooks import TrainingHooks


@dataclass(frozen=True)
class Wav2vec2Adapter:
    """`model`: a checkpoint folder or `demo`."""

    model: str
    kind = "wav2vec2"

    def check(self, data: DataSource, heldout: DataSource | None) -> None:
        from gridprune.checkpoint_files import CheckpointError, check_checkpoint_folder, resolve_model_path
        from gridprune.data import read_hrl

        try:
            check_checkpoint_folder(resolve_model_path(self.model))
        except CheckpointError as exc:
            raise ConfigValueError("model", str(exc)) from None
        if heldout is not None:  # the search set is read by data_fingerprint, which every run takes
            read_hrl(heldout.path, heldout.audio_dir)  # DatasetError names the file and line

    def fingerprint(self) -> str:
        from gridprune.checkpoint_files import checkpoint_fingerprint, resolve_model_path

        return checkpoint_fingerprint(resolve_model_path(self.model))

    def data_fingerprint(self, source: DataSource) -> str:
        from gridprune.data import read_hrl

        return read_hrl(source.path, source.audio_dir).fingerprint()

    def instance(self) -> nn.Module:
        """The model built on the meta device from its config.json (no weight is read)."""
        import torch
        from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

        from gridprune.checkpoint_files import resolve_model_path

        config = Wav2Vec2Config.from_pretrained(resolve_model_path(self.model), local_files_only=True)
        with torch.device("meta"):
            return Wav2Vec2ForCTC(config)

    def scored_models(self, threads: int, data: DataSource) -> Wav2vec2Models:
        return Wav2vec2Models(self.model, threads, absolute_source(data))

    def evaluation_kind(self, data: DataSource, heldout: DataSource | None) -> TaskKind:
        from gridprune.training.evaluate import EvaluateFactory, evaluation_kind

        return evaluation_kind(EvaluateFactory(self.model, absolute_source(data), absolute_source(heldout)))

    def training_kind(self, hooks: TrainingHooks, train: DataSource, save_every: int) -> TaskKind:
        from gridprune.training.kind import TrainingFactory, training_kind

        path, audio = absolute_source(train)
        return training_kind(TrainingFactory(self.model, path, audio, hooks, save_every))


class Wav2vec2Models:
    """The checkpoint and the search set, loaded once; the hidden states entering a layer cached per model."""

    def __init__(self, model: str, threads: int, data: tuple[str, str | None]):
        from gridprune.models.worker import load_for_worker

        self.checkpoint, (self.dataset,) = load_for_worker(threads, model, [data])
        self.model = self.checkpoint.model
        self._cache: tuple[Any, dict[int, Any]] = (None, {})  # (the cached model's name, evaluator by layer)

    def load_saved(self, folder: Path) -> nn.Module:
        from gridprune.models.loading import load_pruned

        return load_pruned(folder)

    def error(self, model: nn.Module, *, ceiling: float | None = None, start_layer: int | None = None,
              cache: Any = None, candidate: Callable[[], ContextManager[Any]] = nullcontext) -> dict[str, Any]:
        from gridprune.models.evaluator import Evaluator, decode_dataset

        if start_layer is None or cache is None:  # the front end may change: nothing can be reused
            with candidate():
                evaluation = decode_dataset(model, self.checkpoint.processor, self.dataset, wer_ceiling=ceiling)
            return self._figures(evaluation)
        layer = start_layer
        if self._cache[0] != cache:
            self._cache = (cache, {})
        evaluators = self._cache[1]
        if layer not in evaluators:  # cached from the base, before the candidate is applied
            evaluators[layer] = Evaluator(dataclasses.replace(self.checkpoint, model=model), self.dataset, layer)
        with candidate():
            evaluation = evaluators[layer].evaluate(model, wer_ceiling=ceiling)
        return self._figures(evaluation)

    @staticmethod
    def _figures(evaluation: Any) -> dict[str, Any]:
        return {"error": None if evaluation.rejected else evaluation.result.wer, "rejected": evaluation.rejected,
                "used": len(evaluation.indices), "seconds": evaluation.seconds}
