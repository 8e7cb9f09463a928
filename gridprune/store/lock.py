"""The master lock: one live master per run directory."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import filelock

from gridprune.store.errors import MasterLockedError, StoreError
from gridprune.store.files import atomic_write_json, read_json_object, unlink_quietly


@contextlib.contextmanager
def master_lock(root: Path) -> Iterator[None]:
    """Hold root/master.lock for the block and describe the holder in root/master.json.

    Raises MasterLockedError at once if a live master holds it. The lock is a kernel flock,
    so the OS drops it when its holder dies, even by SIGKILL.
    """
    lock = filelock.FileLock(root / "master.lock", timeout=0, fallback_to_soft=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise MasterLockedError(_locked_message(root)) from None
    except OSError as err:
        if err.errno != errno.ENOSYS:
            raise
        # No soft-lock fallback: a marker file would outlive a killed master and block every resume.
        raise StoreError(
            f"cannot lock {lock.lock_file}: its filesystem does not support flock "
            "(on Lustre, mount it with -o flock)"
        ) from err
    info_path = root / "master.json"
    try:
        atomic_write_json(info_path, _this_master())
        yield
    finally:
        unlink_quietly(info_path)  # before the release, so it never deletes the next master's file
        lock.release()


def read_master_info(root: Path) -> dict | None:
    """Host, pid and start time of the master recorded in root/master.json, None if none is readable."""
    try:
        return read_json_object(root / "master.json")
    except StoreError:
        return None


def _this_master() -> dict:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def _locked_message(root: Path) -> str:
    info = read_master_info(root)
    holder = (
        f"host {info.get('host')}, pid {info.get('pid')}, started {info.get('started')}"
        if info
        else "no details: master.json is missing"
    )
    return (
        f"a master is already running on {root} ({holder}); stop it first. "
        "If its node died, the shared filesystem frees the lock once it notices (NFSv4: about 90 s)."
    )
