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


def _resave_with(folder, **changes):
    """Replace the model of checkpoint `folder` by a random one whose config has `changes` (processor kept)."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    config = Wav2Vec2Config.from_pretrained(folder)
    for key, value in changes.items():
        setattr(config, key, value)
    torch.manual_seed(0)
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    return folder


def _edit_weights(folder, change):
    """Rewrite model.safetensors with `change(state_dict)` applied."""
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    change(weights)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})


def test_a_checkpoint_without_its_ctc_head_is_an_error_naming_the_tensors(tmp_path):
    import shutil

    from gridprune.models import DEMO_MODEL

    folder = tmp_path / "no_head"
    shutil.copytree(DEMO_MODEL, folder)
    _edit_weights(folder, lambda w: [w.pop(k) for k in ("lm_head.weight", "lm_head.bias")])
    with pytest.raises(CheckpointError, match=r"no_head: the checkpoint lacks weights the model needs "
                                              r"\(a wav2vec2 without its CTC head.*\): lm_head.bias, lm_head.weight$"):
        load_checkpoint(folder)


def test_a_missing_encoder_weight_is_named(tmp_path):
    folder = make_checkpoint(tmp_path / "ckpt", False)
    _edit_weights(folder, lambda w: w.pop("wav2vec2.encoder.layers.1.feed_forward.output_dense.weight"))
    with pytest.raises(CheckpointError, match=r"ckpt: the checkpoint lacks weights the model needs: "
                                              r"wav2vec2.encoder.layers.1.feed_forward.output_dense.weight$"):
        load_checkpoint(folder)


def test_weights_that_do_not_match_config_json_are_named_with_their_shapes(tmp_path):
    folder = make_checkpoint(tmp_path / "ckpt", False)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "vocab_size": config["vocab_size"] + 8}))
    with pytest.raises(CheckpointError, match=r"ckpt: weights do not match the shapes config.json gives: "
                                              r"lm_head.bias is \(32,\) in the checkpoint, \(40,\) by config.json, "
                                              r"lm_head.weight is \(32, 32\) in the checkpoint, \(40, 32\)"):
        load_checkpoint(folder)
    (folder / "config.json").write_text(json.dumps({**config, "intermediate_size": 48}))
    with pytest.raises(CheckpointError, match=r"intermediate_dense.weight is \(64, 32\) in the checkpoint, "
                                              r"\(48, 32\) by config.json.* and 5 more$"):
        load_checkpoint(folder)


def test_weights_the_model_does_not_use_are_a_warning_naming_them(tmp_path, caplog):
    folder = make_checkpoint(tmp_path / "ckpt", False)
    _edit_weights(folder, lambda w: w.update({"quantizer.codevectors": torch.zeros(2, 3)}))
    with caplog.at_level("WARNING", logger="gridprune.models.loading"):
        checkpoint = load_checkpoint(folder)
    assert "ckpt: the checkpoint has weights Wav2Vec2ForCTC does not use (ignored): quantizer.codevectors" in caplog.text
    assert "LOAD REPORT" not in caplog.text  # transformers' own table is not repeated
    assert checkpoint.model.lm_head.out_features == 32


def test_the_training_only_mask_embedding_may_be_missing(tmp_path):
    folder = _resave_with(make_checkpoint(tmp_path / "ckpt", False), mask_time_prob=0.05)
    _edit_weights(folder, lambda w: w.pop("wav2vec2.masked_spec_embed"))
    checkpoint = load_checkpoint(folder)
    dataset = read_hrl(write_dataset(tmp_path / "data", ["ONE"]))
    assert isinstance(transcribe(checkpoint.model, checkpoint.processor, dataset.audio()[0]), str)


def test_a_tokenizer_larger_than_the_ctc_head_is_an_error(tmp_path):
    folder = _resave_with(make_checkpoint(tmp_path / "ckpt", False), vocab_size=20)
    with pytest.raises(CheckpointError, match=r"ckpt: the tokenizer has token ids up to 31 but the CTC head "
                                              r"\(lm_head, vocab_size in config.json\) has only 20 outputs"):
        load_checkpoint(folder)


def test_ctc_outputs_without_a_token_decode_as_nothing(tmp_path, caplog):
    folder = _resave_with(make_checkpoint(tmp_path / "ckpt", False), vocab_size=36)
    with caplog.at_level("WARNING", logger="gridprune.models.loading"):
        checkpoint = load_checkpoint(folder)
    assert "4 of the CTC head's 36 outputs have no token in the tokenizer" in caplog.text
    vocab = checkpoint.processor.tokenizer.get_vocab()
    logits = torch.full((3, 36), -10.0)
    logits[0, vocab["O"]] = logits[1, 35] = logits[2, vocab["K"]] = 10.0
    assert GreedyCtcDecoder(checkpoint.processor).decode(logits) == "OK"
