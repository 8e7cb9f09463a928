"""The GA's best against the L1-norm seed and random chromosomes at the same pruning level.

    python benchmarks/search_quality.py RUN_DIR [--random N] [--seed S] [--json OUT.json]

Reads a finished `ga_blocks` run, then scores on the search set and on the
held-out set: the best chromosome found, the L1-norm seed, and N random
chromosomes of the same shape (default: as many as the GA evaluated). Prints a
table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from gridprune.data import read_hrl
from gridprune.methods.ga_blocks import GaSettings, search_space
from gridprune.models import Evaluator, load_checkpoint
from gridprune.models.pruning import FfnPruner, block_l1_norms
from gridprune.runs import run_config, status_of
from gridprune.search import from_json, l1_seed, random_chromosome
from gridprune.store import RunDir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--random", type=int, help="random chromosomes to score (default: the GA's evaluations)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    run = RunDir.open(args.run_dir)
    config = run_config(run)
    status = status_of(run)
    checkpoint = load_checkpoint(config.model)
    space = search_space(GaSettings.model_validate(config.settings), len(checkpoint.model.wav2vec2.encoder.layers))
    sets = {"search": read_hrl(config.data)}
    if config.heldout:
        sets["heldout"] = read_hrl(config.heldout)
    evaluators = {name: Evaluator(checkpoint, dataset, start_layer=min(space.layers)) for name, dataset in sets.items()}
    seed_chromosome = l1_seed(block_l1_norms(checkpoint.model, space.layers, space.granularity), space)
    pruner = FfnPruner(checkpoint.model, space.granularity)

    def wers(chromosome) -> dict[str, float]:
        model = pruner.apply(dict(zip(space.layers, chromosome)))
        return {name: evaluator.evaluate(model).result.wer for name, evaluator in evaluators.items()}

    rng = np.random.default_rng(args.seed)
    n_random = args.random or status["evaluations"]
    random_wers = [wers(random_chromosome(space, rng)) for _ in range(n_random)]
    rows = {
        "ga_best": wers(from_json(status["best_chromosome"], space)),
        "l1_seed": wers(seed_chromosome),
        "random_median": {n: statistics.median(w[n] for w in random_wers) for n in sets},
        "random_best": {n: min(w[n] for w in random_wers) for n in sets},
        "unpruned": wers(tuple(() for _ in space.layers)),
    }
    pruned = sum(space.pruned_blocks) / (len(space.layers) * space.granularity)
    print(f"{args.run_dir}: {pruned:.1%} of the FFN rows of layers {list(space.layers)} pruned; "
          f"{n_random} random chromosomes; GA: {status['evaluations']} evaluations")
    print(f"{'':>14} " + " ".join(f"{name + ' WER':>12}" for name in sets))
    for label, figures in rows.items():
        print(f"{label:>14} " + " ".join(f"{figures[name]:>12.4f}" for name in sets))
    if args.json:
        args.json.write_text(json.dumps({"run_dir": str(args.run_dir), "pruned_fraction": pruned,
                                         "random_samples": n_random, "ga_evaluations": status["evaluations"],
                                         **rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
