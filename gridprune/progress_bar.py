"""Progress of long steps: a bar on a terminal, log lines in a log file (or a Slurm job's output)."""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

log = logging.getLogger("gridprune.progress")


class ProgressBar:
    """Counts steps of one long piece of work: `with ProgressBar(n, "timing") as p: ... p.step("round 2")`.

    On a terminal it draws a tqdm bar; elsewhere it logs a line per step, at most
    one every `log_every_s` seconds (and always the last), so a log stays readable.
    """

    def __init__(self, total: int, description: str, unit: str = "step", log_every_s: float = 5.0):
        self.total = total
        self.description = description
        self.done = 0
        self.log_every_s = log_every_s
        self._last_log = 0.0
        self._started = time.perf_counter()
        self._bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit=unit, leave=False)
        else:
            log.info("%s: %d %ss", description, total, unit)

    def step(self, note: str | None = None) -> None:
        """One step done; `note` says what it was (shown beside the bar, or in the log line)."""
        self.done += 1
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update()
            return
        now = time.perf_counter()
        if self.done == self.total or now - self._last_log >= self.log_every_s:
            self._last_log = now
            log.info("%s: %d/%d%s (%.0f s)", self.description, self.done, self.total,
                     f", {note}" if note else "", now - self._started)

    def note(self, text: str) -> None:
        """Say what is going on without counting a step."""
        if self._bar is not None:
            self._bar.set_postfix_str(text)
        else:
            log.info("%s: %s", self.description, text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
