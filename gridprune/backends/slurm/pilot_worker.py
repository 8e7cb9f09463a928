"""Inside a pilot worker (a dask worker in a Slurm job): the run's `TaskRunner`, built once, and the task
function the master submits.

The plugin builds the runner in a thread of its own, so that the model load never blocks the worker's
event loop (which would miss its heartbeats); a task waits until the runner is ready. The soft walltime
is ours, not dask's (`--lifetime` cuts the running task): a task the worker could not finish before
`deadline` is handed back unrun, and the worker retires once it holds no task, so that the pool starts a
replacement and no task is ever cut.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from typing import Any

from distributed import WorkerPlugin, get_worker
from tornado.ioloop import PeriodicCallback

from gridprune.backends.slurm.attempts import logged_attempt
from gridprune.engine import Task, TaskRunner, WorkerFactory

PLUGIN = "gridprune-runner"
HANDED_BACK = "handed back"  # what a task returns when its worker is too close to its time limit to run it
_SETTLED = ("memory", "released", "error", "forgotten")  # task states that hold no work on a worker


class WorkerStartError(RuntimeError):
    """The worker could not build its runner (load the model): not the task's fault."""


class RunnerPlugin(WorkerPlugin):
    """Builds the worker's `TaskRunner` when the worker starts, and retires the worker at its soft walltime."""

    name = PLUGIN

    def __init__(self, factory: WorkerFactory, lifetime_s: float | None, limits_s: dict[str, float]):
        self.factory = factory
        self.lifetime_s = lifetime_s  # how long after its start the worker must have finished its last task
        self.limits_s = limits_s  # kind -> how long a task of it may take before this worker ran one (its limit)

    def setup(self, worker: Any) -> None:
        self.worker = worker
        self.deadline = time.time() + self.lifetime_s if self.lifetime_s else float("inf")
        self.ready = threading.Event()
        self.runner: TaskRunner | None = None
        self.error: str | None = None
        self.longest: dict[str, float] = {}  # kind -> the longest task of that kind this worker ran, seconds
        self.retiring = False
        self.idle_looks = 0
        threading.Thread(target=self._build, name="gridprune-runner-build", daemon=True).start()
        self.watch = PeriodicCallback(self._retire_when_idle, 500)
        self.watch.start()

    def teardown(self, worker: Any) -> None:
        self.watch.stop()

    def _build(self) -> None:
        try:
            self.runner = self.factory(int(os.environ.get("SLURM_CPUS_PER_TASK") or 1))
        except BaseException:
            self.error = traceback.format_exc()
        finally:
            self.ready.set()

    def wait_ready(self) -> None:
        """Until the runner is built; WorkerStartError (and the worker retires) if it could not be."""
        self.ready.wait()
        if self.runner is None:
            self.retiring = True
            raise WorkerStartError(f"the worker could not start:\n{self.error}")

    def expected_seconds(self, kind: str) -> float:
        """How long a task of `kind` may take here: the longest one seen, else the kind's time limit."""
        return self.longest.get(kind, self.limits_s[kind])

    def run(self, task: Task) -> tuple[str, str] | None:
        """Run `task` (its result goes to the run directory), or hand it back, (HANDED_BACK, this worker's
        address), if the worker could not finish it before its deadline: the master then counts it as busy."""
        self.wait_ready()
        kind = task["kind"]
        # a worker's first task always fits (its pool's walltime covers every kind's time limit)
        late = self.longest and time.time() + self.expected_seconds(kind) > self.deadline
        if self.retiring or late:
            self.retiring = True
            return HANDED_BACK, self.worker.address
        if self.runner.run.has_result(task["key"]):
            return None  # a late duplicate: the first result stands
        started = time.time()
        with logged_attempt(self.runner.run, task["key"]):
            self.runner(task)
        self.longest[kind] = max(self.longest.get(kind, 0.0), time.time() - started)
        return None

    async def _retire_when_idle(self) -> None:
        """Past the deadline, or once a task was handed back: after two looks half a second apart found no task
        on the worker, ask the scheduler to retire it (from then on it sends it nothing, and a task it sent just
        before is handed back, not cut) and leave once it has. A retirement the scheduler refuses (a result only
        this worker holds, and no other worker to take it) is asked again at a later look: leaving anyway would
        make a task sent meanwhile count as lost."""
        worker = self.worker
        busy = any(task.state not in _SETTLED for task in worker.state.tasks.values())
        if worker.status.name != "running" or busy:
            self.idle_looks = 0
            return
        if self.retiring or time.time() >= self.deadline:
            self.retiring = True
            self.idle_looks += 1
            if self.idle_looks < 2:
                return
            # tornado awaits this callback before the next look: no look runs while a retirement is asked
            retired = await worker.scheduler.retire_workers(
                workers=[worker.address], close_workers=False, remove=True,
                stimulus_id=f"gridprune-soft-walltime-{time.time()}")
            if worker.address not in retired:
                self.idle_looks = 0
                return
            await worker.close(nanny=True, reason="gridprune: soft walltime")


def run_task(task: Task) -> tuple[str, str] | None:
    """What the master submits for each task: run it with this worker's runner."""
    plugin: RunnerPlugin = get_worker().plugins[PLUGIN]
    return plugin.run(task)


def runner_ready() -> None:
    """What the master submits to learn that a worker has built its runner (WorkerStartError if it could not)."""
    get_worker().plugins[PLUGIN].wait_ready()
