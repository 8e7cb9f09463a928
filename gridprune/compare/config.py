"""A compare config: what every entry shares (the model, the datasets, the backend), the joint measurement's
settings, and the entries, each a label, a method and the method's section. Each entry becomes an ordinary run
config, checked as `gridprune run` checks one; an error names the entry and the key at fault.

    model: demo
    data: wav_files_example/search80.hrl
    heldout: wav_files_example/heldout80.hrl
    train: wav_files_example/train.hrl     # given to every method that trains (its section's `train`)
    backend: local
    measure: {threads: 1, rounds: 7, utterances: 20}
    entries:
      - {label: ga_blocks 25%, method: ga_blocks, ga: {pruned_blocks: 8}}
      - {label: parp, method: parp, parp: {sparsity: [0.5, 0.7]}}
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pydantic import Field, ValidationError

from gridprune.backends import BACKENDS
from gridprune.config import (
    ConfigError,
    Origins,
    Override,
    RunConfig,
    apply_overrides,
    as_overrides,
    dataset_keys,
    describe_validation_error,
    parse_config,
    read_yaml,
)
from gridprune.engine import BASELINE_LABEL
from gridprune.methods import METHODS
from gridprune.run_setup import RunSetup, setup_of
from gridprune.sections import Section

COMPARE_KEYS = ("train", "measure", "entries")
SHARED_KEYS = tuple(name for name in RunConfig.model_fields if name not in ("method", "settings", "resources"))
ENTRY_KEYS = ("label", "method", "resources")  # and the method's section


class MeasureSettings(Section):
    """`measure:`: how the models are timed together (unset: as `gridprune export` times one)."""

    threads: int | None = Field(None, gt=0, description="torch threads of the timing and the WER decodes (default 1)")
    rounds: int | None = Field(None, gt=0, description="timing rounds; each gives every model's speedup (default 7)")
    utterances: int | None = Field(None, gt=0, description="the timing set: the first utterances of the search "
                                                            "set (default 20)")


@dataclass(frozen=True)
class Entry:
    """One entry: its label, its run directory (relative to the compare directory), its run config in the
    form of a YAML config, paths made absolute, and that config checked."""

    label: str
    run: str
    config: dict[str, Any]
    setup: RunSetup

    @property
    def method(self) -> str:
        """The entry's method."""
        return self.config["method"]


@dataclass(frozen=True)
class ComparePlan:
    """A checked compare config."""

    run_dir: str | None
    measure: MeasureSettings
    entries: list[Entry]


def may_change_on_resume(key: str) -> bool:
    """Whether `compare --resume --set KEY` may change `key`: where tasks run, not what the entries compute."""
    return key == "backend" or key.split(".")[0] in BACKENDS


def read_compare(path: str | Path, overrides: Sequence[str | Override] = ()) -> ComparePlan:
    """The checked plan of the compare config at `path`; `overrides` (`--set`, `--backend`, `--workers`) change its
    shared keys. ConfigError naming the file, the entry and the key at fault."""
    origins = Origins(str(path), as_overrides(overrides))
    raw = read_yaml(Path(path))
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a compare config is a mapping of keys to values")
    for override in origins.overrides:
        if override.key.split(".")[0] not in SHARED_KEYS + ("train", "measure"):
            raise ConfigError(f"{override.origin}: a compare's --set changes the keys its entries share "
                              f"({', '.join(SHARED_KEYS)}, train, measure); change an entry in the file")
    raw = apply_overrides(copy.deepcopy(raw), origins.overrides, ("data", "heldout", "train"))
    _check_top_keys(raw, origins)
    try:
        measure = MeasureSettings.model_validate(raw.get("measure") or {})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(origins, exc, prefix="measure", model=MeasureSettings)) from None
    shared = {key: raw[key] for key in SHARED_KEYS if key in raw and key != "run_dir"}
    checked = parse_config({**shared, "method": next(iter(METHODS))}, origins, METHODS)  # the shared keys alone
    if not isinstance(checked.model, str):
        raise ConfigError(f"{origins.where('model')}: a compare times wav2vec2 checkpoints; give a checkpoint folder")
    entries = raw.get("entries")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origins.where('entries')}: give a list of entries, each a label, a method and its section")
    train = raw.get("train")
    plans, labels = [], {}
    for index, item in enumerate(entries):
        plans.append(_entry(index, item, shared, train, origins, labels))
    return ComparePlan(raw.get("run_dir"), measure, plans)


def _check_top_keys(raw: dict[str, Any], origins: Origins) -> None:
    sections = {method.section: name for name, method in METHODS.items()}
    for key in raw:
        if key in sections or key in ("method", "resources"):
            raise ConfigError(f"{origins.where(key)}: belongs in an entry (entries: - label: ..., method: ..., "
                              f"<its section>: ...); a compare's top level holds what every entry shares")
        if key not in SHARED_KEYS + COMPARE_KEYS:
            raise ConfigError(f"{origins.where(key)}: unknown key; a compare config holds "
                              f"{', '.join(SHARED_KEYS + COMPARE_KEYS)}")


def _entry(index: int, item: Any, shared: dict[str, Any], train: Any, shared_origins: Origins,
           labels: dict[str, int]) -> Entry:
    source = shared_origins.source
    where = f"{source}: entries[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: an entry is a mapping: label, method and the method's section")
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{where}.label: give each entry a label (a short name for its table rows)")
    if label in labels:
        raise ConfigError(f"{where}.label: {label!r} is the label of entries[{labels[label]}] too")
    if label == BASELINE_LABEL:
        raise ConfigError(f"{where}.label: {label!r} names the unpruned model in the table; choose another")
    labels[label] = index
    method_name = item.get("method")
    if method_name not in METHODS:
        raise ConfigError(f"{where}.method: {method_name!r} is not a method; one of {', '.join(METHODS)}")
    method = METHODS[method_name]
    for key in item:
        if key not in ENTRY_KEYS + (method.section,):
            raise ConfigError(f"{where}.{key}: not a key of a {method_name} entry (it holds "
                              f"{', '.join(ENTRY_KEYS)} and {method.section})")
    section = item.get(method.section) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}.{method.section}: give the method's settings as a mapping (key: value)")
    section = dict(section)
    if train is not None and "train" in method.datasets:
        section.setdefault("train", train)
    raw = {**copy.deepcopy(shared), "method": method_name, method.section: section,
           "resources": item.get("resources") or {}}
    origins = entry_origins(source, index, label, shared_origins.overrides)
    config = parse_config(copy.deepcopy(raw), origins, METHODS)
    resolved = raw_form(config.resolved_paths(Path.cwd(), method.datasets))
    return Entry(label, f"entries/{index + 1:02d}-{_slug(label)}", resolved, entry_setup(resolved, origins))


def entry_origins(source: str, index: int, label: str, overrides: Sequence[Override] = ()) -> Origins:
    """Where an entry's keys were set, as its errors name them: `FILE: entries[2] (parp): parp.sparsity`, or the
    override of a shared key (`--set data`)."""
    return Origins(f"{source}: entries[{index}] ({label})", overrides)


def raw_form(config: Any) -> dict[str, Any]:
    """A validated run config in the form of a YAML config: the method's settings under its section's key."""
    raw = config.model_dump(mode="json", exclude={"run_dir"})
    raw[METHODS[raw["method"]].section] = raw.pop("settings")
    return raw


def entry_setup(raw: dict[str, Any], origins: Origins, overrides: Sequence[Override] = ()) -> RunSetup:
    """The run setup of an entry's raw config, with `overrides` (where tasks run) applied."""
    raw = apply_overrides(copy.deepcopy(raw), overrides, dataset_keys(METHODS, raw.get("method")))
    return setup_of(parse_config(raw, Origins(origins.source, list(overrides)), METHODS), origins)


def _slug(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label).strip("_")[:40] or "entry"

