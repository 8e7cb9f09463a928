"""Saving a physically pruned model as a checkpoint that plain transformers reloads."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import torch
from torch import nn

from gridprune.models.loading import Checkpoint
from gridprune.models.pruning import FfnPruner


def _pad_ffn(feed_forward: nn.Module, width: int) -> int:
    """Widen an FFN to `width` rows with zero rows and columns (the output is unchanged); returns rows added."""
    intermediate, output = feed_forward.intermediate_dense, feed_forward.output_dense
    missing = width - intermediate.out_features
    if missing <= 0:
        return 0
    padded_in = nn.Linear(intermediate.in_features, width, bias=intermediate.bias is not None)
    padded_out = nn.Linear(width, output.out_features, bias=output.bias is not None)
    with torch.no_grad():
        padded_in.weight.zero_()
        padded_in.weight[: intermediate.out_features] = intermediate.weight
        if intermediate.bias is not None:
            padded_in.bias.zero_()
            padded_in.bias[: intermediate.out_features] = intermediate.bias
        padded_out.weight.zero_()
        padded_out.weight[:, : intermediate.out_features] = output.weight
        if output.bias is not None:
            padded_out.bias.copy_(output.bias)
    feed_forward.intermediate_dense, feed_forward.output_dense = padded_in, padded_out
    return missing


def save_pruned(checkpoint: Checkpoint, pruned: Mapping[int, Sequence[int]], granularity: int, out: Path) -> int:
    """Write the checkpoint with `pruned` blocks removed to `out`; returns zero rows added.

    transformers has one `intermediate_size` for all layers: when layers keep
    different widths, the narrower ones are padded with zero rows up to the
    widest, which keeps the outputs exact but gives back part of the size gain.
    """
    pruner = FfnPruner(checkpoint.model, granularity)
    model = pruner.apply(pruned)
    try:
        layers = model.wav2vec2.encoder.layers
        width = max(layer.feed_forward.intermediate_dense.out_features for layer in layers)
        padded = sum(_pad_ffn(layer.feed_forward, width) for layer in layers)
        original_width = model.config.intermediate_size
        model.config.intermediate_size = width
        try:
            out.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(out, safe_serialization=True)
            checkpoint.processor.save_pretrained(out)
        finally:
            model.config.intermediate_size = original_width
    finally:
        pruner.restore()
    return padded
