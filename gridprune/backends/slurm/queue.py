"""The Slurm jobs of one run, as `squeue` lists them, and cancelling exactly those.

A job belongs to a run if its output file lies in the run directory (the
master's `jobs/master-<id>.log`, every evaluation job's submitit folder under
`jobs/slurm/`), or if the run recorded its id (a master started by hand with
`sbatch slurm/master.sbatch RUN_DIR` writes its id to `master.json`). No other
job of the user is ever touched. Only the standard library: `status` and
`cancel` use it without loading submitit.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

_FIELDS = ("JobArrayID", "ArrayJobID", "JobID", "State", "Name", "StdOut")
_WIDTHS = {"StdOut": 4000}
JOB_PREFIX = "gridprune-"  # the master is gridprune-master; a task kind's jobs are gridprune-<kind>


@dataclass(frozen=True)
class SlurmJob:
    """One line of `squeue -r`: an array task or a plain job still known to Slurm."""

    id: str        # "123" or "123_4"
    array_id: str  # the array's job id ("123"); the job's own id if it is no array
    unique_id: str
    state: str
    name: str
    stdout: str

    def matches(self, recorded: str) -> bool:
        """Whether a job id the run recorded (`123`, `123_4`) names this job or its array."""
        return recorded in (self.id, self.unique_id) or recorded.split("_")[0] == self.array_id


def slurm_available() -> bool:
    """Whether `squeue` and `scancel` can be called here."""
    return shutil.which("squeue") is not None and shutil.which("scancel") is not None


def user_jobs(timeout: float = 30.0) -> list[SlurmJob]:
    """Every job of this user that Slurm still lists (pending, running, ...), array tasks one by one."""
    fields = ",".join(f"{name}:{_WIDTHS.get(name, 60)}|" for name in _FIELDS)
    proc = _run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-O", fields], timeout)
    if proc.returncode:
        raise OSError(f"squeue failed: {proc.stderr.strip()}")
    jobs = []
    for line in proc.stdout.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < len(_FIELDS):
            continue
        job_id, array_id, unique_id, state, name, stdout = parts[:len(_FIELDS)]
        jobs.append(SlurmJob(job_id, array_id or unique_id, unique_id, state, name, stdout))
    return jobs


def jobs_of_run(jobs: Iterable[SlurmJob], run_root: Path, recorded: Iterable[str]) -> list[SlurmJob]:
    """The jobs among `jobs` that belong to the run in `run_root` (module docstring)."""
    root = str(run_root.resolve())
    recorded = [str(job_id) for job_id in recorded if job_id]
    mine = []
    for job in jobs:
        logs_here = job.stdout == root or job.stdout.startswith(root + "/")
        if logs_here or (job.name.startswith(JOB_PREFIX) and any(job.matches(r) for r in recorded)):
            mine.append(job)
    return mine


def cancel(jobs: Iterable[SlurmJob], timeout: float = 60.0) -> list[str]:
    """`scancel` the given jobs (whole arrays at once); returns the ids cancelled."""
    ids = sorted({job.array_id for job in jobs})
    if ids:
        proc = _run(["scancel", *ids], timeout)
        if proc.returncode:
            raise OSError(f"scancel {' '.join(ids)} failed: {proc.stderr.strip()}")
    return ids


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a Slurm command; a controller that does not answer in time is a TimeoutError naming the command."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{command[0]} got no answer from Slurm in {timeout:.0f} s") from None
