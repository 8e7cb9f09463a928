"""What one chromosome covers (a target) and what its genes are, in a torch model.

- `unit: weight` (the original's): a target is one parameter tensor, a gene one of its entries; a pruned gene
  is set to zero (unstructured: the model keeps its shape).
- `unit: neuron` (wav2vec2): a target is one encoder layer, a gene one FFN neuron, one query/key dimension or
  one value dimension of a head. A pruned neuron's intermediate row and bias are zero (GELU(0) = 0, so it adds
  nothing); a pruned q/k dimension's query and key rows and biases are zero (it adds 0 to every score); a pruned
  value dimension's row and bias are zero. The masked model computes what the physically smaller one does.

Each target also gives its magnitude score per gene (|w| for a weight; for a neuron the product of the norms of
what it reads and what it writes, each group scaled to mean 1 so the groups rank against each other).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn

NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)
ENCODER_LAYER = "wav2vec2.encoder.layers.{}"
_LAYER_NAME = re.compile(r"^wav2vec2\.encoder\.layers\.(\d+)$")


def weight_candidates(model: nn.Module, *, norms: bool = False, biases: bool = False) -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} of the tensors `unit: weight` may mask: every module's `weight`, normalisation
    layers' only with `norms`, and biases only with `biases`."""
    found: dict[str, tuple[int, ...]] = {}
    for module_name, module in model.named_modules():
        is_norm = isinstance(module, NORMS)
        for name, parameter in module.named_parameters(recurse=False):
            if (name == "weight" and (norms or not is_norm)) or (name == "bias" and biases):
                found[f"{module_name}.{name}" if module_name else name] = tuple(parameter.shape)
    return found


def encoder_layers(model: nn.Module) -> Sequence[nn.Module] | None:
    """A wav2vec2 model's encoder layers; None for another model."""
    return getattr(getattr(getattr(model, "wav2vec2", None), "encoder", None), "layers", None)


def neuron_candidates(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """{encoder layer name: (genes,)} of a wav2vec2 model, the targets of `unit: neuron`."""
    layers = encoder_layers(model)
    if layers is None:
        raise ValueError("unit: neuron prunes the FFN neurons and attention dimensions of a wav2vec2 encoder; "
                         "this model has none (use unit: weight)")
    return {ENCODER_LAYER.format(i): (sum(neuron_groups(layer).values()),) for i, layer in enumerate(layers)}


def matching(candidates: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The candidates (in their order) that match any of the shell-style `patterns`."""
    return [name for name in candidates if any(fnmatchcase(name, pattern) for pattern in patterns)]


def unmatched(candidates: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The patterns that match no candidate."""
    return [pattern for pattern in patterns if not any(fnmatchcase(name, pattern) for name in candidates)]


def neuron_groups(layer: nn.Module) -> dict[str, int]:
    """The gene counts of one encoder layer, in chromosome order: FFN neurons, q/k dims, v dims."""
    attention = layer.attention
    return {"ffn": layer.feed_forward.intermediate_dense.out_features, "qk": attention.q_proj.out_features,
            "v": attention.v_proj.out_features}


def encoder_layer_of(target: str) -> int | None:
    """The encoder layer index a target belongs to (None: not inside an encoder layer)."""
    match = _LAYER_NAME.match(target) or re.search(r"(?:^|\.)encoder\.layers\.(\d+)\.", target)
    return int(match.group(1)) if match else None


def magnitude_scores(model: nn.Module, target: str, unit: str) -> np.ndarray:
    """One score per gene (higher: more important), float32."""
    with torch.no_grad():
        if unit == "weight":
            return model.get_parameter(target).detach().abs().reshape(-1).float().numpy()
        layer = model.get_submodule(target)
        feed, attention = layer.feed_forward, layer.attention
        groups = [
            feed.intermediate_dense.weight.norm(dim=1) * feed.output_dense.weight.norm(dim=0),
            attention.q_proj.weight.norm(dim=1) * attention.k_proj.weight.norm(dim=1),
            attention.v_proj.weight.norm(dim=1) * attention.out_proj.weight.norm(dim=0),
        ]
        return torch.cat([g / g.mean().clamp_min(1e-12) for g in groups]).float().numpy()


def zeroed_tensors(model: nn.Module, target: str, unit: str, keep: np.ndarray) -> list[tuple[torch.Tensor, Any]]:
    """(tensor, index of its pruned entries) pairs that applying `keep` (one bool per gene) sets to zero."""
    pruned = torch.from_numpy(~np.asarray(keep, dtype=bool))
    if unit == "weight":
        weight = model.get_parameter(target)
        if pruned.numel() != weight.numel():
            raise ValueError(f"the mask of {target} has {pruned.numel()} genes, the tensor {weight.numel()} entries")
        return [(weight, pruned.reshape(weight.shape))]
    layer = model.get_submodule(target)
    counts = neuron_groups(layer)
    if pruned.numel() != sum(counts.values()):
        raise ValueError(f"the mask of {target} has {pruned.numel()} genes, the layer {sum(counts.values())}")
    ffn, qk, v = torch.split(pruned, list(counts.values()))
    feed, attention = layer.feed_forward, layer.attention
    rows = [(feed.intermediate_dense, ffn), (attention.q_proj, qk), (attention.k_proj, qk), (attention.v_proj, v)]
    zeroed = [(linear.weight, index) for linear, index in rows]
    return zeroed + [(linear.bias, index) for linear, index in rows if linear.bias is not None]


def zero(pairs: Iterable[tuple[torch.Tensor, Any]]) -> None:
    """Set each (tensor, index) pair's entries to zero, in place (`zeroed_tensors` gives the pairs)."""
    with torch.no_grad():
        for tensor, index in pairs:
            tensor[index] = 0.0


def apply_mask(model: nn.Module, target: str, unit: str, keep: np.ndarray) -> None:
    """Set the target's pruned genes to zero, in place."""
    zero(zeroed_tensors(model, target, unit, keep))
