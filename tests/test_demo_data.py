"""The shipped example datasets and the texts and speech that the demo model is made from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile

from gridprune.data import read_hrl
from gridprune.demo import speech, text

EXAMPLES = Path(__file__).resolve().parents[1] / "wav_files_example"
TRAINING_UTTERANCES = 8000  # as gridprune.demo.train makes (not imported here: it loads torch)


@pytest.mark.parametrize(("name", "minimum", "sentences"), [
    ("example.hrl", 12, text.EXAMPLE_SENTENCES),
    ("heldout.hrl", 8, text.HELDOUT_SENTENCES),
    ("dev.hrl", 16, text.dev_sentences()),
])
def test_shipped_dataset_reads_and_matches_the_text_module(name: str, minimum: int, sentences: tuple[str, ...]) -> None:
    dataset = read_hrl(EXAMPLES / name)
    assert len(dataset) >= minimum
    assert [u.transcription for u in dataset.utterances] == list(sentences)
    for utt in dataset.utterances:
        info = soundfile.info(str(utt.audio_path))
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")


def test_shipped_datasets_keep_the_original_hrl_layout() -> None:
    for name, prefix in (("example.hrl", "file"), ("heldout.hrl", "heldout"), ("dev.hrl", "dev")):
        raw = (EXAMPLES / name).read_bytes()
        assert b"\r" not in raw
        lines = raw.decode("utf-8").splitlines()
        assert lines[:3] == ["#head;hrl;2.0;utf-8#source gridprune", "#ref#audio_input#speaker#transcription", "head#test"]
        for index, line in enumerate(lines[3:]):
            ref, wav, voice, _ = line.split("#")
            assert (ref, wav) == ("ref", f"{prefix}{index}.wav")
            assert voice.split("+")[0] in speech.VOICES


def test_shipped_audio_stays_small() -> None:
    assert sum(p.stat().st_size for p in EXAMPLES.iterdir()) < 5_000_000


@pytest.mark.parametrize("seed", range(10))
def test_training_texts_never_contain_a_heldout_sentence(seed: int) -> None:
    texts = text.training_texts(TRAINING_UTTERANCES, seed)
    joined = "\n".join(texts)
    assert not any(sentence in joined for sentence in text.HELDOUT_SENTENCES)
    assert set(text.EXAMPLE_SENTENCES) <= set(texts)


def test_dev_sentences_are_not_training_texts() -> None:
    training = set(text.training_texts(TRAINING_UTTERANCES, 0))  # seed 0: the shipped demo model's
    assert not training & set(text.dev_sentences())
    assert not set(text.EXAMPLE_SENTENCES) & set(text.dev_sentences())


def test_heldout_sentences_are_not_example_sentences() -> None:
    for heldout in text.HELDOUT_SENTENCES:
        assert not any(text.contains_sentence(example, heldout) for example in text.EXAMPLE_SENTENCES)


def test_heldout_check_refuses_a_heldout_sentence() -> None:
    with pytest.raises(ValueError, match="heldout"):
        text.check_no_heldout(["SO " + text.HELDOUT_SENTENCES[0] + " NOW"])


def test_sentences_use_vocabulary_words_and_characters() -> None:
    words = set(text.WORDS)
    characters = set(text.vocabulary()) | {" "}
    assert len(words) == len(text.WORDS), "duplicate vocabulary words"
    for sentence in text.EXAMPLE_SENTENCES + text.HELDOUT_SENTENCES:
        assert set(sentence.split()) <= words, sentence
    for sentence in text.EXAMPLE_SENTENCES + text.HELDOUT_SENTENCES + text.WORDS:
        assert set(sentence) <= characters, sentence


def test_character_vocabulary() -> None:
    vocab = text.vocabulary()
    assert len(vocab) == 32
    assert vocab["<pad>"] == 0
    assert {"|", "'"} <= set(vocab)
    assert all(chr(code) in vocab for code in range(ord("A"), ord("Z") + 1))


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are not installed (Debian packages espeak-ng and sox)",
)
def test_speak_writes_a_16_khz_mono_wav(tmp_path: Path) -> None:
    out = speech.speak("PRUNING SPEECH MODELS", tmp_path / "a.wav", voice="en-gb+f3", wpm=170, pitch=40)
    info = soundfile.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    assert 0.5 < info.duration < 5


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda program: None)
    with pytest.raises(speech.SpeechError, match="apt-get install espeak-ng sox"):
        speech.require_tools()
