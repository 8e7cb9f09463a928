"""The task kinds of the per-layer mask GA, for any model through its adapter (`gridprune.adapters`):

- `evaluate_mask`: the error of a base model with a candidate mask on one target, under an optional ceiling
  (exact early rejection, where the adapter can stop early). Params: `base` ({"weights": a training trial's
  key or None, "masks": {target: digest}}, the masks chosen so far), `target` and `mask` (a digest; both None
  to evaluate the base itself), `unit`, `wer_ceiling`. A worker keeps one base at a time and, for wav2vec2,
  the hidden states entering the candidate's encoder layer, so a mask on layer 3 decodes only layers 3 on.
  A rejected evaluation's value is None; its metrics say how many utterances it used.
- `magnitude`: the magnitude score of every gene of `targets` on the weights of `weights`, the artifact
  `magnitude.npz` (one float32 array per target), read by the strategy on the master.
"""

from __future__ import annotations

import io
import json
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from gridprune.engine.kinds import Resources, Task, TaskContext, TaskKind
from gridprune.sections import DataSource

if TYPE_CHECKING:
    from torch import nn

    from gridprune.adapters import ModelAdapter

MAGNITUDE_FILE = "magnitude.npz"


def read_mask(context: TaskContext, digest: str) -> Any:
    """The stored mask of `digest`; ValueError naming its file if it is not a packed mask."""
    from gridprune.methods.layer_ga.masks import unpack_mask
    from gridprune.store.inputs import input_path, read_input

    try:
        return unpack_mask(read_input(context.run, digest))
    except ValueError as exc:
        raise ValueError(f"{input_path(context.run, digest)}: {exc}") from None


def base_model(models: Any, base: Mapping[str, Any], unit: str, context: TaskContext) -> nn.Module:
    """The base's weights (the unpruned model, copied if masks go on it, or a trained model) with its masks put
    on. A candidate mask goes on the result only for a while (`masked`), so the unpruned model itself may be it."""
    import copy

    from gridprune.engine import artifact_dir
    from gridprune.methods.layer_ga.targets import apply_mask
    from gridprune.training.kind import MODEL_DIR

    weights = base["weights"]
    if weights is not None:
        model = models.load_saved(artifact_dir(context.run, weights) / MODEL_DIR)
    else:
        model = copy.deepcopy(models.model) if base["masks"] else models.model
    for target, digest in base["masks"].items():
        apply_mask(model, target, unit, read_mask(context, digest))
    return model.eval()


@contextmanager
def masked(model: nn.Module, target: str, unit: str, keep: Any) -> Iterator[None]:
    """`model` with `keep` put on `target`, restored on exit."""
    import torch

    from gridprune.methods.layer_ga.targets import zero, zeroed_tensors

    zeroed = zeroed_tensors(model, target, unit, keep)
    saved = [tensor[index].clone() for tensor, index in zeroed]
    zero(zeroed)
    try:
        yield
    finally:
        with torch.no_grad():
            for (tensor, index), values in zip(reversed(zeroed), reversed(saved)):
                tensor[index] = values


@dataclass(frozen=True)
class MaskEvaluateFactory:
    """Picklable recipe of the mask evaluation handler: the model's adapter and the search set."""

    adapter: ModelAdapter
    data: DataSource

    def __call__(self, threads: int) -> MaskEvaluateHandler:
        return MaskEvaluateHandler(self, threads)


class MaskEvaluateHandler:
    """Loads the model and the search set once per worker; keeps the latest base model."""

    def __init__(self, spec: MaskEvaluateFactory, threads: int):
        self.models = spec.adapter.scored_models(threads, spec.data)
        self._base: tuple[str, Any] = ("", None)

    def base(self, params: Mapping[str, Any], context: TaskContext) -> tuple[str, nn.Module]:
        name = json.dumps(params["base"], sort_keys=True)
        if self._base[0] != name:
            self._base = (name, base_model(self.models, params["base"], params["unit"], context))
        return self._base

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        from gridprune.methods.layer_ga.operators import sparsity

        params = task["params"]
        name, model = self.base(params, context)
        target, metrics = params["target"], {}
        if target is None:
            candidate, start = nullcontext, None
        else:
            keep = read_mask(context, params["mask"])
            start = first_changed_layer(model, target)
            candidate = partial(masked, model, target, params["unit"], keep)
            metrics["sparsity"] = sparsity(keep)
        result = self.models.error(model, ceiling=params.get("wer_ceiling"), start_layer=start, cache=name,
                                   candidate=candidate)
        metrics.update(wer=result["error"], rejected=result["rejected"], utterances=result["used"])
        return {"value": result["error"], "metrics": metrics, "seconds": result["seconds"]}


def first_changed_layer(model: nn.Module, target: str) -> int | None:
    """The first wav2vec2 encoder layer whose output a mask on `target` changes (the layer count for the CTC head);
    None where the whole model must run (a tensor before the encoder layers, or a model that is not wav2vec2)."""
    from gridprune.methods.layer_ga.targets import encoder_layer_of, encoder_layers

    layers = encoder_layers(model)
    if layers is None:
        return None
    layer = encoder_layer_of(target)
    if layer is not None:
        return layer
    return len(layers) if target.startswith("lm_head.") else None


@dataclass(frozen=True)
class MagnitudeFactory:
    """Picklable recipe of the magnitude handler."""

    adapter: ModelAdapter
    data: DataSource

    def __call__(self, threads: int) -> Callable[[Task, TaskContext], dict[str, Any]]:
        models = self.adapter.scored_models(threads, self.data)

        def handle(task: Task, context: TaskContext) -> dict[str, Any]:
            import numpy as np

            from gridprune.methods.layer_ga.targets import magnitude_scores

            params = task["params"]
            model = base_model(models, {"weights": params["weights"], "masks": {}}, params["unit"], context)
            scores = {target: magnitude_scores(model, target, params["unit"]) for target in params["targets"]}
            buffer = io.BytesIO()
            np.savez(buffer, **scores)
            context.artifacts.write_bytes(MAGNITUDE_FILE, buffer.getvalue())
            return {"value": None, "metrics": {"genes": {t: len(s) for t, s in scores.items()}}}

        return handle


def mask_kinds(adapter: ModelAdapter, data: DataSource) -> dict[str, TaskKind]:
    """`evaluate_mask` (short, many per job) and `magnitude` (one read of the weights)."""
    return {"evaluate_mask": TaskKind("evaluate_mask", MaskEvaluateFactory(adapter, data),
                                      Resources(cpus=1, mem_gb=4.0, time_min=60)),
            "magnitude": TaskKind("magnitude", MagnitudeFactory(adapter, data), Resources(cpus=1, mem_gb=4.0,
                                                                                          time_min=30))}
