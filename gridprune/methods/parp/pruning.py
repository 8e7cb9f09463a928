"""Global magnitude pruning of a wav2vec2 encoder's attention and FFN weights (PARP's mask).

Pruned: in every encoder layer the attention q, k, v and out projections and the FFN
intermediate and output dense layers, weights and (by default) biases. Never pruned: the
convolutional feature encoder, the feature projection, the positional convolution, the layer
norms and the CTC head. One threshold over all of them: the `round(sparsity * total)` entries of
smallest magnitude are set to zero, exactly that many (ties broken by position), so a model is
at the target to the entry.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

PRUNED_LINEARS = ("attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.out_proj",
                  "feed_forward.intermediate_dense", "feed_forward.output_dense")


def prunable_parameters(model: nn.Module, biases: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
    """(name, parameter) of every prunable tensor of `model` (a Wav2Vec2ForCTC), in a fixed order."""
    for index, layer in enumerate(model.wav2vec2.encoder.layers):
        for path in PRUNED_LINEARS:
            linear = layer.get_submodule(path)
            prefix = f"wav2vec2.encoder.layers.{index}.{path}"
            yield f"{prefix}.weight", linear.weight
            if biases and linear.bias is not None:
                yield f"{prefix}.bias", linear.bias


def prunable_count(model: nn.Module, biases: bool = True) -> int:
    """The entries global pruning chooses from."""
    return sum(p.numel() for _, p in prunable_parameters(model, biases))


@torch.no_grad()
def global_prune(model: nn.Module, sparsity: float, biases: bool = True) -> dict[str, float | int]:
    """Zero the `round(sparsity * total)` prunable entries of smallest magnitude; returns the threshold
    (the largest pruned magnitude) and the counts."""
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), not {sparsity}")
    params = [p for _, p in prunable_parameters(model, biases)]
    magnitudes = torch.cat([p.detach().abs().reshape(-1).to("cpu", torch.float32) for p in params])
    total = magnitudes.numel()
    count = int(round(sparsity * total))
    threshold = 0.0
    if count:
        order = torch.argsort(magnitudes, stable=True)
        pruned = torch.zeros(total, dtype=torch.bool)
        pruned[order[:count]] = True
        threshold = float(magnitudes[order[count - 1]])
        offset = 0
        for param in params:
            size = param.numel()
            param.masked_fill_(pruned[offset:offset + size].view_as(param).to(param.device), 0.0)
            offset += size
    return {"threshold": threshold, "pruned": count, "prunable": total}


@torch.no_grad()
def measured_sparsity(model: nn.Module, biases: bool = True) -> dict[str, float | int]:
    """The zero entries among the prunable ones, and the non-zero parameters of the whole model."""
    zeros = sum(int((p == 0).sum()) for _, p in prunable_parameters(model, biases))
    total = prunable_count(model, biases)
    every = sum(p.numel() for p in model.parameters())
    every_zero = sum(int((p == 0).sum()) for p in model.parameters())
    return {"prunable": total, "prunable_zeros": zeros, "sparsity_measured": zeros / total,
            "nonzero_fraction": 1 - zeros / total, "parameters": every, "nonzero_parameters": every - every_zero}
