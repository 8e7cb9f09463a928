"""Model adapters: what the run path asks of a model (checks, fingerprints, loading, evaluation, the training
objective, saving), so that a method that can prune any torch model asks the adapter, not wav2vec2 code.

- `Wav2vec2Adapter`: a wav2vec2 checkpoint folder (`model: PATH` or `model: demo`), WER on `.hrl` sets;
- `FactoryAdapter`: any torch model built by a Python factory, scored by the user's evaluation function
  (`model: {factory: "pkg.mod:build", evaluate: "pkg.mod:score", ...}`).
"""

from __future__ import annotations

from typing import Any

from gridprune.adapters.base import ModelAdapter
from gridprune.adapters.factory import FactoryAdapter, FactoryModel
from gridprune.adapters.wav2vec2 import Wav2vec2Adapter

__all__ = ["FactoryAdapter", "FactoryModel", "ModelAdapter", "Wav2vec2Adapter", "adapter_for"]


def adapter_for(model: Any) -> ModelAdapter:
    """The adapter of a config's `model` value."""
    return FactoryAdapter(model) if isinstance(model, FactoryModel) else Wav2vec2Adapter(str(model))
