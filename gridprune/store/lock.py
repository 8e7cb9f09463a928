"""The master lock: one live master per run directory."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import filelock

from gridprune.store.errors import MasterLockedError, StoreError
from gridprune.store.files import atomic_write_json, read_json_object, unlink_quietly

_ACQUIRE_TIMEOUT_S = 1.0


@contextlib.contextmanager
def master_lock(root: Path) -> Iterator[None]:
    """Hold root/master.lock for the block and describe the holder in root/master.json.

    Raises MasterLockedError within a second if a live master holds it. The lock is a kernel flock,
    so the OS drops it when its holder dies, even by SIGKILL.
    """
    # A short wait, not none: `gridprune status` probes the lock for a moment (lock_is_held).
    lock = filelock.FileLock(root / "master.lock", timeout=_ACQUIRE_TIMEOUT_S, fallback_to_soft=False)
    try:
        lock.acquire(poll_interval=0.05)
    except filelock.Timeout:
        raise MasterLockedError(_locked_message(root)) from None
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StoreError(f"cannot lock {lock.lock_file}: {err.strerror}; the run directory must be writable "
                             "by the master") from None
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


def lock_is_held(root: Path) -> bool:
    """Whether some live process holds root/master.lock; a lock left by a killed master is free.

    Probes with a shared lock taken and dropped at once, through a read-only
    descriptor, so it works without write access and never blocks the master.
    """
    try:
        fd = os.open(root / "master.lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError as err:
        if err.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


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
