"""The GA against baselines and stock optimizers with the same budget, over seeds and pruning levels.

    python benchmarks/search_compare.py [--config configs/demo.yaml] [--set KEY=VALUE ...]
        [--levels 0.25 0.5 0.75] [--seeds 0 1 2] [--methods ga random l1 ngopt onepluseone ...]
        [--budget N] [--jobs 2] [--json OUT.json] [--plots DIR]

Every search sees the config's search set (`data`) only; each method's final
pick is then scored once on the held-out set (`heldout`). The budget is the
GA's: population x generations individuals (default), counted as asks; a
chromosome asked again is a cache hit, as in a gridprune run.

Methods: `ga` (the config's `ga:` settings, as `gridprune run` uses them),
`ga_shuffled` / `ga_sorted` (the same with another `ga.slot_order`), `random`
(random search: the best on the search set of `budget` random chromosomes),
`l1` (the L1-norm seed, no search), `ngopt` and `onepluseone` (Nevergrad's
NGOpt and DiscreteOnePlusOne over one Choice(granularity) per pruned slot;
a block already taken in its layer moves to the next free one). Nevergrad is a
benchmark dependency only: `pip install nevergrad`.

Prints a table of mean and min-max over seeds (WER and word errors) per level,
method and set; writes the figures as JSON and, per level, a PNG of the best
search-set WER against evaluations (mean over seeds). With --json, each
finished search is also appended to OUT.partial.jsonl; run the same command
again after a stop and only the missing searches run.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

import numpy as np

from common import REPO, print_table, write_json

GA_VARIANTS = {"ga": None, "ga_shuffled": "shuffled", "ga_sorted": "sorted"}
ALL_METHODS = [*GA_VARIANTS, "random", "l1", "ngopt", "onepluseone"]


class Scorer:
    """WER of chromosomes on the search and held-out sets, each chromosome scored once per set."""

    def __init__(self, config_path: Path, overrides: list[str], level: float):
        import torch

        from gridprune.data import read_hrl
        from gridprune.methods.ga_blocks import GaSettings, search_space
        from gridprune.models import Evaluator, load_checkpoint
        from gridprune.models.pruning import FfnPruner, block_l1_norms
        from gridprune.run_setup import read_setup
        from gridprune.search import l1_seed

        torch.set_num_threads(1)
        self.config = read_setup(config_path, overrides).config
        settings = GaSettings.model_validate(self.config.settings)
        blocks = round(level * settings.granularity)
        self.settings = settings.model_copy(update={"pruned_blocks": blocks})
        checkpoint = load_checkpoint(self.config.model)
        self.space = search_space(self.settings, len(checkpoint.model.wav2vec2.encoder.layers))
        self.seed_chromosome = l1_seed(block_l1_norms(checkpoint.model, self.space.layers, self.space.granularity),
                                       self.space)
        start = min(self.space.layers)
        self.evaluators = {"search": Evaluator(checkpoint, read_hrl(self.config.data.path, self.config.data.audio_dir), start_layer=start)}
        if self.config.heldout:
            self.evaluators["heldout"] = Evaluator(checkpoint, read_hrl(self.config.heldout.path, self.config.heldout.audio_dir), start_layer=start)
        self.pruner = FfnPruner(checkpoint.model, self.space.granularity)
        self.cache: dict[tuple[str, Any], tuple[float, int, int]] = {}

    def score(self, chromosome, set_name: str = "search") -> tuple[float, int, int]:
        """(WER, word errors, reference words) of a chromosome on one set."""
        canonical = tuple(tuple(sorted(genes)) for genes in chromosome)
        if (set_name, canonical) not in self.cache:
            model = self.pruner.apply(dict(zip(self.space.layers, canonical)))
            try:
                result = self.evaluators[set_name].evaluate(model).result
            finally:
                self.pruner.restore()
            self.cache[set_name, canonical] = (result.wer, result.errors, result.words)
        return self.cache[set_name, canonical]


def run_ga(scorer: Scorer, seed: int, budget: int, slot_order: str | None) -> tuple[Any, list[float]]:
    """The GA as `gridprune run` builds it; returns its best and the best-so-far after each ask."""
    from gridprune.methods.ga_blocks import new_search

    settings = scorer.settings if slot_order is None else scorer.settings.model_copy(update={"slot_order": slot_order})
    generations = math.ceil(budget / settings.population)
    settings = settings.model_copy(update={"generations": generations})
    search = new_search(settings, scorer.space, seed, [scorer.seed_chromosome] if settings.l1_seed else [])
    trace: list[float] = []
    while not search.finished:
        population = search.ask()
        fitnesses = [scorer.score(c)[0] for c in population]
        for f in fitnesses:
            trace.append(min(f, trace[-1]) if trace else f)
        search.tell(population, fitnesses)
    return search.best[0], trace[:budget]


def run_random(scorer: Scorer, seed: int, budget: int) -> tuple[Any, list[float]]:
    from gridprune.search import random_chromosome

    rng = np.random.default_rng(seed)
    return best_of((random_chromosome(scorer.space, rng) for _ in range(budget)), scorer)


def run_nevergrad(scorer: Scorer, seed: int, budget: int, optimizer: str) -> tuple[Any, list[float]]:
    import nevergrad as ng

    space = scorer.space
    slots = [ng.p.Choice(range(space.granularity)) for n in space.pruned_blocks for _ in range(n)]
    parametrization = ng.p.Tuple(*slots)
    parametrization.random_state = np.random.RandomState(seed)
    optimizer = ng.optimizers.registry[optimizer](parametrization=parametrization, budget=budget)
    best, trace = None, []
    for _ in range(budget):
        candidate = optimizer.ask()
        chromosome = to_chromosome(candidate.value, space)
        wer = scorer.score(chromosome)[0]
        optimizer.tell(candidate, wer)
        if best is None or wer < trace[-1]:
            best = chromosome
        trace.append(wer if not trace else min(wer, trace[-1]))
    return best, trace


def to_chromosome(choices, space) -> tuple[tuple[int, ...], ...]:
    """One layer after another, each slot's block; a block already taken moves to the next free one."""
    chromosome, position = [], 0
    for n in space.pruned_blocks:
        taken: list[int] = []
        for choice in choices[position:position + n]:
            block = int(choice)
            while block in taken:
                block = (block + 1) % space.granularity
            taken.append(block)
        chromosome.append(tuple(sorted(taken)))
        position += n
    return tuple(chromosome)


def best_of(chromosomes, scorer: Scorer) -> tuple[Any, list[float]]:
    best, trace = None, []
    for chromosome in chromosomes:
        wer = scorer.score(chromosome)[0]
        if best is None or wer < trace[-1]:
            best = chromosome
        trace.append(wer if not trace else min(wer, trace[-1]))
    return best, trace


def run_one(job: tuple[Path, list[str], float, int, str, int | None]) -> dict[str, Any]:
    """One (level, seed, method) search and its pick scored on every set."""
    config, overrides, level, seed, method, budget = job
    scorer = Scorer(config, overrides, level)
    budget = budget or scorer.settings.population * scorer.settings.generations
    runners: dict[str, Callable[[], tuple[Any, list[float]]]] = {
        "random": lambda: run_random(scorer, seed, budget),
        "l1": lambda: (scorer.seed_chromosome, [scorer.score(scorer.seed_chromosome)[0]]),
        "ngopt": lambda: run_nevergrad(scorer, seed, budget, "NGOpt"),
        "onepluseone": lambda: run_nevergrad(scorer, seed, budget, "DiscreteOnePlusOne"),
        **{name: (lambda order=order: run_ga(scorer, seed, budget, order)) for name, order in GA_VARIANTS.items()},
    }
    best, trace = runners[method]()
    scores = {name: scorer.score(best, name) for name in scorer.evaluators}
    return {
        "level": level, "seed": seed, "method": method, "budget": budget,
        "evaluations": sum(1 for key in scorer.cache if key[0] == "search"),
        "best": [list(genes) for genes in best], "trace": trace,
        **{f"{name}_wer": s[0] for name, s in scores.items()},
        **{f"{name}_errors": s[1] for name, s in scores.items()},
        **{f"{name}_words": s[2] for name, s in scores.items()},
    }


def summarise(results: list[dict[str, Any]], set_names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for level in sorted({r["level"] for r in results}):
        for method in dict.fromkeys(r["method"] for r in results):
            group = [r for r in results if r["level"] == level and r["method"] == method]
            if not group:
                continue
            row: dict[str, Any] = {"level": level, "method": method, "seeds": len(group)}
            for name in set_names:
                wers = [r[f"{name}_wer"] for r in group]
                errors = [r[f"{name}_errors"] for r in group]
                row[f"{name}_mean"] = statistics.fmean(wers)
                row[f"{name}_range"] = f"{min(wers):.3f}-{max(wers):.3f}"
                row[f"{name}_errors"] = f"{statistics.fmean(errors):.1f}/{group[0][f'{name}_words']}"
            rows.append(row)
    return rows


def plot(results: list[dict[str, Any]], level: float, path: Path) -> None:
    from gridprune.status import line_plot

    group = [r for r in results if r["level"] == level and len(r["trace"]) > 1]
    methods = list(dict.fromkeys(r["method"] for r in group))
    length = min(len(r["trace"]) for r in group)
    x = list(range(1, length + 1))
    lines = {m: ([statistics.fmean(r["trace"][i] for r in group if r["method"] == m) for i in range(length)], {})
             for m in methods}
    line_plot(x, lines, "evaluations", "best WER so far (search set, mean over seeds)",
              f"{level:.0%} of FFN blocks pruned", path)


def run_jobs(jobs: list[tuple], workers: int, journal: Path | None) -> list[dict[str, Any]]:
    """Every job's result, in job order; with a journal, finished jobs are appended to it as they
    end and a rerun skips the ones already there (a long benchmark can be stopped and restarted)."""
    done: dict[tuple, dict[str, Any]] = {}
    if journal is not None and journal.is_file():
        for line in journal.read_text().splitlines():
            result = json.loads(line)
            done[result["level"], result["seed"], result["method"]] = result
    todo = [job for job in jobs if (job[2], job[3], job[4]) not in done]
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(run_one, job) for job in todo]
        for future in as_completed(futures):
            result = future.result()
            done[result["level"], result["seed"], result["method"]] = result
            if journal is not None:
                journal.parent.mkdir(parents=True, exist_ok=True)
                with journal.open("a") as stream:
                    stream.write(json.dumps(result) + "\n")
    return [done[job[2], job[3], job[4]] for job in jobs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--levels", nargs="+", type=float, default=[0.25, 0.5, 0.75])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", choices=ALL_METHODS, default=ALL_METHODS)
    parser.add_argument("--budget", type=int, help="asks per search (default: GA population x generations)")
    parser.add_argument("--jobs", type=int, default=2, help="searches run at once, one core each")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--plots", type=Path, help="write one PNG per level here")
    args = parser.parse_args(argv)

    jobs = [(args.config, args.set, level, seed, method, args.budget)
            for level in args.levels for seed in args.seeds for method in args.methods]
    results = run_jobs(jobs, args.jobs, args.json.with_suffix(".partial.jsonl") if args.json else None)
    set_names = [name for name in ("search", "heldout") if f"{name}_wer" in results[0]]
    rows = summarise(results, set_names)
    print(f"best of each method, mean and min-max over seeds {args.seeds}; budget {results[0]['budget']} asks")
    columns = [("level", "pruned", ".0%"), ("method", "method", ""), ("seeds", "seeds", "d")]
    for name in set_names:
        columns += [(f"{name}_mean", f"{name} WER", ".4f"), (f"{name}_range", "range", ""),
                    (f"{name}_errors", "errors/words", "")]
    print_table(rows, columns)
    write_json(args.json, {"config": str(args.config), "overrides": args.set, "summary": rows, "results": results})
    if args.plots:
        args.plots.mkdir(parents=True, exist_ok=True)
        for level in args.levels:
            path = args.plots / f"search_compare_{round(100 * level)}.png"
            plot(results, level, path)
            print(f"plot written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
