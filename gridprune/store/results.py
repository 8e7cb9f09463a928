"""Result keys and the validity rules of a result record."""

from __future__ import annotations

import hashlib
import operator
from typing import Any

from gridprune.store.files import dumps

RESULT_STATUSES = ("ok", "failed")
_KEY_HEX_DIGITS = 64
_HEX_DIGITS = frozenset("0123456789abcdef")


def result_key(
    chromosome: list[list[int]], model_fingerprint: str, dataset_fingerprint: str, fitness_settings: dict
) -> str:
    """The sha256 hex digest naming the result of one chromosome under one model, dataset and fitness setting.

    Each layer's genes are a set: their order does not change the key; a repeated gene is a ValueError.
    """
    layers = [sorted(operator.index(gene) for gene in layer) for layer in chromosome]
    if any(len(set(layer)) != len(layer) for layer in layers):
        raise ValueError(f"chromosome repeats a gene within a layer: {layers}")
    canonical = {
        "chromosome": layers,
        "dataset_fingerprint": dataset_fingerprint,
        "fitness_settings": fitness_settings,
        "model_fingerprint": model_fingerprint,
    }
    return hashlib.sha256(dumps(canonical, indent=None).encode()).hexdigest()


def check_key(key: str) -> None:
    """ValueError unless key looks like a result key (it becomes a file name: no path tricks)."""
    if not (isinstance(key, str) and len(key) == _KEY_HEX_DIGITS and set(key) <= _HEX_DIGITS):
        raise ValueError(f"not a result key (64 lowercase hex digits): {key!r}")


def result_problem(record: Any, key: str) -> str | None:
    """Why record is not a valid result record for key, or None if it is valid."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    if record.get("key") != key:
        return f"its key is {record.get('key')!r}, not {key!r}"
    status = record.get("status")
    if status not in RESULT_STATUSES:
        return f"its status {status!r} is not one of {RESULT_STATUSES}"
    if "fitness" not in record:
        return "it has no fitness"
    fitness = record["fitness"]
    if status == "ok" and (isinstance(fitness, bool) or not isinstance(fitness, (int, float))):
        return f"its status is ok but its fitness {fitness!r} is not a number"
    if status == "failed" and fitness is not None:
        return f"its status is failed but its fitness is {fitness!r}, not null"
    return None
