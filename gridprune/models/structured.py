"""Structured removal from a wav2vec2's encoder: FFN neurons, and query/key and value dimensions of every head.

What is kept is given per encoder layer: the FFN neurons (indices into the intermediate width; none
left is allowed: the layer's FFN then adds only its output bias, as the gated model does), and per
head the query/key and the value dimensions (indices within the head). The result is saved with
`gridprune.models.pruned.save_model` and loaded back with `gridprune.load_pruned`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gridprune.models.heads import pruned_attention
from gridprune.models.pruning import sliced_linear


def remove_ffn_neurons(layer: nn.Module, kept: Sequence[int]) -> None:
    """Keep only the FFN neurons `kept` of one encoder layer (intermediate rows, output columns), in place."""
    rows = torch.tensor(sorted(kept), dtype=torch.long)
    feed_forward = layer.feed_forward
    feed_forward.intermediate_dense = sliced_linear(feed_forward.intermediate_dense, rows=rows)
    feed_forward.output_dense = sliced_linear(feed_forward.output_dense, columns=rows)


def remove_structured(model: nn.Module, ffn_keep: Sequence[Sequence[int]],
                      qk_keep: Sequence[Sequence[Sequence[int]]] | None = None,
                      v_keep: Sequence[Sequence[Sequence[int]]] | None = None) -> nn.Module:
    """Remove, in place, every FFN neuron and attention dimension not kept; returns `model`.

    `ffn_keep[layer]`: the neurons the layer keeps; `qk_keep[layer][head]` / `v_keep[layer][head]`:
    the dimensions each head keeps (None: the attention stays whole)."""
    layers = model.wav2vec2.encoder.layers
    if len(ffn_keep) != len(layers):
        raise ValueError(f"give the kept FFN neurons of each of the {len(layers)} encoder layers")
    if (qk_keep is None) != (v_keep is None):
        raise ValueError("give the kept query/key and value dimensions together (or neither)")
    for index, layer in enumerate(layers):
        remove_ffn_neurons(layer, ffn_keep[index])
        if qk_keep is not None and v_keep is not None:
            try:
                layer.attention = pruned_attention(layer.attention, [list(h) for h in qk_keep[index]],
                                                   [list(h) for h in v_keep[index]])
            except ValueError as exc:
                raise ValueError(f"encoder layer {index}: {exc}") from None
    return model
