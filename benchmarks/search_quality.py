"""The GA's best against the L1-norm seed and random chromosomes, at several pruning levels.

    python benchmarks/search_quality.py [--config configs/demo.yaml] [--levels 0.25 0.5 0.75]
        [--out DIR] [--plots DIR] [--random N] [--set KEY=VALUE ...] [--json OUT.json]

For each level, runs the search of CONFIG with `ga.pruned_blocks` set to that
share of `ga.granularity` into DIR/level-<share> (a finished run there is only
read), then scores on the search set and on the held-out set: the best
chromosome found, the L1-norm seed, and N random chromosomes of the same shape
(default: as many as the GA evaluated). Of the random chromosomes it reports
the median, the best on each set (on the held-out set an oracle no search can
match) and "random search": the one best on the search set, which is what a
random search with the GA's budget would pick.
Prints a table, writes the figures as JSON and one PNG per set of WER against
the pruning level (search_quality_<set>.png, in --plots, default DIR).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

from common import REPO, finished_run, print_table, set_options, write_json
from gridprune.data import read_hrl
from gridprune.methods.ga_blocks import GaSettings, search_space
from gridprune.models import Evaluator, load_checkpoint
from gridprune.models.pruning import FfnPruner, block_l1_norms
from gridprune.run_setup import read_setup, stored_config
from gridprune.runs import status_of
from gridprune.search import from_json, l1_seed, random_chromosome
from gridprune.status import line_plot
from gridprune.store import RunDir

METHODS = {"ga_best": "GA best", "l1_seed": "L1 seed", "random_search": "random search",
           "random_median": "random median", "random_best": "random best per set"}


def run_level(config: Path, level: float, out: Path, overrides: list[str]) -> RunDir:
    """The finished search at `level`, run now if it is not there yet."""
    granularity = read_setup(config, overrides).settings.granularity
    blocks = round(level * granularity)
    run_dir = out / f"level-{blocks / granularity:.3f}"
    return finished_run(config, run_dir, set_options([*overrides, f"ga.pruned_blocks={blocks}"]))


def score_run(run: RunDir, random_count: int | None, seed: int) -> dict:
    """WER on each set of the GA's best, the L1 seed, random chromosomes and the unpruned model."""
    config = stored_config(run)
    status = status_of(run)
    checkpoint = load_checkpoint(config.model)
    space = search_space(GaSettings.model_validate(config.settings), len(checkpoint.model.wav2vec2.encoder.layers))
    sets = {"search": read_hrl(config.data.path, config.data.audio_dir)}
    if config.heldout:
        sets["heldout"] = read_hrl(config.heldout.path, config.heldout.audio_dir)
    evaluators = {name: Evaluator(checkpoint, dataset, start_layer=min(space.layers)) for name, dataset in sets.items()}
    seed_chromosome = l1_seed(block_l1_norms(checkpoint.model, space.layers, space.granularity), space)
    pruner = FfnPruner(checkpoint.model, space.granularity)

    def wers(chromosome) -> dict[str, float]:
        model = pruner.apply(dict(zip(space.layers, chromosome)))
        return {name: evaluator.evaluate(model).result.wer for name, evaluator in evaluators.items()}

    rng = np.random.default_rng(seed)
    n_random = random_count or status["evaluations"]
    random_wers = [wers(random_chromosome(space, rng)) for _ in range(n_random)]
    return {
        "pruned": sum(space.pruned_blocks) / (len(space.layers) * space.granularity),
        "run_dir": str(run.root),
        "ga_evaluations": status["evaluations"],
        "random_samples": n_random,
        "ga_best": wers(from_json(status["best_chromosome"], space)),
        "l1_seed": wers(seed_chromosome),
        "random_median": {n: statistics.median(w[n] for w in random_wers) for n in sets},
        "random_best": {n: min(w[n] for w in random_wers) for n in sets},
        "random_search": min(random_wers, key=lambda w: w["search"]),
        "unpruned": wers(tuple(() for _ in space.layers)),
    }


def plot(levels: list[dict], set_name: str, path: Path) -> None:
    shares = [100 * level["pruned"] for level in levels]
    lines = {label: ([level[key][set_name] for level in levels], {"marker": "o"}) for key, label in METHODS.items()}
    lines["unpruned"] = ([level["unpruned"][set_name] for level in levels], {"color": "grey", "linestyle": ":"})
    line_plot(shares, lines, "FFN rows pruned (%)", f"WER ({set_name} set)", f"Search quality, {set_name} set", path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--levels", nargs="+", type=float, default=[0.25, 0.5, 0.75])
    parser.add_argument("--out", type=Path, default=Path("runs/search_quality"))
    parser.add_argument("--plots", type=Path, help="where the PNGs go (default: --out)")
    parser.add_argument("--random", type=int, help="random chromosomes per level (default: the GA's evaluations)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the random chromosomes")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for the runs")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    levels = [score_run(run_level(args.config, level, args.out, args.set), args.random, args.seed)
              for level in args.levels]
    set_names = list(levels[0]["ga_best"])
    rows = [{"pruned": level["pruned"], "set": name, "evaluations": level["ga_evaluations"],
             "unpruned": level["unpruned"][name], **{key: level[key][name] for key in METHODS}}
            for level in levels for name in set_names]
    print(f"WER of the best of {args.config.name}'s search against baselines; "
          f"random: as many chromosomes as the GA evaluated")
    print_table(rows, [("pruned", "pruned", ".1%"), ("set", "set", ""), ("evaluations", "GA evals", "d"),
                       ("unpruned", "unpruned", ".4f"), *((key, label, ".4f") for key, label in METHODS.items())])
    write_json(args.json, {"config": str(args.config), "levels": levels})
    plots = args.plots or args.out
    plots.mkdir(parents=True, exist_ok=True)
    for name in set_names:
        plot(levels, name, plots / f"search_quality_{name}.png")
        print(f"plot written to {plots / f'search_quality_{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
