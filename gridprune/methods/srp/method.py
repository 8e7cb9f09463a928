"""`srp`: score the FFN neurons and attention dimensions once, shrink the gates of the least important while the rest
trains, remove them physically; a sweep of keep fractions as parallel trainings, one-shot removal beside each."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from gridprune.adapters.base import absolute_source
from gridprune.engine import Strategy, TaskKind
from gridprune.methods.srp import settings as srp_settings
from gridprune.methods.srp.settings import SrpSettings
from gridprune.methods.srp.strategy import SrpSweep, headline, score_trial, training_trials
from gridprune.methods.sweep import SweepMethod
from gridprune.store import RunDir


class Srp(SweepMethod):
    """The `srp` job type: stage 2 of selective regularisation pruning (FFN neurons, attention dimensions)."""

    name = "srp"
    section = "srp"
    Settings = SrpSettings
    Sweep = SrpSweep
    axis = ("keep", "kept fraction of the parameters")
    headline = staticmethod(headline)
    point_column = ("kept_fraction", "kept (of the parameters)")
    headline_means = "the smallest keep evaluated"
    summary = ("SRP: remove the least important FFN neurons and per-head query/key and value dimensions, their gates "
               "shrunk to 0 while the rest trains; a sweep of kept parameter fractions, one-shot removal beside each")

    def check(self, config: Any, settings: SrpSettings) -> None:
        srp_settings.check(config, settings)

    def kinds(self, config: Any, settings: Any) -> Mapping[str, TaskKind]:
        from gridprune.methods.srp.hooks import SrpHooks
        from gridprune.methods.srp.scoring import ScoreFactory, scoring_kind
        from gridprune.training.evaluate import EvaluateFactory, evaluation_kind
        from gridprune.training.kind import TrainingFactory, training_kind

        train_path, train_audio = absolute_source(settings.train)
        heldout = absolute_source(config.heldout)
        return {"score": scoring_kind(ScoreFactory(config.model, train_path, train_audio)),
                "train": training_kind(TrainingFactory(config.model, train_path, train_audio, SrpHooks(),
                                                       settings.save_every)),
                "evaluate": evaluation_kind(EvaluateFactory(config.model, absolute_source(config.data), heldout))}

    def new_strategy(self, run: RunDir, config: Any, settings: Any) -> Strategy:
        return SrpSweep(score_trial(settings, config.seed), training_trials(settings, config.seed))

    def export(self, run: RunDir, config: Any, settings: Any, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.srp.export import export_sweep

        return export_sweep(self.saved_sweep(run), run, config, Path(out), threads=threads, rounds=rounds)
