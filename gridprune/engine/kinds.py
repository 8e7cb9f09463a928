"""Task kinds: what a trial runs as, with its resources and the handler that runs it inside a worker."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gridprune.engine.artifacts import ArtifactWriter, SavedProgress, artifact_file
from gridprune.engine.errors import ProtocolError
from gridprune.store import RunDir

Task = dict[str, Any]  # {"key", "kind", "params", "label"} (+ "attempt", 1-based, where the backend counts)


@dataclass(frozen=True)
class Resources:
    """What one task of a kind needs: CPUs, memory, a time limit, and GPUs where a site has them."""

    cpus: int = 1
    mem_gb: float = 4.0
    time_min: int = 60
    gpus: int = 0

    def __post_init__(self) -> None:
        if self.cpus < 1 or self.mem_gb <= 0 or self.time_min < 1 or self.gpus < 0:
            raise ProtocolError(f"resources need cpus >= 1, mem_gb > 0, time_min >= 1, gpus >= 0: {self}")


@dataclass
class TaskContext:
    """What the engine gives a handler for one task."""

    key: str
    run: RunDir
    artifacts: ArtifactWriter  # write this trial's files here; published when the handler returns
    progress: SavedProgress  # a long task saves its state here and loads it when it starts again
    device: str  # "cuda" or "cpu": see `visible_device`
    attempt: int = 1

    def artifact_of(self, key: str, name: str) -> Path:
        """The file `name` that another, finished trial `key` published (e.g. the weights to evaluate)."""
        return artifact_file(self.run, key, name)


class Handler(Protocol):
    """Runs one task; returns the outcome's fields: {"value": float | None, "metrics": {...}} and
    optionally "seconds" (the task's own measure of its work; default: the wall time of the call).
    It raises to fail (the backend retries); it never writes results itself."""

    def __call__(self, task: Task, context: TaskContext) -> dict[str, Any]: ...


class HandlerFactory(Protocol):
    """Picklable recipe of a handler, called once per worker: one-off costs (the model load) are paid there."""

    def __call__(self, threads: int) -> Handler: ...


@dataclass(frozen=True)
class TaskKind:
    """A kind of task: its name (a trial's `kind`), the handler factory and its resources.

    `tasks_per_job` tells a batch scheduler how many tasks of this kind may share one job (one
    model load); None leaves it to the backend's settings. `at_start`: a long-lived worker builds
    the handler when it starts (a kind every worker runs, such as evaluations), so that its cost
    is paid and recorded apart from the first round; otherwise on its first task of the kind.
    """

    name: str
    factory: HandlerFactory
    resources: Resources = Resources()
    tasks_per_job: int | None = None
    at_start: bool = False


def with_resources(kind: TaskKind, **changes: Any) -> TaskKind:
    """`kind` with some of its resources changed (cpus, mem_gb, time_min, gpus; None keeps one)."""
    from dataclasses import replace

    given = {name: value for name, value in changes.items() if value is not None}
    return replace(kind, resources=replace(kind.resources, **given)) if given else kind


def visible_device(gpus: int) -> str:
    """"cuda" if the kind asked for GPUs and this process sees one, else "cpu".

    The kind decides whether it wants a GPU (an evaluation on a GPU node stays on CPU unless its
    kind asked), the environment whether there is one: Slurm and most launchers set
    CUDA_VISIBLE_DEVICES; elsewhere an NVIDIA device file counts. A handler, which has torch, still
    falls back to "cpu" when its torch build has no CUDA.
    """
    if gpus <= 0:
        return "cpu"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return "cuda" if visible.strip() not in ("", "-1", "NoDevFiles") else "cpu"
    return "cuda" if glob.glob("/dev/nvidia[0-9]*") else "cpu"
