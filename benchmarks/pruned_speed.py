"""Decode time of physically pruned models against the unpruned and the masked model, and the FLOP prediction.

    python benchmarks/pruned_speed.py [--models demo base large] [--levels 0.25 0.5 0.625 0.75]
        [--utterances N] [--repeats R] [--threads T] [--json OUT.json]

For each model and level, the same share of FFN rows is removed from every
encoder layer (the blocks of smallest L1 norm, granularity 32), by the slicing
`gridprune export` uses. Each variant decodes the first N utterances of the
example set through the whole model, R times after a warm-up, taking turns with
the unpruned and the masked model so that a slow spell of the machine hits all
three; medians are reported, and each speedup is against the unpruned model's
median from the same turns. The predicted speedup is the ratio of FLOPs counted by
`torch.utils.flop_counter` over the same utterances; "efficiency" is the
measured speedup over the predicted one. The masked model zeroes the same
rows and keeps the shapes: the speed a mask-based pruner gives.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path
from typing import Callable

import torch
from transformers import Wav2Vec2ForCTC

from common import EXAMPLE_DATA, GRANULARITY, add_model_arguments, model_path, print_table, write_json
from gridprune.data import Dataset, read_hrl
from gridprune.models import load_checkpoint
from gridprune.models.evaluator import decode_dataset
from gridprune.models.pruning import FfnPruner, block_l1_norms, count_parameters, mask_ffn_rows
from gridprune.models.speed import count_flops
from gridprune.search import SearchSpace, l1_seed


def interleaved_seconds(variants: dict[str, Callable[[], Wav2Vec2ForCTC]], processor, dataset: Dataset,
                        repeats: int) -> dict[str, float]:
    """Median wall time of decoding `dataset` through the whole model, for each variant.

    The variants take turns in every repeat (after one warm-up utterance each),
    so a slow spell of the machine slows all of them, not one.
    """
    warm_up = dataset.head(1)
    for make in variants.values():
        decode_dataset(make(), processor, warm_up)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, make in variants.items():
            seconds[name].append(decode_dataset(make(), processor, dataset).seconds)
    return {name: statistics.median(values) for name, values in seconds.items()}


def measure_model(name: str, path: str, levels: list[float], dataset: Dataset, repeats: int) -> list[dict]:
    """One row per pruning level of one model, after a row for the unpruned model."""
    checkpoint = load_checkpoint(path)
    model, processor = checkpoint.model, checkpoint.processor
    layers = tuple(range(len(model.wav2vec2.encoder.layers)))
    norms = block_l1_norms(model, layers, GRANULARITY)
    pruner = FfnPruner(model, GRANULARITY)
    audio = dataset.audio()
    unpruned_flops = count_flops(model, processor, audio)
    unpruned = {"model": name, "pruned": 0.0, "params": count_parameters(model), "gflops": unpruned_flops / 1e9,
                "seconds": [], "predicted_speedup": 1.0, "speedup": 1.0, "efficiency": 1.0}
    rows = []
    for level in levels:
        blocks = round(level * GRANULARITY)
        space = SearchSpace(layers, GRANULARITY, (blocks,) * len(layers))
        pruned = dict(zip(layers, l1_seed(norms, space)))
        masked = copy.deepcopy(model)
        mask_ffn_rows(masked, pruned, GRANULARITY)
        sliced = pruner.apply(pruned)
        row = {"model": name, "pruned": blocks / GRANULARITY, "params": count_parameters(sliced),
               "gflops": count_flops(sliced, processor, audio) / 1e9}
        seconds = interleaved_seconds({"unpruned": pruner.restore, "sliced": lambda: pruner.apply(pruned),
                                       "masked": lambda: masked}, processor, dataset, repeats)
        pruner.restore()
        unpruned["seconds"].append(seconds["unpruned"])
        row.update(seconds=seconds["sliced"], masked_seconds=seconds["masked"],
                   unpruned_seconds=seconds["unpruned"], predicted_speedup=unpruned_flops / (row["gflops"] * 1e9),
                   speedup=seconds["unpruned"] / seconds["sliced"], masked_speedup=seconds["unpruned"] / seconds["masked"])
        row["efficiency"] = row["speedup"] / row["predicted_speedup"]
        rows.append(row)
        print(f"{name}: {row['pruned']:.1%} pruned, {row['seconds']:.3f} s, speedup {row['speedup']:.2f}x "
              f"of {row['predicted_speedup']:.2f}x predicted", file=sys.stderr)
    unpruned["seconds"] = statistics.median(unpruned["seconds"])
    return [unpruned, *rows]


COLUMNS = [("model", "model", ""), ("pruned", "FFN pruned", ".1%"), ("params", "params", ","),
           ("gflops", "GFLOPs", ".1f"), ("unpruned_seconds", "unpruned s", ".3f"), ("seconds", "decode s", ".3f"), ("masked_seconds", "masked s", ".3f"),
           ("predicted_speedup", "predicted", ".2f"), ("speedup", "speedup", ".2f"),
           ("masked_speedup", "masked", ".2f"), ("efficiency", "of predicted", ".0%")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["demo", "base", "large"])
    parser.add_argument("--levels", nargs="+", type=float, default=[0.25, 0.5, 0.625, 0.75])
    parser.add_argument("--utterances", type=int, help="decode only the first N utterances of the example set")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as one worker)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    dataset = read_hrl(EXAMPLE_DATA).head(args.utterances)
    audio_seconds = sum(len(a) for a in dataset.audio()) / 16000
    rows = [row for name in args.models
            for row in measure_model(name, model_path(name, args.models_dir), args.levels, dataset, args.repeats)]
    print(f"{len(dataset)} utterances ({audio_seconds:.1f} s of audio), {args.threads} thread(s), "
          f"median of {args.repeats}")
    print_table(rows, COLUMNS)
    write_json(args.json, {"utterances": len(dataset), "audio_seconds": audio_seconds, "threads": args.threads,
                           "repeats": args.repeats, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
