"""The PARP sweep: train every point (one-shot, PARP, PARP-P) in parallel, then evaluate each model.

Round 0: one training trial per (variant, sparsity), plus an evaluation of the unpruned model;
round 1: an evaluation (WER on the search and held-out sets) of each trained model, reading its
weights artifact. Told one outcome at a time, checkpointed after each.
"""

from __future__ import annotations

from typing import Any, Sequence

from gridprune.engine import Trial
from gridprune.methods.parp.settings import ParpSettings
from gridprune.methods.sweep import UNPRUNED, TrainingSweep


def label(variant: str, sparsity: float) -> str:
    """The name of a point: `parp s=0.50`, `one-shot s=0.50`, `parp-p s=0.70`."""
    return f"{variant} s={sparsity:.2f}"


def training_trials(settings: ParpSettings, seed: int) -> list[Trial]:
    """The training trials of the settings, in a fixed order: for each point one-shot, PARP, PARP-P."""
    trials = []
    common = {"prune_biases": settings.prune_biases}
    shaping = {"reprune_every": settings.reprune_every, "lr": settings.lr, "schedule": settings.schedule,
               "distill": settings.distill, "batch_size": settings.batch_size,
               "freeze_feature_encoder": settings.freeze_feature_encoder, "seed": seed}
    for sparsity in settings.points():
        if settings.oneshot or settings.steps == 0:
            trials.append(Trial("train", {**common, "sparsity": sparsity, "steps": 0, "reprune_every": 1,
                                          "start": None}, label("one-shot", sparsity)))
        if settings.steps:
            trials.append(Trial("train", {**common, **shaping, "sparsity": sparsity, "steps": settings.steps,
                                          "start": None}, label("parp", sparsity)))
        if sparsity in settings.progressive_points():
            trials.append(Trial("train", {**common, **shaping, "sparsity": sparsity, "steps": settings.steps,
                                          "start": settings.progressive.start}, label("parp-p", sparsity)))
    return trials


class ParpSweep(TrainingSweep):
    """Round 0: the trainings and the unpruned model's evaluation; round 1: the trained models' evaluations."""

    planned_rounds = 2

    @property
    def round(self) -> int:
        first = all(t.label in self.trained for t in self.trials) and UNPRUNED in self.scores
        return 0 if not first else 1 + self.all_evaluated()

    @property
    def finished(self) -> bool:
        return self.round == 2 or (self.round == 1 and not self.trained_ok())  # every training failed

    def ask(self) -> list[Trial]:
        if self.round == 0:
            asked = [t for t in self.trials if t.label not in self.trained]
            if UNPRUNED not in self.scores:
                asked.append(Trial("evaluate", {"weights": None}, UNPRUNED))
            return asked
        return self.evaluations_left()

    def state_dict(self) -> dict[str, Any]:
        return {"trials": [t.to_json() for t in self.trials], "trained": self.trained, "scores": self.scores}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ParpSweep:
        return cls([Trial.from_json(t) for t in state["trials"]], state["trained"], state["scores"])

    def points(self) -> list[dict[str, Any]]:
        """One row per trained model: variant, sparsity, measured sparsity, WERs, steps redone."""
        rows = []
        for trial, trained, metrics in self.rows():
            train_metrics = trained.get("metrics", {})
            rows.append({
                "label": trial.label, "variant": trial.label.split(" ")[0], "sparsity": trial.params["sparsity"],
                "steps": trial.params["steps"], "key": trained.get("key"),
                "sparsity_measured": train_metrics.get("sparsity_measured"),
                "steps_redone": train_metrics.get("steps_redone"), "final_loss": train_metrics.get("final_loss"),
                "wer": metrics.get("wer"), "heldout_wer": metrics.get("heldout_wer"),
            })
        return rows


def headline(points: Sequence[dict[str, Any]]) -> str | None:
    """The label of the sweep's main result: its most sparse evaluated point, PARP before one-shot at a tie."""
    done = [p for p in points if p["key"] is not None and p["wer"] is not None]
    return max(done, key=lambda p: (p["sparsity"], p["variant"] != "one-shot"))["label"] if done else None
