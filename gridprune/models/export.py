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


def summary(pruned: Mapping[int, Sequence[int]], granularity: int, layers: int, params_before: int,
            params_after: int) -> dict:
    """What an export kept and removed, as report keys and one sentence (`summary`), e.g.
    "kept 71.3% of parameters (2,607,840 of 3,658,464); removed 50% of FFN rows in 4 of 4 layers"."""
    shares = {layer: len(blocks) / granularity for layer, blocks in pruned.items() if blocks}
    removed = sum(shares.values()) / layers  # of all FFN rows, every layer the same width
    kept = params_after / params_before
    text = f"kept {kept:.1%} of parameters ({params_after:,} of {params_before:,}); "
    if not shares:
        text += "removed no FFN rows"
    else:
        low, high = min(shares.values()), max(shares.values())
        share = _percent(low) if low == high else f"{_percent(low)}-{_percent(high)}"
        text += f"removed {share} of FFN rows in {len(shares)} of {layers} layers"
        if low != high or len(shares) != layers:
            text += f" ({_percent(removed)} of all FFN rows)"
    return {
        "params_kept": kept,
        "ffn_rows_removed": removed,
        "ffn_rows_removed_per_layer": {str(layer): share for layer, share in sorted(shares.items())},
        "pruned_layers": len(shares),
        "encoder_layers": layers,
        "summary": text,
    }


def _percent(share: float) -> str:
    """50%, 62.5%, 33.3%: at most one decimal, none when it is whole."""
    text = f"{share * 100:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"
