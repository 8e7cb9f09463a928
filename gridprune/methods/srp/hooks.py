"""SRP around the training updates: the selected groups' gates shrink to 0 while the groups stay frozen and the
rest of the model trains; then fine-tuning with the groups gated off; at the end the gates are folded into the
weights (the groups' rows and columns zeroed), so the trained model is a plain dense one computing the pruned
function, which the export then removes physically.

The gate strength c follows from the update number alone (`gate_strength`), so a resumed training sets the
same c as an uninterrupted one. The frozen groups' gradients are zeroed after every backward pass; with Adam
and no weight decay their moments then stay 0 as well, so they never move.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from gridprune.methods.srp.settings import ShrinkSchedule
from gridprune.training.hooks import TrainingHooks

if TYPE_CHECKING:  # the hooks are made where the task kinds are built, without torch; they use it in a task
    from torch import nn

SG_FLOOR = 1e-5  # the geometric schedule's last value before 0 (the original's)
STATE = "_gridprune_srp"  # the model attribute holding the gates while it trains


def gate_strength(schedule: ShrinkSchedule, step: int, shrink_steps: int) -> float:
    """c of the selected groups during update `step` + 1: sa 1 - t/N, sg 1e-5^(t/N), 0 from t = N on."""
    if step >= shrink_steps:
        return 0.0
    fraction = step / shrink_steps
    return 1.0 - fraction if schedule == "sa" else SG_FLOOR ** fraction


@dataclass
class _Gating:
    gates: Any  # Gates: 1 on kept groups, c on removed ones
    removed: Any  # Gates of bool masks
    handles: list


@dataclass(frozen=True)
class SrpHooks(TrainingHooks):
    """The training hooks of SRP (picklable, no state: the gates live on the model being trained)."""

    def prepare(self, model: nn.Module, params: Mapping[str, Any], reads: Mapping[str, Path]) -> None:
        from gridprune.methods.srp.gates import attach, ones_like_groups
        from gridprune.methods.srp.scoring import selection_of
        from gridprune.methods.srp.selection import removed_mask

        selection = selection_of(json.loads(reads["selection"].read_text()), params["keep"])
        gates = ones_like_groups(model)
        setattr(model, STATE, _Gating(gates, removed_mask(selection, gates), attach(model, gates)))

    def start(self, model: nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        from gridprune.models.pruning import count_parameters

        return {"parameters": count_parameters(model)}

    def before_step(self, model: nn.Module, step: int, params: Mapping[str, Any]) -> None:
        gating = getattr(model, STATE)
        strength = gate_strength(params["shrink_schedule"], step, params["shrink_steps"])
        for kind in ("ffn", "qk", "vo"):
            for gate, removed in zip(gating.gates.of(kind), gating.removed.of(kind)):
                gate[removed] = strength

    def before_update(self, model: nn.Module, step: int, params: Mapping[str, Any]) -> None:
        _zero_groups(model, getattr(model, STATE).removed, gradients=True)

    def finish(self, model: nn.Module, params: Mapping[str, Any]) -> dict[str, Any]:
        from gridprune.models.export import model_sizes

        gating = getattr(model, STATE)
        for handle in gating.handles:
            handle.remove()
        delattr(model, STATE)
        _zero_groups(model, gating.removed, gradients=False)
        return {"nonzero_parameters": model_sizes(model)["nonzero_params"]}


def _zero_groups(model: nn.Module, removed: Any, gradients: bool) -> None:
    """Zero the removed groups' weights (or their gradients): FFN rows and columns, q and k rows, v rows and
    out_proj columns, with the biases of the rows."""
    import torch

    def zero(param: torch.Tensor | None, mask: torch.Tensor, columns: bool = False) -> None:
        target = param if param is None or not gradients else param.grad
        if target is None:
            return
        if columns:
            target[:, mask] = 0
        else:
            target[mask] = 0

    with torch.no_grad():
        for index, layer in enumerate(model.wav2vec2.encoder.layers):
            ffn, qk, v = removed.ffn[index], removed.qk[index], removed.vo[index]
            feed_forward, attention = layer.feed_forward, layer.attention
            for linear, mask in ((feed_forward.intermediate_dense, ffn), (attention.q_proj, qk),
                                 (attention.k_proj, qk), (attention.v_proj, v)):
                zero(linear.weight, mask)
                zero(linear.bias, mask)
            zero(feed_forward.output_dense.weight, ffn, columns=True)
            zero(attention.out_proj.weight, v, columns=True)
