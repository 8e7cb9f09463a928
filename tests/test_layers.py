import numpy as np
import pytest
import torch
from transformers import Wav2Vec2ForCTC

from factories import make_checkpoint, write_dataset
from gridprune.data import read_hrl
from gridprune.models import DEMO_MODEL, input_values, load_checkpoint, transcribe
from gridprune.models.forward import hidden_before_layer
from gridprune.models.layers import (
    DroppedLayerEvaluator,
    LayerDropper,
    boundary_bytes,
    check_dropped,
    dataset_pooled_states,
    dropped_layers,
    layer_count,
    pooled_hidden_states,
    save_dropped,
    spaced_starts,
)
from gridprune.models.pruning import PruningError, count_parameters

STYLES = {"post-norm": False, "stable-layer-norm": True}
DROPS = [(0,), (1, 2), (0, 3), (3,), (1, 2, 3)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 4-layer random-weight checkpoint of each style and a 3-utterance dataset."""
    root = tmp_path_factory.mktemp("layers")
    checkpoints = {style: load_checkpoint(make_checkpoint(root / style, flag, layers=4, seed=1))
                   for style, flag in STYLES.items()}
    dataset = read_hrl(write_dataset(root / "data", ["ONE", "TWO", "THREE"]))
    return checkpoints, dataset, dataset.audio()


def manual_logits(model: Wav2Vec2ForCTC, values: torch.Tensor, dropped) -> torch.Tensor:
    """The forward pass written out, running only the layers not in `dropped`."""
    encoder = model.wav2vec2.encoder
    with torch.inference_mode():
        hidden = hidden_before_layer(model, values, 0)
        for index, layer in enumerate(encoder.layers):
            if index not in dropped:
                out = layer(hidden)
                hidden = out[0] if isinstance(out, tuple) else out
        if model.config.do_stable_layer_norm:
            hidden = encoder.layer_norm(hidden)
        return model.lm_head(hidden)


def full_logits(model: Wav2Vec2ForCTC, values: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(values).logits


@pytest.mark.parametrize("style", STYLES)
def test_dropped_model_equals_a_forward_that_skips_those_layers(tiny, style):
    checkpoints, dataset, audio = tiny
    checkpoint = checkpoints[style]
    model = checkpoint.model
    values = input_values(checkpoint.processor, audio[1])
    original = full_logits(model, values)
    first_layer = model.wav2vec2.encoder.layers[0]
    for dropped in DROPS:
        with dropped_layers(model, dropped) as smaller:
            assert layer_count(smaller) == smaller.config.num_hidden_layers == 4 - len(dropped)
            logits = full_logits(smaller, values)
        torch.testing.assert_close(logits, manual_logits(model, values, dropped), rtol=0, atol=1e-5)
        assert not torch.allclose(logits, original)  # a random layer removed changes the output
    # restored: every layer, the same modules, the same output
    assert layer_count(model) == model.config.num_hidden_layers == 4
    assert model.wav2vec2.encoder.layers[0] is first_layer
    torch.testing.assert_close(full_logits(model, values), original, rtol=0, atol=0)


def test_dropping_shares_the_weights_and_never_copies_them(tiny):
    model = tiny[0]["post-norm"].model
    dropper = LayerDropper(model)
    before = {id(p) for p in model.parameters()}
    smaller = dropper.apply([1, 2])
    assert {id(p) for p in smaller.parameters()} < before
    assert smaller.wav2vec2.encoder.layers[1] is dropper.original_layers[3]
    dropper.restore()
    assert {id(p) for p in model.parameters()} == before


@pytest.mark.parametrize("style", STYLES)
def test_saved_model_reloads_in_plain_transformers_with_fewer_layers(tiny, tmp_path, style):
    checkpoints, dataset, audio = tiny
    checkpoint = checkpoints[style]
    values = input_values(checkpoint.processor, audio[2])
    with dropped_layers(checkpoint.model, (0, 2)) as smaller:
        expected = full_logits(smaller, values)
        params = count_parameters(smaller)
    out = save_dropped(checkpoint, (0, 2), tmp_path / "out")
    reloaded = Wav2Vec2ForCTC.from_pretrained(out, local_files_only=True).eval()
    assert reloaded.config.num_hidden_layers == 2 and len(reloaded.wav2vec2.encoder.layers) == 2
    assert reloaded.config.do_stable_layer_norm is STYLES[style]
    assert count_parameters(reloaded) == params < count_parameters(checkpoint.model)
    torch.testing.assert_close(full_logits(reloaded, values), expected, rtol=0, atol=1e-6)
    # the kept layers are the original layers 1 and 3, and the final layer norm is kept
    original = checkpoint.model.wav2vec2.encoder
    torch.testing.assert_close(reloaded.wav2vec2.encoder.layers[1].feed_forward.output_dense.weight,
                               original.layers[3].feed_forward.output_dense.weight, rtol=0, atol=0)
    torch.testing.assert_close(reloaded.wav2vec2.encoder.layer_norm.weight, original.layer_norm.weight, rtol=0, atol=0)
    assert checkpoint.model.config.num_hidden_layers == 4  # the loaded model is untouched
    assert load_checkpoint(out).processor.tokenizer.get_vocab() == checkpoint.processor.tokenizer.get_vocab()


def test_the_demo_model_saved_without_a_layer_reloads_and_decodes_the_same(tmp_path):
    checkpoint = load_checkpoint(DEMO_MODEL)
    dataset = read_hrl(DEMO_MODEL.parent.parent.parent / "wav_files_example" / "dev.hrl")
    audio = dataset.audio()[:3]
    with dropped_layers(checkpoint.model, (2,)) as smaller:
        expected = [full_logits(smaller, input_values(checkpoint.processor, a)) for a in audio]
    out = save_dropped(checkpoint, (2,), tmp_path / "demo-3")
    reloaded = Wav2Vec2ForCTC.from_pretrained(out, local_files_only=True).eval()
    assert reloaded.config.num_hidden_layers == 3 and reloaded.config.do_stable_layer_norm
    for a, logits in zip(audio, expected):
        torch.testing.assert_close(full_logits(reloaded, input_values(checkpoint.processor, a)), logits,
                                   rtol=0, atol=1e-5)


@pytest.mark.parametrize("style", STYLES)
def test_scoring_from_cached_states_equals_the_full_path(tiny, style):
    checkpoints, dataset, audio = tiny
    checkpoint = checkpoints[style]
    every = DroppedLayerEvaluator(checkpoint, dataset)
    front_only = DroppedLayerEvaluator(checkpoint, dataset, starts=[0])
    assert every.starts == (0, 1, 2, 3) and every.cache_seconds > 0
    for dropped in [*DROPS, ()]:
        assert every.start_for(dropped) == (min(dropped) if dropped else 3)
        assert front_only.start_for(dropped) == 0
        with dropped_layers(checkpoint.model, dropped) as smaller:
            for index, samples in enumerate(audio):
                expected = full_logits(smaller, input_values(checkpoint.processor, samples))
                torch.testing.assert_close(every.logits(dropped, index), expected, rtol=0, atol=1e-5)
                torch.testing.assert_close(front_only.logits(dropped, index), expected, rtol=0, atol=1e-5)
            plain = [transcribe(smaller, checkpoint.processor, a) for a in audio]
        evaluation = every.evaluate(dropped)
        assert list(evaluation.hypotheses) == plain and evaluation.result.words == 3
    assert layer_count(checkpoint.model) == 4
    with pytest.raises(PruningError, match=r"no cached hidden states at or before layer 1 \(cached: \[2, 3\]\)"):
        DroppedLayerEvaluator(checkpoint, dataset, starts=[2, 3]).evaluate((1, 3))


def test_a_cache_budget_keeps_evenly_spaced_starts_and_the_same_hypotheses(tiny):
    checkpoints, dataset, audio = tiny
    checkpoint = checkpoints["post-norm"]
    per_boundary = boundary_bytes(checkpoint.model, audio)
    frames = [hidden_before_layer(checkpoint.model, input_values(checkpoint.processor, a), 0).shape[1] for a in audio]
    assert per_boundary == sum(frames) * checkpoint.model.config.hidden_size * 4
    assert spaced_starts(24, 100, None) == list(range(24)) == spaced_starts(24, 100, 2400)
    assert spaced_starts(24, 100, 1250) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]
    assert spaced_starts(24, 100, 50) == [0]
    every = DroppedLayerEvaluator(checkpoint, dataset)
    halved = DroppedLayerEvaluator(checkpoint, dataset, cache_bytes=2 * per_boundary + per_boundary // 2)
    assert halved.starts == (0, 2)
    assert sum(t.numel() * 4 for cached in halved.cache for t in cached.values()) == 2 * per_boundary
    for dropped in DROPS:
        assert halved.start_for(dropped) == (2 if min(dropped) >= 2 else 0)
        assert halved.evaluate(dropped).hypotheses == every.evaluate(dropped).hypotheses


@pytest.mark.parametrize("style", STYLES)
def test_pooled_states_are_the_time_means_at_every_boundary_in_eval_mode(tiny, style):
    checkpoints, dataset, audio = tiny
    checkpoint = checkpoints[style]
    model = checkpoint.model
    inputs = [input_values(checkpoint.processor, a) for a in audio]
    model.train()  # dropout on: the states must still be the eval-mode ones
    try:
        states = pooled_hidden_states(model, inputs)
        assert model.training
    finally:
        model.eval()
    assert states.shape == (5, 3, 32) and states.dtype == np.float64
    for u, values in enumerate(inputs):
        for boundary in range(5):
            expected = hidden_before_layer(model, values, boundary).mean(dim=1)[0].double().numpy()
            np.testing.assert_allclose(states[boundary, u], expected, rtol=0, atol=1e-6)
    normed = pooled_hidden_states(model, inputs, after_final_norm=True)
    np.testing.assert_array_equal(normed[:4], states[:4])
    if STYLES[style]:
        with torch.inference_mode():
            last = model.wav2vec2.encoder.layer_norm(hidden_before_layer(model, inputs[0], 4)).mean(dim=1)[0].double()
        np.testing.assert_allclose(normed[4, 0], last.numpy(), rtol=0, atol=1e-6)
        assert not np.allclose(normed[4], states[4])
    else:
        np.testing.assert_array_equal(normed, states)  # post-norm: no final norm to apply
    from_dataset, seconds = dataset_pooled_states(checkpoint, dataset)
    np.testing.assert_allclose(from_dataset, states, rtol=0, atol=1e-12)
    assert seconds > 0


def test_bad_layer_sets_are_named():
    assert check_dropped(4, [3, 1]) == (1, 3)
    with pytest.raises(PruningError, match="cannot drop 4 of 4 encoder layers: at least one must remain"):
        check_dropped(4, [0, 1, 2, 3])
    with pytest.raises(PruningError, match=r"must be in \[0, 4\): the model has 4 encoder layers"):
        check_dropped(4, [4])
    with pytest.raises(PruningError, match="must be distinct"):
        check_dropped(4, [1, 1])
    with pytest.raises(PruningError, match="integer indexes"):
        check_dropped(4, [1.0])
