"""CoMFLP's task kinds inside a worker: the layer correlation analysis and the WER of a model without layers.

Torch is imported when a handler is built, never when this module is, so the master and the
config checks stay torch-free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridprune.engine import ProtocolError, Task, TaskContext

MATRIX_JSON = "matrix.json"
MATRIX_NPY = "matrix.npy"
STATES_NPY = "states.npy"
MATRIX_FORMAT = "gridprune.comflp.matrix"


def _load(threads: int, model: str, data: str, audio_dir: str | None) -> tuple[Any, Any, str]:
    """On `threads` threads: the checkpoint, the search set and the search set's fingerprint."""
    from gridprune.models.worker import load_for_worker

    checkpoint, (dataset,) = load_for_worker(threads, model, [(data, audio_dir)])
    return checkpoint, dataset, dataset.fingerprint()


def _check_same(run: Any, model_fingerprint: str, dataset_fingerprint: str) -> None:
    """StoreError unless the model and search set are the ones the run started with (run.json)."""
    from gridprune.store import StoreError

    info = run.run_info
    for what, now in (("model", model_fingerprint), ("dataset", dataset_fingerprint)):
        if info.get(f"{what}_fingerprint") not in (None, now):
            raise StoreError(f"{run.root}: the {what} has changed since the run started; start a new run for it")


def correlation_matrix(states: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """The (L+1, L+1) matrix `params` (an analysis trial's) asks for, from pooled states (L+1, N, D)."""
    from gridprune.analysis.correlation import distance_correlation_matrix, svcca_matrix

    if params["measure"] == "dc":
        return distance_correlation_matrix(states, params["batch_size"], params["batches"], params["seed"],
                                           bias_corrected=params["bias_corrected"])
    if params["measure"] == "svcca":
        return svcca_matrix(states, params["threshold"])
    raise ProtocolError(f"no correlation measure {params['measure']!r}")


@dataclass(frozen=True)
class AnalysisFactory:
    """Picklable recipe of the `layer_correlation` handler. The kind is not built at start-up, so the
    model loads on a worker's first analysis (one per run: a worker that never runs one never pays)."""

    model: str
    data: str
    audio_dir: str | None = None

    def __call__(self, threads: int) -> AnalysisHandler:
        return AnalysisHandler(self, threads)


class AnalysisHandler:
    """Pooled hidden states of every layer boundary on the search set, then the correlation matrix."""

    def __init__(self, spec: AnalysisFactory, threads: int):
        self.loaded = _load(threads, spec.model, spec.data, spec.audio_dir)

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        from gridprune.models.layers import dataset_pooled_states

        checkpoint, dataset, dataset_fingerprint = self.loaded
        _check_same(context.run, checkpoint.fingerprint, dataset_fingerprint)
        params = task["params"]
        states, states_seconds = dataset_pooled_states(checkpoint, dataset, after_final_norm=params["after_final_norm"])
        started = time.perf_counter()
        matrix = correlation_matrix(states, params)
        matrix_seconds = time.perf_counter() - started
        np.save(context.artifacts.path(MATRIX_NPY), matrix, allow_pickle=False)
        np.save(context.artifacts.path(STATES_NPY), states.astype(np.float32), allow_pickle=False)
        metrics = {"layers": int(states.shape[0] - 1), "utterances": int(states.shape[1]),
                   "width": int(states.shape[2]), "states_seconds": states_seconds, "matrix_seconds": matrix_seconds}
        context.artifacts.write_json(MATRIX_JSON, {
            "format": MATRIX_FORMAT, "params": params, "matrix": [[float(v) for v in row] for row in matrix],
            "model_fingerprint": checkpoint.fingerprint, "dataset_fingerprint": dataset_fingerprint, **metrics,
        })
        return {"value": None, "metrics": metrics}  # its time includes the model load, paid once per run


def read_matrix(path: Any) -> np.ndarray:
    """The matrix of a `matrix.json` artifact (JSON, never a pickle)."""
    import json

    from gridprune.engine import EngineError

    try:
        record = json.loads(path.read_text())
        if record.get("format") != MATRIX_FORMAT:
            raise ValueError(f"format {record.get('format')!r}, expected {MATRIX_FORMAT}")
        return np.asarray(record["matrix"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise EngineError(f"{path}: not a readable correlation matrix: {err}") from None


@dataclass(frozen=True)
class EvaluationFactory:
    """Picklable recipe of the `layer_drop_eval` handler: the model, the search set, and the hidden
    states entering every layer (or as many as `cache_bytes` holds), computed once per worker, when
    the handler is built."""

    model: str
    data: str
    audio_dir: str | None = None
    cache_bytes: int | None = None

    def __call__(self, threads: int) -> EvaluationHandler:
        return EvaluationHandler(self, threads)


class EvaluationHandler:
    """WER on the search set of the model without a task's `dropped` layers, from cached hidden states."""

    def __init__(self, spec: EvaluationFactory, threads: int):
        from gridprune.models.layers import DroppedLayerEvaluator

        checkpoint, dataset, self.dataset_fingerprint = _load(threads, spec.model, spec.data, spec.audio_dir)
        self.evaluator = DroppedLayerEvaluator(checkpoint, dataset, cache_bytes=spec.cache_bytes)

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        _check_same(context.run, self.evaluator.checkpoint.fingerprint, self.dataset_fingerprint)
        dropped = task["params"]["dropped"]
        evaluation = self.evaluator.evaluate(dropped)
        result = evaluation.result
        return {"value": result.wer, "metrics": {
            "wer": result.wer, "errors": result.errors, "words": result.words,
            "start_layer": self.evaluator.start_for(dropped), "layers_left": self.evaluator.layers - len(dropped),
            "decode_seconds": evaluation.seconds}}

