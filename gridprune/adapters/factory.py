"""The factory adapter: any torch model built by a Python function, scored by the user's evaluation function.

    model:
      factory: "pkg.mod:build"          # build() -> torch.nn.Module, its trained weights loaded
      evaluate: "pkg.mod:score"         # score(model, data_path) -> a float in [0, 1]
      higher_is_better: true            # accuracy (true) or an error rate (false)
      train_loss: "pkg.mod:loss"        # loss(model, data_path, step, seed) -> the loss of update step + 1

`data` and `heldout` are the paths the evaluation function is given (any file: it reads them); a run's
fingerprints hash the model's weights and those files' bytes. The error the search lowers is 1 - score
(higher_is_better) or the score itself. A fine-tune (Adam at `lr`, the steps' batches chosen by `train_loss` from (seed, step)) is short and is not
saved part-way: a retried one starts over and ends the same. The evaluation function is opaque, so its
evaluations are never cut short by a WER ceiling.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from pydantic import Field

from gridprune.engine.kinds import Resources, Task, TaskContext, TaskKind
from gridprune.sections import ConfigValueError, DataSource, Section

if TYPE_CHECKING:
    from torch import nn

    from gridprune.training.hooks import TrainingHooks

WEIGHTS_FILE = "model.pt"


class FactoryModel(Section):
    """`model:` as a factory: any torch model."""

    factory: str = Field(description="'package.module:function' returning the trained torch.nn.Module")
    evaluate: str = Field(description="'package.module:function' (model, data_path) -> score in [0, 1]")
    higher_is_better: bool = Field(True, description="the score is an accuracy (true) or an error rate (false)")
    train_loss: str | None = Field(None, description=(
        "'package.module:function' (model, data_path, step, seed) -> loss tensor: the fine-tunes' objective"))


def imported(spec: str, key: str) -> Callable[..., Any]:
    """The function `spec` ('package.module:name') names; ConfigValueError naming `key` if it cannot be had."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ConfigValueError(key, f"{spec!r} is not 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may raise anything while importing
        raise ConfigValueError(key, f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigValueError(key, f"{module_name} has no function {name}")
    return function


def built(spec: FactoryModel) -> nn.Module:
    """The factory's model, in eval mode; ConfigValueError naming model.factory if it is not a module."""
    from torch import nn

    try:
        model = imported(spec.factory, "model.factory")()
    except ConfigValueError:
        raise
    except Exception as exc:
        raise ConfigValueError("model.factory", f"{spec.factory}() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise ConfigValueError("model.factory", f"{spec.factory}() returned {type(model).__name__}, "
                                                "not a torch.nn.Module")
    return model.eval()


@functools.cache
def reference_model(spec: FactoryModel) -> nn.Module:
    """The factory's model built once per process, for what only reads it (the checks, the fingerprint, the
    targets' names, the export's baseline sizes); a model that is pruned or trained is `built` afresh."""
    return built(spec)


def scored(spec: FactoryModel, model: nn.Module, path: str) -> float:
    """The evaluation function's score of `model` on `path`; ConfigValueError naming model.evaluate unless it is
    a number in [0, 1]."""
    import torch

    function = imported(spec.evaluate, "model.evaluate")
    try:
        with torch.no_grad():
            value = function(model, path)
    except Exception as exc:  # the user's function may raise anything
        raise ConfigValueError("model.evaluate", f"{spec.evaluate} raised {type(exc).__name__} on {path}: "
                                                 f"{exc}") from None
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise ConfigValueError("model.evaluate", f"{spec.evaluate} returned {value!r}, not a number") from None
    if not 0.0 <= score <= 1.0:
        raise ConfigValueError("model.evaluate", f"{spec.evaluate} returned {score} on {path}; a score lies in "
                                                 "[0, 1] (an accuracy, or an error rate with higher_is_better: false)")
    return score


@dataclass(frozen=True)
class FactoryAdapter:
    """A model built by `spec.factory`."""

    spec: FactoryModel
    kind = "factory"

    def check(self, data: DataSource, heldout: DataSource | None) -> None:
        model = reference_model(self.spec)
        for key, source in (("data", data), ("heldout", heldout)):
            if source is not None:
                if not Path(source.path).is_file():
                    raise ConfigValueError(key, f"{source.path}: no such file")
                scored(self.spec, model, source.path)
        if self.spec.train_loss is not None:
            imported(self.spec.train_loss, "model.train_loss")

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.spec.factory}\0{self.spec.evaluate}\0".encode())
        for name, tensor in sorted(reference_model(self.spec).state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def data_fingerprint(self, source: DataSource) -> str:
        return hashlib.sha256(Path(source.path).read_bytes()).hexdigest()

    def error_of(self, score: float) -> float:
        """The error the search lowers: 1 - score, or the score itself where lower is better."""
        return 1.0 - score if self.spec.higher_is_better else score

    def instance(self) -> nn.Module:
        return reference_model(self.spec)

    def scored_models(self, threads: int, data: DataSource) -> FactoryModels:
        return FactoryModels(self, threads, str(Path(data.path).resolve()))

    def save(self, model: nn.Module, folder: Path) -> None:
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), folder / WEIGHTS_FILE)

    def load_saved(self, folder: Path) -> nn.Module:
        import torch

        model = built(self.spec)
        model.load_state_dict(torch.load(Path(folder) / WEIGHTS_FILE, weights_only=True))
        return model.eval()

    def evaluation_kind(self, data: DataSource, heldout: DataSource | None) -> TaskKind:
        paths = tuple(str(Path(s.path).resolve()) if s else None for s in (data, heldout))
        return TaskKind("evaluate", FactoryEvaluateFactory(self, paths), Resources(cpus=1, mem_gb=4.0, time_min=60),
                        at_start=True)

    def training_kind(self, hooks: TrainingHooks, train: DataSource, save_every: int) -> TaskKind:
        factory = FactoryTrainingFactory(self, str(Path(train.path).resolve()), hooks)
        return TaskKind("train", factory, Resources(cpus=2, mem_gb=8.0, time_min=24 * 60), tasks_per_job=1)


class FactoryModels:
    """The factory's model, built once per worker; the error on the search set through the evaluation function
    (no early rejection: the function is opaque)."""

    def __init__(self, adapter: FactoryAdapter, threads: int, path: str):
        import torch

        torch.set_num_threads(max(1, threads))
        self.adapter, self.path = adapter, path
        self.model = built(adapter.spec)

    def load_saved(self, folder: Path) -> nn.Module:
        return self.adapter.load_saved(folder)

    def error(self, model: nn.Module, *, ceiling: float | None = None, start_layer: int | None = None,
              cache: Any = None, candidate: Callable[[], ContextManager[Any]] = nullcontext) -> dict[str, Any]:
        started = time.perf_counter()
        with candidate():
            error = self.adapter.error_of(scored(self.adapter.spec, model, self.path))
        return {"error": error, "rejected": False, "used": None, "seconds": time.perf_counter() - started}


@dataclass(frozen=True)
class FactoryEvaluateFactory:
    """Picklable recipe of the factory model's `evaluate` handler: the search and held-out paths."""

    adapter: FactoryAdapter
    paths: tuple[str | None, str | None]

    def __call__(self, threads: int) -> Callable[[Task, TaskContext], dict[str, Any]]:
        import torch

        torch.set_num_threads(max(1, threads))
        base = built(self.adapter.spec)

        def handle(task: Task, context: TaskContext) -> dict[str, Any]:
            from gridprune.engine import artifact_dir
            from gridprune.models.export import model_sizes
            from gridprune.training.kind import MODEL_DIR

            weights = task["params"]["weights"]
            model = base if weights is None else self.adapter.load_saved(artifact_dir(context.run, weights) / MODEL_DIR)
            metrics: dict[str, Any] = {}
            for name, path in zip(("wer", "heldout_wer"), self.paths):
                if path is not None:
                    metrics[name.replace("wer", "score")] = score = scored(self.adapter.spec, model, path)
                    metrics[name] = self.adapter.error_of(score)
            sizes = model_sizes(model)
            metrics.update(parameters=sizes["params"], nonzero_parameters=sizes["nonzero_params"])
            return {"value": metrics["wer"], "metrics": metrics}

        return handle


@dataclass(frozen=True)
class FactoryTrainingFactory:
    """Picklable recipe of the factory model's `train` handler: Adam at a constant lr on `train_loss`, with the
    method's hooks; params as the wav2vec2 training kind's (`steps`, `lr`, `seed`, `start_from`, `inputs`)."""

    adapter: FactoryAdapter
    train_path: str
    hooks: TrainingHooks

    def __call__(self, threads: int) -> Callable[[Task, TaskContext], dict[str, Any]]:
        import torch

        torch.set_num_threads(max(1, threads))

        def handle(task: Task, context: TaskContext) -> dict[str, Any]:
            from gridprune.engine import artifact_dir
            from gridprune.training.kind import MODEL_DIR, trial_reads

            params = task["params"]
            started = time.perf_counter()
            start = params.get("start_from")
            model = (built(self.adapter.spec) if start is None
                     else self.adapter.load_saved(artifact_dir(context.run, start) / MODEL_DIR))
            self.hooks.prepare(model, params, trial_reads(params, context))
            if params["steps"]:
                self.hooks.start(model, params)
                loss_of = imported(self.adapter.spec.train_loss, "model.train_loss")
            model.train()
            torch.manual_seed(params.get("seed", 0))
            optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=params["lr"])
            losses = []
            for step in range(params["steps"]):
                self.hooks.before_step(model, step, params)
                loss = loss_of(model, self.train_path, step, params.get("seed", 0))
                extra = self.hooks.extra_loss(model, step, params)
                total = loss if extra is None else loss + extra
                optimiser.zero_grad()
                total.backward()
                self.hooks.before_update(model, step, params)
                optimiser.step()
                self.hooks.after_step(model, step + 1, params)
                losses.append(float(loss.detach()))
            metrics = self.hooks.finish(model, params)
            self.adapter.save(model.eval(), context.artifacts.path(f"{MODEL_DIR}/{WEIGHTS_FILE}").parent)
            metrics.update(steps=params["steps"], final_loss=losses[-1] if losses else None, steps_redone=0)
            return {"value": None, "metrics": metrics, "seconds": time.perf_counter() - started}

        return handle
