"""The in-process backend: every task runs in the calling process, as submitit's debug executor does.

For fast tests of the engine, strategies and methods without worker processes: handlers are built
once per kind, a task that raises is retried up to `max_retries` times and then returned as a
`TaskFailure`. Anything but an Exception (KeyboardInterrupt, SystemExit) ends the run at once, as a
killed master would.
"""

from __future__ import annotations

import traceback
from typing import Callable, Mapping, Sequence

from gridprune.backends.base import Retries, TaskFailure
from gridprune.engine.execute import TaskRunner, WorkerFactory
from gridprune.engine.kinds import Task, TaskKind
from gridprune.store import RunDir


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
