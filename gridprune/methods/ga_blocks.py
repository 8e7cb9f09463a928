"""`ga_blocks`: the seed paper's genetic search over blocks of encoder FFN rows.

A chromosome removes, in each pruned encoder layer, `pruned_blocks` of the
`granularity` equal blocks of the FFN width; its fitness is the corpus WER of
the physically pruned model on the search set.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from pydantic import Field

from gridprune.backends import make_backend
from gridprune.config import RunConfig, Section
from gridprune.master import run_search
from gridprune.search import Chromosome, GeneticSearch, SearchSpace, from_json, l1_seed, to_json
from gridprune.store import RunDir, StoreError, atomic_write_json, result_key
from gridprune.worker import FfnHandlerFactory, FfnWorkerSpec


class GaSettings(Section):
    """The `ga:` section; defaults are the paper's where it has one."""

    population: int = Field(100, ge=3)
    generations: int = Field(70, ge=1)
    pressure: float = Field(3.0, gt=0)
    granularity: int = Field(32, gt=0)
    pruned_blocks: int | list[int] = Field(20, description="per layer, or one number for every pruned layer")
    layers: Literal["all"] | list[int] = "all"
    l1_seed: bool = True
    mutation_rate: float = Field(0.0, ge=0, le=1)
    keep_best: int = Field(0, ge=0)
    slot_order: Literal["shuffled", "sorted"] = Field(
        "shuffled", description="how crossover pairs the parents' genes: in random order as the original, or sorted")


class GaBlocks:
    """The `ga_blocks` job type."""

    name = "ga_blocks"
    section = "ga"
    Settings = GaSettings

    def planned_generations(self, config: RunConfig) -> int:
        return self.Settings.model_validate(config.settings).generations

    def run(self, run: RunDir, config: RunConfig) -> None:
        """Run or resume the search in `run` until its last generation."""
        from gridprune.data import read_hrl
        from gridprune.models import load_checkpoint
        from gridprune.models.pruning import block_l1_norms, block_size

        settings = self.Settings.model_validate(config.settings)
        checkpoint = load_checkpoint(config.model)
        dataset = read_hrl(config.data)
        check_fingerprints(run, config, checkpoint.fingerprint, dataset.fingerprint())
        space = search_space(settings, len(checkpoint.model.wav2vec2.encoder.layers))
        block_size(checkpoint.model, settings.granularity)  # fail early on a granularity that does not fit

        saved = run.read_checkpoint()
        if saved is not None:
            search = GeneticSearch.from_state_dict(saved["search"])
        else:
            seeds = [l1_seed(block_l1_norms(checkpoint.model, space.layers, space.granularity), space)] if settings.l1_seed else []
            search = GeneticSearch(
                space, settings.population, pressure=settings.pressure, mutation_rate=settings.mutation_rate,
                keep_best=settings.keep_best, slot_order=settings.slot_order, generations=settings.generations, seed=config.seed,
                seed_individuals=seeds,
            )
        del checkpoint  # the workers load their own copy

        def make_tasks(population: Sequence[Chromosome], generation: int) -> list[dict[str, Any]]:
            indices = subset_indices(len(dataset), config.fitness.subset, config.seed, generation)
            fitness_settings = {"method": self.name, "layers": list(space.layers),
                                "granularity": space.granularity, "indices": indices}
            return [{
                "key": result_key(to_json(c), run.run_info["model_fingerprint"],
                                  run.run_info["dataset_fingerprint"], fitness_settings),
                "chromosome": chromosome_mapping(c, space),
                "indices": indices,
            } for c in population]

        spec = FfnWorkerSpec(run_dir=str(run.root), model=config.model, data=config.data,
                             granularity=space.granularity, start_layer=min(space.layers))
        backend = make_backend(config, FfnHandlerFactory(spec), run)
        try:
            run_search(run, search, backend, make_tasks, to_json, workers=backend.parallelism)
        finally:
            backend.close()


    def export(self, run: RunDir, config: RunConfig, out: Path) -> dict[str, Any]:
        """Write the best individual so far as a pruned checkpoint plus `report.json` to `out`."""
        from gridprune.data import read_hrl
        from gridprune.models import load_checkpoint
        from gridprune.models.export import save_pruned
        from gridprune.models.pruning import count_parameters

        saved = run.read_checkpoint()
        if saved is None or saved["search"]["best"] is None:
            raise StoreError(f"{run.root}: no generation has completed yet; nothing to export")
        state = saved["search"]
        space = SearchSpace(tuple(state["space"]["layers"]), state["space"]["granularity"],
                            tuple(state["space"]["pruned_blocks"]))
        best = from_json(state["best"]["chromosome"], space)
        pruned = {layer: list(blocks) for layer, blocks in zip(space.layers, best)}

        checkpoint = load_checkpoint(config.model)
        sets = {"": read_hrl(config.data)}
        if config.heldout:
            sets["heldout_"] = read_hrl(config.heldout)
        report: dict[str, Any] = {
            "chromosome": chromosome_mapping(best, space),
            "fitness_recorded": state["best"]["fitness"],
            "fitness_subset": config.fitness.subset,
            "granularity": space.granularity,
            "params_before": count_parameters(checkpoint.model),
        }
        report.update(_measure(checkpoint.model, checkpoint.processor, sets, "before"))
        report["padded_rows"] = save_pruned(checkpoint, pruned, space.granularity, Path(out))
        exported = load_checkpoint(out)
        report["params_after"] = count_parameters(exported.model)
        report.update(_measure(exported.model, exported.processor, sets, "after"))
        report["size_ratio"] = report["params_after"] / report["params_before"]
        report["speedup"] = report["decode_seconds_before"] / report["decode_seconds_after"]
        atomic_write_json(Path(out) / "report.json", report)
        return report


def _measure(model, processor, sets: dict[str, Any], when: str, repeats: int = 3) -> dict[str, float]:
    """WER on each set, and the median decode time of the search set over `repeats` decodes through the whole model."""
    from gridprune.models.evaluator import decode_dataset

    figures = {}
    for prefix, dataset in sets.items():
        decode_dataset(model, processor, dataset.head(1))  # warm-up
        evaluations = [decode_dataset(model, processor, dataset) for _ in range(repeats if not prefix else 1)]
        figures[f"{prefix}wer_{when}"] = evaluations[0].result.wer
        if not prefix:
            figures[f"decode_seconds_{when}"] = statistics.median(e.seconds for e in evaluations)
    return figures


def search_space(settings: GaSettings, layer_count: int) -> SearchSpace:
    """The chromosome layout that `settings` asks for on a model with `layer_count` encoder layers."""
    from gridprune.config import ConfigError

    layers = list(range(layer_count)) if settings.layers == "all" else settings.layers
    bad = [layer for layer in layers if not 0 <= layer < layer_count]
    if bad or not layers or len(set(layers)) != len(layers):
        raise ConfigError(f"ga.layers: {settings.layers} must be distinct encoder layers in [0, {layer_count})")
    counts = settings.pruned_blocks
    counts = [counts] * len(layers) if isinstance(counts, int) else counts
    if len(counts) != len(layers):
        raise ConfigError(f"ga.pruned_blocks: {len(counts)} numbers given for {len(layers)} pruned layers")
    if any(not 0 < n < settings.granularity for n in counts):
        raise ConfigError(f"ga.pruned_blocks: each must be in [1, {settings.granularity}) (ga.granularity)")
    return SearchSpace(tuple(layers), settings.granularity, tuple(counts))


def chromosome_mapping(chromosome: Chromosome, space: SearchSpace) -> dict[str, list[int]]:
    """`{"<layer>": [blocks]}`: the JSON form a worker applies."""
    return {str(layer): list(blocks) for layer, blocks in zip(space.layers, chromosome)}


def subset_indices(total: int, subset: int | None, seed: int, generation: int) -> list[int] | None:
    """The utterances every individual of `generation` is scored on (None: all of them)."""
    if subset is None or subset >= total:
        return None
    rng = np.random.default_rng([seed, generation])
    return sorted(int(i) for i in rng.choice(total, size=subset, replace=False))


def check_fingerprints(run: RunDir, config: RunConfig, model_fingerprint: str, dataset_fingerprint: str) -> None:
    """Refuse to go on with a model or dataset other than the one the run started with."""
    for what, path, now in (("model", config.model, model_fingerprint), ("dataset", config.data, dataset_fingerprint)):
        if run.run_info[f"{what}_fingerprint"] != now:
            raise StoreError(f"{run.root}: the {what} at {path} has changed since the run started; "
                             "start a new run for it")
