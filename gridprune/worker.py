"""The evaluation worker: load the model and data once, then score FFN-pruning tasks.

A task is `{"key": ..., "chromosome": {"<layer>": [blocks...]}, "indices": [...] | null}`;
its result goes straight into the run directory under the task's key. The same
handler serves every backend: local worker processes and Slurm array tasks.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

from gridprune.store import RunDir


@dataclass(frozen=True)
class FfnWorkerSpec:
    """What a worker needs to evaluate FFN-pruning tasks of one run."""

    run_dir: str
    model: str
    data: str
    granularity: int
    start_layer: int


class FfnTaskHandler:
    """Evaluates tasks against a checkpoint and dataset loaded once."""

    def __init__(self, spec: FfnWorkerSpec, threads: int):
        import torch

        from gridprune.data import read_hrl
        from gridprune.models import Evaluator, load_checkpoint
        from gridprune.models.pruning import FfnPruner

        torch.set_num_threads(threads)
        self.run = RunDir.open(spec.run_dir)
        checkpoint = load_checkpoint(spec.model)
        self.pruner = FfnPruner(checkpoint.model, spec.granularity)
        self.evaluator = Evaluator(checkpoint, read_hrl(spec.data), start_layer=spec.start_layer)

    def __call__(self, task: dict[str, Any]) -> None:
        pruned = {int(layer): blocks for layer, blocks in task["chromosome"].items()}
        model = self.pruner.apply(pruned)
        try:
            evaluation = self.evaluator.evaluate(model, task.get("indices"))
        finally:
            self.pruner.restore()
        self.run.write_result(task["key"], {
            "key": task["key"],
            "status": "ok",
            "fitness": evaluation.result.wer,
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
