"""The training task kind: fine-tune the base model on a labelled set, with a method's hooks.

Its artifact is the trained model as a checkpoint folder (`model/`: config, weights, processor),
which evaluation tasks and exports read. The device is chosen at run time: CUDA when the kind
asked for a GPU, the worker sees one and torch has CUDA; else CPU on the worker's threads.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from gridprune.engine.kinds import Resources, Task, TaskContext, TaskKind

if TYPE_CHECKING:  # the loop imports torch: a method's kinds are built without it, handlers import it
    from gridprune.training.hooks import TrainingHooks
    from gridprune.training.loop import Teacher

MODEL_DIR = "model"  # the artifact folder of a trained model


def trained_model_dir(context: TaskContext, key: str) -> Path:
    """The checkpoint folder that training trial `key` published."""
    return context.artifact_of(key, f"{MODEL_DIR}/config.json").parent


def trial_reads(params: Mapping[str, Any], context: TaskContext) -> dict[str, Path]:
    """The files a training trial gives its hooks, by name: `reads` ({name: [key, file]}: files other trials
    published) and `inputs` ({name: digest}: the run's stored inputs, `gridprune.store.inputs`)."""
    from gridprune.store.inputs import input_path

    reads = {name: context.artifact_of(key, file) for name, (key, file) in params.get("reads", {}).items()}
    return reads | {name: input_path(context.run, digest) for name, digest in params.get("inputs", {}).items()}


@dataclass(frozen=True)
class TrainingFactory:
    """Picklable recipe of a training handler: the base model, the training set, the method's hooks.

    A trial's params may say `start_from` (the key of a training trial whose model it starts from instead
    of the base model), `reads` and `inputs` (files given to the hooks: `trial_reads`)."""

    model: str
    train_path: str
    train_audio_dir: str | None
    hooks: TrainingHooks
    save_every: int = 100

    def __call__(self, threads: int) -> TrainingHandler:
        return TrainingHandler(self, threads)


class TrainingHandler:
    """Loads the base model and the training examples once per worker; trains a copy per task."""

    def __init__(self, spec: TrainingFactory, threads: int):
        from gridprune.models.worker import load_for_worker
        from gridprune.training.examples import load_examples

        self.spec, self.threads = spec, threads
        self._teachers: dict[str, Teacher] = {}  # by device: each batch's teacher output kept across tasks
        self.checkpoint, (train_set,) = load_for_worker(threads, spec.model, [(spec.train_path, spec.train_audio_dir)])
        self.examples = load_examples(train_set, self.checkpoint.processor)

    def _teacher(self, device: str) -> Teacher:
        """The unpruned base model on `device` as a teacher (copied once per worker to a GPU)."""
        from gridprune.training.loop import Teacher

        if device not in self._teachers:
            model = self.checkpoint.model if device == "cpu" else copy.deepcopy(self.checkpoint.model).to(device)
            self._teachers[device] = Teacher(model)
        return self._teachers[device]

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        import torch

        from gridprune.models.loading import load_pruned
        from gridprune.training.loop import TrainSpec, train

        params = task["params"]
        device = "cuda" if context.device == "cuda" and torch.cuda.is_available() else "cpu"
        spec = TrainSpec.from_params(params)
        start = params.get("start_from")
        model = (copy.deepcopy(self.checkpoint.model) if start is None
                 else load_pruned(trained_model_dir(context, start)))
        reads = trial_reads(params, context)
        teacher = self._teacher(device) if spec.distill else None
        result = train(model, self.examples, spec, self.spec.hooks, params, progress=context.progress,
                       save_every=self.spec.save_every, device=device, label=task.get("label"), teacher=teacher,
                       reads=reads)
        folder = context.artifacts.path(f"{MODEL_DIR}/config.json").parent
        model.to("cpu").save_pretrained(folder, safe_serialization=True)
        self.checkpoint.processor.save_pretrained(folder)
        metrics = {**result.to_metrics(), "threads": self.threads, "attempt": context.attempt}
        return {"value": None, "metrics": metrics, "seconds": result.seconds}


def training_kind(factory: TrainingFactory, resources: Resources | None = None, name: str = "train") -> TaskKind:
    """The task kind of `factory`: one task per job (a long task), a day's time limit unless told otherwise."""
    return TaskKind(name, factory, resources or Resources(cpus=2, mem_gb=8.0, time_min=24 * 60), tasks_per_job=1)
