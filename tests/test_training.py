"""The training task kind on the demo model: a task SIGKILLed mid-run resumes from its last save and
ends with the very weights of an uninterrupted run (tri-stage lr, distillation from the base model);
status sees its live step; distillation pulls a pruned model towards its teacher."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gridprune.data import read_hrl
from gridprune.engine import (
    Trial,
    artifact_dir,
    execute,
    make_task,
    progress_dir,
    trial_key,
)
from gridprune.methods.parp.pruning import global_prune
from gridprune.models import load_checkpoint
from gridprune.store import RunDir
from gridprune.training.examples import collate, load_examples
from gridprune.training.hooks import NoHooks
from gridprune.training.kind import TrainingFactory
from gridprune.training.loop import (
    Teacher,
    TrainingError,
    TrainSpec,
    ctc_loss,
    distillation_loss,
    train,
)
from gridprune.training.status import format_training, training_progress

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "wav_files_example"
PARAMS = {"steps": 8, "lr": 1e-4, "batch_size": 2, "seed": 3, "schedule": "tri_stage", "distill": 0.5}
CONTEXT = {"model_fingerprint": "demo", "train": "four utterances"}


def small_train_set(folder: Path, count: int = 4) -> Path:
    """The first `count` lines of the shipped training set, audio read from wav_files_example."""
    lines = (EXAMPLES / "train.hrl").read_text().splitlines()
    path = folder / "train_small.hrl"
    path.write_text("\n".join(lines[: 3 + count]) + "\n")
    return path


def factory(train_set: Path, hooks=None) -> TrainingFactory:
    return TrainingFactory("demo", str(train_set), str(EXAMPLES), hooks or NoHooks(), save_every=3)


def task() -> dict:
    trial = Trial("train", PARAMS, "plain")
    return make_task(trial, trial_key(trial, CONTEXT))


def new_run(path: Path) -> RunDir:
    return RunDir.create(path, {"method": "test", "created_at": 0.0})


def killed_at_step(run: RunDir, train_set: Path, step: int) -> None:
    """Run the task in a child process whose hook SIGKILLs it right after update `step`."""
    script = textwrap.dedent(f"""
        import os, signal
        from gridprune.engine import execute
        from gridprune.store import RunDir
        from gridprune.training.kind import TrainingFactory
        from gridprune.training.hooks import NoHooks

        class KillAt(NoHooks):
            def after_step(self, model, step, params):
                if step == {step}:
                    os.kill(os.getpid(), signal.SIGKILL)

        factory = TrainingFactory("demo", {str(train_set)!r}, {str(EXAMPLES)!r}, KillAt(), save_every=3)
        execute(factory(1), {task()!r}, RunDir.open({str(run.root)!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == -9, proc.stderr


def test_a_killed_training_task_resumes_from_its_save_and_ends_with_the_uninterrupted_weights(tmp_path):
    train_set = small_train_set(tmp_path)
    killed = new_run(tmp_path / "killed")
    killed_at_step(killed, train_set, 5)
    key = task()["key"]
    assert not artifact_dir(killed, key).exists()
    live = training_progress(killed.root)  # what status shows of the task that died
    assert [(e["key"], e["step"], e["steps"], e["label"]) for e in live] == [(key, 5, 8, "plain")]
    assert "training plain: step 5/8" in format_training(live)[0]

    handler = factory(train_set)(1)
    resumed = execute(handler, task(), killed)
    reference_run = new_run(tmp_path / "reference")
    reference = execute(handler, task(), reference_run)

    assert resumed.metrics["resumed_from"] == 3 and resumed.metrics["steps_redone"] == 2
    assert reference.metrics["resumed_from"] is None and reference.metrics["steps_redone"] == 0
    assert resumed.metrics["steps"] == reference.metrics["steps"] == 8
    assert resumed.metrics["loss_curve"] == reference.metrics["loss_curve"]
    weights = load_file(artifact_dir(killed, key) / "model" / "model.safetensors")
    expected = load_file(artifact_dir(reference_run, key) / "model" / "model.safetensors")
    assert weights.keys() == expected.keys()
    assert all(torch.equal(weights[name], expected[name]) for name in expected)
    base = handler.checkpoint.model.state_dict()
    assert not torch.equal(expected["lm_head.weight"], base["lm_head.weight"])  # training changed the model
    conv = "wav2vec2.feature_extractor.conv_layers.0.conv.weight"
    assert torch.equal(expected[conv], base[conv])  # the frozen feature encoder did not move
    assert not progress_dir(killed, key).exists()  # saves dropped once the result is stored


def test_training_settings_that_cannot_work_are_refused(tmp_path):
    with pytest.raises(TrainingError, match="steps >= 0"):
        TrainSpec(steps=-1)
    with pytest.raises(TrainingError, match="batch_size >= 1"):
        TrainSpec.from_params({"steps": 3, "batch_size": 0})
    model = torch.nn.Linear(2, 2)
    with pytest.raises(TrainingError, match="no training examples"):
        train(model, [], TrainSpec(steps=1), NoHooks(), {})
    with pytest.raises(TrainingError, match="unknown lr schedule 'cosine'"):
        TrainSpec(steps=1, schedule="cosine")
    with pytest.raises(TrainingError, match="in \\[0, 1\\], not 1.5"):
        TrainSpec(steps=1, distill=1.5)
    with pytest.raises(TrainingError, match="needs a teacher"):
        train(model, [object()], TrainSpec(steps=1, distill=0.5), NoHooks(), {})
    assert len(read_hrl(small_train_set(tmp_path, 2), EXAMPLES)) == 2


def test_distillation_loss_is_the_per_frame_kl_from_the_teacher():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 5, 7), torch.randn(2, 5, 7)
    p_teacher = teacher.softmax(-1)
    by_hand = (p_teacher * (p_teacher.log() - student.log_softmax(-1))).sum(-1).mean()
    assert distillation_loss(student, teacher) == pytest.approx(float(by_hand), rel=1e-5)
    assert distillation_loss(teacher, teacher) == pytest.approx(0.0, abs=1e-6)


def test_distillation_pulls_a_pruned_model_towards_its_teacher(tmp_path):
    demo = load_checkpoint("demo")
    examples = load_examples(read_hrl(small_train_set(tmp_path), EXAMPLES), demo.processor)
    inputs, _ = collate(examples, range(len(examples)))

    def kl_to_teacher(model: torch.nn.Module) -> float:
        with torch.no_grad():
            return float(distillation_loss(model.eval()(inputs).logits, demo.model.eval()(inputs).logits))

    def trained(distill: float) -> float:
        pruned = copy.deepcopy(demo.model)
        global_prune(pruned, 0.8)
        train(pruned, examples, TrainSpec(steps=6, lr=1e-3, batch_size=2, distill=distill), NoHooks(), {},
              teacher=Teacher(demo.model))
        return kl_to_teacher(pruned)

    pruned = copy.deepcopy(demo.model)
    global_prune(pruned, 0.8)
    before, distilled, ctc_only = kl_to_teacher(pruned), trained(1.0), trained(0.0)
    assert distilled < before and distilled < ctc_only / 2  # CTC alone moves away from the teacher


def test_the_ctc_term_is_the_per_token_mean_whatever_the_checkpoint_says(tmp_path):
    demo = load_checkpoint("demo")
    examples = load_examples(read_hrl(small_train_set(tmp_path), EXAMPLES), demo.processor)
    inputs, labels = collate(examples, range(len(examples)))
    model = copy.deepcopy(demo.model).eval()
    config = model.config
    with torch.no_grad():
        ours = ctc_loss(model(inputs).logits, labels, config.pad_token_id, config.ctc_zero_infinity)
        assert config.ctc_loss_reduction == "mean" and torch.equal(ours, model(inputs, labels=labels).loss)
        config.ctc_loss_reduction = "sum"  # as a checkpoint may say: the term distillation is weighed against stays
        assert model(inputs, labels=labels).loss > 10 * ours


def test_the_distillation_temperature_softens_both_distributions_and_scales_by_its_square():
    student, teacher = torch.randn(2, 5, 7), torch.randn(2, 5, 7)
    by_hand = distillation_loss(student / 4, teacher / 4) * 16
    assert distillation_loss(student, teacher, temperature=4.0) == pytest.approx(float(by_hand), rel=1e-6)
    with pytest.raises(TrainingError, match="distill_temperature must be > 0"):
        TrainSpec(steps=1, distill_temperature=0)


def test_a_hooks_extra_loss_term_is_trained_on(tmp_path):
    demo = load_checkpoint("demo")
    examples = load_examples(read_hrl(small_train_set(tmp_path), EXAMPLES), demo.processor)

    class ShrinkHead(NoHooks):
        def extra_loss(self, model, step, params):
            return 10.0 * model.lm_head.weight.pow(2).sum()

    spec = TrainSpec(steps=3, lr=1e-3, batch_size=2)
    plain, shrunk = copy.deepcopy(demo.model), copy.deepcopy(demo.model)
    train(plain, examples, spec, NoHooks(), {})
    train(shrunk, examples, spec, ShrinkHead(), {})
    assert shrunk.lm_head.weight.norm() < plain.lm_head.weight.norm() - 0.1


def test_a_training_task_may_start_from_another_trials_model(tmp_path):
    train_set = small_train_set(tmp_path)
    run = new_run(tmp_path / "run")
    handler = factory(train_set)(1)
    first = execute(handler, task(), run)
    then = Trial("train", {"steps": 0, "start_from": first.key}, "then")
    execute(handler, make_task(then, trial_key(then, CONTEXT)), run)
    trained = load_file(artifact_dir(run, first.key) / "model" / "model.safetensors")
    started = load_file(artifact_dir(run, trial_key(then, CONTEXT)) / "model" / "model.safetensors")
    base = handler.checkpoint.model.state_dict()
    assert all(torch.equal(started[name], trained[name]) for name in trained)
    assert not torch.equal(started["lm_head.weight"], base["lm_head.weight"])
