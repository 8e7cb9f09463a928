"""What a method does around the training updates, as hooks the training loop calls (torch-free to import:
methods build their task kinds without torch)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch


class TrainingHooks:
    """What a method does around the updates (PARP: prune first, re-prune every n updates and at the end; SRP:
    gates whose strength shrinks, frozen groups); the base does nothing, a method overrides what it needs.

    Picklable; every call gets the trial's params. Anything a hook decides must follow from
    (params, step) alone, so that a resumed run does what the uninterrupted one did.
    """

    def prepare(self, model: torch.nn.Module, params: Mapping[str, Any], reads: Mapping[str, Path]) -> None:
        """Before anything else, on a fresh start and on a resume alike (before the saved state is loaded):
        put on what lives outside the weights (hooks, gates). `reads`: the files of other trials it reads,
        by the names the trial's `reads` param gives them."""

    def start(self, model: torch.nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        """Before the first update of a fresh start (not on a resume); metrics to record."""
        return {}

    def before_step(self, model: torch.nn.Module, step: int, params: Mapping[str, Any]) -> None:
        """Before the forward pass of update `step` + 1 (`step`: the updates made so far)."""

    def extra_loss(self, model: torch.nn.Module, step: int, params: Mapping[str, Any]) -> torch.Tensor | None:
        """A term added to the loss of update `step` + 1 (a regulariser); None for none."""
        return None

    def before_update(self, model: torch.nn.Module, step: int, params: Mapping[str, Any]) -> None:
        """Between the backward pass and the optimiser's step (gradients may be changed here)."""

    def after_step(self, model: torch.nn.Module, step: int, params: Mapping[str, Any]) -> None:
        """After update `step` (1-based)."""

    def finish(self, model: torch.nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        """After the last update (also with steps 0); metrics to record."""
        return {}


class NoHooks(TrainingHooks):
    """Plain fine-tuning: no method acts around the updates."""
