"""CTC fine-tuning of a Wav2Vec2ForCTC that saves its state as it goes and continues from the last save.

The whole state (weights, optimiser, step, the order of the batches still to come, the torch and
numpy RNG states) is saved every `save_every` updates into the task's progress folder; a task
started again loads it and goes on, so on CPU a resumed run ends with the very weights of an
uninterrupted one. A small `live.json` beside the saves tells `status` how far the task is.

With `distill` > 0 the loss mixes the CTC loss with the per-frame KL divergence from a teacher's
output distribution (the unpruned model): (1 - distill) * CTC + distill * KL(teacher || model),
both distributions softened by `distill_temperature` T and the KL scaled by T^2 (Hinton et al.).
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from gridprune.engine.artifacts import SavedProgress
from gridprune.errors import GridpruneError
from gridprune.training.examples import Example, collate, make_batches
from gridprune.training.hooks import TrainingHooks
from gridprune.training.schedule import SCHEDULES, Schedule, lr_factor
from gridprune.training.status import read_live, write_live

LOG_EVERY = 25  # updates per point of the loss curve a result records


class TrainingError(GridpruneError, ValueError):
    """Training cannot start or go on (bad settings, a save that does not fit); the message says why."""


@dataclass(frozen=True)
class TrainSpec:
    """What shapes a fine-tuning run (all of it belongs in the trial's key)."""

    steps: int
    lr: float = 5e-5
    batch_size: int = 8
    freeze_feature_encoder: bool = True
    seed: int = 0
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float | None = None
    schedule: Schedule = "constant"
    distill: float = 0.0
    distill_temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch_size < 1 or not self.lr > 0:
            raise TrainingError(f"training needs steps >= 0, batch_size >= 1 and lr > 0: {self}")
        if self.schedule not in SCHEDULES:
            raise TrainingError(f"unknown lr schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")
        if not 0 <= self.distill <= 1:
            raise TrainingError(f"distill is the weight of the distillation loss, in [0, 1], not {self.distill}")
        if not self.distill_temperature > 0:
            raise TrainingError(f"distill_temperature must be > 0, not {self.distill_temperature}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainSpec:
        """The spec from a trial's params (its keys of the same names; the rest is left to the hooks)."""
        known = {name: params[name] for name in cls.__dataclass_fields__ if params.get(name) is not None}
        if "betas" in known:
            known["betas"] = tuple(known["betas"])
        return cls(**known)


@dataclass
class TrainResult:
    """How a run went: its updates, those this attempt made, those redone after a restart, its losses."""

    steps: int
    resumed_from: int | None
    steps_redone: int
    final_loss: float | None
    loss_curve: list[list[float]]
    seconds: float
    device: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_metrics(self) -> dict[str, Any]:
        """The JSON metrics of a training outcome."""
        figures = asdict(self)
        return {**figures.pop("metrics"), **figures}


def _to_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _from_bytes(data: bytes, device: str) -> Any:
    return torch.load(io.BytesIO(data), map_location=device, weights_only=True)


def ctc_loss(logits: torch.Tensor, labels: torch.Tensor, blank: int, zero_infinity: bool) -> torch.Tensor:
    """The CTC loss of a batch as torch's `mean` (per target token, averaged over utterances), whatever the
    checkpoint's `ctc_loss_reduction`, so that `distill` weighs the two losses alike on any checkpoint.
    Every frame counts: batches carry no attention mask (a group-norm front end has none)."""
    targets = (labels != -100) & (labels != blank)
    log_probs = F.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    frames = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long)
    return F.ctc_loss(log_probs, labels.masked_select(targets), frames, targets.sum(-1), blank=blank,
                      reduction="mean", zero_infinity=zero_infinity)


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || model) of the per-frame output distributions at `temperature` T, summed over tokens,
    averaged over frames, times T^2 (so its gradients keep their size as T changes)."""
    kl = F.kl_div(F.log_softmax(logits / temperature, dim=-1), F.log_softmax(teacher_logits / temperature, dim=-1),
                  log_target=True, reduction="none").sum(-1).mean()
    return kl * temperature ** 2


class Teacher:
    """The model distilled from, with its output for each batch computed once: the teacher never changes,
    and a batch (the same examples, padded alike) gives the same output in every task of a worker."""

    def __init__(self, model: torch.nn.Module):
        self.model = model.eval()  # no dropout
        self._logits: dict[tuple[int, ...], torch.Tensor] = {}  # on the CPU, by the batch's example indices

    def logits(self, batch: Sequence[int], inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's logits for the batch of examples `batch`, whose padded input is `inputs`."""
        key = tuple(batch)
        if key not in self._logits:
            with torch.no_grad():
                self._logits[key] = self.model(input_values=inputs).logits.cpu()
        return self._logits[key].to(inputs.device)


def train(model: torch.nn.Module, examples: Sequence[Example], spec: TrainSpec, hooks: TrainingHooks,
          params: Mapping[str, Any], *, progress: SavedProgress | None = None, save_every: int = 100,
          device: str = "cpu", label: str | None = None, teacher: Teacher | None = None,
          reads: Mapping[str, Path] | None = None) -> TrainResult:
    """Fine-tune `model` in place with CTC for `spec.steps` updates (continuing from `progress` if saved);
    `teacher` (its model on `device`, built for these `examples`) is distilled from when `spec.distill` > 0;
    `reads`: the files of other trials the hooks read (`TrainingHooks.prepare`)."""
    if save_every < 1:
        raise TrainingError(f"save_every must be >= 1, not {save_every}")
    if not examples and spec.steps:
        raise TrainingError("no training examples")
    if spec.distill and teacher is None:
        raise TrainingError("distill > 0 needs a teacher model")
    started = time.perf_counter()
    model.to(device)
    hooks.prepare(model, params, reads or {})
    if spec.freeze_feature_encoder:
        model.freeze_feature_encoder()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=spec.lr, betas=spec.betas)
    batches = make_batches([len(e.inputs) for e in examples], spec.batch_size)
    live_folder = progress.folder if progress is not None else None
    saved = progress.load() if progress is not None else None
    reached = (read_live(live_folder) or {}).get("step") if live_folder is not None else None
    if saved is not None:
        state, files = saved
        model.load_state_dict(_from_bytes(files["model.pt"], device))
        optimizer.load_state_dict(_from_bytes(files["optimizer.pt"], device))
        torch.set_rng_state(_from_bytes(files["rng.pt"], "cpu"))
        if device == "cuda" and "cuda_rng.pt" in files:
            torch.cuda.set_rng_state(_from_bytes(files["cuda_rng.pt"], "cpu"))
        rng = np.random.default_rng()
        rng.bit_generator.state = state["numpy_rng"]
        step, order, curve = state["step"], list(state["order"]), state["loss_curve"]
        window, metrics = list(state["window"]), dict(state["metrics"])
        redone = state["steps_redone"] + max(0, int(reached or 0) - step)
        resumed_from: int | None = step
    else:
        torch.manual_seed(spec.seed)
        rng = np.random.default_rng(spec.seed)
        metrics = dict(hooks.start(model, params))
        step, order, curve, window, resumed_from = 0, [], [], [], None
        redone = int(reached or 0)  # an attempt killed before its first save

    def save() -> None:
        files = {"model.pt": _to_bytes(model.state_dict()), "optimizer.pt": _to_bytes(optimizer.state_dict()),
                 "rng.pt": _to_bytes(torch.get_rng_state())}
        if device == "cuda":
            files["cuda_rng.pt"] = _to_bytes(torch.cuda.get_rng_state())
        progress.save({"step": step, "order": order, "numpy_rng": rng.bit_generator.state, "loss_curve": curve,
                       "window": window, "metrics": metrics, "steps_redone": redone}, files)

    config = model.config

    def loss_of(batch: Sequence[int]) -> torch.Tensor:
        inputs, labels = collate(examples, batch)
        inputs = inputs.to(device)
        logits = model(input_values=inputs).logits
        loss = torch.zeros((), device=device)
        if spec.distill < 1:
            loss = loss + (1 - spec.distill) * ctc_loss(logits, labels.to(device), config.pad_token_id,
                                                        config.ctc_zero_infinity)
        if spec.distill:
            loss = loss + spec.distill * distillation_loss(logits, teacher.logits(batch, inputs),
                                                           spec.distill_temperature)
        extra = hooks.extra_loss(model, step, params)
        return loss if extra is None else loss + extra

    last_loss: float | None = window[-1] if window else None
    model.train()
    while step < spec.steps:
        if not order:
            order = [int(i) for i in rng.permutation(len(batches))]
        for group in optimizer.param_groups:
            group["lr"] = spec.lr * lr_factor(spec.schedule, step, spec.steps)
        hooks.before_step(model, step, params)
        loss = loss_of(batches[order.pop()])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        hooks.before_update(model, step, params)
        if spec.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(trainable, spec.grad_clip)
        optimizer.step()
        step += 1
        last_loss = float(loss.item())
        if live_folder is not None:
            write_live(live_folder, {"step": step, "steps": spec.steps, "loss": last_loss, "label": label,
                                     "resumed_from": resumed_from, "updated_at": time.time()})
        hooks.after_step(model, step, params)
        window.append(last_loss)
        if len(window) == LOG_EVERY or step == spec.steps:
            curve.append([step, float(np.mean(window))])
            window = []
        if progress is not None and step % save_every == 0 and step < spec.steps:
            save()
    model.eval()
    metrics.update(hooks.finish(model, params))
    return TrainResult(steps=step, resumed_from=resumed_from, steps_redone=redone, final_loss=last_loss,
                       loss_curve=curve, seconds=time.perf_counter() - started, device=device, metrics=metrics)
