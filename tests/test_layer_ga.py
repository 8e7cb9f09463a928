"""The per-layer mask GA's parts: masks packed one bit per gene round trip bit-exactly, trial inputs are stored by
their content, and the genetic operators (the original's rules; gridprune's swap mutation and magnitude seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridprune.methods.layer_ga import operators as ops
from gridprune.methods.layer_ga.masks import pack_mask, unpack_mask
from gridprune.store import RunDir
from gridprune.store.errors import StoreError
from gridprune.store.inputs import input_path, put_input, read_input

EXAMPLES = Path(__file__).resolve().parents[1] / "wav_files_example"


@pytest.mark.parametrize("shape", [(1,), (7,), (8,), (13, 5), (3, 1, 3, 3), (512, 512, 3, 3)])
def test_a_packed_mask_round_trips_bit_exactly(shape):
    mask = np.random.default_rng(0).random(shape) < 0.3
    data = pack_mask(mask)
    assert len(data) < mask.size // 8 + 64  # one bit per gene, plus a small header
    back = unpack_mask(data)
    assert back.shape == mask.shape and back.dtype == np.bool_ and np.array_equal(back, mask)


def test_what_is_not_a_packed_mask_is_refused():
    with pytest.raises(ValueError, match="a mask is boolean"):
        pack_mask(np.zeros(4))
    with pytest.raises(ValueError, match="not a packed mask: 1 bytes of bits for 20 genes"):
        unpack_mask(pack_mask(np.ones(20, dtype=bool))[:-2])


def test_inputs_are_stored_once_by_content_and_checked_when_read(tmp_path):
    run = RunDir.create(tmp_path / "run", {"method": "test"})
    data = pack_mask(np.arange(100) % 3 == 0)
    digest = put_input(run, data)
    assert put_input(run, data) == digest  # the same bytes, the same name, stored once
    assert read_input(run, digest) == data
    assert put_input(run, data + b"x") != digest
    path = input_path(run, digest)
    path.write_bytes(data[:-1] + b"\xff")
    with pytest.raises(StoreError, match="corrupt input"):
        read_input(run, digest)
    with pytest.raises(StoreError, match="missing input"):
        read_input(run, "0" * 64)
    with pytest.raises(StoreError, match="not an input digest"):
        read_input(run, "../run.json")


# ------------------------------------------------------------------ operators

def test_the_original_operators_follow_its_rules():
    rng = np.random.default_rng(0)
    population = ops.original_population(10_000, 3, rng)
    assert all(abs(ops.sparsity(m) - 0.1) < 0.02 for m in population)  # genes start pruned with p 0.1
    draws = [ops.uniform_parents(4, rng) for _ in range(4000)]
    counts = np.bincount([i for pair in draws for i in pair], minlength=4)
    assert counts.min() > 1800 and any(a == b for a, b in draws)  # uniform, the same parent possibly twice
    first, second = np.zeros(20, dtype=bool), np.ones(20, dtype=bool)
    child, other = ops.single_point_crossover(first, second, rng)
    cut = int(np.argmax(child))
    assert 1 <= cut < 20 and not child[:cut].any() and child[cut:].all()  # one cut: a head of one, a tail of the other
    assert np.array_equal(other, ~child)
    parent = rng.random(5000) < 0.5
    mutated = ops.prune_only_mutation(parent, 0.2, rng)
    assert not (mutated & ~parent).any() and (parent & ~mutated).sum() > 300  # prunes, never restores
    kept, fitness = ops.drop_worst([first, second, parent, mutated], [0.5, 0.1, 0.3, 0.1])
    assert [m is x for m, x in zip(kept, [first, parent])] == [True, True] and fitness == [0.5, 0.3]
    assert ops.original_fitness(parent, 0.59, 0.8, 0.6) == 0.0  # under the floor
    assert ops.original_fitness(parent, 0.9, 0.8, 0.6) == pytest.approx(0.8 * ops.sparsity(parent) + 0.2 * 0.9)


def test_gridprunes_operators_swap_near_the_magnitude_threshold_and_step_towards_sparsity():
    rng = np.random.default_rng(1)
    scores = rng.random(1000)
    seed = ops.magnitude_mask(scores, 0.7)
    assert ops.sparsity(seed) == pytest.approx(0.7)
    child = ops.boundary_swap(seed, scores, 25, rng)
    restored, pruned = np.flatnonzero(child & ~seed), np.flatnonzero(seed & ~child)
    assert len(restored) == len(pruned) == 25 and child.sum() == seed.sum()
    order = np.argsort(scores)  # the 100 pruned just under the threshold, the 100 kept just over it
    assert set(restored) <= set(order[600:700]) and set(pruned) <= set(order[700:800])
    stepped = ops.prune_lowest(seed, scores, 10)
    assert (~stepped).sum() == 710 and set(np.flatnonzero(seed & ~stepped)) == set(order[700:710])
    assert np.array_equal(ops.at_density(stepped, scores, 700), seed)  # the highest-scored pruned come back
    assert np.array_equal(ops.at_density(seed, scores, 710), stepped)
    levels = ops.level_population(scores, 5)
    assert [round(ops.sparsity(m), 3) for m in levels] == [0.05, 0.275, 0.5, 0.725, 0.95]


def test_the_magnitude_mask_keeps_the_largest_weights():
    weights = np.array([0.5, -3.0, 0.1, 2.0, -0.2])
    assert ops.magnitude_mask(weights, 0.4).tolist() == [True, True, False, True, False]


# ------------------------------------------------------------------ the mask evaluation kind
def test_a_mask_evaluation_decodes_the_masked_model_and_rejects_above_a_ceiling(tmp_path):
    import torch

    from gridprune.adapters import Wav2vec2Adapter
    from gridprune.engine import Trial, execute, make_task, trial_key
    from gridprune.methods.layer_ga.evaluate import MaskEvaluateFactory
    from gridprune.models.evaluator import decode_dataset
    from gridprune.sections import DataSource

    handler = MaskEvaluateFactory(Wav2vec2Adapter("demo"), DataSource(path=str(EXAMPLES / "dev.hrl")))(1)
    run = RunDir.create(tmp_path / "run", {"method": "test"})
    name = "wav2vec2.encoder.layers.2.feed_forward.intermediate_dense.weight"
    model = handler.models.model
    weight = model.get_parameter(name)
    before = weight.detach().clone()
    keep = ops.magnitude_mask(before.numpy(), 0.9).reshape(-1)
    digest = put_input(run, pack_mask(keep))

    def evaluated(ceiling):
        trial = Trial("evaluate_mask", {"base": {"weights": None, "masks": {}}, "target": name, "mask": digest,
                                        "unit": "weight", "wer_ceiling": ceiling})
        return execute(handler, make_task(trial, trial_key(trial, {"test": 1})), run)

    full = evaluated(None)
    assert torch.equal(weight, before)  # the worker's model is left as it was
    with torch.no_grad():
        weight.mul_(torch.from_numpy(keep).reshape(weight.shape))
    try:
        expected = decode_dataset(model, handler.models.checkpoint.processor, handler.models.dataset).result.wer
    finally:
        with torch.no_grad():
            weight.copy_(before)
    assert full.value == pytest.approx(expected) and full.metrics["sparsity"] == ops.sparsity(keep)
    rejected = evaluated(full.value / 2)
    assert rejected.value is None and rejected.metrics["rejected"]
    assert rejected.metrics["utterances"] < len(handler.models.dataset.utterances)
    assert evaluated(full.value).value == pytest.approx(full.value)  # at the ceiling: accepted


# ------------------------------------------------------------------ the original's steady-state loop
def _run(ga, fitness, stop_after=None):
    """Drive `ga` with `fitness(mask)`; stop (returning the state) after `stop_after` tells."""
    tells = 0
    while not ga.finished:
        masks = ga.ask()
        ga.tell(masks, [fitness(m) for m in masks])
        tells += 1
        if tells == stop_after:
            return ga.state_dict()
    return None


def test_the_steady_state_ga_keeps_its_size_drops_the_worst_and_only_ratchets_sparsity_up():
    from gridprune.methods.layer_ga.steady_state import SteadyState

    def fitness(mask):  # the original's rule on a made-up score that falls as the sparsity rises
        return ops.original_fitness(mask, 1.0 - 0.5 * ops.sparsity(mask), 0.8, 0.6)

    ga = SteadyState(genes=200, size=10, steps=40, mutation_rate=0.05, seed=0)
    first = ga.ask()
    assert len(first) == 10 and all(abs(ops.sparsity(m) - 0.1) < 0.1 for m in first)
    ga.tell(first, [fitness(m) for m in first])
    worst_before = min(ga.fitnesses)
    children = ga.ask()
    assert len(children) == 2
    ga.tell(children, [fitness(m) for m in children])
    assert len(ga.population) == 10 and min(ga.fitnesses) >= worst_before  # the two worst of 12 went
    _run(ga, fitness)
    assert ga.done_steps == 40
    assert ops.sparsity(ga.best()[0]) > 0.3  # prune-only mutation: sparsity climbs towards the floor


def test_a_saved_steady_state_ga_resumes_to_the_same_result():
    from gridprune.methods.layer_ga.steady_state import SteadyState

    def fitness(mask):
        return ops.original_fitness(mask, 1.0 - ops.sparsity(mask) ** 2, 0.8, 0.6)

    reference = SteadyState(genes=64, size=6, steps=15, mutation_rate=0.1, seed=3)
    _run(reference, fitness)
    interrupted = SteadyState(genes=64, size=6, steps=15, mutation_rate=0.1, seed=3)
    state = _run(interrupted, fitness, stop_after=7)
    resumed = SteadyState(genes=64, size=6, steps=15, mutation_rate=0.1, seed=3)
    resumed.load_state_dict(state)
    _run(resumed, fitness)
    assert np.array_equal(resumed.best()[0], reference.best()[0]) and resumed.fitnesses == reference.fitnesses


def test_the_steady_state_ga_stops_at_its_sparsity_threshold():
    from gridprune.methods.layer_ga.steady_state import SteadyState

    ga = SteadyState(genes=50, size=4, steps=1000, mutation_rate=0.3, seed=1, stop_sparsity=0.6)
    _run(ga, lambda mask: ops.sparsity(mask))
    assert ops.sparsity(ga.best()[0]) >= 0.6 and ga.done_steps < 1000


def test_a_mask_before_the_encoder_layers_is_decoded_through_the_whole_model(tmp_path):
    import torch

    from gridprune.adapters import Wav2vec2Adapter
    from gridprune.engine import Trial, execute, make_task, trial_key
    from gridprune.methods.layer_ga.evaluate import MaskEvaluateFactory, first_changed_layer
    from gridprune.models.evaluator import decode_dataset
    from gridprune.sections import DataSource

    handler = MaskEvaluateFactory(Wav2vec2Adapter("demo"), DataSource(path=str(EXAMPLES / "dev.hrl")))(1)
    model = handler.models.model
    assert first_changed_layer(model, "wav2vec2.encoder.layers.3.attention.q_proj.weight") == 3
    assert first_changed_layer(model, "lm_head.weight") == len(model.wav2vec2.encoder.layers)
    name = "wav2vec2.feature_projection.projection.weight"
    assert first_changed_layer(model, name) is None
    run = RunDir.create(tmp_path / "run", {"method": "test"})
    weight = model.get_parameter(name)
    keep = ops.magnitude_mask(weight.detach().numpy(), 0.95).reshape(-1)
    trial = Trial("evaluate_mask", {"base": {"weights": None, "masks": {}}, "target": name,
                                    "mask": put_input(run, pack_mask(keep)), "unit": "weight", "wer_ceiling": None})
    got = execute(handler, make_task(trial, trial_key(trial, {"test": 1})), run)
    masked_model = __import__("copy").deepcopy(model)
    with torch.no_grad():
        masked_model.get_parameter(name).mul_(torch.from_numpy(keep).reshape(weight.shape))
    expected = decode_dataset(masked_model, handler.models.checkpoint.processor, handler.models.dataset)
    assert got.value == pytest.approx(expected.result.wer) and got.value != decode_dataset(
        model, handler.models.checkpoint.processor, handler.models.dataset).result.wer
