"""Write the demo model's card from measurements: `README.md` and `card.json` in the model folder.

    python -m gridprune.demo.card [--model gridprune/demo/model] [--data-dir wav_files_example]

The WERs come from running `gridprune eval --json` on each dataset of the data folder,
so the card states exactly what a user of the command gets.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import soundfile

from gridprune.data import read_hrl
from gridprune.demo import corpus, make_dataset, speech, text, train
from gridprune.checkpoint_files import DEMO_MODEL

DATASETS = ("example", "heldout", "dev", "search80", "heldout80", "train")


def measure(model_dir: Path, hrl: Path) -> dict:
    """The report of `python -m gridprune.cli eval --json`: corpus WER, utterances, words, seconds."""
    command = [sys.executable, "-m", "gridprune.cli", "eval", "--model", str(model_dir), "--data", str(hrl), "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def dataset_facts(hrl: Path, report: dict) -> dict:
    """What the card's table states about one dataset: counts from the eval report, audio length and bytes."""
    audio = [utt.audio_path for utt in read_hrl(hrl).utterances]
    return {
        "utterances": report["n_utterances"],
        "words": report["n_words"],
        "audio_seconds": round(sum(soundfile.info(str(path)).duration for path in audio), 1),
        "audio_bytes": sum(path.stat().st_size for path in audio),
        "audio_format": "/".join(sorted({path.suffix.lstrip(".").upper() for path in audio})),
    }


def card_facts(model_dir: Path, data_dir: Path) -> dict:
    """Everything the card states: measured WERs, sizes, and the record of the training run."""
    training = json.loads((model_dir / "training.json").read_text())
    config = json.loads((model_dir / "config.json").read_text())
    reports = {name: measure(model_dir, data_dir / f"{name}.hrl") for name in DATASETS}
    facts: dict = {f"{name}_wer": reports[name]["wer"] for name in DATASETS}
    facts.update(
        datasets={name: dataset_facts(data_dir / f"{name}.hrl", reports[name]) for name in DATASETS},
        libsndfile=soundfile.__libsndfile_version__,
        parameters=training["parameters"],
        file_bytes=(model_dir / "model.safetensors").stat().st_size,
        hidden_size=config["hidden_size"],
        layers=config["num_hidden_layers"],
        heads=config["num_attention_heads"],
        intermediate_size=config["intermediate_size"],
        vocab_size=config["vocab_size"],
        training=training,
    )
    return facts


def render(facts: dict) -> str:
    """The model card in Markdown."""
    t = facts["training"]
    total_minutes = t["total_seconds"] / 60
    return f"""# gridprune demo model

A tiny wav2vec2 CTC speech recogniser (`Wav2Vec2ForCTC`) trained from scratch on
synthetic English speech, so that gridprune can be tried, tested and demonstrated
on a machine that cannot reach a model hub. It recognises espeak-ng voices saying
words about this project; it is not a general speech recogniser.

## Architecture

| | |
|---|---|
| encoder | {facts["layers"]} transformer layers, hidden size {facts["hidden_size"]}, {facts["heads"]} attention heads, feed-forward width {facts["intermediate_size"]}, pre-layer-norm (`do_stable_layer_norm`) |
| front end | 7 convolutions, channels (32, 64, 128, 128, 128, 128, 128), strides (5, 2, 2, 2, 2, 2, 2), kernels (10, 3, 3, 3, 3, 2, 2): 50 frames a second; group norm in the first layer |
| positional embedding | convolution 64 wide, 16 groups |
| output | CTC over {facts["vocab_size"]} characters: `<pad>` (id 0, the blank), `<s>`, `</s>`, `<unk>`, `\\|` (word separator), `'`, A-Z |
| parameters | {facts["parameters"]:,} |
| weights | `model.safetensors`, float32, {facts["file_bytes"]:,} bytes ({facts["file_bytes"] / 1e6:.1f} MB) |

The processor normalises each utterance to zero mean and unit variance and uses no
attention mask: decode one utterance at a time, since padding changes the output
of a group-norm front end.

## Training data

{t["utterances"]:,} utterances, {t["speech_hours"]:.2f} hours of 16 kHz speech synthesised by espeak-ng
{t["espeak_ng"]} and resampled by sox {t["sox"]} (`gridprune/demo/corpus.py`). Each utterance has a
random voice, one of {len(speech.VOICES)} English voices ({", ".join(speech.VOICES)})
with one of {len(speech.VARIANTS)} variants ({", ".join(speech.VARIANTS)}), a random
speed of {corpus.MIN_WPM}-{corpus.MAX_WPM} words a minute and a random pitch of {corpus.MIN_PITCH}-{corpus.MAX_PITCH}.

Texts (`gridprune/demo/text.py`): random sequences of {text.MIN_WORDS}-{text.MAX_WORDS} words from a
vocabulary of {len(text.WORDS)} words on speech recognition, pruning, neural networks,
genetic search, clusters and embedded devices (the commonest function words, such as
THE, A and OF, drawn more often, as in real sentences), plus the {len(text.EXAMPLE_SENTENCES)} sentences of
`wav_files_example/example.hrl`, repeated in random voices, for {text.EXAMPLE_SHARE:.0%} of the
utterances. The {len(text.HELDOUT_SENTENCES)} sentences of `wav_files_example/heldout.hrl` use the same
words but occur in no training text: they show how the model copes with sentences it
has never heard. The {text.DEV_SENTENCES} sentences of `wav_files_example/dev.hrl` are random sequences
drawn like the training ones from another seed (none is a training text): a search set
the model has not memorised. `search80.hrl` and `heldout80.hrl` are bigger sets drawn the
same way from two more seeds, {text.BIG_SET_SENTENCES} sequences each, none of them a training text nor a run
of words within one, nor a sentence of another set: a search set and its held-out set. These
five sets use training voices in turn at {min(make_dataset.WPMS)}-{max(make_dataset.WPMS)} words a minute, pitch {make_dataset.PITCH}.

`train.hrl` is a labelled set for fine-tuning the model (for example after pruning):
{text.FINETUNE_TEXTS} random sequences from another seed, spoken as the training speech is (random voice,
speed and pitch), none of which contains any sentence of the five sets above. It is not part of
the training data of this model. The sets of 80 and the fine-tuning set are stored as 16-bit
FLAC (written by libsndfile {facts["libsndfile"]}).

## Training

AdamW (peak learning rate {train.PEAK_LR}, betas (0.9, 0.98), weight decay 0.01),
{train.WARMUP_STEPS} warm-up steps then cosine decay to zero over {t["steps"]:,} steps; length-sorted
batches of at most {train.MAX_BATCH_SECONDS:.0f} s of padded audio; CTC loss (mean over characters);
gradient clipping at {train.GRAD_CLIP:.0f}; dropout {train.DROPOUT}; no SpecAugment masking; seed {t["seed"]};
{train.THREADS} CPU threads; torch {t["torch"]}, transformers {t["transformers"]}.

Measured on this project's 2-core build machine: speech generation {t["speech_generation_seconds"]:.0f} s,
training {t["training_seconds"]:.0f} s ({t["training_seconds"] / 60:.1f} min, {t["training_seconds"] / t["steps"]:.2f} s a step),
{total_minutes:.1f} min for the whole command; final training loss {t["final_loss"]:.4f} (mean of
the last 100 steps). `training.json` is the record of the run.

Reproduce the model, then this card:

```
python -m gridprune.demo.train --out gridprune/demo/model --steps {t["steps"]} --seed {t["seed"]}
python -m gridprune.demo.card --model gridprune/demo/model --data-dir wav_files_example
```

(`python -m gridprune.demo.make_dataset --out wav_files_example` rewrites all six
datasets, byte for byte with the same espeak-ng, sox and libsndfile.)

## Word error rate

Greedy CTC decoding, one utterance at a time, as measured by
`python -m gridprune.cli eval --model gridprune/demo/model --data wav_files_example/<set>.hrl --json`:

| dataset | utterances | words | audio | files | WER |
|---|---:|---:|---:|---:|---:|
{wer_rows(facts)}
"""


def wer_rows(facts: dict) -> str:
    """One row of the WER table per dataset."""
    rows = []
    for name in DATASETS:
        d = facts["datasets"][name]
        rows.append(f"| {name}.hrl | {d['utterances']} | {d['words']:,} | {d['audio_seconds'] / 60:.1f} min "
                    f"| {d['audio_format']}, {d['audio_bytes'] / 1e6:.1f} MB | {facts[f'{name}_wer']:.4f} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the WERs and write README.md and card.json into the model folder."""
    parser = argparse.ArgumentParser(prog="python -m gridprune.demo.card", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEMO_MODEL, help="model folder (default %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=Path("wav_files_example"), help="folder of the .hrl files")
    args = parser.parse_args(argv)
    facts = card_facts(args.model, args.data_dir)
    (args.model / "card.json").write_text(json.dumps(facts, indent=2) + "\n")
    (args.model / "README.md").write_text(render(facts))
    wers = ", ".join(f"{name} WER {facts[f'{name}_wer']:.4f}" for name in DATASETS)
    print(f"{wers}: wrote {args.model}/README.md")


if __name__ == "__main__":
    main()
