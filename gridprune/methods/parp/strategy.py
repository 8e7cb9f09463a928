"""The PARP sweep: train every point (one-shot, PARP, PARP-P) in parallel, then evaluate each model.

Round 0: one training trial per (variant, sparsity), plus an evaluation of the unpruned model;
round 1: an evaluation (WER on the search and held-out sets) of each trained model, reading its
weights artifact. Told one outcome at a time, checkpointed after each.
"""

from __future__ import annotations

from typing import Any, Sequence

from gridprune.engine import Outcome, Trial, read_checkpoint
from gridprune.methods.parp.settings import ParpSettings

UNPRUNED = "unpruned"


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


class ParpSweep:
    """Not synchronous: each outcome is told as it arrives."""

    synchronous = False
    planned_rounds = 2

    def __init__(self, trials: Sequence[Trial], trained: dict[str, Any] | None = None,
                 scores: dict[str, Any] | None = None):
        self.trials = list(trials)
        self.trained: dict[str, Any] = dict(trained or {})  # label -> {"key", "ok", "metrics"}
        self.scores: dict[str, Any] = dict(scores or {})  # label -> {"value", "metrics"} (None: failed)

    def _trained_ok(self) -> list[str]:
        return [t.label for t in self.trials if self.trained.get(t.label, {}).get("ok")]

    @property
    def round(self) -> int:
        first = all(t.label in self.trained for t in self.trials) and UNPRUNED in self.scores
        if not first:
            return 0
        ok = self._trained_ok()
        return 1 + (bool(ok) and all(name in self.scores for name in ok))

    @property
    def finished(self) -> bool:
        return self.round == 2 or (self.round == 1 and not self._trained_ok())  # every training failed

    @property
    def best(self) -> tuple[Trial, float] | None:
        done = sorted((s["value"], name) for name, s in self.scores.items()
                      if s is not None and s["value"] is not None and name != UNPRUNED)
        if not done:
            return None
        name = done[0][1]
        return Trial("evaluate", {"weights": self.trained[name]["key"]}, name), done[0][0]

    def ask(self) -> list[Trial]:
        if self.round == 0:
            asked = [t for t in self.trials if t.label not in self.trained]
            if UNPRUNED not in self.scores:
                asked.append(Trial("evaluate", {"weights": None}, UNPRUNED))
            return asked
        return [Trial("evaluate", {"weights": self.trained[name]["key"]}, name)
                for name in self._trained_ok() if name not in self.scores]

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        if trial.kind == "train":
            self.trained[trial.label] = {"key": outcome.key, "ok": outcome.ok, "params": trial.params,
                                         "metrics": outcome.metrics if outcome.ok else {"error": outcome.error}}
        else:
            self.scores[trial.label] = {"value": outcome.value, "metrics": outcome.metrics} if outcome.ok else None

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None:
        raise NotImplementedError("a sweep is told one outcome at a time")

    def state_dict(self) -> dict[str, Any]:
        return {"trials": [t.to_json() for t in self.trials], "trained": self.trained, "scores": self.scores}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ParpSweep:
        return cls([Trial.from_json(t) for t in state["trials"]], state["trained"], state["scores"])

    def points(self) -> list[dict[str, Any]]:
        """One row per trained model: variant, sparsity, measured sparsity, WERs, steps redone."""
        rows = []
        for trial in self.trials:
            trained = self.trained.get(trial.label)
            score = self.scores.get(trial.label)
            metrics = (score or {}).get("metrics", {})
            train_metrics = (trained or {}).get("metrics", {})
            rows.append({
                "label": trial.label, "variant": trial.label.split(" ")[0], "sparsity": trial.params["sparsity"],
                "steps": trial.params["steps"], "key": (trained or {}).get("key"),
                "sparsity_measured": train_metrics.get("sparsity_measured"),
                "steps_redone": train_metrics.get("steps_redone"), "final_loss": train_metrics.get("final_loss"),
                "wer": metrics.get("wer"), "heldout_wer": metrics.get("heldout_wer"),
            })
        return rows


def headline(points: Sequence[dict[str, Any]]) -> str | None:
    """The label of the sweep's main result: its most sparse evaluated point, PARP before one-shot at a tie."""
    done = [p for p in points if p["key"] is not None and p["wer"] is not None]
    return max(done, key=lambda p: (p["sparsity"], p["variant"] != "one-shot"))["label"] if done else None


def saved_sweep(run: Any) -> ParpSweep | None:
    """The sweep as the run's checkpoint holds it; None before the first checkpoint."""
    saved = read_checkpoint(run)
    return ParpSweep.from_state_dict(saved["strategy"]) if saved else None
