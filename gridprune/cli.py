"""The `gridprune` command: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import logging
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


def _config_and_run_dir(args: argparse.Namespace):
    """The config of `run` or `submit` with its command-line overrides, and the run directory to use."""
    from gridprune.runs import default_run_dir, read_config

    overrides = list(args.set)
    if getattr(args, "seed", None) is not None:
        overrides.append(f"seed={args.seed}")
    if args.backend:
        overrides.append(f"backend={args.backend}")
    if getattr(args, "workers", None):
        overrides.append(f"local.workers={args.workers}")
    config = read_config(args.config, overrides)
    return config, args.run_dir or config.run_dir or default_run_dir(args.config)


def _cmd_run(args: argparse.Namespace) -> int:
    from gridprune.runs import export_best, start_run

    run = start_run(*_config_and_run_dir(args))
    _print_export(export_best(run))
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from gridprune.runs import submit_master

    job_id, run = submit_master(*_config_and_run_dir(args))
    print(f"submitted master job {job_id}")
    print(f"run directory: {run.root}")
    print(f"watch it with: gridprune status {run.root}")
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from gridprune.runs import continue_run, export_best
    from gridprune.store import RunDir

    run = RunDir.open(args.run_dir)
    continue_run(run)
    _print_export(export_best(run))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from gridprune.runs import status_of
    from gridprune.status import format_status, plot_history
    from gridprune.store import RunDir

    status = status_of(RunDir.open(args.run_dir))
    if args.plot:
        plot_history(status, args.plot)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from gridprune.runs import export_best
    from gridprune.store import RunDir

    _print_export(export_best(RunDir.open(args.run_dir), args.out))
    return 0


def _print_export(report: dict) -> None:
    print(f"pruned model: {report['out']}  (report: {report['out']}/report.json)")
    print(f"parameters {report['params_before']:,} -> {report['params_after']:,} ({report['size_ratio']:.1%}); "
          f"decode {report['decode_seconds_before']:.2f} s -> {report['decode_seconds_after']:.2f} s "
          f"({report['speedup']:.2f}x)")
    line = f"WER search set {report['wer_before']:.4f} -> {report['wer_after']:.4f}"
    if "heldout_wer_after" in report:
        line += f"; held-out set {report['heldout_wer_before']:.4f} -> {report['heldout_wer_after']:.4f}"
    print(line)


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

    run = commands.add_parser("run", help="start a search from a YAML config")
    run.add_argument("config", type=Path, help="YAML config, e.g. configs/demo.yaml")
    run.add_argument("--run-dir", type=Path, help="run directory (default: run_dir of the config, else runs/<config name>)")
    run.add_argument("--backend", choices=["local", "slurm"], help="where evaluations run (overrides the config)")
    run.add_argument("--workers", type=int, help="local worker processes (overrides local.workers)")
    run.add_argument("--seed", type=int, help="random seed (overrides seed)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one config key, e.g. --set ga.population=30 (repeatable)")
    run.set_defaults(handler=_cmd_run)

    submit = commands.add_parser("submit", help="start a search with its master as a Slurm job (from a login node)")
    submit.add_argument("config", type=Path, help="YAML config")
    submit.add_argument("--run-dir", type=Path, help="run directory on the shared filesystem")
    submit.add_argument("--backend", choices=["local", "slurm"], help="where evaluations run (default: the config's)")
    submit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config key")
    submit.set_defaults(handler=_cmd_submit)

    resume = commands.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run_dir", type=Path)
    resume.set_defaults(handler=_cmd_resume)

    status = commands.add_parser("status", help="progress of a run, from its run directory")
    status.add_argument("run_dir", type=Path)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--plot", type=Path, metavar="FILE.png", help="also write a plot of WER per generation")
    status.set_defaults(handler=_cmd_status)

    export = commands.add_parser("export", help="write the best individual as a pruned checkpoint with a report")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--out", type=Path, help="output folder (default: RUN_DIR/best)")
    export.set_defaults(handler=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridprune` console command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        return args.handler(args)
    except GridpruneError as exc:
        print(f"gridprune: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
