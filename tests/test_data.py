import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from factories import HRL_HEADER, write_dataset, write_wav
from gridprune.data import MIN_SAMPLES, DatasetError, load_audio, read_hrl


def write_hrl(folder: Path, body: str, header: str = HRL_HEADER) -> Path:
    path = folder / "set.hrl"
    path.write_text(header + body)
    return path


def raises(message: str):
    """pytest.raises(DatasetError) whose message must contain `message` literally."""
    return pytest.raises(DatasetError, match=re.escape(message))


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
    assert [u.name for u in dataset.utterances] == ["file0.wav", "audio/file1.wav"]
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
    # the same files laid out with a separate audio folder: the same dataset
    (tmp_path / "d" / "wavs").mkdir(parents=True)
    for wav in (tmp_path / "a").glob("*.wav"):
        (tmp_path / "d" / "wavs" / wav.name).write_bytes(wav.read_bytes())
    (tmp_path / "d" / "set.hrl").write_text((tmp_path / "a" / "set.hrl").read_text())
    assert read_hrl(tmp_path / "d" / "set.hrl", tmp_path / "d" / "wavs").fingerprint() == first.fingerprint()


def test_head_keeps_the_first_utterances_in_order(tmp_path):
    dataset = read_hrl(write_dataset(tmp_path, ["ONE", "TWO", "THREE"]))
    assert [u.transcription for u in dataset.head(2).utterances] == ["ONE", "TWO"]
    assert dataset.head(None) == dataset and dataset.head(2).path == dataset.path


@pytest.mark.parametrize("body, message", [
    ("ref#file0.wav#SPK\n", "set.hrl:4: expected 4 '#'-separated fields"),
    ("ref#file0.wav#SPK#   \n", "set.hrl:4: empty transcription"),
    ("ref#file0.wav#SPK#OK\n\nref#file1.wav#SPK#OK\n", "set.hrl:5: empty line"),
    ("ref#file0.wav#SPK#OK\nref#missing.wav#SPK#TEXT\n", "set.hrl:5: audio file"),
    ("ref#../outside.wav#SPK#TEXT\n", "set.hrl:4: audio file '../outside.wav' lies outside the audio folder"),
    ("ref#/etc/passwd#SPK#TEXT\n", "set.hrl:4: audio file '/etc/passwd' lies outside the audio folder"),
    ("ref##SPK#TEXT\n", "set.hrl:4: empty audio file name"),
])
def test_bad_lines_name_file_and_line(tmp_path, body, message):
    folder = tmp_path / "data"
    folder.mkdir()
    write_wav(folder / "file0.wav")
    write_wav(folder / "file1.wav")
    write_wav(tmp_path / "outside.wav")
    with raises(message) as caught:
        read_hrl(write_hrl(folder, body))
    if "missing" in body:
        assert "missing.wav is missing" in str(caught.value)


# --- the three header lines ---------------------------------------------------------------

def test_a_file_without_its_header_is_refused_not_shortened(tmp_path):
    for index in range(4):
        write_wav(tmp_path / f"file{index}.wav", seed=index)
    body = "".join(f"ref#file{index}.wav#SPK#LINE {index}\n" for index in range(4))
    with raises("set.hrl:1: expected the header line, e.g. '#head;hrl;2.0;utf-8#source my_data', "
                "found 'ref#file0.wav#SPK#LINE 0'"):
        read_hrl(write_hrl(tmp_path, body, header=""))


@pytest.mark.parametrize("header, message", [
    ("#head;hrl;2.0;utf-8#x\nref#file0.wav#SPK#TEXT\nhead#test\n",
     "set.hrl:2: expected the column line '#ref#audio_input#speaker#transcription', found 'ref#file0.wav#SPK#TEXT'"),
    ("#head;hrl;2.0;utf-8#x\n#ref#audio_input#speaker#transcription\nref#file0.wav#SPK#TEXT\n",
     "set.hrl:3: expected the section line, e.g. 'head#test', found 'ref#file0.wav#SPK#TEXT'"),
    ("\n#ref#audio_input#speaker#transcription\nhead#test\n", "set.hrl:1: expected the header line"),
    ("#ref#audio_input#speaker#transcription\nhead#test\n", "set.hrl:1: expected the header line"),
    ("#head;hrl;2.0;utf-8#x\n#ref#audio#speaker#transcription\nhead#test\n",
     "set.hrl:2: the column line '#ref#audio#speaker#transcription' has no 'audio_input' column"),
])
def test_a_wrong_header_line_is_named(tmp_path, header, message):
    write_wav(tmp_path / "file0.wav")
    with raises(message):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n", header=header))


def test_a_file_that_ends_inside_its_header_is_named(tmp_path):
    path = tmp_path / "set.hrl"
    path.write_text("#head;hrl;2.0;utf-8#x\n#ref#audio_input#speaker#transcription\n")
    with raises("set.hrl:3: the file ends where the section line, e.g. 'head#test' should be"):
        read_hrl(path)


def test_columns_are_taken_by_name_and_the_last_one_keeps_hashes(tmp_path):
    write_wav(tmp_path / "file0.wav")
    header = "#head;hrl;2.0;utf-8#x\n#ref#speaker#audio_input#transcription\nhead#test\n"
    dataset = read_hrl(write_hrl(tmp_path, "ref#SPK#file0.wav#ISSUE #5 IS FIXED\n", header=header))
    utt = dataset.utterances[0]
    assert (utt.speaker, utt.name, utt.transcription) == ("SPK", "file0.wav", "ISSUE #5 IS FIXED")


def test_a_line_that_is_not_an_utterance_is_named(tmp_path):
    write_wav(tmp_path / "file0.wav")
    with raises("set.hrl:5: expected an utterance line 'ref#<audio>#<speaker>#<text>', found 'head#dev'"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\nhead#dev\n"))


# --- text encoding and line ends ----------------------------------------------------------

@pytest.mark.parametrize("ending", ["\n", "\n\n", "\n\n\n", "\n  \n", "\r\n\r\n"])
def test_blank_lines_at_the_end_are_accepted(tmp_path, ending):
    write_wav(tmp_path / "file0.wav")
    path = tmp_path / "set.hrl"
    path.write_text(HRL_HEADER + "ref#file0.wav#SPK#TEXT" + ending)
    assert [u.transcription for u in read_hrl(path).utterances] == ["TEXT"]


def test_crlf_and_a_byte_order_mark_read_as_plain_utf8(tmp_path):
    write_wav(tmp_path / "file0.wav")
    write_wav(tmp_path / "file1.wav")
    text = HRL_HEADER + "ref#file0.wav#SPK#CAFÉ  \nref#file1.wav#SPK#TWO\n"
    path = tmp_path / "set.hrl"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    dataset = read_hrl(path)
    assert [u.transcription for u in dataset.utterances] == ["CAFÉ  ", "TWO"]
    assert [u.name for u in dataset.utterances] == ["file0.wav", "file1.wav"]


def test_latin1_is_reported_by_line(tmp_path):
    write_wav(tmp_path / "file0.wav")
    write_wav(tmp_path / "file1.wav")
    path = tmp_path / "set.hrl"
    path.write_bytes((HRL_HEADER + "ref#file0.wav#SPK#ONE\nref#file1.wav#SPK#CAFÉ\n").encode("latin-1"))
    with raises("set.hrl:5: not UTF-8 text (byte 0xc9 at column 22); save the file as UTF-8"):
        read_hrl(path)


def test_utf16_is_named(tmp_path):
    path = tmp_path / "set.hrl"
    path.write_bytes((HRL_HEADER + "ref#file0.wav#SPK#ONE\n").encode("utf-16"))
    with raises("set.hrl:1: the file is UTF-16; save it as UTF-8"):
        read_hrl(path)


def test_a_sound_file_given_as_the_dataset_is_named(tmp_path):
    wav = write_wav(tmp_path / "file0.wav")
    with raises(f"{wav}:1: binary data (a NUL byte), not an .hrl text file"):
        read_hrl(wav)


def test_a_carriage_return_inside_a_line_is_named(tmp_path):
    write_wav(tmp_path / "file0.wav")
    path = tmp_path / "set.hrl"
    path.write_text(HRL_HEADER + "ref#file0.wav#SPK#ONE\rref#file1.wav#SPK#TWO\n")
    with raises("set.hrl:4: the transcription holds the control character '\\r'"):
        read_hrl(path)


# --- transcriptions -----------------------------------------------------------------------

@pytest.mark.parametrize("text", ["...", " - ", "“”", "?!"])
def test_a_transcription_without_words_is_refused(tmp_path, text):
    write_wav(tmp_path / "file0.wav")
    with raises(f"set.hrl:4: transcription {text!r} has no words (letters or digits) after normalisation"):
        read_hrl(write_hrl(tmp_path, f"ref#file0.wav#SPK#{text}\n"))


def test_the_same_audio_twice_is_refused(tmp_path):
    write_wav(tmp_path / "file0.wav")
    with raises("set.hrl:5: audio file './file0.wav' is already the audio of line 4"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#ONE\nref#./file0.wav#SPK#TWO\n"))


# --- audio files --------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_wrong_sample_rate_names_the_rate_found(tmp_path, rate):
    write_wav(tmp_path / "file0.wav", rate=rate)
    with pytest.raises(DatasetError, match=rf"set.hrl:4: .*file0.wav has a sample rate of {rate} Hz"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_stereo_is_rejected(tmp_path):
    write_wav(tmp_path / "file0.wav", channels=2)
    with pytest.raises(DatasetError, match=r"set.hrl:4: .*has 2 channels; mono is required"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_unreadable_wav_is_rejected(tmp_path):
    (tmp_path / "file0.wav").write_bytes(b"RIFF not really a wav")
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*file0.wav is unreadable"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_empty_audio_files_are_named(tmp_path):
    (tmp_path / "file0.wav").write_bytes(b"")
    soundfile.write(str(tmp_path / "file1.wav"), np.zeros(0, np.float32), 16000, subtype="PCM_16")
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*file0.wav is empty \(0 bytes\)"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*file1.wav is empty \(no samples\)"):
        read_hrl(write_hrl(tmp_path, "ref#file1.wav#SPK#TEXT\n"))


def test_a_folder_where_a_wav_should_be_is_named(tmp_path):
    (tmp_path / "file0.wav").mkdir()
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*file0.wav is a folder, not a sound file"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))


def test_a_folder_given_as_the_dataset_is_named(tmp_path):
    with raises(f"{tmp_path}: is a folder; a dataset is an .hrl file"):
        read_hrl(tmp_path)


def test_spaces_around_an_audio_name_are_pointed_out(tmp_path):
    write_wav(tmp_path / "file0.wav")
    with raises("set.hrl:4: audio file 'file0.wav ' is missing (note the spaces around the name)"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav #SPK#TEXT\n"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_samples_are_refused_naming_the_file(tmp_path, bad):
    samples = np.zeros(16000, np.float32)
    samples[8000] = bad
    soundfile.write(str(tmp_path / "file0.wav"), samples, 16000, subtype="FLOAT")
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*file0.wav has 1 NaN or infinite samples "
                                           r"\(the first at 0.500 s\)"):
        read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n"))
    with pytest.raises(DatasetError, match=r"audio file .*file0.wav has 1 NaN"):
        load_audio(tmp_path / "file0.wav")


def test_audio_shorter_than_the_feature_encoder_is_refused(tmp_path):
    soundfile.write(str(tmp_path / "short.wav"), np.zeros(MIN_SAMPLES - 1, np.float32), 16000, subtype="PCM_16")
    soundfile.write(str(tmp_path / "enough.wav"), np.zeros(MIN_SAMPLES, np.float32), 16000, subtype="PCM_16")
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*short.wav has 399 samples \(24.9 ms\); "
                                           r"the feature encoder needs at least 400 \(25 ms\)"):
        read_hrl(write_hrl(tmp_path, "ref#short.wav#SPK#TEXT\n"))
    assert len(read_hrl(write_hrl(tmp_path, "ref#enough.wav#SPK#TEXT\n"))) == 1


@pytest.mark.parametrize("subtype, tolerance", [("PCM_U8", 1 / 64), ("PCM_24", 1e-6), ("PCM_32", 1e-6),
                                                ("FLOAT", 0.0), ("DOUBLE", 0.0)])
def test_other_sample_formats_read_as_the_same_signal(tmp_path, subtype, tolerance):
    signal = (0.5 * np.sin(np.linspace(0, 200, 16000))).astype(np.float32)
    soundfile.write(str(tmp_path / "file0.wav"), signal, 16000, subtype=subtype)
    samples = read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n")).audio()[0]
    assert samples.dtype == np.float32 and samples.shape == signal.shape
    assert np.max(np.abs(samples - signal)) <= tolerance


def test_float_samples_beyond_one_are_kept_not_clipped(tmp_path):
    signal = np.linspace(-2.0, 2.0, 16000, dtype=np.float32)
    soundfile.write(str(tmp_path / "file0.wav"), signal, 16000, subtype="FLOAT")
    samples = read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#TEXT\n")).audio()[0]
    assert samples.max() == pytest.approx(2.0)


def test_flac_is_read_and_checked_as_wav_is(tmp_path):
    signal = (0.3 * np.sin(np.linspace(0, 300, 16000))).astype(np.float32)
    soundfile.write(str(tmp_path / "file0.flac"), signal, 16000, subtype="PCM_16")
    soundfile.write(str(tmp_path / "loud.flac"), signal, 44100, subtype="PCM_16")
    soundfile.write(str(tmp_path / "stereo.flac"), np.stack([signal, signal], axis=1), 16000, subtype="PCM_16")
    samples = read_hrl(write_hrl(tmp_path, "ref#file0.flac#SPK#TEXT\n")).audio()[0]
    assert np.max(np.abs(samples - signal)) < 1e-4
    with pytest.raises(DatasetError, match=r"set.hrl:4: .*loud.flac has a sample rate of 44100 Hz"):
        read_hrl(write_hrl(tmp_path, "ref#loud.flac#SPK#TEXT\n"))
    with pytest.raises(DatasetError, match=r"set.hrl:4: .*stereo.flac has 2 channels"):
        read_hrl(write_hrl(tmp_path, "ref#stereo.flac#SPK#TEXT\n"))


# --- a separate audio folder --------------------------------------------------------------

def test_audio_names_are_relative_to_the_audio_folder_when_given(tmp_path):
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "wavs" / "sub").mkdir(parents=True)
    write_wav(tmp_path / "wavs" / "file0.wav")
    write_wav(tmp_path / "wavs" / "sub" / "file1.wav", seed=1)
    path = write_hrl(tmp_path / "transcripts", "ref#file0.wav#SPK#ONE\nref#sub/file1.wav#SPK#TWO\n")
    with pytest.raises(DatasetError, match=r"set.hrl:4: audio file .*transcripts/file0.wav is missing"):
        read_hrl(path)
    dataset = read_hrl(path, tmp_path / "wavs")
    assert [u.audio_path for u in dataset.utterances] == [(tmp_path / "wavs" / "file0.wav").resolve(),
                                                          (tmp_path / "wavs" / "sub" / "file1.wav").resolve()]
    assert [u.name for u in dataset.utterances] == ["file0.wav", "sub/file1.wav"]


def test_audio_names_must_stay_inside_the_audio_folder(tmp_path):
    (tmp_path / "wavs").mkdir()
    write_wav(tmp_path / "set.wav")
    path = write_hrl(tmp_path, "ref#../set.wav#SPK#ONE\n")
    with raises(f"set.hrl:4: audio file '../set.wav' lies outside the audio folder {(tmp_path / 'wavs').resolve()}"):
        read_hrl(path, tmp_path / "wavs")


def test_a_missing_or_wrong_audio_folder_is_named(tmp_path):
    path = write_hrl(tmp_path, "ref#file0.wav#SPK#ONE\n")
    with raises(f"{tmp_path / 'nowhere'}: no such audio folder (the audio of {path})"):
        read_hrl(path, tmp_path / "nowhere")
    with raises(f"{path}: the audio folder of {path} is a file, not a folder"):
        read_hrl(path, path)


def test_an_audio_folder_of_symbolic_links_is_accepted(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "links").mkdir()
    write_wav(tmp_path / "store" / "real.wav")
    os.symlink(tmp_path / "store" / "real.wav", tmp_path / "links" / "file0.wav")
    dataset = read_hrl(write_hrl(tmp_path, "ref#file0.wav#SPK#ONE\n"), tmp_path / "links")
    assert len(dataset.audio()[0]) == 16000


def test_missing_or_empty_dataset_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.hrl: no such dataset file"):
        read_hrl(tmp_path / "nope.hrl")
    with pytest.raises(DatasetError, match="no utterances"):
        read_hrl(write_hrl(tmp_path, ""))
