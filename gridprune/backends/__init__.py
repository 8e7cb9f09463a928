"""Backends run a round's tasks somewhere: `inprocess` (tests, debugging), `local` worker processes, or
`slurm` job arrays. Each is one module with a `BACKEND` entry (`registry.BackendType`): its name, its
config section, how to build it, and how to find and cancel what it runs for a run. The config's
`backend:` values, its backend sections and the CLI's `--backend` choices all come from `BACKENDS`.

A backend knows the engine's task kinds and `WorkerFactory`, never a model or a method.
"""

from __future__ import annotations

from typing import Any, Mapping

from gridprune.backends import inprocess, local, slurm
from gridprune.backends.registry import BackendType
from gridprune.engine import Backend, TaskKind
from gridprune.store import RunDir

BACKENDS: dict[str, BackendType] = {entry.name: entry for entry in (inprocess.BACKEND, local.BACKEND, slurm.BACKEND)}

__all__ = ["BACKENDS", "BackendType", "make_backend"]


def make_backend(name: str, run: RunDir, settings: Any, kinds: Mapping[str, TaskKind]) -> Backend:
    """The backend `name`, with its config section's `settings`, for `run` and its task kinds."""
    return BACKENDS[name].make(run, settings, kinds)
