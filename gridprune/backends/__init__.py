"""Backends run batches of tasks: `local` worker processes, or `slurm` job arrays (one executor per task kind).

A backend knows the engine's task kinds and `WorkerFactory`, never a model or a method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from gridprune.backends.base import Backend, BackendError, HandlerFactory, Task, TaskFailure

if TYPE_CHECKING:
    from gridprune.config import RunConfig
    from gridprune.engine import TaskKind
    from gridprune.store import RunDir

__all__ = ["Backend", "BackendError", "HandlerFactory", "Task", "TaskFailure", "make_backend"]


def make_backend(config: "RunConfig", run: "RunDir", kinds: "Mapping[str, TaskKind]") -> Backend:
    """The backend the config names, set up for `run` and its task kinds (name -> TaskKind with resources).

    Local workers build each kind's handler once: at start-up for the kinds marked `at_start`,
    the others on their first task of it.
    """
    if config.backend == "local":
        from gridprune.backends.local import LocalBackend
        from gridprune.engine import WorkerFactory

        settings = config.local
        factory = WorkerFactory(str(run.root), dict(kinds))
        return LocalBackend(factory, settings.workers, settings.threads_per_worker, settings.max_retries)
    from gridprune.backends.slurm import SlurmBackend

    return SlurmBackend(run, config.slurm, kinds)
