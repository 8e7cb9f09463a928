"""What an engine run has done, from its checkpoint, history and results alone (no method knowledge)."""

from __future__ import annotations

import statistics
import time
from typing import Any, Sequence

from gridprune.engine.checkpoint import read_checkpoint
from gridprune.engine.protocols import Column
from gridprune.store import RunDir


def summarise_run(run: RunDir, planned_rounds: int | None = None,
               history: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A JSON-ready summary: rounds, best value, evaluations, cache hits, failures, timings.

    `planned_rounds` is used until the first checkpoint says how many rounds the strategy plans.
    `evaluations` counts the result records stored, so work done in a round that a killed master
    never finished counts too; the history's own counts are per round as each master saw them.
    `history` replaces the rows of history.jsonl (e.g. rows rebuilt from the store; a row's
    unknown timings are None).
    """
    saved = read_checkpoint(run)
    done = saved["round"] if saved else 0
    planned = saved["planned_rounds"] if saved else planned_rounds
    history = list(history) if history is not None else run.read_history()[:done]
    best = saved["best"] if saved else None
    seconds = [row["seconds"] for row in history if row.get("seconds") is not None]
    startup = sum(row.get("startup_seconds") or 0.0 for row in history)
    left = None if planned is None or not seconds else statistics.fmean(seconds) * max(planned - done, 0)
    info = run.run_info
    return {
        "run_dir": str(run.root),
        "method": info.get("method"),
        "rounds_completed": done,
        "planned_rounds": planned,
        "finished": bool(saved and saved["finished"]),
        "best_value": best["value"] if best else None,
        "best_trial": best["trial"] if best else None,
        "best_key": best["key"] if best else None,
        "evaluations": sum(1 for _ in run.results_dir.glob("*/*.json")) if run.results_dir.is_dir() else 0,
        "failed": sum(row.get("failed") or 0 for row in history),
        "cache_hits": sum(row.get("cache_hits") or 0 for row in history),
        "elapsed_seconds": sum(seconds) + startup,
        "startup_seconds": round(startup, 1),
        "estimated_seconds_left": left,
        "master": run.master_info(),
        "started_at": info.get("created_at"),
        "now": time.time(),
        "history": history,
    }


def overhead(row: dict[str, Any]) -> float | None:
    """A round's wall time over its tasks' own time per worker (1.0 = no overhead at all)."""
    task_seconds = row.get("task_seconds", row.get("decode_seconds"))  # decode_seconds: rows of older runs
    if not row.get("workers") or not task_seconds or row.get("seconds") is None:
        return None
    return row["seconds"] / (task_seconds / row["workers"])


def round_table(history: Sequence[dict[str, Any]], columns: Sequence[Column] = (), round_header: str = "round",
                width: int = 8) -> list[str]:
    """The header and one line per round: the shared columns, then the method's, then the overhead."""
    shared = [Column("round", round_header), Column("best", "best", "{:.4f}"), Column("mean", "mean", "{:.4f}"),
              Column("best_so_far", "so far", "{:.4f}"), Column("evaluated", "evals"),
              Column("cache_hits", "cached"), Column("failed", "failed"), Column("seconds", "seconds", "{:.1f}")]
    every = [*shared, *columns]
    widths = [max(width, len(column.header)) for column in every]
    lines = [" ".join(f"{c.header:>{w}}" for c, w in zip(every, widths)) + f" {'overhead':>8}"]
    for row in history:
        ratio = overhead(row)
        lines.append(" ".join(f"{c.show(row):>{w}}" for c, w in zip(every, widths))
                     + f" {'-' if ratio is None else f'{ratio:.2f}':>8}")
    return lines

