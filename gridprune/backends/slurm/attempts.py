"""Each evaluation of a task by a Slurm job (array task or pilot worker), one JSON file each under
`jobs/slurm/attempts/<key>/`: which job and host ran it, when, for how long, and its traceback if it raised.

Only the standard library: the master reads them without loading submitit or dask.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gridprune.backends.slurm.settings import FOLDER
from gridprune.store import RunDir, atomic_write_json, read_json


def attempts_dir(run: RunDir, key: str) -> Path:
    return run.jobs_dir / FOLDER / "attempts" / key


def record_attempt(run: RunDir, key: str, started: float, error: str | None) -> None:
    """Log one evaluation of a task by a job (one file each, never overwritten); `error` is its traceback."""
    folder = attempts_dir(run, key)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / f"{uuid.uuid4().hex}.json", {
        "key": key, "job_id": os.environ.get("SLURM_JOB_ID"), "host": socket.gethostname(),
        "started_at": started, "seconds": time.time() - started, "error": error,
    })


@contextmanager
def logged_attempt(run: RunDir, key: str) -> Iterator[None]:
    """Log the evaluation of `key` that the block runs, with its traceback if it raises (which goes on)."""
    started = time.time()
    try:
        yield
    except Exception:
        record_attempt(run, key, started, traceback.format_exc())
        raise
    record_attempt(run, key, started, None)


def read_attempts(run: RunDir, key: str) -> list[dict]:
    """Every logged evaluation of a task, oldest first."""
    folder = attempts_dir(run, key)
    records = [read_json(path) for path in folder.glob("*.json")] if folder.is_dir() else []
    return sorted(records, key=lambda record: record["started_at"])


def last_error(run: RunDir, key: str) -> str | None:
    errors = [record["error"] for record in read_attempts(run, key) if record["error"]]
    return errors[-1] if errors else None
