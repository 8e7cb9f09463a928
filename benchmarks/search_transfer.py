"""How much of a search-set gain carries over to the held-out set, and how small a held-out gap can be told apart.

    python benchmarks/search_transfer.py [--config configs/demo.yaml] [--set KEY=VALUE ...] [--level 0.5]
        [--samples 60] [--picks benchmarks/results/search_compare.json] [--json OUT.json]

Two measurements, both on the config's search set (`data`) and held-out set (`heldout`):

1. Transfer: `--samples` random chromosomes at the level, each scored on both sets;
   the Pearson and Spearman correlation of their search and held-out WERs, and
   the least-squares slope of held-out WER on search WER (the held-out gain one
   unit of search-set gain predicts among chromosomes like these).
2. Resolution: for the picks of `benchmarks/search_compare.py` at the level (its
   JSON), the held-out WER difference of the GA's pick against each other method's
   pick of the same seed and on the mean over seeds, with a 95% interval from a
   paired bootstrap over the held-out utterances (10,000 resamples): a gap whose
   interval holds 0 is one the held-out set cannot tell from chance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from common import REPO, print_table, write_json
from search_compare import Scorer

RESAMPLES = 10_000


def utterance_errors(scorer: Scorer, chromosome, set_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Word errors and reference words of every utterance of one set, for one chromosome."""
    canonical = {layer: tuple(sorted(genes)) for layer, genes in zip(scorer.space.layers, chromosome)}
    model = scorer.pruner.apply(canonical)
    try:
        result = scorer.evaluators[set_name].evaluate(model).result
    finally:
        scorer.pruner.restore()
    return (np.array([u.errors for u in result.utterances]), np.array([u.words for u in result.utterances]))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, tied values sharing their mean rank (WERs of word counts tie often)."""
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    for value in np.unique(values):
        ranks[values == value] = ranks[values == value].mean()
    return ranks


def transfer(scorer: Scorer, samples: int, seed: int) -> dict[str, Any]:
    """Correlation and slope of held-out on search WER over random chromosomes."""
    from gridprune.search import random_chromosome

    rng = np.random.default_rng(seed)
    pairs = np.array([(scorer.score(c, "search")[0], scorer.score(c, "heldout")[0])
                      for c in (random_chromosome(scorer.space, rng) for _ in range(samples))])
    search, heldout = pairs[:, 0], pairs[:, 1]
    return {"samples": samples, "pearson": float(np.corrcoef(search, heldout)[0, 1]),
            "spearman": float(np.corrcoef(average_ranks(search), average_ranks(heldout))[0, 1]), "slope": float(np.polyfit(search, heldout, 1)[0]),
            "search_range": [float(search.min()), float(search.max())],
            "heldout_range": [float(heldout.min()), float(heldout.max())]}


def paired_gap(pairs: list[tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]],
               rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean over `pairs` of the corpus WER of the first minus the second on the same utterances, and its
    95% paired-bootstrap interval (every pair resampled with the same utterances)."""
    words = pairs[0][0][1]
    idx = rng.integers(0, len(words), size=(RESAMPLES, len(words)))
    gap = np.mean([(a.sum() - b.sum()) / words.sum() for (a, _), (b, _) in pairs])
    gaps = np.mean([(a[idx].sum(1) - b[idx].sum(1)) / words[idx].sum(1) for (a, _), (b, _) in pairs], axis=0)
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(gap), float(low), float(high)


def resolution(scorer: Scorer, picks: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The GA's held-out gap to every other method's pick of the same seed, and over all seeds, with intervals."""
    ga = {p["seed"]: p for p in picks if p["method"] == "ga"}
    errors = {(p["method"], p["seed"]): utterance_errors(scorer, p["best"], "heldout") for p in picks}
    rows = []
    for method in dict.fromkeys(p["method"] for p in picks if p["method"] != "ga"):
        rng = np.random.default_rng([seed, *method.encode()])  # each method's resamples, whatever else is compared
        mine = [p for p in picks if p["method"] == method and p["seed"] in ga]
        for group, label in [*(([p], str(p["seed"])) for p in mine), (mine, "mean")]:
            pairs = [(errors["ga", p["seed"]], errors[method, p["seed"]]) for p in group]
            gap, low, high = paired_gap(pairs, rng)
            search_gap = np.mean([ga[p["seed"]]["search_wer"] - p["search_wer"] for p in group])
            rows.append({"against": method, "seed": label, "gap": gap, "low": low, "high": high,
                         "search_gap": float(search_gap)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--level", type=float, default=0.5, help="share of FFN blocks pruned")
    parser.add_argument("--samples", type=int, default=60, help="random chromosomes for the transfer measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--picks", type=Path, help="a search_compare.py JSON whose picks at --level to compare")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    scorer = Scorer(args.config, args.set, args.level)
    if "heldout" not in scorer.evaluators:
        parser.error("the config has no held-out set (`heldout`)")
    found = transfer(scorer, args.samples, args.seed)
    print(f"{args.level:.0%} pruned, {found['samples']} random chromosomes: search WER "
          f"{found['search_range'][0]:.3f}-{found['search_range'][1]:.3f}, held-out "
          f"{found['heldout_range'][0]:.3f}-{found['heldout_range'][1]:.3f}; Pearson {found['pearson']:.2f}, "
          f"Spearman {found['spearman']:.2f}, slope {found['slope']:.2f}")
    gaps: list[dict[str, Any]] = []
    if args.picks:
        picks = [p for p in json.loads(args.picks.read_text())["results"] if p["level"] == args.level]
        gaps = resolution(scorer, picks, args.seed)
        print("held-out WER of the GA's pick minus the other's (negative: the GA is better), 95% paired bootstrap")
        print_table(gaps, [("against", "against", ""), ("seed", "seed", ""), ("search_gap", "search gap", "+.4f"),
                           ("gap", "held-out gap", "+.4f"), ("low", "low", "+.4f"), ("high", "high", "+.4f")])
    write_json(args.json, {"config": str(args.config), "overrides": args.set, "level": args.level,
                           "transfer": found, "gaps": gaps})
    return 0


if __name__ == "__main__":
    sys.exit(main())
