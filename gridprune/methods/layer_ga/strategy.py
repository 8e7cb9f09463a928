"""The per-layer mask GA on the engine: a plan of stages, each a few rounds of trials.

- `baseline`: the unpruned model's WER (search and held-out sets), which sets the ceiling, and the magnitude
  scores of every target.
- `search`: one target's search (sequential mode) or every target's at once (independent mode), one round per
  generation (a step of two children for the original's operators). A mask evaluation decodes the base (the
  weights trained so far with the masks chosen so far) with the candidate mask on its target, under the
  ceiling the search allows.
- sequential mode, after a target: `finetune` (a training trial holding every mask so far), then the new
  weights' magnitude scores for the targets still to come.
- independent mode: `repair`: the combined masks evaluated; while over the ceiling, `population` candidates
  in parallel, each restoring more of every target's pruned genes (largest magnitude first) the more the target
  hurt alone; if one is within the ceiling, a finer round of `population` candidates between it and the one
  before it, and the least restored within the ceiling is kept; if none is, the most restored, and another round.
- `final`: a training trial holding all masks (`final_steps` updates; 0 still writes the masked model), and
  its evaluation. Its model is what export writes.

Masks travel as digests of packed masks stored as trial inputs (`gridprune.store.inputs`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from gridprune.engine import Outcome, Trial, artifact_dir
from gridprune.methods.layer_ga.evaluate import MAGNITUDE_FILE
from gridprune.methods.layer_ga.masks import pack_mask, unpack_mask
from gridprune.methods.layer_ga.operators import at_density, sparsity
from gridprune.methods.layer_ga.search import DensitySearch, GenerationalSearch, OriginalSearch
from gridprune.methods.layer_ga.settings import LayerGaSettings
from gridprune.methods.sweep import UNPRUNED
from gridprune.store import RunDir
from gridprune.store.inputs import put_input, read_input

FINAL = "final"
Search = OriginalSearch | GenerationalSearch | DensitySearch


def stages(mode: str, settings: LayerGaSettings, targets: Sequence[str]) -> list[dict[str, Any]]:
    """The plan: each stage's name and the targets it works on."""
    plan: list[dict[str, Any]] = [{"stage": "baseline"}]
    if mode == "independent":
        plan += [{"stage": "search", "targets": list(targets)}, {"stage": "repair"}]
    else:
        for index, target in enumerate(targets):
            plan.append({"stage": "search", "targets": [target]})
            if settings.finetune_steps and index < len(targets) - 1:
                plan += [{"stage": "finetune", "target": target}, {"stage": "magnitude", "targets": targets[index + 1:]}]
    return plan + [{"stage": "final"}, {"stage": "evaluate"}]


class LayerGaStrategy:
    """Told a whole round at once, in the order asked."""

    synchronous = True
    planned_rounds = None  # searches stop early and repairs take as many rounds as they need

    def __init__(self, run: RunDir, settings: LayerGaSettings, targets: Sequence[str], seed: int,
                 state: dict[str, Any] | None = None):
        self.run, self.settings, self.targets, self.seed = run, settings, list(targets), seed
        # a run keeps the mode and masks it started with; a state saved before `auto` existed had them explicit
        # or at their former defaults (sequential; the GA's masks)
        self.mode: str = state.get("mode", settings.mode if settings.mode != "auto" else "sequential") if state \
            else settings.mode_used
        self.masks: str = state.get("masks", "search") if state else settings.masks_used
        self.plan = stages(self.mode, settings, self.targets)
        state = state or {}
        self.stage: int = state.get("stage", 0)
        self.round: int = state.get("round", 0)
        self.baseline: dict[str, Any] | None = state.get("baseline")  # the unpruned model's metrics
        self.genes: dict[str, int] = state.get("genes", {})  # target -> its gene count
        self.magnitude: str | None = state.get("magnitude")  # key of the latest magnitude scores
        self.weights: str | None = state.get("weights")  # key of the latest trained weights (None: unpruned)
        self.chosen: dict[str, str | None] = state.get("chosen", {})  # target -> mask digest (None: unpruned)
        self.errors: dict[str, float | None] = state.get("errors", {})  # target -> error of its chosen mask
        self.sparsities: dict[str, float] = state.get("sparsities", {})  # target -> sparsity of its chosen mask
        self.hurt: dict[str, float] = state.get("hurt", {})  # target -> the WER increase its search's mask made
        self.repairs: int = state.get("repairs", 0)
        # the restoration scales the finer repair round spans (the last one over and the first one within the
        # ceiling of the coarse round); None while coarse rounds go on
        self.repair_span: list[float] | None = state.get("repair_span")
        self.final: dict[str, Any] | None = state.get("final")  # {"key", "metrics"} of the final evaluation
        self.failed: str | None = state.get("failed")
        self.searches: dict[str, Search] = {}
        self._scores: dict[str, np.ndarray] | None = None
        if self._current("stage") == "search":
            for target in self._current("targets"):
                self.searches[target] = self._new_search(target)
                if target in state.get("searches", {}):
                    self.searches[target].load_state_dict(state["searches"][target], self._load)
        self._asked: list[Any] = []  # the search's target, or the repair's variant, of each trial asked

    # ------------------------------------------------------------ state

    def _current(self, key: str) -> Any:
        return self.plan[self.stage].get(key) if self.stage < len(self.plan) else None

    def state_dict(self) -> dict[str, Any]:
        return {"targets": self.targets, "stage": self.stage, "round": self.round, "baseline": self.baseline,
                "genes": self.genes,
                "magnitude": self.magnitude, "weights": self.weights, "chosen": self.chosen, "errors": self.errors,
                "sparsities": self.sparsities, "hurt": self.hurt, "repairs": self.repairs, "repair_span": self.repair_span,
                "final": self.final, "failed": self.failed, "mode": self.mode, "masks": self.masks,
                "summary": self.summary(),
                "searches": {t: s.state_dict(self._store) for t, s in self.searches.items()}}

    def _store(self, mask: np.ndarray) -> str:
        return put_input(self.run, pack_mask(mask))

    def _load(self, digest: str) -> np.ndarray:
        return unpack_mask(read_input(self.run, digest))

    def chosen_masks(self) -> dict[str, np.ndarray]:
        """The mask chosen for each pruned target."""
        return {target: self._load(digest) for target, digest in self.chosen.items() if digest is not None}

    @property
    def finished(self) -> bool:
        return self.failed is not None or self.stage >= len(self.plan)

    @property
    def best(self) -> tuple[Trial, float] | None:
        if self.final is None or self.final["metrics"].get("wer") is None:
            return None
        return Trial("evaluate", {"weights": self.weights}, FINAL), self.final["metrics"]["wer"]

    @property
    def ceiling(self) -> float:
        """The error the final model may reach: the unpruned model's plus max_wer_increase."""
        return self.baseline["wer"] + self.settings.max_wer_increase

    def target_ceiling(self, target: str) -> float:
        """The error a mask on `target` may reach. Sequential with `budget: spread`: the increase shared out, the
        i-th of n targets up to i/n of it (so the first targets do not spend what the later ones need); else
        the whole ceiling."""
        if self.mode == "sequential" and self.settings.budget == "spread":
            share = (self.targets.index(target) + 1) / len(self.targets)
            return self.baseline["wer"] + self.settings.max_wer_increase * share
        return self.ceiling

    def base(self, chosen: dict[str, str | None] | None = None) -> dict[str, Any]:
        """What an evaluation starts from: the latest trained weights with masks (default: those chosen so far)."""
        chosen = self.chosen if chosen is None else chosen
        return {"weights": self.weights, "masks": {t: d for t, d in sorted(chosen.items()) if d is not None}}

    def scores(self, target: str) -> np.ndarray:
        """The magnitude scores of `target` from the latest magnitude trial."""
        if self._scores is None:
            with np.load(artifact_dir(self.run, self.magnitude) / MAGNITUDE_FILE) as saved:
                self._scores = {name: saved[name] for name in saved.files}
        return self._scores[target]

    def _new_search(self, target: str) -> Search:
        s = self.settings
        seed = self.seed * 1_000_003 + self.targets.index(target)
        if s.operators == "original":
            floor = s.floor if s.floor is not None else max(0.0, 1.0 - self.target_ceiling(target))
            return OriginalSearch(len(self.scores(target)), size=s.population, generations=s.generations,
                                  mutation_rate=s.mutation_rate, w=s.w, floor=floor,
                                  stop_sparsity=s.early_stop_sparsity, seed=seed)
        if self.masks == "magnitude":
            return DensitySearch(self.scores(target), size=s.population, generations=s.generations,
                                 ceiling=self.target_ceiling(target), stop_sparsity=s.early_stop_sparsity)
        return GenerationalSearch(self.scores(target), size=s.population, generations=s.generations,
                                  mutation_rate=s.mutation_rate, objective=s.objective,
                                  ceiling=self.target_ceiling(target),
                                  target=s.target_sparsity, stop_sparsity=s.early_stop_sparsity,
                                  pressure=s.pressure, seed=seed)

    # ------------------------------------------------------------ ask

    def ask(self) -> list[Trial]:
        stage = self._current("stage")
        self._asked = []  # the search's target, or the repair's variant, of each trial
        if stage == "baseline":
            return [Trial("evaluate", {"weights": None}, UNPRUNED), self._magnitude_trial(self.targets)]
        if stage == "magnitude":
            return [self._magnitude_trial(self._current("targets"))]
        if stage == "search":
            return self._search_trials()
        if stage == "repair":
            return self._repair_trials()
        if stage == "finetune":
            return [self._training_trial(self.settings.finetune_steps, f"finetune {self._current('target')}")]
        if stage == "final":
            return [self._training_trial(self.settings.final_steps, FINAL)]
        return [Trial("evaluate", {"weights": self.weights}, FINAL)]

    def _search_trials(self) -> list[Trial]:
        base, trials = self.base(), []
        for target, search in self.searches.items():
            if search.finished:
                continue
            ceiling = search.ceiling
            for mask in search.ask():
                params = {"base": base, "target": target, "mask": self._store(mask), "unit": self.settings.unit,
                          "wer_ceiling": ceiling}
                trials.append(Trial("evaluate_mask", params, f"{target} g{search.round}"))
                self._asked.append(target)
        return trials

    def _magnitude_trial(self, targets: Sequence[str]) -> Trial:
        return Trial("magnitude", {"weights": self.weights, "targets": list(targets), "unit": self.settings.unit},
                     "magnitude")

    def _training_trial(self, steps: int, label: str) -> Trial:
        s = self.settings
        params = {"inputs": self.base()["masks"], "unit": s.unit, "start_from": self.weights, "steps": steps,
                  "lr": s.lr, "batch_size": s.batch_size, "distill": s.distill,
                  "freeze_feature_encoder": s.freeze_feature_encoder, "seed": self.seed}
        return Trial("train", params, label)

    def _repair_scales(self) -> list[float]:
        """The restoration scale of each candidate of a repair round: j/n for j = 1..n in a coarse round, n steps
        across `repair_span` in a finer one (its last, the coarse round's first within the ceiling, comes from
        the store)."""
        steps = self.settings.population
        low, high = self.repair_span or (0.0, 1.0)
        return [low + (high - low) * step / steps for step in range(1, steps + 1)]

    def _repair_candidates(self) -> list[dict[str, str | None]]:
        """The combined masks as they stand (first repair round); then a variant per scale s, restoring in every
        pruned target the share s of its pruned genes scaled by how much the target hurt alone (its search's WER
        increase over the worst's), the highest-scored genes first."""
        if self.repairs == 0:
            return [dict(self.chosen)]
        pruned = {t: self._load(d) for t, d in sorted(self.chosen.items()) if d is not None}
        # a target whose search's figure is unknown counts as the worst; one that hurt nothing still gives back a
        # little, so that the last candidate restores the worst target whole and every round makes progress
        hurt = {t: max(self.hurt.get(t, float("inf")), 0.0) + 1e-6 for t in pruned}
        finite = [h for h in hurt.values() if h != float("inf")]
        hurt = {t: h if h != float("inf") else max(finite, default=1.0) for t, h in hurt.items()}
        worst = max(hurt.values())
        variants = []
        for scale in self._repair_scales():
            variant = dict(self.chosen)
            for target, mask in pruned.items():
                share = min(1.0, scale * hurt[target] / worst)
                count = int((~mask).sum())
                restored = at_density(mask, self.scores(target), count - round(share * count))
                variant[target] = None if restored.all() else self._store(restored)
            variants.append(variant)
        return variants

    def _repair_trials(self) -> list[Trial]:
        trials = []
        for variant in self._repair_candidates():
            params = {"base": self.base(variant), "target": None, "mask": None,
                      "unit": self.settings.unit, "wer_ceiling": None}
            trials.append(Trial("evaluate_mask", params, f"repair {self.repairs}"))
            self._asked.append(variant)
        return trials

    # ------------------------------------------------------------ tell

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        raise NotImplementedError("told a whole round at once")

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None:
        stage = self._current("stage")
        failed = [(t, o) for t, o in zip(trials, outcomes) if not o.ok]
        if failed and (stage not in ("search", "repair") or len(failed) == len(trials)):
            trial, outcome = failed[0]
            self.failed = f"{trial.label}: {outcome.error}"
        elif stage == "baseline":
            self.baseline, self.genes = outcomes[0].metrics, outcomes[1].metrics["genes"]
            self._new_scores(outcomes[1])
        elif stage == "magnitude":
            self._new_scores(outcomes[0])
        elif stage == "search":
            self._tell_searches(outcomes)
        elif stage == "repair":
            self._tell_repair(outcomes)
        elif stage in ("finetune", "final"):
            self.weights = outcomes[0].key
        elif stage == "evaluate":
            self.final = {"key": outcomes[0].key, "metrics": outcomes[0].metrics}
        if self.failed is None and stage not in ("search", "repair"):
            self._advance()
        self.round += 1

    def _new_scores(self, outcome: Outcome) -> None:
        self.magnitude, self._scores = outcome.key, None

    def _tell_searches(self, outcomes: Sequence[Outcome]) -> None:
        errors: dict[str, list[float | None]] = {}
        for target, outcome in zip(self._asked, outcomes):
            errors.setdefault(target, []).append(outcome.value if outcome.ok else None)
        for target, values in errors.items():
            self.searches[target].tell(values)
        if all(search.finished for search in self.searches.values()):
            for target, search in self.searches.items():
                mask = search.best()
                self._choose(target, None if mask is None or mask.all() else mask)
                self.errors[target] = None if mask is None else search.error_of(mask)
                if self.errors[target] is not None:
                    self.hurt[target] = self.errors[target] - self.baseline["wer"]
            self.searches = {}
            self._advance()

    def _choose(self, target: str, mask: np.ndarray | None) -> None:
        self.chosen[target] = None if mask is None else self._store(mask)
        self.sparsities[target] = 0.0 if mask is None else sparsity(mask)

    def _tell_repair(self, outcomes: Sequence[Outcome]) -> None:
        """After a coarse round with a variant within the ceiling, a finer round between it and the one before;
        after a finer round, the least restored variant within the ceiling; if none is, the most restored, to
        repair further."""
        errors = [o.value if o.ok and o.value is not None else float("inf") for o in outcomes]
        within = [i for i, error in enumerate(errors) if error <= self.ceiling]
        if within and self.repairs > 0 and self.repair_span is None and self.settings.population > 1:
            scales = self._repair_scales()
            self.repair_span = [scales[within[0] - 1] if within[0] else 0.0, scales[within[0]]]
            self.repairs += 1
            return
        self.repair_span = None
        index = within[0] if within else len(errors) - 1
        for target, digest in self._asked[index].items():
            if digest != self.chosen[target]:
                self._choose(target, None if digest is None else self._load(digest))
                self.errors[target] = None  # its search's figure was of the mask before the repair
        self.repairs += 1
        if within or all(d is None for d in self.chosen.values()):
            self._advance()

    def _advance(self) -> None:
        self.stage += 1
        if self._current("stage") == "search":
            self.searches = {t: self._new_search(t) for t in self._current("targets")}

    # ------------------------------------------------------------ status and export

    def describe_round(self) -> dict[str, Any]:
        return {"stage": self._current("stage") or "done"}

    def summary(self) -> dict[str, Any]:
        """What status and export show: the stage, the baseline, each target's chosen sparsity and error."""
        rows = []
        for target in self.targets:
            search = self.searches.get(target)
            if target in self.chosen:
                rows.append({"target": target, "state": "done", "sparsity": self.sparsities[target],
                             "error": self.errors.get(target)})
            elif search is not None:
                best = search.best()
                rows.append({"target": target, "state": f"round {search.round}",
                             "sparsity": None if best is None else sparsity(best), "error": None})
            else:
                rows.append({"target": target, "state": "waiting", "sparsity": None, "error": None})
        return {"stage": self._current("stage") or "done", "baseline": self.baseline, "targets": rows,
                "repairs": self.repairs, "final": (self.final or {}).get("metrics"), "failed": self.failed}
