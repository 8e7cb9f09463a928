"""Atomic JSON files on a shared filesystem (NFS, Lustre).

Every file is first written to a uniquely named temp file in its own folder and
fsynced, then published by a rename (replace) or a hard link (first write wins),
so a reader on another node never sees half a file and a crash never leaves one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gridprune.store.errors import StoreError


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """JSON with sorted keys, indented or (indent=None) without whitespace; ValueError on NaN or infinity."""
    # allow_nan=False: NaN/inf are not JSON; callers encode them (e.g. a failed fitness as null).
    separators = None if indent else (",", ":")
    return json.dumps(
        obj, sort_keys=True, indent=indent, separators=separators, allow_nan=False, default=_json_default
    )


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Parse strict JSON: NaN and Infinity, which `dumps` never writes, are errors."""
    return json.loads(data, parse_constant=_reject_constant)


def unlink_quietly(path: Path) -> None:
    """Remove path if it is there; cleanup must not hide the error that caused it."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as err:
        # Some network and FUSE filesystems cannot fsync a folder; the rename itself is still atomic.
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _write_temp(final: Path, data: bytes) -> Path:
    """Write data to a new fsynced temp file beside final; nothing is left behind on error."""
    temp = final.with_name(f".{final.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        with open(temp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        unlink_quietly(temp)
        raise
    return temp


def follow_umask(folder: Path) -> None:
    """Give every file and folder under `folder` the permissions a new one gets under this process's umask
    (some writers, safetensors among them, make their files private; others on a shared cluster must read
    an export)."""
    umask = _umask()
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _umask() -> int:
    """This process's umask, read where Linux shows it (setting it, the only other way, races other threads)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
        return umask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace path with data atomically: readers see the old or the new file, never a mix."""
    path = Path(path)
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        unlink_quietly(temp)
        raise
    _fsync_dir(path.parent)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write obj as indented JSON with sorted keys, atomically; ValueError on NaN or infinity."""
    atomic_write_bytes(path, (dumps(obj) + "\n").encode())


def publish_exclusive(path: Path, data: bytes) -> bool:
    """Create path holding data unless it exists; True if this call created it.

    A hard link is atomic and fails if the target exists, on NFS too (O_EXCL create is not safe there).
    """
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        # Over NFS a retried link whose first reply was lost says EEXIST although it worked:
        # the temp then has 2 links.
        if os.stat(temp).st_nlink < 2:
            return False
    finally:
        unlink_quietly(temp)
    _fsync_dir(path.parent)
    return True


def read_json(path: str | Path) -> Any:
    """Parse the JSON file at path; FileNotFoundError if missing, StoreError naming it if unreadable."""
    path = Path(path)
    try:
        return loads(path.read_bytes())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise StoreError(f"cannot read {path}: {err}") from err


def read_json_object(path: Path) -> dict | None:
    """The JSON object in path, None if missing, StoreError naming it if it holds something else."""
    try:
        obj = read_json(path)
    except FileNotFoundError:
        return None
    if not isinstance(obj, dict):
        raise StoreError(f"cannot read {path}: not a JSON object but {type(obj).__name__}")
    return obj
