"""The backend contract: what the engine asks of whatever runs its tasks (local processes, Slurm, in-process).

A backend gets JSON tasks (`gridprune.engine.kinds.Task`) and runs each through a `TaskRunner` that
a picklable `WorkerFactory` builds inside its worker; the runner stores the result in the run
directory itself, so a backend knows no model and no method. A task that keeps failing past the
retry limit comes back as a `TaskFailure`; the engine records it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from gridprune.engine.kinds import Task
from gridprune.errors import GridpruneError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskFailure:
    """A task given up on after its retries, and why."""

    task: Task
    reason: str
    attempts: int


class Retries:
    """Counts each task's failed attempts; past `max_retries` the task is given up on as a `TaskFailure`."""

    def __init__(self, max_retries: int, retry_means: str = "retrying"):
        self.max_retries = max_retries
        self.retry_means = retry_means  # what the log says a retry is, e.g. "resubmitting"
        self.attempts: dict[str, int] = {}
        self.failures: list[TaskFailure] = []

    def again(self, task: Task, reason: str) -> bool:
        """Count one failed attempt at `task`; True if it should be tried again."""
        count = self.attempts[task["key"]] = self.attempts.get(task["key"], 0) + 1
        if count > self.max_retries:
            self.failures.append(TaskFailure(task, reason, count))
            return False
        log.warning("task %s failed (attempt %d), %s: %s", task["key"][:12], count, self.retry_means,
                    reason.strip().splitlines()[-1])
        return True


class BackendError(GridpruneError, RuntimeError):
    """The backend itself cannot go on (a worker cannot even start): one line; `detail` holds the whole story
    (e.g. the worker's traceback)."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail


class Backend(Protocol):
    """Runs tasks until each has succeeded or failed for good."""

    parallelism: int | None  # tasks at once, where the backend knows it
    counters: dict[str, int]  # running totals of what the backend did (sbatch calls, restarts, ...)

    def start(self) -> None:
        """Get ready to run tasks (start long-lived workers); a no-op where there are none."""

    def run(self, tasks: Sequence[Task], on_done: Callable[[Task], None]) -> list[TaskFailure]:
        """Run every task; `on_done(task)` once its result is stored; the tasks that failed for good."""

    def close(self) -> None:
        """Stop what `start` started."""
