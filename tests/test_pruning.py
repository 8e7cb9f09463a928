import copy

import numpy as np
import pytest
import torch

from factories import make_checkpoint, write_dataset
from gridprune.data import read_hrl
from gridprune.models import Evaluator, input_values, load_checkpoint
from gridprune.models.pruning import FfnPruner, PruningError, block_l1_norms, count_parameters, kept_rows, mask_ffn_rows

STYLES = {"post-norm": False, "stable-layer-norm": True}
PRUNED = {0: [1, 3], 2: [0, 5, 7]}  # granularity 8 over width 64: 8 rows per block


@pytest.mark.parametrize("style", STYLES)
def test_sliced_model_equals_the_masked_model(tmp_path, style):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", STYLES[style]))
    audio = read_hrl(write_dataset(tmp_path / "data", ["A", "B"])).audio()
    masked = copy.deepcopy(checkpoint.model)
    mask_ffn_rows(masked, PRUNED, granularity=8)
    sliced = FfnPruner(checkpoint.model, granularity=8).apply(PRUNED)
    assert sliced.wav2vec2.encoder.layers[0].feed_forward.intermediate_dense.weight.shape == (48, 32)
    assert sliced.wav2vec2.encoder.layers[2].feed_forward.output_dense.weight.shape == (32, 40)
    for samples in audio:
        values = input_values(checkpoint.processor, samples)
        with torch.inference_mode():
            torch.testing.assert_close(sliced(values).logits, masked(values).logits, rtol=0, atol=1e-5)


def test_restore_gives_back_the_original_model_and_parameters(tmp_path):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    values = input_values(checkpoint.processor, read_hrl(write_dataset(tmp_path / "d", ["A"])).audio()[0])
    with torch.inference_mode():
        before = checkpoint.model(values).logits
    full = count_parameters(checkpoint.model)
    pruner = FfnPruner(checkpoint.model, granularity=8)
    pruner.apply(PRUNED)
    # 5 blocks of 8 rows: 8 x 32 weights + 8 biases in, 32 x 8 weights out, per block
    assert count_parameters(checkpoint.model) == full - 5 * (8 * 32 + 8 + 32 * 8)
    pruner.apply({1: [0]})  # a second chromosome replaces the first, it does not stack on it
    assert count_parameters(checkpoint.model) == full - (8 * 32 + 8 + 32 * 8)
    pruner.restore()
    assert count_parameters(checkpoint.model) == full
    with torch.inference_mode():
        torch.testing.assert_close(checkpoint.model(values).logits, before, rtol=0, atol=0)


def test_evaluator_with_cached_front_end_equals_full_pipeline_on_pruned_models(tmp_path):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", True))
    dataset = read_hrl(write_dataset(tmp_path / "d", ["A", "B", "C"]))
    pruner = FfnPruner(checkpoint.model, granularity=8)
    cached = Evaluator(checkpoint, dataset, start_layer=1)
    pruned = {1: [2, 4], 2: [0, 1, 2, 3]}
    model = pruner.apply(pruned)
    with torch.inference_mode():
        full = [model(input_values(checkpoint.processor, a)).logits for a in dataset.audio()]
    from gridprune.models.forward import logits_from_layer
    for hidden, expected in zip(cached.cached_inputs, full):
        torch.testing.assert_close(logits_from_layer(model, hidden, 1), expected, rtol=0, atol=1e-5)


def test_kept_rows_and_l1_norms(tmp_path):
    assert kept_rows([1], granularity=3, rows_per_block=2).tolist() == [0, 1, 4, 5]
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    weight = checkpoint.model.wav2vec2.encoder.layers[1].feed_forward.intermediate_dense.weight.detach()
    norms = block_l1_norms(checkpoint.model, [1], granularity=8)[0]
    assert norms.shape == (8,)
    np.testing.assert_allclose(norms[3], weight[24:32].abs().sum().item(), rtol=1e-6)


def test_bad_pruning_requests_are_named(tmp_path):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    with pytest.raises(PruningError, match="granularity 7 does not divide the FFN width 64"):
        FfnPruner(checkpoint.model, granularity=7)
    pruner = FfnPruner(checkpoint.model, granularity=8)
    with pytest.raises(PruningError, match="layer 9 does not exist"):
        pruner.apply({9: [0]})
    with pytest.raises(PruningError, match=r"layer 0: blocks \[1, 1\]"):
        pruner.apply({0: [1, 1]})


def test_block_pruning_refuses_a_model_whose_layers_differ_in_width(tmp_path):
    from gridprune.models.export import save_pruned

    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", False))
    save_pruned(checkpoint, {1: [0, 2]}, 8, tmp_path / "out")
    exported = load_checkpoint(tmp_path / "out")
    with pytest.raises(PruningError, match=r"FFN widths \[48, 64\].*needs every layer 64 rows wide"):
        FfnPruner(exported.model, granularity=8)
    FfnPruner(checkpoint.model, granularity=8)  # the unpruned model, restored by the export, still prunes
