"""The seed repository's dataset layout end to end: an `.hrl` of bare names, its wavs in a separate folder.

The set is built from the shipped example audio: each wav joins several example
utterances (16-bit PCM, 5-20 s), each transcription is written as people write,
with mixed case, punctuation and trailing spaces.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from factories import HRL_HEADER
from gridprune.data import SAMPLE_RATE, read_hrl

EXAMPLE = Path(__file__).resolve().parent.parent / "wav_files_example"
PIECES = [("file0.wav", "file1.wav"), ("file2.wav", "file3.wav"), ("file4.wav", "file5.wav", "file6.wav")]


def gridprune(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def written_as_people_do(sentences: list[str]) -> str:
    """'FIRST ONE', 'SECOND' -> 'First one, second.  ' (mixed case, punctuation, trailing spaces)."""
    first, *rest = sentences
    return ", ".join([first.capitalize(), *(s.lower() for s in rest)]) + ".  "


@pytest.fixture(scope="module")
def seed_layout(tmp_path_factory):
    """`transcripts/paper_abstract_TTS.hrl` naming `file<i>.wav` that live in `wav_files_paper_abstract/`."""
    root = tmp_path_factory.mktemp("seed")
    audio_dir = root / "wav_files_paper_abstract"
    audio_dir.mkdir()
    (root / "transcripts").mkdir()
    texts = {u.audio_path.name: u.transcription for u in read_hrl(EXAMPLE / "example.hrl").utterances}
    pause = np.zeros(SAMPLE_RATE // 4, np.float32)
    lines = []
    for index, names in enumerate(PIECES):
        parts = []
        for name in names:
            parts += [soundfile.read(str(EXAMPLE / name), dtype="float32")[0], pause]
        soundfile.write(str(audio_dir / f"file{index}.wav"), np.concatenate(parts), SAMPLE_RATE, subtype="PCM_16")
        lines.append(f"ref#file{index}.wav#CNTTS#{written_as_people_do([texts[n] for n in names])}\n")
    hrl = root / "transcripts" / "paper_abstract_TTS.hrl"
    hrl.write_text(HRL_HEADER + "".join(lines))
    return root, hrl, audio_dir


def test_the_made_set_has_the_seed_repository_form(seed_layout):
    root, hrl, audio_dir = seed_layout
    for line in hrl.read_text().splitlines()[3:]:
        name, text = line.split("#")[1], line.split("#")[3]
        assert "/" not in name and text.endswith(".  ") and text != text.upper() and "," in text
        info = soundfile.info(str(audio_dir / name))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 5 <= info.duration <= 20


def test_eval_with_an_audio_folder_equals_eval_of_the_same_set_side_by_side(seed_layout, tmp_path):
    root, hrl, audio_dir = seed_layout
    missing = gridprune("eval", "--model", "demo", "--data", hrl)
    assert missing.returncode == 2 and "paper_abstract_TTS.hrl:4: audio file" in missing.stderr
    apart = gridprune("eval", "--model", "demo", "--data", hrl, "--audio-dir", audio_dir, "--json")
    assert apart.returncode == 0, apart.stderr
    flat = tmp_path / "flat"
    flat.mkdir()
    for wav in audio_dir.iterdir():
        (flat / wav.name).write_bytes(wav.read_bytes())
    (flat / hrl.name).write_text(hrl.read_text())
    side_by_side = json.loads(gridprune("eval", "--model", "demo", "--data", flat / hrl.name, "--json").stdout)
    report = json.loads(apart.stdout)
    assert [u["audio"] for u in report["utterances"]] == ["file0.wav", "file1.wav", "file2.wav"]
    assert [u["hypothesis"] for u in report["utterances"]] == [u["hypothesis"] for u in side_by_side["utterances"]]
    assert report["wer"] == side_by_side["wer"]
    # 6+9, 10+8 and 10+7+8 reference words; punctuation and case do not count once normalised
    assert report["n_words"] == 15 + 18 + 25
    # the demo model decodes the speech (it often runs words together at the joins: about 0.2)
    assert report["wer"] < 0.35


def test_run_and_export_on_a_config_with_an_audio_folder(seed_layout):
    root, hrl, audio_dir = seed_layout
    config = root / "seed.yaml"
    config.write_text(
        "method: ga_blocks\nmodel: demo\n"
        "data: {path: transcripts/paper_abstract_TTS.hrl, audio_dir: wav_files_paper_abstract}\n"
        "heldout:\n  path: transcripts/paper_abstract_TTS.hrl\n  audio_dir: wav_files_paper_abstract\n"
        "seed: 0\nbackend: local\nga: {granularity: 32, pruned_blocks: 4, layers: all}\n"
    )
    run_dir = root / "run"
    proc = gridprune("run", config, "--run-dir", run_dir, "--workers", "1",
                     "--set", "ga.population=4", "--set", "ga.generations=2", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["config"]["data"] == {"path": str(hrl), "audio_dir": str(audio_dir)}
    # the dataset's fingerprint is its content: the same as the set read from anywhere else
    assert run_info["dataset_fingerprint"] == read_hrl(hrl, audio_dir).fingerprint()

    exported = gridprune("export", run_dir, "--out", root / "pruned", cwd=root)
    assert exported.returncode == 0, exported.stderr[-3000:]
    report = json.loads((root / "pruned" / "report.json").read_text())
    for key in ("wer_before", "wer_after", "heldout_wer_before", "heldout_wer_after"):
        assert isinstance(report[key], float) and 0 <= report[key] <= 2, key
    evaluated = json.loads(gridprune("eval", "--model", "demo", "--data", hrl, "--audio-dir", audio_dir,
                                     "--json").stdout)
    assert report["wer_before"] == report["heldout_wer_before"] == evaluated["wer"]
    assert report["params_after"] < report["params_before"]
