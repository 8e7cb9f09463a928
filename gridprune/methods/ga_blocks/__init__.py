"""`ga_blocks`: the seed paper's genetic search over blocks of encoder FFN rows, as an engine method.

A chromosome removes, in each pruned encoder layer, `pruned_blocks` of the `granularity`
equal blocks of the FFN width; its fitness (the trial's value) is the WER of the physically
pruned model on the search set. One generation is one synchronous round of `ffn_eval` trials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from gridprune.engine import EngineError, Outcome, Resources, TaskKind, Trial
from gridprune.methods.base import MethodBase, model_shape
from gridprune.methods.ga_blocks.handler import FfnHandler, FfnHandlerFactory, FfnWorkerSpec
from gridprune.methods.ga_blocks.settings import FitnessSettings, GaSettings, search_space
from gridprune.methods.ga_blocks.strategy import (KIND, GaStrategy, chromosome_mapping, new_search,
                                                  subsample_indices, subset_indices)
from gridprune.search import SearchSpace
from gridprune.store import RunDir

__all__ = ["KIND", "FfnHandler", "FfnHandlerFactory", "FfnWorkerSpec", "FitnessSettings", "GaBlocks", "GaSettings",
           "GaStrategy", "chromosome_mapping", "fitness_key", "new_search", "search_space", "subsample_indices",
           "subset_indices"]


def fitness_key(space: SearchSpace, fitness: FitnessSettings) -> dict[str, Any]:
    """What, besides a trial's blocks and utterances, its result depends on: the layout and the fitness options."""
    return {"layers": list(space.layers), "granularity": space.granularity, "score": fitness.score,
            "normalise": fitness.normalise, "subsample": fitness.subsample}


class GaBlocks(MethodBase):
    """The `ga_blocks` job type."""

    name = "ga_blocks"
    section = "ga"
    Settings = GaSettings
    summary = ("the seed paper's genetic search over blocks of FFN rows to remove in each encoder layer, "
               "scored by the WER of the physically pruned model")
    round_name = "generation"
    resumable_keys = ("ga.generations",)

    def check(self, config: Any, settings: GaSettings) -> None:
        """Every check of the settings against the model that needs no torch: layers, blocks, granularity."""
        shape = model_shape(config)
        search_space(settings, shape.layers, shape.ffn_width)

    def unchangeable(self) -> dict[str, str]:
        return {**super().unchangeable(), f"{self.section}.fitness": "every result is keyed by the fitness settings"}

    def planned_rounds(self, settings: GaSettings) -> int:
        return settings.generations

    def resize(self, state: dict[str, Any], settings: GaSettings) -> dict[str, Any]:
        """Breeding never depends on the planned count, so a search extended this way
        continues exactly as one planned that long from the start."""
        return {**state, "search": {**state["search"], "generations": settings.generations}}

    def _space(self, config: Any, settings: GaSettings):
        from gridprune.checkpoint_files import encoder_shape, resolve_model_path

        return search_space(settings, encoder_shape(resolve_model_path(config.model)).layers)

    def kinds(self, config: Any, settings: GaSettings) -> Mapping[str, TaskKind]:
        space = self._space(config, settings)
        spec = FfnWorkerSpec(model=config.model, data=config.data.path, audio_dir=config.data.audio_dir,
                             granularity=space.granularity, start_layer=min(space.layers),
                             score=settings.fitness.score, normalise=settings.fitness.normalise)
        return {KIND: TaskKind(KIND, FfnHandlerFactory(spec), Resources(cpus=2, mem_gb=4.0, time_min=60), at_start=True)}

    def key_settings(self, config: Any, settings: GaSettings) -> dict[str, Any]:
        return fitness_key(self._space(config, settings), settings.fitness)

    def new_strategy(self, run: RunDir, config: Any, settings: GaSettings) -> GaStrategy:
        from gridprune.data import read_hrl
        from gridprune.models import load_checkpoint
        from gridprune.models.pruning import block_l1_norms, block_size
        from gridprune.search import l1_seed

        checkpoint = load_checkpoint(config.model)
        dataset = read_hrl(config.data.path, config.data.audio_dir)
        space = search_space(settings, len(checkpoint.model.wav2vec2.encoder.layers))
        block_size(checkpoint.model, settings.granularity)  # fail early on a granularity that does not fit
        seeds = ([l1_seed(block_l1_norms(checkpoint.model, space.layers, space.granularity), space)]
                 if settings.l1_seed else [])
        fitness = settings.fitness
        # the elite is scored again whenever the data an individual is scored on changes between generations
        rescore_best = (fitness.subset is not None and fitness.subset < len(dataset)) or fitness.subsample is not None
        search = new_search(settings, space, config.seed, seeds, rescore_best=rescore_best)
        return GaStrategy(search, fitness, config.seed, len(dataset))

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: Any, settings: GaSettings) -> GaStrategy:
        try:
            return GaStrategy.from_state_dict(state, settings.fitness, config.seed)
        except (ValueError, KeyError, TypeError) as exc:
            raise EngineError(f"checkpoint.json: the saved GA state cannot be restored: {exc}") from None

    def round_columns(self, strategy: Any, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> dict[str, Any]:
        return {"generation": strategy.round - 1}

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        """The names `status --json` has always used for a GA run; each history row gets them too."""
        for row in status["history"]:
            row.setdefault("generation", row["round"])
            row.setdefault("decode_seconds", row.get("task_seconds"))
            row.setdefault("individuals", row.get("trials"))
        best = status.get("best_trial")
        return {"completed_generations": status["rounds_completed"], "planned_generations": status["planned_rounds"],
                "best_wer": status["best_value"],
                "best_chromosome": ([genes for _, genes in sorted(best["params"]["blocks"].items(),
                                                                  key=lambda item: int(item[0]))]
                                    if best else None)}  # per pruned layer, its blocks sorted

    def export(self, run: RunDir, config: Any, settings: GaSettings, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.ga_blocks.export import export_best

        return export_best(run, config, settings, out, threads=threads, rounds=rounds)
