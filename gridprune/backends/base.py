"""What every backend offers: run a batch of evaluation tasks somewhere.

A task is a JSON-ready dict with at least a `key`. The backend hands it to a
task handler built in the worker process by a picklable `HandlerFactory`; the
handler evaluates it and writes the result into the run directory itself, so
the backend knows nothing of models. A task that keeps failing past the retry
limit comes back as a `TaskFailure`; the caller records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

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
