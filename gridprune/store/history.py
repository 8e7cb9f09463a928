"""history.jsonl checked against the truth (checkpoint, generation files, results) and rebuilt from it.

The history is a convenience: one line per completed generation with its WERs,
counts and timings. The checkpoint says how many generations are complete; the
generation files say who was in each; the result files say how each did. A
history that is cut (at a line break or inside a line) or deleted is rebuilt
from those, without the timings only the history held.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from gridprune.store.errors import StoreError
from gridprune.store.files import loads
from gridprune.store.results import result_problem

if TYPE_CHECKING:
    from gridprune.store.rundir import RunDir

def read_history_rows(run: RunDir) -> tuple[list[dict], str | None]:
    """The rows of history.jsonl up to the first unreadable line, and what is wrong with it (None: nothing)."""
    try:
        lines = run.history_path.read_bytes().splitlines()
    except FileNotFoundError:
        return [], f"{run.history_path} is missing"
    rows: list[dict] = []
    for number, line in enumerate(lines, start=1):
        try:
            row = loads(line)
        except ValueError:
            return rows, f"{run.history_path} line {number} is cut or corrupt"
        if not isinstance(row, dict) or row.get("generation") != len(rows):
            return rows, f"{run.history_path} line {number} is not the row of generation {len(rows)}"
        rows.append(row)
    return rows, None


def history_problem(run: RunDir, rows: list[dict], problem: str | None, completed: int) -> str | None:
    """Why `rows` (as read, with the `problem` met reading them) are not the history of `completed`
    generations, or None if they are.

    Rows past `completed` are fine (a master killed between writing the history
    and the checkpoint leaves one); the master drops them.
    """
    if len(rows) >= completed:
        return None
    return f"{problem or f'{run.history_path} ends early'}: it holds {len(rows)} of the {completed} completed generations"


def stored_result(run: RunDir, key: str) -> dict | None:
    """The valid result of `key`, None if missing or invalid; never moves or writes anything."""
    try:
        record = loads(run.result_path(key).read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return record if result_problem(record, key) is None else None


def generation_counts(run: RunDir, completed: int) -> list[dict[str, Any]]:
    """Per completed generation, what the store holds: fitnesses and counts of stored evaluations.

    An evaluation is counted in the first generation whose population holds its
    chromosome, whichever master ran it; its later appearances are cache hits.
    """
    seen: set[str] = set()
    rows = []
    for generation in range(completed):
        record = run.read_generation(generation)
        if record is None:
            raise StoreError(f"{run.generation_path(generation)} is missing, but checkpoint.json counts "
                             f"{completed} completed generations")
        keys = record["keys"]
        results = {key: stored_result(run, key) for key in dict.fromkeys(keys)}
        new = [key for key in results if key not in seen and results[key] is not None]
        seen.update(results)
        fitnesses = [_fitness(results[key]) for key in keys]
        rows.append({
            "generation": generation,
            "fitnesses": fitnesses,
            "evaluated": len(new),
            "cache_hits": len(keys) - len(new),
            "failed": sum(results[key]["status"] != "ok" for key in new),
            "individuals": len(keys),
            "decode_seconds": sum(results[key].get("seconds", 0.0) for key in new if results[key]["status"] == "ok"),
        })
    return rows


def rebuild_history(run: RunDir, completed: int, kept: list[dict] | None = None,
                    counts: list[dict[str, Any]] | None = None) -> list[dict]:
    """Rows for the `completed` generations: those in `kept` (read from the history) as they are,
    the others rebuilt from the generation files and results (their timings unknown: None).
    `counts` is `generation_counts(run, completed)` where the caller has it already."""
    kept = kept or []
    rows = []
    best_so_far = math.inf
    for counts in [dict(c) for c in (counts if counts is not None else generation_counts(run, completed))]:
        fitnesses = counts.pop("fitnesses")
        finite = [f for f in fitnesses if math.isfinite(f)]
        best_so_far = min([best_so_far, *finite])
        generation = counts["generation"]
        if generation < len(kept):
            rows.append(kept[generation])
            continue
        rows.append({
            **counts,
            "best": min(finite) if finite else None,
            "mean": statistics.fmean(finite) if finite else None,
            "worst": max(finite) if finite else None,
            "best_so_far": best_so_far if math.isfinite(best_so_far) else None,
            "seconds": None,
            "workers": None,
            "startup_seconds": 0.0,
            "finished_at": None,
            "rebuilt": True,
        })
    return rows


def _fitness(record: dict | None) -> float:
    if record is None or record["status"] != "ok":
        return math.inf
    return float(record["fitness"])
