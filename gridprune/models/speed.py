"""Decode speed of a model before and after pruning, measured so that the figure holds on a busy machine.

The two models take turns utterance by utterance, in alternating order, after
a warm-up, on a fixed number of torch threads, for several rounds; each round
gives one speedup (before time over after time over the same utterances at
nearly the same moment), and the figure is the median of the rounds with their
min-max spread. A slow spell of the machine then slows both models of a turn
alike. When the rounds still disagree widely (`BUSY_SPREAD`), the figure is
flagged as uncertain: the machine was busy. Beside it, the speedup the FLOP
count predicts (`torch.utils.flop_counter`), which no load changes.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from gridprune.models.decoding import GreedyCtcDecoder, input_values
from gridprune.progress_bar import ProgressBar

DEFAULT_ROUNDS = 7
DEFAULT_THREADS = 1  # one worker's share of a node; fixed, so that figures of two exports compare
DEFAULT_UTTERANCES = 20  # the timing set: the first utterances of the search set
BUSY_SPREAD = 0.25  # (max - min) / median of the rounds' speedups above this: the figure is uncertain


@dataclass(frozen=True)
class SpeedFigures:
    """Decode times (medians over rounds, seconds per pass over the timing set) and speedups."""

    seconds_before: float
    seconds_after: float
    speedup: float
    speedup_min: float
    speedup_max: float
    rounds: int
    threads: int
    utterances: int
    flops_before: int
    flops_after: int
    load_average: float | None

    @property
    def predicted_speedup(self) -> float:
        return self.flops_before / self.flops_after

    @property
    def uncertain(self) -> bool:
        """The rounds disagreed widely (`BUSY_SPREAD`): the machine was busy."""
        return (self.speedup_max - self.speedup_min) / self.speedup > BUSY_SPREAD

    def report(self) -> dict:
        """The report.json keys (decode_seconds_before/after and speedup as before, the rest beside them)."""
        figures = asdict(self)
        return {
            "decode_seconds_before": figures.pop("seconds_before"),
            "decode_seconds_after": figures.pop("seconds_after"),
            "speedup": figures.pop("speedup"),
            **{f"speed_{key}" if not key.startswith(("speedup", "flops")) else key: value
               for key, value in figures.items()},
            "predicted_speedup": self.predicted_speedup,
            "speed_uncertain": self.uncertain,
        }

    def describe(self) -> str:
        """One line for people: the figure, its spread, and a warning when it is uncertain."""
        line = (f"decode {self.seconds_before:.3f} s -> {self.seconds_after:.3f} s: {self.speedup:.2f}x "
                f"(rounds {self.speedup_min:.2f}-{self.speedup_max:.2f}x, median of {self.rounds} on "
                f"{self.threads} thread{'s' if self.threads > 1 else ''}; FLOPs predict {self.predicted_speedup:.2f}x)")
        if self.uncertain:
            line += "; the machine was busy: the figure is uncertain, export again when it is idle"
        return line


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch on `threads` threads for the block (a measurement takes the same share of a node each time)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def count_flops(model: torch.nn.Module, processor, audio: Sequence[np.ndarray]) -> int:
    """FLOPs of one decode of `audio` (one utterance at a time) through the whole model."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():  # weight-norm parametrizations fail under inference_mode here
        for samples in audio:
            model(input_values(processor, samples))
    return counter.get_total_flops()


def _decode_seconds(model: torch.nn.Module, decoder: GreedyCtcDecoder, inputs: torch.Tensor) -> float:
    started = time.perf_counter()
    decoder.decode(model(inputs).logits)
    return time.perf_counter() - started


@dataclass(frozen=True)
class ModelTiming:
    """One model's figures in a joint timing: its decode time (median over rounds, seconds per pass over the
    timing set), its speedup over the baseline (median of the rounds, with their min and max) and its FLOPs."""

    seconds: float
    speedup: float
    speedup_min: float
    speedup_max: float
    flops: int

    @property
    def uncertain(self) -> bool:
        """The rounds disagreed widely (`BUSY_SPREAD`): the machine was busy."""
        return (self.speedup_max - self.speedup_min) / self.speedup > BUSY_SPREAD


def time_models(models: Mapping[str, torch.nn.Module], baseline: str, processor, audio: Sequence[np.ndarray],
                rounds: int = DEFAULT_ROUNDS, threads: int = DEFAULT_THREADS,
                what: str = "timing the models") -> dict[str, ModelTiming]:
    """Time `models` taking turns over `audio` (module docstring): utterance by utterance each model decodes
    it, the turn order rotating from one utterance to the next (and reversed every other round); each round
    gives every model's speedup over `baseline` on the same utterances at nearly the same moment."""
    if rounds < 1 or threads < 1:
        raise ValueError(f"rounds and threads must be >= 1, not {rounds} and {threads}")
    if baseline not in models:
        raise ValueError(f"the baseline {baseline!r} is not among the models timed")
    names = list(models)
    with torch_threads(threads):
        decoder = GreedyCtcDecoder(processor)
        inputs = [input_values(processor, samples) for samples in audio]
        with ProgressBar(rounds + 2, f"{what} (warm-up, rounds, FLOPs)") as progress:
            with torch.inference_mode():
                for _ in range(2):  # warm-up: allocator, kernels, caches
                    for model in models.values():
                        _decode_seconds(model, decoder, inputs[0])
            progress.step("warm-up")
            totals: dict[str, list[float]] = {name: [] for name in names}
            ratios: dict[str, list[float]] = {name: [] for name in names}
            with torch.inference_mode():
                for index in range(rounds):
                    seconds = dict.fromkeys(names, 0.0)
                    for position, utterance in enumerate(inputs):
                        first = (index + position) % len(names)
                        order = names[first:] + names[:first]
                        # odd rounds reversed: no model always decodes right after the same one
                        for name in reversed(order) if index % 2 else order:
                            seconds[name] += _decode_seconds(models[name], decoder, utterance)
                    for name in names:
                        totals[name].append(seconds[name])
                        ratios[name].append(seconds[baseline] / seconds[name])
                    progress.step(f"round {index + 1}")
            flops = {name: count_flops(model, processor, audio) for name, model in models.items()}
            progress.step("FLOPs counted")
    return {name: ModelTiming(seconds=statistics.median(totals[name]), speedup=statistics.median(ratios[name]),
                              speedup_min=min(ratios[name]), speedup_max=max(ratios[name]), flops=flops[name])
            for name in names}


def compare_speed(before: torch.nn.Module, after: torch.nn.Module, processor, audio: Sequence[np.ndarray],
                  rounds: int = DEFAULT_ROUNDS, threads: int = DEFAULT_THREADS) -> SpeedFigures:
    """Time `before` and `after` taking turns over `audio` (module docstring)."""
    timings = time_models({"before": before, "after": after}, "before", processor, audio, rounds, threads,
                          what="export: timing before and after")
    before_timing, after_timing = timings["before"], timings["after"]
    return SpeedFigures(
        seconds_before=before_timing.seconds, seconds_after=after_timing.seconds, speedup=after_timing.speedup,
        speedup_min=after_timing.speedup_min, speedup_max=after_timing.speedup_max, rounds=rounds, threads=threads,
        utterances=len(audio), flops_before=before_timing.flops, flops_after=after_timing.flops,
        load_average=load_average(),
    )


def load_average() -> float | None:
    """The machine's load over the last minute, where the OS tells it."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None
