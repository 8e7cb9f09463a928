"""Does the speedup `gridprune export` reports hold on a busy machine? Five exports of one run, beside CPU hogs.

    python benchmarks/export_stability.py [--config configs/demo.yaml] [--run-dir runs/export_stability]
        [--exports 5] [--hogs N] [--set KEY=VALUE ...] [--json OUT.json]

Runs (once, or reuses) a finished search, then exports its best `--exports`
times with `gridprune export --force`, each in a fresh process, while `--hogs`
processes (default: one per CPU) spin at full speed beside it. Prints each
export's median speedup with its min-max over rounds and the uncertainty flag,
and the max/min ratio of the medians: the target is at most 1.15.

For comparison, beside the same hogs, the same models are then timed
`--exports` times as export did before: three decodes of the search set with
the unpruned model, then three with the pruned one, torch's default threads,
the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from common import REPO, finished_run, print_table, set_options, write_json

HOG = "while True: pass"
SMALL_DEMO = ["ga.population=6", "ga.generations=2", "local.threads_per_worker=1"]


def one_after_the_other(exported: Path, run) -> float:
    """The speedup as export measured it before: median of 3 decodes before, then of 3 after."""
    import statistics

    from gridprune.data import read_hrl
    from gridprune.models import load_checkpoint
    from gridprune.models.evaluator import decode_dataset
    from gridprune.run_setup import stored_config

    config = stored_config(run)
    dataset = read_hrl(config.data.path, config.data.audio_dir)
    seconds = []
    for path in (config.model, exported):
        checkpoint = load_checkpoint(path)
        decode_dataset(checkpoint.model, checkpoint.processor, dataset.head(1))  # warm-up
        seconds.append(statistics.median(decode_dataset(checkpoint.model, checkpoint.processor, dataset).seconds
                                         for _ in range(3)))
    return seconds[0] / seconds[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs" / "export_stability")
    parser.add_argument("--exports", type=int, default=5)
    parser.add_argument("--hogs", type=int, default=len(os.sched_getaffinity(0)), help="CPU-hogging processes")
    parser.add_argument("--set", action="append", default=list(SMALL_DEMO), metavar="KEY=VALUE",
                        help=f"config overrides of the search (default: {' '.join(SMALL_DEMO)})")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    run = finished_run(args.config, args.run_dir, set_options(args.set))
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    rows = []
    try:
        for index in range(args.exports):
            out = run.root / f"export_stability_{index}"
            subprocess.run([sys.executable, "-m", "gridprune.cli", "export", str(run.root), "--out", str(out),
                            "--force"], check=True, stdout=subprocess.DEVNULL)
            report = json.loads((out / "report.json").read_text())
            rows.append({"export": index + 1, "speedup": report["speedup"], "min": report["speedup_min"],
                         "max": report["speedup_max"], "rounds": report["speed_rounds"],
                         "predicted": report["predicted_speedup"], "load": report["speed_load_average"],
                         "uncertain": "yes" if report["speed_uncertain"] else "no"})
            print(f"export {index + 1}: {report['speed_summary']}", file=sys.stderr)
        sequential = [one_after_the_other(run.root / "export_stability_0", run) for _ in range(args.exports)]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    medians = [row["speedup"] for row in rows]
    ratio = max(medians) / min(medians)
    print(f"the former way (3 decodes before, then 3 after, default threads): "
          f"{', '.join(f'{x:.2f}x' for x in sequential)}; max/min {max(sequential) / min(sequential):.3f}")
    print(f"{args.exports} exports of {run.root} beside {args.hogs} CPU-hogging processes:")
    print_table(rows, [("export", "export", ""), ("speedup", "median", ".3f"), ("min", "min", ".3f"),
                       ("max", "max", ".3f"), ("rounds", "rounds", ""), ("predicted", "FLOPs predict", ".3f"),
                       ("load", "load avg", ".1f"), ("uncertain", "uncertain", "")])
    print(f"medians {min(medians):.3f}-{max(medians):.3f}x: max/min {ratio:.3f} (target <= 1.15)")
    write_json(args.json, {"run_dir": str(run.root), "hogs": args.hogs, "exports": rows, "max_over_min": ratio,
                           "former_way": sequential, "former_way_max_over_min": max(sequential) / min(sequential)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
