"""`gridprune cancel RUN_DIR`: stop a run, its master and everything its backends run for it, and nothing else.

A master started as a Slurm job (`gridprune submit`) is cancelled first, so that it submits
nothing more; a local master is sent SIGTERM through the pid in master.json. Once its lock is free,
each registered backend stops what it still runs for the run (Slurm: every evaluation job of the
run, including an array the master submitted just before it went; local: every worker process)
and `cancel` waits until they are gone. Everything done so far stays in the run directory:
`gridprune resume RUN_DIR` continues.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Protocol

from gridprune.backends import BACKENDS
from gridprune.backends.slurm.masters import cancel_master_job
from gridprune.engine import BackendError
from gridprune.errors import GridpruneError
from gridprune.store import RunDir


class Locked(Protocol):
    """A directory one master holds the lock of: a run directory, or a compare directory."""

    root: Path

    def master_alive(self) -> bool: ...


def _wait_until_free(run: Locked, seconds: float) -> bool:
    deadline = time.time() + seconds
    while run.master_alive():
        if time.time() >= deadline:
            return False
        time.sleep(0.2)
    return True


def cancel_run(run: RunDir, wait_s: float = 60.0) -> list[str]:
    """Stop everything of `run` that runs; returns one line per thing done (an empty list: nothing ran)."""
    done = _cancel_master_job(run, wait_s)
    if run.master_alive():
        if done:
            raise GridpruneError(f"cancelled the master job of {run.root}, but the master still holds the lock "
                                 f"{wait_s:.0f} s later; if its node died, the shared filesystem frees the lock "
                                 "once it notices (NFSv4: about 90 s)")
        done.append(stop_local_master(run, run.master_info() or {}, wait_s))
    if run.master_alive():  # a `resume` took the run in between: its work is not ours to stop
        raise GridpruneError(f"a new master took {run.root} while it was being cancelled; cancel again to stop it")
    try:
        for backend in BACKENDS.values():
            done.extend(backend.cancel(run))
    except BackendError as exc:
        raise GridpruneError(str(exc)) from None
    return done


def _cancel_master_job(run: RunDir, wait_s: float) -> list[str]:
    """Cancel the run's master job on Slurm, if it has one, and wait until its lock is free."""
    try:
        ids = cancel_master_job(run)
    except (OSError, TimeoutError) as exc:
        raise GridpruneError(f"cannot cancel the master job of {run.root}: {exc}") from None
    if not ids:
        return []
    _wait_until_free(run, wait_s)
    return [f"cancelled master job {', '.join(ids)}"]


def stop_local_master(run: Locked, info: dict, wait_s: float) -> str:
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
