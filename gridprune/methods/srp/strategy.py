"""The SRP sweep: score once, train every keep (SRP, one-shot, one-shot fine-tuned) in parallel, evaluate each model.

Round 0: the scoring trial (its artifact: every keep's selection) and the evaluation of the unpruned model;
round 1: one training trial per (variant, keep), reading the selection; round 2: the evaluation (WER on the
search and held-out sets) of each trained model. Told one outcome at a time, checkpointed after each.
"""

from __future__ import annotations

from typing import Any, Sequence

from gridprune.engine import Outcome, Trial
from gridprune.methods.srp.scoring import SELECTION_FILE
from gridprune.methods.srp.settings import SrpSettings
from gridprune.methods.sweep import UNPRUNED, TrainingSweep

SCORE = "score"


def label(variant: str, keep: float) -> str:
    """The name of a point: `srp k=0.60`, `one-shot k=0.60`, `one-shot+ft k=0.60`."""
    return f"{variant} k={keep:.2f}"


def score_trial(settings: SrpSettings, seed: int) -> Trial:
    """The scoring trial: every keep's selection from one importance."""
    return Trial("score", {"score": settings.score, "score_batches": settings.score_batches,
                           "batch_size": settings.batch_size, "seed": seed, "keep": settings.points(),
                           "qk_keep": settings.qk_keep, "v_keep": settings.v_keep}, SCORE)


def training_trials(settings: SrpSettings, seed: int) -> list[Trial]:
    """The training trials, in a fixed order: for each keep one-shot, SRP, one-shot fine-tuned (without the
    scoring trial's key, which `SrpSweep` adds once it is known)."""
    shaping = {"lr": settings.lr, "batch_size": settings.batch_size, "distill": settings.distill,
               "distill_temperature": settings.distill_temperature,
               "freeze_feature_encoder": settings.freeze_feature_encoder, "seed": seed,
               "shrink_schedule": settings.schedule}
    trials = []
    for keep in settings.points():
        if settings.oneshot or not settings.steps:
            trials.append(Trial("train", {"keep": keep, "steps": 0, "shrink_steps": 0}, label("one-shot", keep)))
        if settings.steps:
            trials.append(Trial("train", {**shaping, "keep": keep, "steps": settings.steps,
                                          "shrink_steps": settings.shrink_steps}, label("srp", keep)))
            if settings.oneshot_finetune:
                trials.append(Trial("train", {**shaping, "keep": keep, "steps": settings.steps, "shrink_steps": 0},
                                    label("one-shot+ft", keep)))
    return trials


class SrpSweep(TrainingSweep):
    """Round 0: the scoring and the unpruned model's evaluation; round 1: the trainings, reading the selection;
    round 2: the trained models' evaluations."""

    planned_rounds = 3

    def __init__(self, scoring: Trial, trials: Sequence[Trial], scored: dict[str, Any] | None = None,
                 trained: dict[str, Any] | None = None, scores: dict[str, Any] | None = None):
        super().__init__(trials, trained, scores)
        self.scoring = scoring
        self.scored: dict[str, Any] | None = scored  # {"key", "ok", "metrics"} of the scoring trial

    @property
    def round(self) -> int:
        if self.scored is None or UNPRUNED not in self.scores:
            return 0
        if not self.scored["ok"] or not all(t.label in self.trained for t in self.trials):
            return 1
        return 2 + self.all_evaluated()

    @property
    def finished(self) -> bool:
        failed = (self.round == 1 and not self.scored["ok"]) or (self.round == 2 and not self.trained_ok())
        return self.round == 3 or failed

    def ask(self) -> list[Trial]:
        if self.round == 0:
            asked = [] if self.scored is not None else [self.scoring]
            return asked + ([] if UNPRUNED in self.scores else [Trial("evaluate", {"weights": None}, UNPRUNED)])
        if self.round == 1:
            reads = {"selection": [self.scored["key"], SELECTION_FILE]}
            return [] if not self.scored["ok"] else [Trial(t.kind, {**t.params, "reads": reads}, t.label)
                                                     for t in self.trials if t.label not in self.trained]
        return self.evaluations_left()

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        if trial.kind != "score":
            return super().tell(trial, outcome)
        self.scored = {"key": outcome.key, "ok": outcome.ok,
                       "metrics": outcome.metrics if outcome.ok else {"error": outcome.error}}

    def state_dict(self) -> dict[str, Any]:
        return {"scoring": self.scoring.to_json(), "trials": [t.to_json() for t in self.trials],
                "scored": self.scored, "trained": self.trained, "scores": self.scores}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SrpSweep:
        return cls(Trial.from_json(state["scoring"]), [Trial.from_json(t) for t in state["trials"]],
                   state["scored"], state["trained"], state["scores"])

    def points(self) -> list[dict[str, Any]]:
        """One row per training trial: variant, keep, the fraction kept, WERs, updates redone."""
        kept = (self.scored or {}).get("metrics", {}).get("kept_fractions", {})
        rows = []
        for trial, trained, metrics in self.rows():
            keep = trial.params["keep"]
            rows.append({
                "label": trial.label, "variant": trial.label.split(" ")[0], "keep": keep,
                "kept_fraction": kept.get(repr(keep)), "steps": trial.params["steps"],
                "key": trained.get("key"), "steps_redone": trained.get("metrics", {}).get("steps_redone"),
                "final_loss": trained.get("metrics", {}).get("final_loss"),
                "wer": metrics.get("wer"), "heldout_wer": metrics.get("heldout_wer"),
            })
        return rows


def headline(points: Sequence[dict[str, Any]]) -> str | None:
    """The label of the sweep's main result: its smallest evaluated keep, SRP before the baselines at a tie."""
    done = [p for p in points if p["key"] is not None and p["wer"] is not None]
    return min(done, key=lambda p: (p["keep"], p["variant"] != "srp"))["label"] if done else None
