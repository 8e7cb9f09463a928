"""What every backend offers: run a batch of evaluation tasks somewhere.

A task is a JSON-ready dict with at least a `key`. The backend hands it to a
task handler built in the worker process by a picklable `HandlerFactory`; the
handler evaluates it and writes the result into the run directory itself, so
the backend knows nothing of models. A task that keeps failing past the retry
limit comes back as a `TaskFailure`; the caller records it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

log = logging.getLogger(__name__)
Task = dict[str, Any]
TaskHandler = Callable[[Task], None]


class HandlerFactory(Protocol):
    """Builds a task handler inside a worker, paying one-off costs (model load) once."""

    def __call__(self, threads: int) -> TaskHandler: ...


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


class BackendError(RuntimeError):
    """The backend itself cannot go on (a worker cannot even start)."""


class Backend(Protocol):
    """Runs tasks until each has succeeded or failed for good."""

    parallelism: int | None  # evaluations at once, where the backend knows it
    counters: dict[str, int]  # running totals of what the backend did (sbatch calls, restarts, ...)

    def start(self) -> None:
        """Get ready to run tasks (start long-lived workers); a no-op where there are none."""

    def run(self, tasks: Sequence[Task], on_done: Callable[[Task], None]) -> list[TaskFailure]: ...

    def close(self) -> None: ...
