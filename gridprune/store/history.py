"""history.jsonl checked against the truth (checkpoint, round files, results) and rebuilt from it.

The history is a convenience: one line per completed round with its values,
counts and timings. The checkpoint says how many rounds are complete; the round
files (generations/NNNN.json) say which trials each asked for; the result files
say how each did. A history that is cut (at a line break or inside a line) or
deleted is rebuilt from those, without the timings only the history held.
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
        if not isinstance(row, dict) or row.get("round") != len(rows):
            return rows, f"{run.history_path} line {number} is not the row of round {len(rows)}"
        rows.append(row)
    return rows, None


def history_problem(run: RunDir, rows: list[dict], problem: str | None, completed: int,
                    round_name: str = "round") -> str | None:
    """Why `rows` (as read, with the `problem` met reading them) are not the history of `completed`
    rounds, or None if they are.

    Rows past `completed` are fine (a master killed between writing the history
    and the checkpoint leaves one); the master drops them.
    """
    if len(rows) >= completed:
        return None
    return (f"{problem or f'{run.history_path} ends early'}: it holds {len(rows)} of the {completed} completed "
            f"{round_name}s")


def stored_result(run: RunDir, key: str) -> dict | None:
    """The valid result of `key`, None if missing or invalid; never moves or writes anything."""
    try:
        record = loads(run.result_path(key).read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return record if result_problem(record, key) is None else None


def round_counts(run: RunDir, completed: int) -> list[dict[str, Any]]:
    """Per completed round, what the store holds: values and counts of stored results.

    A result is counted in the first round that asked for its key, whichever master ran it;
    its later appearances are cache hits.
    """
    seen: set[str] = set()
    rows = []
    for index in range(completed):
        record = run.read_generation(index)
        if record is None:
            raise StoreError(f"{run.generation_path(index)} is missing, but checkpoint.json counts "
                             f"{completed} completed rounds")
        keys = record["keys"]
        results = {key: stored_result(run, key) for key in dict.fromkeys(keys)}
        new = [key for key in results if key not in seen and results[key] is not None]
        seen.update(results)
        rows.append({
            "round": index,
            "values": [_value(results[key]) for key in keys],
            "evaluated": len(new),
            "cache_hits": len(keys) - len(new),
            "failed": sum(results[key]["status"] != "ok" for key in new),
            "trials": len(keys),
            "task_seconds": sum(results[key].get("seconds", 0.0) for key in new if results[key]["status"] == "ok"),
        })
    return rows


def rebuild_history(run: RunDir, completed: int, kept: list[dict] | None = None,
                    counts: list[dict[str, Any]] | None = None, round_name: str = "round") -> list[dict]:
    """Rows for the `completed` rounds: those in `kept` (read from the history) as they are,
    the others rebuilt from the round files and results (their timings unknown: None).
    `counts` is `round_counts(run, completed)` where the caller has it already; a rebuilt row
    also names its index under `round_name` (e.g. "generation") where that is not "round"."""
    kept = kept or []
    rows = []
    best_so_far = math.inf
    for counts in [dict(c) for c in (counts if counts is not None else round_counts(run, completed))]:
        finite = [v for v in counts.pop("values") if math.isfinite(v)]
        best_so_far = min([best_so_far, *finite])
        index = counts["round"]
        if index < len(kept):
            rows.append(kept[index])
            continue
        rows.append({
            **counts,
            **({round_name: index} if round_name != "round" else {}),
            "rounds_done": index + 1,
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


def _value(record: dict | None) -> float:
    if record is None or record["status"] != "ok" or record.get("value") is None:
        return math.inf
    return float(record["value"])
