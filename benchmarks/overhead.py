"""Orchestration overhead of a search: each generation's wall time over its pure decode time per worker.

    python benchmarks/overhead.py [--backend local|slurm] [--config configs/demo.yaml]
        [--run-dir DIR] [--set KEY=VALUE ...] [--json OUT.json]

Runs `gridprune run CONFIG` with the given backend into DIR (a finished run
already there is only read), then reports per generation:
overhead = wall seconds / (sum of the workers' decode seconds / workers).
1.00 means the workers did nothing but decode. Worker start-up (imports, model
load, front-end cache) is paid once per run by the local backend and by Slurm in
pilot mode (`--set slurm.mode=pilot`, workers `slurm.pilot.workers`), and is
shown apart; a Slurm job array pays it in every generation, inside the wall
time. Also: the seconds from the run's creation to its first stored result.
For Slurm, start the test cluster first (`bash slurm/testcluster.sh start`) and
set `slurm.array_parallelism` to the array tasks that run at once, which is the
"workers" of the formula.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from common import REPO, finished_run, print_table, set_options, write_json
from gridprune.runs import status_of
from gridprune.engine.status import overhead
from gridprune.store import RunDir, read_json

COLUMNS = [("generation", "gen", "d"), ("seconds", "wall s", ".2f"), ("decode_seconds", "decode s", ".2f"),
           ("workers", "workers", "d"), ("evaluated", "evals", "d"), ("overhead", "overhead", ".2f"),
           ("sbatch_calls", "sbatch", "d"), ("sacct_calls", "sacct", "d")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["local", "slurm"], default="local")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--run-dir", type=Path, help="default: a new folder under /tmp")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for the run")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix=f"gridprune-overhead-{args.backend}-"))
    status = status_of(finished_run(args.config, run_dir, ["--backend", args.backend, *set_options(args.set)]))
    rows = [{**row, "overhead": overhead(row)} for row in status["history"]]
    ratios = [row["overhead"] for row in rows if row["overhead"] is not None]
    if not ratios:
        raise SystemExit(f"{run_dir}: no generation recorded its workers and decode time "
                         "(for Slurm, set slurm.array_parallelism)")
    run = RunDir.open(run_dir)
    finished = [read_json(path)["finished_at"] for path in run.results_dir.glob("*/*.json")]
    summary = {
        "backend": args.backend, "run_dir": str(run_dir), "generations": len(rows),
        "startup_seconds": status["startup_seconds"],
        "first_result_seconds": min(finished) - run.run_info["created_at"],
        "overhead_median": statistics.median(ratios),
        "overhead_max": max(ratios),
        "overhead_total": sum(r["seconds"] for r in rows) / sum(r["decode_seconds"] / r["workers"] for r in rows),
    }
    print(f"{run_dir} ({args.backend} backend)")
    print_table(rows, COLUMNS)
    print(f"overhead: median {summary['overhead_median']:.2f}, max {summary['overhead_max']:.2f}, "
          f"whole search {summary['overhead_total']:.2f}; backend start-up before generation 0: "
          f"{summary['startup_seconds']:.1f} s; first result {summary['first_result_seconds']:.1f} s after the "
          "run was created")
    write_json(args.json, {**summary, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
