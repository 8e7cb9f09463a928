"""Resident memory of an evaluation worker: its peak against the model's size, and its growth over many evaluations.

    python benchmarks/memory.py [--models demo base large] [--evaluations N] [--utterances K] [--json OUT.json]

Each model is measured in a fresh process that does what a worker does: build
the task handler (load the model, cache the front end) and evaluate N random
chromosomes (half the FFN blocks of every layer pruned), writing each result
into a run directory. The resident set size (RSS) is read after every
evaluation. Growth is the RSS after the last evaluation minus the RSS after the
10th (the allocator has settled by then); the slope is a least-squares fit over
the same span. A leak shows as a slope that does not round to zero.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from common import (EXAMPLE_DATA, GRANULARITY, add_model_arguments, memory_mib, model_path, print_table,
                    random_chromosomes, task_key, write_json)

SETTLED_AFTER = 10
UTTERANCES = {"demo": None, "base": 2, "large": 1}  # per evaluation, unless given


def measure_worker(path: str, evaluations: int, utterances: int | None, seed: int) -> dict:
    """Run in its own process: a worker's life, with its memory after each step."""
    from gridprune.models.pruning import count_parameters
    from gridprune.store import RunDir
    from gridprune.methods.ga_blocks import KIND, FfnHandler, FfnWorkerSpec

    imported = memory_mib()["rss"]
    with tempfile.TemporaryDirectory(prefix="gridprune-memory-") as root:
        RunDir.create(root, {"purpose": "memory benchmark"})
        handler = FfnHandler(FfnWorkerSpec(model=path, data=str(EXAMPLE_DATA), granularity=GRANULARITY,
                                           start_layer=0), threads=1)
        model = handler.pruner.model
        model_mib = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
        loaded = memory_mib()["rss"]
        chromosomes = random_chromosomes(len(model.wav2vec2.encoder.layers), 0.5, evaluations, seed)
        indices = None if utterances is None else list(range(utterances))
        after_each = []
        for i, chromosome in enumerate(chromosomes):
            handler({"key": task_key(i), "kind": KIND, "params": {"blocks": chromosome, "indices": indices}})
            after_each.append(memory_mib()["rss"])
    settled_at = min(SETTLED_AFTER, evaluations) - 1
    settled = np.array(after_each[settled_at:])
    slope = np.polyfit(np.arange(settled.size), settled, 1)[0] if settled.size > 1 else 0.0
    return {"params": count_parameters(model), "model_mib": model_mib, "rss_imported": imported,
            "rss_loaded": loaded, "rss_settled": after_each[settled_at], "rss_last": after_each[-1],
            "peak": memory_mib()["peak"], "growth": after_each[-1] - after_each[settled_at],
            "slope_per_100": 100 * slope, "rss_trace": after_each}


def measure_in_fresh_process(path: str, evaluations: int, utterances: int | None, seed: int) -> dict:
    """`measure_worker` in a new process, so that its peak is the worker's alone."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure_worker, path, evaluations, utterances, seed).result()


COLUMNS = [("model", "model", ""), ("params", "params", ","), ("model_mib", "weights MiB", ".0f"),
           ("utterances", "utts/eval", ""), ("rss_imported", "RSS imports", ".0f"), ("rss_loaded", "RSS loaded", ".0f"),
           ("peak", "peak RSS", ".0f"), ("rss_settled", f"after {SETTLED_AFTER}", ".1f"),
           ("rss_last", "after last", ".1f"), ("growth", "growth MiB", "+.1f"), ("slope_per_100", "MiB/100 evals", "+.2f")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["demo", "base", "large"])
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--utterances", type=int, help="utterances per evaluation (default: demo all, base 2, large 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    rows = []
    for name in args.models:
        utterances = args.utterances or UTTERANCES.get(name)
        row = measure_in_fresh_process(model_path(name, args.models_dir), args.evaluations, utterances, args.seed)
        rows.append({"model": name, "utterances": utterances or "all", "evaluations": args.evaluations, **row})
        print(f"{name}: peak {row['peak']:.0f} MiB, growth {row['growth']:+.1f} MiB over "
              f"{args.evaluations - SETTLED_AFTER} evaluations", file=sys.stderr)
    print(f"{args.evaluations} evaluations per model, RSS in MiB")
    print_table(rows, COLUMNS)
    write_json(args.json, {"evaluations": args.evaluations, "settled_after": SETTLED_AFTER, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
