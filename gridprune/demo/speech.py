"""Synthetic speech: a text spoken by espeak-ng, resampled by sox to 16 kHz mono 16-bit PCM, as wav or FLAC."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile

from gridprune.data import SAMPLE_RATE

TOOLS = {"espeak-ng": "espeak-ng", "sox": "sox"}  # program -> Debian package
FLAC_COMPRESSION = 1.0  # soundfile's scale: 1.0 is FLAC level 8, the smallest files

# espeak-ng's own English voices, and a choice of its voice variants that keep its default
# formant synthesiser (the Klatt-synthesiser variants were much harder for the small demo
# model to learn); a voice is spoken as "VOICE+VARIANT", e.g. "en-gb-x-rp+f3".
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "croak", "max", "michel", "Annie")


class SpeechError(RuntimeError):
    """Speech could not be synthesised."""


def require_tools() -> None:
    """Raise SpeechError naming the Debian packages to install if espeak-ng or sox is missing."""
    missing = [package for program, package in TOOLS.items() if shutil.which(program) is None]
    if missing:
        raise SpeechError(
            f"{' and '.join(missing)} not found on PATH; speech synthesis needs the Debian "
            f"packages espeak-ng and sox: sudo apt-get install {' '.join(missing)}"
        )


def speak(text: str, out: Path, voice: str = "en-us", wpm: int = 160, pitch: int = 50) -> Path:
    """Write `text` spoken by espeak-ng `voice` at `wpm` words a minute and `pitch` (0-99) to `out`.

    `out` is a wav written by sox, or, if it ends in `.flac`, the same samples as FLAC written by soundfile.
    """
    require_tools()
    espeak = _run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdout", text], None)
    flac = out.suffix.lower() == ".flac"
    # -R: repeatable mode, so the dither sox adds is seeded and the output is byte-identical run to run.
    samples = _run(
        ["sox", "-R", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
         *(["-L", "-t", "raw", "-"] if flac else [str(out)])],
        espeak,
    )
    if flac:
        soundfile.write(str(out), np.frombuffer(samples, dtype="<i2"), SAMPLE_RATE,
                        subtype="PCM_16", format="FLAC", compression_level=FLAC_COMPRESSION)
    return out


def tool_versions() -> dict[str, str]:
    """The versions of espeak-ng and sox, e.g. {"espeak_ng": "1.51", "sox": "14.4.2"}: the audio depends on them."""
    require_tools()
    versions = {}
    for program in TOOLS:
        output = _run([program, "--version"], None).decode()
        match = re.search(r"\d+(\.\d+)+", output)
        versions[program.replace("-", "_")] = match.group() if match else output.strip()
    return versions


def _run(command: list[str], stdin: bytes | None) -> bytes:
    result = subprocess.run(command, input=stdin, capture_output=True)
    if result.returncode != 0:
        raise SpeechError(f"{command[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    return result.stdout
