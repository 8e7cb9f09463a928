"""What a run shows where it was started: a progress bar per round (a log line per step off a terminal),
and, while a round runs, each training task's step, loss and time left, read from its live status."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from gridprune.engine import Method, Outcome, Trial, figure
from gridprune.progress_bar import ProgressBar
from gridprune.store import RunDir
from gridprune.training.status import step_and_loss, task_name, training_progress

WATCH_EVERY_S = 10.0  # how often the training tasks' live status is read and shown
log = logging.getLogger(__name__)


class RoundProgress:
    """A `gridprune.engine.RoundObserver` drawing the run's progress, and logging a line per round."""

    def __init__(self, run: RunDir, method: Method):
        self.run = run
        self.round_name = method.round_name
        self.value_name = method.value_name
        self.has_best = method.has_best
        self.bar: ProgressBar | None = None
        self.rates = TrainingRates()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def round_started(self, index: int, planned: int | None, tasks: int) -> None:
        self._close()
        if tasks == 0:
            return
        of = f"/{planned}" if planned is not None else ""
        self.bar = ProgressBar(tasks, f"{self.round_name} {index + 1}{of}", unit="task", log_every_s=WATCH_EVERY_S)
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="gridprune-training-watch", daemon=True)
        self._watcher.start()

    def task_done(self, trial: Trial, outcome: Outcome) -> None:
        if self.bar is None:
            return
        name = trial.label or trial.kind
        if not outcome.ok:
            self.bar.step(f"{name} failed")
        elif outcome.value is not None:
            self.bar.step(f"{name}: {self.value_name} {outcome.value:.4f}")
        else:
            self.bar.step(f"{name} done")

    def round_ended(self, row: dict[str, Any]) -> None:
        self._close()
        planned = f"/{row['planned_rounds']}" if row.get("planned_rounds") is not None else ""
        best = (f"best {self.value_name} {figure(row['best'])} (so far {figure(row['best_so_far'])}), "
                if self.has_best else "")
        log.info("%s %d%s done: %s%d trials, %d evaluated, %d cache hits, %d failed, %.1f s", self.round_name,
                 row["rounds_done"], planned, best, row["trials"], row["evaluated"], row["cache_hits"], row["failed"],
                 row["seconds"])

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            try:
                lines = self.rates.describe(training_progress(self.run.root))
            except (OSError, ValueError, KeyError, TypeError):  # a status being written or damaged: next time
                continue
            bar = self.bar
            if lines and bar is not None:
                bar.note("; ".join(lines))

    def _close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=WATCH_EVERY_S)  # a daemon: one stuck on a slow filesystem is left behind
            self._watcher = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        """Stop drawing (the run ended, or was interrupted)."""
        self._close()


class TrainingRates:
    """Each training task's steps per second, from two readings of its live status, for a time-left estimate."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, float]] = {}  # key -> (step, when) first seen this run

    def describe(self, entries: list[dict[str, Any]], now: float | None = None) -> list[str]:
        """`parp s=0.50: step 120/200, loss 0.412, about 40 s left` for each task that moved lately."""
        now = time.time() if now is None else now
        lines = []
        for entry in entries:
            step, steps, key = entry["step"], entry["steps"], entry["key"]
            first = self.first.setdefault(key, (step, entry.get("updated_at", now)))
            seconds = entry.get("updated_at", now) - first[1]
            rate = (step - first[0]) / seconds if step > first[0] and seconds > 0 else None
            left = f", about {(steps - step) / rate:.0f} s left" if rate else ""
            lines.append(f"{task_name(entry)}: {step_and_loss(entry)}{left}")
        return lines
