"""Utterance decodes saved by exact early rejection of evaluations under a WER ceiling.

    python benchmarks/early_rejection.py [--model demo] [--data wav_files_example/search80.hrl]
        [--levels 0.1 0.25 0.5 0.75] [--count 16] [--offsets 0 0.02 0.05 0.1] [--seed 0]
        [--threads 1] [--json OUT.json]

For each pruning level, `count` random chromosomes (that share of the FFN blocks
of every encoder layer pruned, granularity 32) are decoded in full once, then
once per offset with a WER ceiling of (the unpruned model's WER + offset): such
an evaluation stops as soon as its word errors so far, over all the set's
reference words, are above the ceiling. Per level and offset the table gives
the share rejected, the mean utterances decoded per evaluation, the decodes
saved as a share of full decodes, and the bounded decode time as a share of
the full one (a timing: it belongs to a quiet machine).

Every decision is checked against the full decode's (`WER > ceiling`), and
every accepted evaluation against the full evaluation; the script says so and
exits with status 1 if any differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path
from typing import Any

from common import REPO, GRANULARITY, add_model_arguments, model_path, print_table, random_chromosomes, write_json

DEFAULT_DATA = REPO / "wav_files_example" / "search80.hrl"


def evaluate_level(evaluator, pruner, layers: int, level: float, count: int, seed: int,
                   ceilings: dict[float, float]) -> list[dict[str, Any]]:
    """One record per (chromosome, offset): the full decode's WER and what the bounded evaluation did."""
    records = []
    for number, chromosome in enumerate(random_chromosomes(layers, level, count, seed)):
        model = pruner.apply({int(layer): blocks for layer, blocks in chromosome.items()})
        try:
            full = evaluator.evaluate(model)
            for offset, ceiling in ceilings.items():
                bounded = evaluator.evaluate(model, wer_ceiling=ceiling)
                records.append({
                    "level": level, "chromosome": number, "offset": offset, "ceiling": ceiling,
                    "full_wer": full.result.wer, "rejected": bounded.rejected, "decoded": len(bounded.indices),
                    "utterances": len(full.indices), "full_seconds": full.seconds, "seconds": bounded.seconds,
                    "agrees": agrees(full, bounded, ceiling),
                })
        finally:
            pruner.restore()
    return records


def agrees(full, bounded, ceiling: float) -> bool:
    """Whether the bounded evaluation decided as the full decode does, and equals it when accepted."""
    if bounded.rejected != (full.result.wer > ceiling):
        return False
    if bounded.rejected:
        return bounded.hypotheses == full.hypotheses[:len(bounded.hypotheses)]
    return dataclasses.replace(bounded, seconds=0.0) == dataclasses.replace(full, seconds=0.0)


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (level, offset)."""
    rows = []
    for key in dict.fromkeys((r["level"], r["offset"]) for r in records):
        group = [r for r in records if (r["level"], r["offset"]) == key]
        full_decodes = sum(r["utterances"] for r in group)
        rows.append({
            "level": key[0], "offset": key[1], "ceiling": group[0]["ceiling"], "evaluations": len(group),
            "full_wer": statistics.fmean(r["full_wer"] for r in group),
            "rejected": statistics.fmean(r["rejected"] for r in group),
            "decoded": statistics.fmean(r["decoded"] for r in group),
            "saved": 1 - sum(r["decoded"] for r in group) / full_decodes,
            "time": sum(r["seconds"] for r in group) / sum(r["full_seconds"] for r in group),
            "agree": all(r["agrees"] for r in group),
        })
    return rows


COLUMNS = [("level", "pruned", ".0%"), ("offset", "offset", "+.2f"), ("ceiling", "ceiling", ".4f"),
           ("evaluations", "evals", "d"), ("full_wer", "mean WER", ".4f"), ("rejected", "rejected", ".0%"),
           ("decoded", "utts decoded", ".1f"), ("saved", "decodes saved", ".1%"), ("time", "time vs full", ".0%"),
           ("agree", "agree", "")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo", help="demo, base, large or a checkpoint folder")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--levels", nargs="+", type=float, default=[0.1, 0.25, 0.5, 0.75],
                        help="shares of FFN blocks pruned in every layer")
    parser.add_argument("--count", type=int, default=16, help="random chromosomes per level")
    parser.add_argument("--offsets", nargs="+", type=float, default=[0.0, 0.02, 0.05, 0.1],
                        help="ceilings: the unpruned WER plus each offset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--json", type=Path, help="write the figures here")
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    import torch

    from gridprune.data import read_hrl
    from gridprune.models import Evaluator, load_checkpoint
    from gridprune.models.pruning import FfnPruner

    torch.set_num_threads(args.threads)
    checkpoint = load_checkpoint(model_path(args.model, args.models_dir))
    dataset = read_hrl(args.data)
    layers = len(checkpoint.model.wav2vec2.encoder.layers)
    evaluator = Evaluator(checkpoint, dataset, start_layer=0)  # every layer is pruned
    pruner = FfnPruner(checkpoint.model, GRANULARITY)
    unpruned = evaluator.evaluate().result.wer
    ceilings = {offset: unpruned + offset for offset in args.offsets}
    records = [record for number, level in enumerate(args.levels)
               for record in evaluate_level(evaluator, pruner, layers, level, args.count, args.seed + number, ceilings)]
    rows = summarise(records)

    print(f"{args.model} on {args.data.name} ({len(dataset.utterances)} utterances), unpruned WER {unpruned:.4f}; "
          f"{args.count} random chromosomes per level, every layer pruned, granularity {GRANULARITY}")
    print_table(rows, COLUMNS)
    differ = sum(not r["agrees"] for r in records)
    if differ:
        print(f"{differ} of {len(records)} bounded evaluations differ from the full decode's decision or result")
    else:
        print(f"all {len(records)} decisions equal the full decode's (WER > ceiling), "
              "and every accepted evaluation equals the full one")
    data = args.data.resolve()
    shown = data.relative_to(REPO) if data.is_relative_to(REPO) else data  # no machine's paths in the figures
    write_json(args.json, {"model": args.model, "data": str(shown), "unpruned_wer": unpruned,
                           "count": args.count, "seed": args.seed, "rows": rows, "records": records})
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
