"""Wav2Vec2ForCTC's inference forward pass, split at an encoder layer.

Pruning a chromosome changes encoder layers only, so everything before the first
pruned layer (feature encoder, feature projection, positional embedding, the
unpruned layers) is the same for every chromosome: run it once per utterance
with `hidden_before_layer` and evaluate each pruned model with
`logits_from_layer`. Together the two equal `model(input_values).logits` in eval
mode (tests check it for both encoder styles).
"""

from __future__ import annotations

import torch
from transformers import Wav2Vec2ForCTC


def is_stable_layer_norm(model: Wav2Vec2ForCTC) -> bool:
    """True for the pre-norm encoder of large models (XLSR-53), False for post-norm (base)."""
    return bool(model.config.do_stable_layer_norm)


def _run_layer(layer: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    out = layer(hidden)
    return out[0] if isinstance(out, tuple) else out  # transformers 4 returns a tuple


@torch.inference_mode()
def hidden_before_layer(model: Wav2Vec2ForCTC, input_values: torch.Tensor, layer: int) -> torch.Tensor:
    """The hidden states that enter encoder layer `layer` (0 = the first)."""
    wav2vec2 = model.wav2vec2
    encoder = wav2vec2.encoder
    features = wav2vec2.feature_extractor(input_values).transpose(1, 2)
    hidden, _ = wav2vec2.feature_projection(features)
    hidden = hidden + encoder.pos_conv_embed(hidden)
    if not is_stable_layer_norm(model):
        hidden = encoder.layer_norm(hidden)
    hidden = encoder.dropout(hidden)
    for encoder_layer in encoder.layers[:layer]:
        hidden = _run_layer(encoder_layer, hidden)
    return hidden


@torch.inference_mode()
def logits_from_layer(model: Wav2Vec2ForCTC, hidden: torch.Tensor, layer: int) -> torch.Tensor:
    """CTC logits from the hidden states entering encoder layer `layer`."""
    wav2vec2 = model.wav2vec2
    encoder = wav2vec2.encoder
    for encoder_layer in encoder.layers[layer:]:
        hidden = _run_layer(encoder_layer, hidden)
    if is_stable_layer_norm(model):
        hidden = encoder.layer_norm(hidden)
    if wav2vec2.adapter is not None:
        hidden = wav2vec2.adapter(hidden)
    return model.lm_head(model.dropout(hidden))
