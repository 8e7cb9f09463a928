"""Write the demo model's datasets with their espeak-ng audio into one folder.

    python -m gridprune.demo.make_dataset [--out wav_files_example]

`example.hrl`, `heldout.hrl` and `dev.hrl` with wavs beside them; `search80.hrl` and
`heldout80.hrl` (search and held-out sets the model never heard) and `train.hrl` (a
labelled set for fine-tuning) with FLAC files in folders of the same names.
The output is deterministic: texts come from fixed seeds, every line has a fixed voice,
speed and pitch, and sox runs in repeatable mode, so the same versions of espeak-ng,
sox and libsndfile give the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

from gridprune.demo import speech, text
from gridprune.demo.corpus import Recording, random_voices

HEADER = "#head;hrl;2.0;utf-8#source gridprune\n#ref#audio_input#speaker#transcription\nhead#test\n"
WPMS = (150, 160, 170)
PITCH = 50
WAV_PREFIXES = {"example": "file", "heldout": "heldout", "dev": "dev"}  # the sets shipped as wav
FLAC_SETS = ("search80", "heldout80", "train")  # audio in a folder named as the set


def voice_for(index: int) -> str:
    """The fixed voice of line `index`: voices and variants in turn, so every line sounds different."""
    voices, variants = speech.VOICES, speech.VARIANTS
    return f"{voices[index % len(voices)]}+{variants[(5 * index) % len(variants)]}"


def fixed_voices(sentences: Sequence[str], first_voice: int, path_of: Callable[[int], Path]) -> list[Recording]:
    """A recording of each sentence with the voice cycle from `first_voice`, 150-170 words a minute, pitch 50."""
    return [
        Recording(path=path_of(index), text=sentence, voice=voice_for(first_voice + index),
                  wpm=WPMS[index % len(WPMS)], pitch=PITCH)
        for index, sentence in enumerate(sentences)
    ]


def audio_name(name: str, index: int) -> Path:
    """Where line `index` of dataset `name` keeps its audio, relative to the dataset folder."""
    if name in WAV_PREFIXES:
        return Path(f"{WAV_PREFIXES[name]}{index}.wav")
    return Path(name) / f"{index:03d}.flac"


def datasets() -> dict[str, list[Recording]]:
    """Every dataset: name -> its recordings, with audio paths relative to the dataset folder."""
    sentences = {
        "example": text.EXAMPLE_SENTENCES,
        "heldout": text.HELDOUT_SENTENCES,
        "dev": text.dev_sentences(),
        "search80": text.search80_sentences(),
        "heldout80": text.heldout80_sentences(),
    }
    plans: dict[str, list[Recording]] = {}
    first_voice = 0
    for name, texts in sentences.items():
        # Each set starts where the previous one left the voice cycle, so sets do not mirror each other.
        plans[name] = fixed_voices(texts, first_voice, lambda index, name=name: audio_name(name, index))
        first_voice += len(texts)
    # The fine-tuning set is spoken as the demo model's training speech is: random voice, speed and pitch.
    plans["train"] = random_voices(text.finetune_texts(), text.FINETUNE_SEED, lambda index: audio_name("train", index))
    return plans


def write_dataset(out_dir: Path, name: str, recordings: Sequence[Recording]) -> Path:
    """Speak `recordings` into `out_dir` and list them in `out_dir/<name>.hrl`."""
    lines = []
    for r in recordings:
        audio = out_dir / r.path
        audio.parent.mkdir(parents=True, exist_ok=True)
        speech.speak(r.text, audio, voice=r.voice, wpm=r.wpm, pitch=r.pitch)
        lines.append(f"ref#{r.path.as_posix()}#{r.voice}#{r.text}\n")
    path = out_dir / f"{name}.hrl"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "".join(lines))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """Write every dataset with its audio into --out."""
    parser = argparse.ArgumentParser(prog="python -m gridprune.demo.make_dataset", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("wav_files_example"), help="output folder")
    args = parser.parse_args(argv)
    speech.require_tools()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, recordings in datasets().items():
        print(f"wrote {write_dataset(args.out, name, recordings)} ({len(recordings)} utterances)", flush=True)


if __name__ == "__main__":
    main()
