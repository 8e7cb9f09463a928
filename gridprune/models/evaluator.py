"""Word error rate of a model, or of many pruned variants of it, on one dataset."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch
from transformers import Wav2Vec2ForCTC

from gridprune.data import Dataset
from gridprune.models.decoding import GreedyCtcDecoder, input_values
from gridprune.models.forward import hidden_before_layer, logits_from_layer
from gridprune.models.loading import Checkpoint
from gridprune.wer import WerResult, score


@dataclass(frozen=True)
class Evaluation:
    """The outcome of decoding (part of) a dataset."""

    result: WerResult
    hypotheses: tuple[str, ...]
    indices: tuple[int, ...]
    seconds: float


class Evaluator:
    """Decodes a dataset one utterance at a time with models that share layers before `start_layer`.

    The hidden states entering `start_layer` are computed once, here, and reused
    by every `evaluate` call: a pruned model may differ from the checkpoint only
    in encoder layers `start_layer` and later.
    """

    def __init__(self, checkpoint: Checkpoint, dataset: Dataset, start_layer: int = 0):
        self.checkpoint = checkpoint
        self.start_layer = start_layer
        self.decoder = GreedyCtcDecoder(checkpoint.processor)
        self.references = tuple(u.transcription for u in dataset.utterances)
        started = time.perf_counter()
        self.cached_inputs = [
            hidden_before_layer(checkpoint.model, input_values(checkpoint.processor, audio), start_layer)
            for audio in dataset.audio()
        ]
        self.cache_seconds = time.perf_counter() - started

    def evaluate(self, model: Wav2Vec2ForCTC | None = None, indices: Sequence[int] | None = None) -> Evaluation:
        """Decode the utterances at `indices` (default: all) with `model` (default: the checkpoint's)."""
        model = model if model is not None else self.checkpoint.model
        indices = tuple(range(len(self.references))) if indices is None else tuple(indices)
        started = time.perf_counter()
        with torch.inference_mode():
            hypotheses = tuple(
                self.decoder.decode(logits_from_layer(model, self.cached_inputs[i], self.start_layer))
                for i in indices
            )
        seconds = time.perf_counter() - started
        result = score([self.references[i] for i in indices], hypotheses)
        return Evaluation(result=result, hypotheses=hypotheses, indices=indices, seconds=seconds)


def utterance_rows(dataset: Dataset, evaluation: Evaluation) -> list[dict]:
    """One JSON-ready row per decoded utterance, with paths relative to the dataset folder."""
    rows = []
    for index, hypothesis, utt_score in zip(evaluation.indices, evaluation.hypotheses, evaluation.result.utterances):
        utterance = dataset.utterances[index]
        rows.append({
            "audio": utterance.audio_path.relative_to(dataset.path.parent.resolve()).as_posix(),
            "line": utterance.line,
            "reference": utterance.transcription,
            "hypothesis": hypothesis,
            "words": utt_score.words,
            "errors": utt_score.errors,
            "wer": utt_score.wer,
        })
    return rows


def decode_dataset(model: Wav2Vec2ForCTC, processor, dataset: Dataset) -> Evaluation:
    """Decode every utterance through the whole model (no cached front end): the honest decode time."""
    decoder = GreedyCtcDecoder(processor)
    audio = dataset.audio()
    started = time.perf_counter()
    with torch.inference_mode():
        hypotheses = tuple(decoder.decode(model(input_values(processor, samples)).logits) for samples in audio)
    seconds = time.perf_counter() - started
    result = score([u.transcription for u in dataset.utterances], hypotheses)
    return Evaluation(result=result, hypotheses=hypotheses, indices=tuple(range(len(audio))), seconds=seconds)
