"""Export of a `ga_blocks` run: the best chromosome as a physically smaller checkpoint, with its report
(the report contract's one model: the export folder itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gridprune.engine import read_checkpoint
from gridprune.methods.ga_blocks.settings import GaSettings
from gridprune.methods.ga_blocks.strategy import chromosome_mapping
from gridprune.methods.one_model import measure_one_model
from gridprune.search import SearchSpace, from_json
from gridprune.store import RunDir, StoreError

LABEL = "best individual"  # the contract's label of the one model


def best_of(run: RunDir) -> tuple[SearchSpace, Any, float]:
    """The search space, best chromosome and its recorded fitness of a run; StoreError if there is none yet."""
    saved = read_checkpoint(run)
    state = (saved or {}).get("strategy", {}).get("search")
    if not state or state.get("best") is None:
        raise StoreError(f"{run.root}: no generation has completed yet; nothing to export")
    space = SearchSpace(tuple(state["space"]["layers"]), state["space"]["granularity"],
                        tuple(state["space"]["pruned_blocks"]))
    return space, from_json(state["best"]["chromosome"], space), state["best"]["fitness"]


def export_best(run: RunDir, config: Any, settings: GaSettings, out: Path, *, threads: int | None = None,
                rounds: int | None = None) -> dict[str, Any]:
    """Write the best individual so far as a pruned checkpoint to `out`; returns its report.

    WERs come from one decode of each set with each model; the speed from the
    two models taking turns (`gridprune.models.speed`) on `threads` threads.
    """
    from gridprune.models import load_checkpoint
    from gridprune.models.export import save_pruned, summary
    from gridprune.models.loading import load_model
    from gridprune.progress_bar import ProgressBar

    space, best, fitness = best_of(run)
    pruned = {layer: list(blocks) for layer, blocks in zip(space.layers, best)}
    with ProgressBar(2, "export", unit="step") as progress:
        progress.note(f"loading {config.model}")
        checkpoint = load_checkpoint(config.model)
        report: dict[str, Any] = {
            "method": "ga_blocks",
            "chromosome": chromosome_mapping(best, space),
            "fitness_recorded": fitness,
            "fitness_subset": settings.fitness.subset,
            "granularity": space.granularity,
        }
        progress.note("writing the pruned model")
        report["layout"] = save_pruned(checkpoint, pruned, space.granularity, Path(out))
        exported = load_model(Path(out))
        progress.step("pruned model written")
        report.update(measure_one_model(checkpoint, exported, Path(out), config, LABEL, threads=threads, rounds=rounds))
        progress.step("sizes, WERs and speed measured")
    report["size_ratio"] = report["params_kept"]
    report.update(summary(pruned, space.granularity, len(checkpoint.model.wav2vec2.encoder.layers),
                          report["params_before"], report["params_after"]))
    return report
