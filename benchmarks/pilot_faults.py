"""A pilot-mode search through faults ends as an uninterrupted one: one worker job is scancelled mid-task and the
workers reach their soft walltime (and are replaced) during the search.

    python benchmarks/pilot_faults.py [--generations 20] [--population 48] [--runs-dir DIR] [--json OUT.json]

Both runs are `gridprune run configs/demo.yaml` on search80.hrl with the same seed: the reference on the local
backend, the other on the test Slurm (`bash slurm/testcluster.sh start` first) in pilot mode with 2 workers of
1 CPU and no margin. The evaluations' `time_min` is 1, so the pool's jobs last the shortest walltime a pool gets
(1 minute for the longest task plus 5 of start-up slack: 6 minutes): the workers take tasks for 6 minutes, then
hand back what they could not finish and are replaced; 20 generations of 48 last longer than that (the
demo's GA converges within about 30 generations of 24, after which every trial is a cache hit). Once generation
3 is done, the busy worker job the master's state file names first is scancelled. Reported: whether the checkpoints (best, population) and the per-generation best and mean agree,
the evaluations each trial got (from the attempt logs), the tasks whose worker was lost (the only ones allowed a
second evaluation), the tasks handed back at a soft walltime, and the worker jobs started.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, write_json

from gridprune.backends.slurm.attempts import read_attempts
from gridprune.backends.slurm.pilot_state import read_pools
from gridprune.store import RunDir

DEMO = ["--set", "data=wav_files_example/search80.hrl", "--set", "heldout=wav_files_example/heldout80.hrl",
        "--set", "local.threads_per_worker=1", "--set", "local.workers=2", "--set", "slurm.cpus_per_task=1",
        "--set", "slurm.mem_gb=2", "--set", "slurm.time_min=1"]


def gridprune(*args: str, wait: bool = True) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gridprune.cli", *args], cwd=REPO, stdout=subprocess.DEVNULL)
    if wait and proc.wait():
        raise SystemExit(f"gridprune {' '.join(args)} failed")
    return proc


def generations_done(run_dir: Path) -> int:
    path = run_dir / "checkpoint.json"
    return json.loads(path.read_text())["round"] if path.is_file() else 0


def cancel_a_busy_worker(run_dir: Path, after: int) -> str:
    """scancel the first busy worker job once `after` generations are done; its id."""
    while True:
        if generations_done(run_dir) >= after and (run_dir / "jobs" / "slurm" / "pilots.json").is_file():
            busy = [worker for pool in read_pools(RunDir.open(run_dir)).get("pools", [])
                    for worker in pool["workers"] if worker["task"] and worker["job_id"]]
            if busy:
                subprocess.run(["scancel", busy[0]["job_id"]], check=True)
                return busy[0]["job_id"]
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--population", type=int, default=48)
    parser.add_argument("--runs-dir", type=Path, help="default: a new folder under /tmp")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    runs = args.runs_dir or Path(tempfile.mkdtemp(prefix="gridprune-pilot-faults-"))
    settings = [*DEMO, "--set", f"ga.generations={args.generations}", "--set", f"ga.population={args.population}"]
    reference, faulted = runs / "local", runs / "pilot"
    if not (reference / "best").is_dir():
        gridprune("run", "configs/demo.yaml", "--run-dir", str(reference), "--backend", "local", *settings)
    master = gridprune("run", "configs/demo.yaml", "--run-dir", str(faulted), "--backend", "slurm", *settings,
                       "--set", "slurm.mode=pilot", "--set", "slurm.pilot.workers=2",
                       "--set", "slurm.pilot.interface=lo", "--set", "slurm.pilot.walltime_min=1",
                       "--set", "slurm.pilot.margin_s=0", wait=False)
    cancelled = cancel_a_busy_worker(faulted, after=3)
    if master.wait():
        raise SystemExit("the pilot run failed")

    run = RunDir.open(faulted)
    keys = {key for path in (faulted / "generations").glob("*.json") for key in json.loads(path.read_text())["keys"]}
    # a worker lost after it stored a result but before it logged the evaluation still evaluated it once
    evaluations = {key: max(sum(1 for a in read_attempts(run, key) if a["error"] is None),
                            int((run.read_result(key) or {}).get("status") == "ok")) for key in keys}
    rows, reference_rows = run.read_history(), RunDir.open(reference).read_history()
    same = ["best", "mean", "worst", "best_so_far"]
    summary = {
        "generations": args.generations, "population": args.population, "cancelled_job": cancelled,
        "same_checkpoint": json.loads((faulted / "checkpoint.json").read_text()) ==
        json.loads((reference / "checkpoint.json").read_text()),
        "same_history": [{k: r[k] for k in same} for r in rows] == [{k: r[k] for k in same} for r in reference_rows],
        "trials": len(keys),
        "evaluated_once": sum(1 for n in evaluations.values() if n == 1),
        "evaluated_twice_or_more": sum(1 for n in evaluations.values() if n > 1),
        "never_evaluated": sum(1 for n in evaluations.values() if n == 0),
        "workers_lost": sum(r.get("workers_lost", 0) for r in rows),
        "handed_back": sum(r.get("handed_back", 0) for r in rows),
        "worker_jobs": len(read_pools(run)["job_ids"]),
        "seconds": sum(r["seconds"] for r in rows), "reference_seconds": sum(r["seconds"] for r in reference_rows),
    }
    for key, value in summary.items():
        print(f"{key:>26}: {value}")
    write_json(args.json, {**summary, "runs": str(runs)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
