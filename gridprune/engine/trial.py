"""A trial (a task kind plus JSON parameters) and its content-addressed key."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Mapping

from gridprune.engine.errors import ProtocolError
from gridprune.store.files import dumps

Context = Mapping[str, Any]


def check_json(value: Any, where: str) -> None:
    """ProtocolError naming the place in `where` unless value survives a JSON round trip unchanged.

    Allowed: None, bool, int, finite float, str, list, and dict with str keys. Tuples, numpy
    scalars and arrays are refused rather than converted, so the caller decides the canonical form.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError(f"{where}: {value} is not JSON (use null for a missing number)")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise ProtocolError(f"{where}: key {name!r} is a {type(name).__name__}, JSON keys are strings")
            check_json(item, f"{where}[{name!r}]")
        return
    raise ProtocolError(f"{where}: a {type(value).__module__}.{type(value).__name__} ({value!r:.60}) is not "
                        "a JSON value; convert it (int(), float(), list()) where the trial is made")


@dataclass(frozen=True)
class Trial:
    """What a strategy asks for: run task kind `kind` on `params`.

    `params` must already be in canonical form (e.g. a set of genes as a sorted list):
    equal params give equal keys, and the key is all the store knows of a trial.
    `label` is for people (logs, status) and is not part of the key.
    """

    kind: str
    params: dict[str, Any]
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise ProtocolError(f"a trial's kind is a non-empty string, not {self.kind!r}")
        if not isinstance(self.params, dict):
            raise ProtocolError(f"trial {self.kind}: params is a dict, not a {type(self.params).__name__}")
        check_json(self.params, f"trial {self.kind} params")

    def to_json(self) -> dict[str, Any]:
        """The JSON form, as stored in checkpoints and result records."""
        return {"kind": self.kind, "params": self.params, "label": self.label}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Trial:
        """The trial `to_json` wrote."""
        return cls(obj["kind"], obj["params"], obj.get("label"))


def trial_key(trial: Trial, context: Context) -> str:
    """sha256 hex digest of (kind, params, context): the name of the trial's result in the store.

    `context` holds what else changes the outcome: model and dataset fingerprints and the
    settings that matter (never paths of one machine, so a moved run directory keeps its keys).
    """
    check_json(dict(context), "key context")
    canonical = {"context": dict(context), "kind": trial.kind, "params": trial.params}
    return hashlib.sha256(dumps(canonical, indent=None).encode()).hexdigest()
