"""The master loop of a population search: ask, skip what is known, dispatch, collect, tell, checkpoint.

It knows the run directory, a backend and an ask/tell search, but no model:
the method turns chromosomes into tasks. After every generation the checkpoint
holds the search state, so a master that is killed anywhere resumes with the
same future and never re-evaluates a result already in the store.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from typing import Any, Callable, Protocol, Sequence

from tqdm import tqdm

from gridprune.backends.base import Backend, Task
from gridprune.store import RunDir
from gridprune.worker import failed_record

log = logging.getLogger(__name__)


class AskTellSearch(Protocol):
    generation: int
    finished: bool
    best: tuple[Any, float] | None

    def ask(self) -> list[Any]: ...

    def tell(self, population: Sequence[Any], fitnesses: Sequence[float]) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...


TaskBuilder = Callable[[Sequence[Any], int], list[Task]]


def fitness_of(record: dict[str, Any] | None) -> float:
    """A stored result's fitness; failed or missing results get the worst (infinity)."""
    if record is None or record["status"] != "ok":
        return math.inf
    return float(record["fitness"])


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def evaluate_generation(run: RunDir, backend: Backend, tasks: Sequence[Task], label: str) -> dict[str, float]:
    """Make sure every task has a result in the store; returns counts of what was done
    and the pure decode seconds of the new evaluations, as the workers measured them."""
    unique = list({task["key"]: task for task in tasks}.values())
    pending = [task for task in unique if run.read_result(task["key"]) is None]
    counters_before = dict(backend.counters)
    with tqdm(total=len(pending), desc=label, unit="eval", disable=None, leave=False) as progress:
        failures = backend.run(pending, lambda task: progress.update())
    for failure in failures:
        task = failure.task
        run.write_result(task["key"], failed_record(task["key"], task["chromosome"], failure.reason, failure.attempts))
    fresh = []
    for task in pending:
        record = run.read_result(task["key"])
        if record is None:  # a worker reported success but its file is unreadable
            record = failed_record(task["key"], task["chromosome"], "result missing after evaluation", 1)
            run.write_result(task["key"], record)
        fresh.append(record)
    return {
        "evaluated": len(pending),
        "cache_hits": len(tasks) - len(pending),
        "failed": sum(r["status"] != "ok" for r in fresh),
        "decode_seconds": sum(r.get("seconds", 0.0) for r in fresh if r["status"] == "ok"),
        **{name: count - counters_before.get(name, 0) for name, count in backend.counters.items()},
    }


def run_search(run: RunDir, search: AskTellSearch, backend: Backend, make_tasks: TaskBuilder,
               encode: Callable[[Any], Any], workers: int | None) -> None:
    """Run generations until the search is finished, checkpointing after each.

    The backend is started first and its start-up time (workers importing and
    loading the model) is recorded apart, in the first generation this call runs.
    """
    history = run.read_history()[: search.generation]
    started = time.time()
    backend.start()
    startup_seconds = time.time() - started
    while not search.finished:
        generation = search.generation
        started = time.time()
        population = search.ask()
        tasks = make_tasks(population, generation)
        run.write_generation(generation, {
            "generation": generation,
            "population": [encode(c) for c in population],
            "keys": [task["key"] for task in tasks],
        })
        counts = evaluate_generation(run, backend, tasks, f"generation {generation}")
        records = [run.read_result(task["key"]) for task in tasks]
        fitnesses = [fitness_of(r) for r in records]
        search.tell(population, fitnesses)
        seconds = time.time() - started
        finite = [f for f in fitnesses if math.isfinite(f)]
        row = {
            "generation": generation,
            "best": _finite_or_none(min(fitnesses)),
            "mean": statistics.fmean(finite) if finite else None,
            "worst": max(finite) if finite else None,
            "best_so_far": _finite_or_none(search.best[1]),
            **counts,
            "individuals": len(tasks),
            "seconds": seconds,
            "workers": workers,
            "startup_seconds": startup_seconds,
            "finished_at": time.time(),
        }
        startup_seconds = 0.0
        history.append(row)
        run.write_history(history)
        run.write_checkpoint({
            "completed_generations": generation + 1,
            "search": search.state_dict(),
            "fitnesses": [_finite_or_none(f) for f in fitnesses],
            "keys": [task["key"] for task in tasks],
        })
        log.info(
            "generation %d: best %s (so far %s), mean %s, %d individuals: %d evaluated, %d cache hits, %d failed, %.1f s",
            generation, _fmt(row["best"]), _fmt(row["best_so_far"]), _fmt(row["mean"]), len(tasks),
            counts["evaluated"], counts["cache_hits"], counts["failed"], seconds,
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
