"""The contract every export's report.json keeps, whatever the method: which models it wrote and how they did.

Beside the method's own keys, a report holds:

- `method`: the method's name;
- `models`: one entry per model the export wrote (`MODEL_FIELDS`), its `folder` relative to the export;
- `headline`: the `label` of the main model (what `gridprune eval --model EXPORT_DIR` evaluates);
- `baseline`: the unpruned model's entry, its `folder` the model as the config names it (or null);
- `summary`: what the export did, one line per sentence.

A field that was not measured (held-out WER without a held-out set, the speed of a model
that was not timed) is present with the value null.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Mapping

from gridprune.engine.errors import ProtocolError

INT, NUMBER, TEXT, FLAG = "an integer", "a number", "a string", "true or false"
_CHECKS = {
    INT: lambda value: isinstance(value, int) and not isinstance(value, bool),
    NUMBER: lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    TEXT: lambda value: isinstance(value, str),
    FLAG: lambda value: isinstance(value, bool),
}
# field -> (what its value is, whether it may be null)
MODEL_FIELDS: dict[str, tuple[str, bool]] = {
    "folder": (TEXT, False),
    "label": (TEXT, False),
    "params": (INT, False),
    "nonzero_params": (INT, False),
    "bytes": (INT, False),  # of the weight files on disk
    "sparse_bytes": (INT, True),  # of the sparse file, where the method writes one
    "wer_search": (NUMBER, True),
    "wer_heldout": (NUMBER, True),
    "decode_seconds": (NUMBER, True),
    "speedup": (NUMBER, True),  # measured over the baseline: the median of the rounds
    "speedup_min": (NUMBER, True),
    "speedup_max": (NUMBER, True),
    "predicted_speedup": (NUMBER, True),  # by the FLOP count
    "speed_uncertain": (FLAG, True),  # the rounds disagreed widely: the machine was busy
}
TOP_FIELDS = {"method": TEXT, "headline": TEXT, "summary": TEXT}
BASELINE_LABEL = "unpruned"


def report_rounds_key(round_name: str) -> str:
    """The report key saying after how many rounds the export was made: `completed_generations` for the GA."""
    return f"completed_{round_name}s"


def model_entry(folder: str | None, label: str, **fields: Any) -> dict[str, Any]:
    """An entry of `models` (or the `baseline`), its fields in `MODEL_FIELDS` order; those not given are null."""
    unknown = set(fields) - set(MODEL_FIELDS)
    if unknown:
        raise ProtocolError(f"model entry {label!r}: unknown fields {', '.join(sorted(unknown))}")
    return {field: fields.get(field) for field in MODEL_FIELDS} | {"folder": folder, "label": label}


def single_model_report(label: str, fields: Mapping[str, Any], baseline_folder: str | None,
                        baseline_fields: Mapping[str, Any]) -> dict[str, Any]:
    """The contract keys of an export whose one model, its headline, is the export folder itself."""
    return {"models": [model_entry(".", label, **fields)], "headline": label,
            "baseline": model_entry(baseline_folder, BASELINE_LABEL, **baseline_fields)}


def check_report(report: Any) -> None:
    """ProtocolError naming the key at fault (e.g. `report.models[1].params: missing`) unless `report`
    keeps the contract."""
    if not isinstance(report, Mapping):
        raise ProtocolError(f"report: expected an object, got {_shown(report)}")
    for key, kind in TOP_FIELDS.items():
        _check_value(report, key, kind, False, "report")
    models = report.get("models")
    if not isinstance(models, list) or not models:
        raise ProtocolError(f"report.models: {'missing' if 'models' not in report else 'expected a non-empty list'}")
    for index, entry in enumerate(models):
        _check_entry(entry, f"report.models[{index}]", baseline=False)
    _check_entry(report.get("baseline"), "report.baseline", baseline=True)
    labels = [entry["label"] for entry in models]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ProtocolError(f"report.models: the label {repeated[0]!r} is given to more than one model")
    if report["headline"] not in labels:
        raise ProtocolError(f"report.headline: {report['headline']!r} is not the label of any of report.models "
                            f"({', '.join(map(repr, labels))})")


def headline_model(report: Mapping[str, Any]) -> dict[str, Any]:
    """The entry of `models` the report calls its headline (the report is checked first)."""
    check_report(report)
    return next(entry for entry in report["models"] if entry["label"] == report["headline"])


def _check_entry(entry: Any, where: str, baseline: bool) -> None:
    if entry is None:
        raise ProtocolError(f"{where}: missing")
    if not isinstance(entry, Mapping):
        raise ProtocolError(f"{where}: expected an object, got {_shown(entry)}")
    for field, (kind, nullable) in MODEL_FIELDS.items():
        _check_value(entry, field, kind, nullable or (baseline and field == "folder"), where)
    folder = PurePosixPath(entry["folder"]) if entry["folder"] is not None else None
    if not baseline and (folder.is_absolute() or ".." in folder.parts):
        raise ProtocolError(f"{where}.folder: {entry['folder']!r} is not a folder inside the export")


def _check_value(node: Mapping[str, Any], key: str, kind: str, nullable: bool, where: str) -> None:
    if key not in node:
        raise ProtocolError(f"{where}.{key}: missing")
    value = node[key]
    if value is None and nullable:
        return
    if not _CHECKS[kind](value):
        raise ProtocolError(f"{where}.{key}: expected {kind}{' or null' if nullable else ''}, got {_shown(value)}")


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"
