"""Whole encoder layers: their pooled hidden states, removing them, scoring and saving the smaller model.

Layers are numbered from 0 as in `model.wav2vec2.encoder.layers`; boundary i is
the hidden state entering layer i, and boundary L (L layers) the output of the
last one. Removing layers shifts the later ones down: the model keeps the same
feature encoder, positional embedding, final layer norm (stable-layer-norm
style) and CTC head, and `config.num_hidden_layers` counts the layers left, so
`save_pretrained` writes a checkpoint that plain `Wav2Vec2ForCTC.from_pretrained`
reloads.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from transformers import Wav2Vec2ForCTC

from gridprune.data import Dataset
from gridprune.models.decoding import GreedyCtcDecoder, input_values
from gridprune.models.evaluator import Evaluation
from gridprune.models.forward import hidden_before_layer, is_stable_layer_norm, logits_from_layer
from gridprune.models.loading import Checkpoint
from gridprune.models.pruning import PruningError
from gridprune.wer import score


def layer_count(model: Wav2Vec2ForCTC) -> int:
    """How many encoder layers the model runs now."""
    return len(model.wav2vec2.encoder.layers)


def check_dropped(layers: int, dropped: Iterable[int]) -> tuple[int, ...]:
    """`dropped` as distinct sorted layer indexes of a model with `layers` layers, at least one layer kept."""
    chosen = tuple(dropped)
    if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in chosen):
        raise PruningError(f"layers to drop must be integer indexes, got {list(chosen)}")
    result = tuple(sorted(int(i) for i in chosen))
    if len(set(result)) != len(result):
        raise PruningError(f"layers to drop must be distinct, got {list(chosen)}")
    if any(not 0 <= i < layers for i in result):
        raise PruningError(f"layers to drop {list(result)} must be in [0, {layers}): the model has {layers} encoder layers")
    if len(result) >= layers:
        raise PruningError(f"cannot drop {len(result)} of {layers} encoder layers: at least one must remain")
    return result


def _layer_output(layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    out = layer(hidden)
    return out[0] if isinstance(out, tuple) else out  # transformers 4 returns a tuple


class LayerDropper:
    """Removes encoder layers from a model in place and puts them back; no reload, no copy.

    `apply` swaps the encoder's layer list for one holding the kept layers (the
    same modules, shared) and sets `config.num_hidden_layers`; `restore` puts
    back the list and count the model had before `apply`. Indexes always refer
    to the layers the model had when the dropper was made.
    """

    def __init__(self, model: Wav2Vec2ForCTC):
        self.model = model
        self.original_layers = model.wav2vec2.encoder.layers
        self._saved: tuple[nn.ModuleList, int] | None = None

    def apply(self, dropped: Iterable[int]) -> Wav2Vec2ForCTC:
        """The model without the layers `dropped`, later ones shifted down."""
        removed = set(check_dropped(len(self.original_layers), dropped))
        kept = [layer for index, layer in enumerate(self.original_layers) if index not in removed]
        if self._saved is None:
            self._saved = (self.model.wav2vec2.encoder.layers, self.model.config.num_hidden_layers)
        self.model.wav2vec2.encoder.layers = nn.ModuleList(kept)
        self.model.config.num_hidden_layers = len(kept)
        return self.model

    def restore(self) -> Wav2Vec2ForCTC:
        """Back to the layers the model had before `apply`."""
        if self._saved is not None:
            self.model.wav2vec2.encoder.layers, self.model.config.num_hidden_layers = self._saved
            self._saved = None
        return self.model


@contextmanager
def dropped_layers(model: Wav2Vec2ForCTC, dropped: Iterable[int]) -> Iterator[Wav2Vec2ForCTC]:
    """`with dropped_layers(model, [2, 5]) as smaller:` the model without those layers, restored on exit."""
    dropper = LayerDropper(model)
    try:
        yield dropper.apply(dropped)
    finally:
        dropper.restore()


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@torch.inference_mode()
def pooled_hidden_states(model: Wav2Vec2ForCTC, inputs: Iterable[torch.Tensor], *,
                         after_final_norm: bool = False) -> np.ndarray:
    """Per utterance and boundary, the hidden state averaged over time: an (L+1, N, D) float64 array.

    Entry 0 is the encoder input (what enters layer 0), entry i the output of
    layer i-1, all in eval mode. For the stable-layer-norm style the last entry
    is taken before the final layer norm by default, so that every entry is the
    residual stream at a boundary and dropping layers a..L-1 swaps exactly
    entries a and L (the final norm then applies to whichever arrives);
    `after_final_norm=True` takes it after the norm, as transformers 4's
    `output_hidden_states` did (and the original CoMFLP code read); transformers
    5 gives it before. The post-norm style has no final norm.
    """
    encoder = model.wav2vec2.encoder
    rows: list[list[np.ndarray]] = [[] for _ in range(len(encoder.layers) + 1)]
    with _eval_mode(model):
        for values in inputs:
            hidden = hidden_before_layer(model, values, 0)
            rows[0].append(hidden.mean(dim=1)[0].double().numpy())
            for index, layer in enumerate(encoder.layers, start=1):
                hidden = _layer_output(layer, hidden)
                if index == len(encoder.layers) and after_final_norm and is_stable_layer_norm(model):
                    hidden = encoder.layer_norm(hidden)
                rows[index].append(hidden.mean(dim=1)[0].double().numpy())
    if not rows[0]:
        raise ValueError("pooled_hidden_states needs at least one utterance")
    return np.stack([np.stack(boundary) for boundary in rows])


def dataset_pooled_states(checkpoint: Checkpoint, dataset: Dataset, *,
                          after_final_norm: bool = False) -> tuple[np.ndarray, float]:
    """`pooled_hidden_states` of every utterance of `dataset`, and the seconds it took."""
    started = time.perf_counter()
    audio = dataset.audio()
    inputs = (input_values(checkpoint.processor, samples) for samples in audio)
    states = pooled_hidden_states(checkpoint.model, inputs, after_final_norm=after_final_norm)
    return states, time.perf_counter() - started


@torch.inference_mode()
def hidden_at_boundaries(model: Wav2Vec2ForCTC, values: torch.Tensor, boundaries: Iterable[int]) -> dict[int, torch.Tensor]:
    """The hidden states entering each layer in `boundaries` for one utterance, in one pass."""
    wanted = sorted(set(boundaries))
    encoder = model.wav2vec2.encoder
    if not wanted or wanted[0] < 0 or wanted[-1] >= len(encoder.layers):
        raise PruningError(f"boundaries {wanted} must be layer indexes in [0, {len(encoder.layers)})")
    hidden = hidden_before_layer(model, values, wanted[0])
    states = {wanted[0]: hidden}
    for index in range(wanted[0], wanted[-1]):
        hidden = _layer_output(encoder.layers[index], hidden)
        if index + 1 in wanted:
            states[index + 1] = hidden
    return states


def boundary_bytes(model: Wav2Vec2ForCTC, audio: Iterable[np.ndarray]) -> int:
    """Bytes of the float32 hidden states of the utterances `audio` at one layer boundary."""
    frames = sum(int(model._get_feat_extract_output_lengths(len(samples))) for samples in audio)
    return frames * model.config.hidden_size * 4


def spaced_starts(layers: int, per_boundary: int, budget: int | None) -> list[int]:
    """Every layer index if `budget` is None or holds them all; else as many evenly spaced ones (0 first) as fit."""
    count = layers if budget is None else max(1, min(layers, budget // max(1, per_boundary)))
    return sorted({round(i * layers / count) for i in range(count)})


class DroppedLayerEvaluator:
    """WER of the checkpoint with sets of encoder layers removed, on one dataset.

    The hidden states entering each layer of `starts` are computed once, here. A
    set whose first dropped layer is k is decoded from the cached states entering
    the largest start <= k, through the remaining layers and the head: layers
    before k are the same with or without the set. Memory: one float32
    (frames x width) tensor per utterance and start. By default every layer is a
    start, or as many evenly spaced ones as fit in `cache_bytes`.
    """

    def __init__(self, checkpoint: Checkpoint, dataset: Dataset, starts: Iterable[int] | None = None,
                 cache_bytes: int | None = None):
        self.checkpoint = checkpoint
        model = checkpoint.model
        self.layers = layer_count(model)
        audio = dataset.audio()
        if starts is None:
            starts = spaced_starts(self.layers, boundary_bytes(model, audio), cache_bytes)
        self.starts = tuple(sorted(set(starts)))
        self.decoder = GreedyCtcDecoder(checkpoint.processor)
        self.references = tuple(u.transcription for u in dataset.utterances)
        self.dropper = LayerDropper(model)
        started = time.perf_counter()
        with _eval_mode(model):
            self.cache = [hidden_at_boundaries(model, input_values(checkpoint.processor, samples), self.starts)
                          for samples in audio]
        self.cache_seconds = time.perf_counter() - started

    def start_for(self, dropped: Sequence[int]) -> int:
        """The cached boundary a set is decoded from."""
        first = min(dropped) if dropped else self.layers
        usable = [s for s in self.starts if s <= first]
        if not usable:
            raise PruningError(f"no cached hidden states at or before layer {first} (cached: {list(self.starts)})")
        return usable[-1]

    def logits(self, dropped: Sequence[int], index: int) -> torch.Tensor:
        """The CTC logits of utterance `index` with `dropped` removed."""
        dropped = check_dropped(self.layers, dropped)
        start = self.start_for(dropped)
        model = self.dropper.apply(dropped)
        try:
            with torch.inference_mode():
                return logits_from_layer(model, self.cache[index][start], start)
        finally:
            self.dropper.restore()

    def evaluate(self, dropped: Sequence[int], indices: Sequence[int] | None = None) -> Evaluation:
        """Decode the utterances at `indices` (default: all) with the layers `dropped` removed."""
        dropped = check_dropped(self.layers, dropped)
        indices = tuple(range(len(self.references))) if indices is None else tuple(indices)
        start = self.start_for(dropped)
        began = time.perf_counter()
        model = self.dropper.apply(dropped)
        try:
            with torch.inference_mode(), _eval_mode(model):
                hypotheses = tuple(self.decoder.decode(logits_from_layer(model, self.cache[i][start], start))
                                   for i in indices)
        finally:
            self.dropper.restore()
        seconds = time.perf_counter() - began
        result = score([self.references[i] for i in indices], hypotheses)
        return Evaluation(result=result, hypotheses=hypotheses, indices=indices, seconds=seconds)


def save_dropped(checkpoint: Checkpoint, dropped: Iterable[int], out: Path) -> Path:
    """Write the checkpoint without the layers `dropped` to `out`, loadable by plain `from_pretrained`."""
    out = Path(out)
    with dropped_layers(checkpoint.model, dropped) as model:
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
    checkpoint.processor.save_pretrained(out)
    return out
