"""`parp`: prune, adjust (pruned weights may regrow), re-prune; a sparsity sweep as parallel training tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from gridprune.adapters.base import absolute_source
from gridprune.engine import Strategy, TaskKind
from gridprune.methods.parp import settings as parp_settings
from gridprune.methods.parp.settings import ParpSettings
from gridprune.methods.parp.strategy import ParpSweep, headline, training_trials
from gridprune.methods.sweep import SweepMethod
from gridprune.store import RunDir


class Parp(SweepMethod):
    """The `parp` job type (Lai et al., NeurIPS 2021)."""

    name = "parp"
    section = "parp"
    Settings = ParpSettings
    Sweep = ParpSweep
    axis = ("sparsity", "sparsity")
    headline = staticmethod(headline)
    point_column = ("sparsity_measured", "sparsity (of the prunable weights)")
    headline_means = "the most sparse point evaluated"
    summary = ("PARP: prune the smallest attention and FFN weights globally, fine-tune letting them regrow, "
               "re-prune; a sweep of sparsities as parallel trainings, one-shot pruning beside each")

    def check(self, config: Any, settings: ParpSettings) -> None:
        parp_settings.check(config, settings)

    def kinds(self, config: Any, settings: Any) -> Mapping[str, TaskKind]:
        from gridprune.methods.parp.hooks import ParpHooks
        from gridprune.training.evaluate import EvaluateFactory, evaluation_kind
        from gridprune.training.kind import TrainingFactory, training_kind

        train_path, train_audio = absolute_source(settings.train)
        training = TrainingFactory(config.model, train_path, train_audio, ParpHooks(), settings.save_every)
        heldout = absolute_source(config.heldout)
        evaluate = EvaluateFactory(config.model, absolute_source(config.data), heldout)
        return {"train": training_kind(training), "evaluate": evaluation_kind(evaluate)}

    def new_strategy(self, run: RunDir, config: Any, settings: Any) -> Strategy:
        return ParpSweep(training_trials(settings, config.seed))

    def export(self, run: RunDir, config: Any, settings: Any, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.parp.export import export_sweep

        return export_sweep(self.saved_sweep(run), run, config, settings, Path(out), threads=threads, rounds=rounds)
