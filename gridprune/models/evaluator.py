"""Word error rate of a model, or of many pruned variants of it, on one dataset."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch
from transformers import Wav2Vec2ForCTC

from gridprune.data import Dataset
from gridprune.models.decoding import GreedyCtcDecoder, input_values
from gridprune.models.forward import hidden_before_layer, logits_from_layer
from gridprune.models.loading import Checkpoint
from gridprune.wer import WerCeiling, WerResult, score

FitnessScore = Literal["corpus", "utterance_mean"]
FITNESS_SCORES: tuple[FitnessScore, ...] = ("corpus", "utterance_mean")


@dataclass(frozen=True)
class Evaluation:
    """The outcome of decoding (part of) a dataset, and which WER is its fitness (`fitness_score`).

    `rejected`: decoding stopped early because the corpus WER was sure to be above a
    ceiling (see `decode_under_ceiling`). `indices` and `hypotheses` are then the
    utterances actually decoded and `result` scores those alone: its WER is above the
    ceiling, but it is no bound, lower or upper, on the WER of the full decode. All
    a rejected evaluation says is "above the ceiling".
    """

    result: WerResult
    hypotheses: tuple[str, ...]
    indices: tuple[int, ...]
    seconds: float
    fitness_score: FitnessScore = "corpus"
    rejected: bool = False

    @property
    def fitness(self) -> float:
        """The corpus WER, or the mean of per-utterance WERs, as `fitness_score` says."""
        return self.result.utterance_mean if self.fitness_score == "utterance_mean" else self.result.wer


def decode_under_ceiling(decode: Callable[[int], str], references: Sequence[str], indices: Sequence[int],
                         ceiling: float, *, normalise: bool = True) -> Evaluation:
    """Decode (`decode(index)`) and score the utterances at `indices` in order, one per reference, and stop
    as soon as the corpus WER is sure to be above `ceiling` (a `rejected` evaluation).

    Under the ceiling (a WER equal to it included) the evaluation is the full one, `seconds` apart;
    `seconds` counts the scoring done along with the decoding.
    """
    running = WerCeiling(references, ceiling, normalise)
    hypotheses: list[str] = []
    started = time.perf_counter()
    with torch.inference_mode():
        for index in indices:
            hypotheses.append(decode(index))
            if running.add(hypotheses[-1]):
                break
    seconds = time.perf_counter() - started
    return Evaluation(result=running.result, hypotheses=tuple(hypotheses), indices=tuple(indices[:len(hypotheses)]),
                      seconds=seconds, rejected=running.exceeded)


def scored(references: Sequence[str], hypotheses: Sequence[str], indices: Sequence[int], seconds: float, *,
           fitness_score: FitnessScore = "corpus", normalise: bool = True) -> Evaluation:
    """The `Evaluation` of `hypotheses` against `references` (one per utterance at `indices`).

    `normalise=False` compares texts as the original code did (see `gridprune.wer`).
    """
    if fitness_score not in FITNESS_SCORES:
        raise ValueError(f"fitness score must be one of {FITNESS_SCORES}, got {fitness_score!r}")
    result = score(references, hypotheses, normalise=normalise)
    return Evaluation(result=result, hypotheses=tuple(hypotheses), indices=tuple(indices), seconds=seconds,
                      fitness_score=fitness_score)


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

    def evaluate(self, model: Wav2Vec2ForCTC | None = None, indices: Sequence[int] | None = None, *,
                 fitness_score: FitnessScore = "corpus", normalise: bool = True,
                 wer_ceiling: float | None = None) -> Evaluation:
        """Decode the utterances at `indices` (default: all) with `model` (default: the checkpoint's)
        and score them (see `scored`).

        With `wer_ceiling`, stop as soon as the corpus WER is sure to be above it (see
        `decode_under_ceiling`); only the corpus fitness can be bounded so.
        """
        model = model if model is not None else self.checkpoint.model
        indices = tuple(range(len(self.references))) if indices is None else tuple(indices)
        if wer_ceiling is not None:
            if fitness_score != "corpus":  # a mean of per-utterance WERs is not bounded by the errors so far
                raise ValueError(f"a WER ceiling bounds the corpus WER only, not the fitness score {fitness_score!r}")
            return decode_under_ceiling(
                lambda i: self.decoder.decode(logits_from_layer(model, self.cached_inputs[i], self.start_layer)),
                [self.references[i] for i in indices], indices, wer_ceiling, normalise=normalise)
        started = time.perf_counter()
        with torch.inference_mode():
            hypotheses = tuple(
                self.decoder.decode(logits_from_layer(model, self.cached_inputs[i], self.start_layer))
                for i in indices
            )
        seconds = time.perf_counter() - started
        return scored([self.references[i] for i in indices], hypotheses, indices, seconds,
                      fitness_score=fitness_score, normalise=normalise)


def decode_dataset(model: Wav2Vec2ForCTC, processor, dataset: Dataset, wer_ceiling: float | None = None) -> Evaluation:
    """Decode every utterance through the whole model (no cached front end): the honest decode time.

    With `wer_ceiling`, stop as soon as the corpus WER is sure to be above it (see `decode_under_ceiling`).
    """
    decoder = GreedyCtcDecoder(processor)
    audio = dataset.audio()
    if wer_ceiling is not None:
        return decode_under_ceiling(lambda i: decoder.decode(model(input_values(processor, audio[i])).logits),
                                    [u.transcription for u in dataset.utterances], range(len(audio)), wer_ceiling)
    started = time.perf_counter()
    with torch.inference_mode():
        hypotheses = tuple(decoder.decode(model(input_values(processor, samples)).logits) for samples in audio)
    seconds = time.perf_counter() - started
    result = score([u.transcription for u in dataset.utterances], hypotheses)
    return Evaluation(result=result, hypotheses=hypotheses, indices=tuple(range(len(audio))), seconds=seconds)
