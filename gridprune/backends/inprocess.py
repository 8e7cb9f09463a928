"""The in-process backend: every task runs in the calling process, as submitit's debug executor does.

For tests and debugging (`backend: inprocess`): handlers are built once per kind, a task that raises
is retried up to `max_retries` times and then returned as a `TaskFailure`; a breakpoint in a handler
stops right there. Anything but an Exception (KeyboardInterrupt, SystemExit) ends the run at once,
as a killed master would.
"""

from __future__ import annotations

import traceback
from typing import Callable, Mapping, Sequence

from pydantic import Field

from gridprune.backends.registry import BackendType
from gridprune.engine import (
    Retries,
    Task,
    TaskFailure,
    TaskKind,
    TaskRunner,
    WorkerFactory,
)
from gridprune.sections import Section
from gridprune.store import RunDir


class InProcessSettings(Section):
    """The `inprocess:` section."""

    threads: int = Field(1, gt=0, description="torch threads of the one in-process worker")
    max_retries: int = Field(2, ge=0, description="retries of a task that raised")


class InProcessBackend:
    """Runs each task's handler here, one task at a time."""

    def __init__(self, run: RunDir, kinds: Mapping[str, TaskKind], max_retries: int = 2, threads: int = 1):
        self.factory = WorkerFactory(str(run.root), dict(kinds))
        self.max_retries = max_retries
        self.threads = threads
        self.runner: TaskRunner | None = None
        self.parallelism = 1
        self.counters = {"attempts": 0}

    def start(self) -> None:
        """Build every kind's handler (the start-up a worker pays)."""
        if self.runner is None:
            self.runner = self.factory(self.threads)

    def run(self, tasks: Sequence[Task], on_done: Callable[[Task], None]) -> list[TaskFailure]:
        """Run every task; return those that failed more than `max_retries` times."""
        self.start()
        assert self.runner is not None
        retries = Retries(self.max_retries)
        for task in tasks:
            attempt = 1
            while True:
                self.counters["attempts"] += 1
                try:
                    self.runner({**task, "attempt": attempt})
                except Exception:
                    if retries.again(task, traceback.format_exc()):
                        attempt += 1
                        continue
                else:
                    on_done(task)
                break
        return retries.failures

    def close(self) -> None:
        self.runner = None


BACKEND = BackendType(
    "inprocess", InProcessSettings, "every task in the master's own process, one at a time (tests, debugging)",
    make=lambda run, settings, kinds: InProcessBackend(run, kinds, settings.max_retries, settings.threads))
