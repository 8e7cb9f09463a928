"""The per-layer mask GA as a job type: its generational search, the neuron unit against physical removal, whole
runs on the digits CNN (any torch model through the factory adapter) and on the demo model (kill and resume),
and the settings it refuses before anything is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gridprune.backends.inprocess import InProcessBackend
from gridprune.config import ConfigError
from gridprune.engine import check_report, run_method
from gridprune.methods import METHODS
from gridprune.methods.layer_ga import operators as ops
from gridprune.methods.layer_ga.search import DensitySearch, GenerationalSearch
from gridprune.runs import prepare_run, start_run
from gridprune.store import RunDir

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
EXAMPLES = REPO / "wav_files_example"


# ------------------------------------------------------------------ gridprune's search
def _error(scores: np.ndarray):
    """A made-up error: the share of the total score pruned."""
    return lambda mask: float(scores[~mask].sum() / scores.sum())


def _drive(search: GenerationalSearch, error, stop_after: int | None = None) -> dict | None:
    while not search.finished:
        masks = search.ask()
        search.tell([error(m) for m in masks])
        if stop_after is not None and search.round == stop_after:
            return search.state_dict()
    return None


def test_the_generational_search_finds_the_sparsest_mask_within_the_ceiling_and_resumes_exactly():
    scores = np.random.default_rng(0).random(400).astype(np.float32) ** 3
    error = _error(scores)
    settings = dict(size=8, generations=12, mutation_rate=0.05, objective="max_sparsity", ceiling=0.05,
                    target=None, stop_sparsity=1.0, pressure=3.0, seed=1)
    search = GenerationalSearch(scores, **settings)
    first = search.ask()
    assert len(first) == 8 and len({round(ops.sparsity(m), 2) for m in first}) == 8  # spread magnitude levels
    search.tell([error(m) for m in first])
    _drive(search, error)
    best = search.best()
    assert error(best) <= 0.05
    magnitude_best = max(ops.sparsity(m) for m in first if error(m) <= 0.05)
    assert ops.sparsity(best) > magnitude_best  # it climbs past the best seed level
    interrupted = GenerationalSearch(scores, **settings)
    state = _drive(interrupted, error, stop_after=5)
    resumed = GenerationalSearch(scores, **settings)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    _drive(resumed, error)
    assert np.array_equal(resumed.best(), best) and resumed.errors == search.errors


def test_at_a_target_sparsity_every_mask_has_its_density_and_the_ceiling_is_the_worst_kept():
    scores = np.random.default_rng(2).random(300).astype(np.float32)
    search = GenerationalSearch(scores, size=6, generations=4, mutation_rate=0.1, objective="target_sparsity",
                                ceiling=None, target=0.5, stop_sparsity=1.0, pressure=3.0, seed=0)
    error = _error(scores)
    seen = []
    while not search.finished:
        masks = search.ask()
        seen += masks
        search.tell([error(m) for m in masks])
        assert search.ceiling == max(search.errors)
    assert {int((~m).sum()) for m in seen} == {150}
    assert error(search.best()) <= error(ops.magnitude_mask(scores, 0.5)) + 1e-9  # the seed is kept if best


def test_nothing_within_the_ceiling_leaves_the_target_unpruned():
    scores = np.ones(50, dtype=np.float32)
    search = GenerationalSearch(scores, size=4, generations=1, mutation_rate=0.1, objective="max_sparsity",
                                ceiling=0.0, target=None, stop_sparsity=1.0, pressure=3.0, seed=0)
    _drive(search, lambda mask: 0.5)
    assert search.best() is None


def test_the_density_search_bisects_to_the_most_pruned_magnitude_mask_within_the_ceiling_and_resumes_exactly():
    scores = np.random.default_rng(3).random(5000).astype(np.float32) ** 2
    error = _error(scores)
    settings = dict(size=6, generations=20, ceiling=0.04, stop_sparsity=1.0)
    search, asked = DensitySearch(scores, **settings), []
    while not search.finished:
        masks = search.ask()
        asked += masks
        search.tell([error(m) for m in masks])
    for mask in asked:  # every mask is the magnitude mask at its own sparsity
        assert np.array_equal(mask, ops.magnitude_mask(scores, int((~mask).sum()) / len(scores)))
    most = max(count for count in range(len(scores)) if error(search.mask(count)) <= 0.04)  # the error grows with it
    assert most - 5 <= int((~search.best()).sum()) <= most  # to 0.1% of the genes
    assert search.error_of(search.best()) == error(search.best())
    assert search.round <= 5 and len(asked) <= 30  # a bisection, not a sweep of 5000 counts
    interrupted = DensitySearch(scores, **settings)
    state = _drive(interrupted, error, stop_after=2)
    resumed = DensitySearch(scores, **settings)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    _drive(resumed, error)
    assert np.array_equal(resumed.best(), search.best()) and resumed.tried == search.tried


def test_the_density_search_counts_a_rejected_mask_as_over_the_ceiling_and_stops_at_its_round_limit():
    scores = np.arange(1, 101, dtype=np.float32)
    search = DensitySearch(scores, size=3, generations=1, ceiling=0.1, stop_sparsity=1.0)
    _drive(search, lambda mask: None if (~mask).sum() > 30 else 0.0)
    assert search.round == 2 and 0 < int((~search.best()).sum()) <= 30
    nothing = DensitySearch(scores, size=3, generations=3, ceiling=0.1, stop_sparsity=1.0)
    _drive(nothing, lambda mask: None)
    assert nothing.best() is None


@pytest.mark.parametrize("given, mode, masks", [
    ({"unit": "neuron"}, "sequential", "magnitude"),
    ({"unit": "weight"}, "independent", "search"),
    ({"unit": "weight", "finetune_steps": 5, "train": "t.hrl"}, "sequential", "search"),
    ({"unit": "neuron", "finetune_steps": 5, "train": "t.hrl"}, "sequential", "search"),
    ({"unit": "weight", "operators": "original"}, "sequential", "search"),
    ({"unit": "neuron", "operators": "original"}, "sequential", "search"),
    ({"unit": "neuron", "objective": "target_sparsity", "target_sparsity": 0.5}, "sequential", "search"),
    ({"unit": "weight", "mode": "sequential", "masks": "magnitude"}, "sequential", "magnitude"),
])
def test_auto_mode_and_masks_follow_the_unit(given, mode, masks):
    from gridprune.methods.layer_ga.settings import LayerGaSettings

    settings = LayerGaSettings.model_validate(given)
    assert (settings.mode_used, settings.masks_used) == (mode, masks)


def test_a_run_keeps_the_mode_and_masks_it_started_with(tmp_path):
    from gridprune.methods.layer_ga.settings import LayerGaSettings
    from gridprune.methods.layer_ga.strategy import LayerGaStrategy

    run = RunDir.create(tmp_path / "run", {"seed": 0})
    settings = LayerGaSettings.model_validate({"unit": "weight"})
    started = LayerGaStrategy(run, settings, ["a.weight", "b.weight"], 0)
    assert (started.mode, started.masks) == ("independent", "search")
    assert [stage["stage"] for stage in started.plan] == ["baseline", "search", "repair", "final", "evaluate"]
    again = LayerGaStrategy(run, settings, started.targets, 0, started.state_dict())
    assert (again.mode, again.masks) == ("independent", "search")
    earlier = {k: v for k, v in started.state_dict().items() if k not in ("mode", "masks")}  # saved before auto
    assert LayerGaStrategy(run, settings, started.targets, 0, earlier).mode == "sequential"
    explicit = LayerGaSettings.model_validate({"unit": "weight", "mode": "independent"})
    assert LayerGaStrategy(run, explicit, started.targets, 0, earlier).mode == "independent"
    neuron = LayerGaSettings.model_validate({"unit": "neuron"})
    assert LayerGaStrategy(run, neuron, ["wav2vec2.encoder.layers.0"], 0).masks == "magnitude"


# ------------------------------------------------------------------ unit: neuron
def test_neuron_masks_compute_what_the_physically_smaller_model_computes():
    from gridprune.methods.layer_ga.evaluate import masked
    from gridprune.methods.layer_ga.export import neuron_keep_lists
    from gridprune.methods.layer_ga.targets import magnitude_scores, neuron_groups
    from gridprune.models import load_checkpoint
    from gridprune.models.structured import remove_structured

    model = load_checkpoint("demo").model
    target = "wav2vec2.encoder.layers.1"
    keep = np.random.default_rng(0).random(len(magnitude_scores(model, target, "neuron"))) < 0.6
    counts = neuron_groups(model.wav2vec2.encoder.layers[1])
    assert len(keep) == sum(counts.values())
    inputs = torch.randn(1, 16000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), masked(model, target, "neuron", keep):
        expected = model(inputs).logits
        smaller = remove_structured(__import__("copy").deepcopy(model), *neuron_keep_lists(model, {target: keep}))
    with torch.no_grad():
        got = smaller(inputs).logits
    assert sum(p.numel() for p in smaller.parameters()) < sum(p.numel() for p in model.parameters())
    assert torch.allclose(got, expected, atol=1e-4)


# ------------------------------------------------------------------ any torch model: the digits CNN
def _digits_setup(tmp_path: Path, *overrides: str):
    pytest.importorskip("sklearn")
    config = tmp_path / "digits.yaml"
    config.write_text((CONFIGS / "layer_ga_digits.yaml").read_text().replace("local:\n  workers: 2\n",
                                                                             "backend: inprocess\n"))
    return prepare_run(config, ["layer_ga.generations=2", "layer_ga.population=4", "layer_ga.finetune_steps=5",
                                "layer_ga.final_steps=10", *overrides])


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    setup, info = _digits_setup(root)
    return start_run(setup, root / "run", info, export=True)


def test_a_factory_model_is_pruned_layer_by_layer_and_its_export_reloads_with_its_recorded_score(digits_run):
    from gridprune.examples.digits import accuracy, build
    from gridprune.models.sparse_file import load_sparse

    run, report = digits_run
    check_report(report)
    assert [row["target"] for row in report["targets"]] == ["features.0.weight", "features.2.weight",
                                                          "classifier.1.weight", "classifier.3.weight"]
    assert 0 < report["sparsity"] < 1
    model = build()
    model.load_state_dict(torch.load(run.best_dir / "model.pt", weights_only=True))
    headline = report["models"][0]
    assert 1 - accuracy(model, str(REPO / "gridprune/examples/digits/heldout.txt")) == pytest.approx(
        headline["wer_heldout"])
    assert headline["nonzero_params"] == sum(int(torch.count_nonzero(p)) for p in model.parameters())
    assert headline["nonzero_params"] < report["baseline"]["nonzero_params"]
    sparse = load_sparse(run.best_dir / "sparse.pt")
    assert all(torch.equal(sparse[name], tensor) for name, tensor in model.state_dict().items())
    assert headline["sparse_bytes"] < headline["bytes"]
    baseline_error = report["baseline"]["wer_search"]
    for row in report["targets"]:  # each chosen mask met the ceiling on the model pruned so far
        assert row["error"] is None or row["error"] <= baseline_error + 0.01 + 1e-9


def _first_within(run, round_record: dict, ceiling: float) -> int:
    """The index of a repair round's first candidate within the ceiling."""
    values = [run.read_result(key)["value"] for key in round_record["keys"]]
    return next(i for i, value in enumerate(values) if value is not None and value <= ceiling)


def test_independent_mode_searches_every_layer_in_the_same_rounds_then_repairs(tmp_path):
    setup, info = _digits_setup(tmp_path, "layer_ga.mode=independent", "layer_ga.finetune_steps=0",
                                "layer_ga.final_steps=0", "layer_ga.max_wer_increase=0.0")
    run, report = start_run(setup, tmp_path / "run", info, export=True)
    rounds = [json.loads(path.read_text()) for path in sorted((run.root / "generations").glob("*.json"))]
    search_round = rounds[1]["trials"]
    targets = {t["params"]["target"] for t in search_round}
    assert len(targets) == 4 and len(search_round) == 16  # four targets' populations in one round
    repairs = [r for r in rounds if r.get("stage") == "repair"]
    assert repairs and report["repair_rounds"] == len(repairs)
    if len(repairs[0]["trials"]) == 1 and len(repairs) > 1:  # the masks as they stood were over the ceiling
        assert len(repairs) >= 3 and len(repairs[-1]["trials"]) == 4  # coarse rounds, then one finer round
        assert repairs[-1]["trials"][-1]["params"] == \
            repairs[-2]["trials"][_first_within(run, repairs[-2], report["baseline"]["wer_search"] + 1e-9)]["params"]
    assert report["models"][0]["wer_search"] <= report["baseline"]["wer_search"] + 1e-9  # repaired to the ceiling
    assert report["sparsity"] > 0


def test_magnitude_masks_choose_each_layers_sparsity_and_keep_its_largest_weights(tmp_path):
    from gridprune.examples.digits import build
    from gridprune.methods.layer_ga.targets import magnitude_scores

    setup, info = _digits_setup(tmp_path, "layer_ga.masks=magnitude", "layer_ga.mode=independent",
                                "layer_ga.finetune_steps=0", "layer_ga.final_steps=0", "layer_ga.generations=3")
    run, report = start_run(setup, tmp_path / "run", info, export=True)
    assert report["masks"] == "magnitude"
    assert report["models"][0]["wer_search"] <= report["baseline"]["wer_search"] + 0.01 + 1e-9
    assert report["sparsity"] > 0
    unpruned, model = build(), build()
    model.load_state_dict(torch.load(run.best_dir / "model.pt", weights_only=True))
    for row in report["targets"]:  # each layer's kept weights are its largest, at the sparsity chosen for it
        kept = dict(model.named_parameters())[row["target"]].detach().numpy().reshape(-1) != 0
        expected = ops.magnitude_mask(magnitude_scores(unpruned, row["target"], "weight"), row["sparsity"])
        assert np.array_equal(kept, expected.reshape(-1))


def test_the_original_operators_run_steady_state_two_children_a_round(tmp_path):
    setup, info = _digits_setup(tmp_path, "layer_ga.operators=original", "layer_ga.layers=['classifier.3.*']",
                                "layer_ga.population=3", "layer_ga.generations=2")
    run, report = start_run(setup, tmp_path / "run", info, export=True)
    rounds = [json.loads(path.read_text()) for path in sorted((run.root / "generations").glob("*.json"))]
    searched = [len(r["trials"]) for r in rounds if r["stage"] == "search"]
    assert searched == [3] + [2] * 6  # the population, then 2 generations of 3 steps of two children
    row = report["targets"][0]
    assert row["sparsity"] == 0 or row["error"] <= report["baseline"]["wer_search"] + 0.01 + 1e-9


# ------------------------------------------------------------------ the demo model, killed and resumed
def _demo_setup(tmp_path: Path):
    config = tmp_path / "demo.yaml"
    config.write_text((CONFIGS / "layer_ga_demo.yaml").read_text().replace("local:\n  workers: 2\n",
                                                                           "backend: inprocess\n"))
    return prepare_run(config, ["layer_ga.unit=weight", "layer_ga.layers=['*.layers.3.feed_forward.*']",
                                "layer_ga.population=3", "layer_ga.generations=1", "layer_ga.finetune_steps=1",
                                "layer_ga.final_steps=1", "layer_ga.batch_size=2", f"data={EXAMPLES / 'example.hrl'}",
                                "heldout=null"])


def _run_to_end(setup, run: RunDir, max_rounds: int | None = None) -> None:
    backend = InProcessBackend(run, setup.kinds(), max_retries=0)
    run_method(setup.method, run, setup.config, setup.settings, backend, max_rounds=max_rounds)


def test_a_killed_demo_search_resumes_to_what_the_uninterrupted_one_chose(tmp_path):
    from gridprune.engine import read_checkpoint

    setup, info = _demo_setup(tmp_path)
    whole = RunDir.create(tmp_path / "whole", info)
    whole.make_folders()
    _run_to_end(setup, whole)
    stopped = RunDir.create(tmp_path / "stopped", info)
    stopped.make_folders()
    _run_to_end(setup, stopped, max_rounds=2)  # the baseline and the first search's first generation
    assert not read_checkpoint(stopped)["finished"] and read_checkpoint(stopped)["strategy"]["searches"]
    _run_to_end(setup, stopped)

    def keys(run):
        return [json.loads(p.read_text())["keys"] for p in sorted((run.root / "generations").glob("*.json"))]

    assert keys(stopped) == keys(whole)  # every round asked the very trials of the uninterrupted run
    final, again = read_checkpoint(whole)["strategy"], read_checkpoint(stopped)["strategy"]
    assert final["chosen"] == again["chosen"] and final["final"]["metrics"]["wer"] == again["final"]["metrics"]["wer"]
    assert len(final["chosen"]) == 2 and final["stage"] == 7  # baseline, 2 searches, fine-tune + scores, final


# ------------------------------------------------------------------ refused before anything is written
@pytest.mark.parametrize("override, message", [
    ("layer_ga.w=1.5", r"layer_ga\.w: .*less than or equal to 1"),
    ("layer_ga.floor=-0.1", r"layer_ga\.floor: .*greater than or equal to 0"),
    ("layer_ga.layers=['*.nothing.*']", r"layer_ga\.layers: '\*\.nothing\.\*' matches no neuron target"),
    ("layer_ga.objective=target_sparsity", r"layer_ga\.target_sparsity: objective target_sparsity needs it"),
    ("layer_ga.mode=independent", r"layer_ga\.finetune_steps: is sequential mode's"),
    ("layer_ga.masks=magnitude layer_ga.operators=original", r"layer_ga\.masks: .*use operators: gridprune"),
    ("layer_ga.masks=magnitude layer_ga.objective=target_sparsity layer_ga.target_sparsity=0.5",
     r"layer_ga\.masks: .*nothing to search"),
])
def test_bad_layer_ga_settings_are_refused_naming_the_key(override, message):
    from gridprune.run_setup import read_setup

    with pytest.raises(ConfigError, match=message):
        setup = read_setup(CONFIGS / "layer_ga_demo.yaml", override.split())
        try:
            METHODS["layer_ga"].check(setup.config, setup.settings)
        except Exception as exc:
            raise exc.located(setup.origins) from None


@pytest.mark.parametrize("body, key, message", [
    ("", "model.factory", "cannot import"),
    ("def build():\n    return 3\n\ndef score(model, path):\n    return 0.5\n", "model.factory",
     "returned int, not a torch.nn.Module"),
    ("import torch\ndef build():\n    return torch.nn.Linear(2, 2)\n\ndef score(model, path):\n    return 1.5\n",
     "model.evaluate", r"returned 1.5 on .*a score lies in \[0, 1\]"),
    ("import torch\ndef build():\n    return torch.nn.Linear(2, 2)\n\ndef score(model, path):\n    return int('x')\n",
     "model.evaluate", r"user_model:score raised ValueError on .*data.txt: invalid literal"),
])
def test_a_factory_that_cannot_serve_is_refused_before_anything_is_written(tmp_path, monkeypatch, body, key,
                                                                          message):
    if body:
        (tmp_path / "user_model.py").write_text(body)
        monkeypatch.syspath_prepend(str(tmp_path))
        sys.modules.pop("user_model", None)
    (tmp_path / "data.txt").write_text("1\n")
    config = tmp_path / "c.yaml"
    module = "user_model" if body else "no_such_module_here"
    config.write_text(f"method: layer_ga\nmodel:\n  factory: {module}:build\n  evaluate: {module}:score\n"
                      f"data: {tmp_path / 'data.txt'}\nbackend: inprocess\n")
    with pytest.raises(ConfigError, match=f"{key}: .*{message}"):
        prepare_run(config)
    assert not (tmp_path / "runs").exists()


def test_a_factory_section_missing_a_key_is_named_by_its_dotted_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"method: layer_ga\nmodel:\n  factory: a:b\n  evalute: c:d\ndata: {tmp_path / 'x.txt'}\n")
    with pytest.raises(ConfigError) as caught:
        prepare_run(config)
    assert str(caught.value).splitlines() == [f"{config}: model.evaluate: Field required",
                                              f"{config}: model.evalute: unknown key; did you mean model.evaluate?"]
