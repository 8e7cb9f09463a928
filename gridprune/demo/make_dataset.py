"""Write the example datasets: `example.hrl`, `heldout.hrl` and `dev.hrl` with their espeak-ng wavs.

    python -m gridprune.demo.make_dataset [--out wav_files_example]

The output is deterministic: every line has a fixed voice, speed and pitch, and sox
runs in repeatable mode, so the same versions of espeak-ng and sox give the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from gridprune.demo import speech, text

HEADER = "#head;hrl;2.0;utf-8#source gridprune\n#ref#audio_input#speaker#transcription\nhead#test\n"
WPMS = (150, 160, 170)
PITCH = 50


def voice_for(index: int) -> str:
    """The fixed voice of line `index`: voices and variants in turn, so every line sounds different."""
    voices, variants = speech.VOICES, speech.VARIANTS
    return f"{voices[index % len(voices)]}+{variants[(5 * index) % len(variants)]}"


def write_dataset(out_dir: Path, name: str, wav_prefix: str, sentences: Sequence[str], first_voice: int = 0) -> Path:
    """Speak `sentences` into `out_dir/<wav_prefix><i>.wav` and list them in `out_dir/<name>.hrl`."""
    lines = []
    for index, sentence in enumerate(sentences):
        wav = f"{wav_prefix}{index}.wav"
        voice = voice_for(first_voice + index)
        speech.speak(sentence, out_dir / wav, voice=voice, wpm=WPMS[index % len(WPMS)], pitch=PITCH)
        lines.append(f"ref#{wav}#{voice}#{sentence}\n")
    path = out_dir / f"{name}.hrl"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "".join(lines))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """Write example.hrl, heldout.hrl and dev.hrl with their wavs into --out."""
    parser = argparse.ArgumentParser(prog="python -m gridprune.demo.make_dataset", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("wav_files_example"), help="output folder")
    args = parser.parse_args(argv)
    speech.require_tools()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in (
        write_dataset(args.out, "example", "file", text.EXAMPLE_SENTENCES),
        # Heldout lines start further along the voice cycle so they do not mirror the example lines.
        write_dataset(args.out, "heldout", "heldout", text.HELDOUT_SENTENCES, first_voice=len(text.EXAMPLE_SENTENCES)),
        write_dataset(args.out, "dev", "dev", text.dev_sentences(),
                      first_voice=len(text.EXAMPLE_SENTENCES) + len(text.HELDOUT_SENTENCES)),
    ):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
