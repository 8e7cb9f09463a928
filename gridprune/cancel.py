"""`gridprune cancel RUN_DIR`: stop a run, its master and every job it has in flight, and nothing else.

On Slurm the master job goes first (so that it submits nothing more), then,
once its lock is free, every evaluation job of the run, including any array
the master submitted just before it went. A local master is sent SIGTERM
through the pid in master.json; its worker processes end with it. Everything
done so far stays in the run directory: `gridprune resume RUN_DIR` continues.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time

from gridprune.errors import GridpruneError
from gridprune.status import recorded_master_jobs
from gridprune.store import RunDir, atomic_write_json, read_json

_JOB_FOLDER = re.compile(r"^\d+(_\d+)?$")


def evaluation_job_ids(run: RunDir) -> list[str]:
    """Ids of the evaluation jobs the run recorded: those in flight, and every submitit job folder."""
    folder = run.jobs_dir / "slurm"
    ids = []
    in_flight = folder / "in_flight.json"
    if in_flight.is_file():
        ids.extend(str(entry["job_id"]) for entry in read_json(in_flight).get("jobs", []))
    if folder.is_dir():
        ids.extend(path.name for path in folder.iterdir() if path.is_dir() and _JOB_FOLDER.match(path.name))
    return list(dict.fromkeys(ids))


def _wait_until_free(run: RunDir, seconds: float) -> bool:
    deadline = time.time() + seconds
    while run.master_alive():
        if time.time() >= deadline:
            return False
        time.sleep(0.2)
    return True


def cancel_run(run: RunDir, wait_s: float = 60.0) -> list[str]:
    """Stop everything of `run` that runs; returns one line per thing done (an empty list: nothing ran)."""
    from gridprune.backends.slurm_jobs import cancel, jobs_of_run, slurm_available, user_jobs

    done: list[str] = []
    info = run.master_info() or {}
    masters = recorded_master_jobs(run)
    # without a record no Slurm job can belong to the run: skip squeue, which waits a minute on a controller that is down
    if slurm_available() and (masters or (run.jobs_dir / "slurm").is_dir()):
        try:
            jobs = jobs_of_run(user_jobs(), run.root, masters + evaluation_job_ids(run))
            master_jobs = [job for job in jobs if job.name == "gridprune-master" or any(job.matches(m) for m in masters)]
            if master_jobs:
                done.append(f"cancelled master job {', '.join(cancel(master_jobs))}")
                _wait_until_free(run, wait_s)
            # look again: the master may have submitted an array just before it went
            jobs = jobs_of_run(user_jobs(), run.root, masters + evaluation_job_ids(run))
            others = [job for job in jobs if job.array_id not in {m.array_id for m in master_jobs}]
            if others:
                ids = cancel(others)
                done.append(f"cancelled {len(ids)} evaluation job{'s' if len(ids) > 1 else ''} ({', '.join(ids)})")
        except (OSError, TimeoutError) as exc:
            raise GridpruneError(f"cannot cancel the Slurm jobs of {run.root}: {exc}") from None
    if run.master_alive():
        if any(line.startswith("cancelled master job") for line in done):
            raise GridpruneError(f"cancelled the master job of {run.root}, but the master still holds the lock "
                                 f"{wait_s:.0f} s later; if its node died, the shared filesystem frees the lock "
                                 "once it notices (NFSv4: about 90 s)")
        done.append(_stop_local_master(run, info, wait_s))
    if done and not run.master_alive():
        in_flight = run.jobs_dir / "slurm" / "in_flight.json"
        if in_flight.is_file():  # a resumed master submits their work afresh, without counting a failure
            atomic_write_json(in_flight, {"jobs": []})
    return done


def _stop_local_master(run: RunDir, info: dict, wait_s: float) -> str:
    """SIGTERM the master process recorded in master.json (a master inside some other Slurm job included)."""
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int):
        raise GridpruneError(f"a master holds the lock of {run.root}, but {run.root / 'master.json'} does not say "
                             "which process it is")
    if host != socket.gethostname():
        raise GridpruneError(f"the master of {run.root} runs on {host} (pid {pid}); "
                             f"stop it there, e.g. `ssh {host} kill {pid}`")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if not _wait_until_free(run, wait_s):
        raise GridpruneError(f"sent SIGTERM to the master of {run.root} (pid {pid}), but it still holds the lock "
                             f"after {wait_s:.0f} s; `kill -9 {pid}` ends it for sure")
    return f"stopped the master (pid {pid} on {host})"
