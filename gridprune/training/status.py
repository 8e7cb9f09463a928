"""What the training tasks of a run are doing now, from their live.json files (no torch)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping

from gridprune.store import RunDir, atomic_write_bytes

LIVE = "live.json"  # in a training task's progress folder: step, loss, updated while the task runs


def write_live(folder: Path, state: Mapping[str, Any]) -> None:
    """Replace `folder/live.json` by state (a rename: readers see the old or the new file, never half)."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / LIVE, json.dumps(dict(state)).encode())  # NaN losses stay writable


def read_live(folder: Path) -> dict[str, Any] | None:
    """The last live.json of a task; None if there is none or it cannot be read."""
    try:
        return json.loads((folder / LIVE).read_text())
    except (OSError, ValueError):
        return None


def training_progress(run_root: str | Path) -> list[dict[str, Any]]:
    """One entry per training task still running or waiting to be resumed: key, label, step, steps, loss
    (not those whose result is stored: a task that failed for good keeps its progress, and is not resumed)."""
    run = RunDir(run_root)
    root = run.root / "progress"
    if not root.is_dir():
        return []
    entries = []
    for folder in sorted(root.iterdir()):
        live = read_live(folder)
        if isinstance(live, dict) and {"step", "steps"} <= set(live) and not _stored(run, folder.name):
            entries.append({"key": folder.name, **live})
    return entries


def _stored(run: RunDir, key: str) -> bool:
    """Whether a result of `key` is stored (looked at, not read: status changes nothing)."""
    try:
        return run.result_path(key).is_file()
    except ValueError:  # not a trial key: not a task's progress folder
        return True


def task_name(entry: Mapping[str, Any]) -> str:
    """A training task as people know it: its label (`parp s=0.50`), else the start of its key."""
    return entry.get("label") or entry["key"][:12]


def step_and_loss(entry: Mapping[str, Any], at: str = "step") -> str:
    """`step 120/300, loss 0.412` of a live status (`at`: how the step is introduced)."""
    loss = entry.get("loss")
    return f"{at} {entry['step']}/{entry['steps']}, loss {'-' if loss is None else f'{loss:.3f}'}"


def format_training(entries: list[dict[str, Any]], now: float | None = None, stopped: bool = False) -> list[str]:
    """Status lines, e.g. `training parp s=0.50: step 120/300, loss 0.412 (8 s ago)`; of a `stopped` run,
    `training parp s=0.50: stopped at step 120/300, loss 0.412; resume continues it from its last save`."""
    now = time.time() if now is None else now
    lines = []
    for entry in entries:
        if stopped:
            lines.append(f"training {task_name(entry)}: {step_and_loss(entry, 'stopped at step')}; "
                         "resume continues it from its last save")
            continue
        resumed = f", resumed from {entry['resumed_from']}" if entry.get("resumed_from") is not None else ""
        lines.append(f"training {task_name(entry)}: {step_and_loss(entry)}{resumed} "
                     f"({now - entry.get('updated_at', now):.0f} s ago)")
    return lines
