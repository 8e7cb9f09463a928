from pathlib import Path

import pytest

from factories import HRL_HEADER, write_dataset, write_wav
from gridprune.data import DatasetError, read_hrl


def write_hrl(folder: Path, body: str) -> Path:
    path = folder / "set.hrl"
    path.write_text(HRL_HEADER + body)
    return path


def test_reads_the_original_format_exactly(tmp_path):
    write_wav(tmp_path / "file0.wav")
    (tmp_path / "audio").mkdir()
    write_wav(tmp_path / "audio" / "file1.wav")
    path = write_hrl(tmp_path, "ref#file0.wav#CNTTS#COMPRESSING WAV2VEC2, FOR EMBEDDED  \n"
                               "ref#audio/file1.wav#OTHER#second one\n")
    dataset = read_hrl(path)
    assert [u.transcription for u in dataset.utterances] == ["COMPRESSING WAV2VEC2, FOR EMBEDDED  ", "second one"]
    assert [u.speaker for u in dataset.utterances] == ["CNTTS", "OTHER"]
    assert [u.line for u in dataset.utterances] == [4, 5]
    assert dataset.utterances[1].audio_path == (tmp_path / "audio" / "file1.wav").resolve()
    assert len(dataset.audio()[0]) == 16000


def test_paths_are_relative_to_the_hrl_folder_not_the_working_directory(tmp_path, monkeypatch):
    write_dataset(tmp_path / "data", ["ONE", "TWO"])
    monkeypatch.chdir(tmp_path)
    assert len(read_hrl(Path("data/set.hrl"))) == 2


def test_fingerprint_follows_content_not_location(tmp_path):
    first = read_hrl(write_dataset(tmp_path / "a", ["ONE", "TWO"]))
    moved = read_hrl(write_dataset(tmp_path / "b", ["ONE", "TWO"]))
    changed = read_hrl(write_dataset(tmp_path / "c", ["ONE", "THREE"]))
    assert first.fingerprint() == moved.fingerprint() != changed.fingerprint()


def test_head_keeps_the_first_utterances_in_order(tmp_path):
    dataset = read_hrl(write_dataset(tmp_path, ["ONE", "TWO", "THREE"]))
    assert [u.transcription for u in dataset.head(2).utterances] == ["ONE", "TWO"]
    assert dataset.head(None) == dataset and dataset.head(2).path == dataset.path


@pytest.mark.parametrize("body, message", [
    ("ref#file0.wav#SPK\n", "set.hrl:4: expected 4 '#'-separated fields"),
    ("ref#file0.wav#SPK#   \n", "set.hrl:4: empty transcription"),
    ("ref#file0.wav#SPK#OK\n\nref#file0.wav#SPK#OK\n", "set.hrl:5: empty line"),
    ("ref#file0.wav#SPK#OK\nref#missing.wav#SPK#TEXT\n", "set.hrl:5: audio file"),
    ("ref#../outside.wav#SPK#TEXT\n", "set.hrl:4: audio file '../outside.wav' lies outside the dataset folder"),
])
def test_bad_lines_name_file_and_line(tmp_path, body, message):
    folder = tmp_path / "data"
    folder.mkdir()
    write_wav(folder / "file0.wav")
    write_wav(tmp_path / "outside.wav")
    with pytest.raises(DatasetError, match=message.replace("(", r"\(")) as caught:
        read_hrl(write_hrl(folder, body))
    if "missing" in body:
        assert "missing.wav is missing" in str(caught.value)


def test_wrong_sample_rate_names_the_rate_found(tmp_path):
    write_wav(tmp_path / "file0.wav", rate=8000)
    with pytest.raises(DatasetError, match=r"set.hrl:4: .*file0.wav has a sample rate of 8000 Hz"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_stereo_is_rejected(tmp_path):
    write_wav(tmp_path / "file0.wav", channels=2)
    with pytest.raises(DatasetError, match=r"set.hrl:4: .*has 2 channels; mono is required"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_unreadable_wav_is_rejected(tmp_path):
    (tmp_path / "file0.wav").write_bytes(b"RIFF not really a wav")
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*file0.wav is unreadable"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_missing_or_empty_dataset_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.hrl: no such dataset file"):
        read_hrl(tmp_path / "nope.hrl")
    with pytest.raises(DatasetError, match="no utterances"):
        read_hrl(write_hrl(tmp_path, ""))
