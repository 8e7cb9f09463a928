"""The `ffn_eval` task kind: score one FFN-block pruning of the model on (part of) the search set.

Its handler loads the model and the search set once per worker and caches the front end
(the layers before the first pruned one); each task applies its blocks, decodes and returns
the WER as the value, with both WERs and the counts as metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gridprune.engine import Task, TaskContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FfnWorkerSpec:
    """What a worker needs to evaluate FFN-pruning tasks of one run."""

    model: str
    data: str
    granularity: int
    start_layer: int
    audio_dir: str | None = None  # the folder audio names in `data` are relative to
    score: str = "corpus"  # the fitness: corpus WER or the mean of utterance WERs
    normalise: bool = True


class FfnHandler:
    """Evaluates `ffn_eval` tasks against a checkpoint and dataset loaded once."""

    def __init__(self, spec: FfnWorkerSpec, threads: int):
        from gridprune.models import Evaluator
        from gridprune.models.pruning import FfnPruner
        from gridprune.models.worker import load_for_worker

        self.spec = spec
        checkpoint, (dataset,) = load_for_worker(threads, spec.model, [(spec.data, spec.audio_dir)])
        self.pruner = FfnPruner(checkpoint.model, spec.granularity)
        log.info("caching the front end of %d utterances", len(dataset))
        self.evaluator = Evaluator(checkpoint, dataset, start_layer=spec.start_layer)

    def __call__(self, task: Task, context: TaskContext | None = None) -> dict[str, Any]:
        params = task["params"]
        pruned = {int(layer): blocks for layer, blocks in params["blocks"].items()}
        model = self.pruner.apply(pruned)
        try:
            evaluation = self.evaluator.evaluate(model, params.get("indices"), normalise=self.spec.normalise,
                                                 fitness_score=self.spec.score)
        finally:
            self.pruner.restore()
        result = evaluation.result
        return {
            "value": float(evaluation.fitness),
            "metrics": {"fitness_score": evaluation.fitness_score, "wer": float(result.wer),
                        "utterance_mean_wer": float(result.utterance_mean), "normalise": self.spec.normalise,
                        "errors": int(result.errors), "words": int(result.words),
                        "utterances": len(evaluation.indices)},
            "seconds": float(evaluation.seconds),
        }


@dataclass(frozen=True)
class FfnHandlerFactory:
    """Picklable recipe for an `FfnHandler`, sent to worker processes and Slurm jobs."""

    spec: FfnWorkerSpec

    def __call__(self, threads: int) -> FfnHandler:
        return FfnHandler(self.spec, threads)
