"""The `gridprune` command: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from gridprune import __version__
from gridprune.errors import GridpruneError

DESCRIPTION = """\
Make a pre-trained wav2vec2 speech recogniser smaller and faster. A config names
a pruning method (the job type), the model and the datasets; gridprune runs the
method's trials (each scored by the word error rate, WER, of the pruned model)
in local worker processes or as Slurm jobs, resumes a stopped run where it left
off, and writes the pruned models with a report of their size, speed and WER
before and after.

methods (`gridprune methods NAME` lists one's settings):
{methods}

Start with:  gridprune run configs/demo.yaml
Compare every method on one model:  gridprune compare configs/compare_demo.yaml
"""

EXAMPLES = {
    "eval": "example:\n  gridprune eval --model demo --data wav_files_example/example.hrl",
    "run": "examples:\n  gridprune run configs/demo.yaml\n"
           "  gridprune run configs/demo.yaml --run-dir runs/try2 --workers 4 --set ga.generations=30",
    "submit": "example:\n  gridprune submit configs/my_search.yaml --run-dir /shared/runs/search1 --backend slurm",
    "resume": "examples:\n  gridprune resume runs/demo\n"
              "  gridprune resume runs/demo --set ga.generations=40 --workers 4",
    "status": "example:\n  gridprune status runs/demo --plot runs/demo/wer.png",
    "export": "example:\n  gridprune export runs/demo --out pruned/demo-50 --threads 2",
    "cancel": "example:\n  gridprune cancel /shared/runs/search1",
    "methods": "examples:\n  gridprune methods\n  gridprune methods parp",
    "compare": "examples:\n  gridprune compare configs/compare_demo.yaml\n"
               "  gridprune compare --resume runs/compare_demo\n"
               "  gridprune compare runs/demo runs/parp_demo --run-dir runs/demo_vs_parp",
}


def _eval_model(spec: str) -> tuple[Path, str | None]:
    """The model folder `eval --model spec` decodes: the headline model of an export (with the line saying
    which), else the folder `spec` names."""
    from gridprune.checkpoint_files import resolve_model_path
    from gridprune.engine import ProtocolError, headline_model
    from gridprune.runs import read_report, report_path

    path = resolve_model_path(spec)
    report = read_report(path)
    if report is None or "models" not in report:
        return path, None
    try:
        headline = headline_model(report)
    except ProtocolError as exc:
        raise GridpruneError(f"{report_path(path)} is not a report this gridprune reads: {exc}") from None
    folder = path / headline["folder"]
    return folder, f"evaluating the headline model of the export {path}: {headline['label']} ({folder})"


def _cmd_eval(args: argparse.Namespace) -> int:
    from gridprune.checkpoint_files import check_checkpoint_folder
    from gridprune.data import read_hrl

    # Arguments, the model folder and the dataset are checked before torch is imported (seconds).
    if args.threads < 0:
        raise GridpruneError(f"--threads {args.threads}: give 1 or more, or 0 for torch's choice")
    model, which = _eval_model(args.model)
    check_checkpoint_folder(model)
    dataset = read_hrl(args.data, args.audio_dir)
    if which:
        print(which, file=sys.stderr if args.json else sys.stdout)  # --json: stdout stays one JSON object

    import torch
    from tqdm import tqdm

    from gridprune.models import load_checkpoint
    from gridprune.models.decoding import transcribe_dataset
    from gridprune.wer import score

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    checkpoint = load_checkpoint(model)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    decoding = transcribe_dataset(checkpoint.model, checkpoint.processor, dataset)
    # A bar on a terminal only: logs and pipes get the result, not the redraws.
    hypotheses = list(tqdm(decoding, total=len(dataset), unit="utt", desc="decoding", leave=False,
                           disable=not sys.stderr.isatty()))
    seconds = time.perf_counter() - started
    result = score([u.transcription for u in dataset.utterances], hypotheses, normalise=not args.no_normalise)
    rows = [{"audio": utt.name, "line": utt.line, "reference": utt.transcription, "hypothesis": hypothesis,
             "words": part.words, "errors": part.errors, "wer": part.wer}
            for utt, hypothesis, part in zip(dataset.utterances, hypotheses, result.utterances)]
    if args.json:
        print(json.dumps({
            "model": str(checkpoint.path),
            "data": str(dataset.path),
            "audio_dir": str(args.audio_dir) if args.audio_dir else None,
            "normalise": not args.no_normalise,
            "wer": result.wer,
            "utterance_mean_wer": result.utterance_mean,
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
          f"{len(rows)} utterances; mean of utterance WERs {result.utterance_mean:.4f}) "
          f"in {seconds:.2f} s (model load {load_seconds:.2f} s)")
    return 0


def _overrides(args: argparse.Namespace) -> list:
    """`--set` items, then the dedicated options, each named as the user wrote it in errors."""
    from gridprune.config import Override, parse_override

    overrides = [parse_override(item) for item in args.set]
    if getattr(args, "seed", None) is not None:
        overrides.append(Override("seed", args.seed, f"--seed {args.seed}"))
    if getattr(args, "backend", None):
        overrides.append(Override("backend", args.backend, f"--backend {args.backend}"))
    if getattr(args, "workers", None) is not None:
        overrides.append(Override("local.workers", args.workers, f"--workers {args.workers}"))
    return overrides


def _setup_and_run_dir(args: argparse.Namespace):
    """The checked setup of `run` or `submit`, the run directory to use, and its run.json."""
    from gridprune.runs import default_run_dir, prepare_run

    setup, info = prepare_run(args.config, _overrides(args))
    return setup, args.run_dir or setup.config.run_dir or default_run_dir(args.config), info


def _cmd_run(args: argparse.Namespace) -> int:
    from gridprune.runs import start_run

    _, report = start_run(*_setup_and_run_dir(args), export=True)
    _print_export(report)
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from gridprune.runs import submit_master

    job_id, run = submit_master(*_setup_and_run_dir(args))
    print(f"submitted master job {job_id}")
    print(f"run directory: {run.root}")
    print(f"watch it with: gridprune status {run.root}")
    print(f"stop it with:  gridprune cancel {run.root}")
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from gridprune.compare import is_compare_dir
    from gridprune.run_setup import method_named
    from gridprune.runs import continue_run, is_exported, progress_of, repair
    from gridprune.store import RunDir

    if is_compare_dir(args.run_dir):
        return _resume_compare(args.run_dir, args)
    run = RunDir.open(args.run_dir)
    overrides = _overrides(args)
    completed, planned = progress_of(run)
    method = method_named(run.run_info["method"])
    if not overrides and planned is not None and completed >= planned and is_exported(run):
        problem = repair(run)
        if problem:
            print(f"{problem}; rebuilt it from checkpoint.json, generations/ and results/")
        print(f"run {run.root} has finished: all {planned} {method.round_name}s are done and its best is exported "
              f"in {run.best_dir} (report.json).")
        more = (f"To search on: gridprune resume {run.root} --set {method.resumable_keys[0]}=N; "
                if method.resumable_keys else "")
        print(f"Nothing to do. {more}to export again: gridprune export {run.root} --force")
        return 0
    _print_export(continue_run(run, overrides, export=True))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from gridprune.compare import CompareDir, is_compare_dir
    from gridprune.compare.status import compare_status, format_compare_status
    from gridprune.run_setup import method_named
    from gridprune.runs import status_of
    from gridprune.status import format_status, plot_history, require_matplotlib
    from gridprune.store import RunDir

    if is_compare_dir(args.run_dir):
        if args.plot:
            raise GridpruneError(f"--plot: a compare draws its plots when it finishes, into {args.run_dir}/plots")
        summary = compare_status(CompareDir.open(args.run_dir))
        print(json.dumps(summary, indent=2) if args.json else format_compare_status(summary))
        return 0
    run = RunDir.open(args.run_dir)
    status = status_of(run)
    method = method_named(status["method"])
    if args.plot:
        require_matplotlib()
        # `plot` is an optional method hook: a sweep plots WER against its settings, not its rounds.
        method.plot(run, args.plot) if hasattr(method, "plot") else plot_history(status, args.plot)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(format_status(status, method.columns))
    for line in method.status_lines(status):
        print(line)
    return 0


def _cmd_methods(args: argparse.Namespace) -> int:
    from gridprune.method_help import describe_method, list_methods

    print("\n".join(describe_method(args.name) if args.name else list_methods()))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from gridprune.runs import export_best
    from gridprune.store import RunDir

    for option in ("threads", "rounds"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            raise GridpruneError(f"--{option} {getattr(args, option)}: give 1 or more")
    _print_export(export_best(RunDir.open(args.run_dir), args.out, force=args.force,
                              threads=args.threads, rounds=args.rounds))
    return 0


def _cmd_cancel(args: argparse.Namespace) -> int:
    from gridprune.cancel import cancel_run
    from gridprune.compare import CompareDir, is_compare_dir
    from gridprune.compare.cancel import cancel_compare
    from gridprune.run_setup import round_name_of
    from gridprune.runs import progress_of
    from gridprune.store import RunDir

    if is_compare_dir(args.run_dir):
        done = cancel_compare(CompareDir.open(args.run_dir))
        print("\n".join(done) if done else f"nothing of the compare {args.run_dir} is running")
        if done:
            print(f"continue with `gridprune compare --resume {args.run_dir}`")
        return 0
    run = RunDir.open(args.run_dir)
    done = cancel_run(run)
    completed, planned = progress_of(run)
    noun = round_name_of(run.run_info.get("method"))
    if not done:
        print(f"nothing of {run.root} is running ({completed} of {planned} {noun}s done)")
        return 0
    for line in done:
        print(line)
    print(f"stopped after {noun} {completed} of {planned}; continue with `gridprune resume {run.root}`")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from gridprune.compare import compare_runs, is_compare_dir, start_compare
    from gridprune.compare.config import MeasureSettings
    from gridprune.config import Override

    measure = {name: getattr(args, name) for name in ("threads", "rounds", "utterances")
               if getattr(args, name) is not None}
    for name, value in measure.items():
        if value < 1:
            raise GridpruneError(f"--{name} {value}: give 1 or more")
    if args.remeasure and not args.resume:
        raise GridpruneError("--remeasure goes with --resume DIR: it measures a finished compare's models again")
    if args.resume:
        if args.sources or measure or args.run_dir:
            raise GridpruneError("--resume DIR continues a compare as it was planned: give no config, run "
                                 "directory, --run-dir, --threads, --rounds or --utterances with it")
        return _resume_compare(args.resume, args)
    if not args.sources:
        raise GridpruneError("give a compare config (e.g. configs/compare_demo.yaml), finished run directories, or "
                             "--resume COMPARE_DIR")
    first = args.sources[0]
    if len(args.sources) == 1 and is_compare_dir(first):
        raise GridpruneError(f"{first} is a compare directory; continue it with `gridprune compare --resume {first}`")
    if len(args.sources) == 1 and (first.is_file() or first.suffix in (".yaml", ".yml")):
        overrides = _overrides(args) + [Override(f"measure.{name}", value, f"--{name} {value}")
                                        for name, value in measure.items()]
        report = start_compare(first, args.run_dir, overrides)
    else:
        if args.set or args.backend or args.workers is not None:
            raise GridpruneError("--set, --backend and --workers change a compare config; a compare of finished runs "
                                 "runs nothing on a backend")
        report = compare_runs(args.sources, args.run_dir or Path("runs") / "compare", MeasureSettings(**measure))
    _print_compare(report)
    return 0


def _resume_compare(root: Path, args: argparse.Namespace) -> int:
    from gridprune.compare import resume_compare

    _print_compare(resume_compare(root, _overrides(args), remeasure=getattr(args, "remeasure", False)))
    return 0


def _print_compare(report: dict) -> None:
    """The table, then where the report and the plots are."""
    from gridprune.compare import CompareDir

    compare = CompareDir(report["compare_dir"])
    print(compare.table_path.read_text())
    print(f"report: {compare.report_path}")
    for plot in report["plots"]:
        print(f"plot:   {compare.root / plot}")
    if not report["plots"]:
        print("no plots: they need matplotlib (pip install 'gridprune[plot]')")


def _print_export(report: dict) -> None:
    """Where an export is, its summary and a table of its models: from the report contract alone, any method."""
    if report.get("replaced") is not None:
        print(f"replaced the export made after {report.get('round_name', 'generation')} {report['replaced']}")
    print(f"export: {report['out']}  (report: {report['out']}/report.json; model folders are relative to it)")
    print(report["summary"])
    print("\n".join(_model_table(report)))
    headline = Path(report["out"]) / next(m["folder"] for m in report["models"] if m["label"] == report["headline"])
    if (headline / "config.json").is_file():  # a checkpoint folder
        print(f"* headline: the model `gridprune eval --model {report['out']}` evaluates")
    else:
        print(f"* headline: the model in {headline} (its factory's model with these weights)")
    if any(model["speed_uncertain"] for model in report["models"]):
        print("! the machine was busy while timing: the figure is uncertain; export again when it is idle")


def _model_table(report: dict) -> list[str]:
    """The baseline, then each model of the report, the headline marked with `*`; a column no row has a
    figure in is left out."""
    from gridprune.engine import figure, size_figure

    baseline = report["baseline"]
    columns = [
        ("model", "<", lambda m: m["label"]),
        ("folder", "<", lambda m: m["folder"] or "-"),
        ("params", ">", lambda m: f"{m['params']:,}"),
        ("kept", ">", lambda m: f"{m['params'] / baseline['params']:.1%}"),
        ("non-zero", ">", lambda m: f"{m['nonzero_params']:,}"),
        ("size", ">", lambda m: size_figure(m["bytes"])),
        ("sparse", ">", lambda m: size_figure(m["sparse_bytes"])),
        ("WER search", ">", lambda m: figure(m["wer_search"])),
        ("WER held-out", ">", lambda m: figure(m["wer_heldout"])),
        ("speedup (rounds)", "<", _speedup),
        ("FLOPs predict", ">", lambda m: figure(m["predicted_speedup"], "{:.2f}x")),
    ]
    rows = [baseline, *report["models"]]
    cells = [[cell(row) for _, _, cell in columns] for row in rows]
    shown = [i for i in range(len(columns)) if any(line[i] != "-" for line in cells)]
    widths = {i: max(len(columns[i][0]), *(len(line[i]) for line in cells)) for i in shown}

    def line(mark: str, texts: list[str]) -> str:
        return mark + "  ".join(f"{texts[i]:{columns[i][1]}{widths[i]}}" for i in shown).rstrip()

    marks = ["  ", *("* " if model["label"] == report["headline"] else "  " for model in report["models"])]
    return [line("  ", [header for header, _, _ in columns]), *map(line, marks, cells)]


def _speedup(model: dict) -> str:
    """`1.11x (1.06-1.15x)`, with `!` when the machine was busy while timing; "-" if it was not timed."""
    if model["speedup"] is None:
        return "-"
    busy = "!" if model["speed_uncertain"] else ""
    return f"{model['speedup']:.2f}x ({model['speedup_min']:.2f}-{model['speedup_max']:.2f}x){busy}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand; the methods and backends it names are the registered ones."""
    from gridprune.backends import BACKENDS
    from gridprune.method_help import method_lines
    from gridprune.methods import METHODS

    methods = "\n".join(method_lines(indent="  "))
    parser = argparse.ArgumentParser(prog="gridprune", description=DESCRIPTION.format(methods=methods),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    backends = list(BACKENDS)
    backend_help = "; ".join(f"{name}: {entry.summary}" for name, entry in BACKENDS.items())
    parser.add_argument("--version", action="version", version=f"gridprune {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("eval", help="decode a dataset with a model and print its WER")
    evaluate.add_argument("--model", required=True, help="checkpoint folder, or 'demo' for the shipped demo model")
    evaluate.add_argument("--data", required=True, type=Path, help="dataset .hrl file")
    evaluate.add_argument("--audio-dir", type=Path, metavar="DIR",
                          help="folder the audio file names of the .hrl are relative to (default: the .hrl's folder)")
    evaluate.add_argument("--no-normalise", action="store_true",
                          help="score as the original code: lower-case and split on single spaces only")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    evaluate.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    evaluate.set_defaults(handler=_cmd_eval)

    run = commands.add_parser("run", help="start a search from a YAML config, then export its best")
    run.add_argument("config", type=Path, help="YAML config, e.g. configs/demo.yaml")
    run.add_argument("--run-dir", type=Path, help="run directory (default: run_dir of the config, else runs/<config name>)")
    run.add_argument("--backend", choices=backends, help=f"where tasks run (overrides the config): {backend_help}")
    run.add_argument("--workers", type=int, help="local worker processes (overrides local.workers)")
    run.add_argument("--seed", type=int, help="random seed (overrides seed)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one config key, e.g. --set ga.population=30 (repeatable)")
    run.set_defaults(handler=_cmd_run)

    submit = commands.add_parser("submit", help="start a search with its master as a Slurm job (from a login node)")
    submit.add_argument("config", type=Path, help="YAML config")
    submit.add_argument("--run-dir", type=Path, help="run directory on the shared filesystem")
    submit.add_argument("--backend", choices=backends, help="where tasks run (default: the config's)")
    submit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config key")
    submit.set_defaults(handler=_cmd_submit)

    resume = commands.add_parser(
        "resume", help="continue a stopped run from its last checkpoint, or search on with more rounds",
        description="Continue a run from its last checkpoint; results already in the run directory are reused. "
                    "A finished, exported run is left as it is. --set may change what a method lets grow "
                    f"({', '.join(k for m in METHODS.values() for k in m.resumable_keys)}), backend, "
                    f"{', '.join(f'{name}.*' for name in backends)} and resources.*; anything else is refused "
                    "with the reason.")
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change one setting of the run, e.g. --set ga.generations=40 (repeatable)")
    resume.add_argument("--workers", type=int, help="local worker processes (changes local.workers)")
    resume.add_argument("--backend", choices=backends, help="where tasks run from now on")
    resume.set_defaults(handler=_cmd_resume)

    status = commands.add_parser("status", help="progress of a run, and whether its master is running")
    status.add_argument("run_dir", type=Path)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--plot", type=Path, metavar="FILE.png",
                        help="also write a plot of the value (WER) per round, or the method's own plot "
                             "(needs: pip install 'gridprune[plot]')")
    status.set_defaults(handler=_cmd_status)

    export = commands.add_parser("export", help="write the run's pruned model (a sweep: each point's) with a report")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--out", type=Path, help="output folder (default: RUN_DIR/best)")
    export.add_argument("--force", action="store_true", help="replace an export already in the output folder")
    export.add_argument("--threads", type=int, help="torch threads of the speed measurement (default 1)")
    export.add_argument("--rounds", type=int, help="rounds of the speed measurement (default 7)")
    export.set_defaults(handler=_cmd_export)

    cancel = commands.add_parser("cancel", help="stop a run: its master, its worker processes and every Slurm job "
                                                "of the run, no other; waits until they are gone")
    cancel.add_argument("run_dir", type=Path)
    cancel.set_defaults(handler=_cmd_cancel)

    compare = commands.add_parser(
        "compare", help="run every method of a compare config on one model, then measure all their models together",
        description="Run each entry of a compare config (a label, a method and its section; the model, datasets and "
                    "backend shared) as an ordinary run inside the compare directory, one after another; then "
                    "measure every exported model and the unpruned one together (sizes, WER on the search and "
                    "held-out sets, speed timed in turns) into report.json, table.md (the Pareto-optimal rows "
                    "marked) and plots/. Given finished run directories of one model instead, measure their exports.")
    compare.add_argument("sources", nargs="*", type=Path, metavar="CONFIG | RUN_DIR",
                         help="a compare config (YAML), or finished run directories of one model")
    compare.add_argument("--run-dir", type=Path, metavar="DIR",
                         help="the compare directory (default: run_dir of the config, else runs/<config name>; "
                              "runs/compare for run directories)")
    compare.add_argument("--resume", type=Path, metavar="DIR", help="continue the compare in DIR where it stopped")
    compare.add_argument("--remeasure", action="store_true",
                         help="with --resume: measure a finished compare's models again (e.g. on an idle machine)")
    compare.add_argument("--backend", choices=backends, help="where the entries' tasks run (overrides the config)")
    compare.add_argument("--workers", type=int, help="local worker processes (overrides local.workers)")
    compare.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="override a key the entries share, e.g. --set local.workers=4 (repeatable)")
    compare.add_argument("--threads", type=int, help="torch threads of the measuring (default 1)")
    compare.add_argument("--rounds", type=int, help="timing rounds (default 7)")
    compare.add_argument("--utterances", type=int, help="utterances of the timing set (default 20)")
    compare.set_defaults(handler=_cmd_compare)

    methods_command = commands.add_parser("methods", help="list the pruning methods, or one method's settings")
    methods_command.add_argument("name", nargs="?", choices=list(METHODS), help="a method's name")
    methods_command.set_defaults(handler=_cmd_methods)

    for name, subparser in commands.choices.items():
        subparser.epilog = EXAMPLES.get(name)
        subparser.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridprune` console command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("gridprune: interrupted; what was done is kept (`gridprune resume RUN_DIR` continues a run)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gridprune status RUN | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except GridpruneError as exc:
        print(f"gridprune: error: {exc}", file=sys.stderr)
        return 2
    except (PermissionError, FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
        if exc.filename is None:
            raise
        print(f"gridprune: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
