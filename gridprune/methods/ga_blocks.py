"""`ga_blocks`: the seed paper's genetic search over blocks of encoder FFN rows.

A chromosome removes, in each pruned encoder layer, `pruned_blocks` of the
`granularity` equal blocks of the FFN width; its fitness is the corpus WER of
the physically pruned model on the search set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from pydantic import Field

from gridprune.backends import make_backend
from gridprune.config import FitnessSettings, RunConfig, Section
from gridprune.master import run_search
from gridprune.search import Chromosome, GeneticSearch, SearchSpace, from_json, l1_seed, to_json
from gridprune.store import RunDir, StoreError, result_key
from gridprune.worker import FfnHandlerFactory, FfnWorkerSpec


class GaSettings(Section):
    """The `ga:` section; defaults are the paper's where it has one, and the GA's operators
    (slot order, crossover, elitism) default to the original code's."""

    population: int = Field(100, ge=3)
    generations: int = Field(70, ge=1)
    pressure: float = Field(3.0, gt=0)
    granularity: int = Field(32, gt=0)
    pruned_blocks: int | list[int] = Field(20, description="per layer, or one number for every pruned layer")
    layers: Literal["all"] | list[int] = "all"
    l1_seed: bool = True
    mutation_rate: float = Field(0.0, ge=0, le=1)
    keep_best: int = Field(0, ge=0)
    slot_order: Literal["inherited", "shuffled", "sorted"] = Field(
        "inherited", description="how crossover pairs the parents' genes: slot by slot in the order children "
                                 "inherit (the original code), re-shuffled, or sorted")
    crossover: Literal["paper", "original"] = Field(
        "original", description="repeat branch: Algorithm 2 as written (paper), or the original code's, "
                                "which mutates when the second parent's gene is held")
    elitism: Literal["paper", "original"] = Field(
        "original", description="paper: the best so far replaces the worst before breeding; original: it "
                                "overwrites the last child and is evaluated again, ties update it")


class GaBlocks:
    """The `ga_blocks` job type."""

    name = "ga_blocks"
    section = "ga"
    Settings = GaSettings

    def planned_generations(self, config: RunConfig) -> int:
        """The generations the search runs in all."""
        return self.Settings.model_validate(config.settings).generations

    resumable_keys = ("ga.generations",)  # what `resume --set` may change in the `ga:` section

    def check(self, config: RunConfig) -> None:
        """Every check of the settings against the model that needs no torch: layers, blocks, granularity."""
        from gridprune.checkpoint_files import check_checkpoint_folder, encoder_shape, resolve_model_path

        path = resolve_model_path(config.model)
        check_checkpoint_folder(path)
        shape = encoder_shape(path)
        search_space(self.Settings.model_validate(config.settings), shape.layers, shape.ffn_width)

    def resize(self, run: RunDir, config: RunConfig) -> None:
        """Make the saved search run to `config`'s generations (set by `resume --set ga.generations=N`).

        Breeding never depends on the planned count, so a search extended this way
        continues exactly as one planned that long from the start.
        """
        saved = run.read_checkpoint()
        generations = self.planned_generations(config)
        if saved is None or saved["search"].get("generations") == generations:
            return
        saved["search"]["generations"] = generations
        run.write_checkpoint(saved)

    def unchangeable(self) -> dict[str, str]:
        """Keys of this method's section that `resume --set` refuses, with the reason (others may change)."""
        return {f"{self.section}.{name}": "the saved search state was built with it"
                for name in self.Settings.model_fields if name != "generations"}

    def run(self, run: RunDir, config: RunConfig) -> None:
        """Run or resume the search in `run` until its last generation."""
        from gridprune.data import read_hrl
        from gridprune.models import load_checkpoint
        from gridprune.models.pruning import block_l1_norms, block_size

        settings = self.Settings.model_validate(config.settings)
        checkpoint = load_checkpoint(config.model)
        dataset = read_hrl(config.data.path, config.data.audio_dir)
        check_fingerprints(run, config, checkpoint.fingerprint, dataset.fingerprint())
        space = search_space(settings, len(checkpoint.model.wav2vec2.encoder.layers))
        block_size(checkpoint.model, settings.granularity)  # fail early on a granularity that does not fit

        saved = run.read_checkpoint()
        fitness = config.fitness
        if saved is not None:
            try:
                search = GeneticSearch.from_state_dict(saved["search"])
            except ValueError as exc:
                raise StoreError(f"{run.checkpoint_path}: {exc}") from None
        else:
            seeds = [l1_seed(block_l1_norms(checkpoint.model, space.layers, space.granularity), space)] if settings.l1_seed else []
            # the elite is scored again whenever the data an individual is scored on changes between generations
            subset = fitness.subset is not None and fitness.subset < len(dataset)
            rescore_best = subset or fitness.subsample is not None
            search = new_search(settings, space, config.seed, seeds, rescore_best=rescore_best)
        del checkpoint  # the workers load their own copy

        def make_tasks(population: Sequence[Chromosome], generation: int) -> list[dict[str, Any]]:
            generation_indices = subset_indices(len(dataset), fitness.subset, config.seed, generation)
            tasks = []
            for individual, chrom in enumerate(population):
                indices = subsample_indices(len(dataset), generation_indices, fitness.subsample, config.seed,
                                            generation, individual)
                tasks.append({
                    "key": result_key(to_json(chrom), run.run_info["model_fingerprint"],
                                      run.run_info["dataset_fingerprint"],
                                      key_settings(self.name, space, fitness, indices)),
                    "chromosome": chromosome_mapping(chrom, space),
                    "indices": indices,
                    "score": fitness.score,
                    "normalise": fitness.normalise,
                })
            return tasks

        spec = FfnWorkerSpec(run_dir=str(run.root), model=config.model, data=config.data.path,
                             audio_dir=config.data.audio_dir, granularity=space.granularity, start_layer=min(space.layers))
        backend = make_backend(config, FfnHandlerFactory(spec), run)
        try:
            run_search(run, search, backend, make_tasks, to_json, workers=backend.parallelism)
        finally:
            backend.close()


    def export(self, run: RunDir, config: RunConfig, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        """Write the best individual so far as a pruned checkpoint to `out`; returns its report.

        WERs come from one decode of each set with each model; the speed from the
        two models taking turns (`gridprune.models.speed`) on `threads` threads.
        """
        from gridprune.data import read_hrl
        from gridprune.models import load_checkpoint
        from gridprune.models.export import save_pruned, summary
        from gridprune.models.pruning import count_parameters
        from gridprune.models.speed import DEFAULT_ROUNDS, DEFAULT_THREADS, DEFAULT_UTTERANCES, compare_speed
        from gridprune.progress import Progress

        saved = run.read_checkpoint()
        if saved is None or saved["search"]["best"] is None:
            raise StoreError(f"{run.root}: no generation has completed yet; nothing to export")
        state = saved["search"]
        space = SearchSpace(tuple(state["space"]["layers"]), state["space"]["granularity"],
                            tuple(state["space"]["pruned_blocks"]))
        best = from_json(state["best"]["chromosome"], space)
        pruned = {layer: list(blocks) for layer, blocks in zip(space.layers, best)}

        threads = threads or DEFAULT_THREADS
        with Progress(3, "export", unit="step") as progress:
            progress.note(f"loading {config.model}")
            checkpoint = load_checkpoint(config.model)
            sets = {"": read_hrl(config.data.path, config.data.audio_dir)}
            if config.heldout:
                sets["heldout_"] = read_hrl(config.heldout.path, config.heldout.audio_dir)
            report: dict[str, Any] = {
                "chromosome": chromosome_mapping(best, space),
                "fitness_recorded": state["best"]["fitness"],
                "fitness_subset": config.fitness.subset,
                "granularity": space.granularity,
                "params_before": count_parameters(checkpoint.model),
            }
            progress.note("writing the pruned model")
            report["padded_rows"] = save_pruned(checkpoint, pruned, space.granularity, Path(out))
            exported = load_checkpoint(out)
            report["params_after"] = count_parameters(exported.model)
            progress.step("pruned model written")
            report.update(_measure(checkpoint.model, exported.model, checkpoint.processor, sets, threads))
            progress.step("WERs")
            speed = compare_speed(checkpoint.model, exported.model, checkpoint.processor,
                                  sets[""].head(DEFAULT_UTTERANCES).audio(), rounds=rounds or DEFAULT_ROUNDS,
                                  threads=threads)
            report.update(speed.report())
            report["speed_summary"] = speed.describe()
            progress.step("speed")
        report["size_ratio"] = report["params_after"] / report["params_before"]
        report.update(summary(pruned, space.granularity, len(checkpoint.model.wav2vec2.encoder.layers),
                              report["params_before"], report["params_after"]))
        return report


def _measure(before, after, processor, sets: dict[str, Any], threads: int) -> dict[str, float]:
    """WER of each model on each set, from one decode through the whole model on `threads` threads
    (fixed, as for the timing: an export takes the same share of a node each time)."""
    import torch

    from gridprune.models.evaluator import decode_dataset
    from gridprune.progress import Progress

    figures = {}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with Progress(2 * len(sets), "export: WER before and after", unit="decode") as progress:
            for prefix, dataset in sets.items():
                for when, model in (("before", before), ("after", after)):
                    figures[f"{prefix}wer_{when}"] = decode_dataset(model, processor, dataset).result.wer
                    progress.step(f"{'held-out' if prefix else 'search'} set, {when}")
    finally:
        torch.set_num_threads(previous_threads)
    return figures


def search_space(settings: GaSettings, layer_count: int, ffn_width: int | None = None) -> SearchSpace:
    """The chromosome layout that `settings` asks for on a model with `layer_count` encoder layers
    (and, if given, an FFN `ffn_width` rows wide, which the granularity must divide)."""
    from gridprune.config import ConfigValueError

    layers = list(range(layer_count)) if settings.layers == "all" else settings.layers
    bad = [layer for layer in layers if not 0 <= layer < layer_count]
    if bad or not layers or len(set(layers)) != len(layers):
        raise ConfigValueError("ga.layers", f"{settings.layers} must be distinct encoder layers in [0, {layer_count}) "
                                            f"(the model has {layer_count})")
    if ffn_width is not None and ffn_width % settings.granularity:
        divisors = [d for d in range(2, ffn_width + 1) if ffn_width % d == 0]
        near = sorted(divisors, key=lambda d: (abs(d - settings.granularity), d))[:2]
        raise ConfigValueError("ga.granularity", f"{settings.granularity} does not divide the model's FFN width "
                                                 f"{ffn_width} into equal blocks (nearest that do: "
                                                 f"{', '.join(map(str, sorted(near)))})")
    counts = settings.pruned_blocks
    counts = [counts] * len(layers) if isinstance(counts, int) else counts
    if len(counts) != len(layers):
        raise ConfigValueError("ga.pruned_blocks", f"{len(counts)} numbers given for {len(layers)} pruned layers")
    if any(not 0 < n < settings.granularity for n in counts):
        shown = settings.pruned_blocks
        raise ConfigValueError("ga.pruned_blocks", f"{shown}: each must be in [1, {settings.granularity}) "
                                                   f"(below ga.granularity, so that every layer keeps a block)")
    return SearchSpace(tuple(layers), settings.granularity, tuple(counts))


def new_search(settings: GaSettings, space: SearchSpace, seed: int, seed_individuals: Sequence[Chromosome] = (), *,
               rescore_best: bool = False) -> GeneticSearch:
    """The search `gridprune run` starts for `settings` (`rescore_best`: the fitness data changes per generation)."""
    return GeneticSearch(
        space, settings.population, pressure=settings.pressure, mutation_rate=settings.mutation_rate,
        keep_best=settings.keep_best, slot_order=settings.slot_order, crossover=settings.crossover,
        elitism=settings.elitism, rescore_best=rescore_best, generations=settings.generations,
        seed=seed, seed_individuals=seed_individuals,
    )


def chromosome_mapping(chromosome: Chromosome, space: SearchSpace) -> dict[str, list[int]]:
    """`{"<layer>": [blocks]}`: the JSON form a worker applies (each layer's set of blocks, sorted)."""
    return {str(layer): sorted(blocks) for layer, blocks in zip(space.layers, chromosome)}


def subset_indices(total: int, subset: int | None, seed: int, generation: int) -> list[int] | None:
    """The utterances every individual of `generation` is scored on (None: all of them)."""
    if subset is None or subset >= total:
        return None
    rng = np.random.default_rng([seed, generation])
    return sorted(int(i) for i in rng.choice(total, size=subset, replace=False))


def subsample_indices(total: int, indices: list[int] | None, fraction: float | None, seed: int, generation: int,
                      individual: int) -> list[int] | None:
    """The utterances one evaluation scores: of `indices` (None: all `total`), a random `fraction`
    (the nearest whole number, at least one) drawn from (seed, generation, individual's position).

    The original code instead kept each utterance with probability `fraction`, unseeded.
    """
    pool = list(range(total)) if indices is None else indices
    count = max(1, int(fraction * len(pool) + 0.5)) if fraction is not None else len(pool)
    if count >= len(pool):
        return indices
    rng = np.random.default_rng([seed, generation, individual])
    return sorted(pool[int(i)] for i in rng.choice(len(pool), size=count, replace=False))


def key_settings(method: str, space: SearchSpace, fitness: FitnessSettings,
                 indices: list[int] | None) -> dict[str, Any]:
    """The fitness settings that, with the chromosome, model and dataset, name a result."""
    return {"method": method, "layers": list(space.layers), "granularity": space.granularity, "indices": indices,
            "score": fitness.score, "normalise": fitness.normalise, "subsample": fitness.subsample}


def check_fingerprints(run: RunDir, config: RunConfig, model_fingerprint: str, dataset_fingerprint: str) -> None:
    """Refuse to go on with a model or dataset other than the one the run started with."""
    for what, path, now in (("model", config.model, model_fingerprint), ("dataset", config.data, dataset_fingerprint)):
        if run.run_info[f"{what}_fingerprint"] != now:
            raise StoreError(f"{run.root}: the {what} at {path} has changed since the run started; "
                             "start a new run for it")
