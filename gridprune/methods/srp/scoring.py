"""The scoring task kind: each group's importance on fixed training batches, and the selection of every keep.

Its artifact `selection.json` holds, per keep fraction, the plan (counts, the fraction kept) and the
kept groups; the training trials read it, so a resumed training never scores again. The loss scored
is CTC alone: at c = 1 the pruned model is the unpruned one, and the original's distillation term has
no gradient there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridprune.engine.kinds import Resources, Task, TaskContext, TaskKind

SELECTION_FILE = "selection.json"


@dataclass(frozen=True)
class ScoreFactory:
    """Picklable recipe of a scoring handler: the base model and the training set."""

    model: str
    train_path: str
    train_audio_dir: str | None

    def __call__(self, threads: int) -> ScoreHandler:
        return ScoreHandler(self, threads)


class ScoreHandler:
    """Loads the model and the training examples once per worker; scores, selects and publishes per task."""

    def __init__(self, spec: ScoreFactory, threads: int):
        from gridprune.models.worker import load_for_worker
        from gridprune.training.examples import load_examples

        self.checkpoint, (train_set,) = load_for_worker(threads, spec.model, [(spec.train_path, spec.train_audio_dir)])
        self.examples = load_examples(train_set, self.checkpoint.processor)

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]:
        from gridprune.methods.srp.budget import budget_of, plan
        from gridprune.methods.srp.gates import importance
        from gridprune.methods.srp.selection import select

        params = task["params"]
        model = self.checkpoint.model
        gradient = params["score"] != "l1"  # the l1 score reads the weights alone
        scores = importance(model, params["score"], self.batches(params) if gradient else (), self._loss(model))
        budget = budget_of(model)
        selections = {}
        for keep in params["keep"]:
            chosen = plan(budget, keep, params.get("qk_keep"), params.get("v_keep"))
            selections[repr(keep)] = {"plan": chosen.to_json(), **select(scores, chosen, budget.heads)}
        context.artifacts.write_json(SELECTION_FILE, selections)
        kept = {keep: entry["plan"]["kept_fraction"] for keep, entry in selections.items()}
        return {"value": None, "metrics": {"parameters": budget.parameters, "kept_fractions": kept}}

    def batches(self, params: dict[str, Any]) -> list[tuple[Any, Any]]:
        """The first `score_batches` of the training set's batches in a seeded order (the same in every worker)."""
        import numpy as np

        from gridprune.training.examples import collate, make_batches

        batches = make_batches([len(e.inputs) for e in self.examples], params["batch_size"])
        order = np.random.default_rng(params["seed"]).permutation(len(batches))[:params["score_batches"]]
        return [collate(self.examples, batches[index]) for index in order]

    @staticmethod
    def _loss(model: Any) -> Any:
        from gridprune.training.loop import ctc_loss

        config = model.config
        return lambda logits, labels: ctc_loss(logits, labels, config.pad_token_id, config.ctc_zero_infinity)


def scoring_kind(factory: ScoreFactory) -> TaskKind:
    """A few forward/backward passes on the base model: short, one task per job."""
    return TaskKind("score", factory, Resources(cpus=2, mem_gb=6.0, time_min=60), tasks_per_job=1)


def selection_of(selections: dict[str, Any], keep: float) -> dict[str, Any]:
    """The entry of `keep` in a `selection.json`."""
    return selections[repr(keep)]
