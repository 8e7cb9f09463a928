"""Exported models of any per-layer shape: written without padding, reloaded by gridprune and transformers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from factories import make_checkpoint, write_dataset
from torch import nn
from transformers import Wav2Vec2ForCTC

import gridprune
from gridprune.checkpoint_files import CheckpointError, checkpoint_fingerprint
from gridprune.data import read_hrl
from gridprune.models import DEMO_MODEL, input_values, load_checkpoint
from gridprune.models.evaluator import decode_dataset
from gridprune.models.export import model_sizes, save_pruned, size_report, weight_bytes
from gridprune.models.layers import LayerDropper, save_dropped
from gridprune.models.pruned import save_model
from gridprune.models.pruning import FfnPruner, count_parameters

ROOT = Path(__file__).resolve().parent.parent
STYLES = {"post-norm": False, "stable-layer-norm": True}
UNEVEN = {0: [1, 3], 2: [0, 5, 7]}  # granularity 8 over width 64: layers keep 48, 64 and 40 rows


def _logits(model: nn.Module, processor, audio) -> list[torch.Tensor]:
    with torch.inference_mode():
        return [model(input_values(processor, samples)).logits for samples in audio]


def _sliced_logits(checkpoint, pruned, granularity, audio) -> list[torch.Tensor]:
    pruner = FfnPruner(checkpoint.model, granularity)
    try:
        return _logits(pruner.apply(pruned), checkpoint.processor, audio)
    finally:
        pruner.restore()


def _pad_to_widest(model: Wav2Vec2ForCTC) -> Wav2Vec2ForCTC:
    """What export did before: every FFN widened with zero rows to the widest layer (the output unchanged)."""
    layers = model.wav2vec2.encoder.layers
    width = max(layer.feed_forward.intermediate_dense.out_features for layer in layers)
    for layer in layers:
        ff = layer.feed_forward
        rows = ff.intermediate_dense.out_features
        wide_in, wide_out = nn.Linear(ff.intermediate_dense.in_features, width), nn.Linear(width, ff.output_dense.out_features)
        with torch.no_grad():
            for tensor in (wide_in.weight, wide_in.bias, wide_out.weight):
                tensor.zero_()
            wide_in.weight[:rows], wide_in.bias[:rows] = ff.intermediate_dense.weight, ff.intermediate_dense.bias
            wide_out.weight[:, :rows] = ff.output_dense.weight
            wide_out.bias.copy_(ff.output_dense.bias)
        ff.intermediate_dense, ff.output_dense = wide_in, wide_out
    model.config.intermediate_size = width
    return model


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return read_hrl(write_dataset(tmp_path_factory.mktemp("data"), ["A", "BC", "DEF"])).audio()


@pytest.mark.parametrize("style", STYLES)
def test_uneven_widths_export_unpadded_and_reload_equal_to_the_sliced_model(tmp_path, audio, style):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", STYLES[style]))
    expected = _sliced_logits(checkpoint, UNEVEN, 8, audio)
    shape = save_pruned(checkpoint, UNEVEN, 8, tmp_path / "out")
    assert shape == {"plain": False, "encoder_layers": 3, "ffn_widths": [48, 64, 40]}
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["gridprune"] == {"format": 1, "layers": [{"intermediate_size": w} for w in (48, 64, 40)]}
    assert config["intermediate_size"] == 64
    assert count_parameters(checkpoint.model) == sum(p.numel() for p in Wav2Vec2ForCTC(checkpoint.model.config).parameters())

    model = gridprune.load_pruned(tmp_path / "out")
    assert [layer.feed_forward.output_dense.in_features for layer in model.wav2vec2.encoder.layers] == [48, 64, 40]
    assert not model.training and all(p.dtype == torch.float32 and not p.is_meta for p in model.parameters())
    loaded = load_checkpoint(tmp_path / "out")
    assert loaded.fingerprint == checkpoint_fingerprint(tmp_path / "out") != checkpoint.fingerprint
    for reloaded in (model, loaded.model):
        for got, want in zip(_logits(reloaded, checkpoint.processor, audio), expected):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("style", STYLES)
def test_the_files_on_disk_are_smaller_than_the_padded_export(tmp_path, style):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", STYLES[style]))
    save_pruned(checkpoint, UNEVEN, 8, tmp_path / "out")
    pruner = FfnPruner(checkpoint.model, 8)
    try:
        _pad_to_widest(pruner.apply(UNEVEN)).save_pretrained(tmp_path / "padded")
    finally:
        pruner.restore()
        checkpoint.model.config.intermediate_size = 64
    removed_rows = (64 - 48) + (64 - 40)
    saved = weight_bytes(tmp_path / "out")
    # each removed row: a row and a bias of intermediate_dense, a column of output_dense, float32
    assert weight_bytes(tmp_path / "padded") - saved == pytest.approx(removed_rows * (2 * 32 + 1) * 4, abs=512)
    assert saved < weight_bytes(tmp_path / "padded") <= weight_bytes(tmp_path / "ckpt") + 512


def test_the_demo_model_with_uneven_widths_reloads_both_ways(tmp_path, audio):
    checkpoint = load_checkpoint(DEMO_MODEL)
    pruned = {0: [1, 3], 2: [0, 5, 7, 9], 3: list(range(8))}
    expected = _sliced_logits(checkpoint, pruned, 16, audio)
    shape = save_pruned(checkpoint, pruned, 16, tmp_path / "out")
    assert shape["ffn_widths"] == [896, 1024, 768, 512] and not shape["plain"]
    sizes = size_report(checkpoint.model, checkpoint.path, gridprune.load_pruned(tmp_path / "out"), tmp_path / "out")
    assert sizes["bytes_before"] == (DEMO_MODEL / "model.safetensors").stat().st_size
    assert sizes["bytes_after"] == (tmp_path / "out" / "model.safetensors").stat().st_size < sizes["bytes_before"]
    assert sizes["params_before"] - sizes["params_after"] == (128 + 256 + 512) * (2 * 256 + 1)
    assert sizes["nonzero_params_after"] <= sizes["params_after"]
    for model in (gridprune.load_pruned(tmp_path / "out"), load_checkpoint(tmp_path / "out").model):
        for got, want in zip(_logits(model, checkpoint.processor, audio), expected):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("style", STYLES)
def test_a_uniform_width_export_is_a_plain_checkpoint(tmp_path, audio, style):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", STYLES[style]))
    pruned = {layer: [0, 4] for layer in range(3)}
    expected = _sliced_logits(checkpoint, pruned, 8, audio)
    assert save_pruned(checkpoint, pruned, 8, tmp_path / "out") == {
        "plain": True, "encoder_layers": 3, "ffn_widths": [48, 48, 48]}
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert "gridprune" not in config and config["intermediate_size"] == 48
    assert checkpoint.model.config.intermediate_size == 64 and not hasattr(checkpoint.model.config, "gridprune")
    model = Wav2Vec2ForCTC.from_pretrained(tmp_path / "out").eval()
    for got, want in zip(_logits(model, checkpoint.processor, audio), expected):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("style", STYLES)
def test_a_fewer_layers_export_loads_with_gridprune(tmp_path, audio, style):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", STYLES[style], layers=4))
    dropper = LayerDropper(checkpoint.model)
    expected = _logits(dropper.apply([1, 2]), checkpoint.processor, audio)
    dropper.restore()
    save_dropped(checkpoint, [1, 2], tmp_path / "out")
    for model in (load_checkpoint(tmp_path / "out").model, gridprune.load_pruned(tmp_path / "out")):
        assert len(model.wav2vec2.encoder.layers) == 2
        for got, want in zip(_logits(model, checkpoint.processor, audio), expected):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_fewer_layers_and_uneven_widths_together(tmp_path, audio):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", True, layers=4))
    pruner = FfnPruner(checkpoint.model, 8)
    dropper = LayerDropper(pruner.apply({0: [0], 3: [1, 2, 3]}))
    model = dropper.apply([1])
    expected = _logits(model, checkpoint.processor, audio)
    assert save_model(model, checkpoint.processor, tmp_path / "out")["ffn_widths"] == [56, 64, 40]
    dropper.restore()
    pruner.restore()
    assert checkpoint.model.config.num_hidden_layers == 4
    for got, want in zip(_logits(gridprune.load_pruned(tmp_path / "out"), checkpoint.processor, audio), expected):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_unstructured_zeros_are_counted_and_stay_dense(tmp_path):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    model = checkpoint.model
    dense = model_sizes(model, checkpoint.path)
    weight = model.wav2vec2.encoder.layers[1].attention.q_proj.weight
    with torch.no_grad():
        weight[:, ::2] = 0
    before = model_sizes(model)
    assert before["bytes"] is None and before["params"] == dense["params"]
    assert dense["nonzero_params"] - before["nonzero_params"] == weight.numel() // 2
    assert save_model(model, checkpoint.processor, tmp_path / "out")["plain"]
    after = model_sizes(load_checkpoint(tmp_path / "out").model, tmp_path / "out")
    assert after == {**before, "bytes": weight_bytes(tmp_path / "ckpt")}


def test_a_record_this_version_cannot_build_is_refused_with_its_key(tmp_path):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    save_pruned(checkpoint, UNEVEN, 8, tmp_path / "out")
    config_file = tmp_path / "out" / "config.json"
    config = json.loads(config_file.read_text())
    with pytest.raises((RuntimeError, ValueError), match="mismatch"):
        Wav2Vec2ForCTC.from_pretrained(tmp_path / "out")  # plain transformers refuses rather than loads it wrong
    for change, message in [
        (lambda c: c["gridprune"]["layers"][1].update(attention={"heads": [{"qk": 16, "v": 16}] * 2}),
         r"gridprune\.layers\[1\]\.attention must be a mapping of exactly heads, qk_head_dim, v_head_dim, scaling"),
        (lambda c: c["gridprune"]["layers"][1].update(
            attention={"heads": 2, "qk_head_dim": 0, "v_head_dim": 8, "scaling": 0.25}),
         r"gridprune\.layers\[1\]\.attention\.qk_head_dim is 0, not an integer >= 1"),
        (lambda c: c["gridprune"]["layers"].pop(), r"gridprune\.layers must list one entry per encoder layer \(3\), found 2"),
        (lambda c: c["gridprune"]["layers"][0].update(intermediate_size=-1), r"layers\[0\]\.intermediate_size is -1"),
        (lambda c: c["gridprune"].update(format=2), r"gridprune\.format is 2"),
        (lambda c: c["gridprune"]["layers"][2].update(intermediate_size=48),
         r"output_dense.weight is \(32, 40\) in the checkpoint, \(32, 48\) by config.json"),
    ]:
        broken = json.loads(json.dumps(config))
        change(broken)
        config_file.write_text(json.dumps(broken))
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(tmp_path / "out")


def test_import_gridprune_stays_torch_free_and_exposes_load_pruned():
    code = "import sys, gridprune; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from gridprune.models.loading import load_pruned

    assert gridprune.load_pruned is load_pruned and "load_pruned" in gridprune.__all__


def test_gridprune_eval_of_an_uneven_export_gives_the_pruned_models_wer(tmp_path):
    checkpoint = load_checkpoint(DEMO_MODEL)
    pruned = {0: list(range(6)), 1: [2], 3: list(range(10))}
    data = ROOT / "wav_files_example" / "dev.hrl"
    dataset = read_hrl(data)
    pruner = FfnPruner(checkpoint.model, 16)
    try:
        wer = decode_dataset(pruner.apply(pruned), checkpoint.processor, dataset).result.wer
    finally:
        pruner.restore()
    assert not save_pruned(checkpoint, pruned, 16, tmp_path / "out")["plain"]
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", "eval", "--model", str(tmp_path / "out"),
                           "--data", str(data), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n_utterances"] == len(dataset) and report["wer"] == pytest.approx(wer, abs=1e-12)


def test_an_uneven_export_missing_a_weight_is_refused_naming_it(tmp_path):
    from safetensors.torch import load_file, save_file

    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", True))
    save_pruned(checkpoint, UNEVEN, 8, tmp_path / "out")
    weights_file = tmp_path / "out" / "model.safetensors"
    weights = load_file(str(weights_file))
    del weights["wav2vec2.encoder.layers.2.feed_forward.output_dense.weight"]
    save_file(weights, str(weights_file), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"lacks weights the model needs: wav2vec2\.encoder\.layers\.2\.feed_forward"):
        gridprune.load_pruned(tmp_path / "out")
