"""Greedy CTC decoding, one utterance at a time.

Utterances are never padded into a batch: a group-norm front end has no
attention mask, so padding would change the output and a fitness would depend
on which utterances share a batch.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from transformers import Wav2Vec2Processor

from gridprune.data import SAMPLE_RATE, Dataset, load_audio


class GreedyCtcDecoder:
    """Turns CTC logits into text: best token per frame, repeats merged, blanks dropped."""

    def __init__(self, processor: Wav2Vec2Processor):
        tokenizer = processor.tokenizer
        vocab = tokenizer.get_vocab()
        specials = set(tokenizer.all_special_tokens)
        delimiter = getattr(tokenizer, "word_delimiter_token", "|")
        self.pad_id = tokenizer.pad_token_id
        self.pieces = [""] * (max(vocab.values()) + 1)
        for token, index in vocab.items():
            self.pieces[index] = " " if token == delimiter else ("" if token in specials else token)

    def decode(self, logits: torch.Tensor) -> str:
        """Text of one utterance's logits, shape (frames, vocab) or (1, frames, vocab)."""
        ids = logits.reshape(-1, logits.shape[-1]).argmax(dim=-1)
        ids = torch.unique_consecutive(ids).tolist()
        pieces, known = self.pieces, len(self.pieces)  # outputs without a token decode as nothing
        text = "".join(pieces[i] for i in ids if i != self.pad_id and i < known)
        return " ".join(text.split())


def input_values(processor: Wav2Vec2Processor, audio: np.ndarray) -> torch.Tensor:
    """The model input of one utterance, shape (1, samples), normalised as the checkpoint expects."""
    features = processor.feature_extractor(audio, sampling_rate=SAMPLE_RATE, return_tensors="pt")
    return features.input_values


@torch.inference_mode()
def transcribe(model: torch.nn.Module, processor: Wav2Vec2Processor, audio: np.ndarray,
               decoder: GreedyCtcDecoder | None = None) -> str:
    """Text of one utterance through the whole model."""
    decoder = decoder or GreedyCtcDecoder(processor)
    return decoder.decode(model(input_values(processor, audio)).logits)


def transcribe_dataset(model: torch.nn.Module, processor: Wav2Vec2Processor, dataset: Dataset) -> Iterator[str]:
    """The text of each utterance of `dataset` in order, reading one audio file at a time (little memory)."""
    decoder = GreedyCtcDecoder(processor)
    for utterance in dataset.utterances:
        yield transcribe(model, processor, load_audio(utterance.audio_path), decoder)
