"""The training speech of the demo model: the training texts spoken in random espeak-ng voices."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from gridprune.demo import speech, text

MIN_WPM, MAX_WPM = 130, 210
MIN_PITCH, MAX_PITCH = 25, 75


@dataclass(frozen=True)
class Recording:
    """One training utterance: its wav, its text and how it was spoken."""

    path: Path
    text: str
    voice: str
    wpm: int
    pitch: int


def plan(out_dir: Path, count: int, seed: int) -> list[Recording]:
    """The recordings to make: texts from `text.training_texts`, each with a random voice, speed and pitch."""
    return random_voices(text.training_texts(count, seed), seed, lambda index: out_dir / f"{index:05d}.wav")


def random_voices(texts: Sequence[str], seed: int, path_of: Callable[[int], Path]) -> list[Recording]:
    """A recording of each of `texts` at `path_of(index)` with a random voice, speed and pitch drawn from `seed`."""
    rng = np.random.default_rng([seed, 1])
    recordings = []
    for index, words in enumerate(texts):
        voice = f"{rng.choice(speech.VOICES)}+{rng.choice(speech.VARIANTS)}"
        recordings.append(
            Recording(
                path=path_of(index),
                text=words,
                voice=voice,
                wpm=int(rng.integers(MIN_WPM, MAX_WPM + 1)),
                pitch=int(rng.integers(MIN_PITCH, MAX_PITCH + 1)),
            )
        )
    return recordings


def generate(out_dir: Path, count: int, seed: int, workers: int = 2) -> list[Recording]:
    """Speak `count` training texts into `out_dir` (wavs and a `manifest.tsv`) and return them."""
    speech.require_tools()
    out_dir.mkdir(parents=True, exist_ok=True)
    recordings = plan(out_dir, count, seed)
    with ThreadPoolExecutor(workers) as pool:
        # list() drains the iterator so that an exception in any job is raised here.
        list(pool.map(lambda r: speech.speak(r.text, r.path, r.voice, r.wpm, r.pitch), recordings))
    with open(out_dir / "manifest.tsv", "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "voice", "wpm", "pitch", "text"])
        for r in recordings:
            writer.writerow([r.path.name, r.voice, r.wpm, r.pitch, r.text])
    return recordings
