"""The mask evaluation task kind of the per-layer GA on a wav2vec2 (`unit: weight`): the WER of the model with one
weight tensor masked, under an optional WER ceiling (exact early rejection).

A task's params name the tensor (`parameter`, its name in the model's state), the mask (`mask`: the digest of a
packed mask stored as a trial input, `gridprune.store.inputs`) and `wer_ceiling` (None: a full decode). Each
worker caches, per encoder layer, the hidden states entering it, so a mask on layer 3 decodes only layers 3 on.
A rejected evaluation's value is None ("above the ceiling"); its metrics say how many utterances it decoded.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from gridprune.engine.kinds import Resources, Task, TaskContext, TaskKind

if TYPE_CHECKING:
    import torch

_ENCODER_LAYER = re.compile(r"(?:^|\.)encoder\.layers\.(\d+)\.")


def first_layer(parameter: str, layers: int) -> int:
    """The encoder layer a tensor belongs to; `layers` (none decoded again) for one after the encoder layers (the
    CTC head, a final layer norm). A tensor before them (the front end) is refused: the cache starts after it."""
    match = _ENCODER_LAYER.search(parameter)
    if match:
        return int(match.group(1))
    if parameter.startswith(("lm_head.", "wav2vec2.encoder.layer_norm.")):
        return layers
    raise ValueError(f"parameter {parameter}: only tensors of the encoder layers and after them (lm_head) can be "
                     "masked; the hidden states entering layer 0 are cached")


@contextmanager
def masked(weight: torch.Tensor, keep: torch.Tensor) -> Iterator[None]:
    """`weight` with the genes not in `keep` (a bool tensor of its shape) at zero, restored on exit."""
    import torch

    original = weight.detach().clone()
    with torch.no_grad():
        weight.mul_(keep)
    try:
        yield
    finally:
        with torch.no_grad():
            weight.copy_(original)


@dataclass(frozen=True)
class MaskEvaluateFactory:
    """Picklable recipe of a mask evaluation handler: the model and the search set (path, audio_dir)."""

    model: str
    data: tuple[str, str | None]

    def __call__(self, threads: int) -> MaskEvaluateHandler:
        return MaskEvaluateHandler(self, threads)


class MaskEvaluateHandler:
    """Loads the model and the search set once per worker; an `Evaluator` per encoder layer, made when first needed."""

    def __init__(self, spec: MaskEvaluateFactory, threads: int):
        from gridprune.models.worker import load_for_worker

        self.checkpoint, (self.dataset,) = load_for_worker(threads, spec.model, [spec.data])
        self._evaluators: dict[int, Any] = {}

    def evaluator(self, layer: int) -> Any:
        """The evaluator whose cached hidden states enter encoder layer `layer`."""
        from gridprune.models.evaluator import Evaluator

        if layer not in self._evaluators:
            self._evaluators[layer] = Evaluator(self.checkpoint, self.dataset, start_layer=layer)
        return self._evaluators[layer]

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        import torch

        from gridprune.methods.layer_ga.masks import unpack_mask
        from gridprune.store.inputs import input_path, read_input

        params = task["params"]
        name, digest = params["parameter"], params["mask"]
        weight = self.checkpoint.model.get_parameter(name)
        try:
            keep = torch.from_numpy(unpack_mask(read_input(context.run, digest)))
        except ValueError as exc:
            raise ValueError(f"{input_path(context.run, digest)}: {exc}") from None
        if tuple(keep.shape) != tuple(weight.shape):
            raise ValueError(f"the mask of {name} has shape {tuple(keep.shape)}, the tensor {tuple(weight.shape)}")
        evaluator = self.evaluator(first_layer(name, len(self.checkpoint.model.wav2vec2.encoder.layers)))
        with masked(weight, keep):  # after the evaluator exists: its cache is of the unmasked model
            evaluation = evaluator.evaluate(wer_ceiling=params.get("wer_ceiling"))
        metrics = {"wer": None if evaluation.rejected else evaluation.result.wer, "rejected": evaluation.rejected,
                   "utterances": len(evaluation.indices), "sparsity": 1.0 - int(keep.sum()) / keep.numel()}
        return {"value": metrics["wer"], "metrics": metrics, "seconds": evaluation.seconds}


def mask_evaluation_kind(factory: MaskEvaluateFactory) -> TaskKind:
    """Short evaluations, many per job."""
    return TaskKind("evaluate_mask", factory, Resources(cpus=1, mem_gb=4.0, time_min=60))
