"""Backends run batches of evaluation tasks: `local` worker processes, or `slurm` job arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridprune.backends.base import Backend, BackendError, HandlerFactory, Task, TaskFailure

if TYPE_CHECKING:
    from gridprune.config import RunConfig
    from gridprune.store import RunDir

__all__ = ["Backend", "BackendError", "HandlerFactory", "Task", "TaskFailure", "make_backend"]


def make_backend(config: "RunConfig", factory: HandlerFactory, run: "RunDir") -> Backend:
    """The backend the config names, set up for `run`."""
    if config.backend == "local":
        from gridprune.backends.local import LocalBackend

        settings = config.local
        return LocalBackend(factory, settings.workers, settings.threads_per_worker, settings.max_retries)
    from gridprune.backends.slurm import SlurmBackend

    return SlurmBackend(factory, config.slurm, run)
