"""The evaluation worker: load the model and data once, then score FFN-pruning tasks.

A task is `{"key": ..., "chromosome": {"<layer>": [blocks...]}, "indices": [...] | null,
"score": "corpus" | "utterance_mean", "normalise": bool}` (the last two optional, default
corpus WER of normalised texts); its result goes straight into the run directory under
the task's key, with both WERs and which of them is the fitness. The same handler
serves every backend: local worker processes and Slurm array tasks.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from gridprune.store import RunDir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FfnWorkerSpec:
    """What a worker needs to evaluate FFN-pruning tasks of one run."""

    run_dir: str
    model: str
    data: str
    granularity: int
    start_layer: int
    audio_dir: str | None = None  # the folder audio names in `data` are relative to


class FfnTaskHandler:
    """Evaluates tasks against a checkpoint and dataset loaded once."""

    def __init__(self, spec: FfnWorkerSpec, threads: int):
        import torch

        from gridprune.data import read_hrl
        from gridprune.models import Evaluator, load_checkpoint
        from gridprune.models.pruning import FfnPruner

        torch.set_num_threads(threads)
        self.run = RunDir.open(spec.run_dir)
        log.info("loading the model %s", spec.model)
        checkpoint = load_checkpoint(spec.model)
        self.pruner = FfnPruner(checkpoint.model, spec.granularity)
        dataset = read_hrl(spec.data, spec.audio_dir)
        log.info("caching the front end of %d utterances", len(dataset))
        self.evaluator = Evaluator(checkpoint, dataset, start_layer=spec.start_layer)

    def __call__(self, task: dict[str, Any]) -> None:
        pruned = {int(layer): blocks for layer, blocks in task["chromosome"].items()}
        model = self.pruner.apply(pruned)
        normalise = task.get("normalise", True)
        try:
            evaluation = self.evaluator.evaluate(model, task.get("indices"), normalise=normalise,
                                                 fitness_score=task.get("score", "corpus"))
        finally:
            self.pruner.restore()
        self.run.write_result(task["key"], {
            "key": task["key"],
            "status": "ok",
            "fitness": evaluation.fitness,
            "fitness_score": evaluation.fitness_score,
            "wer": evaluation.result.wer,
            "utterance_mean_wer": evaluation.result.utterance_mean,
            "normalise": normalise,
            "errors": evaluation.result.errors,
            "words": evaluation.result.words,
            "utterances": len(evaluation.indices),
            "chromosome": task["chromosome"],
            "seconds": evaluation.seconds,
            "host": socket.gethostname(),
            "finished_at": time.time(),
        })


@dataclass(frozen=True)
class FfnHandlerFactory:
    """Picklable recipe for an `FfnTaskHandler`, sent to worker processes and Slurm jobs."""

    spec: FfnWorkerSpec

    def __call__(self, threads: int) -> FfnTaskHandler:
        return FfnTaskHandler(self.spec, threads)


def failed_record(key: str, chromosome: Any, reason: str, attempts: int) -> dict[str, Any]:
    """The result recorded for a task given up on: the worst fitness, and why."""
    return {"key": key, "status": "failed", "fitness": None, "chromosome": chromosome,
            "error": reason, "attempts": attempts, "finished_at": time.time()}
