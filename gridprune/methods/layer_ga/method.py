"""`layer_ga`: a GA over each layer's pruning mask (Godse's per-layer GA), for wav2vec2 and any torch model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from gridprune.engine import EngineError, Strategy, TaskKind, figure, read_checkpoint
from gridprune.methods.base import MethodBase
from gridprune.methods.layer_ga.settings import SECTION, LayerGaSettings, check_settings
from gridprune.sections import ConfigValueError
from gridprune.store import RunDir


def targets_of(config: Any, settings: LayerGaSettings) -> list[str]:
    """The targets the settings name in the model (its parameters for unit weight, its encoder layers for unit
    neuron), in the model's order; ConfigValueError naming layer_ga.layers (or .unit) if that cannot be."""
    from gridprune.adapters import adapter_for
    from gridprune.methods.layer_ga.targets import matching, neuron_candidates, unmatched, weight_candidates

    model = adapter_for(config.model).instance()
    if settings.unit == "neuron":
        try:
            candidates = list(neuron_candidates(model))
        except ValueError as exc:
            raise ConfigValueError(f"{SECTION}.unit", str(exc)) from None
    else:
        candidates = list(weight_candidates(model, norms=settings.norms, biases=settings.biases))
    default = ["wav2vec2.encoder.layers.*"] if isinstance(config.model, str) else ["*"]
    patterns = settings.layers if settings.layers is not None else default
    missing = unmatched(candidates, patterns)
    if missing:
        shown = ", ".join(candidates[:6]) + (", ..." if len(candidates) > 6 else "")
        raise ConfigValueError(f"{SECTION}.layers", f"{', '.join(map(repr, missing))} matches no {settings.unit} "
                                                    f"target of the model (its targets: {shown})")
    targets = matching(candidates, patterns)
    if not targets:
        raise ConfigValueError(f"{SECTION}.layers", "no target to prune")
    return targets


class LayerGa(MethodBase):
    """The `layer_ga` job type."""

    name = "layer_ga"
    section = SECTION
    Settings = LayerGaSettings
    summary = ("per-layer GA over pruning masks (weights or neurons), layer after layer with fine-tunes or all "
               "layers at once then repaired; any torch model through a factory")
    datasets = ("train",)
    key_format = 1

    def check(self, config: Any, settings: LayerGaSettings) -> None:
        from gridprune.adapters import adapter_for

        adapter = adapter_for(config.model)
        check_settings(settings, None if isinstance(config.model, str) else config.model)
        targets_of(config, settings)
        if settings.train is not None:
            if not Path(settings.train.path).is_file():
                raise ConfigValueError(f"{SECTION}.train", f"{settings.train.path}: no such file")
            adapter.data_fingerprint(settings.train)  # a bad .hrl line is named here

    def kinds(self, config: Any, settings: LayerGaSettings) -> Mapping[str, TaskKind]:
        from gridprune.adapters import adapter_for
        from gridprune.methods.layer_ga.evaluate import mask_kinds
        from gridprune.methods.layer_ga.hooks import MaskHooks

        adapter = adapter_for(config.model)
        train = settings.train or config.data  # a fine-tune of 0 updates reads no batch
        return {"evaluate": adapter.evaluation_kind(config.data, config.heldout), **mask_kinds(adapter, config.data),
                "train": adapter.training_kind(MaskHooks(), train, settings.save_every)}

    def key_settings(self, config: Any, settings: LayerGaSettings) -> dict[str, Any]:
        """The training and held-out sets' fingerprints (the fine-tunes and the final evaluation read them)."""
        from gridprune.adapters import adapter_for

        adapter = adapter_for(config.model)
        return {name: None if source is None else adapter.data_fingerprint(source)
                for name, source in (("train_fingerprint", settings.train), ("heldout_fingerprint", config.heldout))}

    def new_strategy(self, run: RunDir, config: Any, settings: LayerGaSettings) -> Strategy:
        from gridprune.methods.layer_ga.strategy import LayerGaStrategy

        return LayerGaStrategy(run, settings, targets_of(config, settings), config.seed)

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: Any, settings: Any) -> Strategy:
        from gridprune.methods.layer_ga.strategy import LayerGaStrategy

        try:
            return LayerGaStrategy(run, settings, state["targets"], config.seed, state)
        except (KeyError, TypeError) as exc:
            raise EngineError(f"checkpoint.json: not a layer_ga state ({exc})") from None

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        """`layer_ga`: the stage and each target's state (as the checkpoint holds them); `training`: a running
        fine-tune's step and loss."""
        from gridprune.training.status import training_progress

        run = RunDir.open(status["run_dir"])
        saved = read_checkpoint(run)
        return {"layer_ga": saved["strategy"]["summary"] if saved else None, "training": training_progress(run.root)}

    def status_lines(self, status: dict[str, Any]) -> list[str]:
        """Each target's state, sparsity and error; the final model's; any running fine-tune."""
        from gridprune.training.status import format_training

        summary = status.get("layer_ga")
        if not summary:
            return []
        width = max(len(row["target"]) for row in summary["targets"])
        baseline = summary["baseline"] or {}
        lines = [f"stage: {summary['stage']}; unpruned WER {figure(baseline.get('wer'))} (search), "
                 f"{figure(baseline.get('heldout_wer'))} (held-out)",
                 f"  {'target':<{width}}  {'state':>9}  {'sparsity':>8}  {'WER':>6}"]
        for row in summary["targets"]:
            lines.append(f"  {row['target']:<{width}}  {row['state']:>9}  {figure(row['sparsity']):>8}  "
                         f"{figure(row['error']):>6}")
        if summary["repairs"]:
            lines.append(f"repair rounds: {summary['repairs']}")
        if summary["final"]:
            lines.append(f"final model: WER {figure(summary['final'].get('wer'))} (search), "
                         f"{figure(summary['final'].get('heldout_wer'))} (held-out)")
        if summary["failed"]:
            lines.append(f"stopped: {summary['failed']}")
        return lines + format_training(status.get("training", []), stopped=status.get("state") != "running")

    def export(self, run: RunDir, config: Any, settings: LayerGaSettings, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.layer_ga.export import export_final

        saved = read_checkpoint(run)
        if saved is None:
            raise EngineError(f"{run.root}: the search has not started; nothing to export")
        strategy = self.restore_strategy(run, saved["strategy"], config, settings)
        return export_final(strategy, run, config, settings, Path(out), threads=threads, rounds=rounds)
