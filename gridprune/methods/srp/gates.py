"""SRP's connectivity gates on a wav2vec2, put on without copying a layer, and the importance of each group.

A gate multiplies one prunable group's signal (SRP's connectivity parameter c, 1 = untouched, 0 = removed):
- an FFN neuron: its activation as `feed_forward.output_dense` takes it (a forward pre-hook);
- a query/key dimension (head, dim): the query after `attention.q_proj` (a forward hook), which takes the
  dimension out of every attention score, as removing q row j and k row j together does;
- a value dimension (head, dim): the head outputs as `attention.out_proj` takes them (a forward pre-hook),
  as removing v row j and out_proj column j does.

Importance per group (larger = more important, so the smallest are pruned):
- `taylor_abs` (gridprune's default): the sum over batches of |dL/dc| at c = 1, stable between batches;
- `signed` (the original's): -dL/dc on one batch (the original prunes the largest dL/dc);
- `l1`: the L1 norms of the weights the group owns, multiplied (row x column).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from gridprune.methods.srp.settings import Score

GROUPS = ("ffn", "qk", "vo")


@dataclass
class Gates:
    """One gate tensor per encoder layer and group kind: `ffn` (intermediate width), `qk` and `vo` (hidden)."""

    ffn: list[torch.Tensor]
    qk: list[torch.Tensor]
    vo: list[torch.Tensor]

    def of(self, group: str) -> list[torch.Tensor]:
        """The gates of one kind of group ("ffn", "qk" or "vo"), one tensor per layer."""
        return getattr(self, group)


def ones_like_groups(model: nn.Module, requires_grad: bool = False, value: float = 1.0) -> Gates:
    """Gates at 1 (nothing pruned), or at `value`, for every group of `model`'s encoder."""
    layers = model.wav2vec2.encoder.layers
    device = next(model.parameters()).device

    def filled(size: int) -> torch.Tensor:
        return torch.full((size,), value, requires_grad=requires_grad, device=device)

    return Gates(ffn=[filled(layer.feed_forward.intermediate_dense.out_features) for layer in layers],
                 qk=[filled(layer.attention.q_proj.out_features) for layer in layers],
                 vo=[filled(layer.attention.v_proj.out_features) for layer in layers])


def attach(model: nn.Module, gates: Gates) -> list[torch.utils.hooks.RemovableHandle]:
    """Apply `gates` to `model`'s forward pass until the returned handles are removed."""
    handles = []
    for index, layer in enumerate(model.wav2vec2.encoder.layers):
        attention, feed_forward = layer.attention, layer.feed_forward
        handles.append(attention.q_proj.register_forward_hook(_times_output(gates.qk, index)))
        handles.append(attention.out_proj.register_forward_pre_hook(_times_input(gates.vo, index)))
        handles.append(feed_forward.output_dense.register_forward_pre_hook(_times_input(gates.ffn, index)))
    return handles


@contextmanager
def gated(model: nn.Module, gates: Gates) -> Iterator[Gates]:
    """`model` with `gates` applied to its forward pass; the hooks are removed on exit."""
    handles = attach(model, gates)
    try:
        yield gates
    finally:
        for handle in handles:
            handle.remove()


def _times_output(gates: list[torch.Tensor], index: int) -> Callable:
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return output * gates[index]
    return hook


def _times_input(gates: list[torch.Tensor], index: int) -> Callable:
    def hook(module: nn.Module, inputs: tuple) -> tuple:
        return (inputs[0] * gates[index], *inputs[1:])
    return hook


def importance(model: nn.Module, score: Score, batches: Sequence[tuple[torch.Tensor, torch.Tensor]] = (),
               loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> Gates:
    """Each group's importance (module docstring); `batches` of (inputs, labels) and `loss(logits, labels)` for
    the gradient scores (`signed` takes the first batch only). The model is scored in eval mode, unchanged."""
    if score == "l1":
        return _l1_importance(model)
    if not batches or loss is None:
        raise ValueError(f"the {score} importance needs batches and a loss")
    was_training = model.training
    model.eval()
    gates = ones_like_groups(model, requires_grad=True)
    total = ones_like_groups(model, value=0.0)
    try:
        with gated(model, gates):
            for inputs, labels in batches[:1] if score == "signed" else batches:
                every = [g for group in GROUPS for g in gates.of(group)]
                grads = torch.autograd.grad(loss(model(input_values=inputs).logits, labels), every)
                for target, grad in zip((t for group in GROUPS for t in total.of(group)), grads):
                    target += -grad if score == "signed" else grad.abs()
    finally:
        model.train(was_training)
    return total


def _l1_importance(model: nn.Module) -> Gates:
    """Row x column L1 norms: FFN neuron j (intermediate row j, output column j), q/k dimension j (q row j,
    k row j), v dimension j (v row j, out_proj column j)."""
    def rows(linear: nn.Linear) -> torch.Tensor:
        return linear.weight.detach().abs().sum(dim=1)

    def columns(linear: nn.Linear) -> torch.Tensor:
        return linear.weight.detach().abs().sum(dim=0)

    layers = model.wav2vec2.encoder.layers
    return Gates(
        ffn=[rows(l.feed_forward.intermediate_dense) * columns(l.feed_forward.output_dense) for l in layers],
        qk=[rows(l.attention.q_proj) * rows(l.attention.k_proj) for l in layers],
        vo=[rows(l.attention.v_proj) * columns(l.attention.out_proj) for l in layers],
    )
