"""`parp`: prune, adjust (pruned weights may regrow), re-prune; a sparsity sweep as parallel training tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from gridprune.config import DataSource, RunConfig
from gridprune.engine import (
    Column,
    EngineError,
    Outcome,
    Resources,
    Strategy,
    TaskKind,
    Trial,
)
from gridprune.methods.parp import settings as parp_settings
from gridprune.methods.parp.settings import ParpSettings, as_settings
from gridprune.methods.parp.strategy import ParpSweep, saved_sweep, training_trials
from gridprune.store import RunDir


def _source(source: DataSource) -> tuple[str, str | None]:
    """(path, audio_dir) made absolute: worker processes may start elsewhere."""
    audio = str(Path(source.audio_dir).resolve()) if source.audio_dir else None
    return str(Path(source.path).resolve()), audio


class Parp:
    """The `parp` job type (METHODS.md section 2)."""

    name = "parp"
    section = "parp"
    Settings = ParpSettings
    columns: Sequence[Column] = ()
    round_name = "round"
    resumable_keys: Sequence[str] = ()

    def check(self, config: RunConfig, settings: Any) -> None:
        parp_settings.check(config, as_settings(settings))

    def unchangeable(self) -> dict[str, str]:
        return {f"{self.section}.{name}": "the sweep's trials were made from it"
                for name in ParpSettings.model_fields if name != "save_every"}

    def planned_rounds(self, settings: Any) -> int | None:
        return ParpSweep.planned_rounds

    def resize(self, state: dict[str, Any], settings: Any) -> dict[str, Any]:
        return state

    def kinds(self, config: RunConfig, settings: Any) -> Mapping[str, TaskKind]:
        from gridprune.methods.parp.evaluate import EvaluateFactory
        from gridprune.methods.parp.hooks import ParpHooks
        from gridprune.training.kind import TrainingFactory, training_kind

        settings = as_settings(settings)
        train_path, train_audio = _source(settings.train)
        training = TrainingFactory(config.model, train_path, train_audio, ParpHooks(), settings.save_every)
        heldout = _source(config.heldout) if config.heldout else None
        evaluate = EvaluateFactory(config.model, _source(config.data), heldout)
        return {"train": training_kind(training),
                "evaluate": TaskKind("evaluate", evaluate, Resources(cpus=1, mem_gb=4.0, time_min=60), at_start=True)}

    def key_context(self, run: RunDir, config: RunConfig, settings: Any) -> dict[str, Any]:
        from gridprune.checkpoint_files import (
            checkpoint_fingerprint,
            resolve_model_path,
        )
        from gridprune.data import read_hrl

        settings = as_settings(settings)

        def fingerprint(source: DataSource | None) -> str | None:
            return None if source is None else read_hrl(source.path, source.audio_dir).fingerprint()

        return {"method": self.name, "model_fingerprint": checkpoint_fingerprint(resolve_model_path(config.model)),
                "train_fingerprint": fingerprint(settings.train), "dataset_fingerprint": fingerprint(config.data),
                "heldout_fingerprint": fingerprint(config.heldout)}

    def new_strategy(self, run: RunDir, config: RunConfig, settings: Any) -> Strategy:
        return ParpSweep(training_trials(as_settings(settings), config.seed))

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: RunConfig, settings: Any) -> Strategy:
        try:
            return ParpSweep.from_state_dict(state)
        except (KeyError, TypeError) as exc:
            raise EngineError(f"checkpoint.json: not a parp sweep's state ({exc})") from None

    def round_columns(self, strategy: Strategy, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> dict[str, Any]:
        return {}

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        """`training`: each running training task's step and loss; `points`: the sweep so far."""
        from gridprune.training.status import training_progress

        run = RunDir.open(status["run_dir"])
        sweep = saved_sweep(run)
        points = sweep.points() if sweep else []
        return {"training": training_progress(run.root), "points": points}

    def status_lines(self, status: dict[str, Any]) -> list[str]:
        """Lines for `gridprune status` after the rounds: each point's WERs, then each running training task."""
        from gridprune.training.status import format_training

        lines = []
        for point in status.get("points", []):
            wer, heldout = point["wer"], point["heldout_wer"]
            lines.append(f"{point['label']:>16}: dev WER {'-' if wer is None else f'{wer:.4f}'}, held-out "
                         f"{'-' if heldout is None else f'{heldout:.4f}'}"
                         + ("" if point["sparsity_measured"] is None else
                            f", sparsity measured {point['sparsity_measured']:.4f}"))
        return lines + format_training(status.get("training", []))

    def plot(self, run: RunDir, out: Path) -> Path:
        """`status --plot`: WER against sparsity, one-shot and PARP side by side, search and held-out sets."""
        from gridprune.methods.parp.plot import plot_sweep

        return plot_sweep(run, Path(out))

    def export(self, run: RunDir, config: RunConfig, settings: Any, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.parp.export import export_sweep

        return export_sweep(run, config, as_settings(settings), Path(out), threads=threads, rounds=rounds)
