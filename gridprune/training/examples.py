"""Labelled examples of an `.hrl` set for CTC training: model inputs, label ids, batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from gridprune.data import Dataset, load_audio
from gridprune.models.decoding import input_values


@dataclass(frozen=True)
class Example:
    """One utterance: normalised samples and its transcription's token ids."""

    inputs: np.ndarray
    labels: np.ndarray


def load_examples(dataset: Dataset, processor) -> list[Example]:
    """Each utterance of `dataset` as model input (normalised as the checkpoint expects) and label ids."""
    examples = []
    for utterance in dataset.utterances:
        samples = input_values(processor, load_audio(utterance.audio_path))[0].numpy()
        labels = np.asarray(processor.tokenizer(utterance.transcription).input_ids, dtype=np.int64)
        examples.append(Example(samples, labels))
    return examples


def make_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Fixed batches of `batch_size` utterances of similar length (little padding); the last may be smaller."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def collate(examples: Sequence[Example], batch: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded inputs and -100-padded labels (ignored by the CTC loss) of one batch."""
    inputs = torch.zeros(len(batch), max(len(examples[i].inputs) for i in batch))
    labels = torch.full((len(batch), max(len(examples[i].labels) for i in batch)), -100, dtype=torch.long)
    for row, index in enumerate(batch):
        example = examples[index]
        inputs[row, : len(example.inputs)] = torch.from_numpy(example.inputs)
        labels[row, : len(example.labels)] = torch.from_numpy(example.labels)
    return inputs, labels
