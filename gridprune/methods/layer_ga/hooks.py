"""The fine-tunes of the per-layer mask GA: every mask chosen so far is held (its pruned genes stay zero)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from gridprune.training.hooks import TrainingHooks

if TYPE_CHECKING:
    import torch


class MaskHooks(TrainingHooks):
    """Puts the masks the trial's `inputs` name ({target: digest}) on the model and holds them: the pruned genes'
    gradients are zeroed before each update and the genes set to zero again after it."""

    def __init__(self) -> None:
        self._zeroed: list[tuple[Any, Any]] = []

    def prepare(self, model: torch.nn.Module, params: Mapping[str, Any], reads: Mapping[str, Path]) -> None:
        from gridprune.methods.layer_ga.masks import unpack_mask
        from gridprune.methods.layer_ga.targets import zeroed_tensors

        self._zeroed = []
        for target in params.get("inputs", {}):
            keep = unpack_mask(Path(reads[target]).read_bytes())
            self._zeroed += zeroed_tensors(model, target, params["unit"], keep)
        self._hold()

    def _hold(self) -> None:
        from gridprune.methods.layer_ga.targets import zero

        zero(self._zeroed)

    def before_update(self, model: torch.nn.Module, step: int, params: Mapping[str, Any]) -> None:
        for tensor, index in self._zeroed:
            if tensor.grad is not None:
                tensor.grad[index] = 0.0

    def after_step(self, model: torch.nn.Module, step: int, params: Mapping[str, Any]) -> None:
        self._hold()

    def finish(self, model: torch.nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        self._hold()
        return {"masked_tensors": len(self._zeroed)}
