"""The validity rules of a result record and of the key that names it."""

from __future__ import annotations

from typing import Any

RESULT_STATUSES = ("ok", "failed")
_KEY_HEX_DIGITS = 64
_HEX_DIGITS = frozenset("0123456789abcdef")


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
    if "value" not in record:
        return "it has no value (a number, or null)"
    value = record["value"]
    if status == "ok" and value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"its status is ok but its value {value!r} is not a number or null"
    if status == "failed" and value is not None:
        return f"its status is failed but its value is {value!r}, not null"
    return None
