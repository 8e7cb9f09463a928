"""The evaluation task kind of methods that train: WER of a trained model (or of the unpruned one) on the search
and held-out sets, read from the training trial's artifact (`params["weights"]`: its key; None: the base model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridprune.engine.kinds import Resources, Task, TaskContext, TaskKind


@dataclass(frozen=True)
class EvaluateFactory:
    """Picklable: the base model and the two sets, (path, audio_dir) each; heldout may be None."""

    model: str
    data: tuple[str, str | None]
    heldout: tuple[str, str | None] | None = None

    def __call__(self, threads: int) -> EvaluateHandler:
        return EvaluateHandler(self, threads)


class EvaluateHandler:
    """Loads the base model and the sets once per worker; decodes each task's model through the whole
    model (training changes the feature projection and positional convolution too, so no cached front end)."""

    def __init__(self, spec: EvaluateFactory, threads: int):
        from gridprune.models.worker import load_for_worker

        self.checkpoint, (search, heldout) = load_for_worker(threads, spec.model, [spec.data, spec.heldout])
        self.sets = {"wer": search} if heldout is None else {"wer": search, "heldout_wer": heldout}

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        from gridprune.models.evaluator import decode_dataset
        from gridprune.models.export import model_sizes
        from gridprune.models.loading import load_pruned
        from gridprune.training.kind import trained_model_dir

        weights = task["params"]["weights"]
        model = self.checkpoint.model if weights is None else load_pruned(trained_model_dir(context, weights))
        metrics: dict[str, Any] = {}
        for name, dataset in self.sets.items():
            evaluation = decode_dataset(model, self.checkpoint.processor, dataset)
            metrics[name] = evaluation.result.wer
            metrics[name.replace("wer", "decode_seconds")] = evaluation.seconds
        sizes = model_sizes(model)
        metrics.update(parameters=sizes["params"], nonzero_parameters=sizes["nonzero_params"])
        return {"value": metrics["wer"], "metrics": metrics}


def evaluation_kind(factory: EvaluateFactory) -> TaskKind:
    """The task kind of `factory`: short tasks, the unpruned model's among the first asked."""
    return TaskKind("evaluate", factory, Resources(cpus=1, mem_gb=4.0, time_min=60), at_start=True)
