"""PARP around the fine-tuning updates: prune, let pruned weights regrow, re-prune every n updates.

PARP (Lai et al., 2021): the initial mask is one global magnitude threshold at the target; the
pruned weights start at zero but are not held there; every `reprune_every` updates the model is
pruned globally again, and once more after the last update, so the result is exactly at the target.
PARP-P: the sparsity rises from `start` at the first prune to the target at the last re-prune
before the final one, a step at each. With `steps: 0` this is one-shot magnitude pruning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from gridprune.training.hooks import TrainingHooks

if TYPE_CHECKING:  # the hooks are made where the task kinds are built, without torch; they use it in a task
    from torch import nn


def sparsity_at(params: Mapping[str, Any], prune_index: int) -> float:
    """The sparsity of prune number `prune_index` (0: before training; the last: after the last update).

    PARP-P reaches the target at the last re-prune before the final one, so the last updates adjust
    the model at the target and the final prune removes only what regrew (when the updates allow
    one re-prune between the first and the final prune)."""
    target, start = params["sparsity"], params.get("start")
    if start is None:
        return target
    rising = max(1, len(reprune_steps(params)) - 1)
    return start + (target - start) * min(prune_index, rising) / rising


def reprune_steps(params: Mapping[str, Any]) -> list[int]:
    """The updates after which the model is re-pruned (the last update always among them)."""
    steps = params["steps"]
    if not steps:
        return []
    every = params["reprune_every"]
    marks = list(range(every, steps, every))
    return marks + [steps]


@dataclass(frozen=True)
class ParpHooks(TrainingHooks):
    """The training hooks of PARP (picklable: no state; everything follows from params and step)."""

    def start(self, model: nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        from gridprune.methods.parp.pruning import global_prune, measured_sparsity

        before = measured_sparsity(model, params["prune_biases"])
        stats = global_prune(model, sparsity_at(params, 0), params["prune_biases"])
        return {"initial_threshold": stats["threshold"], "initial_sparsity": sparsity_at(params, 0),
                "parameters": before["parameters"], "nonzero_parameters_before": before["nonzero_parameters"]}

    def after_step(self, model: nn.Module, step: int, params: Mapping[str, Any]) -> None:
        from gridprune.methods.parp.pruning import global_prune

        every = params["reprune_every"]
        if step % every == 0 and step < params["steps"]:
            global_prune(model, sparsity_at(params, step // every), params["prune_biases"])

    def finish(self, model: nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        from gridprune.methods.parp.pruning import global_prune, measured_sparsity

        regrown = measured_sparsity(model, params["prune_biases"])["sparsity_measured"]
        stats = global_prune(model, params["sparsity"], params["prune_biases"])
        return {"final_threshold": stats["threshold"], "sparsity_before_final_prune": regrown,
                "reprunes": len(reprune_steps(params)), **measured_sparsity(model, params["prune_biases"])}
