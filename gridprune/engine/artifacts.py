"""Files of a trial in the run directory: its artifacts, published whole, and the progress of a long task.

RUN_DIR/artifacts/<key[:2]>/<key>/   what a finished trial produced (weights, matrices). A task
    writes into a hidden temporary sibling folder; once the handler returns, every file is fsynced
    and the folder renamed into place. A reader sees all of it or nothing; the first writer wins.
RUN_DIR/progress/<key>/<step>/       snapshots of a long task's state (state.json plus files), each
    published by one rename, the newest kept; a requeued or restarted task loads it and continues.
    Removed once the trial's result is stored.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from gridprune.engine.errors import EngineError, ProtocolError
from gridprune.engine.trial import check_json
from gridprune.store import RunDir
from gridprune.store.files import _fsync_dir, dumps, loads
from gridprune.store.results import check_key

_STATE = "state.json"


def artifact_dir(run: RunDir, key: str) -> Path:
    """RUN_DIR/artifacts/<key[:2]>/<key>: the artifact folder of key (it exists once published)."""
    check_key(key)
    return run.root / "artifacts" / key[:2] / key


def artifact_file(run: RunDir, key: str, name: str) -> Path:
    """The path of artifact `name` of trial key; EngineError naming both if it was never published."""
    path = artifact_dir(run, key) / _check_name(name)
    if not path.is_file():
        raise EngineError(f"{path}: trial {key[:12]} has no artifact {name!r}")
    return path


def progress_dir(run: RunDir, key: str) -> Path:
    """RUN_DIR/progress/<key>: where a long task of key saves its progress."""
    check_key(key)
    return run.root / "progress" / key


def _check_name(name: str) -> str:
    """ProtocolError unless name is a relative path inside a folder (no '..', no hidden parts)."""
    parts = PurePosixPath(name).parts if isinstance(name, str) else ()
    if not parts or name.startswith("/") or "\\" in name or any(part.startswith(".") for part in parts):
        raise ProtocolError(f"not a file name inside a trial's folder: {name!r}")
    return name


def _temp_sibling(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _fsync_tree(folder: Path) -> None:
    """fsync every file, then every folder bottom-up, so a rename publishes durable content."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _fsync_dir(path)
    _fsync_dir(folder)


def _publish_folder(staging: Path, final: Path) -> bool:
    """Rename staging to final unless final exists (then staging is removed); True if this call published it."""
    _fsync_tree(staging)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staging, final)  # fails on a non-empty target: the first writer wins
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        shutil.rmtree(staging, ignore_errors=True)
        return False
    _fsync_dir(final.parent)
    return True


class ArtifactWriter:
    """Collects a task's files in a hidden staging folder; `commit` publishes them as one folder."""

    def __init__(self, final: Path):
        self.final = final
        self._staging: Path | None = None

    def path(self, name: str) -> Path:
        """Where to write artifact `name` (its folder is created): for writers that take a path."""
        if self._staging is None:
            self._staging = _temp_sibling(self.final)
            self._staging.mkdir(parents=True)
        path = self._staging / _check_name(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write artifact `name` holding data."""
        self.path(name).write_bytes(data)

    def write_json(self, name: str, obj: Any) -> None:
        """Write artifact `name` as sorted, indented JSON."""
        check_json(obj, f"artifact {name}")
        self.path(name).write_text(dumps(obj) + "\n")

    def commit(self) -> tuple[str, ...]:
        """Publish what was written; the names of the files in the published folder ((): nothing written).

        If another attempt published the folder first, its files stay and this attempt's are dropped.
        """
        staging, self._staging = self._staging, None
        if staging is None or not _files_under(staging):
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            return tuple(_files_under(self.final)) if self.final.is_dir() else ()
        _publish_folder(staging, self.final)
        return tuple(_files_under(self.final))

    def discard(self) -> None:
        """Drop what was written (the task failed)."""
        staging, self._staging = self._staging, None
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


class SavedProgress:
    """The saved progress of one long task: a JSON state plus files, replaced atomically as a whole."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _snapshots(self) -> list[Path]:
        """Published snapshots, newest first."""
        try:
            entries = list(self.folder.iterdir())
        except FileNotFoundError:
            return []
        return sorted((p for p in entries if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)

    def save(self, state: dict[str, Any], files: Mapping[str, bytes] | None = None) -> None:
        """Replace the saved progress by `state` (JSON) and `files` (name -> bytes), all or nothing."""
        check_json(state, "progress state")
        files = dict(files or {})
        for name in files:
            if _check_name(name) == _STATE or "/" in name:
                raise ProtocolError(f"a progress file is a plain name other than {_STATE}, not {name!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        older = self._snapshots()
        step = int(older[0].name) + 1 if older else 0
        while True:
            final = self.folder / f"{step:08d}"
            staging = _temp_sibling(final)
            try:
                staging.mkdir()
                for name, data in files.items():
                    (staging / name).write_bytes(data)
                (staging / _STATE).write_text(dumps(state) + "\n")
                published = _publish_folder(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            if published:
                break
            step += 1  # a concurrent attempt took this number
        for old in older:
            shutil.rmtree(old, ignore_errors=True)

    def load(self) -> tuple[dict[str, Any], dict[str, bytes]] | None:
        """The newest saved (state, files); None if nothing was saved."""
        for snapshot in self._snapshots():
            try:
                state = loads((snapshot / _STATE).read_bytes())
                files = {p.name: p.read_bytes() for p in snapshot.iterdir() if p.name != _STATE}
            except FileNotFoundError:
                continue  # removed by a newer save while we read it
            except ValueError as err:
                raise EngineError(f"cannot read {snapshot / _STATE}: {err}") from err
            return state, files
        return None

    def clear(self) -> None:
        """Remove all saved progress (the trial's result is stored)."""
        shutil.rmtree(self.folder, ignore_errors=True)
