"""What a pilot master writes about its pools (`jobs/slurm/pilots.json`), for `status`, `cancel` and the
next master: each pool's kinds, its worker jobs and the task each worker holds.

Only the standard library: `status` and `cancel` read it without loading dask.
"""

from __future__ import annotations

import time
from typing import Any

from gridprune.backends.slurm.settings import FOLDER
from gridprune.store import RunDir, atomic_write_json, read_json

POOLS_FILE = "pilots.json"  # under RUN_DIR/jobs/slurm
LOGS = "pilots"  # under RUN_DIR/jobs/slurm: the worker jobs' Slurm logs
JOB_NAME = "gridprune-pilot-"  # + the pool's name


def pools_file(run: RunDir):
    return run.jobs_dir / FOLDER / POOLS_FILE


def read_pools(run: RunDir) -> dict[str, Any]:
    """The last state a pilot master wrote: {"master": pid, "updated_at", "pools": [...], "job_ids": [...]}
    ({} if none was written or it cannot be read)."""
    path = pools_file(run)
    try:
        return read_json(path) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def write_pools(run: RunDir, pools: list[dict[str, Any]], job_ids: list[str], master: int) -> None:
    """Record the pools' state and every worker job id this run ever submitted (`cancel` stops those left)."""
    pools_file(run).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(pools_file(run), {"master": master, "updated_at": time.time(), "pools": pools,
                                        "job_ids": job_ids})


def recorded_pilot_jobs(run: RunDir) -> list[str]:
    """Every worker job id a pilot master of this run recorded."""
    return [str(job_id) for job_id in read_pools(run).get("job_ids", [])]


def describe_pools(run: RunDir) -> list[str]:
    """`status` while the master runs: one line per pool, then one per busy worker (nothing if the state was
    written by an earlier master)."""
    state, master = read_pools(run), run.master_info() or {}
    if state.get("master") != master.get("pid"):
        return []
    lines = []
    for pool in state.get("pools", []):
        workers = pool.get("workers", [])
        running = [w for w in workers if w.get("connected")]
        busy = [w for w in running if w.get("task")]
        lines.append(
            f"pool {pool['name']} ({', '.join(pool['kinds'])}): {len(workers)} of {pool['target']} worker jobs, "
            f"{len(workers) - len(running)} pending, {len(running)} running ({len(busy)} busy, "
            f"{len(running) - len(busy)} idle)")
        for worker in busy:
            job = f"job {worker['job_id']}" if worker.get("job_id") else worker["name"]
            host = f" on {worker['host']}" if worker.get("host") else ""
            lines.append(f"  {job}{host}: {worker['task']}")
    return lines

