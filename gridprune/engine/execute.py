"""The one worker entry point every backend calls: run a task's handler and store its outcome."""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from gridprune.engine.artifacts import ArtifactWriter, SavedProgress, artifact_dir, progress_dir
from gridprune.engine.errors import ProtocolError
from gridprune.engine.kinds import Handler, Task, TaskContext, TaskKind, visible_device
from gridprune.engine.outcome import Outcome, load_outcome, store_outcome
from gridprune.engine.trial import Trial
from gridprune.store import RunDir

_FIELDS = frozenset({"value", "metrics", "seconds"})


def make_task(trial: Trial, key: str) -> Task:
    """The JSON task a backend carries for trial under key."""
    return {"key": key, **trial.to_json()}


def execute(handler: Handler, task: Task, run: RunDir, *, gpus: int = 0) -> Outcome:
    """Run `task` unless its result is stored: call the handler, publish its artifacts, store its result,
    drop its saved progress. Returns the stored outcome. A handler that raises leaves no artifacts and
    keeps its progress, for the next attempt."""
    key = task["key"]
    trial = Trial.from_json(task)
    stored = load_outcome(run, key)
    if stored is not None:
        return stored  # a duplicate or late attempt: the first result stands
    writer = ArtifactWriter(artifact_dir(run, key))
    progress = SavedProgress(progress_dir(run, key))
    attempt = int(task.get("attempt", 1))
    context = TaskContext(key, run, writer, progress, visible_device(gpus), attempt)
    started = time.perf_counter()
    try:
        fields = handler(task, context)
        seconds = time.perf_counter() - started
        outcome = _outcome(fields, trial, seconds, attempt, writer.commit())
    except BaseException:
        writer.discard()
        raise
    stored = store_outcome(run, key, trial, outcome)
    progress.clear()
    return stored


def _outcome(fields: Any, trial: Trial, seconds: float, attempt: int, artifacts: tuple[str, ...]) -> Outcome:
    if not isinstance(fields, dict) or not set(fields) <= _FIELDS:
        got = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
        raise ProtocolError(f"a {trial.kind} handler returns a dict of {sorted(_FIELDS)}, not {got}")
    own = fields.get("seconds", seconds)
    if not isinstance(own, (int, float)) or not math.isfinite(own):
        raise ProtocolError(f"a {trial.kind} handler's seconds is a finite number, not {own!r}")
    return Outcome("ok", fields.get("value"), fields.get("metrics") or {}, artifacts, attempts=attempt,
                   seconds=float(own), host=socket.gethostname(), finished_at=time.time())


@dataclass(frozen=True)
class WorkerFactory:
    """Picklable: `(threads) -> TaskRunner`, the handler-factory shape today's backends already take.

    A worker builds each kind's handler once: when it starts for the kinds marked `at_start` (so
    that a backend measures that cost apart), on its first task of the kind for the others.
    """

    run_dir: str
    kinds: Mapping[str, TaskKind]

    def __call__(self, threads: int) -> TaskRunner:
        return TaskRunner(self, threads)


@dataclass
class TaskRunner:
    """Inside a worker: `runner(task)` executes a task of any of its kinds."""

    factory: WorkerFactory
    threads: int
    handlers: dict[str, Handler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run = RunDir.open(self.factory.run_dir)
        for name, kind in self.factory.kinds.items():
            if kind.at_start:
                self.handler(name)

    def handler(self, kind: str) -> Handler:
        """The handler of kind, built on first use."""
        if kind not in self.handlers:
            if kind not in self.factory.kinds:
                raise ProtocolError(f"no task kind {kind!r} here; known: {', '.join(sorted(self.factory.kinds))}")
            self.handlers[kind] = self.factory.kinds[kind].factory(self.threads)
        return self.handlers[kind]

    def __call__(self, task: Task) -> None:
        kind = task["kind"]
        execute(self.handler(kind), task, self.run, gpus=self.factory.kinds[kind].resources.gpus)
