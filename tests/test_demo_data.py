"""The shipped example datasets and the texts and speech that the demo model is made from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from gridprune.data import read_hrl
from gridprune.demo import make_dataset, speech, text
from gridprune.checkpoint_files import DEMO_MODEL

EXAMPLES = Path(__file__).resolve().parents[1] / "wav_files_example"
WAV_SETS = ("example", "heldout", "dev")
FLAC_SETS = ("search80", "heldout80", "train")
MB = 1_000_000


def shipped_texts(name: str) -> list[str]:
    return [u.transcription for u in read_hrl(EXAMPLES / f"{name}.hrl").utterances]


def shipped_bytes(*names: str) -> int:
    """The bytes of the .hrl files `names` and all the audio they list."""
    total = 0
    for name in names:
        total += (EXAMPLES / f"{name}.hrl").stat().st_size
        total += sum(u.audio_path.stat().st_size for u in read_hrl(EXAMPLES / f"{name}.hrl").utterances)
    return total


@pytest.mark.parametrize(("name", "minimum", "sentences"), [
    ("example.hrl", 12, text.EXAMPLE_SENTENCES),
    ("heldout.hrl", 8, text.HELDOUT_SENTENCES),
    ("dev.hrl", 16, text.dev_sentences()),
    ("search80.hrl", 80, text.search80_sentences()),
    ("heldout80.hrl", 80, text.heldout80_sentences()),
    ("train.hrl", 250, text.finetune_texts()),
])
def test_shipped_dataset_reads_and_matches_the_text_module(name: str, minimum: int, sentences: tuple[str, ...]) -> None:
    dataset = read_hrl(EXAMPLES / name)
    assert len(dataset) >= minimum
    assert [u.transcription for u in dataset.utterances] == list(sentences)
    audio_format = "WAV" if name.removesuffix(".hrl") in WAV_SETS else "FLAC"
    for utt in dataset.utterances:
        info = soundfile.info(str(utt.audio_path))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16_000, 1, "PCM_16", audio_format)


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


def test_every_shipped_hrl_is_what_the_dataset_script_plans() -> None:
    plans = make_dataset.datasets()
    assert set(plans) == set(WAV_SETS + FLAC_SETS)
    assert sorted(EXAMPLES.glob("*.hrl")) == sorted(EXAMPLES / f"{name}.hrl" for name in plans)
    for name, recordings in plans.items():
        lines = (EXAMPLES / f"{name}.hrl").read_text(encoding="utf-8").splitlines()
        assert lines[3:] == [f"ref#{r.path.as_posix()}#{r.voice}#{r.text}" for r in recordings]
        folder = {r.path.parent for r in recordings}
        assert folder == ({Path(".")} if name in WAV_SETS else {Path(name)})
        if name in FLAC_SETS:  # nothing but the set's own audio in its folder
            assert sorted((EXAMPLES / name).iterdir()) == sorted(EXAMPLES / r.path for r in recordings)


def test_shipped_audio_stays_small() -> None:
    assert shipped_bytes(*WAV_SETS) < 5 * MB
    assert shipped_bytes("search80", "heldout80") < 10 * MB
    assert shipped_bytes("train") < 12 * MB


@pytest.mark.parametrize("name", ["search80", "heldout80"])
def test_the_sets_of_80_have_several_hundred_words(name: str) -> None:
    assert sum(len(sentence.split()) for sentence in shipped_texts(name)) >= 300


@pytest.mark.parametrize("seed", range(10))
def test_training_texts_never_contain_a_heldout_sentence(seed: int) -> None:
    texts = text.training_texts(text.MODEL_UTTERANCES, seed)
    joined = "\n".join(texts)
    assert not any(sentence in joined for sentence in text.HELDOUT_SENTENCES)
    assert set(text.EXAMPLE_SENTENCES) <= set(texts)


def test_the_model_texts_are_those_of_the_shipped_model() -> None:
    training = json.loads((DEMO_MODEL / "training.json").read_text())
    assert (training["utterances"], training["seed"]) == (text.MODEL_UTTERANCES, text.MODEL_SEED)


def test_dev_sentences_are_not_training_texts() -> None:
    training = set(text.training_texts(text.MODEL_UTTERANCES, text.MODEL_SEED))
    assert not training & set(text.dev_sentences())
    assert not set(text.EXAMPLE_SENTENCES) & set(text.dev_sentences())


@pytest.mark.parametrize("name", ["search80", "heldout80"])
def test_the_model_never_heard_a_sentence_of_the_sets_of_80(name: str) -> None:
    training = text.training_texts(text.MODEL_UTTERANCES, text.MODEL_SEED)
    heard = "\n".join(f" {t} " for t in training)  # a match cannot span two texts: none holds a newline
    for sentence in shipped_texts(name):
        assert f" {sentence} " not in heard, sentence


def test_no_text_of_one_shipped_set_is_a_text_of_another() -> None:
    texts = {name: set(shipped_texts(name)) for name in WAV_SETS + FLAC_SETS}
    for name in texts:
        for other in texts:
            if other != name:
                assert not texts[name] & texts[other], (name, other)
    assert len(shipped_texts("train")) == len(texts["train"])
    assert len(shipped_texts("search80")) == len(texts["search80"])


def test_no_fine_tuning_text_contains_a_sentence_the_model_is_measured_on() -> None:
    measured = [sentence for name in WAV_SETS + ("search80", "heldout80") for sentence in shipped_texts(name)]
    assert len(measured) == 205
    for training_text in shipped_texts("train"):
        assert not any(text.contains_sentence(training_text, sentence) for sentence in measured), training_text


def test_distinct_sequences_are_seeded_and_honour_the_rejection() -> None:
    first = text.distinct_sequences(50, 7, lambda s: s.split()[0] == "THE")
    assert first == text.distinct_sequences(50, 7, lambda s: s.split()[0] == "THE")
    assert len(set(first)) == 50
    assert not any(s.split()[0] == "THE" for s in first)
    assert first != text.distinct_sequences(50, 8, lambda s: s.split()[0] == "THE")


def test_word_runs() -> None:
    assert text.word_runs("A B C") == {"A", "B", "C", "A B", "B C", "A B C"}


@pytest.mark.parametrize("name", FLAC_SETS)
def test_the_demo_model_gives_the_wers_of_its_model_card_on_the_new_sets(name: str) -> None:
    card = json.loads((DEMO_MODEL / "card.json").read_text())
    command = [sys.executable, "-m", "gridprune.cli", "eval", "--model", "demo", "--data", EXAMPLES / f"{name}.hrl"]
    report = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True, check=True).stdout)
    assert report["wer"] == pytest.approx(card[f"{name}_wer"], abs=1e-12)
    assert (report["n_utterances"], report["n_words"]) == (
        card["datasets"][name]["utterances"], card["datasets"][name]["words"])
    rows = [row for row in (DEMO_MODEL / "README.md").read_text().splitlines() if row.startswith(f"| {name}.hrl |")]
    assert len(rows) == 1 and rows[0].endswith(f"| {card[f'{name}_wer']:.4f} |")
    assert card[f"{name}_wer"] <= 0.4


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


def _same_tools_as_the_shipped_audio() -> bool:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        return False
    training = json.loads((DEMO_MODEL / "training.json").read_text())
    card = json.loads((DEMO_MODEL / "card.json").read_text())
    versions = speech.tool_versions()
    return (versions["espeak_ng"], versions["sox"], soundfile.__libsndfile_version__) == (
        training["espeak_ng"], training["sox"], card["libsndfile"])


@pytest.mark.skipif(not _same_tools_as_the_shipped_audio(),
                    reason="espeak-ng, sox or libsndfile missing or of another version than made the shipped audio")
@pytest.mark.parametrize(
    ("name", "index"), [("dev", 3), ("search80", 0), ("heldout80", 79), ("train", 0), ("train", 279)]
)
def test_the_dataset_script_reproduces_shipped_audio_byte_for_byte(tmp_path: Path, name: str, index: int) -> None:
    recording = make_dataset.datasets()[name][index]
    out = speech.speak(recording.text, tmp_path / recording.path.name, recording.voice, recording.wpm, recording.pitch)
    assert out.read_bytes() == (EXAMPLES / recording.path).read_bytes()


def test_the_readme_lists_every_set_with_the_counts_and_wer_of_the_model_card() -> None:
    card = json.loads((DEMO_MODEL / "card.json").read_text())
    readme = (EXAMPLES.parent / "README.md").read_text()
    for name in WAV_SETS + FLAC_SETS:
        d = card["datasets"][name]
        assert f"| `{name}.hrl` | {d['utterances']} | {d['words']:,} | {card[f'{name}_wer']:.4f} |" in readme, name
