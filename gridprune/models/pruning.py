"""Physically pruning rows of wav2vec2 encoder feed-forward networks.

The FFN of encoder layer l is `output_dense(act(intermediate_dense(x)))`. Removing
intermediate row r removes row r (and bias r) of `intermediate_dense` and column r
of `output_dense`; the sliced model computes exactly what the full model computes
with those rows zeroed, with less work. The FFN width is cut into `granularity`
equal blocks, the unit a chromosome prunes.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from transformers import Wav2Vec2ForCTC

from gridprune.errors import GridpruneError


class PruningError(GridpruneError, ValueError):
    """A pruning request that does not fit the model."""


def ffn_width(model: Wav2Vec2ForCTC) -> int:
    return int(model.config.intermediate_size)


def block_size(model: Wav2Vec2ForCTC, granularity: int) -> int:
    """Rows per block; the FFN width must split into `granularity` equal blocks."""
    width = ffn_width(model)
    if granularity <= 0 or width % granularity:
        raise PruningError(f"granularity {granularity} does not divide the FFN width {width} into equal blocks")
    return width // granularity


def kept_rows(pruned_blocks: Sequence[int], granularity: int, rows_per_block: int) -> torch.Tensor:
    """Indexes of the FFN rows that remain after removing `pruned_blocks`, ascending."""
    keep = np.ones(granularity, dtype=bool)
    keep[list(pruned_blocks)] = False
    blocks = np.flatnonzero(keep)
    rows = (blocks[:, None] * rows_per_block + np.arange(rows_per_block)[None, :]).reshape(-1)
    return torch.from_numpy(rows)


def block_l1_norms(model: Wav2Vec2ForCTC, layers: Sequence[int], granularity: int) -> list[np.ndarray]:
    """For each layer, the L1 norm of each block of `intermediate_dense` weight rows."""
    size = block_size(model, granularity)
    norms = []
    for layer in layers:
        weight = model.wav2vec2.encoder.layers[layer].feed_forward.intermediate_dense.weight.detach()
        norms.append(weight.abs().sum(dim=1).reshape(granularity, size).sum(dim=1).double().numpy())
    return norms


@contextmanager
def quiet_empty_init() -> Iterator[None]:
    """Building a layer with no neuron (or no value dimension) left is meant: silence torch's warning of it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Initializing zero-element tensors is a no-op")
        yield


def sliced_linear(source: nn.Linear, rows: torch.Tensor | None = None, columns: torch.Tensor | None = None) -> nn.Linear:
    """A copy of `source` keeping only `rows` (outputs) and `columns` (inputs); its parameters need no gradient."""
    weight = source.weight.detach()
    if rows is not None:
        weight = weight.index_select(0, rows)
    if columns is not None:
        weight = weight.index_select(1, columns)
    bias = source.bias
    if bias is not None and rows is not None:
        bias = bias.detach().index_select(0, rows)
    with quiet_empty_init():
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
    layer.weight = nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        layer.bias = nn.Parameter(bias.detach(), requires_grad=False)
    return layer


class FfnPruner:
    """Makes a model physically pruned in place, from its original weights kept aside once.

    `apply` swaps each named layer's two FFN linears for sliced copies of the
    originals; `restore` puts the originals back. No reload, no deep copy.
    """

    def __init__(self, model: Wav2Vec2ForCTC, granularity: int):
        widths = {layer.feed_forward.intermediate_dense.out_features for layer in model.wav2vec2.encoder.layers}
        if widths != {ffn_width(model)}:
            raise PruningError(f"the encoder layers have FFN widths {sorted(widths)} (an exported pruned model?); "
                               f"block pruning needs every layer {ffn_width(model)} rows wide")
        self.model = model
        self.granularity = granularity
        self.rows_per_block = block_size(model, granularity)
        self.originals = [
            (layer.feed_forward.intermediate_dense, layer.feed_forward.output_dense)
            for layer in model.wav2vec2.encoder.layers
        ]

    def apply(self, pruned: Mapping[int, Sequence[int]]) -> Wav2Vec2ForCTC:
        """Prune `pruned[layer]` blocks of each named layer; all other layers get their full FFN back."""
        for layer in pruned:
            if not 0 <= layer < len(self.originals):
                raise PruningError(f"layer {layer} does not exist; the model has {len(self.originals)} encoder layers")
        for layer, (intermediate, output) in enumerate(self.originals):
            feed_forward = self.model.wav2vec2.encoder.layers[layer].feed_forward
            blocks = pruned.get(layer, ())
            if not blocks:
                feed_forward.intermediate_dense, feed_forward.output_dense = intermediate, output
                continue
            if any(not 0 <= b < self.granularity for b in blocks) or len(set(blocks)) != len(blocks):
                raise PruningError(f"layer {layer}: blocks {list(blocks)} must be distinct and in [0, {self.granularity})")
            rows = kept_rows(blocks, self.granularity, self.rows_per_block)
            feed_forward.intermediate_dense = sliced_linear(intermediate, rows=rows)
            feed_forward.output_dense = sliced_linear(output, columns=rows)
        return self.model

    def restore(self) -> Wav2Vec2ForCTC:
        """Back to the unpruned model."""
        return self.apply({})


def mask_ffn_rows(model: Wav2Vec2ForCTC, pruned: Mapping[int, Sequence[int]], granularity: int) -> None:
    """Zero the pruned rows in place instead of removing them (the reference a sliced model must equal)."""
    size = block_size(model, granularity)
    with torch.no_grad():
        for layer, blocks in pruned.items():
            feed_forward = model.wav2vec2.encoder.layers[layer].feed_forward
            removed = torch.ones(ffn_width(model), dtype=torch.bool)
            removed[kept_rows(blocks, granularity, size)] = False
            feed_forward.intermediate_dense.weight[removed] = 0
            if feed_forward.intermediate_dense.bias is not None:
                feed_forward.intermediate_dense.bias[removed] = 0
            feed_forward.output_dense.weight[:, removed] = 0


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
