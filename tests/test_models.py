import json

import pytest
import torch

from factories import make_checkpoint, write_dataset
from gridprune.data import read_hrl
from gridprune.models import CheckpointError, Evaluator, GreedyCtcDecoder, input_values, load_checkpoint, transcribe
from gridprune.models.forward import hidden_before_layer, logits_from_layer

STYLES = {"post-norm": False, "stable-layer-norm": True}


@pytest.mark.parametrize("layout", ["current", "legacy"])
@pytest.mark.parametrize("style", STYLES)
def test_both_styles_and_layouts_load_and_decode(tmp_path, style, layout):
    folder = make_checkpoint(tmp_path / "ckpt", STYLES[style], layout)
    expected_files = {"current": "processor_config.json", "legacy": "preprocessor_config.json"}[layout]
    assert (folder / expected_files).is_file()
    checkpoint = load_checkpoint(folder)
    assert checkpoint.model.config.do_stable_layer_norm is STYLES[style]
    dataset = read_hrl(write_dataset(tmp_path / "data", ["HELLO", "WORLD"]))
    audio = dataset.audio()[0]
    text = transcribe(checkpoint.model, checkpoint.processor, audio)
    # the same model rebuilt from its own weights must decode the same text
    reference_logits = checkpoint.model(input_values(checkpoint.processor, audio)).logits
    assert GreedyCtcDecoder(checkpoint.processor).decode(reference_logits) == text
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ' ")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("start_layer", [0, 1, 3])
def test_split_forward_equals_the_full_model(tmp_path, style, start_layer):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", STYLES[style]))
    dataset = read_hrl(write_dataset(tmp_path / "data", ["A", "B"]))
    for audio in dataset.audio():
        values = input_values(checkpoint.processor, audio)
        with torch.inference_mode():
            full = checkpoint.model(values).logits
        split = logits_from_layer(checkpoint.model, hidden_before_layer(checkpoint.model, values, start_layer), start_layer)
        torch.testing.assert_close(split, full, rtol=0, atol=1e-5)


def test_evaluator_matches_plain_transcription(tmp_path):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    dataset = read_hrl(write_dataset(tmp_path / "data", ["ONE", "TWO", "THREE"]))
    evaluation = Evaluator(checkpoint, dataset, start_layer=2).evaluate()
    plain = [transcribe(checkpoint.model, checkpoint.processor, a) for a in dataset.audio()]
    assert list(evaluation.hypotheses) == plain
    assert evaluation.result.words == 3
    subset = Evaluator(checkpoint, dataset).evaluate(indices=[2])
    assert subset.hypotheses == (plain[2],) and subset.indices == (2,)


def test_decoder_merges_repeats_and_drops_blanks(tmp_path):
    processor = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False)).processor
    vocab = processor.tokenizer.get_vocab()
    frames = ["<pad>", "H", "H", "<pad>", "I", "|", "|", "Y", "<pad>", "O", "O", "<pad>", "O", "|"]
    logits = torch.full((len(frames), len(vocab)), -10.0)
    for t, token in enumerate(frames):
        logits[t, vocab[token]] = 10.0
    assert GreedyCtcDecoder(processor).decode(logits) == "HI YOO"


def test_missing_parts_of_a_checkpoint_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_checkpoint(tmp_path / "absent")
    folder = make_checkpoint(tmp_path / "ckpt", False)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"ckpt: missing model weights"):
        load_checkpoint(folder)
    folder = make_checkpoint(tmp_path / "ckpt2", False)
    (folder / "processor_config.json").unlink()
    with pytest.raises(CheckpointError, match=r"ckpt2: missing the feature extractor config"):
        load_checkpoint(folder)
    folder = make_checkpoint(tmp_path / "ckpt3", False)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match=r"config.json: model_type is 'bert'"):
        load_checkpoint(folder)
    (folder / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match=r"config.json: unreadable"):
        load_checkpoint(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"ckpt3: missing config.json"):
        load_checkpoint(folder)


def test_corrupt_weights_are_an_error_naming_the_folder(tmp_path):
    folder = make_checkpoint(tmp_path / "ckpt", False)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"ckpt: cannot load the model"):
        load_checkpoint(folder)


def test_fingerprint_follows_weights_not_location(tmp_path):
    a = load_checkpoint(make_checkpoint(tmp_path / "a", False, seed=1)).fingerprint
    b = load_checkpoint(make_checkpoint(tmp_path / "b", False, seed=1)).fingerprint
    c = load_checkpoint(make_checkpoint(tmp_path / "c", False, seed=2)).fingerprint
    assert a == b != c
