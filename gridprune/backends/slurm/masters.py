"""A run's master as a Slurm job (`gridprune submit`): recording its ids, finding it in the queue, cancelling it.

Only the standard library: `status` and `cancel` use this without loading submitit.
"""

from __future__ import annotations

import time

from gridprune.backends.slurm.queue import (
    SlurmJob,
    cancel,
    jobs_of_run,
    slurm_available,
    user_jobs,
)
from gridprune.backends.slurm.settings import FOLDER
from gridprune.store import RunDir, atomic_write_json, read_json

MASTER_JOBS = "master_jobs.json"  # under RUN_DIR/jobs: the master jobs `gridprune submit` started
MASTER_NAME = "gridprune-master"


def record_master_job(run: RunDir, job_id: str) -> None:
    """Add `job_id` to RUN_DIR/jobs/master_jobs.json, which `status` and `cancel` read."""
    path = run.jobs_dir / MASTER_JOBS
    jobs = read_json(path).get("jobs", []) if path.is_file() else []
    jobs.append({"job_id": job_id, "submitted_at": time.time()})
    atomic_write_json(path, {"jobs": jobs})


def recorded_master_jobs(run: RunDir) -> list[str]:
    """Ids of the master jobs submitted for this run (by `gridprune submit`, or recorded by a running master)."""
    ids = []
    path = run.jobs_dir / MASTER_JOBS
    if path.is_file():
        ids.extend(str(entry["job_id"]) for entry in read_json(path).get("jobs", []))
    info = run.master_info()
    if info and info.get("slurm_job_id"):
        ids.append(str(info["slurm_job_id"]))
    return list(dict.fromkeys(ids))


def master_jobs_in_queue(run: RunDir) -> list[SlurmJob] | None:
    """This run's recorded master jobs that Slurm still lists; None where that cannot be known (no Slurm, no job)."""
    recorded = recorded_master_jobs(run)
    if not recorded or not slurm_available():
        return None
    try:
        return [job for job in user_jobs() if any(job.matches(r) for r in recorded)]
    except (OSError, TimeoutError):
        return None


def cancel_master_job(run: RunDir) -> list[str]:
    """scancel the run's master job, if it has one (recorded, or logging into the run directory); the ids
    cancelled. OSError or TimeoutError if Slurm does not answer."""
    masters = recorded_master_jobs(run)
    # without a sign of Slurm in the run, skip squeue (it waits a minute on a controller that is down)
    signs = masters or (run.jobs_dir / FOLDER).is_dir() or any(run.jobs_dir.glob("master-*.log"))
    if not signs or not slurm_available():
        return []
    jobs = [job for job in jobs_of_run(user_jobs(), run.root, masters)
            if job.name == MASTER_NAME or any(job.matches(m) for m in masters)]
    return cancel(jobs) if jobs else []
