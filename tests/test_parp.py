"""PARP on the demo model: the global mask, regrowth, the exact final sparsity, the sweep on the
engine, its export (reload in plain transformers, recorded WERs, sparse size), plot and settings errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from transformers import Wav2Vec2ForCTC

from gridprune.backends.inprocess import InProcessBackend
from gridprune.config import RunConfig, describe_validation_error
from gridprune.data import DatasetError, read_hrl
from gridprune.engine import run_method
from gridprune.methods.parp import Parp
from gridprune.methods.parp.hooks import ParpHooks, reprune_steps, sparsity_at
from gridprune.methods.parp.pruning import (
    global_prune,
    measured_sparsity,
    prunable_parameters,
)
from gridprune.methods.parp.settings import ParpSettings
from gridprune.methods.parp.strategy import training_trials
from gridprune.models import load_checkpoint
from gridprune.models.evaluator import decode_dataset
from gridprune.models.sparse_file import load_sparse
from gridprune.store import RunDir
from gridprune.training.examples import load_examples
from gridprune.training.loop import TrainSpec, train

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "wav_files_example"


@pytest.fixture(scope="module")
def demo():
    return load_checkpoint("demo")


def subset(folder: Path, source: str, count: int) -> Path:
    """The first `count` utterances of a shipped set, as a new .hrl file (audio from wav_files_example)."""
    lines = (EXAMPLES / source).read_text().splitlines()
    path = folder / f"{Path(source).stem}_{count}.hrl"
    path.write_text("\n".join(lines[: 3 + count]) + "\n")
    return path


def params(**changes) -> dict:
    return {"sparsity": 0.6, "steps": 4, "reprune_every": 100, "start": None, "prune_biases": True,
            "lr": 1e-3, "batch_size": 2, "seed": 0, **changes}


def test_one_global_threshold_prunes_exactly_the_target_of_the_listed_weights_only(demo):
    model = copy.deepcopy(demo.model)
    before = {name: p.clone() for name, p in model.state_dict().items()}
    stats = global_prune(model, 0.5)
    listed = dict(prunable_parameters(model))
    assert len(listed) == 4 * 6 * 2  # 4 layers x (q, k, v, out, intermediate, output) x (weight, bias)
    pruned = torch.cat([(before[n].abs()[p == 0]) for n, p in listed.items()])
    kept = torch.cat([p.abs()[p != 0] for p in listed.values()])
    assert pruned.numel() == stats["pruned"] == round(0.5 * stats["prunable"])
    assert pruned.max() <= stats["threshold"] <= kept.min()  # one threshold over all of them
    shares = [float((p == 0).float().mean()) for n, p in listed.items() if n.endswith("weight")]
    assert max(shares) - min(shares) > 0.1  # global, not the same share in every matrix
    for name, value in model.state_dict().items():
        if name not in listed:
            assert torch.equal(value, before[name]), name  # nothing else is touched
    assert measured_sparsity(model)["sparsity_measured"] == pytest.approx(0.5, abs=1e-6)


def test_pruned_weights_regrow_and_the_final_reprune_is_exactly_at_target(demo, tmp_path):
    examples = load_examples(read_hrl(subset(tmp_path, "train.hrl", 4), EXAMPLES), demo.processor)
    model = copy.deepcopy(demo.model)
    hooks, settings = ParpHooks(), params(steps=1, sparsity=0.6)
    hooks.start(model, settings)
    zeros = {name: p == 0 for name, p in prunable_parameters(model)}
    grown = []

    class Watch(ParpHooks):
        def after_step(self, model, step, params):  # right after the update, before any re-prune
            grown.append(sum(int((p[zeros[n]] != 0).sum()) for n, p in prunable_parameters(model)))

        def start(self, model, params):
            return {}

    result = train(model, examples, TrainSpec.from_params(settings), Watch(), settings)
    assert grown[0] > 0  # a pruned weight is non-zero after one update
    assert result.metrics["sparsity_before_final_prune"] < 0.6
    measured = measured_sparsity(model)
    assert measured["prunable_zeros"] == round(0.6 * measured["prunable"])


def test_reprune_schedule_and_progressive_levels():
    assert reprune_steps(params(steps=10, reprune_every=4)) == [4, 8, 10]
    assert reprune_steps(params(steps=0)) == []
    rising = params(steps=20, reprune_every=5, sparsity=0.8, start=0.5)  # prunes at 0, 5, 10, 15 and 20
    assert [sparsity_at(rising, i) for i in range(5)] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.8])
    one_reprune = params(steps=10, reprune_every=5, sparsity=0.9, start=0.5)  # prunes at 0, 5 and 10
    assert [sparsity_at(one_reprune, i) for i in range(3)] == pytest.approx([0.5, 0.9, 0.9])
    assert sparsity_at(params(steps=0, sparsity=0.3), 0) == 0.3


def test_the_adjust_settings_reach_the_training_and_one_shot_trials_do_without_them():
    settings = ParpSettings.model_validate({"sparsity": [0.5], "steps": 10, "lr": 2e-4, "schedule": "tri_stage",
                                            "distill": 0.3, "batch_size": 2, "train": "wav_files_example/train.hrl"})
    one_shot, adjusted = training_trials(settings, seed=7)
    assert TrainSpec.from_params(adjusted.params) == TrainSpec(steps=10, lr=2e-4, batch_size=2, seed=7,
                                                               schedule="tri_stage", distill=0.3)
    assert TrainSpec.from_params(one_shot.params) == TrainSpec(steps=0)  # the same baseline whatever the adjust


def test_a_sweep_on_the_engine_then_its_export_reloads_with_the_recorded_wers(demo, tmp_path):
    config = RunConfig(method="parp", model="demo", data={"path": str(subset(tmp_path, "dev.hrl", 3)),
                       "audio_dir": str(EXAMPLES)},
                       heldout={"path": str(subset(tmp_path, "heldout.hrl", 2)), "audio_dir": str(EXAMPLES)})
    settings = ParpSettings.model_validate({
        "sparsity": [0.7], "steps": 3, "reprune_every": 2, "lr": 1e-3, "batch_size": 2, "save_every": 2,
        "train": {"path": str(subset(tmp_path, "train.hrl", 4)), "audio_dir": str(EXAMPLES)}})
    method = Parp()
    method.check(config, settings)
    run = RunDir.create(tmp_path / "run", {"method": "parp", "created_at": 0.0, "model_fingerprint": "model",
                                           "dataset_fingerprint": "search set"})
    backend = InProcessBackend(run, method.kinds(config, settings), max_retries=0)
    sweep = run_method(method, run, config, settings, backend)
    assert sweep.finished and sweep.round == 2
    points = {row["label"]: row for row in sweep.points()}
    assert set(points) == {"one-shot s=0.70", "parp s=0.70"}
    assert all(row["sparsity_measured"] == pytest.approx(0.7, abs=1e-6) for row in points.values())
    assert points["parp s=0.70"]["steps"] == 3 and points["one-shot s=0.70"]["steps"] == 0

    fields = method.status_fields({"run_dir": str(run.root)})
    assert [p["label"] for p in fields["points"]] == list(points) and fields["training"] == []
    lines = method.status_lines(fields)
    assert len(lines) == 1 + 2 + 1 and "WER search" in lines[0] and lines[-1].startswith("* the headline")
    assert lines[2].startswith("*") and lines[2].split()[1:4] == ["parp", "s=0.70", f"{points['parp s=0.70']['wer']:.4f}"]
    picture = method.plot(run, tmp_path / "sweep.png")
    assert picture.stat().st_size > 10_000

    report = method.export(run, config, settings, tmp_path / "out", threads=1, rounds=1)
    assert report["wer_before"] == sweep.scores["unpruned"]["value"]
    dataset = read_hrl(config.data.path, config.data.audio_dir)
    for point in report["points"]:
        folder = tmp_path / "out" / point["folder"]
        plain = Wav2Vec2ForCTC.from_pretrained(folder / "model").eval()  # plain transformers reloads it
        assert measured_sparsity(plain)["prunable_zeros"] == round(0.7 * point["prunable"])
        assert decode_dataset(plain, demo.processor, dataset).result.wer == point["wer_after"]
        assert point["nonzero_params_after"] < point["nonzero_params_before"] == point["params_after"]
        sparse = load_sparse(folder / "sparse.pt")
        assert all(torch.equal(sparse[n], t) for n, t in plain.state_dict().items())
        assert point["sparse_bytes"] < point["sparse_bytes_unpruned"]
    assert "no dense speedup" in report["no_speedup"] and report["decode_seconds_after"] > 0


@pytest.mark.parametrize("section, key, problem", [
    ({"sparsity": [0.3, 1.0]}, "parp.sparsity", "in (0, 1)"),
    ({"sparsity": 0.0}, "parp.sparsity", "in (0, 1)"),
    ({"steps": -1}, "parp.steps", "greater than or equal to 0"),
    ({"train": None}, "parp.train", ""),
    ({"schedule": "cosine"}, "parp.schedule", "'constant' or 'tri_stage'"),
    ({"distill": 1.5}, "parp.distill", "less than or equal to 1"),
    ({"progressive": {"start": 0.8}, "sparsity": [0.5, 0.9]}, "parp", "progressive.start 0.8 must lie below"),
])
def test_bad_settings_name_the_key(section, key, problem):
    raw = {"train": "wav_files_example/train.hrl", **section}
    if raw["train"] is None:
        del raw["train"]
    with pytest.raises(ValidationError) as caught:
        ParpSettings.model_validate(raw)
    message = describe_validation_error("parp.yaml", caught.value, prefix="parp", model=ParpSettings)
    assert message.startswith(f"parp.yaml: {key}") and problem in message


def test_a_training_line_with_an_empty_transcription_is_named(tmp_path):
    path = subset(tmp_path, "train.hrl", 3)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].rsplit("#", 1)[0] + "#  "
    path.write_text("\n".join(lines) + "\n")
    config = RunConfig(method="parp", model="demo", data="wav_files_example/dev.hrl")
    settings = ParpSettings.model_validate({"train": {"path": str(path), "audio_dir": str(EXAMPLES)}})
    with pytest.raises(DatasetError, match=r"train_3\.hrl:5: empty transcription"):
        Parp().check(config, settings)


def test_the_demo_config_reads_and_passes_its_checks():
    from gridprune.run_setup import read_setup

    setup = read_setup(REPO / "configs" / "parp_demo.yaml")
    config, settings = setup.config, setup.settings
    Parp().check(config, settings)
    assert settings.points() == [0.3, 0.5, 0.7] and 100 <= settings.steps <= 500
    assert Path(settings.train.path).name == "train.hrl"
