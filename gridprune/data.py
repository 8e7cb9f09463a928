"""Datasets in the `.hrl` transcript format of the seed paper, and their audio.

An `.hrl` file is UTF-8 text with `#`-separated fields: a header line, a column
line, a section marker, then one line per utterance::

    #head;hrl;2.0;utf-8#source reference_paper
    #ref#audio_input#speaker#transcription
    head#test
    ref#file0.wav#CNTTS#COMPRESSING WAV2VEC2 FOR EMBEDDED APPLICATIONS

The three header lines are checked, not skipped blindly. Fields are taken by the
column names of line 2 (as the original code does); the last column takes the
rest of the line, so a transcription may hold `#`. Audio file names are
relative to the audio folder: `audio_dir` when given (the original's
`--soundFiledir`), else the folder of the `.hrl` file; they must stay inside it.
Audio is any file soundfile reads (wav of any sample format, flac, ogg), 16 kHz
and mono; float samples are taken as they are (values beyond ±1 are not
clipped). Transcriptions are kept exactly as written (case, punctuation,
trailing spaces); scoring normalises them.

Accepted as harmless: CRLF line ends, a UTF-8 byte-order mark, blank lines at
the end of the file. Every other problem is an error naming the file and line:
nothing is silently skipped.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile

from gridprune.errors import GridpruneError
from gridprune.wer import normalize

SAMPLE_RATE = 16_000
# One output frame of wav2vec2's feature encoder (kernels 10,3,3,3,3,2,2, strides 5,2,...) spans 400 samples.
MIN_SAMPLES = 400
COLUMNS = ("ref", "audio_input", "speaker", "transcription")
FIELDS = len(COLUMNS)
HEADER = (
    ("#head;hrl", "the header line, e.g. '#head;hrl;2.0;utf-8#source my_data'"),
    ("#ref#", "the column line '#ref#audio_input#speaker#transcription'"),
    ("head#", "the section line, e.g. 'head#test'"),
)
HEADER_LINES = len(HEADER)
_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}  # only these can hold NaN or infinity


class DatasetError(GridpruneError, ValueError):
    """A dataset file or one of its audio files cannot be used; the message names where."""


@dataclass(frozen=True)
class Utterance:
    """One line of an `.hrl` file."""

    audio_path: Path
    speaker: str
    transcription: str
    line: int
    name: str = ""  # the audio file name as the `.hrl` writes it, relative to the audio folder


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
        """Every utterance's samples as float32."""
        return [load_audio(utt.audio_path) for utt in self.utterances]


def read_hrl(path: str | Path, audio_dir: str | Path | None = None) -> Dataset:
    """Read and check an `.hrl` file and every audio file it names (relative to `audio_dir` if given)."""
    path = Path(path)
    lines = _read_lines(path)
    root = _audio_root(path, audio_dir)
    columns = _check_header(path, lines)
    utterances: list[Utterance] = []
    first_use: dict[Path, int] = {}
    for number, line in enumerate(lines[HEADER_LINES:], start=HEADER_LINES + 1):
        if not line.strip():
            raise DatasetError(f"{path}:{number}: empty line")
        utt = _parse_line(f"{path}:{number}", root, columns, number, line)
        if utt.audio_path in first_use:
            raise DatasetError(f"{path}:{number}: audio file {utt.name!r} is already the audio of line "
                               f"{first_use[utt.audio_path]}; each utterance needs its own file")
        first_use[utt.audio_path] = number
        utterances.append(utt)
    if not utterances:
        raise DatasetError(f"{path}: no utterances after the {HEADER_LINES} header lines")
    return Dataset(path=path, utterances=tuple(utterances))


def _read_lines(path: Path) -> list[str]:
    """The file's lines without line ends, BOM or trailing blank lines."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such dataset file") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a folder; a dataset is an .hrl file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DatasetError(f"{path}:1: the file is UTF-16; save it as UTF-8")
    if b"\0" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\0")) + 1
        raise DatasetError(f"{path}:{line}: binary data (a NUL byte), not an .hrl text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DatasetError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}); "
                           "save the file as UTF-8") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _audio_root(path: Path, audio_dir: str | Path | None) -> Path:
    if audio_dir is None:
        return path.parent.resolve()
    root = Path(audio_dir).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such audio folder (the audio of {path})")
    if not root.is_dir():
        raise DatasetError(f"{root}: the audio folder of {path} is a file, not a folder")
    return root.resolve()


def _show(line: str, limit: int = 60) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "...")


def _check_header(path: Path, lines: list[str]) -> list[str]:
    """Check the three header lines and return the column names of line 2."""
    for number, (prefix, expected) in enumerate(HEADER, start=1):
        if number > len(lines):
            raise DatasetError(f"{path}:{number}: the file ends where {expected} should be")
        if not lines[number - 1].startswith(prefix):
            raise DatasetError(f"{path}:{number}: expected {expected}, found {_show(lines[number - 1])}")
    columns = [name.strip() for name in lines[1].split("#")[1:]]
    for needed in ("audio_input", "transcription"):
        if needed not in columns:
            raise DatasetError(f"{path}:2: the column line {_show(lines[1])} has no {needed!r} column")
    if len(set(columns)) != len(columns):
        raise DatasetError(f"{path}:2: the column line {_show(lines[1])} names a column twice")
    return columns


def _parse_line(where: str, root: Path, columns: list[str], number: int, line: str) -> Utterance:
    fields = line.split("#", len(columns) - 1)
    if fields[0] != "ref":
        raise DatasetError(f"{where}: expected an utterance line 'ref#<audio>#<speaker>#<text>', found {_show(line)}")
    if len(fields) < len(columns):
        raise DatasetError(
            f"{where}: expected {len(columns)} '#'-separated fields "
            f"({'#'.join(columns)}), found {len(fields)}"
        )
    values = dict(zip(columns, fields))
    wav_name, transcription = values["audio_input"], values["transcription"]
    if not transcription.strip():
        raise DatasetError(f"{where}: empty transcription")
    control = next((c for c in transcription if unicodedata.category(c) == "Cc" and c != "\t"), None)
    if control is not None:
        raise DatasetError(f"{where}: the transcription holds the control character {control!r}")
    if not normalize(transcription):
        raise DatasetError(f"{where}: transcription {transcription!r} has no words (letters or digits) "
                           "after normalisation")
    if not wav_name.strip():
        raise DatasetError(f"{where}: empty audio file name")
    # Lexical, not resolve(): an audio folder of symbolic links to elsewhere is fine; '..' out of it is not.
    audio_path = Path(os.path.normpath(root / wav_name))
    if not audio_path.is_relative_to(root):
        raise DatasetError(f"{where}: audio file {wav_name!r} lies outside the audio folder {root}")
    if wav_name != wav_name.strip() and not audio_path.exists():
        raise DatasetError(f"{where}: audio file {wav_name!r} is missing (note the spaces around the name)")
    check_audio(audio_path, where)
    return Utterance(audio_path=audio_path, speaker=values.get("speaker", ""), transcription=transcription,
                     line=number, name=wav_name)


def check_audio(audio_path: Path, where: str) -> None:
    """Raise DatasetError unless `audio_path` is a readable 16 kHz mono sound file of finite samples."""
    if audio_path.is_dir():
        raise DatasetError(f"{where}: audio file {audio_path} is a folder, not a sound file")
    if not audio_path.is_file():
        raise DatasetError(f"{where}: audio file {audio_path} is missing")
    if audio_path.stat().st_size == 0:
        raise DatasetError(f"{where}: audio file {audio_path} is empty (0 bytes)")
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
        raise DatasetError(f"{where}: audio file {audio_path} is empty (no samples)")
    if info.frames < MIN_SAMPLES:
        raise DatasetError(
            f"{where}: audio file {audio_path} has {info.frames} samples ({info.frames / SAMPLE_RATE * 1000:.1f} ms); "
            f"the feature encoder needs at least {MIN_SAMPLES} ({MIN_SAMPLES / SAMPLE_RATE * 1000:.0f} ms)"
        )
    if info.subtype in _FLOAT_SUBTYPES:  # integer formats cannot hold NaN: read only float files
        _check_finite(load_samples(audio_path), audio_path, f"{where}: ")


def _check_finite(samples: np.ndarray, audio_path: Path, prefix: str = "") -> None:
    bad = np.flatnonzero(~np.isfinite(samples))
    if bad.size:
        raise DatasetError(f"{prefix}audio file {audio_path} has {bad.size} NaN or infinite samples "
                           f"(the first at {bad[0] / SAMPLE_RATE:.3f} s)")


def load_samples(path: Path) -> np.ndarray:
    """The samples of a mono sound file as float32, unchecked."""
    try:
        samples, _ = soundfile.read(str(path), dtype="float32")
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise DatasetError(f"audio file {path} is unreadable: {exc}") from None
    return samples


def load_audio(path: Path) -> np.ndarray:
    """The samples of a mono sound file as float32; NaN or infinite samples are an error naming the file."""
    samples = load_samples(path)
    _check_finite(samples, path)
    return samples
