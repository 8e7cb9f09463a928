"""`parp`: prune, adjust (pruned weights may regrow), re-prune; a sparsity sweep as parallel training tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from gridprune.engine import EngineError, Resources, Strategy, TaskKind
from gridprune.methods.base import MethodBase, absolute_source
from gridprune.methods.parp import settings as parp_settings
from gridprune.methods.parp.settings import ParpSettings
from gridprune.methods.parp.strategy import ParpSweep, headline, saved_sweep, training_trials
from gridprune.store import RunDir


class Parp(MethodBase):
    """The `parp` job type (METHODS.md section 2)."""

    name = "parp"
    section = "parp"
    Settings = ParpSettings
    summary = ("PARP: prune the smallest attention and FFN weights globally, fine-tune letting them regrow, "
               "re-prune; a sweep of sparsities as parallel trainings, one-shot pruning beside each")
    datasets = ("train",)
    has_best = False  # a sweep's points are its result, none is "the best"

    def check(self, config: Any, settings: ParpSettings) -> None:
        parp_settings.check(config, settings)

    def unchangeable(self) -> dict[str, str]:
        return {f"{self.section}.{name}": "the sweep's trials were made from it"
                for name in ParpSettings.model_fields if name != "save_every"}

    def planned_rounds(self, settings: Any) -> int | None:
        return ParpSweep.planned_rounds

    def kinds(self, config: Any, settings: Any) -> Mapping[str, TaskKind]:
        from gridprune.methods.parp.evaluate import EvaluateFactory
        from gridprune.methods.parp.hooks import ParpHooks
        from gridprune.training.kind import TrainingFactory, training_kind

        train_path, train_audio = absolute_source(settings.train)
        training = TrainingFactory(config.model, train_path, train_audio, ParpHooks(), settings.save_every)
        heldout = absolute_source(config.heldout) if config.heldout else None
        evaluate = EvaluateFactory(config.model, absolute_source(config.data), heldout)
        return {"train": training_kind(training),
                "evaluate": TaskKind("evaluate", evaluate, Resources(cpus=1, mem_gb=4.0, time_min=60), at_start=True)}

    def key_settings(self, config: Any, settings: ParpSettings) -> dict[str, Any]:
        """The training and held-out sets' fingerprints (the trials train and score on them)."""
        from gridprune.data import read_hrl

        def fingerprint(source: Any) -> str | None:
            return None if source is None else read_hrl(source.path, source.audio_dir).fingerprint()

        return {"train_fingerprint": fingerprint(settings.train), "heldout_fingerprint": fingerprint(config.heldout)}

    def new_strategy(self, run: RunDir, config: Any, settings: Any) -> Strategy:
        return ParpSweep(training_trials(settings, config.seed))

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: Any, settings: Any) -> Strategy:
        try:
            return ParpSweep.from_state_dict(state)
        except (KeyError, TypeError) as exc:
            raise EngineError(f"checkpoint.json: not a parp sweep's state ({exc})") from None

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        """`training`: each running training task's step and loss; `points`: the sweep so far."""
        from gridprune.training.status import training_progress

        run = RunDir.open(status["run_dir"])
        sweep = saved_sweep(run)
        points = sweep.points() if sweep else []
        return {"training": training_progress(run.root), "points": points}

    def status_lines(self, status: dict[str, Any]) -> list[str]:
        """Lines for `gridprune status` after the rounds: each point's WERs (the headline marked), then each
        training task that runs (or, in a stopped run, waits to be resumed)."""
        from gridprune.training.status import format_training

        points = status.get("points", [])
        main = headline(points)
        lines = [f"{'':2}{'point':>16}  {'WER search':>10}  {'WER held-out':>12}  sparsity (of the prunable weights)"]
        for point in points:
            wer, heldout, measured = point["wer"], point["heldout_wer"], point["sparsity_measured"]
            lines.append(f"{'*' if point['label'] == main else ' ':2}{point['label']:>16}  "
                         f"{'-' if wer is None else f'{wer:.4f}':>10}  {'-' if heldout is None else f'{heldout:.4f}':>12}  "
                         + ("-" if measured is None else f"{measured:.4f}"))
        if main is not None:
            lines.append("* the headline: the most sparse point evaluated, the one `gridprune eval --model "
                         "RUN_DIR/best` evaluates once exported")
        return lines + format_training(status.get("training", []), stopped=status.get("state") != "running")

    def plot(self, run: RunDir, out: Path) -> Path:
        """`status --plot`: WER against sparsity, one-shot and PARP side by side, search and held-out sets."""
        from gridprune.methods.parp.plot import plot_sweep

        return plot_sweep(run, Path(out))

    def export(self, run: RunDir, config: Any, settings: Any, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.parp.export import export_sweep

        return export_sweep(run, config, settings, Path(out), threads=threads, rounds=rounds)
