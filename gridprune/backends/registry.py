"""What a backend registers: its name (the config's `backend:` value), its settings section (a config
section of the same name), how to build it for a run, and how to find and stop what it runs for a run
(what `status` and `cancel` ask, without the master)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from gridprune.engine import Backend, TaskKind
from gridprune.sections import Section
from gridprune.store import RunDir


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 local worker process`, `2 local worker processes`: what `find` and `cancel` report."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


@dataclass(frozen=True)
class BackendType:
    """One backend as the config, the CLI, `status` and `cancel` know it."""

    name: str
    Settings: type[Section]
    summary: str  # one line for `--help`
    make: Callable[[RunDir, Any, Mapping[str, TaskKind]], Backend]  # (run, its settings, task kinds) -> backend
    find: Callable[[RunDir], list[str]] = lambda run: []  # what of the run's still runs, one line each
    cancel: Callable[[RunDir], list[str]] = lambda run: []  # stop that; one line per thing done
    activity: Callable[[RunDir], list[str]] = lambda run: []  # what it does for the live master, one line each
