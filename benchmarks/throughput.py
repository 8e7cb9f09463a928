"""Evaluations per second of the local backend against a fresh process per individual, side by side.

    python benchmarks/throughput.py [--models demo base large] [--workers W] [--prune P]
        [--evaluations N] [--baseline-evaluations M] [--utterances K] [--json OUT.json]

For each model, the same random chromosomes (P of the FFN blocks of every
layer pruned, granularity 32) are evaluated on the example set two ways, on the
same W cores:

- gridprune: the local backend with W workers of one thread, each loading the
  model and caching the front end once; N evaluations, timed after the workers
  are ready (their start-up is reported apart);
- fresh process: `fresh_process.py` per individual, W at a time, one thread
  each: import, load, prune, decode the whole pipeline; M evaluations.

The two must agree on every WER they share. The front-end share is the part of
a whole-pipeline decode that caching the input of the first encoder layer
saves, measured in this process on the first chromosomes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import (EXAMPLE_DATA, GRANULARITY, add_model_arguments, model_path, print_table, random_chromosomes,
                    task_key, write_json)
from gridprune.backends.local import LocalBackend
from gridprune.data import read_hrl
from gridprune.store import RunDir
from gridprune.engine import TaskKind, WorkerFactory
from gridprune.methods.ga_blocks import KIND, FfnHandlerFactory, FfnWorkerSpec

FRESH_PROCESS = Path(__file__).with_name("fresh_process.py")
# evaluations (gridprune, fresh process) and utterances per model unless given: enough for a
# stable rate, few enough that the large model finishes in minutes on two cores
DEFAULTS = {"demo": (96, 8, None), "base": (16, 4, 5), "large": (6, 2, 3)}


def run_gridprune(path: str, chromosomes: list[dict], workers: int, utterances: int | None) -> dict:
    """Evaluate with the local backend; returns rates, start-up and the WER of each chromosome."""
    with tempfile.TemporaryDirectory(prefix="gridprune-throughput-") as root:
        run = RunDir.create(root, {"purpose": "throughput benchmark"})
        spec = FfnWorkerSpec(model=path, data=str(EXAMPLE_DATA), granularity=GRANULARITY, start_layer=0)
        backend = LocalBackend(WorkerFactory(root, {KIND: TaskKind(KIND, FfnHandlerFactory(spec), at_start=True)}), workers, threads=1)
        indices = None if utterances is None else list(range(utterances))
        tasks = [{"key": task_key(i), "kind": KIND, "params": {"blocks": c, "indices": indices}}
                 for i, c in enumerate(chromosomes)]
        try:
            started = time.perf_counter()
            backend.start()
            ready = time.perf_counter()
            failures = backend.run(tasks, lambda task: None)
            finished = time.perf_counter()
        finally:
            backend.close()
        if failures:
            raise RuntimeError(f"evaluations failed: {failures[0].reason}")
        records = [run.read_result(task["key"]) for task in tasks]
    return {"rate": len(tasks) / (finished - ready), "rate_with_startup": len(tasks) / (finished - started),
            "startup_seconds": ready - started, "wers": [r["value"] for r in records],
            "decode_seconds": sum(r["seconds"] for r in records) / len(records)}


def run_fresh_processes(path: str, chromosomes: list[dict], workers: int, utterances: int | None) -> dict:
    """Evaluate each chromosome in its own new Python process, `workers` at a time."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def evaluate(chromosome: dict) -> float:
        command = [sys.executable, str(FRESH_PROCESS), path, str(EXAMPLE_DATA), json.dumps(chromosome),
                   "--granularity", str(GRANULARITY)] + ([] if utterances is None else ["--utterances", str(utterances)])
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        return json.loads(done.stdout.splitlines()[-1])["wer"]

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        wers = list(pool.map(evaluate, chromosomes))
    seconds = time.perf_counter() - started
    return {"rate": len(chromosomes) / seconds, "seconds_each": seconds * workers / len(chromosomes), "wers": wers}


def front_end_share(path: str, chromosomes: list[dict], utterances: int | None) -> float:
    """1 - (decode time from the cached first-layer input) / (whole-pipeline decode time), one thread."""
    import torch

    from gridprune.models import Evaluator, load_checkpoint
    from gridprune.models.evaluator import decode_dataset
    from gridprune.models.pruning import FfnPruner

    torch.set_num_threads(1)
    checkpoint = load_checkpoint(path)
    dataset = read_hrl(EXAMPLE_DATA).head(utterances)
    evaluator = Evaluator(checkpoint, dataset, start_layer=0)
    pruner = FfnPruner(checkpoint.model, GRANULARITY)
    cached = whole = 0.0
    for chromosome in chromosomes:
        model = pruner.apply({int(layer): blocks for layer, blocks in chromosome.items()})
        evaluator.evaluate(model)  # warm-up
        cached += evaluator.evaluate(model).seconds
        whole += decode_dataset(model, checkpoint.processor, dataset).seconds
    return 1 - cached / whole


def measure(name: str, path: str, args: argparse.Namespace) -> dict:
    """The table row of one model: both rates, their ratio and the front-end share."""
    from transformers import AutoConfig

    evaluations, baseline_evaluations, utterances = DEFAULTS.get(name, DEFAULTS["demo"])
    evaluations = args.evaluations or evaluations
    baseline_evaluations = args.baseline_evaluations or baseline_evaluations
    utterances = args.utterances or utterances
    layers = AutoConfig.from_pretrained(path).num_hidden_layers
    chromosomes = random_chromosomes(layers, args.prune, evaluations, args.seed)
    ours = run_gridprune(path, chromosomes, args.workers, utterances)
    fresh = run_fresh_processes(path, chromosomes[:baseline_evaluations], args.workers, utterances)
    agree = all(abs(a - b) < 1e-9 for a, b in zip(ours["wers"], fresh["wers"]))
    row = {"model": name, "utterances": utterances or len(read_hrl(EXAMPLE_DATA)), "evaluations": evaluations,
           "baseline_evaluations": baseline_evaluations, "rate": ours["rate"],
           "rate_with_startup": ours["rate_with_startup"], "startup_seconds": ours["startup_seconds"],
           "eval_seconds": ours["decode_seconds"], "baseline_rate": fresh["rate"],
           "baseline_seconds": fresh["seconds_each"], "ratio": ours["rate"] / fresh["rate"],
           "front_end_share": front_end_share(path, chromosomes[:3], utterances), "same_wer": agree}
    print(f"{name}: {row['rate']:.2f} eval/s against {row['baseline_rate']:.3f} eval/s: {row['ratio']:.1f}x",
          file=sys.stderr)
    return row


COLUMNS = [("model", "model", ""), ("utterances", "utts", "d"), ("eval_seconds", "s/eval", ".3f"),
           ("rate", "eval/s", ".2f"), ("startup_seconds", "start-up s", ".1f"),
           ("rate_with_startup", "eval/s incl. start", ".2f"), ("baseline_seconds", "fresh s/eval", ".2f"),
           ("baseline_rate", "fresh eval/s", ".3f"), ("ratio", "ratio", ".1f"),
           ("front_end_share", "front end", ".0%"), ("same_wer", "same WER", "")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["demo", "base", "large"])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="worker processes, one thread each (default: the cores available)")
    parser.add_argument("--prune", type=float, default=0.5, help="share of FFN blocks pruned in every layer")
    parser.add_argument("--evaluations", type=int, help="gridprune evaluations per model")
    parser.add_argument("--baseline-evaluations", type=int, help="fresh-process evaluations per model")
    parser.add_argument("--utterances", type=int, help="decode only the first N utterances of the example set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    rows = [measure(name, model_path(name, args.models_dir), args) for name in args.models]
    print(f"{args.workers} workers x 1 thread against {args.workers} fresh processes at a time; "
          f"{args.prune:.0%} of FFN blocks pruned")
    print_table(rows, COLUMNS)
    write_json(args.json, {"workers": args.workers, "prune": args.prune, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
