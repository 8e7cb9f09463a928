"""Datasets in the `.hrl` transcript format of the seed paper, and their audio.

An `.hrl` file is UTF-8 text with `#`-separated fields: a header line, a column
line, a section marker, then one line per utterance::

    #head;hrl;2.0;utf-8#source reference_paper
    #ref#audio_input#speaker#transcription
    head#test
    ref#file0.wav#CNTTS#COMPRESSING WAV2VEC2 FOR EMBEDDED APPLICATIONS

Wav paths are relative to the folder of the `.hrl` file. Transcriptions are kept
exactly as written (case, punctuation, trailing spaces); scoring normalises them.
Every problem is an error naming the file and line: nothing is silently skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile

from gridprune.errors import GridpruneError

SAMPLE_RATE = 16_000
HEADER_LINES = 3
FIELDS = 4  # ref, audio_input, speaker, transcription


class DatasetError(GridpruneError, ValueError):
    """A dataset file or one of its wavs cannot be used; the message names where."""


@dataclass(frozen=True)
class Utterance:
    """One line of an `.hrl` file."""

    audio_path: Path
    speaker: str
    transcription: str
    line: int


@dataclass(frozen=True)
class Dataset:
    """The utterances of one `.hrl` file, in file order."""

    path: Path
    utterances: tuple[Utterance, ...]

    def __len__(self) -> int:
        return len(self.utterances)

    def fingerprint(self) -> str:
        """A hash of the transcriptions and audio bytes, independent of where the files lie."""
        digest = hashlib.sha256()
        for utt in self.utterances:
            digest.update(utt.transcription.encode())
            digest.update(b"\0")
            digest.update(hashlib.sha256(utt.audio_path.read_bytes()).digest())
        return digest.hexdigest()

    def head(self, count: int | None) -> Dataset:
        """The first `count` utterances (all of them if `count` is None)."""
        return replace(self, utterances=self.utterances[:count])

    def audio(self) -> list[np.ndarray]:
        """Every utterance's samples as float32 in [-1, 1]."""
        return [load_audio(utt.audio_path) for utt in self.utterances]


def read_hrl(path: str | Path) -> Dataset:
    """Read and check an `.hrl` file and every wav it names."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such dataset file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from None

    root = path.parent.resolve()
    lines = text.split("\n")
    utterances = []
    for number, line in enumerate(lines[HEADER_LINES:], start=HEADER_LINES + 1):
        line = line.rstrip("\r")
        if not line.strip():
            if number == len(lines):  # the newline that ends the file
                continue
            raise DatasetError(f"{path}:{number}: empty line")
        utterances.append(_parse_line(path, root, number, line))
    if not utterances:
        raise DatasetError(f"{path}: no utterances after the {HEADER_LINES} header lines")
    return Dataset(path=path, utterances=tuple(utterances))


def _parse_line(path: Path, root: Path, number: int, line: str) -> Utterance:
    where = f"{path}:{number}"
    fields = line.split("#", FIELDS - 1)
    if len(fields) < FIELDS:
        raise DatasetError(
            f"{where}: expected {FIELDS} '#'-separated fields "
            f"(ref#audio_input#speaker#transcription), found {len(fields)}"
        )
    _, wav_name, speaker, transcription = fields
    if not transcription.strip():
        raise DatasetError(f"{where}: empty transcription")
    if not wav_name.strip():
        raise DatasetError(f"{where}: empty audio file name")
    audio_path = (root / wav_name).resolve()
    if not audio_path.is_relative_to(root):
        raise DatasetError(f"{where}: audio file {wav_name!r} lies outside the dataset folder {root}")
    check_wav(audio_path, where)
    return Utterance(audio_path=audio_path, speaker=speaker, transcription=transcription, line=number)


def check_wav(audio_path: Path, where: str) -> None:
    """Raise DatasetError unless `audio_path` is a readable 16 kHz mono sound file."""
    if not audio_path.is_file():
        raise DatasetError(f"{where}: audio file {audio_path} is missing")
    try:
        info = soundfile.info(str(audio_path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise DatasetError(f"{where}: audio file {audio_path} is unreadable: {exc}") from None
    if info.samplerate != SAMPLE_RATE:
        raise DatasetError(
            f"{where}: audio file {audio_path} has a sample rate of {info.samplerate} Hz; "
            f"{SAMPLE_RATE} Hz is required"
        )
    if info.channels != 1:
        raise DatasetError(f"{where}: audio file {audio_path} has {info.channels} channels; mono is required")
    if info.frames == 0:
        raise DatasetError(f"{where}: audio file {audio_path} is empty")


def load_audio(path: Path) -> np.ndarray:
    """The samples of a mono wav as float32."""
    samples, _ = soundfile.read(str(path), dtype="float32")
    return samples
