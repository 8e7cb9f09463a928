"""The Slurm backend: its `slurm:` settings, and the run's evaluation jobs as `status` and `cancel` see them.

Only the standard library and pydantic here: the config, `status` and `cancel` use this package
without loading submitit, which `arrays` (the backend itself) needs.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from gridprune.backends.registry import BackendType, counted
from gridprune.backends.slurm.masters import MASTER_NAME
from gridprune.backends.slurm.pilot_state import describe_pools, recorded_pilot_jobs
from gridprune.backends.slurm.queue import (
    cancel,
    jobs_of_run,
    slurm_available,
    user_jobs,
)
from gridprune.backends.slurm.settings import FOLDER, IN_FLIGHT, SlurmSettings
from gridprune.engine import BackendError, TaskKind
from gridprune.store import RunDir, atomic_write_json, read_json

_JOB_FOLDER = re.compile(r"^\d+(_\d+)?$")


def evaluation_job_ids(run: RunDir) -> list[str]:
    """Ids of the evaluation jobs the run recorded: those in flight, every submitit job folder, every pilot
    worker job."""
    folder = run.jobs_dir / FOLDER
    ids = recorded_pilot_jobs(run)
    in_flight = folder / IN_FLIGHT
    if in_flight.is_file():
        ids.extend(str(entry["job_id"]) for entry in read_json(in_flight).get("jobs", []))
    if folder.is_dir():
        ids.extend(path.name for path in folder.iterdir() if path.is_dir() and _JOB_FOLDER.match(path.name))
    return list(dict.fromkeys(ids))


def _evaluation_jobs(run: RunDir) -> list | None:
    """The run's evaluation jobs Slurm still lists; [] without a record (squeue is not even asked), None where
    Slurm cannot be asked here."""
    if not (run.jobs_dir / FOLDER).is_dir():
        return []
    if not slurm_available():
        return None
    try:
        jobs = jobs_of_run(user_jobs(), run.root, evaluation_job_ids(run))
    except (OSError, TimeoutError) as exc:
        raise BackendError(f"cannot list the Slurm jobs of {run.root}: {exc}") from None
    return [job for job in jobs if job.name != MASTER_NAME]


def find_jobs(run: RunDir) -> list[str]:
    """`status`: the run's evaluation jobs still in Slurm's queue."""
    jobs = _evaluation_jobs(run)
    return [f"{counted(len(jobs), 'Slurm evaluation job')} in the queue"] if jobs else []


def __getattr__(name: str) -> Any:
    # Jobs pickled by the gridprune before the package split name `gridprune.backends.slurm.ChunkJob`.
    if name == "ChunkJob":
        from gridprune.backends.slurm.arrays import ChunkJob

        return ChunkJob
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cancel_jobs(run: RunDir) -> list[str]:
    """`cancel`: scancel the run's evaluation jobs (no other job of the user), then forget those in flight,
    so that a resumed master submits their work afresh without counting a failure."""
    done = []
    jobs = _evaluation_jobs(run)
    if jobs is None:
        return []  # no squeue here: nothing can be cancelled, and the jobs in flight stay adoptable
    if jobs:
        try:
            ids = cancel(jobs)
        except (OSError, TimeoutError) as exc:
            raise BackendError(f"cannot cancel the Slurm jobs of {run.root}: {exc}") from None
        done.append(f"cancelled {counted(len(ids), 'evaluation job')} ({', '.join(ids)})")
    in_flight = run.jobs_dir / FOLDER / IN_FLIGHT
    if in_flight.is_file() and not run.master_alive():
        atomic_write_json(in_flight, {"jobs": []})
    return done


def _make(run: RunDir, settings: SlurmSettings, kinds: Mapping[str, TaskKind]) -> Any:
    if settings.mode == "pilot":
        try:
            from gridprune.backends.slurm.pilots import PilotBackend
        except ImportError as exc:
            raise BackendError(f"slurm.mode: pilot needs dask-jobqueue ({exc}): pip install 'gridprune[pilot]'") \
                from None
        return PilotBackend(run, settings, kinds)
    from gridprune.backends.slurm.arrays import SlurmBackend

    return SlurmBackend(run, settings, kinds)


BACKEND = BackendType("slurm", SlurmSettings, "Slurm: one job array per round through submitit, or worker jobs "
                      "that stay for the run (slurm.mode: pilot)", make=_make, find=find_jobs, cancel=cancel_jobs,
                      activity=describe_pools)
