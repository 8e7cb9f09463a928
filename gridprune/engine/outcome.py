"""The outcome of a trial and its record: the JSON stored in the run directory under the trial's key."""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from gridprune.engine.errors import ProtocolError
from gridprune.engine.trial import Trial, check_json
from gridprune.store import RunDir

RECORD_FORMAT = "gridprune.engine.outcome"
Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What running a trial gave: `value` (lower is better; None if it has none or failed), `metrics`
    (JSON), `artifacts` (file names in the trial's artifact folder) and how it went."""

    status: Status
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    host: str | None = None
    finished_at: float = 0.0
    key: str | None = None  # set on outcomes read from the store

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ProtocolError(f"an outcome's status is ok or failed, not {self.status!r}")
        if self.status == "failed" and self.value is not None:
            raise ProtocolError(f"a failed outcome has no value, not {self.value!r}")
        if self.value is not None and (isinstance(self.value, bool) or not isinstance(self.value, (int, float))
                                       or not math.isfinite(self.value)):
            raise ProtocolError(f"an outcome's value is a finite number or None, not {self.value!r}")
        check_json(self.metrics, "outcome metrics")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def record(self, key: str, trial: Trial) -> dict[str, Any]:
        """The JSON record stored as the result of `key`; it names the trial, so a result explains itself."""
        return {
            "format": RECORD_FORMAT,
            "key": key,
            "trial": trial.to_json(),
            "status": self.status,
            "value": self.value,
            "metrics": self.metrics,
            "artifacts": list(self.artifacts),
            "error": self.error,
            "attempts": self.attempts,
            "seconds": self.seconds,
            "host": self.host,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Outcome:
        """The outcome a stored record holds."""
        return cls(
            status=record["status"], value=record.get("value"), metrics=record.get("metrics") or {},
            artifacts=tuple(record.get("artifacts") or ()), error=record.get("error"),
            attempts=record.get("attempts", 1), seconds=record.get("seconds", 0.0), host=record.get("host"),
            finished_at=record.get("finished_at", 0.0), key=record["key"],
        )

    @classmethod
    def failed(cls, reason: str, attempts: int) -> Outcome:
        """The outcome of a task given up on: no value, and why."""
        return cls("failed", error=reason, attempts=attempts, host=socket.gethostname(), finished_at=time.time())


def store_outcome(run: RunDir, key: str, trial: Trial, outcome: Outcome) -> Outcome:
    """Store outcome as the result of key unless one is stored already (first write wins); returns the stored one."""
    run.write_result(key, outcome.record(key, trial))
    stored = load_outcome(run, key)
    if stored is None:
        raise ProtocolError(f"the result of {key} was written but cannot be read back")
    return stored


def load_outcome(run: RunDir, key: str) -> Outcome | None:
    """The stored outcome of key; None if there is none (or it was corrupt: then it is moved aside)."""
    record = run.read_result(key)
    return None if record is None else Outcome.from_record(record)
