"""The run directory: run.json, the master lock, results, generations, checkpoint, history.

All paths are relative to the root, so the folder can be moved and opened elsewhere.
"""

from __future__ import annotations

import logging
import operator
import os
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path

from gridprune.store import lock
from gridprune.store.errors import StoreError
from gridprune.store.files import (
    atomic_write_bytes,
    atomic_write_json,
    dumps,
    loads,
    publish_exclusive,
    read_json_object,
)
from gridprune.store.results import check_key, result_problem

log = logging.getLogger(__name__)

_PUBLISH_ATTEMPTS = 5


class RunDir:
    """One run directory on the shared filesystem, the single source of truth of a run."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.run_json = self.root / "run.json"
        self.results_dir = self.root / "results"
        self.corrupt_dir = self.results_dir / "corrupt"
        self.generations_dir = self.root / "generations"
        self.checkpoint_path = self.root / "checkpoint.json"
        self.history_path = self.root / "history.jsonl"
        self.jobs_dir = self.root / "jobs"
        self.best_dir = self.root / "best"
        self._run_info: dict | None = None

    @classmethod
    def create(cls, root: str | Path, run_info: dict) -> RunDir:
        """Make a new run directory holding run_info; an existing one only if its run.json is identical."""
        run = cls(root)
        check_can_create(run.root)
        text = dumps(run_info) + "\n"
        try:
            run.root.mkdir(parents=True, exist_ok=True)
            published = publish_exclusive(run.run_json, text.encode())
        except OSError as err:
            raise StoreError(f"cannot create the run directory {run.root}: {err.strerror or err}") from None
        if not published and run._read_run_info() != loads(text):
            raise StoreError(
                f"run directory {run.root} already holds a run; use `gridprune resume {run.root}`"
            )
        run.make_folders()
        run._run_info = loads(text)
        return run

    def make_folders(self) -> None:
        """The folders every run has (results, generations, jobs); `best/` is made by the first export."""
        for folder in (self.results_dir, self.generations_dir, self.jobs_dir):
            folder.mkdir(exist_ok=True)

    def replace_run_info(self, run_info: dict) -> None:
        """Rewrite run.json (a run restarted with a corrected config, or resumed with changed settings)."""
        atomic_write_json(self.run_json, run_info)
        self._run_info = loads(dumps(run_info))

    def started(self) -> bool:
        """Whether a round of this run was ever started (its trials written to generations/).

        A checkpoint alone (a strategy's start, saved before its first round) does not count.
        """
        return self.generations_dir.is_dir() and any(self.generations_dir.glob("*.json"))

    def discard_start(self) -> None:
        """Remove the checkpoint of a run that never started a round (its start was made for another config)."""
        if self.started():
            raise StoreError(f"{self.root} has started a round: its checkpoint is kept")
        self.checkpoint_path.unlink(missing_ok=True)

    @classmethod
    def open(cls, root: str | Path) -> RunDir:
        """Open an existing run directory; StoreError naming the path if it holds no readable run."""
        run = cls(root)
        if run.root.exists() and not run.root.is_dir():
            raise StoreError(f"{run.root} is a file, not a run directory")
        if not run.root.exists():
            raise StoreError(f"{run.root}: no such run directory")
        run._run_info = run._read_run_info()
        return run

    @property
    def run_info(self) -> dict:
        """The content of run.json, as its creator passed it."""
        if self._run_info is None:
            self._run_info = self._read_run_info()
        return self._run_info

    def reload(self) -> None:
        """Read run.json afresh at the next `run_info` (another process may have rewritten it)."""
        self._run_info = None

    def _read_run_info(self) -> dict:
        info = read_json_object(self.run_json)
        if info is None:
            raise StoreError(f"no run in {self.root}: {self.run_json} is missing")
        return info

    def master_lock(self) -> AbstractContextManager[None]:
        """Context manager holding the master lock; MasterLockedError at once if a live master holds it."""
        return lock.master_lock(self.root)

    def master_info(self) -> dict | None:
        """Host, pid, start time and Slurm job id of the master recorded in master.json; None if none is.

        A master killed by SIGKILL leaves its master.json behind: `master_alive` tells.
        """
        return lock.read_master_info(self.root)

    def master_alive(self) -> bool:
        """Whether a live process holds the master lock (a killed master's lock is free)."""
        return lock.lock_is_held(self.root)

    # ------------------------------------------------------------ results

    def result_path(self, key: str) -> Path:
        """results/<first 2 hex digits of key>/<key>.json"""
        check_key(key)
        return self.results_dir / key[:2] / f"{key}.json"

    def read_result(self, key: str) -> dict | None:
        """The valid result record of key, None if missing; a corrupt one is moved aside, to be recomputed."""
        path = self.result_path(key)
        try:
            with open(path, "rb") as file:
                inode = os.fstat(file.fileno()).st_ino
                data = file.read()
        except FileNotFoundError:
            return None
        try:
            record = loads(data)
        except ValueError as err:
            problem: str | None = f"bad JSON: {err}"
        else:
            problem = result_problem(record, key)
        if problem is None:
            return record
        self._move_aside(path, inode, problem)
        return None

    def _move_aside(self, path: Path, inode: int, problem: str) -> None:
        self.corrupt_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self.corrupt_dir / f"{path.name}.{stamp}"
        try:
            # Another process may have moved it and written a valid result since we read it:
            # leave that one alone.
            if os.stat(path).st_ino != inode:
                return
            os.rename(path, target)
        except FileNotFoundError:
            return
        log.warning("result file %s is corrupt (%s); moved it to %s, to be recomputed", path, problem, target)

    def write_result(self, key: str, record: dict) -> bool:
        """Store the result of key unless a valid one exists (first write wins); True if this call did."""
        text = dumps(record) + "\n"
        problem = result_problem(loads(text), key)
        if problem is not None:
            raise ValueError(f"not a valid result record for {key}: {problem}")
        path = self.result_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(_PUBLISH_ATTEMPTS):
            if publish_exclusive(path, text.encode()):
                return True
            if self.read_result(key) is not None:
                return False
        raise StoreError(f"could not write {path}: a corrupt file kept reappearing there")

    def has_result(self, key: str) -> bool:
        """Whether a valid result of key is stored."""
        return self.read_result(key) is not None

    # ------------------------------------------------------------ generations, checkpoint, history

    def generation_path(self, index: int) -> Path:
        """generations/0007.json: at least 4 digits, zero padded."""
        index = operator.index(index)
        if index < 0:
            raise ValueError(f"a generation index is >= 0, not {index}")
        return self.generations_dir / f"{index:04d}.json"

    def write_generation(self, index: int, record: dict) -> None:
        """Write (or rewrite) the population record of generation index."""
        self.generations_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.generation_path(index), record)

    def read_generation(self, index: int) -> dict | None:
        """The record of generation index, None if it was not written."""
        return read_json_object(self.generation_path(index))

    def write_checkpoint(self, state: dict) -> None:
        """Replace the checkpoint with state."""
        atomic_write_json(self.checkpoint_path, state)

    def read_checkpoint(self) -> dict | None:
        """The latest checkpoint, None if there is none yet."""
        return read_json_object(self.checkpoint_path)

    def write_history(self, rows: list[dict]) -> None:
        """Rewrite history.jsonl whole, one JSON line per row (appending is not atomic on a shared FS)."""
        lines = "".join(dumps(row, indent=None) + "\n" for row in rows)
        atomic_write_bytes(self.history_path, lines.encode())

    def read_history(self) -> list[dict]:
        """The rows of history.jsonl, [] if there is none yet."""
        try:
            lines = self.history_path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        rows = []
        for number, line in enumerate(lines, start=1):
            try:
                rows.append(loads(line))
            except ValueError as err:
                raise StoreError(f"cannot read {self.history_path} line {number}: {err}") from err
        return rows


def check_can_create(root: Path, what: str = "run directory", option: str = "--run-dir") -> None:
    """StoreError naming the path unless `root` is, or can be made, a writable folder (nothing is written)."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root} is a file, not a {what}; choose another {option}")
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise StoreError(f"cannot create the {what} {root}: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == root:
            raise StoreError(f"the {what} {root} is not writable")
        raise StoreError(f"cannot create the {what} {root}: {existing} is not writable")
