"""Bad datasets given to `gridprune run`: refused naming the file and line, before the run directory exists."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile

from factories import HRL_HEADER, write_wav
from gridprune.config import ConfigError
from gridprune.run_setup import read_setup


def write_config(folder, data: str) -> object:
    path = folder / "run.yaml"
    path.write_text(f"method: ga_blocks\nmodel: demo\ndata: {data}\nga: {{population: 4, generations: 2}}\n")
    return path


def _nan_wav(path):
    samples = np.zeros(16000, np.float32)
    samples[100:200] = np.nan
    soundfile.write(str(path), samples, 16000, subtype="FLOAT")


def _short_wav(path):
    soundfile.write(str(path), np.zeros(300, np.float32), 16000, subtype="PCM_16")


@pytest.mark.parametrize("body, make_wav, message", [
    ("ref#file0.wav#SPK#...\n", write_wav, "set.hrl:4: transcription '...' has no words"),
    ("ref#file0.wav#SPK#TEXT\n", _nan_wav, "set.hrl:4: audio file {wav} has 100 NaN or infinite samples"),
    ("ref#file0.wav#SPK#TEXT\n", _short_wav, "set.hrl:4: audio file {wav} has 300 samples"),
    ("ref#file0.wav#SPK#TEXT\nref#file0.wav#SPK#TEXT\n", write_wav, "set.hrl:5: audio file 'file0.wav' is already"),
])
def test_run_refuses_a_bad_dataset_before_writing_anything(tmp_path, body, make_wav, message):
    make_wav(tmp_path / "file0.wav")
    (tmp_path / "set.hrl").write_text(HRL_HEADER + body)
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", "run", str(write_config(tmp_path, "set.hrl")),
                           "--run-dir", str(run_dir), "--workers", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert message.format(wav=tmp_path / "file0.wav") in proc.stderr
    assert not run_dir.exists()


def test_a_dataset_is_a_path_or_a_mapping_with_an_audio_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = read_setup(write_config(tmp_path, "sets/a.hrl")).config
    assert (plain.data.path, plain.data.audio_dir) == (str(tmp_path / "sets" / "a.hrl"), None)
    apart = read_setup(write_config(tmp_path, "{path: sets/a.hrl, audio_dir: wavs}")).config
    assert (apart.data.path, apart.data.audio_dir) == (str(tmp_path / "sets" / "a.hrl"), str(tmp_path / "wavs"))
    assert str(apart.data) == str(tmp_path / "sets" / "a.hrl")


@pytest.mark.parametrize("data, message", [
    ("{path: a.hrl, audio: wavs}", "data.audio: unknown key"),
    ("{audio_dir: wavs}", "data.path"),
    ("3", "run.yaml: data: expected a path, or a mapping {path: FILE.hrl, audio_dir: FOLDER}"),
])
def test_a_wrong_dataset_form_names_the_key(tmp_path, data, message):
    with pytest.raises(ConfigError, match="run.yaml") as caught:
        read_setup(write_config(tmp_path, data))
    assert message in str(caught.value)
