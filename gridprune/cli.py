"""The `gridprune` command: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from gridprune import __version__
from gridprune.errors import GridpruneError


def _cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from gridprune.data import read_hrl
    from gridprune.models import Evaluator, load_checkpoint
    from gridprune.models.evaluator import utterance_rows

    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = read_hrl(args.data)
    started = time.perf_counter()
    checkpoint = load_checkpoint(args.model)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    evaluation = Evaluator(checkpoint, dataset).evaluate()
    seconds = time.perf_counter() - started
    rows = utterance_rows(dataset, evaluation)
    result = evaluation.result
    if args.json:
        print(json.dumps({
            "model": str(checkpoint.path),
            "data": str(dataset.path),
            "wer": result.wer,
            "n_utterances": len(rows),
            "n_words": result.words,
            "n_errors": result.errors,
            "seconds": seconds,
            "load_seconds": load_seconds,
            "utterances": rows,
        }, indent=2))
        return 0
    width = max(len(r["audio"]) for r in rows)
    print(f"{'audio':<{width}}  {'WER':>6}  reference / hypothesis")
    for row in rows:
        print(f"{row['audio']:<{width}}  {row['wer']:6.3f}  {row['reference'].strip()}")
        print(f"{'':<{width}}  {'':>6}  {row['hypothesis']}")
    print(f"\ncorpus WER {result.wer:.4f} ({result.errors} errors / {result.words} words, "
          f"{len(rows)} utterances) in {seconds:.2f} s (model load {load_seconds:.2f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="gridprune", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gridprune {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("eval", help="decode a dataset with a model and print its WER")
    evaluate.add_argument("--model", required=True, help="checkpoint folder, or 'demo' for the shipped demo model")
    evaluate.add_argument("--data", required=True, type=Path, help="dataset .hrl file")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    evaluate.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    evaluate.set_defaults(handler=_cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridprune` console command."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except GridpruneError as exc:
        print(f"gridprune: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
