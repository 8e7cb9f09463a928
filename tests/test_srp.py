"""SRP as a job type: the parameter budget, physical removal equal to the gates at 0 (q/k and v cut apart, a layer
with no FFN neuron left, eager and SDPA attention, saved and reloaded), the training hooks (frozen groups, the
schedule, a killed training resumed), the checks of its settings, and a whole sweep exported and reloaded."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from factories import make_checkpoint

from gridprune import load_pruned
from gridprune.config import ConfigError, load_config
from gridprune.engine import check_report
from gridprune.methods import METHODS
from gridprune.methods.srp.budget import BudgetError, budget_of, plan
from gridprune.methods.srp.gates import gated, ones_like_groups
from gridprune.methods.srp.hooks import SrpHooks, gate_strength
from gridprune.methods.srp.scoring import SELECTION_FILE, selection_of
from gridprune.methods.srp.selection import removed_mask, select
from gridprune.models import load_checkpoint
from gridprune.models.evaluator import decode_dataset
from gridprune.models.heads import PrunedAttention
from gridprune.models.pruned import save_model
from gridprune.models.structured import remove_structured
from gridprune.training.examples import load_examples
from gridprune.training.loop import TrainSpec, train

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "wav_files_example"
SRP_DEMO = REPO / "configs" / "srp_demo.yaml"


@pytest.fixture(scope="module")
def demo():
    return load_checkpoint("demo")


def random_selection(model, ffn_kept: list[int], qk_kept: int, v_kept: int, seed: int = 0) -> dict:
    """Kept groups chosen at random: per layer `ffn_kept[layer]` neurons, per head `qk_kept` / `v_kept` dims."""
    generator = torch.Generator().manual_seed(seed)
    layers = model.wav2vec2.encoder.layers
    heads, width = layers[0].attention.num_heads, layers[0].attention.head_dim

    def some(size: int, count: int) -> list[int]:
        return sorted(torch.randperm(size, generator=generator)[:count].tolist())

    return {"ffn": [some(layer.feed_forward.intermediate_dense.out_features, kept)
                    for layer, kept in zip(layers, ffn_kept)],
            "qk": [[some(width, qk_kept) for _ in range(heads)] for _ in layers],
            "v": [[some(width, v_kept) for _ in range(heads)] for _ in layers]}


def gated_off(model, selection: dict, inputs: torch.Tensor) -> torch.Tensor:
    """The logits of `model` with the groups `selection` removes gated to 0."""
    gates = ones_like_groups(model)
    removed = removed_mask(selection, gates)
    for kind in ("ffn", "qk", "vo"):
        for gate, mask in zip(gates.of(kind), removed.of(kind)):
            gate[mask] = 0.0
    with torch.no_grad(), gated(model, gates):
        return model(input_values=inputs).logits


def logits(model, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_values=inputs).logits


# ------------------------------------------------------------------ the budget
def test_the_budget_counts_each_group_linearly_and_a_plan_meets_keep_to_one_neuron(demo):
    budget = budget_of(demo.model)
    assert (budget.ffn_cost, budget.qk_cost, budget.v_cost) == (513, 514, 513)
    assert budget.parameters - budget.prunable == 505_568
    for keep in (0.8, 0.6, 0.4):
        chosen = plan(budget, keep)
        assert abs(chosen.kept_parameters - keep * budget.parameters) <= budget.ffn_cost / 2 + 1
        assert chosen.kept_fraction == pytest.approx(keep, abs=1e-3)
    apart = plan(budget, 0.6, qk_keep=0.5, v_keep=0.25)
    assert (apart.qk_removed, apart.v_removed) == (32, 48)
    assert plan(budget, 1.0).ffn_removed == 0
    with pytest.raises(BudgetError, match="lowest fraction of parameters this model can keep"):
        plan(budget, 0.1)


def test_selection_removes_the_least_important_by_one_global_count(demo):
    budget = budget_of(demo.model)
    scores = ones_like_groups(demo.model)
    scores.ffn[2] = torch.zeros_like(scores.ffn[2])  # layer 2's neurons matter least: they go first
    chosen = plan(budget, 0.6)
    assert chosen.ffn_removed > len(scores.ffn[2])  # more than one layer holds: layer 2 empties, then the others
    selection = select(scores, chosen, budget.heads)
    assert selection["ffn"][2] == []
    removed = sum(len(s) for s in scores.ffn) - sum(len(kept) for kept in selection["ffn"])
    assert removed == chosen.ffn_removed
    assert {len(kept) for layer in selection["qk"] for kept in layer} == {budget.qk_head_dim - chosen.qk_removed}


# ------------------------------------------------------------------ physical removal
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_removing_the_groups_equals_gating_them_off_with_qk_and_v_cut_apart(demo, attention):
    model = copy.deepcopy(demo.model)
    model.config._attn_implementation = attention
    widths = [layer.feed_forward.intermediate_dense.out_features for layer in model.wav2vec2.encoder.layers]
    selection = random_selection(model, [width // 2 for width in widths[:-1]] + [0], qk_kept=40, v_kept=24)
    inputs = torch.randn(2, 16000, generator=torch.Generator().manual_seed(1))
    expected = gated_off(model, selection, inputs)
    pruned = remove_structured(copy.deepcopy(model), selection["ffn"], selection["qk"], selection["v"])
    layer = pruned.wav2vec2.encoder.layers[-1]
    assert layer.feed_forward.intermediate_dense.out_features == 0  # a layer with no FFN neuron left
    assert isinstance(layer.attention, PrunedAttention)
    assert (layer.attention.qk_head_dim, layer.attention.v_head_dim) == (40, 24)
    assert torch.allclose(logits(pruned, inputs), expected, atol=1e-4)
    assert not torch.allclose(logits(model, inputs), expected, atol=1e-2)  # the removal did change the model


@pytest.mark.parametrize("stable_layer_norm", [False, True])
def test_a_removed_model_saves_and_reloads_to_the_same_outputs(tmp_path, stable_layer_norm):
    checkpoint = load_checkpoint(make_checkpoint(tmp_path / "ckpt", stable_layer_norm))
    model = checkpoint.model
    selection = random_selection(model, [10, 0, 33], qk_kept=5, v_kept=3)
    inputs = torch.randn(1, 8000, generator=torch.Generator().manual_seed(2))
    pruned = remove_structured(copy.deepcopy(model), selection["ffn"], selection["qk"], selection["v"])
    shape = save_model(pruned, checkpoint.processor, tmp_path / "out")
    assert not shape["plain"] and shape["ffn_widths"] == [10, 0, 33]
    record = json.loads((tmp_path / "out" / "config.json").read_text())["gridprune"]["layers"]
    assert record[1] == {"intermediate_size": 0, "attention": {
        "heads": model.config.num_attention_heads, "qk_head_dim": 5, "v_head_dim": 3,
        "scaling": model.wav2vec2.encoder.layers[1].attention.scaling}}
    reloaded = load_pruned(tmp_path / "out")
    assert torch.allclose(logits(reloaded, inputs), logits(pruned, inputs), atol=1e-6)
    assert torch.allclose(logits(reloaded, inputs), gated_off(model, selection, inputs), atol=1e-4)


# ------------------------------------------------------------------ training
def test_the_gate_follows_the_schedule_from_the_step_alone():
    assert [gate_strength("sa", step, 4) for step in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert gate_strength("sg", 0, 10) == 1.0 and gate_strength("sg", 10, 10) == 0.0
    assert gate_strength("sg", 5, 10) == pytest.approx(1e-5 ** 0.5)
    assert gate_strength("sa", 0, 0) == 0.0  # no shrinking: removed from the first update


@pytest.fixture(scope="module")
def few_examples(demo):
    from gridprune.data import read_hrl

    return load_examples(read_hrl(EXAMPLES / "train.hrl").head(4), demo.processor)


def selection_file(folder: Path, model, keep: float = 0.6) -> Path:
    """A selection.json of `keep` by the L1 score, as a scoring trial publishes it."""
    from gridprune.methods.srp.gates import importance

    budget = budget_of(model)
    chosen = plan(budget, keep)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SELECTION_FILE
    path.write_text(json.dumps({repr(keep): {"plan": chosen.to_json(),
                                             **select(importance(model, "l1"), chosen, budget.heads)}}))
    return path


def srp_params(steps: int, shrink: int) -> dict:
    return {"keep": 0.6, "steps": steps, "shrink_steps": shrink, "shrink_schedule": "sa", "lr": 1e-3,
            "batch_size": 2, "seed": 0}


def test_frozen_groups_stay_unchanged_while_shrinking_and_end_zeroed(demo, few_examples, tmp_path):
    model = copy.deepcopy(demo.model)
    reads = {"selection": selection_file(tmp_path, model)}
    selection = selection_of(json.loads(reads["selection"].read_text()), 0.6)
    params = srp_params(4, 4)

    class Watch(SrpHooks):
        def after_step(self, model, step, params):
            layer = model.wav2vec2.encoder.layers[0]
            kept = selection["ffn"][0]
            gone = [j for j in range(layer.feed_forward.intermediate_dense.out_features) if j not in kept]
            now = layer.feed_forward.intermediate_dense.weight.detach()
            start = demo.model.wav2vec2.encoder.layers[0].feed_forward.intermediate_dense.weight
            assert torch.equal(now[gone], start[gone])  # frozen while the gates shrink
            assert not torch.equal(now[kept], start[kept])  # the rest trains

    train(model, few_examples, TrainSpec.from_params(params), Watch(), params, reads=reads)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())  # gates folded in
    inputs = torch.randn(1, 16000, generator=torch.Generator().manual_seed(3))
    pruned = remove_structured(copy.deepcopy(model), selection["ffn"], selection["qk"], selection["v"])
    assert torch.allclose(logits(pruned, inputs), logits(model, inputs), atol=1e-4)


def test_a_killed_srp_training_resumes_to_the_uninterrupted_weights(demo, few_examples, tmp_path):
    from gridprune.engine.artifacts import SavedProgress

    reads = {"selection": selection_file(tmp_path / "selection", demo.model)}
    params = srp_params(6, 4)

    class Killed(Exception):
        pass

    class KillAt(SrpHooks):
        def after_step(self, model, step, params):
            if step == 5:
                raise Killed

    progress = SavedProgress(tmp_path / "progress")
    with pytest.raises(Killed):
        train(copy.deepcopy(demo.model), few_examples, TrainSpec.from_params(params), KillAt(), params,
              progress=progress, save_every=2, reads=reads)
    resumed, reference = copy.deepcopy(demo.model), copy.deepcopy(demo.model)
    result = train(resumed, few_examples, TrainSpec.from_params(params), SrpHooks(), params, progress=progress,
                   save_every=2, reads=reads)
    train(reference, few_examples, TrainSpec.from_params(params), SrpHooks(), params, reads=reads)
    assert result.resumed_from == 4  # from the save at update 4, the gates set again for updates 5 and 6
    expected = reference.state_dict()
    assert all(torch.equal(value, expected[name]) for name, value in resumed.state_dict().items())


# ------------------------------------------------------------------ settings
@pytest.mark.parametrize("override, message", [
    ("srp.keep=1.5", r"srp\.keep: .*each keep must lie in \(0, 1\]"),
    ("srp.keep=0.05", r"srp\.keep: 0\.05 is below the lowest fraction of parameters this model can keep"),
    ("srp.shrink_steps=-1", r"srp\.shrink_steps: .*greater than or equal to 0"),
    ("srp.score=random", r"srp\.score: .*taylor_abs.*signed.*l1"),
    ("srp.schedule=cosine", r"srp\.schedule: .*sa.*sg"),
])
def test_bad_srp_settings_are_refused_naming_the_key(override, message):
    from gridprune.run_setup import read_setup

    with pytest.raises(ConfigError, match=message):
        setup = read_setup(SRP_DEMO, [override])
        METHODS["srp"].check(setup.config, setup.settings)


def test_the_demo_config_is_an_srp_sweep_of_two_keeps():
    settings = METHODS["srp"].Settings.model_validate(load_config(SRP_DEMO, [], METHODS).settings)
    assert settings.points() == [0.8, 0.6] and settings.steps > 0


# ------------------------------------------------------------------ a whole sweep
def test_an_srp_sweep_exports_physically_pruned_models_that_reload_with_their_recorded_wer(tmp_path):
    from gridprune.data import read_hrl
    from gridprune.runs import prepare_run, start_run

    config = tmp_path / "srp.yaml"
    config.write_text(SRP_DEMO.read_text().replace("local:\n  workers: 2\n", "backend: inprocess\n"))
    overrides = ["srp.keep=[0.9, 0.7]", "srp.shrink_steps=2", "srp.finetune_steps=1", "srp.score_batches=1",
                 "srp.batch_size=2", "srp.save_every=1", f"data={EXAMPLES / 'example.hrl'}", "heldout=null"]
    setup, info = prepare_run(config, overrides)
    run, report = start_run(setup, tmp_path / "run", info, export=True)
    check_report(report)
    assert METHODS["srp"].plot(run, tmp_path / "sweep.png").stat().st_size > 10_000
    labels = [m["label"] for m in report["models"]]
    assert labels == ["one-shot k=0.90", "srp k=0.90", "one-shot k=0.70", "srp k=0.70"]
    assert report["headline"] == "srp k=0.70"
    checkpoint = load_checkpoint("demo")
    search = read_hrl(EXAMPLES / "example.hrl")
    for entry, point in zip(report["models"], report["points"]):
        model = load_pruned(run.best_dir / entry["folder"])
        assert entry["params"] == sum(p.numel() for p in model.parameters()) == point["plan"]["kept_parameters"]
        assert entry["params"] / report["baseline"]["params"] == pytest.approx(point["keep"], abs=1e-3)
        assert decode_dataset(model, checkpoint.processor, search).result.wer == pytest.approx(entry["wer_search"])


def test_a_keep_the_model_cannot_meet_is_refused_before_anything_is_written(tmp_path):
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", "run", str(SRP_DEMO), "--run-dir", str(run_dir),
                           "--set", "srp.keep=[0.8, 0.1]"], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2 and not run_dir.exists()
    assert proc.stderr.strip().startswith("gridprune: error: --set srp.keep: 0.1 is below the lowest fraction of "
                                          "parameters this model can keep (0.1404: every FFN neuron and 63 query/key and 64 value "
                                          "dimensions of each head removed"), proc.stderr
